//! Where the controller gets charts from: one [`ChartRepository`] per
//! HelmRepository (keyed `namespace/name`, rebuilt when its URL, timeout,
//! credentials or TLS material change, so its last good index and parse
//! count survive across reconciliations), ad-hoc repositories for
//! dependencies named by URL, and the shared archive [`ChartCache`].
//!
//! [`Sources::pull_chart`] is the HelmRelease reconciler's entry point: read
//! the HelmRepository and its Secrets, resolve the chart, download and
//! verify it, then fetch the dependencies its Chart.yaml (or
//! requirements.yaml) declares but does not vendor under `charts/` —
//! `helm dependency build` at reconcile time, honouring Chart.lock
//! (requirements.lock) versions, each archive verified against its index
//! digest. [`load_pulled`] turns the result into a [`Chart`] on the render
//! thread. This module talks to the cluster; `crate::repo` does not.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use crate::api::HelmRepository;
use crate::api::duration::parse_duration;
use crate::api::helmrelease::ChartSpec;
use crate::chart::Chart;
use crate::chart::yamlio;
use crate::godata::semver::is_compatible_range;
use crate::repo::cache::sha256_hex;
use crate::repo::{
    BasicAuth, ChartCache, ChartRepository, FetchError, FetchOptions, OciClient, OciError,
    OciReference, PullError, TlsMaterial,
};

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
    #[error("chart {chart} {version}: {reason}")]
    Load {
        chart: String,
        version: String,
        reason: String,
    },
    #[error("chart {chart}: dependency {dependency}: {source}")]
    Dependency {
        chart: String,
        dependency: String,
        #[source]
        source: Box<SourceError>,
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
        Sources {
            cache: Arc::new(cache),
            repos: Mutex::new(HashMap::new()),
            by_url: Mutex::new(HashMap::new()),
        }
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
        let repo = Arc::new(
            ChartRepository::new(&config.url, config.opts.clone()).map_err(|source| {
                SourceError::Client {
                    repository: key.into(),
                    source: Box::new(source),
                }
            })?,
        );
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
        let obj = get_repository(client, ns, &chart.repository_ref.name).await?;
        let mut pulled = self
            .pull_from(client, &obj, &chart.name, &chart.version)
            .await?;
        pulled.dependencies = self.pull_dependencies(client, ns, &pulled).await?;
        Ok(pulled)
    }

    /// One chart (no dependencies) from a HelmRepository object.
    async fn pull_from(
        &self,
        client: &kube::Client,
        obj: &HelmRepository,
        name: &str,
        constraint: &str,
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
            return pull_oci(&key, &url, constraint, opts).await;
        }
        let r = self.repository(client, obj).await?;
        self.pull_http(&r.key, &r.url, &r.repo, name, constraint)
            .await
    }

    async fn pull_http(
        &self,
        key: &str,
        url: &str,
        repo: &ChartRepository,
        name: &str,
        constraint: &str,
    ) -> Result<PulledChart, SourceError> {
        let pulled = crate::repo::pull(repo, &self.cache, name, constraint)
            .await
            .map_err(|source| SourceError::Pull {
                repository: key.into(),
                url: url.into(),
                source: Box::new(source),
            })?;
        let app_version = Some(pulled.entry.app_version.clone()).filter(|a| !a.is_empty());
        Ok(PulledChart {
            name: pulled.entry.name,
            version: pulled.entry.version,
            app_version,
            digest: format!("sha256:{}", pulled.archive.digest),
            archive: Arc::from(pulled.archive.bytes.as_slice()),
            dependencies: Vec::new(),
        })
    }

    /// `helm dependency build` for `parent`: every declared dependency
    /// that is not vendored, fetched and verified.
    async fn pull_dependencies(
        &self,
        client: &kube::Client,
        ns: &str,
        parent: &PulledChart,
    ) -> Result<Vec<PulledDependency>, SourceError> {
        let wanted = missing_dependencies(parent)?;
        let mut out = Vec::with_capacity(wanted.len());
        for dep in wanted {
            let wrap = |source: SourceError| SourceError::Dependency {
                chart: format!("{} {}", parent.name, parent.version),
                dependency: format!("{} {} ({})", dep.name, dep.version, dep.repository),
                source: Box::new(source),
            };
            let got = self
                .pull_dependency(client, ns, parent, &dep)
                .await
                .map_err(wrap)?;
            out.push(PulledDependency {
                name: got.name,
                version: got.version,
                repository: dep.repository,
                digest: got.digest,
                archive: got.archive,
            });
        }
        Ok(out)
    }

    async fn pull_dependency(
        &self,
        client: &kube::Client,
        ns: &str,
        parent: &PulledChart,
        dep: &WantedDependency,
    ) -> Result<PulledChart, SourceError> {
        let repo = dep.repository.as_str();
        if let Some(name) = repo
            .strip_prefix('@')
            .or_else(|| repo.strip_prefix("alias:"))
        {
            let obj = get_repository(client, ns, name).await?;
            return self.pull_from(client, &obj, &dep.name, &dep.version).await;
        }
        if repo.starts_with("oci://") {
            let url = format!("{}/{}", repo.trim_end_matches('/'), dep.name);
            return pull_oci(repo, &url, &dep.version, FetchOptions::default()).await;
        }
        if repo.starts_with("http://") || repo.starts_with("https://") {
            let r = self.url_repository(repo)?;
            return self
                .pull_http(repo, repo, &r, &dep.name, &dep.version)
                .await;
        }
        Err(SourceError::UnsupportedDependencyRepository {
            chart: format!("{} {}", parent.name, parent.version),
            dependency: dep.name.clone(),
            repository: dep.repository.clone(),
        })
    }

    /// An anonymous repository named by URL in a dependency. Its index is
    /// fetched again (conditionally) on every use: nothing else refreshes it.
    fn url_repository(&self, url: &str) -> Result<Arc<ChartRepository>, SourceError> {
        let repo = {
            let mut by_url = self.by_url.lock().map_err(|_| poisoned())?;
            match by_url.get(url) {
                Some(r) => r.clone(),
                None => {
                    let r = Arc::new(ChartRepository::new(url, FetchOptions::default()).map_err(
                        |source| SourceError::Client {
                            repository: url.into(),
                            source: Box::new(source),
                        },
                    )?);
                    by_url.insert(url.into(), r.clone());
                    r
                }
            }
        };
        Ok(repo)
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

async fn pull_oci(
    key: &str,
    url: &str,
    constraint: &str,
    opts: FetchOptions,
) -> Result<PulledChart, SourceError> {
    let wrap = |source: OciError| SourceError::Oci {
        repository: key.into(),
        source: Box::new(source),
    };
    let reference = OciReference::parse(url).map_err(wrap)?;
    let client = OciClient::new(opts, is_loopback(&reference.registry)).map_err(wrap)?;
    let chart = client.pull(&reference, constraint).await.map_err(wrap)?;
    let meta = archive_metadata(&chart.bytes).map_err(|reason| SourceError::Load {
        chart: url.into(),
        version: chart.tag.clone().unwrap_or_default(),
        reason,
    })?;
    check_oci_identity(url, &reference, &chart, &meta)?;
    Ok(PulledChart {
        name: meta.name,
        version: meta.version,
        app_version: Some(meta.app_version).filter(|a| !a.is_empty()),
        digest: chart.chart_digest,
        archive: Arc::from(chart.bytes.as_slice()),
        dependencies: Vec::new(),
    })
}

/// Refuses an OCI artifact whose Chart.yaml names another chart than the
/// repository path, or another version than the tag pulled.
fn check_oci_identity(
    url: &str,
    reference: &OciReference,
    chart: &crate::repo::oci::OciChart,
    meta: &ArchiveMeta,
) -> Result<(), SourceError> {
    let wanted_name = reference.repository.rsplit('/').next().unwrap_or_default();
    let wanted_version = chart.tag.as_ref().map(|t| t.replace('_', "+"));
    let name_ok = wanted_name.is_empty() || meta.name == wanted_name;
    let version_ok = wanted_version.as_ref().is_none_or(|v| *v == meta.version);
    if name_ok && version_ok {
        return Ok(());
    }
    Err(SourceError::Load {
        chart: url.into(),
        version: chart.tag.clone().unwrap_or_default(),
        reason: format!(
            "the artifact is chart {} {}, not the chart and version asked for",
            meta.name, meta.version
        ),
    })
}

/// Registries on the loopback interface are spoken to over plain HTTP (as
/// a local `docker-registry` serves); every other one over HTTPS.
fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => registry,
    };
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// Basic auth, TLS material and timeout of a HelmRepository.
async fn fetch_options(
    client: &kube::Client,
    ns: &str,
    key: &str,
    obj: &HelmRepository,
) -> Result<FetchOptions, SourceError> {
    let timeout = parse_duration(&obj.spec.timeout).map_err(|e| SourceError::InvalidTimeout {
        repository: key.into(),
        timeout: obj.spec.timeout.clone(),
        reason: e.to_string(),
    })?;
    let mut opts = FetchOptions {
        timeout,
        pass_credentials: obj.spec.pass_credentials,
        ..FetchOptions::default()
    };
    if let Some(r) = &obj.spec.secret_ref {
        let data = secret_data(client, ns, &r.name, key).await?;
        let need = |k: &str| {
            data.get(k)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .ok_or_else(|| SourceError::SecretKeyMissing {
                    namespace: ns.into(),
                    name: r.name.clone(),
                    key: k.into(),
                    repository: key.into(),
                })
        };
        opts.basic_auth = Some(BasicAuth {
            username: need("username")?,
            password: need("password")?,
        });
    }
    if let Some(r) = &obj.spec.cert_secret_ref {
        let mut data = secret_data(client, ns, &r.name, key).await?;
        opts.tls = TlsMaterial {
            ca_pem: data.remove("ca.crt"),
            client_cert_pem: data.remove("tls.crt"),
            client_key_pem: data.remove("tls.key"),
        };
    }
    Ok(opts)
}

async fn secret_data(
    client: &kube::Client,
    ns: &str,
    name: &str,
    repository: &str,
) -> Result<HashMap<String, Vec<u8>>, SourceError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = match api.get_opt(name).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(SourceError::SecretNotFound {
                namespace: ns.into(),
                name: name.into(),
                repository: repository.into(),
            });
        }
        Err(e) => {
            return Err(SourceError::Kube {
                what: format!("Secret {ns}/{name}"),
                reason: e.to_string(),
            });
        }
    };
    let mut out: HashMap<String, Vec<u8>> = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    for (k, v) in secret.string_data.unwrap_or_default() {
        out.insert(k, v.into_bytes());
    }
    Ok(out)
}

/// A dependency to fetch: name, the version (constraint, or the locked
/// version) and its repository.
#[derive(Debug, Clone, PartialEq, Eq)]
struct WantedDependency {
    name: String,
    version: String,
    repository: String,
}

/// Name, version and appVersion of an archive (loaded off the async path:
/// a `Chart` is not `Send`, so nothing of it survives this call).
struct ArchiveMeta {
    name: String,
    version: String,
    app_version: String,
}

fn archive_metadata(bytes: &[u8]) -> Result<ArchiveMeta, String> {
    let chart = crate::chart::load::load_archive(bytes).map_err(|e| e.to_string())?;
    Ok(ArchiveMeta {
        name: chart.metadata.name,
        version: chart.metadata.version,
        app_version: chart.metadata.app_version,
    })
}

/// The dependencies of `parent` that must be fetched: declared in
/// Chart.yaml / requirements.yaml, not vendored under `charts/` (a subchart
/// of that name whose version satisfies the constraint), with the version
/// from Chart.lock / requirements.lock when it locks the dependency.
fn missing_dependencies(parent: &PulledChart) -> Result<Vec<WantedDependency>, SourceError> {
    let chart =
        crate::chart::load::load_archive(&parent.archive).map_err(|e| SourceError::Load {
            chart: parent.name.clone(),
            version: parent.version.clone(),
            reason: e.to_string(),
        })?;
    let locked = lock_versions(&parent.archive);
    let mut out: Vec<WantedDependency> = Vec::new();
    for dep in &chart.metadata.dependencies {
        let vendored = chart.dependencies.iter().any(|c| {
            c.metadata.name == dep.name && is_compatible_range(&dep.version, &c.metadata.version)
        });
        if vendored {
            continue;
        }
        // Helm writes `@name` repositories as their URL into the lock: match
        // by name, preferring an entry with the same repository.
        let version = locked
            .iter()
            .find(|(n, r, _)| n == &dep.name && r == &dep.repository)
            .or_else(|| locked.iter().find(|(n, _, _)| n == &dep.name))
            .map(|(_, _, v)| v.clone())
            .unwrap_or_else(|| dep.version.clone());
        let wanted = WantedDependency {
            name: dep.name.clone(),
            version,
            repository: dep.repository.clone(),
        };
        // Two aliases of one chart need it once.
        if !out.contains(&wanted) {
            out.push(wanted);
        }
    }
    Ok(out)
}

/// Largest lock file read.
const LOCK_LIMIT: u64 = 1024 * 1024;

/// `(name, repository, version)` of each Chart.lock (or requirements.lock)
/// entry of the archive (the loader keeps lock files out of `Chart`).
fn lock_versions(archive: &[u8]) -> Vec<(String, String, String)> {
    let Some(text) = archive_top_file(archive, "Chart.lock")
        .or_else(|| archive_top_file(archive, "requirements.lock"))
    else {
        return Vec::new();
    };
    let Ok(v) = yamlio::parse(&text) else {
        return Vec::new();
    };
    let Some(map) = v.as_map() else {
        return Vec::new();
    };
    let deps = map.borrow().get("dependencies").cloned();
    let Some(deps) = deps else {
        return Vec::new();
    };
    let field = |m: &crate::godata::value::Map, k: &str| {
        m.get(k)
            .and_then(crate::godata::yaml::scalar_as_string)
            .unwrap_or_default()
    };
    deps.as_list()
        .unwrap_or_default()
        .iter()
        .filter_map(|d| {
            let m = d.as_map()?.borrow();
            Some((
                field(&m, "name"),
                field(&m, "repository"),
                field(&m, "version"),
            ))
        })
        .collect()
}

/// The text of `<chart dir>/<name>` in a chart archive (already checked by
/// the loader), if present and small.
fn archive_top_file(archive: &[u8], name: &str) -> Option<String> {
    use std::io::Read;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    for entry in tar.entries().ok()? {
        let mut entry = entry.ok()?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mut parts = path.splitn(2, '/');
        let (_, rest) = (parts.next(), parts.next());
        if rest != Some(name) {
            continue;
        }
        let mut buf = Vec::new();
        (&mut entry).take(LOCK_LIMIT).read_to_end(&mut buf).ok()?;
        return String::from_utf8(buf).ok();
    }
    None
}

/// Loads the archive and attaches the fetched dependencies as subcharts
/// (what `helm dependency build` puts under `charts/`). Synchronous: a
/// [`Chart`] is `Rc`-based.
pub fn load_pulled(p: &PulledChart) -> Result<Chart, SourceError> {
    let load = |name: &str, version: &str, bytes: &[u8]| {
        crate::chart::load::load_archive(bytes).map_err(|e| SourceError::Load {
            chart: name.into(),
            version: version.into(),
            reason: e.to_string(),
        })
    };
    let mut chart = load(&p.name, &p.version, &p.archive)?;
    let mut deps: Vec<&PulledDependency> = p.dependencies.iter().collect();
    // charts/<name>-<version>.tgz, in directory order.
    deps.sort_by(|a, b| {
        format!("{}-{}.tgz", a.name, a.version).cmp(&format!("{}-{}.tgz", b.name, b.version))
    });
    for d in deps {
        chart
            .dependencies
            .push(load(&d.name, &d.version, &d.archive)?);
    }
    Ok(chart)
}

/// `sha256:<hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_use_plain_http() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost"));
        assert!(!is_loopback("ghcr.io"));
        assert!(!is_loopback("registry.example:443"));
    }

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
