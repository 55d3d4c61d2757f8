//! Finishing a revision that went live: it becomes `deployed`, the
//! previously live one `superseded`, and history beyond `maxHistory` is
//! pruned (never the deployed revision nor the one `spec.revision` pins).
//! Parked records (hidden from Helm after a rollback) are neither pruned
//! nor counted: `maxHistory` bounds the records Helm sees, as Helm's own
//! pruning does, and a parked record may still be pinned or hold the
//! highest revision number.

use crate::api::helmrelease::HelmReleaseSpec;
use crate::release::history;
use crate::release::{Release, ReleaseStore, Status, StoreError, StoredRelease};

/// Marks `rel` deployed, the previous live revision superseded, and prunes
/// history beyond `maxHistory`.
pub(super) async fn finish<S: ReleaseStore>(
    store: &S,
    hist: &mut [StoredRelease],
    rel: Release,
    previous: Option<i64>,
    spec: &HelmReleaseSpec,
) -> Result<(), StoreError> {
    let version = rel.version;
    if let Some(s) = hist.iter_mut().find(|s| s.release.version == version) {
        s.release = rel;
        store.update(&s.release, &s.annotations).await?;
    }
    // A failed revision a rollback replaces stays failed.
    if let Some(p) = previous
        && let Some(s) = hist
            .iter_mut()
            .find(|s| s.release.version == p && s.release.status() != Status::Failed)
    {
        s.release.info.status = Status::Superseded;
        store.update(&s.release, &s.annotations).await?;
    }
    let refs: Vec<&Release> = hist
        .iter()
        .filter(|s| !s.parked)
        .map(|s| &s.release)
        .collect();
    let keep: Vec<i64> = spec.revision.into_iter().collect();
    for v in history::to_prune(&refs, spec.max_history, &keep) {
        store.delete(&rel_name(hist), v).await?;
    }
    Ok(())
}

fn rel_name(hist: &[StoredRelease]) -> String {
    hist.first()
        .map(|s| s.release.name.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::MemoryStore;
    use crate::release::memory::record as rec;
    use serde_json::json;

    fn spec(max_history: i32, revision: Option<i64>) -> HelmReleaseSpec {
        serde_json::from_value(json!({
            "chart": {"name": "app", "repositoryRef": {"name": "r"}},
            "maxHistory": max_history, "revision": revision,
        }))
        .expect("spec")
    }

    async fn statuses(store: &MemoryStore) -> Vec<(i64, String)> {
        store
            .history("app")
            .await
            .expect("history")
            .iter()
            .map(|s| (s.release.version, s.release.status().as_str().to_string()))
            .collect()
    }

    #[tokio::test]
    async fn the_new_revision_goes_live_and_old_ones_are_pruned() {
        let records = vec![
            rec(1, "superseded"),
            rec(2, "superseded"),
            rec(3, "deployed"),
            rec(4, "pending-upgrade"),
        ];
        let store = MemoryStore::with(records.clone());
        let mut hist = records;
        let mut rel = hist[3].release.clone();
        rel.info.status = Status::Deployed;
        finish(&store, &mut hist, rel, Some(3), &spec(2, None))
            .await
            .expect("finish");
        assert_eq!(
            statuses(&store).await,
            vec![(3, "superseded".to_string()), (4, "deployed".to_string())]
        );
    }

    #[tokio::test]
    async fn a_pinned_revision_is_never_pruned() {
        let records = vec![
            rec(1, "superseded"),
            rec(2, "superseded"),
            rec(3, "deployed"),
        ];
        let store = MemoryStore::with(records.clone());
        let mut hist = records;
        let mut rel = hist[0].release.clone();
        rel.info.status = Status::Deployed;
        finish(&store, &mut hist, rel, Some(3), &spec(2, Some(1)))
            .await
            .expect("finish");
        assert_eq!(
            statuses(&store).await,
            vec![(1, "deployed".to_string()), (3, "superseded".to_string())]
        );
    }

    #[tokio::test]
    async fn parked_records_are_neither_pruned_nor_counted() {
        let records = vec![
            rec(1, "superseded"),
            rec(2, "superseded"),
            rec(3, "superseded"),
            rec(4, "deployed"),
        ];
        let store = MemoryStore::with(records.clone());
        let mut hist = records;
        // Rolled back to 2: 3 and 4 parked; 1 and 2 are what Helm sees.
        for s in &mut hist[2..] {
            s.parked = true;
            store
                .set_parked("app", s.release.version, true)
                .await
                .expect("park");
        }
        let mut rel = hist[1].release.clone();
        rel.info.status = Status::Deployed;
        finish(&store, &mut hist, rel, Some(4), &spec(2, Some(2)))
            .await
            .expect("finish");
        assert_eq!(
            statuses(&store).await,
            vec![
                (1, "superseded".to_string()),
                (2, "deployed".to_string()),
                (3, "superseded".to_string()),
                (4, "superseded".to_string())
            ]
        );
        // With room for one visible record, the oldest visible one goes.
        let rel = hist[1].release.clone();
        finish(&store, &mut hist, rel, None, &spec(1, Some(2)))
            .await
            .expect("finish");
        let left: Vec<i64> = statuses(&store).await.iter().map(|(v, _)| *v).collect();
        assert_eq!(left, vec![2, 3, 4]);
    }
}
