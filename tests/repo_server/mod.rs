//! A real HTTP/1.1 server on 127.0.0.1 for the repository integration
//! tests (plain or TLS), serving an in-memory folder of files (an
//! `index.yaml` and archives) with optional basic auth, ETag support, and
//! switchable misbehaviour (status codes, stalls, truncated bodies). Also a
//! test PKI (CA + server certificate for 127.0.0.1) made with rcgen.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// A received request head.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub enum Reply {
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Declares `declared` bytes, sends `body`, closes the connection.
    Truncated { declared: usize, body: Vec<u8> },
    /// Waits before answering.
    Stall(Duration, Box<Reply>),
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply::Full {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply::Full {
            status,
            headers: Vec::new(),
            body: format!("status {status}\n").into_bytes(),
        }
    }
}

pub type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A running server; dropping it stops it.
pub struct TestServer {
    pub addr: SocketAddr,
    pub tls: bool,
    pub log: Arc<Mutex<Vec<Request>>>,
    task: JoinHandle<()>,
}

impl TestServer {
    pub async fn start(handler: Handler, tls: Option<TlsAcceptor>) -> TestServer {
        Self::start_on(0, handler, tls).await
    }

    /// Starts on 127.0.0.1:`port` (0: any free port), retrying for a while
    /// when the port is still held by a server just stopped.
    pub async fn start_on(port: u16, handler: Handler, tls: Option<TlsAcceptor>) -> TestServer {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", port)).await {
                Ok(l) => break l,
                Err(e) if tries < 100 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("bind 127.0.0.1:{port}: {e}"),
            }
        };
        let addr = listener.local_addr().expect("local addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let is_tls = tls.is_some();
        let task = tokio::spawn(accept_loop(listener, handler, tls, log.clone()));
        TestServer {
            addr,
            tls: is_tls,
            log,
            task,
        }
    }

    /// `http(s)://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.addr.port())
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    handler: Handler,
    tls: Option<TlsAcceptor>,
    log: Arc<Mutex<Vec<Request>>>,
) {
    // Dropping the set (when this task is aborted) aborts every connection.
    let mut conns = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        let (handler, tls, log) = (handler.clone(), tls.clone(), log.clone());
        conns.spawn(async move {
            match tls {
                Some(acceptor) => {
                    if let Ok(s) = acceptor.accept(stream).await {
                        serve(s, handler, log).await;
                    }
                }
                None => serve(stream, handler, log).await,
            }
        });
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    handler: Handler,
    log: Arc<Mutex<Vec<Request>>>,
) {
    let Some(req) = read_head(&mut stream).await else {
        return;
    };
    if let Ok(mut l) = log.lock() {
        l.push(req.clone());
    }
    let reply = handler(&req);
    write_reply(&mut stream, reply).await;
    let _ = stream.shutdown().await;
}

async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Request {
        method,
        path,
        headers,
    })
}

async fn write_reply<S: AsyncWrite + Unpin>(stream: &mut S, mut reply: Reply) {
    while let Reply::Stall(wait, next) = reply {
        tokio::time::sleep(wait).await;
        reply = *next;
    }
    let (status, headers, declared, body) = match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => (status, headers, body.len(), body),
        Reply::Truncated { declared, body } => (200, Vec::new(), declared, body),
        Reply::Stall(..) => return,
    };
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nConnection: close\r\n",
        reason(status)
    );
    if status != 304 {
        head.push_str(&format!("Content-Length: {declared}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.flush().await;
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        401 => "Unauthorized",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

/// How the site answers every request.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Serve the files.
    Normal,
    /// Answer this status to everything.
    Status(u16),
    /// Wait this long, then serve normally.
    Stall(Duration),
    /// Declare the full length of the file but send only half.
    Truncated,
}

/// An in-memory folder served over HTTP(S).
#[derive(Default)]
pub struct SiteState {
    pub files: std::collections::HashMap<String, Vec<u8>>,
    pub mode: Option<Mode>,
    /// `(user, password)` required when set.
    pub auth: Option<(String, String)>,
}

/// A running site: the server and its mutable state.
pub struct Site {
    pub server: TestServer,
    pub state: Arc<Mutex<SiteState>>,
}

impl Site {
    pub async fn start(tls: Option<TlsAcceptor>) -> Site {
        Self::start_on(0, Arc::new(Mutex::new(SiteState::default())), tls).await
    }

    /// Serves `state` on 127.0.0.1:`port` (e.g. the port of a site that was
    /// stopped, to bring a repository back).
    pub async fn start_on(
        port: u16,
        state: Arc<Mutex<SiteState>>,
        tls: Option<TlsAcceptor>,
    ) -> Site {
        let s = state.clone();
        let handler: Handler = Arc::new(move |req| match s.lock() {
            Ok(st) => answer(&st, req),
            Err(_) => Reply::status(500),
        });
        Site {
            server: TestServer::start_on(port, handler, tls).await,
            state,
        }
    }

    pub fn base(&self) -> String {
        self.server.base()
    }

    pub fn put(&self, path: &str, bytes: Vec<u8>) {
        self.state
            .lock()
            .expect("site lock")
            .files
            .insert(path.trim_start_matches('/').to_string(), bytes);
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().expect("site lock").mode = Some(mode);
    }

    pub fn set_auth(&self, user: &str, password: &str) {
        self.state.lock().expect("site lock").auth = Some((user.into(), password.into()));
    }

    /// How many requests asked for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.path.trim_start_matches('/') == path.trim_start_matches('/'))
            .count()
    }
}

fn answer(st: &SiteState, req: &Request) -> Reply {
    if let Some((user, password)) = &st.auth {
        use base64::Engine;
        let want = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        if req.header("authorization") != Some(want.as_str()) {
            return Reply::status(401);
        }
    }
    let path = req
        .path
        .split('?')
        .next()
        .unwrap_or("")
        .trim_start_matches('/');
    let Some(body) = st.files.get(path) else {
        return Reply::status(404);
    };
    let etag = format!("\"{:x}\"", body.len() as u64 ^ fnv(body));
    let full = || {
        if req.header("if-none-match") == Some(etag.as_str()) {
            return Reply::Full {
                status: 304,
                headers: vec![("ETag".into(), etag.clone())],
                body: Vec::new(),
            };
        }
        Reply::Full {
            status: 200,
            headers: vec![("ETag".into(), etag.clone())],
            body: body.clone(),
        }
    };
    match &st.mode {
        None | Some(Mode::Normal) => full(),
        Some(Mode::Status(code)) => Reply::status(*code),
        Some(Mode::Stall(d)) => Reply::Stall(*d, Box::new(full())),
        Some(Mode::Truncated) => Reply::Truncated {
            declared: body.len(),
            body: body[..body.len() / 2].to_vec(),
        },
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

/// A test CA, a server certificate for 127.0.0.1 and a client certificate,
/// all PEM: (ca, server cert, server key, client cert, client key).
pub fn test_pki() -> (String, String, String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "rudder test CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("ca key")).expect("ca");
    let server_key = KeyPair::generate().expect("server key");
    let server = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("server params")
        .signed_by(&server_key, &ca)
        .expect("server cert");
    let client_key = KeyPair::generate().expect("client key");
    let mut client_params = CertificateParams::new(Vec::<String>::new()).expect("client params");
    client_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "rudder");
    client_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params
        .signed_by(&client_key, &ca)
        .expect("client cert");
    (
        ca.pem(),
        server.pem(),
        server_key.serialize_pem(),
        client.pem(),
        client_key.serialize_pem(),
    )
}

/// A TLS acceptor presenting `cert`; with `client_ca`, clients must present
/// a certificate it signed.
pub fn tls_acceptor(cert: &str, key: &str, client_ca: Option<&str>) -> TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert.as_bytes())
        .collect::<Result<_, _>>()
        .expect("cert");
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key");
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("versions");
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                roots.add(c.expect("ca")).expect("add ca");
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .expect("verifier");
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder.with_single_cert(chain, key).expect("server config");
    TlsAcceptor::from(Arc::new(config))
}

/// The shared test repository (`../shared/charts/index`) as files, with
/// the index's absolute `http://127.0.0.1:8879/` URLs made relative.
pub fn shared_index_files() -> Vec<(String, Vec<u8>)> {
    repository_dir_files("index", "http://127.0.0.1:8879/")
}

/// The wide shared repository (`../shared/charts/index-wide`: podinfo,
/// ingress-nginx, grafana, …) as files, its URLs made relative.
#[allow(dead_code)]
pub fn shared_wide_index_files() -> Vec<(String, Vec<u8>)> {
    repository_dir_files("index-wide", "http://127.0.0.1:8880/")
}

/// The files of `../shared/charts/DIR`, with `base` removed from the
/// index's URLs.
fn repository_dir_files(dir: &str, base: &str) -> Vec<(String, Vec<u8>)> {
    let dir = shared_charts().join(dir);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("reading ../shared/charts/index") {
        let entry = entry.expect("dir entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let mut bytes = std::fs::read(entry.path()).expect("reading a repository file");
        if name == "index.yaml" {
            bytes = String::from_utf8(bytes)
                .expect("UTF-8 index")
                .replace(base, "")
                .into_bytes();
        }
        out.push((name, bytes));
    }
    out
}

/// `../shared/charts`, searched upwards from the crate root (worktrees sit
/// deeper than the main checkout).
pub fn shared_charts() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dir = root.to_path_buf();
    loop {
        let cand = dir.join("../shared/charts");
        if cand.is_dir() {
            return cand;
        }
        if !dir.pop() {
            return root.join("../shared/charts");
        }
    }
}

/// Runs `program` (helm, rudder) with helm's configuration, cache and data
/// under `home`, so tests never touch the user's helm set-up; its stdout,
/// or a panic with its stderr.
pub fn run_in_home(program: &str, args: &[&str], home: &std::path::Path) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env(
            "HELM_REPOSITORY_CONFIG",
            home.join("config/repositories.yaml"),
        )
        .env("HELM_REPOSITORY_CACHE", home.join("cache/repository"))
        .env("HELM_REGISTRY_CONFIG", home.join("config/registry.json"))
        .output()
        .unwrap_or_else(|e| panic!("running {program} {args:?}: {e} (is it installed?)"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The reference registry (Debian's `docker-registry`; `.ci/run` installs it).
pub const REGISTRY: &str = "/usr/bin/docker-registry";

/// A registry process on 127.0.0.1; killed when dropped.
pub struct Registry {
    child: std::process::Child,
    pub port: u16,
}

impl Registry {
    /// Starts a registry storing in `storage` (its config `dir/NAME.yml`),
    /// requiring basic auth from `htpasswd` when given, and waits for it.
    pub fn start(
        dir: &std::path::Path,
        name: &str,
        storage: &std::path::Path,
        htpasswd: Option<&std::path::Path>,
    ) -> Registry {
        Registry::start_logged(dir, name, storage, htpasswd, None)
    }

    /// As [`Registry::start`], writing the registry's request log (one
    /// line per request, with its method and URI) to `log` when given.
    pub fn start_logged(
        dir: &std::path::Path,
        name: &str,
        storage: &std::path::Path,
        htpasswd: Option<&std::path::Path>,
        log: Option<&std::path::Path>,
    ) -> Registry {
        assert!(
            std::path::Path::new(REGISTRY).exists(),
            "{REGISTRY} not found: apt-get install docker-registry (.ci/run does)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let auth = htpasswd
            .map(|p| {
                format!(
                    "auth:\n  htpasswd:\n    realm: rudder-test\n    path: {}\n",
                    p.display()
                )
            })
            .unwrap_or_default();
        let config = dir.join(format!("{name}.yml"));
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: {level}\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
                storage.display(),
                level = if log.is_some() { "info" } else { "error" },
            ),
        )
        .expect("config");
        let output = |log: Option<&std::path::Path>| match log {
            Some(p) => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map(std::process::Stdio::from)
                .expect("registry log file"),
            None => std::process::Stdio::null(),
        };
        let child = std::process::Command::new(REGISTRY)
            .arg("serve")
            .arg(&config)
            .stdout(output(log))
            .stderr(output(log))
            .spawn()
            .expect("start docker-registry");
        let reg = Registry { child, port };
        reg.wait_ready();
        reg
    }

    /// Waits until the registry accepts connections.
    pub fn wait_ready(&self) {
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(15),
                "registry did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// `oci://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("oci://127.0.0.1:{}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
