//! Recovering from a dead run, before anything else: a `pending-*` record
//! (only the Lease holder writes, so its writer is gone) is marked `failed`
//! and the action is redone; of two `deployed` records the older becomes
//! `superseded`; then parking left half done is settled. What to fix is
//! decided by [`super::decide::recovery`] and
//! [`super::decide::parked_after`].

use super::{decide, park};
use crate::release::{ReleaseStore, StoreError, StoredRelease};

/// Applies the fixes [`decide::recovery`] finds to the store and to
/// `hist`, then settles parking. Returns whether a record's status was
/// fixed.
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
    let after = decide::parked_after(hist);
    let settled = park::settle(store, hist, after).await?;
    if settled > 0 {
        tracing::info!(
            records = settled,
            ?after,
            "settled the parking an interrupted run left"
        );
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

    #[tokio::test]
    async fn a_rollback_killed_while_parking_is_undone() {
        // Rollback to 1 from 3: 1 pending, 3 (still deployed) parked.
        let records = vec![
            rec(1, "pending-rollback"),
            rec(2, "superseded"),
            rec(3, "deployed"),
        ];
        let store = MemoryStore::with(records.clone());
        store.set_parked("app", 3, true).await.expect("park");
        let mut hist = store.history("app").await.expect("history");
        assert!(run(&store, &mut hist).await.expect("recover"));
        let stored = store.history("app").await.expect("history");
        assert!(stored.iter().all(|s| !s.parked));
        assert_eq!(stored[0].release.status(), Status::Failed);
        assert_eq!(stored[2].release.status(), Status::Deployed);
    }
}
