//! Cosign signatures of OCI charts, verified with a public key (what
//! `cosign verify --key cosign.pub --insecure-ignore-tlog` checks): the
//! signature manifest is the tag `sha256-<hex>.sig` of the chart's
//! manifest digest in the same repository; one of its layers is a
//! simple-signing JSON payload whose `critical.image.docker-manifest-digest`
//! is the chart's manifest digest, and whose annotation
//! `dev.cosignproject.cosign/signature` is a base64 ECDSA P-256 (SHA-256)
//! signature of the payload's bytes by the key. The transparency log is
//! not consulted (no network beyond the registry).

use std::collections::BTreeMap;

use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde::Deserialize;

use super::cache::sha256_hex;
use super::fetch::FetchError;
use super::oci::{OciClient, OciError, OciReference};

const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json";
const SIGNATURE_LIMIT: u64 = 1024 * 1024;

/// Why a cosign signature did not verify a chart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignError {
    #[error("public key {name}: {reason}")]
    Key { name: String, reason: String },
    #[error("no cosign public key (a Secret key ending in .pub)")]
    NoKeys,
    #[error("{reference}: no cosign signature (tag {tag} not found)")]
    Unsigned { reference: String, tag: String },
    #[error("{reference}: signature tag {tag}: {reason}")]
    InvalidSignature {
        reference: String,
        tag: String,
        reason: String,
    },
    #[error(
        "{reference}: none of the {count} signature(s) of {digest} is by a given key over a payload naming that digest"
    )]
    NoValidSignature {
        reference: String,
        digest: String,
        count: usize,
    },
    #[error(transparent)]
    Registry(#[from] OciError),
}

/// Public keys cosign signatures may be made with.
#[derive(Debug, Clone)]
pub struct CosignKeys {
    keys: Vec<(String, VerifyingKey)>,
}

impl CosignKeys {
    /// Reads PEM public keys (`cosign.pub`); `sources` pairs a name (for
    /// errors) with the bytes.
    pub fn read<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<CosignKeys, CosignError> {
        let mut keys = Vec::new();
        for (name, bytes) in sources {
            keys.push((name.to_string(), read_key(name, bytes)?));
        }
        if keys.is_empty() {
            return Err(CosignError::NoKeys);
        }
        Ok(CosignKeys { keys })
    }

    /// The name of the key that signed `payload` with `signature` (DER).
    fn signer(&self, payload: &[u8], signature: &Signature) -> Option<&str> {
        self.keys
            .iter()
            .find(|(_, k)| k.verify(payload, signature).is_ok())
            .map(|(n, _)| n.as_str())
    }
}

fn read_key(name: &str, bytes: &[u8]) -> Result<VerifyingKey, CosignError> {
    let fail = |reason: String| CosignError::Key {
        name: name.into(),
        reason,
    };
    let pem = std::str::from_utf8(bytes).map_err(|e| fail(format!("not PEM text: {e}")))?;
    VerifyingKey::from_public_key_pem(pem.trim())
        .map_err(|e| fail(format!("not an ECDSA P-256 public key in PEM: {e}")))
}

#[derive(Deserialize)]
struct SigManifest {
    #[serde(default)]
    layers: Vec<SigLayer>,
}

#[derive(Deserialize)]
struct SigLayer {
    digest: String,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Payload {
    critical: Critical,
}

#[derive(Deserialize)]
struct Critical {
    image: PayloadImage,
}

#[derive(Deserialize)]
struct PayloadImage {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// The cosign signature tag of a manifest digest (`sha256:<hex>`).
pub fn signature_tag(manifest_digest: &str) -> String {
    format!("{}.sig", manifest_digest.replacen(':', "-", 1))
}

/// Verifies that the chart whose manifest digest is `manifest_digest` in
/// repository `r` carries a signature by one of `keys`; returns that key's name.
pub async fn verify(
    client: &OciClient,
    r: &OciReference,
    manifest_digest: &str,
    keys: &CosignKeys,
) -> Result<String, CosignError> {
    let tag = signature_tag(manifest_digest);
    let invalid = |reason: String| CosignError::InvalidSignature {
        reference: r.name(),
        tag: tag.clone(),
        reason,
    };
    let raw = match client
        .get_in_repository(
            r,
            &format!("manifests/{tag}"),
            Some(MANIFEST_ACCEPT),
            SIGNATURE_LIMIT,
        )
        .await
    {
        Err(OciError::Fetch(FetchError::Status { status: 404, .. })) => {
            return Err(CosignError::Unsigned {
                reference: r.name(),
                tag,
            });
        }
        other => other?,
    };
    let manifest: SigManifest =
        serde_json::from_slice(&raw).map_err(|e| invalid(format!("manifest: {e}")))?;
    for layer in &manifest.layers {
        if let Some(signer) = verify_layer(client, r, layer, manifest_digest, keys).await? {
            return Ok(signer);
        }
    }
    Err(CosignError::NoValidSignature {
        reference: r.name(),
        digest: manifest_digest.into(),
        count: manifest.layers.len(),
    })
}

/// One signature layer: `Some(key name)` if it is valid for the digest.
async fn verify_layer(
    client: &OciClient,
    r: &OciReference,
    layer: &SigLayer,
    manifest_digest: &str,
    keys: &CosignKeys,
) -> Result<Option<String>, CosignError> {
    let Some(signature) = layer
        .annotations
        .get(SIGNATURE_ANNOTATION)
        .and_then(|b64| decode_signature(b64))
    else {
        return Ok(None);
    };
    let payload = client
        .get_in_repository(r, &format!("blobs/{}", layer.digest), None, SIGNATURE_LIMIT)
        .await?;
    if format!("sha256:{}", sha256_hex(&payload)) != layer.digest {
        return Ok(None);
    }
    let Some(signer) = keys.signer(&payload, &signature) else {
        return Ok(None);
    };
    Ok(names_digest(&payload, manifest_digest).then(|| signer.to_string()))
}

fn decode_signature(b64: &str) -> Option<Signature> {
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    Signature::from_der(&der).ok()
}

/// Whether a simple-signing payload names `manifest_digest`.
fn names_digest(payload: &[u8], manifest_digest: &str) -> bool {
    serde_json::from_slice::<Payload>(payload)
        .is_ok_and(|p| p.critical.image.docker_manifest_digest == manifest_digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_tags_follow_cosign() {
        assert_eq!(signature_tag("sha256:abcd"), "sha256-abcd.sig");
    }

    #[test]
    fn payloads_must_name_the_digest() {
        let p = br#"{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"sha256:ab"},"type":"cosign container image signature"},"optional":null}"#;
        assert!(names_digest(p, "sha256:ab"));
        assert!(!names_digest(p, "sha256:cd"));
        assert!(!names_digest(b"{}", "sha256:ab"));
    }

    #[test]
    fn keys_must_be_p256_pem() {
        assert!(matches!(
            CosignKeys::read([("cosign.pub", b"junk".as_slice())]),
            Err(CosignError::Key { .. })
        ));
        assert!(matches!(
            CosignKeys::read(std::iter::empty()),
            Err(CosignError::NoKeys)
        ));
    }
}
