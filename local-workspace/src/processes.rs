//! The processes the local workspace starts — job runs, model builds, model replicas — belong to
//! it: each runs in its own process group, dies with the workspace's process (the kernel sends it
//! `SIGKILL` when its parent goes, even on `kill -9`), and is recorded in the database with its
//! start time. At start-up any group a crashed predecessor left behind is killed before its run
//! is marked failed, so a run recorded as failed never commits anything afterwards.

use std::time::Duration;

use sqlx::SqlitePool;

/// What a recorded process is, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    JobRun,
    ModelBuild,
    Replica,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::JobRun => "job run",
            Kind::ModelBuild => "model build",
            Kind::Replica => "model replica",
        }
    }
}

/// Makes `command` start an owned process: a new process group, and `SIGKILL` when the
/// workspace's process dies.
pub fn own(command: &mut tokio::process::Command) {
    // SAFETY: getpid is async-signal-safe; it runs before the fork.
    let parent = unsafe { libc::getpid() };
    command.process_group(0);
    // SAFETY: between fork and exec only async-signal-safe calls: prctl and getppid.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent died before the request above took effect: do not outlive it.
            if libc::getppid() != parent {
                return Err(std::io::Error::other("the local workspace exited while starting this process"));
            }
            Ok(())
        });
    }
}

/// When process `pid` started, in clock ticks after boot (field 22 of `/proc/<pid>/stat`): with
/// the pid, an identity no later process can share.
pub fn start_time(pid: i32) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The processes of this workspace's database that are alive now, by group.
pub struct Registry<'a>(pub &'a SqlitePool);

impl Registry<'_> {
    /// Records an owned process that just started (its pid is its group's id).
    pub async fn record(&self, pid: i32, kind: Kind, owner_id: &str) -> sqlx::Result<()> {
        sqlx::query("INSERT OR REPLACE INTO processes (pgid, started, kind, owner_id) VALUES (?, ?, ?, ?)")
            .bind(pid)
            .bind(start_time(pid).unwrap_or(-1))
            .bind(kind.as_str())
            .bind(owner_id)
            .execute(self.0)
            .await?;
        Ok(())
    }

    /// Forgets a process that has ended.
    pub async fn forget(&self, pid: i32) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM processes WHERE pgid = ?").bind(pid).execute(self.0).await?;
        Ok(())
    }

    /// Kills every process group a previous run of the workspace left behind; answers how many
    /// were still alive.
    pub async fn kill_leftovers(&self) -> sqlx::Result<usize> {
        let rows: Vec<(i32, i64, String, String)> = sqlx::query_as("SELECT pgid, started, kind, owner_id FROM processes").fetch_all(self.0).await?;
        let mut killed = 0;
        for (pgid, started, kind, owner) in rows {
            if kill_group_if_ours(pgid, started).await {
                tracing::warn!(pgid, kind, owner, "killed a process left behind by a previous run of the local workspace");
                killed += 1;
            }
            self.forget(pgid).await?;
        }
        Ok(killed)
    }
}

/// Kills group `pgid` if it is the one recorded: its leader is the process that started at
/// `started`, or the leader is gone while members remain (a pid is never reused while a group
/// still carries it). Waits until the group is gone. `true` when something was killed.
async fn kill_group_if_ours(pgid: i32, started: i64) -> bool {
    match start_time(pgid) {
        Some(now) if now != started => return false, // the pid belongs to a later process
        _ => {}
    }
    // SAFETY: killpg only sends a signal.
    if unsafe { libc::killpg(pgid, libc::SIGKILL) } != 0 {
        return false; // ESRCH: nothing of it is left
    }
    for _ in 0..100 {
        // Signal 0 asks whether any member is left (a killed child of ours stays a zombie until
        // reaped, but a leftover's parent was the crashed workspace, so init reaps it).
        if unsafe { libc::killpg(pgid, 0) } != 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_start_time_is_read_and_stable() {
        let me = std::process::id() as i32;
        let first = start_time(me).expect("our own start time");
        assert_eq!(start_time(me), Some(first));
        assert!(start_time(i32::MAX).is_none(), "no such process");
    }
}
