//! The HTTP side of `rudder serve`: one hyper HTTP/1.1 connection task per
//! client (over TLS when configured), graceful shutdown of every connection
//! when asked, and the routes — `/healthz` (never behind auth), `/`
//! (listing), `/charts/<name>.html` (chart page), `/index.yaml` (from
//! memory, with ETag/Last-Modified and conditional GET) and the folder's
//! files (archives, provenance files, icons). Every request is logged
//! through tracing (method, path, status, bytes, client, duration).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::auth;
use super::catalog::Catalog;
use super::docs;
use super::files;
use super::pages::{self, PageContext};
use crate::repo::fetch::BasicAuth;

/// How long a client gets to finish its TLS handshake or request head.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// What every request handler reads.
pub struct ServerState {
    pub catalog: Arc<Catalog>,
    /// The repository folder, canonical.
    pub root: PathBuf,
    pub auth: Option<BasicAuth>,
    /// The `--url` base ("" for relative URLs).
    pub base_url: String,
    /// `http` or `https`.
    pub scheme: &'static str,
}

type Reply = Response<Full<Bytes>>;

/// Accepts connections until `shutdown` fires, then lets open connections
/// finish their current request for up to `grace`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    state: Arc<ServerState>,
    shutdown: CancellationToken,
    grace: Duration,
) {
    let tracker = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                continue;
            }
        };
        let (state, tls, shutdown) = (state.clone(), tls.clone(), shutdown.clone());
        tracker.spawn(async move {
            match tls {
                None => connection(stream, state, remote, shutdown).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => connection(stream, state, remote, shutdown).await,
                        Ok(Err(e)) => {
                            tracing::info!(remote = %remote, error = %e, "TLS handshake failed");
                        }
                        Err(_) => tracing::info!(remote = %remote, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(
            connections = tracker.len(),
            "connections still open at the end of the shutdown grace period"
        );
    }
}

/// Serves one connection; on shutdown, finishes the request in progress
/// and closes.
async fn connection<I>(
    io: I,
    state: Arc<ServerState>,
    remote: SocketAddr,
    shutdown: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(handle(&state, req, remote).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(remote = %remote, error = %e, "connection ended with an error");
    }
}

/// Answers one request and logs it.
async fn handle(state: &ServerState, req: Request<Incoming>, remote: SocketAddr) -> Reply {
    let started = Instant::now();
    let mut reply = route(state, &req).await;
    let size = body_len(&reply);
    if req.method() == Method::HEAD {
        *reply.body_mut() = Full::new(Bytes::new());
    }
    tracing::info!(
        method = %req.method(),
        path = %req.uri().path(),
        status = reply.status().as_u16(),
        bytes = size,
        remote = %remote,
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    reply
}

fn body_len(reply: &Reply) -> u64 {
    reply
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn route(state: &ServerState, req: &Request<Incoming>) -> Reply {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        let mut reply = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        reply
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return reply;
    }
    let path = req.uri().path();
    if path == "/healthz" {
        return text(StatusCode::OK, "ok\n");
    }
    if let Some(expected) = &state.auth {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if !auth::authorized(given, expected) {
            let mut reply = text(StatusCode::UNAUTHORIZED, "unauthorized\n");
            reply.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"rudder\""),
            );
            return reply;
        }
    }
    match path {
        "/" => listing(state, req.headers()),
        "/index.yaml" => index(state, req.headers()),
        _ => match chart_page_name(path) {
            Some(name) => chart_page(state, req.headers(), &name).await,
            None => file(state, req.headers(), path).await,
        },
    }
}

fn listing(state: &ServerState, headers: &HeaderMap) -> Reply {
    let snapshot = state.catalog.snapshot();
    let repo_url = repo_url(state, headers);
    let ctx = PageContext {
        repo_url: &repo_url,
        base_url: &state.base_url,
    };
    html(pages::listing(&snapshot.charts, &ctx))
}

fn index(state: &ServerState, headers: &HeaderMap) -> Reply {
    let snapshot = state.catalog.snapshot();
    let validators = Validators {
        etag: snapshot.etag.clone(),
        last_modified: snapshot.last_modified,
    };
    if not_modified(headers, &validators) {
        return validators.apply(empty(StatusCode::NOT_MODIFIED));
    }
    let mut reply = Response::new(Full::new(snapshot.index.clone()));
    set(&mut reply, header::CONTENT_TYPE, "application/yaml");
    set_len(&mut reply, snapshot.index.len() as u64);
    validators.apply(reply)
}

/// `/charts/<name>.html` → the decoded chart name.
fn chart_page_name(path: &str) -> Option<String> {
    let raw = path.strip_prefix("/charts/")?.strip_suffix(".html")?;
    if raw.contains('/') {
        return None;
    }
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

async fn chart_page(state: &ServerState, headers: &HeaderMap, name: &str) -> Reply {
    let snapshot = state.catalog.snapshot();
    let Some(list) = snapshot.charts.get(name) else {
        return text(StatusCode::NOT_FOUND, "no such chart\n");
    };
    let docs = match list.first() {
        Some(latest) => {
            let archive = state.root.join(&latest.file);
            match tokio::task::spawn_blocking(move || docs::read(&archive)).await {
                Ok(Ok(docs)) => docs,
                Ok(Err(e)) => {
                    tracing::warn!(chart = name, error = %e, "reading the chart's README and values");
                    docs::ChartDocs::default()
                }
                Err(e) => {
                    tracing::warn!(chart = name, error = %e, "reading the chart's README and values");
                    docs::ChartDocs::default()
                }
            }
        }
        None => docs::ChartDocs::default(),
    };
    let repo_url = repo_url(state, headers);
    let ctx = PageContext {
        repo_url: &repo_url,
        base_url: &state.base_url,
    };
    html(pages::chart(name, list, &docs, &ctx))
}

async fn file(state: &ServerState, headers: &HeaderMap, path: &str) -> Reply {
    let not_found = || text(StatusCode::NOT_FOUND, "not found\n");
    let Some(real) = files::resolve(&state.root, path) else {
        return not_found();
    };
    let Ok(meta) = tokio::fs::metadata(&real).await else {
        return not_found();
    };
    let limit = state.catalog.max_archive_bytes();
    if meta.len() > limit {
        tracing::warn!(
            file = %real.display(),
            bytes = meta.len(),
            limit,
            "not serving a file larger than the repository client's archive limit"
        );
        return not_found();
    }
    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let validators = Validators {
        etag: file_etag(meta.len(), modified),
        last_modified: modified,
    };
    if not_modified(headers, &validators) {
        return validators.apply(empty(StatusCode::NOT_MODIFIED));
    }
    let Ok(bytes) = tokio::fs::read(&real).await else {
        return not_found();
    };
    let len = bytes.len() as u64;
    let mut reply = Response::new(Full::new(Bytes::from(bytes)));
    set(&mut reply, header::CONTENT_TYPE, content_type(path));
    set_len(&mut reply, len);
    validators.apply(reply)
}

/// A file's weak identity: its size and modification time.
fn file_etag(len: u64, modified: SystemTime) -> String {
    let nanos = modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("\"{len:x}-{nanos:x}\"")
}

fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "tgz" | "gz" => "application/gzip",
        "prov" | "txt" | "md" => "text/plain; charset=utf-8",
        "yaml" | "yml" => "application/yaml",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// The ETag and Last-Modified of a response.
struct Validators {
    etag: String,
    last_modified: SystemTime,
}

impl Validators {
    fn apply(&self, mut reply: Reply) -> Reply {
        if let Ok(v) = HeaderValue::from_str(&self.etag) {
            reply.headers_mut().insert(header::ETAG, v);
        }
        let date = httpdate::fmt_http_date(self.last_modified);
        if let Ok(v) = HeaderValue::from_str(&date) {
            reply.headers_mut().insert(header::LAST_MODIFIED, v);
        }
        reply
    }
}

/// RFC 9110: `If-None-Match` decides when present, else `If-Modified-Since`.
fn not_modified(headers: &HeaderMap, v: &Validators) -> bool {
    if let Some(tags) = headers.get(header::IF_NONE_MATCH) {
        let tags = tags.to_str().unwrap_or_default();
        return tags
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == v.etag || t.strip_prefix("W/") == Some(v.etag.as_str()));
    }
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| httpdate::parse_http_date(h).ok());
    since.is_some_and(|since| whole_seconds(v.last_modified) <= since)
}

fn whole_seconds(t: SystemTime) -> SystemTime {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// The repository URL shown in the pages: `--url`, else this request's
/// scheme and Host.
fn repo_url(state: &ServerState, headers: &HeaderMap) -> String {
    if !state.base_url.is_empty() {
        return state.base_url.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("HOST");
    format!("{}://{host}", state.scheme)
}

fn html(body: String) -> Reply {
    let len = body.len() as u64;
    let mut reply = Response::new(Full::new(Bytes::from(body)));
    set(&mut reply, header::CONTENT_TYPE, "text/html; charset=utf-8");
    set(
        &mut reply,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:",
    );
    set_len(&mut reply, len);
    reply
}

fn text(status: StatusCode, body: &'static str) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *reply.status_mut() = status;
    set(
        &mut reply,
        header::CONTENT_TYPE,
        "text/plain; charset=utf-8",
    );
    set_len(&mut reply, body.len() as u64);
    reply
}

fn empty(status: StatusCode) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::new()));
    *reply.status_mut() = status;
    reply
}

fn set(reply: &mut Reply, name: header::HeaderName, value: &'static str) {
    reply
        .headers_mut()
        .insert(name, HeaderValue::from_static(value));
}

fn set_len(reply: &mut Reply, len: u64) {
    reply
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditional_get_follows_rfc_9110() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let v = Validators {
            etag: "\"abc\"".into(),
            last_modified: at,
        };
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, &v));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", \"abc\""),
        );
        assert!(not_modified(&h, &v));
        // If-None-Match decides even when If-Modified-Since would match.
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"old\""));
        let date = httpdate::fmt_http_date(at);
        h.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_str(&date).unwrap(),
        );
        assert!(!not_modified(&h, &v));
        h.remove(header::IF_NONE_MATCH);
        assert!(not_modified(&h, &v));
        let earlier = httpdate::fmt_http_date(at - Duration::from_secs(1));
        h.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_str(&earlier).unwrap(),
        );
        assert!(!not_modified(&h, &v));
    }

    #[test]
    fn chart_pages_are_named_by_one_segment() {
        assert_eq!(
            chart_page_name("/charts/my%20chart.html"),
            Some("my chart".into())
        );
        assert_eq!(chart_page_name("/charts/a/b.html"), None);
        assert_eq!(chart_page_name("/charts/a.tgz"), None);
    }
}
