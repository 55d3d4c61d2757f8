//! The served repository's current state: the `index.yaml` bytes with their
//! validators and the chart list the HTML pages show. Regenerating scans the
//! folder, keeps the `created` time of every archive whose name, version and
//! digest did not change, writes `index.yaml` atomically (a temporary file
//! renamed over it) and swaps the in-memory snapshot in one step, so a
//! request sees either the old or the new index, never a mix.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use crate::repo::indexer::{self, Entry, IndexerError, ScanOptions, Skipped};

/// Why the index could not be regenerated (the previous one stays served).
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("indexing {dir}: {source}")]
    Index {
        dir: String,
        #[source]
        source: IndexerError,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the indexing task failed: {0}")]
    Task(String),
}

/// One chart version as the pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub version: String,
    pub app_version: String,
    pub description: String,
    pub icon: String,
    pub home: String,
    pub deprecated: bool,
    /// Path of the archive under the repository folder.
    pub file: String,
    pub url: String,
    pub digest: String,
    pub created: String,
    pub size: u64,
}

/// What a client sees at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The `index.yaml` bytes.
    pub index: hyper::body::Bytes,
    /// Strong validator: `"<sha256 of the index>"`.
    pub etag: String,
    /// When this content was generated (whole seconds, strictly later than
    /// the previous snapshot's, so `If-Modified-Since` alone never mistakes
    /// a change within one second for no change).
    pub last_modified: SystemTime,
    /// Chart name → versions, newest first.
    pub charts: BTreeMap<String, Vec<Version>>,
}

/// The result of one regeneration.
#[derive(Debug)]
pub struct Regenerated {
    /// Whether the index content changed.
    pub changed: bool,
    /// Charts and versions now listed.
    pub charts: usize,
    pub versions: usize,
    /// Files left out of the index.
    pub skipped: Vec<Skipped>,
}

/// The repository folder and its current snapshot.
pub struct Catalog {
    dir: PathBuf,
    base_url: String,
    max_archive_bytes: u64,
    current: RwLock<Arc<Snapshot>>,
    /// Serialises regenerations (the watcher and start-up).
    regenerating: tokio::sync::Mutex<()>,
}

impl Catalog {
    /// A catalog of `dir` with URLs under `base_url` (relative when empty),
    /// leaving out archives above `max_archive_bytes`. It starts with an
    /// empty index until the first [`Catalog::regenerate`].
    pub fn new(dir: PathBuf, base_url: String, max_archive_bytes: u64) -> Catalog {
        let empty = Snapshot {
            index: hyper::body::Bytes::new(),
            etag: String::new(),
            last_modified: SystemTime::UNIX_EPOCH,
            charts: BTreeMap::new(),
        };
        Catalog {
            dir,
            base_url,
            max_archive_bytes,
            current: RwLock::new(Arc::new(empty)),
            regenerating: tokio::sync::Mutex::new(()),
        }
    }

    /// The repository folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The largest archive served and indexed.
    pub fn max_archive_bytes(&self) -> u64 {
        self.max_archive_bytes
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Rescans the folder and, when the index content changed, writes
    /// `index.yaml` and publishes the new snapshot. The first call keeps
    /// the `created` times of the `index.yaml` already in the folder.
    pub async fn regenerate(self: &Arc<Self>) -> Result<Regenerated, CatalogError> {
        let _one_at_a_time = self.regenerating.lock().await;
        let previous = self.snapshot();
        let this = self.clone();
        let built = tokio::task::spawn_blocking(move || this.build(&previous))
            .await
            .map_err(|e| CatalogError::Task(e.to_string()))??;
        let outcome = Regenerated {
            changed: built.snapshot.is_some(),
            charts: built.charts,
            versions: built.versions,
            skipped: built.skipped,
        };
        if let Some(snapshot) = built.snapshot {
            let mut guard = match self.current.write() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            *guard = Arc::new(snapshot);
        }
        Ok(outcome)
    }

    /// Scans, compares with `previous` and writes the file (blocking).
    fn build(&self, previous: &Snapshot) -> Result<Built, CatalogError> {
        let index_err = |source| CatalogError::Index {
            dir: self.dir.display().to_string(),
            source,
        };
        let previous_text = if previous.index.is_empty() {
            std::fs::read_to_string(self.dir.join("index.yaml")).unwrap_or_default()
        } else {
            String::from_utf8_lossy(&previous.index).into_owned()
        };
        let now = jiff::Timestamp::now().to_string();
        let options = ScanOptions {
            lenient: true,
            max_archive_bytes: Some(self.max_archive_bytes),
        };
        let mut scan =
            indexer::scan_directory(&self.dir, &self.base_url, &now, options).map_err(index_err)?;
        indexer::keep_created(&mut scan, &previous_text);
        let charts = scan.entries.len();
        let versions = scan.entries.values().map(Vec::len).sum();
        let values = indexer::entry_values(&scan.entries);
        let unchanged = !previous.index.is_empty()
            && indexer::index_text(values.clone(), &indexer::generated_of(&previous_text))
                .is_ok_and(|same| same == previous_text);
        if unchanged {
            return Ok(Built {
                snapshot: None,
                charts,
                versions,
                skipped: scan.skipped,
            });
        }
        let text = indexer::index_text(values, &now).map_err(index_err)?;
        self.write_index(&text)?;
        let snapshot = Snapshot {
            etag: format!("\"{}\"", crate::repo::cache::sha256_hex(text.as_bytes())),
            index: hyper::body::Bytes::from(text),
            last_modified: next_last_modified(previous.last_modified),
            charts: chart_list(&scan.entries),
        };
        Ok(Built {
            snapshot: Some(snapshot),
            charts,
            versions,
            skipped: scan.skipped,
        })
    }

    /// Writes `index.yaml` through a hidden temporary file and a rename.
    fn write_index(&self, text: &str) -> Result<(), CatalogError> {
        let target = self.dir.join("index.yaml");
        let temp = self
            .dir
            .join(format!(".index.yaml.{}.tmp", std::process::id()));
        let write_err = |path: &Path| {
            let path = path.display().to_string();
            move |source| CatalogError::Write { path, source }
        };
        std::fs::write(&temp, text).map_err(write_err(&temp))?;
        std::fs::rename(&temp, &target).map_err(write_err(&target))
    }
}

struct Built {
    snapshot: Option<Snapshot>,
    charts: usize,
    versions: usize,
    skipped: Vec<Skipped>,
}

/// Now, in whole seconds, and at least a second after `previous`.
fn next_last_modified(previous: SystemTime) -> SystemTime {
    let secs = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    };
    let now = secs(SystemTime::now());
    let at = now.max(secs(previous) + 1);
    SystemTime::UNIX_EPOCH + Duration::from_secs(at)
}

/// The pages' view of the scanned archives, newest version first.
fn chart_list(entries: &BTreeMap<String, Vec<Entry>>) -> BTreeMap<String, Vec<Version>> {
    entries
        .iter()
        .map(|(name, list)| {
            let mut versions: Vec<Version> = list.iter().map(version_of).collect();
            versions.sort_by(|a, b| newest_first(&a.version, &b.version));
            (name.clone(), versions)
        })
        .collect()
}

fn version_of(e: &Entry) -> Version {
    let md = &e.metadata;
    Version {
        version: md.version.clone(),
        app_version: md.app_version.clone(),
        description: md.description.clone(),
        icon: md.icon.clone(),
        home: md.home.clone(),
        deprecated: md.deprecated,
        file: e.file.clone(),
        url: e.url.clone(),
        digest: e.digest.clone(),
        created: e.created.clone(),
        size: e.size,
    }
}

fn newest_first(a: &str, b: &str) -> std::cmp::Ordering {
    use crate::godata::semver::Version as Semver;
    match (Semver::parse(a), Semver::parse(b)) {
        (Ok(x), Ok(y)) => y.compare(&x),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_modified_moves_forward_every_change() {
        let far = SystemTime::now() + Duration::from_secs(3600);
        let far = SystemTime::UNIX_EPOCH
            + Duration::from_secs(
                far.duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_secs(),
            );
        assert_eq!(next_last_modified(far), far + Duration::from_secs(1));
        assert!(next_last_modified(SystemTime::UNIX_EPOCH) <= SystemTime::now());
    }
}
