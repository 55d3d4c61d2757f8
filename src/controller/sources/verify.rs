//! `chart.verify`: the keys read from a Secret of the HelmRelease's own
//! namespace, and the check of a pulled chart against them — a Helm
//! provenance file next to an HTTP repository's archive (PGP), or a cosign
//! signature of an OCI chart. Successful checks are remembered by (chart
//! digest, keys), so an unchanged chart is not re-verified each
//! reconciliation.

use std::collections::HashSet;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use super::SourceError;
use crate::api::helmrelease::{ChartVerification, VerificationProvider};
use crate::repo::cache::sha256_hex;
use crate::repo::{CosignKeys, FetchError, HttpRepo, Keyring, OciClient, OciReference};

/// What a chart is verified with.
pub(super) enum Verifier {
    Pgp(Keyring),
    Cosign(CosignKeys),
}

/// The keys of a `chart.verify`, with what identifies them.
pub(super) struct VerifyKeys {
    pub verifier: Verifier,
    /// Digest of the key material (part of the result cache's key).
    pub identity: String,
}

/// (chart digest, key identity) pairs that verified.
#[derive(Default)]
pub(super) struct VerifiedCache {
    ok: Mutex<HashSet<(String, String)>>,
}

impl VerifiedCache {
    fn contains(&self, digest: &str, keys: &VerifyKeys) -> bool {
        self.ok
            .lock()
            .map(|s| s.contains(&(digest.to_string(), keys.identity.clone())))
            .unwrap_or(false)
    }

    fn insert(&self, digest: &str, keys: &VerifyKeys) {
        if let Ok(mut s) = self.ok.lock() {
            s.insert((digest.to_string(), keys.identity.clone()));
        }
    }
}

fn failed(chart: &str, reason: impl std::fmt::Display) -> SourceError {
    SourceError::Verification {
        chart: chart.into(),
        reason: reason.to_string(),
    }
}

/// Reads the keys `verify.secretRef` names from namespace `ns`; `chart`
/// names the chart in errors.
pub(super) async fn read_keys(
    client: &kube::Client,
    ns: &str,
    chart: &str,
    verify: &ChartVerification,
) -> Result<VerifyKeys, SourceError> {
    let name = &verify.secret_ref.name;
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = match api.get_opt(name).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(failed(chart, format!("Secret {ns}/{name} not found"))),
        Err(e) => {
            return Err(SourceError::Kube {
                what: format!("Secret {ns}/{name}"),
                reason: e.to_string(),
            });
        }
    };
    let mut entries: Vec<(String, Vec<u8>)> = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    if verify.provider == VerificationProvider::Cosign {
        entries.retain(|(k, _)| k.ends_with(".pub"));
    }
    entries.sort();
    let identity = key_identity(&entries);
    let sources = entries.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
    let in_secret = |e: &dyn std::fmt::Display| format!("Secret {ns}/{name}: {e}");
    let verifier = match verify.provider {
        VerificationProvider::Pgp => {
            Verifier::Pgp(Keyring::read(sources).map_err(|e| failed(chart, in_secret(&e)))?)
        }
        VerificationProvider::Cosign => {
            Verifier::Cosign(CosignKeys::read(sources).map_err(|e| failed(chart, in_secret(&e)))?)
        }
    };
    Ok(VerifyKeys { verifier, identity })
}

/// sha256 over the (sorted) key names and contents.
fn key_identity(entries: &[(String, Vec<u8>)]) -> String {
    let mut all = Vec::new();
    for (k, v) in entries {
        all.extend_from_slice(k.as_bytes());
        all.push(0);
        all.extend_from_slice(&(v.len() as u64).to_be_bytes());
        all.extend_from_slice(v);
    }
    sha256_hex(&all)
}

/// Verifies an HTTP repository's archive (at `archive_url`, digest
/// `digest`) with its provenance file `<archive_url>.prov`.
pub(super) async fn verify_http(
    cache: &VerifiedCache,
    http: &HttpRepo,
    chart: &str,
    archive_url: &str,
    digest: &str,
    archive: &[u8],
    keys: &VerifyKeys,
) -> Result<(), SourceError> {
    let Verifier::Pgp(keyring) = &keys.verifier else {
        return Err(failed(
            chart,
            "provider cosign verifies OCI charts; a chart of an HTTP repository is verified with provider pgp",
        ));
    };
    if cache.contains(digest, keys) {
        return Ok(());
    }
    let (prov_url, file_name) = provenance_url(archive_url).map_err(|e| failed(chart, e))?;
    let prov = match http.get_archive(&prov_url).await {
        Ok(p) => p,
        Err(FetchError::Status { status: 404, .. }) => {
            return Err(failed(
                chart,
                format!("no provenance file at {prov_url} (the chart is not signed)"),
            ));
        }
        Err(e) => return Err(failed(chart, format!("fetching {prov_url}: {e}"))),
    };
    keyring
        .verify(&prov, archive, &file_name)
        .map_err(|e| failed(chart, format!("{prov_url}: {e}")))?;
    cache.insert(digest, keys);
    Ok(())
}

/// `<url>.prov` (query kept) and the archive's file name.
fn provenance_url(archive_url: &str) -> Result<(String, String), String> {
    let mut url =
        url::Url::parse(archive_url).map_err(|e| format!("archive URL {archive_url}: {e}"))?;
    let file_name = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .ok_or_else(|| format!("archive URL {archive_url} names no file"))?;
    let path = format!("{}.prov", url.path());
    url.set_path(&path);
    Ok((url.to_string(), file_name))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

/// Verifies the cosign signature of an OCI chart (manifest digest `digest`).
pub(super) async fn verify_oci(
    cache: &VerifiedCache,
    client: &OciClient,
    reference: &OciReference,
    chart: &str,
    digest: &str,
    keys: &VerifyKeys,
) -> Result<(), SourceError> {
    let Verifier::Cosign(cosign_keys) = &keys.verifier else {
        return Err(failed(
            chart,
            "provider pgp verifies provenance files of HTTP repositories; an OCI chart is verified with provider cosign",
        ));
    };
    if cache.contains(digest, keys) {
        return Ok(());
    }
    crate::repo::cosign::verify(client, reference, digest, cosign_keys)
        .await
        .map_err(|e| failed(chart, e))?;
    cache.insert(digest, keys);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_sits_next_to_the_archive() {
        assert_eq!(
            provenance_url("http://127.0.0.1:1/charts/demo-0.1.0.tgz?x=1").unwrap(),
            (
                "http://127.0.0.1:1/charts/demo-0.1.0.tgz.prov?x=1".to_string(),
                "demo-0.1.0.tgz".to_string()
            )
        );
        assert_eq!(
            provenance_url("http://h/demo-1.0.0%2Bbuild.tgz").unwrap().1,
            "demo-1.0.0+build.tgz"
        );
        assert!(provenance_url("http://h/").is_err());
    }

    #[test]
    fn key_identity_depends_on_names_and_contents() {
        let a = key_identity(&[("a".into(), b"1".to_vec())]);
        assert_ne!(a, key_identity(&[("a".into(), b"2".to_vec())]));
        assert_ne!(a, key_identity(&[("b".into(), b"1".to_vec())]));
    }
}
