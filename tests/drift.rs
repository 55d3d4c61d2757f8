//! Drift detection and correction on the test control plane with simulated
//! nodes: with `enabled`, another manager's image edit, a deleted Service
//! and a ConfigMap data edit are undone within seconds (median and max
//! printed, five of each: a sixth within a minute would be a fight) without a new revision (real `helm history` unchanged); with
//! the default (`warn`) an edit is reported by the `Drifted` condition and
//! a `DriftDetected` event and left alone; labels, annotations and an
//! ignored `kubectl scale` by others are no drift, and an idle release
//! makes no API writes; two managers fighting over a field are reported
//! after a bounded number of corrections.

mod drift_support;
mod e2e;
mod hr;
mod repo_server;

use std::time::{Duration, Instant};

use drift_support::{image, metric, metrics, patch_as, summary, time_until};
use e2e::{Rudder, TestNamespace, eventually, helm_history};
use hr::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Client, ResourceExt};
use rudder::api::{ConditionStatus, HelmRelease};
use serde_json::{Value as Json, json};

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: {{ .Release.Name }}-web
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}-web
    spec:
      containers:
      - name: web
        image: nginx
"#;

const SERVICE: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-web
spec:
  selector:
    app: {{ .Release.Name }}-web
  ports:
  - port: 80
"#;

/// Serves chart `drifty` 0.1.0 (Deployment, Service, ConfigMap) from a
/// loopback repository that HelmRepository `charts` in `ns` points at.
async fn serve_chart(client: &Client, ns: &str) -> (tempfile::TempDir, repo_server::Site) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let site = serve(repository_files(&[write_chart(
        tmp.path(),
        "drifty",
        "0.1.0",
        &[
            ("values.yaml", "v: one\n"),
            ("templates/cm.yaml", CM_TEMPLATE),
            ("templates/deployment.yaml", DEPLOYMENT),
            ("templates/service.yaml", SERVICE),
        ],
    )]))
    .await;
    create_repository(client, ns, "charts", &site.base()).await;
    (tmp, site)
}

/// A namespace with the chart served, HelmRelease `app` made with `spec`,
/// rudder running, and revision 1 Ready.
struct Setup {
    client: Client,
    ns: TestNamespace,
    api: Api<HelmRelease>,
    rudder: Rudder,
    _chart: (tempfile::TempDir, repo_server::Site),
}

async fn setup(prefix: &str, spec: Json) -> Setup {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, prefix).await;
    let chart = serve_chart(&client, &ns.name).await;
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), &ns.name);
    api.create(
        &PostParams::default(),
        &release("app", "charts", "drifty", "0.1.0", spec),
    )
    .await
    .expect("create HelmRelease");
    let rudder = Rudder::start(&ns.name, prefix, &[]);
    wait_revision(&api, "app", 1).await;
    Setup {
        client,
        ns,
        api,
        rudder,
        _chart: chart,
    }
}

/// The `Drifted` condition of `app`: (status, reason, message).
async fn drifted(api: &Api<HelmRelease>) -> Option<(ConditionStatus, String, String)> {
    let obj = api.get("app").await.ok()?;
    obj.status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Drifted")
        .map(|c| (c.status, c.reason, c.message))
}

fn data_v(cm: &ConfigMap) -> Option<String> {
    cm.data.as_ref()?.get("v").cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enabled_mode_undoes_edits_and_deletions_without_a_new_revision() {
    let s = setup("drift-fix", json!({"driftDetection": {"mode": "enabled"}})).await;
    let n = s.ns.name.as_str();
    let history = helm_history(n, "app");
    let deployments: Api<Deployment> = Api::namespaced(s.client.clone(), n);
    let services: Api<Service> = Api::namespaced(s.client.clone(), n);
    let cms: Api<ConfigMap> = Api::namespaced(s.client.clone(), n);
    let (mut image_times, mut service_times, mut data_times) = (vec![], vec![], vec![]);
    // Five edits of each object: a sixth within a minute would be a fight.
    for i in 0..5 {
        let evil = format!("evil:{i}");
        patch_as(
            &deployments,
            "app-web",
            "kubectl-set",
            json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": evil}]}}}}),
        )
        .await;
        image_times.push(
            time_until("image", || async {
                let d = deployments.get("app-web").await.ok();
                d.and_then(|d| image(&d)).as_deref() == Some("nginx")
            })
            .await,
        );
        let uid = services.get("app-web").await.expect("service").uid();
        services
            .delete("app-web", &DeleteParams::default())
            .await
            .expect("delete service");
        service_times.push(
            time_until("service", || async {
                let svc = services.get_opt("app-web").await.ok().flatten();
                svc.is_some_and(|s| s.uid() != uid && s.metadata.deletion_timestamp.is_none())
            })
            .await,
        );
        patch_as(
            &cms,
            "app-cm",
            "editor",
            json!({"data": {"v": format!("tampered-{i}")}}),
        )
        .await;
        data_times.push(
            time_until("configmap", || async {
                let cm = cms.get("app-cm").await.ok();
                cm.and_then(|c| data_v(&c)).as_deref() == Some("one")
            })
            .await,
        );
    }
    let mut all: Vec<Duration> = [&image_times, &service_times, &data_times]
        .into_iter()
        .flatten()
        .copied()
        .collect();
    println!("all edits undone: {}", summary(&mut all));
    println!("image edit undone: {}", summary(&mut image_times));
    println!(
        "deleted Service re-created: {}",
        summary(&mut service_times)
    );
    println!("ConfigMap edit undone: {}", summary(&mut data_times));
    let body = metrics(&s.rudder);
    assert!(
        metric(&body, "rudder_drift_corrected_total") >= 15.0,
        "{body}"
    );
    assert!(metric(&body, "rudder_drift_detected_total") >= 15.0);
    // Every correction is timed, from the change seen to the re-apply.
    assert_eq!(
        metric(&body, "rudder_drift_correction_seconds_count"),
        metric(&body, "rudder_drift_corrected_total"),
        "{body}"
    );
    let st = s.api.get("app").await.expect("get").status.expect("status");
    assert_eq!(st.revision, Some(1));
    assert_eq!(
        helm_history(n, "app"),
        history,
        "drift correction made a revision"
    );
    let note = e2e::events(&s.client, n, "app", "DriftCorrected")
        .await
        .into_iter()
        .find_map(|e| e.note)
        .expect("a DriftCorrected event");
    assert!(
        note.contains(&format!("in {n}")) || note.contains(n),
        "{note}"
    );
    // Corrections never made Drifted True (each one was done at once).
    assert!(
        drifted(&s.api)
            .await
            .is_none_or(|(st, ..)| st == ConditionStatus::False)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warn_mode_is_the_default_and_only_reports() {
    let s = setup("drift-warn", json!({})).await;
    let n = s.ns.name.as_str();
    let cms: Api<ConfigMap> = Api::namespaced(s.client.clone(), n);
    patch_as(&cms, "app-cm", "editor", json!({"data": {"v": "tampered"}})).await;
    let message = eventually("Drifted=True", Duration::from_secs(30), || async {
        drifted(&s.api)
            .await
            .filter(|(st, reason, _)| *st == ConditionStatus::True && reason == "DriftDetected")
            .map(|(_, _, m)| m)
    })
    .await;
    assert!(
        message.contains(&format!("ConfigMap {n}/app-cm: /data/v")),
        "{message}"
    );
    assert!(message.contains("editor"), "{message}");
    let note = e2e::wait_warning(&s.client, n, "app", "DriftDetected").await;
    assert!(note.contains("/data/v"), "{note}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cm = cms.get("app-cm").await.expect("cm");
    assert_eq!(
        data_v(&cm).as_deref(),
        Some("tampered"),
        "warn mode re-applied"
    );
    assert_eq!(
        metric(&metrics(&s.rudder), "rudder_drift_corrected_total"),
        0.0
    );
    // Put back by hand: the condition goes back to False.
    patch_as(&cms, "app-cm", "editor", json!({"data": {"v": "one"}})).await;
    eventually("Drifted=False", Duration::from_secs(30), || async {
        drifted(&s.api)
            .await
            .filter(|(st, reason, _)| *st == ConditionStatus::False && reason == "NoDrift")
    })
    .await;
    // Drifted again, then detection disabled: the condition says so
    // instead of staying True.
    patch_as(&cms, "app-cm", "editor", json!({"data": {"v": "again"}})).await;
    eventually("Drifted=True again", Duration::from_secs(30), || async {
        drifted(&s.api)
            .await
            .filter(|(st, ..)| *st == ConditionStatus::True)
    })
    .await;
    hr::patch_spec(
        &s.api,
        "app",
        json!({"driftDetection": {"mode": "disabled"}}),
    )
    .await;
    eventually(
        "Drifted=False once disabled",
        Duration::from_secs(30),
        || async {
            drifted(&s.api).await.filter(|(st, reason, _)| {
                *st == ConditionStatus::False && reason == "DriftDetectionDisabled"
            })
        },
    )
    .await;
    // No release of this process is watched any more: its watches stop.
    eventually(
        "the drift watches stop",
        Duration::from_secs(30),
        || async {
            s.rudder
                .logs()
                .contains("drift watch stopped")
                .then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_managers_fields_and_ignored_paths_are_no_drift_and_idle_writes_nothing() {
    let spec = json!({"driftDetection": {"mode": "enabled", "ignore": [
        {"paths": ["/spec/replicas"], "target": {"kind": "Deployment"}}
    ]}});
    let s = setup("drift-quiet", spec).await;
    let n = s.ns.name.as_str();
    let cms: Api<ConfigMap> = Api::namespaced(s.client.clone(), n);
    let services: Api<Service> = Api::namespaced(s.client.clone(), n);
    let deployments: Api<Deployment> = Api::namespaced(s.client.clone(), n);
    patch_as(
        &cms,
        "app-cm",
        "labeller",
        json!({"metadata": {"labels": {"team": "blue"}}}),
    )
    .await;
    patch_as(
        &services,
        "app-web",
        "annotator",
        json!({"metadata": {"annotations": {"example.com/owner": "ops"}}}),
    )
    .await;
    e2e::tool(
        "kubectl",
        &["scale", "deployment/app-web", "--replicas=3", "-n", n],
        None,
    );
    // The checks those edits trigger run; then the release is idle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = metrics(&s.rudder);
    tokio::time::sleep(Duration::from_secs(20)).await;
    let after = metrics(&s.rudder);
    assert_eq!(
        metric(&after, "rudder_api_writes_total"),
        metric(&before, "rudder_api_writes_total"),
        "an idle release made API writes"
    );
    assert_eq!(metric(&after, "rudder_drift_detected_total"), 0.0);
    assert_eq!(metric(&after, "rudder_drift_corrected_total"), 0.0);
    assert!(
        drifted(&s.api).await.is_none(),
        "a Drifted condition appeared"
    );
    let cm = cms.get("app-cm").await.expect("cm");
    assert_eq!(cm.labels().get("team").map(String::as_str), Some("blue"));
    let svc = services.get("app-web").await.expect("svc");
    assert_eq!(
        svc.annotations()
            .get("example.com/owner")
            .map(String::as_str),
        Some("ops")
    );
    let d = deployments.get("app-web").await.expect("deployment");
    assert_eq!(d.spec.and_then(|s| s.replicas), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fight_with_another_manager_is_reported_with_bounded_corrections() {
    let s = setup(
        "drift-fight",
        json!({"driftDetection": {"mode": "enabled"}}),
    )
    .await;
    let n = s.ns.name.clone();
    let cms: Api<ConfigMap> = Api::namespaced(s.client.clone(), &n);
    let fighter = {
        let cms = cms.clone();
        tokio::spawn(async move {
            let mut edits = 0;
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                let cm = cms.get("app-cm").await.ok();
                if cm.and_then(|c| data_v(&c)).as_deref() != Some("theirs") {
                    patch_as(&cms, "app-cm", "fighter", json!({"data": {"v": "theirs"}})).await;
                    edits += 1;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            edits
        })
    };
    let message = eventually("Drifted DriftFight", Duration::from_secs(30), || async {
        drifted(&s.api)
            .await
            .filter(|(st, reason, _)| *st == ConditionStatus::True && reason == "DriftFight")
            .map(|(_, _, m)| m)
    })
    .await;
    assert!(
        message.contains(&format!("ConfigMap {n}/app-cm")),
        "{message}"
    );
    assert!(message.contains("fighter"), "{message}");
    let note = e2e::wait_warning(&s.client, &n, "app", "DriftFight").await;
    assert!(note.contains("/data/v"), "{note}");
    let edits = fighter.await.expect("fighter");
    let corrected = metric(&metrics(&s.rudder), "rudder_drift_corrected_total");
    println!("fighter edits: {edits}, corrections: {corrected}");
    assert!((1.0..=5.0).contains(&corrected), "corrections: {corrected}");
    // While the fight holds, the other manager's value stands.
    let cm = cms.get("app-cm").await.expect("cm");
    assert_eq!(data_v(&cm).as_deref(), Some("theirs"));
}
