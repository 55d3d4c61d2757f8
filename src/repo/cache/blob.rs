//! Archives whose digest is known before they are fetched (an OCI chart
//! layer named by its manifest): served from memory or disk when present,
//! else fetched once (concurrent requests share the download), verified
//! against the digest and stored like index-verified archives.

use std::future::Future;
use std::sync::atomic::Ordering;

use super::{Archive, ArchiveSource, CacheError, ChartCache, archive, sha256_hex};

/// Why a blob could not be provided: the fetch failed, or the cache did.
#[derive(Debug)]
pub enum BlobError<E> {
    Fetch(E),
    Cache(CacheError),
    /// The fetched bytes are not the digest they were fetched as.
    Mismatch {
        expected: String,
        actual: String,
    },
}

impl ChartCache {
    /// The archive with sha256 `hex` (lowercase, 64 digits): from memory,
    /// disk, or `fetch` (then verified and stored).
    pub async fn get_blob<F, Fut, E>(&self, hex: &str, fetch: F) -> Result<Archive, BlobError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, E>>,
    {
        if let Some(hit) = self.memory_hit(hex) {
            return Ok(hit);
        }
        let lock = self.inflight_lock(hex);
        let result = {
            let _guard = lock.lock().await;
            match self.memory_hit(hex) {
                Some(hit) => Ok(hit),
                None => self.load_blob(hex, fetch).await,
            }
        };
        self.release_inflight(hex, lock);
        result
    }

    async fn load_blob<F, Fut, E>(&self, hex: &str, fetch: F) -> Result<Archive, BlobError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, E>>,
    {
        if let Some(bytes) = self.disk_get(hex).await.map_err(BlobError::Cache)? {
            self.disk_hits.fetch_add(1, Ordering::Relaxed);
            let bytes = self.memory_put(hex, bytes);
            return Ok(archive(hex.into(), bytes, ArchiveSource::Disk));
        }
        let bytes = fetch().await.map_err(BlobError::Fetch)?;
        self.downloads.fetch_add(1, Ordering::Relaxed);
        let actual = sha256_hex(&bytes);
        if actual != hex {
            return Err(BlobError::Mismatch {
                expected: hex.into(),
                actual,
            });
        }
        self.disk_put(hex, &bytes).await.map_err(BlobError::Cache)?;
        let bytes = self.memory_put(hex, bytes);
        Ok(archive(hex.into(), bytes, ArchiveSource::Download))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_known_blob_is_fetched_once_and_verified() {
        let cache = ChartCache::new(None, 1 << 20);
        let bytes = b"chart bytes".to_vec();
        let hex = sha256_hex(&bytes);
        let first = cache
            .get_blob(&hex, || async { Ok::<_, ()>(bytes.clone()) })
            .await
            .expect("fetched");
        assert_eq!(first.source, ArchiveSource::Download);
        let second = cache
            .get_blob(&hex, || async { Err::<Vec<u8>, _>(()) })
            .await
            .expect("from memory, without fetching");
        assert_eq!(second.source, ArchiveSource::Memory);
        let other = sha256_hex(b"other");
        let wrong = cache
            .get_blob(&other, || async { Ok::<_, ()>(b"not it".to_vec()) })
            .await;
        assert!(matches!(wrong, Err(BlobError::Mismatch { .. })));
    }
}
