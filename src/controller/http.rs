//! The process's small HTTP server: `/healthz` (liveness), `/readyz`
//! (readiness) and `/metrics` (Prometheus), HTTP/1.1 over hyper.
//!
//! Readiness: a replica is ready when it is a *standby* (it reached the API
//! server and found the lease held by someone else) or when it *leads and the
//! caches of both controllers have synced*. It is not ready while starting,
//! while leading with caches still filling, or while shutting down. So a
//! rolling update keeps the new replica out of service only until it talked to
//! the API server once, and a Service never routes to a process that cannot
//! answer.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::metrics::Metrics;

/// Where the process is in its life, for `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Before the first election attempt finished.
    Starting = 0,
    /// Another replica holds the lease; this one waits.
    Standby = 1,
    /// Leading; controller caches not synced yet.
    Syncing = 2,
    /// Leading with synced caches.
    Leading = 3,
    /// Shutting down.
    Stopping = 4,
}

impl Phase {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Phase::Standby,
            2 => Phase::Syncing,
            3 => Phase::Leading,
            4 => Phase::Stopping,
            _ => Phase::Starting,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Standby => "standby",
            Phase::Syncing => "syncing",
            Phase::Leading => "leading",
            Phase::Stopping => "stopping",
        }
    }

    /// Whether `/readyz` answers 200 in this phase.
    pub fn is_ready(self) -> bool {
        matches!(self, Phase::Standby | Phase::Leading)
    }
}

/// State shared between the controller loop and the HTTP handlers.
pub struct Health {
    phase: AtomicU8,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            phase: AtomicU8::new(Phase::Starting as u8),
        }
    }
}

impl Health {
    /// Sets the current phase.
    pub fn set(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::SeqCst);
    }

    /// The current phase.
    pub fn get(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::SeqCst))
    }
}

/// What the handlers read.
pub struct HttpState {
    /// Process phase.
    pub health: Arc<Health>,
    /// Metrics to render.
    pub metrics: Metrics,
}

/// Binds `addr`; separate from [`serve`] so a bad address fails at start.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves connections from `listener` until `shutdown` fires.
pub async fn serve(listener: TcpListener, state: Arc<HttpState>, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, _) = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "accepting an HTTP connection failed");
                continue;
            }
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(route(&req, &state)) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "HTTP connection ended with an error");
            }
        });
    }
}

fn route(req: &Request<Incoming>, state: &HttpState) -> Response<Full<Bytes>> {
    match req.uri().path() {
        "/healthz" | "/livez" => text(StatusCode::OK, "ok\n".to_string()),
        "/readyz" => readyz(state.health.get()),
        "/metrics" => match state.metrics.render() {
            Ok(body) => text(StatusCode::OK, body),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
        },
        _ => text(StatusCode::NOT_FOUND, "not found\n".to_string()),
    }
}

fn readyz(phase: Phase) -> Response<Full<Bytes>> {
    let status = if phase.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    text(status, format!("{}\n", phase.name()))
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// The address actually bound (useful with port 0).
pub fn local_addr(listener: &TcpListener) -> Option<SocketAddr> {
    listener.local_addr().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_as_standby_or_synced_leader() {
        assert!(!Phase::Starting.is_ready());
        assert!(Phase::Standby.is_ready());
        assert!(!Phase::Syncing.is_ready());
        assert!(Phase::Leading.is_ready());
        assert!(!Phase::Stopping.is_ready());
    }

    #[test]
    fn phase_round_trips_through_the_atomic() {
        let h = Health::default();
        for p in [
            Phase::Standby,
            Phase::Syncing,
            Phase::Leading,
            Phase::Stopping,
        ] {
            h.set(p);
            assert_eq!(h.get(), p);
        }
    }
}
