//! The chart's observability pack (Grafana dashboard, PrometheusRule),
//! rendered by the real helm, refers only to metrics and labels a running
//! `rudder run` exports on `/metrics`: every query's metric names (a
//! histogram's `_bucket`/`_sum`/`_count` series included) and the label
//! names it groups or filters by are found in a scrape taken after rudder
//! reconciled a HelmRepository and a HelmRelease. `namespace` is the
//! Prometheus target label the ServiceMonitor adds, and `le` the histogram
//! bucket label; neither is rudder's own.

mod e2e;
mod hr;
mod repo_server;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use e2e::{Rudder, TestNamespace, eventually, http_get};
use kube::Api;
use kube::api::PostParams;
use rudder::api::HelmRelease;
use serde_json::{Value as Json, json};

/// Labels a query may use that rudder does not export itself.
const TARGET_LABELS: [&str; 2] = ["namespace", "le"];

/// The PromQL expressions of the dashboard and the alert rules, from the
/// chart as helm renders it with both enabled.
fn chart_queries() -> Vec<String> {
    let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/rudder");
    let rendered = e2e::tool(
        "helm",
        &[
            "template",
            "rudder",
            &chart.display().to_string(),
            "-n",
            "rudder-system",
            "--set",
            "observability.dashboard.enabled=true",
            "--set",
            "observability.prometheusRule.enabled=true",
            "-s",
            "templates/grafana-dashboard.yaml",
            "-s",
            "templates/prometheusrule.yaml",
        ],
        None,
    );
    let mut queries = Vec::new();
    for doc in rendered.split("\n---\n") {
        let doc: Json = match serde_saphyr::from_str(doc) {
            Ok(v) => v,
            Err(e) => panic!("helm printed invalid YAML ({e}):\n{doc}"),
        };
        match doc["kind"].as_str() {
            Some("ConfigMap") => {
                let text = doc["data"]["rudder.json"].as_str().expect("dashboard JSON");
                let dashboard: Json = serde_json::from_str(text).expect("dashboard parses");
                collect_strings(&dashboard, &["expr", "definition"], &mut queries);
            }
            Some("PrometheusRule") => collect_strings(&doc["spec"], &["expr"], &mut queries),
            _ => {}
        }
    }
    assert!(queries.len() > 10, "too few queries found: {queries:?}");
    queries
}

/// Every string under a key in `keys`, anywhere in `v`.
fn collect_strings(v: &Json, keys: &[&str], out: &mut Vec<String>) {
    match v {
        Json::Object(m) => {
            for (k, v) in m {
                match v.as_str() {
                    Some(s) if keys.contains(&k.as_str()) => out.push(s.to_string()),
                    _ => collect_strings(v, keys, out),
                }
            }
        }
        Json::Array(a) => a.iter().for_each(|v| collect_strings(v, keys, out)),
        _ => {}
    }
}

/// Metric names (`rudder_…`) a query reads.
fn metric_names(query: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"\brudder_[a-z0-9_]+").expect("regex");
    re.find_iter(query)
        .map(|m| m.as_str().to_string())
        .collect()
}

/// Label names a query groups by (`by (…)`, `label_values(m, l)`) or
/// matches on (`{l="…"}`).
fn label_names(query: &str) -> BTreeSet<String> {
    let by = regex::Regex::new(r"\bby\s*\(([^)]*)\)").expect("regex");
    let matcher =
        regex::Regex::new(r#"([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*""#).expect("regex");
    let label_values = regex::Regex::new(r"label_values\([^,]+,\s*([a-zA-Z_]+)\)").expect("regex");
    let mut out = BTreeSet::new();
    for c in by.captures_iter(query) {
        out.extend(c[1].split(',').map(|l| l.trim().to_string()));
    }
    for c in matcher.captures_iter(query) {
        out.insert(c[1].to_string());
    }
    for c in label_values.captures_iter(query) {
        out.insert(c[1].to_string());
    }
    out.retain(|l| !l.is_empty());
    out
}

/// Series names of a scrape, each with the label names its samples carry.
fn exported(scrape: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in scrape.lines().filter(|l| !l.starts_with('#')) {
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let labels = out.entry(line[..name_end].to_string()).or_default();
        if let Some(inner) = line[name_end..]
            .strip_prefix('{')
            .and_then(|r| r.split_once('}'))
        {
            labels.extend(
                inner
                    .0
                    .split(',')
                    .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.trim().to_string())),
            );
        }
    }
    out
}

#[tokio::test]
async fn dashboard_and_alerts_use_only_metrics_rudder_exports() {
    let queries = chart_queries();

    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "observability").await;
    let (_charts, _site) = hr::serve_app_chart(&client, &ns.name).await;
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), &ns.name);
    releases
        .create(
            &PostParams::default(),
            &hr::release("web", "charts", "app", "0.1.0", json!({})),
        )
        .await
        .expect("create HelmRelease");
    let rudder = Rudder::start(&ns.name, "metrics", &[]);
    hr::wait_revision(&releases, "web", 1).await;
    let series = eventually(
        "rudder's scrape shows the released HelmRelease",
        Duration::from_secs(30),
        || async {
            let (code, body) = http_get(rudder.addr, "/metrics")?;
            let series = exported(&body);
            (code == 200 && series.contains_key("rudder_releases")).then_some(series)
        },
    )
    .await;

    let mut unknown = Vec::new();
    for query in &queries {
        let names = metric_names(query);
        assert!(!names.is_empty(), "a query without rudder metric: {query}");
        let mut labels_seen = BTreeSet::new();
        for name in &names {
            match series.get(name) {
                Some(labels) => labels_seen.extend(labels.iter().cloned()),
                None => unknown.push(format!("metric {name} in {query}")),
            }
        }
        for label in label_names(query) {
            if !TARGET_LABELS.contains(&label.as_str()) && !labels_seen.contains(&label) {
                unknown.push(format!("label {label} in {query}"));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "the chart refers to what rudder does not export:\n{}\nexported: {:?}",
        unknown.join("\n"),
        series.keys().collect::<Vec<_>>()
    );
}
