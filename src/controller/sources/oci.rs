//! Charts from OCI registries: pull by tag or digest (plain HTTP only when
//! the HelmRepository says `insecure`), the manifest checked against a
//! pinned digest, the chart layer taken from the shared archive cache when
//! held, and the artifact checked to be the chart and version asked for.

use std::sync::Arc;

use super::verify::{VerifiedCache, VerifyKeys, verify_oci};
use super::{PulledChart, SourceError};
use crate::repo::{ChartCache, FetchOptions, OciClient, OciError, OciReference};

/// What to pull from a registry.
pub(super) struct OciTarget<'a> {
    /// `oci://host/path/chart`.
    pub url: &'a str,
    pub constraint: &'a str,
    /// Plain HTTP instead of HTTPS.
    pub insecure: bool,
    /// `sha256:<hex>` the manifest must have.
    pub pin: Option<&'a str>,
}

pub(super) async fn pull_oci(
    key: &str,
    target: OciTarget<'_>,
    opts: FetchOptions,
    cache: &ChartCache,
    verify: Option<(&VerifiedCache, &VerifyKeys)>,
) -> Result<PulledChart, SourceError> {
    let wrap = |source: OciError| SourceError::Oci {
        repository: key.into(),
        source: Box::new(source),
    };
    let url = target.url;
    let reference = OciReference::parse(url).map_err(wrap)?;
    let client = OciClient::new(opts, target.insecure).map_err(wrap)?;
    let chart = client
        .pull_cached(&reference, target.constraint, target.pin, cache)
        .await
        .map_err(wrap)?;
    let meta = archive_metadata(&chart.bytes).map_err(|reason| SourceError::Load {
        chart: url.into(),
        version: chart.tag.clone().unwrap_or_default(),
        reason,
    })?;
    check_oci_identity(url, &reference, &chart, &meta)?;
    if let Some((verified, keys)) = verify {
        let name = format!("{} {}", meta.name, meta.version);
        verify_oci(
            verified,
            &client,
            &reference,
            &name,
            &chart.manifest_digest,
            keys,
        )
        .await?;
    }
    Ok(PulledChart {
        name: meta.name,
        version: meta.version,
        app_version: Some(meta.app_version).filter(|a| !a.is_empty()),
        digest: chart.chart_digest,
        archive: Arc::from(chart.bytes.as_slice()),
        dependencies: Vec::new(),
        source_revision: None,
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

/// Name, version and appVersion of an archive (loaded off the async path:
/// a `Chart` is not `Send`, so nothing of it survives this call).
pub(super) struct ArchiveMeta {
    pub name: String,
    pub version: String,
    pub app_version: String,
}

pub(super) fn archive_metadata(bytes: &[u8]) -> Result<ArchiveMeta, String> {
    let chart = crate::chart::load::load_archive(bytes).map_err(|e| e.to_string())?;
    Ok(ArchiveMeta {
        name: chart.metadata.name,
        version: chart.metadata.version,
        app_version: chart.metadata.app_version,
    })
}
