//! Exponential back-off of failing HelmReleases: after the n-th
//! consecutive failure the next attempt waits 5 s × 2ⁿ⁻¹, at most 5 min.
//! Kept in memory per HelmRelease, reset by a success or a spec change (a
//! new `metadata.generation`). Reconciliations triggered meanwhile (e.g. by
//! the status write of the failure itself) wait instead of retrying.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Delay after the first failure.
pub const FIRST: Duration = Duration::from_secs(5);
/// Longest delay.
pub const MAX: Duration = Duration::from_secs(300);

/// The delay after `failures` consecutive failures (0 failures: none).
pub fn delay(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32.checked_shl(failures - 1).unwrap_or(u32::MAX);
    FIRST.checked_mul(factor).map_or(MAX, |d| d.min(MAX))
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    generation: Option<i64>,
    failures: u32,
    not_before: Instant,
}

/// Back-off state of every HelmRelease, keyed by `namespace/name`.
#[derive(Debug, Default)]
pub struct Backoff {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Backoff {
    /// How long `key` must still wait at `generation` (`None`: go ahead).
    pub fn wait(&self, key: &str, generation: Option<i64>, now: Instant) -> Option<Duration> {
        let entries = self.entries.lock().ok()?;
        let e = entries.get(key)?;
        (e.generation == generation && e.not_before > now).then(|| e.not_before - now)
    }

    /// Records a failure of `key` at `generation`; returns the delay before
    /// the next attempt.
    pub fn failed(&self, key: &str, generation: Option<i64>, now: Instant) -> Duration {
        let Ok(mut entries) = self.entries.lock() else {
            return MAX;
        };
        let failures = match entries.get(key) {
            Some(e) if e.generation == generation => e.failures.saturating_add(1),
            _ => 1,
        };
        let d = delay(failures);
        entries.insert(
            key.to_string(),
            Entry {
                generation,
                failures,
                not_before: now + d,
            },
        );
        d
    }

    /// Forgets `key` (a success, or the HelmRelease is gone).
    pub fn reset(&self, key: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_doubles_from_five_seconds_to_five_minutes() {
        let secs: Vec<u64> = (0..10).map(|n| delay(n).as_secs()).collect();
        assert_eq!(secs, vec![0, 5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(delay(40), MAX);
        assert_eq!(delay(u32::MAX), MAX);
    }

    #[test]
    fn failures_accumulate_per_generation_and_reset() {
        let b = Backoff::default();
        let t = Instant::now();
        assert_eq!(b.wait("ns/a", Some(1), t), None);
        assert_eq!(b.failed("ns/a", Some(1), t), Duration::from_secs(5));
        assert_eq!(b.failed("ns/a", Some(1), t), Duration::from_secs(10));
        assert_eq!(
            b.wait("ns/a", Some(1), t + Duration::from_secs(4)),
            Some(Duration::from_secs(6))
        );
        assert_eq!(b.wait("ns/a", Some(1), t + Duration::from_secs(10)), None);
        // Another release is independent.
        assert_eq!(b.wait("ns/b", Some(1), t), None);
        // A spec change goes ahead at once and starts over.
        assert_eq!(b.wait("ns/a", Some(2), t), None);
        assert_eq!(b.failed("ns/a", Some(2), t), Duration::from_secs(5));
        // A success starts over.
        b.reset("ns/a");
        assert_eq!(b.wait("ns/a", Some(2), t), None);
        assert_eq!(b.failed("ns/a", Some(2), t), Duration::from_secs(5));
    }
}
