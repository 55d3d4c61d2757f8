//! Where the controller gets charts from: one [`ChartRepository`] per
//! HelmRepository (keyed `namespace/name`, rebuilt when its URL, timeout,
//! credentials or TLS material change, so its last good index and parse
//! count survive across reconciliations; shared by HelmRepositories whose
//! URL, credentials and TLS material are the same), ad-hoc repositories for
//! dependencies named by URL, and the shared archive [`ChartCache`].
//!
//! [`Sources::pull_chart`] is the HelmRelease reconciler's entry point: read
//! the HelmRepository and its Secrets, resolve the chart, download and
//! verify it, then fetch the dependencies its Chart.yaml (or
//! requirements.yaml) declares but does not vendor under `charts/` —
//! `helm dependency build` at reconcile time, honouring Chart.lock
//! (requirements.lock) versions, each archive verified against its index
//! digest. Charts of a GitRepository (`repositoryRef.kind`) come from
//! [`git`]. [`load_pulled`] turns the result into a [`crate::chart::Chart`] on the render
//! thread. This module talks to the cluster; `crate::repo` does not.

mod auth;
mod deps;
pub mod git;
mod git_chart;
mod load;
mod oci;
mod verify;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::Api;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::api::HelmRepository;
use crate::api::helmrelease::{ChartSpec, SourceKind};
use crate::repo::{ChartCache, ChartRepository, FetchError, FetchOptions, OciError, PullError};
use auth::fetch_options;
pub use load::{digest_of, load_pulled};
use oci::{OciTarget, pull_oci};
use verify::{VerifiedCache, VerifyKeys};

/// The release record annotation holding the Git revision a chart from a
/// GitRepository was read from.
pub const SOURCE_REVISION: &str = "rudder.dev/source-revision";

/// Why a chart (or one of its dependencies) could not be provided. Every
/// variant names what and where.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    #[error("HelmRepository {namespace}/{name} not found")]
    RepositoryNotFound { namespace: String, name: String },
    #[error("reading {what}: {reason}")]
    Kube { what: String, reason: String },
    #[error("Secret {namespace}/{name} (referenced by HelmRepository {repository}) not found")]
    SecretNotFound {
        namespace: String,
        name: String,
        repository: String,
    },
    #[error(
        "Secret {namespace}/{name}: key {key:?} is missing (needed by HelmRepository {repository})"
    )]
    SecretKeyMissing {
        namespace: String,
        name: String,
        key: String,
        repository: String,
    },
    #[error(
        "Secret {namespace}/{name} (referenced by HelmRepository {repository}): invalid .dockerconfigjson: {reason}"
    )]
    InvalidDockerConfig {
        namespace: String,
        name: String,
        repository: String,
        reason: String,
    },
    #[error("HelmRepository {repository}: invalid timeout {timeout:?}: {reason}")]
    InvalidTimeout {
        repository: String,
        timeout: String,
        reason: String,
    },
    #[error("HelmRepository {repository}: {source}")]
    Client {
        repository: String,
        #[source]
        source: Box<FetchError>,
    },
    #[error("HelmRepository {repository} ({url}): {source}")]
    Pull {
        repository: String,
        url: String,
        #[source]
        source: Box<PullError>,
    },
    #[error("HelmRepository {repository}: {source}")]
    Oci {
        repository: String,
        #[source]
        source: Box<OciError>,
    },
    #[error(
        "HelmRepository {repository}: chart {chart} {version} is {actual}, not the pinned digest {pinned} (spec.chart.digest)"
    )]
    DigestPinMismatch {
        repository: String,
        chart: String,
        version: String,
        pinned: String,
        actual: String,
    },
    #[error("chart {chart} {version}: {reason}")]
    Load {
        chart: String,
        version: String,
        reason: String,
    },
    #[error("chart {chart}: signature verification failed: {reason}")]
    Verification { chart: String, reason: String },
    #[error("chart {chart}: dependency {dependency}: {source}")]
    Dependency {
        chart: String,
        dependency: String,
        #[source]
        source: Box<SourceError>,
    },
    #[error("GitRepository {namespace}/{name} not found")]
    GitRepositoryNotFound { namespace: String, name: String },
    #[error("GitRepository {repository}: {source}")]
    Git {
        repository: String,
        #[source]
        source: Box<crate::repo::git::GitError>,
    },
    #[error("GitRepository {repository} is not ready: {reason}")]
    GitNotReady { repository: String, reason: String },
    #[error("GitRepository {repository}: credentials: {reason}")]
    GitCredentials { repository: String, reason: String },
    #[error(
        "GitRepository {repository}: the chart at {path:?} is {chart}, which does not satisfy version {constraint:?}"
    )]
    GitChartVersion {
        repository: String,
        path: String,
        /// `<name> <version>`.
        chart: String,
        constraint: String,
    },
    #[error(
        "chart {chart}: dependency {dependency} is not vendored under charts/ and its repository {repository:?} cannot be fetched from (use an http(s):// or oci:// URL, or @name / alias:name of a HelmRepository)"
    )]
    UnsupportedDependencyRepository {
        chart: String,
        dependency: String,
        repository: String,
    },
}

/// A chart ready for [`load_pulled`]: the verified archive and the
/// dependencies fetched for it.
#[derive(Clone, Debug)]
pub struct PulledChart {
    pub name: String,
    pub version: String,
    pub app_version: Option<String>,
    /// `sha256:<hex>` of the archive.
    pub digest: String,
    /// The verified `.tgz`.
    pub archive: Arc<[u8]>,
    /// Dependencies fetched because they were not vendored (empty if none).
    pub dependencies: Vec<PulledDependency>,
    /// For a chart from a GitRepository, the Git revision it was read from.
    pub source_revision: Option<String>,
}

impl PulledChart {
    /// What identifies the chart as rendered: the archive's digest and its
    /// fetched dependencies', comma-separated. A chart from a GitRepository
    /// is a reproducible archive of its directory, so a commit that leaves
    /// the directory as it was is the same chart (no upgrade).
    pub fn digests(&self) -> String {
        let mut key = self.digest.clone();
        for d in &self.dependencies {
            key.push(',');
            key.push_str(&d.digest);
        }
        key
    }
}

/// One fetched (non-vendored) dependency.
#[derive(Clone, Debug)]
pub struct PulledDependency {
    /// Chart name (not the alias).
    pub name: String,
    pub version: String,
    /// The `repository:` it was fetched from, as written.
    pub repository: String,
    /// `sha256:<hex>` of the archive.
    pub digest: String,
    pub archive: Arc<[u8]>,
}

/// What a repository client is built from; a change rebuilds it.
#[derive(Debug, Clone, PartialEq)]
struct RepoConfig {
    url: String,
    opts: FetchOptions,
}

struct RepoEntry {
    config: RepoConfig,
    repo: Arc<ChartRepository>,
}

/// Chart sources shared by the reconcilers (`Send + Sync`).
pub struct Sources {
    cache: Arc<ChartCache>,
    /// HelmRepository `namespace/name` → its client and last good index.
    repos: Mutex<HashMap<String, RepoEntry>>,
    /// Repositories named by URL in a dependency (anonymous).
    by_url: Mutex<HashMap<String, Arc<ChartRepository>>>,
    /// Charts whose signature verified, by (digest, keys).
    verified: VerifiedCache,
    /// Mirrors of GitRepositories.
    git: git::GitSources,
    /// The HelmRepository controller's cache, while it runs: charts are
    /// resolved against it instead of reading the object from the API
    /// server per release.
    objects: std::sync::RwLock<Option<Store<HelmRepository>>>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let repos = self.repos.lock().map(|r| r.len()).unwrap_or(0);
        f.debug_struct("Sources")
            .field("repositories", &repos)
            .finish()
    }
}

/// A HelmRepository read from the cluster, with its client.
pub struct ResolvedRepository {
    /// `namespace/name`.
    pub key: String,
    pub url: String,
    pub repo: Arc<ChartRepository>,
}

impl Sources {
    /// Sources sharing `cache`.
    pub fn new(cache: ChartCache) -> Sources {
        let git_root = match cache.dir() {
            Some(d) => d.join("git"),
            None => std::env::temp_dir().join(format!("rudder-git-{}", std::process::id())),
        };
        Sources {
            git: git::GitSources::new(git_root),
            cache: Arc::new(cache),
            repos: Mutex::new(HashMap::new()),
            by_url: Mutex::new(HashMap::new()),
            verified: VerifiedCache::default(),
            objects: std::sync::RwLock::new(None),
        }
    }

    /// Resolves HelmRepositories through `store` (the running HelmRepository
    /// controller's cache); `None` goes back to reading them from the API.
    pub fn use_repository_store(&self, store: Option<Store<HelmRepository>>) {
        if let Ok(mut s) = self.objects.write() {
            *s = store;
        }
    }

    /// HelmRepository `ns/name`: from the controller's cache when it holds
    /// it, else read with `client` (e.g. a repository outside this shard).
    async fn repository_object(
        &self,
        client: &kube::Client,
        ns: &str,
        name: &str,
    ) -> Result<HelmRepository, SourceError> {
        let cached = self.objects.read().ok().and_then(|s| {
            s.as_ref()
                .and_then(|s| s.get(&ObjectRef::new(name).within(ns)))
        });
        match cached {
            Some(obj) => Ok(obj.as_ref().clone()),
            None => get_repository(client, ns, name).await,
        }
    }

    /// The Git mirrors.
    pub fn git(&self) -> &git::GitSources {
        &self.git
    }

    /// The shared archive cache.
    pub fn cache(&self) -> &ChartCache {
        &self.cache
    }

    /// The client of HelmRepository `obj` (built or rebuilt as needed),
    /// with credentials and TLS material read from its Secrets.
    pub async fn repository(
        &self,
        client: &kube::Client,
        obj: &HelmRepository,
    ) -> Result<ResolvedRepository, SourceError> {
        let namespace = obj.metadata.namespace.clone().unwrap_or_default();
        let name = obj.metadata.name.clone().unwrap_or_default();
        let key = format!("{namespace}/{name}");
        let opts = fetch_options(client, &namespace, &key, obj).await?;
        let config = RepoConfig {
            url: obj.spec.url.clone(),
            opts,
        };
        let repo = self.http_repository(&key, config)?;
        Ok(ResolvedRepository {
            key,
            url: obj.spec.url.clone(),
            repo,
        })
    }

    /// The cached client for `key`, rebuilt if `config` differs.
    fn http_repository(
        &self,
        key: &str,
        config: RepoConfig,
    ) -> Result<Arc<ChartRepository>, SourceError> {
        let mut repos = self.repos.lock().map_err(|_| poisoned())?;
        if let Some(e) = repos.get(key)
            && e.config == config
        {
            return Ok(e.repo.clone());
        }
        // HelmRepositories of one URL with the same credentials and TLS
        // material (one per tenant namespace) share one client and index:
        // the server answers them all alike.
        let same = repos.values().find(|e| e.config == config);
        let repo = match same {
            Some(e) => e.repo.clone(),
            None => Arc::new(
                ChartRepository::new(&config.url, config.opts.clone()).map_err(|source| {
                    SourceError::Client {
                        repository: key.into(),
                        source: Box::new(source),
                    }
                })?,
            ),
        };
        repos.insert(
            key.into(),
            RepoEntry {
                config,
                repo: repo.clone(),
            },
        );
        Ok(repo)
    }

    /// Forgets the client of a deleted HelmRepository.
    pub fn forget(&self, namespace: &str, name: &str) {
        if let Ok(mut repos) = self.repos.lock() {
            repos.remove(&format!("{namespace}/{name}"));
        }
    }

    /// The current client of a HelmRepository, if one was built.
    pub fn existing(&self, namespace: &str, name: &str) -> Option<Arc<ChartRepository>> {
        let repos = self.repos.lock().ok()?;
        repos
            .get(&format!("{namespace}/{name}"))
            .map(|e| e.repo.clone())
    }

    /// Resolve + download + verify the chart a HelmRelease asks for.
    /// `release_ns` is the HelmRelease's namespace (default for
    /// `repositoryRef.namespace`). Reads the HelmRepository object and its
    /// Secrets with `client`.
    pub async fn pull_chart(
        &self,
        client: &kube::Client,
        release_ns: &str,
        chart: &ChartSpec,
    ) -> Result<PulledChart, SourceError> {
        let ns = chart
            .repository_ref
            .namespace
            .as_deref()
            .unwrap_or(release_ns);
        if chart.repository_ref.kind == SourceKind::GitRepository {
            let mut pulled = self.pull_git(client, ns, chart).await?;
            pulled.dependencies = self.pull_dependencies(client, ns, &pulled).await?;
            return Ok(pulled);
        }
        let obj = self
            .repository_object(client, ns, &chart.repository_ref.name)
            .await?;
        let keys = match &chart.verify {
            Some(v) => Some(verify::read_keys(client, release_ns, &chart.name, v).await?),
            None => None,
        };
        let mut pulled = self
            .pull_pinned(
                client,
                &obj,
                &chart.name,
                &chart.version,
                chart.digest.as_deref(),
                keys.as_ref(),
            )
            .await?;
        pulled.dependencies = self.pull_dependencies(client, ns, &pulled).await?;
        Ok(pulled)
    }

    /// One chart (no dependencies) from a HelmRepository object, its
    /// signature verified with `keys` when given.
    async fn pull_from(
        &self,
        client: &kube::Client,
        obj: &HelmRepository,
        name: &str,
        constraint: &str,
        keys: Option<&VerifyKeys>,
    ) -> Result<PulledChart, SourceError> {
        self.pull_pinned(client, obj, name, constraint, None, keys)
            .await
    }

    /// One chart from a HelmRepository object, refused unless it has the
    /// `pin` digest (an OCI manifest's, an HTTP archive's) when given, its
    /// signature verified with `keys` when given.
    async fn pull_pinned(
        &self,
        client: &kube::Client,
        obj: &HelmRepository,
        name: &str,
        constraint: &str,
        pin: Option<&str>,
        keys: Option<&VerifyKeys>,
    ) -> Result<PulledChart, SourceError> {
        if obj.spec.url.starts_with("oci://") {
            let key = format!(
                "{}/{}",
                obj.metadata.namespace.as_deref().unwrap_or_default(),
                obj.metadata.name.as_deref().unwrap_or_default()
            );
            let opts = fetch_options(
                client,
                obj.metadata.namespace.as_deref().unwrap_or_default(),
                &key,
                obj,
            )
            .await?;
            let url = format!("{}/{name}", obj.spec.url.trim_end_matches('/'));
            let target = OciTarget {
                url: &url,
                constraint,
                insecure: obj.spec.insecure,
                pin,
            };
            let verify = keys.map(|k| (&self.verified, k));
            return pull_oci(&key, target, opts, &self.cache, verify).await;
        }
        let r = self.repository(client, obj).await?;
        let pulled = self
            .pull_http(&r.key, &r.url, &r.repo, name, constraint, keys)
            .await?;
        match pin {
            Some(pin) if pin != pulled.digest => Err(SourceError::DigestPinMismatch {
                repository: r.key,
                chart: pulled.name,
                version: pulled.version,
                pinned: pin.into(),
                actual: pulled.digest,
            }),
            _ => Ok(pulled),
        }
    }

    async fn pull_http(
        &self,
        key: &str,
        url: &str,
        repo: &ChartRepository,
        name: &str,
        constraint: &str,
        keys: Option<&VerifyKeys>,
    ) -> Result<PulledChart, SourceError> {
        let pulled = crate::repo::pull(repo, &self.cache, name, constraint)
            .await
            .map_err(|source| SourceError::Pull {
                repository: key.into(),
                url: url.into(),
                source: Box::new(source),
            })?;
        if let Some(keys) = keys {
            let chart = format!("{} {}", pulled.entry.name, pulled.entry.version);
            let archive_url = crate::repo::chart_url(repo.http().repo_url(), &pulled.entry)
                .map_err(|e| SourceError::Verification {
                    chart: chart.clone(),
                    reason: e.to_string(),
                })?;
            verify::verify_http(
                &self.verified,
                repo.http(),
                &chart,
                &archive_url,
                &pulled.archive.digest,
                &pulled.archive.bytes,
                keys,
            )
            .await?;
        }
        let app_version = Some(pulled.entry.app_version.clone()).filter(|a| !a.is_empty());
        Ok(PulledChart {
            name: pulled.entry.name,
            version: pulled.entry.version,
            app_version,
            digest: format!("sha256:{}", pulled.archive.digest),
            archive: Arc::from(pulled.archive.bytes.as_slice()),
            dependencies: Vec::new(),
            source_revision: None,
        })
    }
}

fn poisoned() -> SourceError {
    SourceError::Kube {
        what: "chart sources".into(),
        reason: "internal lock poisoned".into(),
    }
}

/// Reads HelmRepository `ns/name`.
pub async fn get_repository(
    client: &kube::Client,
    ns: &str,
    name: &str,
) -> Result<HelmRepository, SourceError> {
    let api: Api<HelmRepository> = Api::namespaced(client.clone(), ns);
    match api.get_opt(name).await {
        Ok(Some(obj)) => Ok(obj),
        Ok(None) => Err(SourceError::RepositoryNotFound {
            namespace: ns.into(),
            name: name.into(),
        }),
        Err(e) => Err(SourceError::Kube {
            what: format!("HelmRepository {ns}/{name}"),
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn sources_are_shareable() {
        assert_send_sync::<Sources>();
        assert_send_sync::<PulledChart>();
    }

    /// The reconcilers run on a multi-threaded runtime: the pull must be `Send`.
    #[allow(dead_code)]
    fn pull_is_send(s: &Sources, c: &kube::Client, spec: &ChartSpec) {
        fn send<F: std::future::Future + Send>(_: F) {}
        send(s.pull_chart(c, "ns", spec));
    }
}
