//! Charts from OCI registries: pull by tag or digest (plain HTTP only to
//! a registry on the loopback interface), and check that the artifact is
//! the chart and version asked for.

use std::sync::Arc;

use super::verify::{VerifiedCache, VerifyKeys, verify_oci};
use super::{PulledChart, SourceError};
use crate::repo::{FetchOptions, OciClient, OciError, OciReference};

pub(super) async fn pull_oci(
    key: &str,
    url: &str,
    constraint: &str,
    opts: FetchOptions,
    verify: Option<(&VerifiedCache, &VerifyKeys)>,
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
    if let Some((cache, keys)) = verify {
        let name = format!("{} {}", meta.name, meta.version);
        verify_oci(
            cache,
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
pub(super) fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => registry,
    };
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// Name, version and appVersion of an archive (loaded off the async path:
/// a `Chart` is not `Send`, so nothing of it survives this call).
pub(super) struct ArchiveMeta {
    name: String,
    version: String,
    app_version: String,
}

pub(super) fn archive_metadata(bytes: &[u8]) -> Result<ArchiveMeta, String> {
    let chart = crate::chart::load::load_archive(bytes).map_err(|e| e.to_string())?;
    Ok(ArchiveMeta {
        name: chart.metadata.name,
        version: chart.metadata.version,
        app_version: chart.metadata.app_version,
    })
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
}
