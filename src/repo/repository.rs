//! One chart repository's current index: refreshed with a conditional GET,
//! parsed only when its bytes changed (a 304, or a 200 with the same sha256,
//! keeps the parsed index), and kept when a refresh fails so callers can go
//! on with the last good index. Counts parses so tests can assert that an
//! unchanged index is not parsed again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::sync::Mutex;

use super::cache::sha256_hex;
use super::fetch::{FetchError, FetchOptions, HttpRepo, IndexResponse, Validators};
use super::index::{IndexError, IndexFile, parse_index};

/// Why a refresh failed (the last good index is kept).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("invalid index {url}: {source}")]
    InvalidIndex {
        url: String,
        #[source]
        source: IndexError,
    },
    #[error("index {url} answered 304 Not Modified to an unconditional request")]
    UnexpectedNotModified { url: String },
    #[error("parsing index {url} was interrupted: {reason}")]
    ParseTask { url: String, reason: String },
}

/// The index in use and how it was obtained.
#[derive(Debug, Clone)]
pub struct IndexSnapshot {
    pub index: Arc<IndexFile>,
    /// sha256 of the index bytes, `sha256:<hex>`.
    pub digest: String,
    /// Whether this refresh replaced the previous index.
    pub changed: bool,
    /// Body bytes downloaded by this refresh (0 after a 304).
    pub downloaded: u64,
    /// Time spent downloading, and parsing (zero when not parsed).
    pub fetch_time: Duration,
    pub parse_time: Duration,
}

#[derive(Debug, Clone)]
struct Current {
    index: Arc<IndexFile>,
    digest: String,
    validators: Validators,
}

/// A repository and the last good copy of its index.
#[derive(Debug)]
pub struct ChartRepository {
    http: HttpRepo,
    /// Serialises refreshes (held across the network call).
    refreshing: tokio::sync::Mutex<()>,
    /// The last good index; locked only briefly, so readers never wait
    /// for a refresh in flight.
    current: Mutex<Option<Current>>,
    parses: AtomicU64,
}

impl ChartRepository {
    /// A repository at `url` (nothing is fetched yet).
    pub fn new(url: &str, opts: FetchOptions) -> Result<ChartRepository, FetchError> {
        Ok(ChartRepository {
            http: HttpRepo::new(url, opts)?,
            refreshing: tokio::sync::Mutex::new(()),
            current: Mutex::new(None),
            parses: AtomicU64::new(0),
        })
    }

    /// The transport (for archive downloads).
    pub fn http(&self) -> &HttpRepo {
        &self.http
    }

    /// How many times an index body has been parsed.
    pub fn parse_count(&self) -> u64 {
        self.parses.load(Ordering::Relaxed)
    }

    /// The last good index, if any.
    pub fn last_good(&self) -> Option<(Arc<IndexFile>, String)> {
        self.snapshot().map(|c| (c.index, c.digest))
    }

    fn snapshot(&self) -> Option<Current> {
        self.current.lock().ok()?.clone()
    }

    fn store(&self, c: Current) {
        if let Ok(mut cur) = self.current.lock() {
            *cur = Some(c);
        }
    }

    /// Fetches the index (conditionally) and parses it if it changed.
    pub async fn refresh(&self) -> Result<IndexSnapshot, RefreshError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let mut cur = self.snapshot();
        let validators = cur
            .as_ref()
            .map(|c| c.validators.clone())
            .unwrap_or_default();
        let started = Instant::now();
        let response = self.http.get_index(&validators).await?;
        let fetch_time = started.elapsed();
        let (bytes, validators) = match (response, cur.as_ref()) {
            (IndexResponse::NotModified, Some(c)) => {
                return Ok(unchanged(c, 0, fetch_time));
            }
            (IndexResponse::NotModified, None) => {
                return Err(RefreshError::UnexpectedNotModified {
                    url: self.http.index_url().into(),
                });
            }
            (IndexResponse::Body { bytes, validators }, _) => (bytes, validators),
        };
        let digest = format!("sha256:{}", sha256_hex(&bytes));
        if let Some(c) = cur.as_mut()
            && c.digest == digest
        {
            c.validators = validators;
            let snap = unchanged(c, bytes.len() as u64, fetch_time);
            self.store(c.clone());
            return Ok(snap);
        }
        let downloaded = bytes.len() as u64;
        let started = Instant::now();
        let index = Arc::new(self.parse(bytes).await?);
        let parse_time = started.elapsed();
        self.store(Current {
            index: index.clone(),
            digest: digest.clone(),
            validators,
        });
        Ok(IndexSnapshot {
            index,
            digest,
            changed: true,
            downloaded,
            fetch_time,
            parse_time,
        })
    }

    /// Parses off the async threads (a large index takes a while).
    async fn parse(&self, bytes: Vec<u8>) -> Result<IndexFile, RefreshError> {
        let url = self.http.index_url().to_string();
        self.parses.fetch_add(1, Ordering::Relaxed);
        let parsed = tokio::task::spawn_blocking(move || parse_index(&bytes))
            .await
            .map_err(|e| RefreshError::ParseTask {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        parsed.map_err(|source| RefreshError::InvalidIndex { url, source })
    }
}

fn unchanged(c: &Current, downloaded: u64, fetch_time: Duration) -> IndexSnapshot {
    IndexSnapshot {
        index: c.index.clone(),
        digest: c.digest.clone(),
        changed: false,
        downloaded,
        fetch_time,
        parse_time: Duration::ZERO,
    }
}
