//! Optional TLS for `rudder serve`, from a folder laid out like the Secret a
//! HelmRepository's `spec.certSecretRef` names: `tls.crt` (the server's
//! certificate chain, PEM) and `tls.key` (its key), and, when present,
//! `ca.crt` — then clients must present a certificate that CA signed
//! (mutual TLS). rustls with the ring provider, as the repository client.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why the TLS folder could not be turned into a server configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Pem { path: String, reason: String },
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// A rustls server configuration from `dir/tls.crt`, `dir/tls.key` and the
/// optional `dir/ca.crt`.
pub fn load(dir: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = certificates(&dir.join("tls.crt"))?;
    let key_path = dir.join("tls.key");
    let key = PrivateKeyDer::from_pem_slice(&read(&key_path)?).map_err(|e| TlsError::Pem {
        path: key_path.display().to_string(),
        reason: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let ca_path = dir.join("ca.crt");
    let builder = if ca_path.exists() {
        let mut roots = rustls::RootCertStore::empty();
        for cert in certificates(&ca_path)? {
            roots.add(cert).map_err(|e| TlsError::Pem {
                path: ca_path.display().to_string(),
                reason: e.to_string(),
            })?;
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| TlsError::Config(e.to_string()))?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem_err = |reason: String| TlsError::Pem {
        path: path.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(&read(path)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_err("no PEM certificate found".into()));
    }
    Ok(certs)
}
