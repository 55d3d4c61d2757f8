//! A HelmRepository's fetch options from the cluster: its timeout, and the
//! basic-auth and TLS material of the Secrets it names (read from its own
//! namespace).

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use super::SourceError;
use crate::api::HelmRepository;
use crate::api::duration::parse_duration;
use crate::repo::{BasicAuth, FetchOptions, TlsMaterial};

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
