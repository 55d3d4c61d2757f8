//! Chart archives by sha256 digest: downloaded once, verified against the
//! digest the index publishes (a mismatch is a hard error), kept on disk
//! (`<dir>/sha256/<hex>.tgz`, written atomically) and in a memory LRU
//! bounded by bytes. One cache is shared by every release and repository:
//! the same archive served by two repositories is stored once. A digest
//! names bytes, not a chart: every archive handed out is also checked to be
//! the chart and version its index entry names (its own `Chart.yaml`), so an
//! entry carrying another version's digest can never serve that version.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::fetch::{FetchError, HttpRepo};
use super::index::ChartVersion;
use super::resolve::{ResolveError, chart_url};

mod blob;

pub use blob::BlobError;

/// Default memory budget of the archive cache.
pub const DEFAULT_MEMORY_LIMIT: u64 = 256 * 1024 * 1024;

/// Why an archive could not be provided.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    #[error(
        "digest mismatch for chart {chart} {version}: the index says sha256:{expected}, the downloaded archive is sha256:{actual}"
    )]
    DigestMismatch {
        chart: String,
        version: String,
        expected: String,
        actual: String,
    },
    #[error("chart {chart} {version}: the index has an invalid digest {digest:?}")]
    InvalidDigest {
        chart: String,
        version: String,
        digest: String,
    },
    #[error("chart {chart} {version}: the index has no digest to verify the archive against")]
    MissingDigest { chart: String, version: String },
    #[error(
        "chart {chart} {version}: the archive with the index's digest sha256:{digest} is {actual}, not the chart and version the index entry names"
    )]
    WrongChart {
        chart: String,
        version: String,
        digest: String,
        /// `name version` from the archive's Chart.yaml, or why it has none.
        actual: String,
    },
    #[error("chart cache {path}: {reason}")]
    Io { path: String, reason: String },
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

/// A verified archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    /// Lowercase hex sha256.
    pub digest: String,
    pub bytes: Arc<Vec<u8>>,
    /// Where it came from this time.
    pub source: ArchiveSource,
}

/// Which layer answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveSource {
    Memory,
    Disk,
    Download,
}

/// Hit and download counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub memory_hits: u64,
    pub disk_hits: u64,
    pub downloads: u64,
}

/// The shared archive cache.
#[derive(Debug)]
pub struct ChartCache {
    dir: Option<PathBuf>,
    memory: Mutex<Lru>,
    /// One lock per digest being fetched, so concurrent requests for the
    /// same archive download it once.
    inflight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// `(name, version)` from each archive's Chart.yaml, by digest: read
    /// once per digest.
    identities: Mutex<HashMap<String, Identity>>,
    memory_hits: AtomicU64,
    disk_hits: AtomicU64,
    downloads: AtomicU64,
}

impl ChartCache {
    /// A cache keeping up to `memory_limit` bytes in memory and, with a
    /// `dir`, every archive on disk.
    pub fn new(dir: Option<PathBuf>, memory_limit: u64) -> ChartCache {
        ChartCache {
            dir,
            memory: Mutex::new(Lru::new(memory_limit)),
            inflight: Mutex::new(HashMap::new()),
            identities: Mutex::new(HashMap::new()),
            memory_hits: AtomicU64::new(0),
            disk_hits: AtomicU64::new(0),
            downloads: AtomicU64::new(0),
        }
    }

    /// The directory archives are kept in, if any.
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.dir.as_deref()
    }

    /// Counters so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            memory_hits: self.memory_hits.load(Ordering::Relaxed),
            disk_hits: self.disk_hits.load(Ordering::Relaxed),
            downloads: self.downloads.load(Ordering::Relaxed),
        }
    }

    /// Bytes held in memory now.
    pub fn memory_bytes(&self) -> u64 {
        self.memory.lock().map(|m| m.bytes).unwrap_or(0)
    }

    /// The archive of `entry`: from memory, disk, or downloaded from `repo`,
    /// always matching the index's digest and being the chart and version
    /// `entry` names.
    pub async fn get(&self, repo: &HttpRepo, entry: &ChartVersion) -> Result<Archive, CacheError> {
        let archive = self.get_by_digest(repo, entry).await?;
        self.check_identity(entry, &archive)?;
        Ok(archive)
    }

    /// Refuses an archive whose Chart.yaml names another chart or version
    /// than `entry` (an index entry carrying another archive's digest).
    fn check_identity(&self, entry: &ChartVersion, archive: &Archive) -> Result<(), CacheError> {
        let known = self
            .identities
            .lock()
            .ok()
            .and_then(|m| m.get(&archive.digest).cloned());
        let identity = match known {
            Some(i) => i,
            None => {
                let i = archive_identity(&archive.bytes);
                if let Ok(mut m) = self.identities.lock() {
                    m.insert(archive.digest.clone(), i.clone());
                }
                i
            }
        };
        let actual = match identity {
            Ok((name, version)) if name == entry.name && version == entry.version => return Ok(()),
            Ok((name, version)) => format!("{name} {version}"),
            Err(reason) => format!("not a loadable chart ({reason})"),
        };
        Err(CacheError::WrongChart {
            chart: entry.name.clone(),
            version: entry.version.clone(),
            digest: archive.digest.clone(),
            actual,
        })
    }

    async fn get_by_digest(
        &self,
        repo: &HttpRepo,
        entry: &ChartVersion,
    ) -> Result<Archive, CacheError> {
        let expected = expected_digest(entry)?;
        if let Some(hit) = self.memory_hit(&expected) {
            return Ok(hit);
        }
        let lock = self.inflight_lock(&expected);
        let result = {
            let _guard = lock.lock().await;
            match self.memory_hit(&expected) {
                Some(hit) => Ok(hit),
                None => self.load(repo, entry, expected.clone()).await,
            }
        };
        self.release_inflight(&expected, lock);
        result
    }

    fn memory_hit(&self, digest: &str) -> Option<Archive> {
        let bytes = self.memory_get(digest)?;
        self.memory_hits.fetch_add(1, Ordering::Relaxed);
        Some(archive(digest.to_string(), bytes, ArchiveSource::Memory))
    }

    /// Disk, else download; either way into memory.
    async fn load(
        &self,
        repo: &HttpRepo,
        entry: &ChartVersion,
        expected: String,
    ) -> Result<Archive, CacheError> {
        if let Some(bytes) = self.disk_get(&expected).await? {
            self.disk_hits.fetch_add(1, Ordering::Relaxed);
            let bytes = self.memory_put(&expected, bytes);
            return Ok(archive(expected, bytes, ArchiveSource::Disk));
        }
        let url = chart_url(repo.repo_url(), entry)?;
        let bytes = repo.get_archive(&url).await?;
        self.downloads.fetch_add(1, Ordering::Relaxed);
        verify(entry, &expected, &bytes)?;
        self.disk_put(&expected, &bytes).await?;
        let bytes = self.memory_put(&expected, bytes);
        Ok(archive(expected, bytes, ArchiveSource::Download))
    }

    fn inflight_lock(&self, digest: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.inflight.lock() {
            Ok(mut m) => m.entry(digest.to_string()).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }

    /// Forgets the digest's lock once nobody else waits on it.
    fn release_inflight(&self, digest: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        if let Ok(mut m) = self.inflight.lock()
            && Arc::strong_count(&lock) == 2
        {
            m.remove(digest);
        }
    }

    fn memory_get(&self, digest: &str) -> Option<Arc<Vec<u8>>> {
        self.memory.lock().ok()?.get(digest)
    }

    fn memory_put(&self, digest: &str, bytes: Vec<u8>) -> Arc<Vec<u8>> {
        let bytes = Arc::new(bytes);
        if let Ok(mut m) = self.memory.lock() {
            m.put(digest, bytes.clone());
        }
        bytes
    }

    fn path_for(&self, digest: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join("sha256").join(format!("{digest}.tgz")))
    }

    /// A disk copy, if present and still matching its name.
    async fn disk_get(&self, digest: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let Some(path) = self.path_for(digest) else {
            return Ok(None);
        };
        match tokio::fs::read(&path).await {
            Ok(bytes) if sha256_hex(&bytes) == digest => Ok(Some(bytes)),
            // A damaged copy is replaced by a fresh download.
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, &e)),
        }
    }

    async fn disk_put(&self, digest: &str, bytes: &[u8]) -> Result<(), CacheError> {
        let Some(path) = self.path_for(digest) else {
            return Ok(());
        };
        write_atomically(&path, bytes).await
    }
}

fn archive(digest: String, bytes: Arc<Vec<u8>>, source: ArchiveSource) -> Archive {
    Archive {
        digest,
        bytes,
        source,
    }
}

/// The index digest as lowercase hex (`sha256:` prefix allowed); it also
/// names the disk file, so anything but 64 hex digits is refused.
fn expected_digest(entry: &ChartVersion) -> Result<String, CacheError> {
    let raw = entry.digest.trim();
    if raw.is_empty() {
        return Err(CacheError::MissingDigest {
            chart: entry.name.clone(),
            version: entry.version.clone(),
        });
    }
    let hex = raw
        .strip_prefix("sha256:")
        .unwrap_or(raw)
        .to_ascii_lowercase();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CacheError::InvalidDigest {
            chart: entry.name.clone(),
            version: entry.version.clone(),
            digest: entry.digest.clone(),
        });
    }
    Ok(hex)
}

fn verify(entry: &ChartVersion, expected: &str, bytes: &[u8]) -> Result<(), CacheError> {
    let actual = sha256_hex(bytes);
    if actual != expected {
        return Err(CacheError::DigestMismatch {
            chart: entry.name.clone(),
            version: entry.version.clone(),
            expected: expected.into(),
            actual,
        });
    }
    Ok(())
}

/// `(name, version)` of an archive's chart, or why it has none.
type Identity = Result<(String, String), String>;

/// Largest Chart.yaml read to learn an archive's identity.
const CHART_YAML_LIMIT: u64 = 1024 * 1024;

/// `(name, version)` from the `<chart>/Chart.yaml` of the archive in
/// `bytes` (the rest of the archive is checked when the chart is loaded).
fn archive_identity(bytes: &[u8]) -> Identity {
    use std::io::Read;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let entries = tar.entries().map_err(|e| e.to_string())?;
    for entry in entries {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let top_level = path.split_once('/').map(|(_, rest)| rest);
        if top_level != Some("Chart.yaml") {
            continue;
        }
        let mut text = String::new();
        (&mut entry)
            .take(CHART_YAML_LIMIT)
            .read_to_string(&mut text)
            .map_err(|e| format!("Chart.yaml: {e}"))?;
        let value = crate::chart::yamlio::parse(&text).map_err(|e| format!("Chart.yaml: {e}"))?;
        let meta = crate::chart::metadata::Metadata::from_value(&value)
            .map_err(|e| format!("Chart.yaml: {e}"))?;
        return Ok((meta.name, meta.version));
    }
    Err("no Chart.yaml".into())
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut out, b| {
            out.push_str(&format!("{b:02x}"));
            out
        })
}

fn io_error(path: &Path, e: &std::io::Error) -> CacheError {
    CacheError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Writes through a unique temporary file and a rename, so readers never
/// see a partial archive.
async fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| io_error(dir, &e))?;
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    tokio::fs::write(&tmp, bytes)
        .await
        .map_err(|e| io_error(&tmp, &e))?;
    if let Err(e) = tokio::fs::rename(&tmp, path).await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(io_error(path, &e));
    }
    Ok(())
}

/// Least-recently-used map bounded by total bytes.
#[derive(Debug)]
struct Lru {
    limit: u64,
    bytes: u64,
    tick: u64,
    items: HashMap<String, (Arc<Vec<u8>>, u64)>,
    order: BTreeMap<u64, String>,
}

impl Lru {
    fn new(limit: u64) -> Lru {
        Lru {
            limit,
            bytes: 0,
            tick: 0,
            items: HashMap::new(),
            order: BTreeMap::new(),
        }
    }

    fn get(&mut self, key: &str) -> Option<Arc<Vec<u8>>> {
        self.tick += 1;
        let tick = self.tick;
        let (bytes, used) = self.items.get_mut(key)?;
        self.order.remove(used);
        *used = tick;
        self.order.insert(tick, key.to_string());
        Some(bytes.clone())
    }

    fn put(&mut self, key: &str, value: Arc<Vec<u8>>) {
        let size = value.len() as u64;
        if size > self.limit {
            return;
        }
        self.remove(key);
        while self.bytes + size > self.limit {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some((v, _)) = self.items.remove(&oldest) {
                self.bytes -= v.len() as u64;
            }
        }
        self.tick += 1;
        self.order.insert(self.tick, key.to_string());
        self.items.insert(key.to_string(), (value, self.tick));
        self.bytes += size;
    }

    fn remove(&mut self, key: &str) {
        if let Some((v, used)) = self.items.remove(key) {
            self.order.remove(&used);
            self.bytes -= v.len() as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_evicts_least_recently_used_by_bytes() {
        let mut lru = Lru::new(10);
        lru.put("a", Arc::new(vec![0; 4]));
        lru.put("b", Arc::new(vec![0; 4]));
        assert!(lru.get("a").is_some());
        lru.put("c", Arc::new(vec![0; 4]));
        assert!(lru.get("b").is_none(), "b was least recently used");
        assert!(lru.get("a").is_some() && lru.get("c").is_some());
        assert_eq!(lru.bytes, 8);
        lru.put("huge", Arc::new(vec![0; 11]));
        assert!(lru.get("huge").is_none());
        assert_eq!(lru.bytes, 8);
    }

    #[test]
    fn digests_are_checked_before_use_as_file_names() {
        let mut e = crate::repo::index::parse_index(
            b"apiVersion: v1\nentries:\n  a:\n  - {name: a, version: 1.0.0, digest: ../../etc/passwd}\n",
        )
        .expect("index")
        .entries
        .remove("a")
        .and_then(|mut v| v.pop())
        .expect("entry");
        assert!(matches!(
            expected_digest(&e),
            Err(CacheError::InvalidDigest { .. })
        ));
        e.digest = format!("sha256:{}", "AB".repeat(32));
        assert_eq!(expected_digest(&e), Ok("ab".repeat(32)));
        e.digest.clear();
        assert!(matches!(
            expected_digest(&e),
            Err(CacheError::MissingDigest { .. })
        ));
    }
}
