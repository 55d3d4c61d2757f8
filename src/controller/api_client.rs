//! The API client the controllers act through: a layer in front of the kube
//! client that counts every request as it leaves (by HTTP method, and by
//! Kubernetes verb and resource so each step's cost shows; writes — POST,
//! PUT, PATCH, DELETE that are not dry runs — also in
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
    /// Requests by Kubernetes verb and resource.
    pub by_resource: IntCounterVec,
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

/// The Kubernetes verb and resource of a request, as the API server's own
/// metrics name them: `get`/`list`/`watch`/`create`/`update`/`patch`/
/// `delete`/`deletecollection`, and the resource with its subresource
/// (`helmreleases/status`); paths outside `/api/v1` and `/apis/<g>/<v>`
/// (discovery, OpenAPI) are resource `discovery`.
pub fn verb_and_resource(method: &Method, uri: &http::Uri) -> (&'static str, String) {
    let segs: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let rest = match segs.as_slice() {
        ["api", _, rest @ ..] if !rest.is_empty() => rest,
        ["apis", _, _, rest @ ..] if !rest.is_empty() => rest,
        _ => return (plain_verb(method), "discovery".into()),
    };
    let rest = match rest {
        ["namespaces", _, tail @ ..] if !tail.is_empty() => tail,
        other => other,
    };
    let (resource, named, sub) = (rest[0], rest.len() > 1, rest.get(2));
    let watch = uri
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "watch=true" || kv == "watch=1"));
    let verb = match *method {
        Method::GET if watch => "watch",
        Method::GET if named => "get",
        Method::GET => "list",
        Method::DELETE if !named => "deletecollection",
        ref m => plain_verb(m),
    };
    let resource = sub.map_or_else(|| resource.to_string(), |s| format!("{resource}/{s}"));
    (verb, resource)
}

/// The verb of `method` alone.
fn plain_verb(method: &Method) -> &'static str {
    match *method {
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => "get",
    }
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
            let (verb, resource) = verb_and_resource(req.method(), req.uri());
            counters
                .by_resource
                .with_label_values(&[verb, resource.as_str()])
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
    fn requests_are_named_by_verb_and_resource() {
        let named = |m: Method, u: &str| {
            let (v, r) = verb_and_resource(&m, &u.parse().expect("uri"));
            format!("{v} {r}")
        };
        assert_eq!(
            named(
                Method::GET,
                "/api/v1/namespaces/a/secrets?labelSelector=owner%3Dhelm"
            ),
            "list secrets"
        );
        assert_eq!(
            named(Method::GET, "/api/v1/namespaces/a/secrets?watch=true"),
            "watch secrets"
        );
        assert_eq!(
            named(Method::GET, "/api/v1/namespaces/a/secrets/s"),
            "get secrets"
        );
        assert_eq!(named(Method::GET, "/api/v1/namespaces/a"), "get namespaces");
        assert_eq!(named(Method::GET, "/api/v1/namespaces"), "list namespaces");
        assert_eq!(
            named(
                Method::PATCH,
                "/apis/helm.rudder.dev/v1alpha1/namespaces/a/helmreleases/r/status"
            ),
            "patch helmreleases/status"
        );
        assert_eq!(
            named(Method::DELETE, "/apis/apps/v1/namespaces/a/deployments"),
            "deletecollection deployments"
        );
        assert_eq!(
            named(Method::POST, "/api/v1/namespaces"),
            "create namespaces"
        );
        assert_eq!(named(Method::GET, "/apis"), "get discovery");
        assert_eq!(named(Method::GET, "/apis/apps/v1"), "get discovery");
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
