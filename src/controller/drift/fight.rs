//! Telling a correction from a fight, pure: corrections of one object are
//! remembered for a window; once an object was corrected `limit` times
//! within it, another controller keeps changing it back, and further
//! corrections are refused until the window has moved past them.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The window corrections are counted in.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Recent corrections, per object.
#[derive(Debug)]
pub struct Fights {
    limit: usize,
    window: Duration,
    seen: HashMap<String, VecDeque<Instant>>,
}

impl Fights {
    pub fn new(limit: usize, window: Duration) -> Fights {
        Fights {
            limit,
            window,
            seen: HashMap::new(),
        }
    }

    /// Corrections of one object allowed within the window.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether `object` may be corrected at `now`; if so, the correction is
    /// counted.
    pub fn allow(&mut self, object: &str, now: Instant) -> bool {
        let times = self.seen.entry(object.to_string()).or_default();
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        if times.len() >= self.limit {
            return false;
        }
        times.push_back(now);
        true
    }

    /// Forgets objects whose corrections all left the window.
    pub fn forget_old(&mut self, now: Instant) {
        let window = self.window;
        self.seen.retain(|_, times| {
            times
                .back()
                .is_some_and(|t| now.saturating_duration_since(*t) < window)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrections_beyond_the_limit_are_a_fight() {
        let mut f = Fights::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(f.allow("Deployment a/web", t0 + Duration::from_secs(i)));
        }
        assert!(!f.allow("Deployment a/web", t0 + Duration::from_secs(10)));
        // Other objects are counted apart.
        assert!(f.allow("Service a/web", t0 + Duration::from_secs(10)));
        // Once the first correction left the window, one more is allowed.
        assert!(f.allow("Deployment a/web", t0 + Duration::from_secs(60)));
        assert!(!f.allow("Deployment a/web", t0 + Duration::from_secs(60)));
    }

    #[test]
    fn refusals_are_not_counted() {
        let mut f = Fights::new(1, Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(f.allow("x", t0));
        for i in 1..10 {
            assert!(!f.allow("x", t0 + Duration::from_secs(i)));
        }
        assert!(f.allow("x", t0 + Duration::from_secs(10)));
    }

    #[test]
    fn old_objects_are_forgotten() {
        let mut f = Fights::new(1, Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(f.allow("x", t0));
        f.forget_old(t0 + Duration::from_secs(11));
        assert!(f.seen.is_empty());
    }
}
