//! Job schedules as CML reads them: a five-field cron expression (minute, hour, day of month,
//! month, day of week) in the job's time zone, `America/Los_Angeles` unless the job names another.
//! The local workspace fires jobs by it; Lakeline shows when a job runs next.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The time zone of a scheduled job that names none (CML's default).
pub const DEFAULT_TIMEZONE: &str = "America/Los_Angeles";

/// Why a schedule was refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleError {
    Cron(String),
    Timezone(String),
}

impl std::fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScheduleError::Cron(why) => write!(f, "schedule: {why}"),
            ScheduleError::Timezone(why) => write!(f, "timezone: {why}"),
        }
    }
}

impl std::error::Error for ScheduleError {}

#[derive(Debug, Clone)]
pub struct Schedule {
    cron: croner::Cron,
    timezone: Tz,
}

impl Schedule {
    /// Reads `cron` in `timezone` (empty: [`DEFAULT_TIMEZONE`]).
    pub fn parse(cron: &str, timezone: &str) -> Result<Schedule, ScheduleError> {
        let cron = cron.trim();
        let fields = cron.split_whitespace().count();
        if fields != 5 {
            return Err(ScheduleError::Cron(format!(
                "{cron:?} has {fields} field(s); a schedule has five: minute hour day-of-month month day-of-week (for example \"0 13 * * 1\")"
            )));
        }
        let parsed = croner::Cron::from_str(cron).map_err(|e| ScheduleError::Cron(format!("{cron:?} is not a cron expression: {e}")))?;
        let zone = if timezone.trim().is_empty() { DEFAULT_TIMEZONE } else { timezone.trim() };
        let timezone = Tz::from_str(zone).map_err(|_| ScheduleError::Timezone(format!("{zone:?} is not a time zone name (for example \"Europe/Berlin\" or \"UTC\")")))?;
        Ok(Schedule { cron: parsed, timezone })
    }

    /// The first time the schedule fires strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Cron times are whole seconds: the search starts from `t`'s second (croner would keep
        // `t`'s fraction in its answer: 09:00:00.56 for "after 08:59:59.56").
        let t = chrono::Timelike::with_nanosecond(&t, 0).unwrap_or(t);
        self.cron.find_next_occurrence(&t.with_timezone(&self.timezone), false).ok().map(|next| next.with_timezone(&Utc))
    }

    /// The next `count` times it fires after `t`.
    pub fn upcoming(&self, t: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        let mut times = Vec::with_capacity(count);
        let mut from = t;
        while times.len() < count {
            let Some(next) = self.next_after(from) else { break };
            times.push(next);
            from = next;
        }
        times
    }

    /// Whether it fires in `(from, to]`.
    pub fn fires_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.next_after(from).is_some_and(|t| t <= to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
    }

    #[test]
    fn a_schedule_fires_in_its_time_zone() {
        // 13:00 on Mondays in Los Angeles (UTC-8 in November) is 21:00 UTC.
        let weekly = Schedule::parse("0 13 * * 1", "").unwrap();
        assert_eq!(weekly.next_after(utc(0, 0)), Some(utc(21, 0)));
        let hourly = Schedule::parse("30 * * * *", "UTC").unwrap();
        assert_eq!(hourly.upcoming(utc(10, 30), 2), [utc(11, 30), utc(12, 30)], "strictly after");
        assert!(hourly.fires_between(utc(11, 29), utc(11, 30)));
        assert!(!hourly.fires_between(utc(11, 30), utc(12, 29)));
        let late = utc(11, 29) + chrono::Duration::milliseconds(59_563);
        assert_eq!(hourly.next_after(late), Some(utc(11, 30)), "whole seconds, whatever the fraction of the start");
        assert_eq!(hourly.next_after(utc(11, 30) + chrono::Duration::milliseconds(300)), Some(utc(12, 30)));
    }

    #[test]
    fn bad_schedules_name_the_field() {
        for (cron, zone, field) in [("* * * *", "UTC", "schedule:"), ("0 0 0 0 0 0", "UTC", "schedule:"), ("61 * * * *", "UTC", "schedule:"), ("every day", "UTC", "schedule:"), ("0 * * * *", "Mars/Olympus", "timezone:")] {
            let refused = Schedule::parse(cron, zone).unwrap_err();
            assert!(refused.to_string().starts_with(field), "{cron} {zone}: {refused}");
        }
    }
}
