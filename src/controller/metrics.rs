//! Prometheus metrics of the controller process, in their own registry and
//! rendered in the text exposition format for `/metrics`.

use std::time::Instant;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Why the metrics could not be registered or rendered.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The prometheus crate refused a definition or failed to encode.
    #[error("metrics: {0}")]
    Prometheus(#[from] prometheus::Error),
    /// The encoded text was not UTF-8.
    #[error("metrics output is not UTF-8: {0}")]
    Utf8(#[from] std::string::FromUtf8Error),
}

/// Outcome label of one reconciliation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The reconciler returned Ok.
    Success,
    /// The reconciler returned an error.
    Error,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Error => "error",
        }
    }
}

/// All metrics rudder exports.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    reconciles: IntCounterVec,
    causes: IntCounterVec,
    errors: IntCounterVec,
    duration: HistogramVec,
    leader: IntGauge,
    index_parses: IntCounterVec,
    releases: IntGaugeVec,
    release_status: Arc<Mutex<HashMap<String, String>>>,
    objects_applied: IntCounter,
    render: Histogram,
    api_writes: IntCounter,
    api_requests: IntCounterVec,
    api_requests_by_resource: IntCounterVec,
    api_throttled: IntCounter,
    chart_loads: IntCounter,
    template_parses: IntCounter,
    drift_detected: IntCounter,
    drift_corrected: IntCounter,
    drift_correction: Histogram,
}

impl Metrics {
    /// Creates and registers the metrics.
    pub fn new() -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let reconciles = IntCounterVec::new(
            Opts::new(
                "rudder_reconcile_total",
                "Reconciliations finished, by kind and result (success|error).",
            ),
            &["kind", "result"],
        )?;
        let causes = IntCounterVec::new(
            Opts::new(
                "rudder_reconcile_causes_total",
                "HelmRelease reconciliations started, by why: change (a new or changed spec, a requested-at/reset-at annotation, a deletion) or repeat (the interval, a retry, a re-queue).",
            ),
            &["kind", "cause"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "rudder_reconcile_errors_total",
                "Reconciliations that failed, by kind.",
            ),
            &["kind"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "rudder_reconcile_duration_seconds",
                "Time spent in one reconciliation, by kind.",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
            ]),
            &["kind"],
        )?;
        let leader = IntGauge::new(
            "rudder_leader",
            "1 while this process holds the leader-election lease, else 0.",
        )?;
        registry.register(Box::new(reconciles.clone()))?;
        registry.register(Box::new(causes.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        let index_parses = IntCounterVec::new(
            Opts::new(
                "rudder_index_parses_total",
                "Repository index bodies parsed (an unchanged index is not), by HelmRepository namespace/name.",
            ),
            &["repository"],
        )?;
        registry.register(Box::new(leader.clone()))?;
        registry.register(Box::new(index_parses.clone()))?;
        let releases = IntGaugeVec::new(
            Opts::new(
                "rudder_releases",
                "HelmReleases by the Helm status of their live revision (none: nothing deployed).",
            ),
            &["status"],
        )?;
        let objects_applied = IntCounter::new(
            "rudder_objects_applied_total",
            "Objects server-side applied by installs, upgrades and rollbacks.",
        )?;
        let render = Histogram::with_opts(
            HistogramOpts::new(
                "rudder_render_duration_seconds",
                "Time spent loading and rendering a chart.",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
        )?;
        let api_writes = IntCounter::new(
            "rudder_api_writes_total",
            "Write requests (POST, PUT, PATCH, DELETE; dry runs excepted) the controllers sent to the API server, counted per call by the client (leader election's Lease excepted).",
        )?;
        let api_requests = IntCounterVec::new(
            Opts::new(
                "rudder_api_requests_total",
                "Requests the controllers sent to the API server, by HTTP method (leader election's Lease excepted).",
            ),
            &["method"],
        )?;
        let api_throttled = IntCounter::new(
            "rudder_api_throttled_total",
            "API answers asking rudder to slow down (429, 503, 504); each pauses new reconciliations.",
        )?;
        let api_requests_by_resource = IntCounterVec::new(
            Opts::new(
                "rudder_api_requests_by_resource_total",
                "Requests the controllers sent to the API server, by Kubernetes verb (get, list, watch, create, update, patch, delete) and resource (`discovery` for non-resource paths).",
            ),
            &["verb", "resource"],
        )?;
        registry.register(Box::new(api_requests.clone()))?;
        registry.register(Box::new(api_requests_by_resource.clone()))?;
        registry.register(Box::new(api_throttled.clone()))?;
        registry.register(Box::new(releases.clone()))?;
        registry.register(Box::new(objects_applied.clone()))?;
        registry.register(Box::new(render.clone()))?;
        let chart_loads = IntCounter::new(
            "rudder_chart_loads_total",
            "Charts loaded from their archives by the render threads (renders of a chart already loaded do not count).",
        )?;
        registry.register(Box::new(api_writes.clone()))?;
        registry.register(Box::new(chart_loads.clone()))?;
        let template_parses = IntCounter::new(
            "rudder_template_parses_total",
            "Template files parsed by the render threads (files of a chart already parsed on that thread do not count).",
        )?;
        registry.register(Box::new(template_parses.clone()))?;
        let drift_detected = IntCounter::new(
            "rudder_drift_detected_total",
            "Objects found changed or deleted against the deployed revision (each detection counts once).",
        )?;
        let drift_corrected = IntCounter::new(
            "rudder_drift_corrected_total",
            "Drifted objects re-applied as the deployed revision recorded them.",
        )?;
        let drift_correction = Histogram::with_opts(
            HistogramOpts::new(
                "rudder_drift_correction_seconds",
                "Time from seeing a drifted object change to its correction.",
            )
            .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0]),
        )?;
        registry.register(Box::new(drift_detected.clone()))?;
        registry.register(Box::new(drift_corrected.clone()))?;
        registry.register(Box::new(drift_correction.clone()))?;
        Ok(Self {
            registry,
            reconciles,
            causes,
            errors,
            duration,
            leader,
            index_parses,
            releases,
            release_status: Arc::default(),
            objects_applied,
            render,
            api_writes,
            api_requests,
            api_requests_by_resource,
            api_throttled,
            chart_loads,
            template_parses,
            drift_detected,
            drift_corrected,
            drift_correction,
        })
    }

    /// The counter of template files parsed.
    pub fn template_parses(&self) -> IntCounter {
        self.template_parses.clone()
    }

    /// The counter of charts loaded from their archives.
    pub fn chart_loads(&self) -> IntCounter {
        self.chart_loads.clone()
    }

    /// Initialises the series of `kind` to zero so they show up before the
    /// first reconciliation.
    pub fn register_kind(&self, kind: &str) {
        for outcome in [Outcome::Success, Outcome::Error] {
            self.reconciles.with_label_values(&[kind, outcome.label()]);
        }
        self.errors.with_label_values(&[kind]);
        self.duration.with_label_values(&[kind]);
    }

    /// Records one finished reconciliation of `kind` that started at `start`.
    pub fn observe(&self, kind: &str, start: Instant, outcome: Outcome) {
        self.duration
            .with_label_values(&[kind])
            .observe(start.elapsed().as_secs_f64());
        self.reconciles
            .with_label_values(&[kind, outcome.label()])
            .inc();
        if outcome == Outcome::Error {
            self.errors.with_label_values(&[kind]).inc();
        }
    }

    /// Counts a reconciliation of `kind` started for `cause`.
    pub fn reconcile_started(&self, kind: &str, cause: &str) {
        self.causes.with_label_values(&[kind, cause]).inc();
    }

    /// Counts `n` index parses of `repository` (`namespace/name`).
    pub fn index_parsed(&self, repository: &str, n: u64) {
        self.index_parses.with_label_values(&[repository]).inc_by(n);
    }

    /// Sets the leader gauge.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Records the live status of release `key` (namespace/name): moves
    /// it from its previous status's gauge to `status`'s.
    pub fn set_release_status(&self, key: &str, status: &str) {
        let Ok(mut m) = self.release_status.lock() else {
            return;
        };
        let previous = m.insert(key.to_string(), status.to_string());
        if previous.as_deref() == Some(status) {
            return;
        }
        if let Some(p) = previous {
            self.releases.with_label_values(&[p.as_str()]).dec();
        }
        self.releases.with_label_values(&[status]).inc();
    }

    /// Forgets release `key` (uninstalled).
    pub fn forget_release(&self, key: &str) {
        let Ok(mut m) = self.release_status.lock() else {
            return;
        };
        if let Some(p) = m.remove(key) {
            self.releases.with_label_values(&[p.as_str()]).dec();
        }
    }

    /// Adds applied objects.
    pub fn add_objects_applied(&self, n: u64) {
        self.objects_applied.inc_by(n);
    }

    /// Records one render that started at `start`.
    pub fn observe_render(&self, start: Instant) {
        self.render.observe(start.elapsed().as_secs_f64());
    }

    /// The counters the API client layer increments.
    pub fn api_counters(&self) -> crate::controller::api_client::ApiCounters {
        crate::controller::api_client::ApiCounters {
            writes: self.api_writes.clone(),
            requests: self.api_requests.clone(),
            by_resource: self.api_requests_by_resource.clone(),
            throttled: self.api_throttled.clone(),
        }
    }

    /// Counts one drifted object found.
    pub fn drift_detected(&self) {
        self.drift_detected.inc();
    }

    /// Counts one drifted object corrected `after` its change was seen.
    pub fn drift_corrected(&self, after: std::time::Duration) {
        self.drift_corrected.inc();
        self.drift_correction.observe(after.as_secs_f64());
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> Result<String, MetricsError> {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf)?;
        Ok(String::from_utf8(buf)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_errors_per_kind() {
        let m = Metrics::new().expect("metrics");
        m.register_kind("HelmRelease");
        m.observe("HelmRelease", Instant::now(), Outcome::Success);
        m.observe("HelmRelease", Instant::now(), Outcome::Error);
        m.set_leader(true);
        let text = m.render().expect("render");
        assert!(
            text.contains(r#"rudder_reconcile_total{kind="HelmRelease",result="success"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"rudder_reconcile_total{kind="HelmRelease",result="error"} 1"#));
        assert!(text.contains(r#"rudder_reconcile_errors_total{kind="HelmRelease"} 1"#));
        assert!(text.contains(r#"rudder_reconcile_duration_seconds_count{kind="HelmRelease"} 2"#));
        assert!(text.contains("rudder_leader 1"));
    }

    #[test]
    fn release_gauges_move_with_each_status_change() {
        let m = Metrics::new().expect("metrics");
        m.set_release_status("a/x", "deployed");
        m.set_release_status("a/y", "deployed");
        m.set_release_status("a/y", "deployed");
        m.set_release_status("a/x", "failed");
        m.set_release_status("a/z", "pending-upgrade");
        m.forget_release("a/z");
        m.forget_release("a/unknown");
        let text = m.render().expect("render");
        assert!(
            text.contains(r#"rudder_releases{status="deployed"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"rudder_releases{status="failed"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"rudder_releases{status="pending-upgrade"} 0"#),
            "{text}"
        );
    }
}
