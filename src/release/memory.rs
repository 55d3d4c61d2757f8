//! Release records in memory, behind the same [`ReleaseStore`] trait as
//! the Secret store: for fast unit tests of the reconciler's decisions and
//! record bookkeeping (pending recovery, superseding, pruning) without an
//! API server. Records are kept as they would be stored, annotations
//! (with the store's stamp) included.

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

    fn put(&self, rel: &Release, annotations: &BTreeMap<String, String>) {
        let mut annotations = annotations.clone();
        annotations.extend(self.stamp.clone());
        if let Ok(mut m) = self.records.lock() {
            m.insert(
                (rel.name.clone(), rel.version),
                StoredRelease {
                    release: rel.clone(),
                    annotations,
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
}
