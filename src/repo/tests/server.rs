//! A small real HTTP/1.1 server for the repository tests: listens on
//! 127.0.0.1:0 (optionally behind TLS), answers every request through a
//! handler, records the requests, and stops (listener and connections)
//! when dropped. It can also misbehave on purpose: stall, or close the
//! connection before the declared body length.

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
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
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
