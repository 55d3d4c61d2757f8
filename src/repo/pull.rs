//! The whole way from a repository to a chart: index (the last good one,
//! fetched when there is none yet), resolution, a verified archive from the
//! shared cache, then loading with the chart loader's safety checks (path
//! traversal, unpacked size). Fetching is async and `Send`; loading builds
//! `Rc` values, so it is a separate synchronous step on the render thread.

use super::cache::{Archive, CacheError, ChartCache};
use super::index::ChartVersion;
use super::repository::{ChartRepository, RefreshError};
use super::resolve::{ResolveError, resolve};
use crate::chart::Chart;

/// Why a chart could not be pulled or loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Refresh(#[from] RefreshError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("chart {chart} {version} (sha256:{digest}): {reason}")]
    Load {
        chart: String,
        version: String,
        digest: String,
        reason: String,
    },
}

/// A resolved and verified chart archive.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub entry: ChartVersion,
    pub archive: Archive,
    /// `sha256:<hex>` of the index the entry came from.
    pub index_digest: String,
}

/// Resolves `name` at `constraint` in the repository's index and fetches
/// the verified archive.
pub async fn pull(
    repo: &ChartRepository,
    cache: &ChartCache,
    name: &str,
    constraint: &str,
) -> Result<Pulled, PullError> {
    let (index, index_digest) = match repo.last_good() {
        Some(current) => current,
        None => {
            let snap = repo.refresh().await?;
            (snap.index, snap.digest)
        }
    };
    let entry = resolve(&index, name, constraint)?.clone();
    let archive = cache.get(repo.http(), &entry).await?;
    Ok(Pulled {
        entry,
        archive,
        index_digest,
    })
}

/// Loads a pulled archive (the chart loader's limits and path checks apply).
pub fn load(pulled: &Pulled) -> Result<Chart, PullError> {
    crate::chart::load::load_archive(&pulled.archive.bytes).map_err(|e| PullError::Load {
        chart: pulled.entry.name.clone(),
        version: pulled.entry.version.clone(),
        digest: pulled.archive.digest.clone(),
        reason: e.to_string(),
    })
}
