//! Giving memory back after a burst of load.
//!
//! glibc's allocator keeps what a burst of concurrent requests freed in its per-thread arenas for
//! reuse; measured with 50 clients on History (`bench/http_load.py`), the server stayed at the
//! burst's peak long after it ended. Once requests have stopped for a while, Lakeline asks the
//! allocator to return the free pages it holds (`malloc_trim`, which releases whole free pages
//! inside every arena, not only at a heap's top). Not during load: trimming every 2 s under 10
//! clients cost about a third of the debug build's throughput (the pages were faulted straight
//! back in).

use std::time::Duration;

use tokio::sync::watch;

/// How long requests must have stopped before free memory is given back.
pub const QUIET_FOR: Duration = Duration::from_secs(2);

/// Gives free memory back once requests stop, until `closing` turns true. `answered` counts the
/// requests answered so far.
pub async fn trim_when_quiet(answered: impl Fn() -> u64, mut closing: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(QUIET_FOR);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut seen, mut trimmed_at) = (answered(), answered());
    loop {
        tokio::select! {
            _ = every.tick() => {
                let now = answered();
                if now == seen && now != trimmed_at {
                    trim();
                    trimmed_at = now;
                }
                seen = now;
            }
            _ = closing.wait_for(|c| *c) => return,
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    extern "C" {
        /// glibc: releases free memory at the top of the heap and whole free pages inside every
        /// arena; returns 1 when memory was released.
        fn malloc_trim(pad: usize) -> std::ffi::c_int;
    }
    // SAFETY: malloc_trim takes no pointers and is thread-safe (it locks each arena in turn).
    unsafe {
        malloc_trim(0);
    }
}

/// Other allocators return free memory on their own.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
