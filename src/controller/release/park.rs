//! Parking: what Helm sees after a rollback by `spec.revision`. Such a
//! rollback makes revision N live again without a new number, but Helm's
//! `list`, `status` and `get` read the *highest* revision. So the records
//! newer than N are parked (their `owner` label becomes `rudder-parked`,
//! nothing else changes; see [`crate::release::store`]): `helm list` shows
//! N deployed, `helm status`/`get values`/`get manifest` show N, and `helm
//! history` lists revisions 1..N only, while rudder still reads every
//! record (its history, the next number, uninstall). The next install or
//! upgrade, numbered one past the highest record, unparks them all right
//! after creating its record; moving `spec.revision` to a parked revision
//! M unparks up to M and leaves those newer than M parked.
//!
//! Crash safety: a rollback parks before N is marked deployed, an upgrade
//! unparks after its new record exists, and every reconciliation first
//! settles what a dead run left half done ([`super::decide::parked_after`]):
//! records newer than the live revision stay parked when one of them is,
//! else none does. While `spec.revision` pins the live revision, the
//! records newer than it are parked (also those an older rudder left
//! visible). Parked records are never pruned by `maxHistory` nor counted
//! against it (Helm counts only what it sees too); they are pruned like any
//! other once unparked.
//!
//! Helm's own writers skip parked records as well: a `helm upgrade` or
//! `helm rollback` by the CLI while records are parked takes the next
//! number after the visible ones and fails with `already exists`, changing
//! nothing.

use super::decide;
use crate::release::{ReleaseStore, StoreError, StoredRelease};

/// Parks exactly the records of `hist` newer than `after` (none when
/// `None`), in the store and in `hist`. Returns how many changed.
pub(super) async fn settle<S: ReleaseStore>(
    store: &S,
    hist: &mut [StoredRelease],
    after: Option<i64>,
) -> Result<usize, StoreError> {
    let changes = decide::parking(hist, after);
    for change in &changes {
        if let Some(s) = hist
            .iter_mut()
            .find(|s| s.release.version == change.version)
        {
            store
                .set_parked(&s.release.name, change.version, change.parked)
                .await?;
            s.parked = change.parked;
        }
    }
    Ok(changes.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::MemoryStore;
    use crate::release::memory::record as rec;

    async fn parked(store: &MemoryStore) -> Vec<(i64, String, bool)> {
        store
            .history("app")
            .await
            .expect("history")
            .iter()
            .map(|s| {
                let status = s.release.status().as_str().to_string();
                (s.release.version, status, s.parked)
            })
            .collect()
    }

    #[tokio::test]
    async fn rollback_parks_and_the_next_upgrade_unparks() {
        let records = vec![
            rec(1, "superseded"),
            rec(2, "superseded"),
            rec(3, "deployed"),
        ];
        let store = MemoryStore::with(records.clone());
        let mut hist = records;
        // Rollback to 1: 2 and 3 parked.
        assert_eq!(settle(&store, &mut hist, Some(1)).await.expect("park"), 2);
        assert_eq!(
            parked(&store).await,
            vec![
                (1, "superseded".into(), false),
                (2, "superseded".into(), true),
                (3, "deployed".into(), true)
            ]
        );
        // Settled again: no write.
        let writes = store.writes();
        assert_eq!(settle(&store, &mut hist, Some(1)).await.expect("park"), 0);
        assert_eq!(store.writes(), writes);
        // Forward to 2: 2 shown, 3 stays parked.
        settle(&store, &mut hist, Some(2)).await.expect("park");
        assert_eq!(
            hist.iter().map(|s| s.parked).collect::<Vec<_>>(),
            vec![false, false, true]
        );
        // The next upgrade: every record shown again.
        settle(&store, &mut hist, None).await.expect("unpark");
        assert!(parked(&store).await.iter().all(|(_, _, p)| !p));
    }
}
