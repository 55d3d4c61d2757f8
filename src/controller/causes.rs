//! Why a HelmRelease reconciliation runs: a *change* of what the object
//! asks for (a new object, a spec edit, a `requested-at`/`reset-at`
//! annotation, its deletion), or a *repeat* of the same ask (the
//! interval, a retry after a failure, a re-queue while a dependency is not
//! Ready, an index or `valuesFrom` change). Counted apart in
//! `rudder_reconcile_causes_total`, so "one reconciliation per change" can
//! be checked while periodic reconciliations go on beside it.

use std::collections::HashMap;
use std::sync::Mutex;

/// Why one reconciliation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// What the object asks for is new or changed.
    Change,
    /// The same ask as the reconciliation before.
    Repeat,
}

impl Cause {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Cause::Change => "change",
            Cause::Repeat => "repeat",
        }
    }
}

/// The last ask reconciled, per HelmRelease (`namespace/name`).
#[derive(Default)]
pub struct Causes(Mutex<HashMap<String, u64>>);

impl Causes {
    /// Notes that `key` is reconciled for `asked` (a hash of what it asks
    /// for) and says why.
    pub fn note(&self, key: &str, asked: u64) -> Cause {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match m.insert(key.to_string(), asked) {
            Some(before) if before == asked => Cause::Repeat,
            _ => Cause::Change,
        }
    }

    /// Forgets a HelmRelease that is gone.
    pub fn forget(&self, key: &str) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_or_changed_ask_is_a_change_and_the_same_a_repeat() {
        let c = Causes::default();
        assert_eq!(c.note("a/app", 1), Cause::Change);
        assert_eq!(c.note("a/app", 1), Cause::Repeat);
        assert_eq!(c.note("a/app", 2), Cause::Change);
        assert_eq!(c.note("b/app", 2), Cause::Change);
        c.forget("a/app");
        assert_eq!(c.note("a/app", 2), Cause::Change);
    }
}
