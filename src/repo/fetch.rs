//! HTTP(S) transport for chart repositories: one client per repository
//! (reqwest over rustls with the repository's CA and client certificate),
//! a whole-request timeout, size caps enforced while the body streams in,
//! conditional GET of `index.yaml` (ETag / Last-Modified), and basic auth
//! sent only to the repository's own scheme, host and port unless
//! `pass_credentials` is set (Helm's `passCredentialsAll`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Client, StatusCode};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use url::Url;

use super::resolve::resolve_reference_url;

/// Default cap on an `index.yaml` body.
pub const INDEX_LIMIT: u64 = 50 * 1024 * 1024;
/// Default cap on a chart archive.
pub const ARCHIVE_LIMIT: u64 = 20 * 1024 * 1024;
/// Default whole-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a download failed. Every variant names the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("invalid repository URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("GET {url}: server answered {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url}: timed out after {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("GET {url}: body truncated after {received} bytes{}", expected.map(|e| format!(" of {e}")).unwrap_or_default())]
    Truncated {
        url: String,
        received: u64,
        expected: Option<u64>,
    },
    #[error("GET {url}: body larger than the {limit}-byte limit")]
    TooLarge { url: String, limit: u64 },
    #[error("TLS configuration: {0}")]
    Tls(String),
    #[error("HTTP client: {0}")]
    Client(String),
}

/// Username and password for HTTP basic auth (the password never prints).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// TLS material in PEM form (from a Secret's `ca.crt`, `tls.crt`, `tls.key`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsMaterial {
    /// Extra trusted CA certificates (added to the system roots).
    pub ca_pem: Option<Vec<u8>>,
    /// Client certificate chain and its private key, for mutual TLS.
    pub client_cert_pem: Option<Vec<u8>>,
    pub client_key_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca", &self.ca_pem.is_some())
            .field("client_cert", &self.client_cert_pem.is_some())
            .finish()
    }
}

/// How to talk to one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    pub timeout: Duration,
    pub index_limit: u64,
    pub archive_limit: u64,
    pub basic_auth: Option<BasicAuth>,
    /// Send credentials to every host (charts on a CDN), not only the
    /// repository's own.
    pub pass_credentials: bool,
    pub tls: TlsMaterial,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            timeout: DEFAULT_TIMEOUT,
            index_limit: INDEX_LIMIT,
            archive_limit: ARCHIVE_LIMIT,
            basic_auth: None,
            pass_credentials: false,
            tls: TlsMaterial::default(),
        }
    }
}

/// The validators of a previous index response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The answer to a (conditional) index request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexResponse {
    /// 304: the copy we hold is current.
    NotModified,
    /// A full body and its validators.
    Body {
        bytes: Vec<u8>,
        validators: Validators,
    },
}

/// An HTTP(S) chart repository endpoint.
#[derive(Debug, Clone)]
pub struct HttpRepo {
    client: Client,
    repo_url: Url,
    index_url: String,
    opts: FetchOptions,
}

impl HttpRepo {
    /// A client for the repository at `repo_url` (the folder holding
    /// `index.yaml`).
    pub fn new(repo_url: &str, opts: FetchOptions) -> Result<HttpRepo, FetchError> {
        let invalid = |reason: String| FetchError::InvalidUrl {
            url: repo_url.into(),
            reason,
        };
        let parsed = Url::parse(repo_url).map_err(|e| invalid(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid(format!("unsupported scheme {:?}", parsed.scheme())));
        }
        let index_url =
            resolve_reference_url(repo_url, "index.yaml").map_err(|e| invalid(e.to_string()))?;
        let client = build_client(&opts)?;
        Ok(HttpRepo {
            client,
            repo_url: parsed,
            index_url,
            opts,
        })
    }

    /// The repository URL as given.
    pub fn repo_url(&self) -> &str {
        self.repo_url.as_str()
    }

    /// `<repo>/index.yaml`.
    pub fn index_url(&self) -> &str {
        &self.index_url
    }

    /// The options this client was built with.
    pub fn options(&self) -> &FetchOptions {
        &self.opts
    }

    /// GETs `index.yaml`, conditionally when `previous` has validators.
    pub async fn get_index(&self, previous: &Validators) -> Result<IndexResponse, FetchError> {
        let mut headers = HeaderMap::new();
        add_validator(&mut headers, header::IF_NONE_MATCH, &previous.etag);
        add_validator(
            &mut headers,
            header::IF_MODIFIED_SINCE,
            &previous.last_modified,
        );
        let url = self.index_url.clone();
        let resp = self.send(&url, headers).await?;
        if resp.status() == StatusCode::NOT_MODIFIED {
            return Ok(IndexResponse::NotModified);
        }
        let validators = Validators {
            etag: header_text(&resp, header::ETAG),
            last_modified: header_text(&resp, header::LAST_MODIFIED),
        };
        let bytes = read_limited(&url, resp, self.opts.index_limit, self.opts.timeout).await?;
        Ok(IndexResponse::Body { bytes, validators })
    }

    /// GETs a chart archive (an absolute URL, see
    /// [`super::resolve::chart_url`]).
    pub async fn get_archive(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let resp = self.send(url, HeaderMap::new()).await?;
        read_limited(url, resp, self.opts.archive_limit, self.opts.timeout).await
    }

    async fn send(&self, url: &str, headers: HeaderMap) -> Result<reqwest::Response, FetchError> {
        let target = Url::parse(url).map_err(|e| FetchError::InvalidUrl {
            url: url.into(),
            reason: e.to_string(),
        })?;
        let mut req = self.client.get(target.clone()).headers(headers);
        if let Some(auth) = &self.opts.basic_auth
            && (self.opts.pass_credentials || same_origin(&self.repo_url, &target))
        {
            req = req.basic_auth(&auth.username, Some(&auth.password));
        }
        let resp = req.send().await.map_err(|e| self.classify(url, &e))?;
        let status = resp.status();
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            Ok(resp)
        } else {
            Err(FetchError::Status {
                url: url.into(),
                status: status.as_u16(),
            })
        }
    }

    fn classify(&self, url: &str, e: &reqwest::Error) -> FetchError {
        classify(url, e, self.opts.timeout)
    }
}

/// How many distinct timeouts get a shared client.
const SHARED_CLIENTS: usize = 16;

/// A reqwest client with the options' TLS material and timeout. Clients
/// without TLS material of their own are shared by every repository with
/// the same timeout (one connection pool for the many HelmRepositories of
/// one server); credentials are per request, so sharing them is safe.
pub(super) fn build_client(opts: &FetchOptions) -> Result<Client, FetchError> {
    if opts.tls != TlsMaterial::default() {
        return new_client(&opts.tls, opts.timeout);
    }
    static SHARED: OnceLock<Mutex<HashMap<Duration, Client>>> = OnceLock::new();
    let shared = SHARED.get_or_init(Default::default);
    let mut clients = shared.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = clients.get(&opts.timeout) {
        return Ok(c.clone());
    }
    let c = new_client(&opts.tls, opts.timeout)?;
    // Timeouts come from specs: keep a bounded number of shared clients.
    if clients.len() < SHARED_CLIENTS {
        clients.insert(opts.timeout, c.clone());
    }
    Ok(c)
}

fn new_client(tls: &TlsMaterial, timeout: Duration) -> Result<Client, FetchError> {
    Client::builder()
        .use_preconfigured_tls(client_tls(tls)?)
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("rudder/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FetchError::Client(error_chain(&e)))
}

/// A failed send: timeout or unreachable.
pub(super) fn classify(url: &str, e: &reqwest::Error, timeout: Duration) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout {
            url: url.into(),
            timeout,
        }
    } else {
        FetchError::Unreachable {
            url: url.into(),
            reason: error_chain(e),
        }
    }
}

/// Streams a body, failing as soon as it passes `limit`, and when it ends
/// before its declared length.
pub(super) async fn read_limited(
    url: &str,
    mut resp: reqwest::Response,
    limit: u64,
    timeout: Duration,
) -> Result<Vec<u8>, FetchError> {
    let expected = resp.content_length();
    let too_large = || FetchError::TooLarge {
        url: url.into(),
        limit,
    };
    if expected.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let capacity = expected.unwrap_or(0).min(limit) as usize;
    let mut body = Vec::with_capacity(capacity);
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() as u64 + chunk.len() as u64 > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => {
                return Err(FetchError::Timeout {
                    url: url.into(),
                    timeout,
                });
            }
            Err(_) => return Err(truncated(url, body.len(), expected)),
        }
    }
    if expected.is_some_and(|n| n != body.len() as u64) {
        return Err(truncated(url, body.len(), expected));
    }
    Ok(body)
}

fn truncated(url: &str, received: usize, expected: Option<u64>) -> FetchError {
    FetchError::Truncated {
        url: url.into(),
        received: received as u64,
        expected,
    }
}

/// Helm's rule for basic auth: same scheme and host (with port).
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn add_validator(headers: &mut HeaderMap, name: header::HeaderName, value: &Option<String>) {
    if let Some(v) = value
        && let Ok(v) = HeaderValue::from_str(v)
    {
        headers.insert(name, v);
    }
}

fn header_text(resp: &reqwest::Response, name: header::HeaderName) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// An error and its causes, `a: b: c`.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cur = s.source();
    }
    text
}

/// System roots (or Mozilla's when the system has none), loaded once.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if roots.is_empty() {
            roots.add_parsable_certificates(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned(),
            );
        }
        roots
    })
}

fn pem_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, FetchError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| FetchError::Tls(format!("{what}: {e}")))?;
    if certs.is_empty() {
        return Err(FetchError::Tls(format!("{what}: no PEM certificate found")));
    }
    Ok(certs)
}

/// The rustls configuration for `tls`. The default material (system
/// roots, no client certificate) is built once and cloned: a clone shares
/// its certificate verifier and so the root store, which every client would
/// otherwise copy (a thousand HelmRepositories, a thousand root stores).
pub(crate) fn client_tls(tls: &TlsMaterial) -> Result<rustls::ClientConfig, FetchError> {
    static DEFAULT: OnceLock<rustls::ClientConfig> = OnceLock::new();
    if *tls != TlsMaterial::default() {
        return tls_config(tls);
    }
    if let Some(c) = DEFAULT.get() {
        return Ok(c.clone());
    }
    let c = tls_config(tls)?;
    Ok(DEFAULT.get_or_init(|| c).clone())
}

/// A rustls client configuration (ring) for the repository's TLS material.
fn tls_config(tls: &TlsMaterial) -> Result<rustls::ClientConfig, FetchError> {
    let mut roots = system_roots().clone();
    if let Some(ca) = &tls.ca_pem {
        for cert in pem_certs(ca, "CA certificate")? {
            roots
                .add(cert)
                .map_err(|e| FetchError::Tls(format!("CA certificate: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| FetchError::Tls(e.to_string()))?
        .with_root_certificates(roots);
    match (&tls.client_cert_pem, &tls.client_key_pem) {
        (Some(cert), Some(key)) => {
            let chain = pem_certs(cert, "client certificate")?;
            let key = PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| FetchError::Tls(format!("client key: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| FetchError::Tls(format!("client certificate: {e}")))
        }
        (None, None) => Ok(builder.with_no_client_auth()),
        _ => Err(FetchError::Tls(
            "a client certificate needs both the certificate and its key".into(),
        )),
    }
}
