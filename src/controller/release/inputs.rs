//! What a HelmRelease asks for, gathered before deciding: its
//! `dependsOn` readiness, the pulled chart, the composed values, and the
//! digests of chart, values and options compared with the live record.

use std::collections::BTreeMap;

use kube::{Api, ResourceExt};
use serde_json::{Map as JsonMap, Value as Json};

use crate::api::HelmRelease;
use crate::api::condition::{ConditionStatus, READY};
use crate::apply::postrender::PostRender;
use crate::controller::Context;
use crate::controller::ownership::Names;
use crate::controller::release_failure::Failure;
use crate::controller::release_status::Outcome;
use crate::controller::sources::{PulledChart, SOURCE_REVISION};
use crate::controller::values_from;
use crate::release::store::{CHART_DIGEST, OPTIONS_DIGEST, VALUES_DIGEST};

/// What the spec asks for, digested for comparison with the live record.
pub(super) struct Desired {
    pub pulled: PulledChart,
    pub config: JsonMap<String, Json>,
    pub annotations: BTreeMap<String, String>,
    /// `spec.postRenderers` and `spec.commonMetadata`.
    pub post_render: PostRender,
}

fn options_digest(obj: &HelmRelease, n: &Names) -> String {
    let opts = serde_json::json!({
        "targetNamespace": n.target,
        "install": obj.spec.install,
        "upgrade": obj.spec.upgrade,
    });
    // Post-rendering joins the digest only when asked for, so releases
    // without it keep the digest their records carry.
    let mut opts = opts;
    if !obj.spec.post_renderers.is_empty() {
        opts["postRenderers"] = serde_json::json!(obj.spec.post_renderers);
    }
    if let Some(common) = &obj.spec.common_metadata {
        opts["commonMetadata"] = serde_json::json!(common);
    }
    values_from::digest(
        opts.as_object()
            .cloned()
            .as_ref()
            .unwrap_or(&JsonMap::new()),
    )
}

pub(super) async fn desired(
    obj: &HelmRelease,
    ctx: &Context,
    n: &Names,
) -> Result<Desired, Failure> {
    let pulled = ctx
        .sources
        .pull_chart(&ctx.client, &n.namespace, &obj.spec.chart)
        .await
        .map_err(Failure::Pull)?;
    let chart = &obj.spec.chart;
    let files = if chart.values_files.is_empty() {
        Vec::new()
    } else {
        values_from::chart_values_files(
            &pulled.archive,
            &format!("{}-{}", pulled.name, pulled.version),
            &chart.values_files,
            chart.ignore_missing_values_files,
        )
        .map_err(Failure::Values)?
    };
    let config = values_from::compose(&ctx.client, &n.namespace, &obj.spec, &files)
        .await
        .map_err(Failure::Values)?;
    let mut annotations = BTreeMap::from([
        (CHART_DIGEST.to_string(), pulled.digests()),
        (VALUES_DIGEST.to_string(), values_from::digest(&config)),
        (OPTIONS_DIGEST.to_string(), options_digest(obj, n)),
    ]);
    if let Some(r) = &pulled.source_revision {
        annotations.insert(SOURCE_REVISION.to_string(), r.clone());
    }
    Ok(Desired {
        pulled,
        config,
        annotations,
        post_render: crate::controller::postrender::of(&obj.spec),
    })
}

/// One digest of all the inputs (chart, values, options) the record
/// annotations `annotations` digest: what failures are counted against.
pub(super) fn digest(annotations: &BTreeMap<String, String>) -> String {
    let map: JsonMap<String, Json> = annotations
        .iter()
        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
        .collect();
    values_from::digest(&map)
}

/// `spec.dependsOn`: the first HelmRelease named there that is not
/// Ready at its current generation, as a waiting outcome.
pub(super) async fn dependencies_waiting(obj: &HelmRelease, ctx: &Context) -> Option<Outcome> {
    let own_ns = obj.namespace().unwrap_or_default();
    for dep in &obj.spec.depends_on {
        let ns = dep.namespace.as_deref().unwrap_or(&own_ns);
        let api: Api<HelmRelease> = Api::namespaced(ctx.client.clone(), ns);
        let why = match api.get_opt(&dep.name).await {
            Ok(Some(d)) => dependency_problem(&d),
            Ok(None) => Some("it does not exist".to_string()),
            Err(e) => Some(format!("reading it failed: {e}")),
        };
        if let Some(why) = why {
            return Some(Outcome::Waiting {
                reason: "DependencyNotReady".into(),
                message: format!(
                    "waiting for dependency HelmRelease {ns}/{}: {why}",
                    dep.name
                ),
            });
        }
    }
    None
}

/// Why a dependency is not Ready at its current generation (`None`: it is).
fn dependency_problem(dep: &HelmRelease) -> Option<String> {
    let status = dep.status.as_ref();
    let observed = status.and_then(|s| s.observed_generation);
    if observed != dep.metadata.generation {
        return Some("its current generation is not reconciled yet".into());
    }
    let ready = status.and_then(|s| s.conditions.iter().find(|c| c.type_ == READY));
    match ready {
        Some(c) if c.status == ConditionStatus::True => None,
        Some(c) => Some(format!("not Ready ({}: {})", c.reason, c.message)),
        None => Some("not Ready yet".into()),
    }
}
