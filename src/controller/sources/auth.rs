//! A HelmRepository's fetch options from the cluster: its timeout, and the
//! credentials and TLS material of the Secrets it names (read from its own
//! namespace). The credentials Secret holds `username`/`password`, or a
//! `.dockerconfigjson` (a `kubernetes.io/dockerconfigjson` Secret) whose
//! `auths` entry for the registry's host is used.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use super::SourceError;
use crate::api::HelmRepository;
use crate::api::duration::parse_duration;
use crate::repo::{BasicAuth, FetchOptions, TlsMaterial};

/// The key of a `kubernetes.io/dockerconfigjson` Secret.
const DOCKER_CONFIG_KEY: &str = ".dockerconfigjson";

#[derive(serde::Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: HashMap<String, DockerAuth>,
}

#[derive(serde::Deserialize)]
struct DockerAuth {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// The credentials for `url`'s registry host in a `.dockerconfigjson`
/// (`auth` = base64 `user:password`, or `username`/`password`); `None`
/// when it lists no entry for that host (the registry is asked
/// anonymously).
fn docker_auth(config: &[u8], url: &str) -> Result<Option<BasicAuth>, String> {
    let config: DockerConfig =
        serde_json::from_slice(config).map_err(|e| format!("not a docker config: {e}"))?;
    let host = registry_host(url);
    let Some(entry) = config
        .auths
        .iter()
        .find(|(k, _)| registry_host(k) == host)
        .map(|(_, v)| v)
    else {
        return Ok(None);
    };
    if let Some(encoded) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| format!("auths[{host:?}].auth is not base64: {e}"))?;
        let text =
            String::from_utf8(decoded).map_err(|_| format!("auths[{host:?}].auth is not UTF-8"))?;
        let (username, password) = text
            .split_once(':')
            .ok_or_else(|| format!("auths[{host:?}].auth is not user:password"))?;
        return Ok(Some(BasicAuth {
            username: username.into(),
            password: password.into(),
        }));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) => Ok(Some(BasicAuth {
            username: u.clone(),
            password: p.clone(),
        })),
        _ => Err(format!(
            "auths[{host:?}] has neither auth nor username and password"
        )),
    }
}

/// `host[:port]` of a registry URL or docker config key
/// (`oci://h:5000/charts` and `https://h:5000/v1/` → `h:5000`).
fn registry_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Basic auth, TLS material and timeout of a HelmRepository.
pub(super) async fn fetch_options(
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
        if let Some(config) = data.get(DOCKER_CONFIG_KEY) {
            opts.basic_auth = docker_auth(config, &obj.spec.url).map_err(|reason| {
                SourceError::InvalidDockerConfig {
                    namespace: ns.into(),
                    name: r.name.clone(),
                    repository: key.into(),
                    reason,
                }
            })?;
            return with_tls(client, ns, key, obj, opts).await;
        }
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
    with_tls(client, ns, key, obj, opts).await
}

/// `opts` with the TLS material of the HelmRepository's `certSecretRef`.
async fn with_tls(
    client: &kube::Client,
    ns: &str,
    key: &str,
    obj: &HelmRepository,
    mut opts: FetchOptions,
) -> Result<FetchOptions, SourceError> {
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

pub(super) async fn secret_data(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_auth_for_the_registry_host() {
        let config = br#"{"auths":{
            "https://other.example/v1/":{"auth":"eDp5"},
            "127.0.0.1:5000":{"auth":"YWxpY2U6czNjcjN0"},
            "ghcr.io":{"username":"bob","password":"pw"}}}"#;
        let alice = docker_auth(config, "oci://127.0.0.1:5000/charts").expect("valid");
        assert_eq!(
            alice,
            Some(BasicAuth {
                username: "alice".into(),
                password: "s3cr3t".into()
            })
        );
        let bob = docker_auth(config, "oci://ghcr.io/org/charts").expect("valid");
        assert_eq!(bob.map(|b| b.username), Some("bob".into()));
        assert_eq!(docker_auth(config, "oci://quay.io/x"), Ok(None));
        assert!(docker_auth(b"{", "oci://ghcr.io/x").is_err());
        assert!(docker_auth(br#"{"auths":{"ghcr.io":{}}}"#, "oci://ghcr.io/x").is_err());
    }
}
