//! Release records: revisions stored as Secrets in Helm v4's own storage
//! format (`sh.helm.release.v1.<name>.v<N>`, base64(gzip(JSON))), so the
//! real `helm list`/`history`/`status`/`get` read rudder's releases and
//! rudder reads Helm's. [`record`] is the JSON shape, [`codec`] the
//! encoding (with the 1 MiB fallback), [`store`] the Secrets and the
//! [`ReleaseStore`] trait, [`memory`] an in-memory store for tests,
//! [`history`] the pure decisions (next revision, live revision, pruning),
//! [`cache`] the decoded-history cache a metadata watch keeps current.

pub mod build;
pub mod cache;
pub mod codec;
pub mod history;
pub mod memory;
pub mod record;
pub mod store;

pub use cache::HistoryCache;
pub use memory::MemoryStore;
pub use record::{Release, Status};
pub use store::{ReleaseStore, SecretStore, StoreError, StoredRelease};
