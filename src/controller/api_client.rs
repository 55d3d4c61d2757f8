//! The API client the controllers act through: a layer in front of the kube
//! client that counts every request as it leaves (by HTTP method; writes —
//! POST, PUT, PATCH, DELETE that are not dry runs — also in
//! `rudder_api_writes_total`), and
//! notices the API server's back-pressure (429 Too Many Requests, 504
//! Gateway Timeout, 503 Service Unavailable) so reconciliations pause
//! instead of multiplying retries. Counting at the client, per call, makes
//! the write metric what the API server saw from the controllers, whatever
//! reconciliation, drift check or task made the call.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{Method, Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use prometheus::{IntCounter, IntCounterVec};

/// First pause after the API server pushed back (when it names none).
const FIRST_PAUSE: Duration = Duration::from_millis(500);
/// Longest pause.
const MAX_PAUSE: Duration = Duration::from_secs(30);
/// Quiet time after which the pause starts over from [`FIRST_PAUSE`].
const CALM_AFTER: Duration = Duration::from_secs(60);

/// Counters the layer increments.
#[derive(Clone)]
pub struct ApiCounters {
    /// Writes (POST, PUT, PATCH, DELETE).
    pub writes: IntCounter,
    /// Requests by HTTP method.
    pub requests: IntCounterVec,
    /// Answers that asked rudder to slow down (429, 503, 504).
    pub throttled: IntCounter,
}

/// The shared back-pressure state: until when reconciliations wait.
#[derive(Debug, Default)]
pub struct Pressure {
    state: Mutex<PressureState>,
}

#[derive(Debug, Default)]
struct PressureState {
    until: Option<Instant>,
    last: Option<Instant>,
    pause: Duration,
}

impl Pressure {
    /// Records a push-back answer at `now`; `asked` is the server's
    /// `Retry-After`. The pause doubles while push-backs keep coming.
    pub fn pushed_back(&self, now: Instant, asked: Option<Duration>) {
        let Ok(mut s) = self.state.lock() else { return };
        let calm = s.last.is_none_or(|l| now.duration_since(l) > CALM_AFTER);
        let next = if calm || s.pause.is_zero() {
            FIRST_PAUSE
        } else {
            (s.pause * 2).min(MAX_PAUSE)
        };
        let pause = asked.map_or(next, |a| a.clamp(FIRST_PAUSE, MAX_PAUSE).max(next));
        s.pause = pause;
        s.last = Some(now);
        let until = now + pause;
        s.until = Some(s.until.map_or(until, |u| u.max(until)));
    }

    /// How long a reconciliation starting at `now` should wait.
    pub fn wait_at(&self, now: Instant) -> Duration {
        self.state
            .lock()
            .ok()
            .and_then(|s| s.until)
            .map_or(Duration::ZERO, |u| u.saturating_duration_since(now))
    }

    /// Waits out the current pause, if any (a pause set meanwhile is waited
    /// out too).
    pub async fn settle(&self) {
        loop {
            let wait = self.wait_at(Instant::now());
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// Whether `method` writes.
pub fn is_write(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Whether a request asks for a dry run (`dryRun=All`): the API server
/// persists nothing.
pub fn is_dry_run(uri: &http::Uri) -> bool {
    uri.query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "dryRun=All"))
}

/// Whether `status` asks the client to slow down.
pub fn is_push_back(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// The `Retry-After` of an answer, in seconds (the API server's form).
fn retry_after<B>(resp: &Response<B>) -> Option<Duration> {
    let v = resp.headers().get(http::header::RETRY_AFTER)?;
    let secs: u64 = v.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

/// `inner`, with every request counted and push-backs noted in `pressure`.
pub fn counted(inner: Client, counters: ApiCounters, pressure: Arc<Pressure>) -> Client {
    let default_ns = inner.default_namespace().to_string();
    let service = tower::service_fn(move |req: Request<Body>| {
        let (inner, counters, pressure) = (inner.clone(), counters.clone(), pressure.clone());
        async move {
            counters
                .requests
                .with_label_values(&[req.method().as_str()])
                .inc();
            if is_write(req.method()) && !is_dry_run(req.uri()) {
                counters.writes.inc();
            }
            let resp = inner.send(req).await?;
            if is_push_back(resp.status()) {
                counters.throttled.inc();
                pressure.pushed_back(Instant::now(), retry_after(&resp));
            }
            Ok::<_, kube::Error>(resp)
        }
    });
    Client::new(service, default_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_backs_double_the_pause_and_calm_resets_it() {
        let p = Pressure::default();
        let t = Instant::now();
        assert_eq!(p.wait_at(t), Duration::ZERO);
        p.pushed_back(t, None);
        assert_eq!(p.wait_at(t), FIRST_PAUSE);
        p.pushed_back(t, None);
        assert_eq!(p.wait_at(t), FIRST_PAUSE * 2);
        // The server's Retry-After is honoured when longer.
        p.pushed_back(t, Some(Duration::from_secs(5)));
        assert_eq!(p.wait_at(t), Duration::from_secs(5));
        for _ in 0..20 {
            p.pushed_back(t, None);
        }
        assert_eq!(p.wait_at(t), MAX_PAUSE);
        // After a calm minute the pause starts over.
        let later = t + CALM_AFTER + Duration::from_secs(31);
        assert_eq!(p.wait_at(later), Duration::ZERO);
        p.pushed_back(later, None);
        assert_eq!(p.wait_at(later), FIRST_PAUSE);
    }

    #[test]
    fn writes_and_push_backs_are_recognised() {
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(is_write(&m), "{m}");
        }
        assert!(!is_write(&Method::GET));
        let dry: http::Uri = "/api/v1/namespaces/a/configmaps/b?dryRun=All&fieldManager=helm"
            .parse()
            .expect("uri");
        assert!(is_dry_run(&dry));
        let real: http::Uri = "/api/v1/namespaces/a/configmaps/b?fieldManager=helm"
            .parse()
            .expect("uri");
        assert!(!is_dry_run(&real));
        assert!(is_push_back(StatusCode::TOO_MANY_REQUESTS));
        assert!(is_push_back(StatusCode::GATEWAY_TIMEOUT));
        assert!(!is_push_back(StatusCode::CONFLICT));
    }
}
