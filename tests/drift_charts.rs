//! Drift detection on real charts, on the test control plane with
//! simulated nodes.
//!
//! - podinfo with drift `enabled`: twenty `kubectl set image` edits of its
//!   Deployment and twenty `kubectl delete` of its Service are each undone
//!   (median and max printed), the release stays at revision 1 and real
//!   `helm history` is unchanged.
//! - No false drift: every chart of the wide loopback repository installed
//!   with drift `enabled`, one Deployment scaled by its chart's own
//!   HorizontalPodAutoscaler, labels and annotations added by other
//!   managers to several objects (one cluster-scoped): an idle period
//!   (`RUDDER_DRIFT_IDLE_SECS`, 60 s unless set) sees no drift report and
//!   no API write by rudder. An edit at the end is then corrected, which
//!   shows detection was live all along.

mod drift_support;
mod e2e;
mod hr;
mod repo_server;

use std::collections::BTreeMap;
use std::time::Duration;

use drift_support::{image, metric, metrics, patch_as, requests_between, summary, time_until};
use e2e::{Rudder, TestNamespace, eventually, helm_history};
use hr::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::api::{Api, ListParams, PostParams};
use kube::{Client, ResourceExt};
use rudder::api::{ConditionStatus, HelmRelease};
use serde_json::{Value as Json, json};

const SHARD_LABEL: &str = "rudder.dev/test-shard";

/// A HelmRelease of chart `chart` from repository `wide`, labelled for
/// `shard`.
fn labelled(name: &str, shard: &str, chart: &str, version: &str, spec: Json) -> HelmRelease {
    let mut obj = release(name, "wide", chart, version, spec);
    obj.metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(SHARD_LABEL.into(), shard.into());
    obj
}

/// The wide repository served and named `wide` in a new namespace, and a
/// rudder process (with `extra` flags) reconciling HelmReleases labelled
/// for that namespace's shard.
struct Setup {
    client: Client,
    ns: TestNamespace,
    api: Api<HelmRelease>,
    rudder: Rudder,
    _site: repo_server::Site,
}

async fn setup(prefix: &str, extra: &[&str]) -> Setup {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, prefix).await;
    let site = hr::serve(repo_server::shared_wide_index_files()).await;
    create_repository_labelled(
        &client,
        &ns.name,
        "wide",
        &site.base(),
        &json!({ SHARD_LABEL: ns.name }),
    )
    .await;
    let selector = format!("{SHARD_LABEL}={}", ns.name);
    // Eight charts install at once: a lease that survives a busy machine.
    let mut args = vec![
        "--watch-label-selector",
        selector.as_str(),
        "--lease-duration",
        "60s",
        "--renew-deadline",
        "40s",
        "--retry-period",
        "2s",
    ];
    args.extend_from_slice(extra);
    let rudder = Rudder::start_with(e2e::kubeconfig(), &ns.name, prefix, &args);
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), &ns.name);
    Setup {
        client,
        ns,
        api,
        rudder,
        _site: site,
    }
}

/// Whether HelmRelease `name` is Ready at revision 1 for its generation.
async fn ready(api: &Api<HelmRelease>, name: &str) -> bool {
    let Ok(obj) = api.get(name).await else {
        return false;
    };
    obj.status.as_ref().is_some_and(|st| {
        st.revision == Some(1)
            && st.observed_generation == obj.metadata.generation
            && st
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == ConditionStatus::True)
    })
}

/// Runs kubectl on the test control plane.
fn kubectl(args: &[&str]) -> String {
    e2e::tool("kubectl", args, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podinfo_image_edits_and_service_deletions_are_undone_without_a_new_revision() {
    // Forty corrections within a couple of minutes: not a fight here.
    let s = setup("drift-podinfo", &["--drift-fight-limit", "100"]).await;
    let n = s.ns.name.as_str();
    s.api
        .create(
            &PostParams::default(),
            &labelled(
                "podinfo",
                n,
                "podinfo",
                "6.14.2",
                json!({"driftDetection": {"mode": "enabled"}}),
            ),
        )
        .await
        .expect("create HelmRelease");
    eventually("podinfo Ready", Duration::from_secs(120), || async {
        ready(&s.api, "podinfo").await.then_some(())
    })
    .await;
    let history = helm_history(n, "podinfo");
    let deployments: Api<Deployment> = Api::namespaced(s.client.clone(), n);
    let services: Api<Service> = Api::namespaced(s.client.clone(), n);
    let original =
        image(&deployments.get("podinfo").await.expect("deployment")).expect("podinfo's image");
    let (mut image_times, mut service_times) = (vec![], vec![]);
    for i in 0..20 {
        kubectl(&[
            "set",
            "image",
            "deployment/podinfo",
            &format!("podinfo=example.com/evil:{i}"),
            "-n",
            n,
        ]);
        image_times.push(
            time_until("image", || async {
                let d = deployments.get("podinfo").await.ok();
                d.and_then(|d| image(&d)).as_ref() == Some(&original)
            })
            .await,
        );
        let uid = services.get("podinfo").await.expect("service").uid();
        kubectl(&["delete", "service", "podinfo", "-n", n]);
        service_times.push(
            time_until("service", || async {
                let svc = services.get_opt("podinfo").await.ok().flatten();
                svc.is_some_and(|s| s.uid() != uid && s.metadata.deletion_timestamp.is_none())
            })
            .await,
        );
    }
    println!(
        "podinfo: kubectl set image undone: {}",
        summary(&mut image_times)
    );
    println!(
        "podinfo: deleted Service re-created: {}",
        summary(&mut service_times)
    );
    let body = metrics(&s.rudder);
    assert!(
        metric(&body, "rudder_drift_corrected_total") >= 40.0,
        "{body}"
    );
    let st = s.api.get("podinfo").await.expect("get").status.expect("st");
    assert_eq!(st.revision, Some(1));
    assert_eq!(
        helm_history(n, "podinfo"),
        history,
        "drift correction made a revision"
    );
}

/// The wide repository's charts and the values that keep runs apart
/// (cluster-scoped objects named by a value) or make an HPA scale.
fn wide_charts(id: &str, ns: &str) -> Vec<(String, &'static str, &'static str, Json)> {
    vec![
        (format!("podinfo-{id}"), "podinfo", "6.14.2", json!({})),
        (
            format!("ingress-{id}"),
            "ingress-nginx",
            "4.15.1",
            json!({"controller": {
                "ingressClassResource": {"name": format!("nginx-{id}"), "controllerValue": format!("k8s.io/nginx-{id}")},
                "autoscaling": {"enabled": true, "minReplicas": 2, "maxReplicas": 3},
            }}),
        ),
        (format!("grafana-{id}"), "grafana", "12.11.1", json!({})),
        (
            format!("certs-{id}"),
            "cert-manager",
            "v1.21.1",
            json!({"global": {"leaderElection": {"namespace": ns}}}),
        ),
        (
            format!("nodes-{id}"),
            "prometheus-node-exporter",
            "4.56.1",
            json!({}),
        ),
        (
            format!("argo-{id}"),
            "argo-cd",
            "10.1.1",
            json!({"crds": {"keep": false}}),
        ),
        (format!("web-{id}"), "nginx", "22.1.2", json!({})),
        (format!("scaffold-{id}"), "scaffold", "0.2.0", json!({})),
    ]
}

/// The Deployment of release `release` whose name contains `part`.
async fn deployment_of(client: &Client, ns: &str, release: &str, part: &str) -> Deployment {
    Api::<Deployment>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .expect("deployments")
        .items
        .into_iter()
        .find(|d| {
            d.name_any().contains(part)
                && d.annotations().get("meta.helm.sh/release-name") == Some(&release.to_string())
        })
        .unwrap_or_else(|| panic!("no Deployment of {release} named *{part}*"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_real_charts_with_an_hpa_and_other_managers_show_no_false_drift() {
    let s = setup("drift-wide", &[]).await;
    let n = s.ns.name.clone();
    let id = std::process::id().to_string();
    let charts = wide_charts(&id, &n);
    for (name, chart, version, values) in &charts {
        let spec = json!({
            "driftDetection": {"mode": "enabled"},
            "timeout": "5m",
            "values": values,
        });
        s.api
            .create(
                &PostParams::default(),
                &labelled(name, &n, chart, version, spec),
            )
            .await
            .expect("create HelmRelease");
    }
    for (name, ..) in &charts {
        eventually(
            &format!("{name} Ready"),
            Duration::from_secs(300),
            || async { ready(&s.api, name).await.then_some(()) },
        )
        .await;
    }
    // ingress-nginx's own HPA raises its controller from one replica to
    // two: a field the chart leaves to the autoscaler.
    let ingress = &charts[1].0;
    eventually(
        "the HPA scaled the controller",
        Duration::from_secs(120),
        || async {
            let d = deployment_of(&s.client, &n, ingress, "controller").await;
            (d.spec.and_then(|s| s.replicas) == Some(2)).then_some(())
        },
    )
    .await;
    // Other managers label and annotate objects of several releases.
    let grafana = deployment_of(&s.client, &n, &charts[2].0, "grafana").await;
    let deployments: Api<Deployment> = Api::namespaced(s.client.clone(), &n);
    patch_as(
        &deployments,
        &grafana.name_any(),
        "annotator",
        json!({"metadata": {"annotations": {"example.com/owner": "ops"}}}),
    )
    .await;
    let services: Api<Service> = Api::namespaced(s.client.clone(), &n);
    patch_as(
        &services,
        &charts[0].0,
        "labeller",
        json!({"metadata": {"labels": {"team": "blue"}}}),
    )
    .await;
    let configmaps: Api<ConfigMap> = Api::namespaced(s.client.clone(), &n);
    let argo_cm = configmaps
        .list(&ListParams::default())
        .await
        .expect("configmaps")
        .items
        .into_iter()
        .find(|c| c.annotations().get("meta.helm.sh/release-name") == Some(&charts[5].0))
        .expect("a ConfigMap of argo-cd");
    patch_as(
        &configmaps,
        &argo_cm.name_any(),
        "labeller",
        json!({"metadata": {"labels": {"team": "blue"}}}),
    )
    .await;
    let cluster_roles: Api<ClusterRole> = Api::all(s.client.clone());
    let role = cluster_roles
        .list(&ListParams::default())
        .await
        .expect("cluster roles")
        .items
        .into_iter()
        .find(|r| r.annotations().get("meta.helm.sh/release-name") == Some(&charts[3].0))
        .expect("a ClusterRole of cert-manager");
    patch_as(
        &cluster_roles,
        &role.name_any(),
        "annotator",
        json!({"metadata": {"annotations": {"example.com/owner": "ops"}}}),
    )
    .await;
    // The checks those changes trigger run; then everything is idle.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle: u64 = std::env::var("RUDDER_DRIFT_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let before = metrics(&s.rudder);
    tokio::time::sleep(Duration::from_secs(idle)).await;
    let after = metrics(&s.rudder);
    println!(
        "idle {idle} s with {} releases: rudder API writes {} -> {}",
        charts.len(),
        metric(&before, "rudder_api_writes_total"),
        metric(&after, "rudder_api_writes_total")
    );
    let mut drifted = Vec::new();
    for (name, ..) in &charts {
        let obj = s.api.get(name).await.expect("get");
        let condition = obj
            .status
            .iter()
            .flat_map(|st| &st.conditions)
            .find(|c| c.type_ == "Drifted" && c.status == ConditionStatus::True)
            .map(|c| format!("{name}: {}", c.message));
        drifted.extend(condition);
    }
    let replicas = deployment_of(&s.client, &n, ingress, "controller")
        .await
        .spec
        .and_then(|s| s.replicas);
    // Detection was live all along: an edit is corrected.
    let podinfo = &charts[0].0;
    let original = image(&deployments.get(podinfo).await.expect("podinfo")).expect("image");
    kubectl(&[
        "set",
        "image",
        &format!("deployment/{podinfo}"),
        "podinfo=example.com/evil:1",
        "-n",
        &n,
    ]);
    time_until("podinfo's image", || async {
        let d = deployments.get(podinfo).await.ok();
        d.and_then(|d| image(&d)).as_ref() == Some(&original)
    })
    .await;
    // Uninstall first (the cluster-scoped objects go too), then judge.
    for (name, ..) in &charts {
        s.api
            .delete(name, &Default::default())
            .await
            .expect("delete HelmRelease");
    }
    for (name, ..) in &charts {
        eventually(
            &format!("{name} uninstalled"),
            Duration::from_secs(180),
            || async { s.api.get_opt(name).await.ok()?.is_none().then_some(()) },
        )
        .await;
    }
    assert_eq!(
        metric(&after, "rudder_api_writes_total"),
        metric(&before, "rudder_api_writes_total"),
        "idle releases made API writes ({:?}); log: {}",
        requests_between(&before, &after),
        s.rudder.log.display()
    );
    assert_eq!(
        metric(&after, "rudder_drift_detected_total"),
        0.0,
        "{after}"
    );
    assert!(drifted.is_empty(), "false drift: {drifted:?}");
    assert_eq!(replicas, Some(2), "the HPA's replicas stand");
}
