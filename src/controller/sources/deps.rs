//! `helm dependency build` at reconcile time: the dependencies a chart
//! declares (Chart.yaml or requirements.yaml) but does not vendor under
//! `charts/`, at the versions Chart.lock (requirements.lock) pins, fetched
//! from a HelmRepository (`@name`, `alias:name`), an HTTP(S) repository
//! URL, or an OCI registry, each archive verified.

use std::sync::Arc;

use super::oci::{OciTarget, pull_oci};
use super::{PulledChart, PulledDependency, SourceError, Sources, poisoned};
use crate::chart::yamlio;
use crate::godata::semver::is_compatible_range;
use crate::repo::{ChartRepository, FetchOptions};

impl Sources {
    /// `helm dependency build` for `parent`: every declared dependency
    /// that is not vendored, fetched and verified.
    pub(super) async fn pull_dependencies(
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
            let obj = self.repository_object(client, ns, name).await?;
            return self
                .pull_from(client, &obj, &dep.name, &dep.version, None)
                .await;
        }
        if repo.starts_with("oci://") {
            let url = format!("{}/{}", repo.trim_end_matches('/'), dep.name);
            let target = OciTarget {
                url: &url,
                constraint: &dep.version,
                insecure: false,
                pin: None,
            };
            return pull_oci(repo, target, FetchOptions::default(), self.cache(), None).await;
        }
        if repo.starts_with("http://") || repo.starts_with("https://") {
            let r = self.url_repository(repo)?;
            return self
                .pull_http(repo, repo, &r, &dep.name, &dep.version, None)
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

/// A dependency to fetch: name, the version (constraint, or the locked
/// version) and its repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct WantedDependency {
    name: String,
    version: String,
    repository: String,
}

/// The dependencies of `parent` that must be fetched: declared in
/// Chart.yaml / requirements.yaml, not vendored under `charts/` (a subchart
/// of that name whose version satisfies the constraint), with the version
/// from Chart.lock / requirements.lock when it locks the dependency.
pub(super) fn missing_dependencies(
    parent: &PulledChart,
) -> Result<Vec<WantedDependency>, SourceError> {
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
