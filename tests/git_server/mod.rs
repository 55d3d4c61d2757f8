//! A real Git smart-HTTP server on 127.0.0.1 for the Git source tests:
//! the real `git http-backend` (CGI) behind a small hyper server that
//! optionally demands HTTP basic auth for repositories under `private/`
//! and logs every request, telling ref listings (`command=ls-refs`) from
//! object fetches (`command=fetch`, protocol v2). Dropping it stops it.
#![allow(dead_code)]

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request the server answered.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// The protocol v2 command of an upload-pack POST (`ls-refs`, `fetch`).
    pub command: Option<String>,
    pub status: u16,
}

/// The server; repositories live under `root`.
pub struct GitServer {
    pub addr: SocketAddr,
    pub root: PathBuf,
    log: Arc<Mutex<Vec<Logged>>>,
    task: JoinHandle<()>,
}

impl Drop for GitServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct State {
    root: PathBuf,
    credentials: Option<(String, String)>,
    log: Arc<Mutex<Vec<Logged>>>,
}

impl GitServer {
    /// Serves the bare repositories under `root`; those under `private/`
    /// need `credentials` (basic auth).
    pub async fn start(root: &Path, credentials: Option<(&str, &str)>) -> GitServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let state = State {
            root: root.to_path_buf(),
            credentials: credentials.map(|(u, p)| (u.to_string(), p.to_string())),
            log: log.clone(),
        };
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = state.clone();
                tokio::spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let svc = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle(state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await;
                });
            }
        });
        GitServer {
            addr,
            root: root.to_path_buf(),
            log,
            task,
        }
    }

    /// `http://127.0.0.1:PORT/<repo>`
    pub fn url(&self, repo: &str) -> String {
        format!("http://127.0.0.1:{}/{repo}", self.addr.port())
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Upload-pack requests to `repo` with protocol v2 command `command`.
    pub fn count(&self, repo: &str, command: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path.starts_with(&format!("/{repo}/")))
            .filter(|r| r.command.as_deref() == Some(command))
            .count()
    }
}

fn authorized(state: &State, req: &Request<Incoming>) -> bool {
    let Some((user, password)) = &state.credentials else {
        return true;
    };
    if !req.uri().path().starts_with("/private/") {
        return true;
    }
    let want = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Basic {want}"))
}

async fn handle(state: State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (content_type, protocol, encoding) = (
        header("content-type"),
        header("git-protocol"),
        header("content-encoding"),
    );
    let ok = authorized(&state, &req);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let command = v2_command(&body, &encoding);
    let reply = if ok {
        cgi(
            &state.root,
            &method,
            &path,
            &query,
            &content_type,
            &protocol,
            &encoding,
            &body,
        )
        .await
    } else {
        Response::builder()
            .status(401)
            .header("www-authenticate", "Basic realm=\"git\"")
            .body(Full::new(Bytes::from_static(b"unauthorized\n")))
            .expect("response")
    };
    if let Ok(mut log) = state.log.lock() {
        log.push(Logged {
            method,
            path,
            command,
            status: reply.status().as_u16(),
        });
    }
    reply
}

/// The `command=` of a protocol v2 request body.
fn v2_command(body: &[u8], encoding: &str) -> Option<String> {
    let mut plain = body.to_vec();
    if encoding == "gzip" {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .ok()?;
        plain = out;
    }
    let text = String::from_utf8_lossy(&plain);
    let at = text.find("command=")?;
    let rest = &text[at + "command=".len()..];
    let end = rest.find(|c: char| !c.is_ascii_alphanumeric() && c != '-')?;
    Some(rest[..end].to_string())
}

/// Runs `git http-backend` for one request.
#[allow(clippy::too_many_arguments)]
async fn cgi(
    root: &Path,
    method: &str,
    path: &str,
    query: &str,
    content_type: &str,
    protocol: &str,
    encoding: &str,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let mut child = tokio::process::Command::new("git")
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", content_type)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("GIT_PROTOCOL", protocol)
        .env("HTTP_CONTENT_ENCODING", encoding)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("git http-backend (is git installed?)");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(body).await;
    }
    let out = child.wait_with_output().await.expect("http-backend output");
    parse_cgi(&out.stdout)
}

fn parse_cgi(out: &[u8]) -> Response<Full<Bytes>> {
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((at, sep)) = split else {
        return Response::builder()
            .status(500)
            .body(Full::new(Bytes::from(out.to_vec())))
            .expect("response");
    };
    let head = String::from_utf8_lossy(&out[..at]);
    let mut builder = Response::builder().status(200);
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        if k.eq_ignore_ascii_case("status") {
            let code = v
                .split(' ')
                .next()
                .and_then(|c| c.parse().ok())
                .unwrap_or(500);
            builder = builder.status(code);
        } else {
            builder = builder.header(k.trim(), v);
        }
    }
    builder
        .body(Full::new(Bytes::from(out[at + sep..].to_vec())))
        .expect("response")
}

/// Runs `git` in `dir` with a fixed identity and no user configuration;
/// its trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("run git (is git installed?)");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
