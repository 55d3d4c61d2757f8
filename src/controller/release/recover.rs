//! Recovering from a dead run, before anything else: a `pending-*` record
//! (only the Lease holder writes, so its writer is gone) is marked `failed`
//! and the action is redone; of two `deployed` records the older becomes
//! `superseded`. What to fix is decided by [`super::decide::recovery`].

use super::decide;
use crate::release::{ReleaseStore, StoreError, StoredRelease};

/// Applies the fixes [`decide::recovery`] finds to the store and to
/// `hist`. Returns whether anything was fixed.
pub(super) async fn run<S: ReleaseStore>(
    store: &S,
    hist: &mut [StoredRelease],
) -> Result<bool, StoreError> {
    let fixes = decide::recovery(hist);
    for fix in &fixes {
        if let Some(s) = hist.iter_mut().find(|s| s.release.version == fix.version) {
            s.release.info.status = fix.status;
            s.release.info.description = fix.description.clone();
            store.update(&s.release, &s.annotations).await?;
        }
    }
    Ok(!fixes.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::memory::record as rec;
    use crate::release::{MemoryStore, Status};

    #[tokio::test]
    async fn a_dead_runs_pending_record_is_failed_in_the_store() {
        let records = vec![rec(1, "deployed"), rec(2, "pending-install")];
        let store = MemoryStore::with(records.clone());
        let mut hist = records;
        assert!(run(&store, &mut hist).await.expect("recover"));
        assert_eq!(hist[1].release.status(), Status::Failed);
        let stored = store.history("app").await.expect("history");
        assert_eq!(stored[1].release.status(), Status::Failed);
        assert_eq!(store.writes(), 1);
        // Nothing left to fix: no write.
        assert!(!run(&store, &mut hist).await.expect("recover"));
        assert_eq!(store.writes(), 1);
    }
}
