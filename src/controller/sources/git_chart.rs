//! A HelmRelease's chart from a GitRepository: the commit the
//! GitRepository last reported (`status.artifact.revision`), the chart
//! directory named by `spec.chart.name` read from it, its Chart.yaml
//! version checked against `spec.chart.version`, and the revision carried
//! along to the record (a new commit upgrades the release only if it
//! changed the chart directory: the archive's digest is the input).

use std::sync::Arc;

use kube::Api;

use super::git::{git_remote, ref_want, revision_commit};
use super::oci::archive_metadata;
use super::{PulledChart, SourceError, Sources, digest_of};
use crate::api::GitRepository;
use crate::api::condition::READY;
use crate::api::helmrelease::ChartSpec;
use crate::godata::semver::{Constraints, Version};

impl Sources {
    /// The chart `chart.name` (a path) of GitRepository `ns/name` at the
    /// revision it reported.
    pub(super) async fn pull_git(
        &self,
        client: &kube::Client,
        ns: &str,
        chart: &ChartSpec,
    ) -> Result<PulledChart, SourceError> {
        let name = &chart.repository_ref.name;
        let key = format!("{ns}/{name}");
        if chart.verify.is_some() {
            return Err(SourceError::Verification {
                chart: format!("{key}:{}", chart.name),
                reason: "charts from a GitRepository carry no signature to verify".into(),
            });
        }
        let obj = get_git_repository(client, ns, name).await?;
        let revision = reported_revision(&obj, &key)?;
        let commit = revision_commit(&revision).ok_or_else(|| SourceError::GitNotReady {
            repository: key.clone(),
            reason: format!("its revision {revision:?} names no commit"),
        })?;
        let remote = git_remote(client, &obj).await?;
        let want = ref_want(obj.spec.reference.as_ref());
        let archive = self
            .git
            .chart(&key, remote, want, commit, &chart.name)
            .await?;
        let meta = archive_metadata(&archive).map_err(|reason| SourceError::Load {
            chart: format!("{key}:{}", chart.name),
            version: revision.clone(),
            reason,
        })?;
        check_version(&key, &chart.name, &chart.version, &meta.name, &meta.version)?;
        let digest = digest_of(&archive);
        if let Some(pin) = chart.digest.as_deref().filter(|p| *p != digest) {
            return Err(SourceError::DigestPinMismatch {
                repository: key,
                chart: meta.name,
                version: meta.version,
                pinned: pin.into(),
                actual: digest,
            });
        }
        Ok(PulledChart {
            name: meta.name,
            version: meta.version,
            app_version: Some(meta.app_version).filter(|a| !a.is_empty()),
            digest,
            archive: Arc::clone(&archive),
            dependencies: Vec::new(),
            source_revision: Some(revision),
        })
    }
}

/// The revision a Ready GitRepository reported.
fn reported_revision(obj: &GitRepository, key: &str) -> Result<String, SourceError> {
    let status = obj.status.as_ref();
    let artifact = status.and_then(|s| s.artifact.as_ref());
    if let Some(a) = artifact {
        return Ok(a.revision.clone());
    }
    let ready = status.and_then(|s| s.conditions.iter().find(|c| c.type_ == READY));
    let reason = match ready {
        Some(c) => format!("{}: {}", c.reason, c.message),
        None => "no revision fetched yet".into(),
    };
    Err(SourceError::GitNotReady {
        repository: key.into(),
        reason,
    })
}

/// Refuses a chart whose version does not satisfy `constraint` (`*` or
/// empty accept any).
fn check_version(
    key: &str,
    path: &str,
    constraint: &str,
    chart: &str,
    version: &str,
) -> Result<(), SourceError> {
    if constraint.is_empty() || constraint == "*" || constraint == version {
        return Ok(());
    }
    let ok = match (Constraints::parse(constraint), Version::parse(version)) {
        (Ok(c), Ok(v)) => c.check(&v),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(SourceError::GitChartVersion {
        repository: key.into(),
        path: path.into(),
        chart: format!("{chart} {version}"),
        constraint: constraint.into(),
    })
}

/// Reads GitRepository `ns/name`.
pub async fn get_git_repository(
    client: &kube::Client,
    ns: &str,
    name: &str,
) -> Result<GitRepository, SourceError> {
    let api: Api<GitRepository> = Api::namespaced(client.clone(), ns);
    match api.get_opt(name).await {
        Ok(Some(obj)) => Ok(obj),
        Ok(None) => Err(SourceError::GitRepositoryNotFound {
            namespace: ns.into(),
            name: name.into(),
        }),
        Err(e) => Err(SourceError::Kube {
            what: format!("GitRepository {ns}/{name}"),
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constraints_on_git_charts() {
        let check = |c: &str, v: &str| check_version("ns/g", "c", c, "c", v).is_ok();
        assert!(check("*", "0.1.0"));
        assert!(check("0.1.x", "0.1.3"));
        assert!(check("0.1.0", "0.1.0"));
        assert!(!check("0.2.x", "0.1.3"));
        assert!(!check(">=1.0.0", "not-a-version"));
    }
}
