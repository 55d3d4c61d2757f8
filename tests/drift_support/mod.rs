//! What the drift tests share: patching as another field manager, reading
//! rudder's metrics, timing a correction and summarising the times.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use serde_json::Value as Json;

use crate::e2e::{self, Rudder};

/// Patches `obj` as field manager `manager` (a strategic merge patch).
pub async fn patch_as<K>(api: &Api<K>, name: &str, manager: &str, patch: Json)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let params = PatchParams {
        field_manager: Some(manager.into()),
        ..Default::default()
    };
    api.patch(name, &params, &Patch::Strategic(patch))
        .await
        .expect("patch");
}

/// The value of metric `series` (name and labels) in `body`; -1 if absent.
pub fn metric(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(-1.0)
}

/// The `rudder_api_requests_by_resource_total` series whose count
/// differs between two `/metrics` pages, with both counts: which requests
/// rudder made in between (for the message of a failed idle check).
pub fn requests_between(before: &str, after: &str) -> Vec<String> {
    const NAME: &str = "rudder_api_requests_by_resource_total";
    let series = |body: &str| -> Vec<(String, f64)> {
        body.lines()
            .filter(|l| l.starts_with(NAME))
            .filter_map(|l| {
                let (k, v) = l.rsplit_once(' ')?;
                Some((k.to_string(), v.parse().ok()?))
            })
            .collect()
    };
    let old = series(before);
    series(after)
        .into_iter()
        .filter_map(|(k, v)| {
            let was = old.iter().find(|(o, _)| *o == k).map_or(0.0, |(_, n)| *n);
            (v != was).then(|| format!("{k}: {was} -> {v}"))
        })
        .collect()
}

/// Rudder's `/metrics` page.
pub fn metrics(rudder: &Rudder) -> String {
    e2e::http_get(rudder.addr, "/metrics").expect("metrics").1
}

/// Waits (polling every 20 ms, 30 s at most) until `done`; returns how long it took.
pub async fn time_until<F, Fut>(what: &str, mut done: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !done().await {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not corrected within 30 s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

/// Median and max of `times`.
pub fn summary(times: &mut [Duration]) -> String {
    times.sort();
    format!(
        "median {:?} max {:?} over {}",
        times[times.len() / 2],
        times[times.len() - 1],
        times.len()
    )
}

/// The image of the first container of `d`.
pub fn image(d: &k8s_openapi::api::apps::v1::Deployment) -> Option<String> {
    d.spec
        .as_ref()?
        .template
        .spec
        .as_ref()?
        .containers
        .first()?
        .image
        .clone()
}
