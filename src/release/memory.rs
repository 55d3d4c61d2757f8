//! Release records in memory, behind the same [`ReleaseStore`] trait as
//! the Secret store: for fast unit tests of the reconciler's decisions and
//! record bookkeeping (pending recovery, superseding, pruning, parking)
//! without an API server. Records are kept as they would be stored,
//! annotations (with the store's stamp) and the parked flag included.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::record::Release;
use super::store::{ReleaseStore, StoreError, StoredRelease};

/// Records by `(release name, revision)`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<(String, i64), StoredRelease>>,
    stamp: BTreeMap<String, String>,
    writes: Mutex<u64>,
}

impl MemoryStore {
    /// An empty store putting `stamp` on every record it writes.
    pub fn stamping(stamp: BTreeMap<String, String>) -> MemoryStore {
        MemoryStore {
            stamp,
            ..Default::default()
        }
    }

    /// A store holding `records` as they are (no stamp added).
    pub fn with(records: Vec<StoredRelease>) -> MemoryStore {
        let store = MemoryStore::default();
        if let Ok(mut m) = store.records.lock() {
            for r in records {
                m.insert((r.release.name.clone(), r.release.version), r);
            }
        }
        store
    }

    /// Number of writes (create, update, delete) so far.
    pub fn writes(&self) -> u64 {
        self.writes.lock().map(|w| *w).unwrap_or(0)
    }

    /// Writes a record; a rewritten one stays parked if it was.
    fn put(&self, rel: &Release, annotations: &BTreeMap<String, String>) {
        let mut annotations = annotations.clone();
        annotations.extend(self.stamp.clone());
        if let Ok(mut m) = self.records.lock() {
            let key = (rel.name.clone(), rel.version);
            let parked = m.get(&key).is_some_and(|s| s.parked);
            m.insert(
                key,
                StoredRelease {
                    release: rel.clone(),
                    annotations,
                    parked,
                    slim: false,
                },
            );
        }
        self.count();
    }

    fn count(&self) {
        if let Ok(mut w) = self.writes.lock() {
            *w += 1;
        }
    }
}

/// Revision `version` of release `app` with `status` and no annotations.
#[cfg(test)]
pub(crate) fn record(version: i64, status: &str) -> StoredRelease {
    StoredRelease {
        release: serde_json::from_value(serde_json::json!({
            "name": "app", "version": version, "info": {"status": status},
        }))
        .expect("record"),
        annotations: Default::default(),
        parked: false,
        slim: false,
    }
}

impl ReleaseStore for MemoryStore {
    async fn history(&self, release: &str) -> Result<Vec<StoredRelease>, StoreError> {
        Ok(self
            .records
            .lock()
            .map(|m| {
                m.iter()
                    .filter(|((name, _), _)| name == release)
                    .map(|(_, r)| r.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn create(
        &self,
        rel: &Release,
        annotations: &BTreeMap<String, String>,
    ) -> Result<(), StoreError> {
        let exists = self
            .records
            .lock()
            .map(|m| m.contains_key(&(rel.name.clone(), rel.version)))
            .unwrap_or(false);
        if exists {
            return Err(StoreError::Exists {
                name: super::store::secret_name(&rel.name, rel.version),
            });
        }
        self.put(rel, annotations);
        Ok(())
    }

    async fn update(
        &self,
        rel: &Release,
        annotations: &BTreeMap<String, String>,
    ) -> Result<(), StoreError> {
        self.put(rel, annotations);
        Ok(())
    }

    async fn delete(&self, release: &str, version: i64) -> Result<(), StoreError> {
        if let Ok(mut m) = self.records.lock() {
            m.remove(&(release.to_string(), version));
        }
        self.count();
        Ok(())
    }

    async fn set_parked(
        &self,
        release: &str,
        version: i64,
        parked: bool,
    ) -> Result<(), StoreError> {
        if let Ok(mut m) = self.records.lock()
            && let Some(s) = m.get_mut(&(release.to_string(), version))
        {
            s.parked = parked;
        }
        self.count();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parked(store: &MemoryStore) -> Vec<(i64, bool)> {
        store
            .history("app")
            .await
            .expect("history")
            .iter()
            .map(|s| (s.release.version, s.parked))
            .collect()
    }

    #[tokio::test]
    async fn parking_hides_nothing_from_rudder_and_survives_rewrites() {
        let store = MemoryStore::with(vec![
            record(1, "deployed"),
            record(2, "superseded"),
            record(3, "superseded"),
        ]);
        store.set_parked("app", 2, true).await.expect("park");
        store.set_parked("app", 3, true).await.expect("park");
        assert_eq!(parked(&store).await, vec![(1, false), (2, true), (3, true)]);
        // A status rewrite keeps the record parked.
        let mut three = record(3, "failed").release;
        three.info.description = "rewritten".into();
        store
            .update(&three, &BTreeMap::new())
            .await
            .expect("update");
        assert_eq!(parked(&store).await, vec![(1, false), (2, true), (3, true)]);
        // Unparked, then a new revision: created visible.
        store.set_parked("app", 2, false).await.expect("unpark");
        store.set_parked("app", 3, false).await.expect("unpark");
        store
            .create(&record(4, "pending-upgrade").release, &BTreeMap::new())
            .await
            .expect("create");
        assert_eq!(
            parked(&store).await,
            vec![(1, false), (2, false), (3, false), (4, false)]
        );
        assert_eq!(store.writes(), 6);
    }
}
