//! Chart repositories: index.yaml fetching and parsing, chart resolution by
//! semver constraint, verified downloads and the archive cache (HTTP and OCI).
//!
//! - [`index`]: Helm's `index.yaml` reader, slimmed to what resolution needs.
//! - [`resolve`]: name + constraint → entry, entry → archive URL.
//! - [`fetch`]: the HTTP(S) client (timeouts, size caps, conditional GET,
//!   credentials, TLS material).
//! - [`repository`]: a repository's current index, parsed only when changed.
//! - [`cache`]: archives verified against the index digest, cached by digest.
//! - [`indexer`]: `helm repo index` (an index.yaml for a folder of archives).
//! - [`oci`]: charts in OCI registries (distribution API, tag resolution).
//! - [`provenance`]: Helm provenance files (`helm verify`, OpenPGP).
//! - [`cosign`]: key-based cosign signatures of OCI charts.
//! - [`package`]: `helm package` (a chart folder → `<name>-<version>.tgz`).
//! - [`pull`]: index → entry → verified archive → loaded chart.
//! - [`git`]: charts from Git repositories (gix; refs listed, commits fetched once).
//! - [`serve`]: `rudder serve`, a chart repository served from a folder.
//!
//! Nothing here talks to the cluster; the HelmRepository reconciler feeds it
//! URLs, credentials and TLS material read from Secrets.

pub mod cache;
pub mod cosign;
pub mod fetch;
pub mod git;
pub mod index;
pub mod indexer;
pub mod oci;
pub mod package;
pub mod provenance;
pub mod pull;
pub mod repository;
pub mod resolve;
pub mod serve;

#[cfg(test)]
mod tests;

pub use cache::{Archive, ArchiveSource, CacheError, ChartCache};
pub use cosign::{CosignError, CosignKeys};
pub use fetch::{BasicAuth, FetchError, FetchOptions, HttpRepo, TlsMaterial};
pub use index::{ChartVersion, IndexError, IndexFile, parse_index};
pub use oci::{OciChart, OciClient, OciError, OciReference};
pub use provenance::{Keyring, ProvenanceError};
pub use pull::{PullError, Pulled, pull};
pub use repository::{ChartRepository, IndexSnapshot, RefreshError};
pub use resolve::{ResolveError, chart_url, resolve};
