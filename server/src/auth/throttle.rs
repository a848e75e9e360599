//! Slows down guessing: after a few failed sign-ins for a name or from an address, each further
//! attempt waits twice as long as the one before, up to a limit; a success forgets the failures.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed before waits begin.
const FREE: u32 = 5;
const FIRST_WAIT: Duration = Duration::from_secs(2);
const LONGEST_WAIT: Duration = Duration::from_secs(300);
/// Failures older than this are forgotten.
const MEMORY: Duration = Duration::from_secs(900);

#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    /// How long `key` must still wait before its next attempt, if at all.
    pub fn wait(&self, key: &str) -> Option<Duration> {
        let failures = self.failures.lock().expect("throttle");
        let &(count, last) = failures.get(key)?;
        let waited = last.elapsed();
        if count < FREE || waited > MEMORY {
            return None;
        }
        let wait = FIRST_WAIT.saturating_mul(1 << (count - FREE).min(16)).min(LONGEST_WAIT);
        wait.checked_sub(waited).filter(|w| !w.is_zero())
    }

    pub fn failed(&self, key: &str) {
        let mut failures = self.failures.lock().expect("throttle");
        failures.retain(|_, (_, last)| last.elapsed() <= MEMORY);
        let entry = failures.entry(key.to_string()).or_insert((0, Instant::now()));
        *entry = (entry.0 + 1, Instant::now());
    }

    pub fn forget(&self, key: &str) {
        self.failures.lock().expect("throttle").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_failures_are_free_then_waits_double() {
        let t = Throttle::default();
        for _ in 0..FREE - 1 {
            t.failed("name:ann");
            assert_eq!(t.wait("name:ann"), None);
        }
        t.failed("name:ann");
        let first = t.wait("name:ann").expect("a wait after the free failures");
        assert!(first <= FIRST_WAIT && first > FIRST_WAIT / 2, "{first:?}");
        t.failed("name:ann");
        assert!(t.wait("name:ann").unwrap() > FIRST_WAIT, "doubled");
        assert_eq!(t.wait("name:bob"), None, "others are not slowed");
        t.forget("name:ann");
        assert_eq!(t.wait("name:ann"), None, "a success forgets");
    }
}
