//! Release records as Secrets, as Helm's `secrets` storage driver keeps them:
//! `sh.helm.release.v1.<release>.v<N>` of type `helm.sh/release.v1` in the
//! storage namespace, labelled `name`, `owner=helm`, `status`, `version`,
//! `createdAt`, `modifiedAt`. rudder adds annotations (`rudder.dev/...`)
//! with the digests it compares to decide whether an upgrade is needed;
//! Helm ignores them.
//!
//! A record can be *parked*: its `owner` label becomes [`PARKED_OWNER`]
//! and nothing else changes. Helm finds records by `owner=helm` only, so a
//! parked record is invisible to `helm list`/`history`/`status`/`get`
//! (except `--revision N`, which reads the Secret by name), while rudder's
//! [`SecretStore::history`] still reads it, so revision numbers go on past
//! it. A rollback parks the records newer than the revision it makes live
//! again (see `controller::release::park`).
//!
//! With a [`HistoryCache`] (whose index a metadata-only watch keeps), a
//! store reads metadata first: the index names the records and their
//! `resourceVersion`s, records decoded before at the same version cost no
//! request, others one GET each; without a synced cache it lists the
//! records (one LIST). A rewrite keeps the labels it must from what the
//! store or the cache already saw, reading the Secret only when neither did.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, Client};

use super::cache::{HistoryCache, RecordMeta};
use super::codec::{self, CodecError};
use super::record::Release;
pub use super::record::StoredRelease;

/// Secret type of Helm's release records.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";
/// Label `owner` of Helm's records.
pub const HELM_OWNER: &str = "helm";
/// Label `owner` of a parked record: hidden from Helm, read by rudder.
pub const PARKED_OWNER: &str = "rudder-parked";
/// Labels of a stored record that rewriting it keeps: when it was created,
/// and whether it is parked.
const KEPT_LABELS: [&str; 2] = ["createdAt", "owner"];
/// Annotation: `sha256:<hex>` of the chart archive.
pub const CHART_DIGEST: &str = "rudder.dev/chart-digest";
/// Annotation: `sha256:<hex>` of the composed user values.
pub const VALUES_DIGEST: &str = "rudder.dev/values-digest";
/// Annotation: digest of the release options that change what is applied.
pub const OPTIONS_DIGEST: &str = "rudder.dev/options-digest";
/// Annotation: `"true"` when the stored chart lost its templates and files
/// to fit the Secret size limit.
pub const SLIM_CHART: &str = "rudder.dev/slim-chart";

/// The name of revision `version` of `release`.
pub fn secret_name(release: &str, version: i64) -> String {
    format!("sh.helm.release.v1.{release}.v{version}")
}

/// A storage operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The API server refused or could not be reached.
    #[error("{op} release record {name} in {namespace}: {}", api_text(source))]
    Api {
        /// What was attempted (`listing`, `creating`, ...).
        op: &'static str,
        /// Secret name or release name.
        name: String,
        /// Storage namespace.
        namespace: String,
        /// The client error.
        source: Box<kube::Error>,
    },
    /// The record of a new revision exists already (another writer made it).
    #[error("release record {name} exists already")]
    Exists {
        /// Secret name.
        name: String,
    },
    /// A record read as its summary only was about to be written back.
    #[error("release record {name}: only its summary was read; not writing it back")]
    Summary {
        /// Secret name.
        name: String,
    },
    /// A record could not be encoded or decoded.
    #[error("release record {name}: {source}")]
    Codec {
        /// Secret name.
        name: String,
        /// The codec error.
        source: CodecError,
    },
}

/// The API server's own message for a refused request (kube's `Display`
/// appends the whole Status in Debug form); other errors as they print.
fn api_text(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(s) => format!("{} ({})", s.message, s.reason),
        other => other.to_string(),
    }
}

/// Where the records of releases are kept: Secrets ([`SecretStore`]), or
/// memory for tests ([`super::memory::MemoryStore`]).
pub trait ReleaseStore: Send + Sync {
    /// Every revision of `release`, oldest first.
    fn history(
        &self,
        release: &str,
    ) -> impl Future<Output = Result<Vec<StoredRelease>, StoreError>> + Send;
    /// Creates the record of a new revision; an existing one is an error.
    fn create(
        &self,
        rel: &Release,
        annotations: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Replaces the record of an existing revision.
    fn update(
        &self,
        rel: &Release,
        annotations: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes revision `version` of `release` (absent is fine).
    fn delete(
        &self,
        release: &str,
        version: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Parks (`parked`) or unparks revision `version` of `release`: only
    /// whether Helm's queries see it changes.
    fn set_parked(
        &self,
        release: &str,
        version: i64,
        parked: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl ReleaseStore for SecretStore {
    async fn history(&self, release: &str) -> Result<Vec<StoredRelease>, StoreError> {
        SecretStore::history(self, release).await
    }

    async fn create(
        &self,
        rel: &Release,
        annotations: &BTreeMap<String, String>,
    ) -> Result<(), StoreError> {
        SecretStore::create(self, rel, annotations).await
    }

    async fn update(
        &self,
        rel: &Release,
        annotations: &BTreeMap<String, String>,
    ) -> Result<(), StoreError> {
        SecretStore::update(self, rel, annotations).await
    }

    async fn delete(&self, release: &str, version: i64) -> Result<(), StoreError> {
        SecretStore::delete(self, release, version).await
    }

    async fn set_parked(
        &self,
        release: &str,
        version: i64,
        parked: bool,
    ) -> Result<(), StoreError> {
        SecretStore::set_parked(self, release, version, parked).await
    }
}

/// The release records of one storage namespace.
#[derive(Clone)]
pub struct SecretStore {
    api: Api<Secret>,
    namespace: String,
    writes: Arc<AtomicU64>,
    /// Annotations put on every record this store writes.
    stamp: BTreeMap<String, String>,
    /// The labels a rewrite keeps, of the records this store read or
    /// wrote, by Secret name.
    seen: Arc<Mutex<HashMap<String, BTreeMap<String, String>>>>,
    /// The process's record cache, when this store reads with the
    /// authority that keeps it.
    cache: Option<Arc<HistoryCache>>,
}

/// The labels of `secret` a rewrite keeps.
fn kept_labels(secret: &ObjectMeta) -> BTreeMap<String, String> {
    let labels = secret.labels.as_ref();
    KEPT_LABELS
        .iter()
        .filter_map(|k| Some((k.to_string(), labels?.get(*k)?.clone())))
        .collect()
}

/// What the cache keeps of a record Secret's metadata.
pub fn record_meta(secret: &ObjectMeta) -> RecordMeta {
    RecordMeta {
        resource_version: secret.resource_version.clone().unwrap_or_default(),
        kept: kept_labels(secret),
    }
}

impl SecretStore {
    /// A store in `namespace`; every write increments `writes`.
    pub fn new(client: Client, namespace: &str, writes: Arc<AtomicU64>) -> Self {
        SecretStore {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
            writes,
            stamp: BTreeMap::new(),
            seen: Arc::default(),
            cache: None,
        }
    }

    /// This store, reading through `cache` (and keeping it up to date with
    /// its writes). Only for a store reading with the authority of the
    /// watch that keeps the cache.
    pub fn with_cache(mut self, cache: Arc<HistoryCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Notes what a read or write of `secret` showed.
    fn note(&self, secret: &Secret, stored: Option<&StoredRelease>) {
        let name = secret.metadata.name.clone().unwrap_or_default();
        if let Ok(mut seen) = self.seen.lock() {
            seen.insert(name, kept_labels(&secret.metadata));
        }
        if let (Some(cache), Some(stored)) = (&self.cache, stored) {
            cache.remember(&self.namespace, record_meta(&secret.metadata), stored);
        }
    }

    /// This store, putting `annotations` on every record it creates or
    /// updates (e.g. who claims the release).
    pub fn stamping(mut self, annotations: BTreeMap<String, String>) -> Self {
        self.stamp = annotations;
        self
    }

    /// The storage namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn api_error(&self, op: &'static str, name: &str, source: kube::Error) -> StoreError {
        StoreError::Api {
            op,
            name: name.to_string(),
            namespace: self.namespace.clone(),
            source: Box::new(source),
        }
    }

    /// Every revision of `release`, parked ones included, oldest first.
    /// Records that do not decode are skipped with a warning (as Helm's
    /// driver does).
    pub async fn history(&self, release: &str) -> Result<Vec<StoredRelease>, StoreError> {
        let listing = self
            .cache
            .as_ref()
            .and_then(|c| c.listing(&self.namespace, release));
        let mut out = match listing {
            Some(listing) => self.history_from_index(release, listing).await?,
            None => self.history_listed(release).await?,
        };
        out.sort_by_key(|r| r.release.version);
        Ok(out)
    }

    /// The records, listed (one LIST of the release's record Secrets).
    async fn history_listed(&self, release: &str) -> Result<Vec<StoredRelease>, StoreError> {
        let params = ListParams::default().labels(&format!(
            "owner in ({HELM_OWNER},{PARKED_OWNER}),name={release}"
        ));
        let list = self
            .api
            .list(&params)
            .await
            .map_err(|e| self.api_error("listing", release, e))?;
        Ok(list
            .items
            .iter()
            .filter_map(|s| self.decoded_or_warn(s))
            .filter(|r| r.release.name == release)
            .collect())
    }

    /// The records the cache's index names: decoded ones from the cache,
    /// the others read (one GET each) and decoded.
    async fn history_from_index(
        &self,
        release: &str,
        listing: BTreeMap<i64, RecordMeta>,
    ) -> Result<Vec<StoredRelease>, StoreError> {
        let mut out = Vec::new();
        for (version, meta) in listing {
            let name = secret_name(release, version);
            let cached = self
                .cache
                .as_ref()
                .and_then(|c| c.decoded(&self.namespace, release, version, &meta.resource_version));
            if let Some(stored) = cached {
                if let Ok(mut seen) = self.seen.lock() {
                    seen.insert(name, meta.kept);
                }
                out.push(stored);
                continue;
            }
            match self.api.get_opt(&name).await {
                Ok(Some(secret)) => out.extend(self.decoded_or_warn(&secret)),
                // Deleted since the index saw it.
                Ok(None) => {
                    if let Some(c) = &self.cache {
                        c.gone(&self.namespace, release, version);
                    }
                }
                Err(e) => return Err(self.api_error("reading", &name, e)),
            }
        }
        if let Some(c) = &self.cache {
            c.trim(&self.namespace, release);
        }
        Ok(out
            .into_iter()
            .filter(|r| r.release.name == release)
            .collect())
    }

    /// Makes `stored` whole when only its summary was read (one GET).
    pub async fn load(&self, stored: &mut StoredRelease) -> Result<(), StoreError> {
        if !stored.slim {
            return Ok(());
        }
        let name = secret_name(&stored.release.name, stored.release.version);
        let secret = self
            .api
            .get(&name)
            .await
            .map_err(|e| self.api_error("reading", &name, e))?;
        let whole = decode_secret(&secret)?;
        self.note(&secret, Some(&whole));
        *stored = whole;
        Ok(())
    }

    /// `secret` decoded (and noted), or `None` with a warning.
    fn decoded_or_warn(&self, secret: &Secret) -> Option<StoredRelease> {
        match decode_secret(secret) {
            Ok(r) => {
                self.note(secret, Some(&r));
                Some(r)
            }
            Err(e) => {
                tracing::warn!(error = %e, "skipping an unreadable release record");
                None
            }
        }
    }

    /// Revision `version` of `release`, if stored.
    pub async fn get(
        &self,
        release: &str,
        version: i64,
    ) -> Result<Option<StoredRelease>, StoreError> {
        let name = secret_name(release, version);
        match self.api.get_opt(&name).await {
            Ok(Some(s)) => decode_secret(&s).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(self.api_error("reading", &name, e)),
        }
    }

    /// Creates the record of a new revision.
    pub async fn create(
        &self,
        rel: &Release,
        annotations: &BTreeMap<String, String>,
    ) -> Result<(), StoreError> {
        let secret = self.to_secret(rel, annotations, true)?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.api
            .create(&PostParams::default(), &secret)
            .await
            .map(|answer| self.wrote(&answer, rel))
            .map_err(|e| match e {
                kube::Error::Api(s) if s.code == 409 => StoreError::Exists {
                    name: secret_name(&rel.name, rel.version),
                },
                e => self.api_error("creating", &secret_name(&rel.name, rel.version), e),
            })
    }

    /// Replaces the record of an existing revision (status changes); it
    /// stays parked if it was.
    pub async fn update(
        &self,
        rel: &Release,
        annotations: &BTreeMap<String, String>,
    ) -> Result<(), StoreError> {
        let name = secret_name(&rel.name, rel.version);
        if self.summarised(rel) {
            return Err(StoreError::Summary { name });
        }
        let mut secret = self.to_secret(rel, annotations, false)?;
        let kept = match self.kept_of(&rel.name, rel.version) {
            Some(kept) => kept,
            // Neither this store nor the cache saw the record: read it.
            None => match self.api.get_opt(&name).await {
                Ok(Some(old)) => kept_labels(&old.metadata),
                _ => BTreeMap::new(),
            },
        };
        if let Some(labels) = secret.metadata.labels.as_mut() {
            labels.extend(kept);
        }
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.api
            .replace(&name, &PostParams::default(), &secret)
            .await
            .map(|answer| self.wrote(&answer, rel))
            .map_err(|e| self.api_error("updating", &name, e))
    }

    /// Whether `rel` is a summary the cache handed out (its body left
    /// out): writing it would lose the body.
    fn summarised(&self, rel: &Release) -> bool {
        let bodiless = rel.manifest.is_empty()
            && rel.config.is_empty()
            && rel.chart.as_ref().is_none_or(|c| c.templates.is_empty());
        bodiless
            && self.cache.as_ref().is_some_and(|c| {
                c.listing(&self.namespace, &rel.name)
                    .and_then(|l| l.get(&rel.version).cloned())
                    .and_then(|m| {
                        c.decoded(&self.namespace, &rel.name, rel.version, &m.resource_version)
                    })
                    .is_some_and(|s| s.slim)
            })
    }

    /// The labels a rewrite of revision `version` keeps, if this store or
    /// the cache saw the record.
    fn kept_of(&self, release: &str, version: i64) -> Option<BTreeMap<String, String>> {
        let name = secret_name(release, version);
        let seen = self.seen.lock().ok()?.get(&name).cloned();
        seen.or_else(|| {
            let listing = self.cache.as_ref()?.listing(&self.namespace, release)?;
            listing.get(&version).map(|m| m.kept.clone())
        })
    }

    /// Notes the API server's answer to a write of `rel`.
    fn wrote(&self, answer: &Secret, rel: &Release) {
        let stored = StoredRelease {
            release: rel.clone(),
            annotations: answer.metadata.annotations.clone().unwrap_or_default(),
            parked: is_parked(&answer.metadata),
            slim: false,
        };
        self.note(answer, Some(&stored));
    }

    /// Deletes revision `version` of `release` (absent is fine).
    pub async fn delete(&self, release: &str, version: i64) -> Result<(), StoreError> {
        let name = secret_name(release, version);
        self.writes.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = &self.cache {
            c.gone(&self.namespace, release, version);
        }
        match self.api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(self.api_error("deleting", &name, e)),
        }
    }

    /// Parks or unparks revision `version` of `release`: a merge patch of
    /// its `owner` label, nothing else.
    pub async fn set_parked(
        &self,
        release: &str,
        version: i64,
        parked: bool,
    ) -> Result<(), StoreError> {
        let name = secret_name(release, version);
        let (op, owner) = if parked {
            ("parking", PARKED_OWNER)
        } else {
            ("unparking", HELM_OWNER)
        };
        let patch = serde_json::json!({"metadata": {"labels": {"owner": owner}}});
        self.writes.fetch_add(1, Ordering::Relaxed);
        let answer = self
            .api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| self.api_error(op, &name, e))?;
        // Only the label changed: what was decoded still holds.
        let cached = self.cache.as_ref().and_then(|c| {
            let meta = c.listing(&self.namespace, release)?.remove(&version)?;
            c.decoded(&self.namespace, release, version, &meta.resource_version)
        });
        let stored = cached.map(|mut s| {
            s.parked = parked;
            s
        });
        self.note(&answer, stored.as_ref());
        Ok(())
    }

    fn to_secret(
        &self,
        rel: &Release,
        annotations: &BTreeMap<String, String>,
        creating: bool,
    ) -> Result<Secret, StoreError> {
        let name = secret_name(&rel.name, rel.version);
        let (data, slim) = codec::encode_fitting(rel).map_err(|source| StoreError::Codec {
            name: name.clone(),
            source,
        })?;
        let mut annotations = annotations.clone();
        annotations.extend(self.stamp.clone());
        if slim {
            annotations.insert(SLIM_CHART.into(), "true".into());
        }
        let now = jiff::Timestamp::now().as_second().to_string();
        let mut labels = BTreeMap::from([
            ("name".to_string(), rel.name.clone()),
            ("owner".to_string(), HELM_OWNER.to_string()),
            ("status".to_string(), rel.status().as_str().to_string()),
            ("version".to_string(), rel.version.to_string()),
            ("modifiedAt".to_string(), now.clone()),
        ]);
        if creating {
            labels.insert("createdAt".into(), now);
        }
        Ok(Secret {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: Some(self.namespace.clone()),
                labels: Some(labels),
                annotations: (!annotations.is_empty()).then_some(annotations),
                ..Default::default()
            },
            type_: Some(SECRET_TYPE.to_string()),
            data: Some(BTreeMap::from([(
                "release".to_string(),
                ByteString(data.into_bytes()),
            )])),
            ..Default::default()
        })
    }
}

/// Decodes one record Secret.
pub fn decode_secret(secret: &Secret) -> Result<StoredRelease, StoreError> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let release =
        codec::decode(record_data(secret)).map_err(|source| StoreError::Codec { name, source })?;
    Ok(StoredRelease {
        release,
        annotations: secret.metadata.annotations.clone().unwrap_or_default(),
        parked: is_parked(&secret.metadata),
        slim: false,
    })
}

/// A record Secret's `data.release` (empty when absent).
fn record_data(secret: &Secret) -> &[u8] {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get("release"))
        .map(|b| b.0.as_slice())
        .unwrap_or_default()
}

/// Whether the record Secret `meta` is parked.
fn is_parked(meta: &ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get("owner"))
        .is_some_and(|o| o == PARKED_OWNER)
}

/// The (release, revision) a record Secret's labels name.
pub fn record_of(meta: &ObjectMeta) -> Option<(String, i64)> {
    let labels = meta.labels.as_ref()?;
    let release = labels.get("name")?.clone();
    let version = labels.get("version")?.parse().ok()?;
    Some((release, version))
}
