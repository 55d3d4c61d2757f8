//! HelmRelease end to end: `rudder run` against the real control plane, the
//! chart repository `../shared/charts/index` served on 127.0.0.1, and the
//! real `helm` as the observer of rudder's release records.

mod e2e;
mod repo_server;

use std::time::Duration;

use e2e::{Rudder, TestNamespace, eventually, helm, helm_history as history, helm_json, http_get};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use rudder::api::HelmRelease;
use serde_json::{Value as Json, json};

/// Serves `../shared/charts/index` on 127.0.0.1 until dropped.
async fn serve_index() -> repo_server::Site {
    let site = repo_server::Site::start(None).await;
    for (name, bytes) in repo_server::shared_index_files() {
        site.put(&name, bytes);
    }
    site
}

async fn create_repository(client: &Client, ns: &str, url: &str) {
    let api: Api<rudder::api::HelmRepository> = Api::namespaced(client.clone(), ns);
    let repo = serde_json::from_value(json!({
        "apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRepository",
        "metadata": {"name": "charts"}, "spec": {"url": url, "interval": "1m"}
    }))
    .expect("repo");
    api.create(&PostParams::default(), &repo)
        .await
        .expect("create repo");
}

async fn patch_spec(api: &Api<HelmRelease>, name: &str, spec: Json) {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": spec})),
    )
    .await
    .expect("patch HelmRelease");
}

async fn wait_revision(api: &Api<HelmRelease>, name: &str, rev: i64, rudder: &Rudder) {
    eventually(
        &format!("status.revision {rev} and Ready"),
        Duration::from_secs(90),
        || async {
            let obj = api.get(name).await.ok()?;
            let st = obj.status?;
            let ready = st
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == rudder::api::ConditionStatus::True);
            (st.revision == Some(rev) && ready && st.observed_generation == obj.metadata.generation)
                .then_some(())
        },
    )
    .await;
    let _ = rudder;
}

fn metric(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(-1.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_upgrade_rollback_uninstall_with_helm_as_observer() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "rel").await;
    let n = ns.name.as_str();
    let site = serve_index().await;
    create_repository(&client, n, &site.base()).await;
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), n);
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "web-values"}, "data": {"values.yaml": "podLabels:\n  team: a\n"}
        }))
        .expect("cm"),
    )
    .await
    .expect("create cm");
    let hr = serde_json::from_value(json!({
        "apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRelease",
        "metadata": {"name": "web"},
        "spec": {
            "chart": {"name": "scaffold", "version": "0.1.0", "repositoryRef": {"name": "charts"}},
            "interval": "1m",
            "values": {"replicaCount": 2},
            "valuesFrom": [
                {"kind": "ConfigMap", "name": "web-values"},
                {"kind": "ConfigMap", "name": "absent", "optional": true}
            ]
        }
    }))
    .expect("HelmRelease");
    releases
        .create(&PostParams::default(), &hr)
        .await
        .expect("create HelmRelease");
    let rudder = Rudder::start(n, "rel", &[]);

    // Install: revision 1, objects exist, helm sees it, values composed.
    wait_revision(&releases, "web", 1, &rudder).await;
    Api::<Deployment>::namespaced(client.clone(), n)
        .get("web-scaffold")
        .await
        .expect("Deployment");
    Api::<Service>::namespaced(client.clone(), n)
        .get("web-scaffold")
        .await
        .expect("Service");
    Api::<ServiceAccount>::namespaced(client.clone(), n)
        .get("web-scaffold")
        .await
        .expect("ServiceAccount");
    let list = helm_json(&["list", "-n", n]);
    assert_eq!(
        (list[0]["revision"].as_str(), list[0]["status"].as_str()),
        (Some("1"), Some("deployed")),
        "{list}"
    );
    assert_eq!(
        helm_json(&["get", "values", "web", "-n", n]),
        json!({"replicaCount": 2, "podLabels": {"team": "a"}})
    );

    // Values change: revision 2 (HPA and a keep-annotated Ingress appear).
    patch_spec(
        &releases,
        "web",
        json!({"values": {
            "replicaCount": 2,
            "autoscaling": {"enabled": true},
            "ingress": {"enabled": true, "annotations": {"helm.sh/resource-policy": "keep"}}
        }}),
    )
    .await;
    wait_revision(&releases, "web", 2, &rudder).await;
    Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), n)
        .get("web-scaffold")
        .await
        .expect("HPA");
    Api::<Ingress>::namespaced(client.clone(), n)
        .get("web-scaffold")
        .await
        .expect("Ingress");

    // Chart 0.2.0 without HPA and Ingress: revision 3; HPA deleted, Ingress kept.
    patch_spec(
        &releases,
        "web",
        json!({"chart": {"version": "0.2.0"}, "values": {
            "replicaCount": 2, "autoscaling": {"enabled": false}, "ingress": {"enabled": false}
        }}),
    )
    .await;
    wait_revision(&releases, "web", 3, &rudder).await;
    eventually("HPA deleted", Duration::from_secs(30), || async {
        Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), n)
            .get_opt("web-scaffold")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    Api::<Ingress>::namespaced(client.clone(), n)
        .get("web-scaffold")
        .await
        .expect("kept Ingress");
    assert_eq!(helm_json(&["list", "-n", n])[0]["chart"], "scaffold-0.2.0");

    // valuesFrom ConfigMap edit: revision 4.
    cms.patch(
        "web-values",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"values.yaml": "podLabels:\n  team: b\n"}})),
    )
    .await
    .expect("edit cm");
    wait_revision(&releases, "web", 4, &rudder).await;
    assert_eq!(
        helm_json(&["get", "values", "web", "-n", n, "--revision", "4"])["podLabels"]["team"],
        "b"
    );

    // Rollback by spec.revision: 1 is live again, no revision 5; helm sees
    // revision 1 only (2..4 are parked, still stored).
    patch_spec(&releases, "web", json!({"revision": 1})).await;
    wait_revision(&releases, "web", 1, &rudder).await;
    let h = history(n, "web");
    assert_eq!(h, vec![(1, "deployed".into())]);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), n);
    let stored = secrets
        .list(&ListParams::default().labels("name=web"))
        .await
        .expect("list");
    assert_eq!(stored.items.len(), 4, "every record is kept");
    let manifest1 = helm(&["get", "manifest", "web", "-n", n, "--revision", "1"]);
    assert!(manifest1.contains("helm.sh/chart: scaffold-0.1.0"));
    let dep = Api::<Deployment>::namespaced(client.clone(), n)
        .get("web-scaffold")
        .await
        .expect("Deployment");
    let labels = dep.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels.get("helm.sh/chart").map(String::as_str),
        Some("scaffold-0.1.0")
    );
    assert_eq!(dep.spec.and_then(|s| s.replicas), Some(2));
    let obj = releases.get("web").await.expect("get");
    let pinned = obj
        .status
        .expect("status")
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.message.contains("pins revision 1"));
    assert!(pinned, "a condition says the release is pinned");

    // A revision that does not exist: clear error, nothing changes.
    patch_spec(&releases, "web", json!({"revision": 9})).await;
    eventually("RevisionNotFound", Duration::from_secs(60), || async {
        let st = releases.get("web").await.ok()?.status?;
        st.conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.reason == "RevisionNotFound")
            .then_some(())
    })
    .await;
    assert_eq!(history(n, "web"), vec![(1, "deployed".into())]);

    // Steady state: back to the pin, then reconciles make no writes.
    patch_spec(
        &releases,
        "web",
        json!({"revision": 1, "interval": "100ms"}),
    )
    .await;
    wait_revision(&releases, "web", 1, &rudder).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, body) = http_get(rudder.addr, "/metrics").expect("metrics");
    let writes = metric(&body, "rudder_api_writes_total");
    let series = "rudder_reconcile_total{kind=\"HelmRelease\",result=\"success\"}";
    let start = metric(&body, series);
    let body = eventually(
        "100 more reconciliations",
        Duration::from_secs(120),
        || async {
            let (_, body) = http_get(rudder.addr, "/metrics")?;
            (metric(&body, series) >= start + 100.0).then_some(body)
        },
    )
    .await;
    assert_eq!(
        metric(&body, "rudder_api_writes_total"),
        writes,
        "unchanged release made API writes"
    );
    println!("reconciles: {} writes: {writes}", metric(&body, series));

    // Delete: objects and records gone.
    releases
        .delete("web", &DeleteParams::default())
        .await
        .expect("delete");
    eventually("HelmRelease gone", Duration::from_secs(90), || async {
        releases.get_opt("web").await.ok()?.is_none().then_some(())
    })
    .await;
    let left = secrets
        .list(&ListParams::default().labels("name=web"))
        .await
        .expect("list");
    assert!(left.items.is_empty(), "release Secrets left");
    assert!(
        Api::<Deployment>::namespaced(client.clone(), n)
            .get_opt("web-scaffold")
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        Api::<Service>::namespaced(client.clone(), n)
            .get_opt("web-scaffold")
            .await
            .expect("get")
            .is_none()
    );
    drop(rudder);
}

fn scaffold_release(version: &str, values: Json) -> HelmRelease {
    serde_json::from_value(json!({
        "apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRelease",
        "metadata": {"name": "web"},
        "spec": {
            "chart": {"name": "scaffold", "version": version, "repositoryRef": {"name": "charts"}},
            "interval": "1m",
            "values": values,
        }
    }))
    .expect("HelmRelease")
}

async fn wait_reason(api: &Api<HelmRelease>, reason: &str) -> String {
    eventually(
        &format!("Ready=False {reason}"),
        Duration::from_secs(60),
        || async {
            let obj = api.get("web").await.ok()?;
            let st = obj.status?;
            st.conditions
                .iter()
                .find(|c| {
                    c.type_ == "Ready"
                        && c.reason == reason
                        && st.observed_generation == obj.metadata.generation
                })
                .map(|c| c.message.clone())
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_leaves_the_live_revision_untouched() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "relbad").await;
    let n = ns.name.as_str();
    let site = serve_index().await;
    create_repository(&client, n, &site.base()).await;
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    releases
        .create(
            &PostParams::default(),
            &scaffold_release("0.1.0", json!({"replicaCount": 2})),
        )
        .await
        .expect("create");
    let rudder = Rudder::start(n, "bad", &[]);
    wait_revision(&releases, "web", 1, &rudder).await;
    let manifest = helm(&["get", "manifest", "web", "-n", n]);

    // A template error.
    patch_spec(
        &releases,
        "web",
        json!({"values": {"ingress": {"enabled": true, "hosts": "not-a-list"}}}),
    )
    .await;
    let msg = wait_reason(&releases, "RenderFailed").await;
    assert!(msg.contains("range can't iterate over not-a-list"), "{msg}");
    // A chart version that does not exist.
    patch_spec(
        &releases,
        "web",
        json!({"chart": {"version": "9.9.9"}, "values": {"replicaCount": 2}}),
    )
    .await;
    let msg = wait_reason(&releases, "ChartPullFailed").await;
    assert!(msg.contains("9.9.9"), "{msg}");
    // The live revision keeps running with its record intact.
    assert_eq!(history(n, "web"), vec![(1, "deployed".to_string())]);
    assert_eq!(helm(&["get", "manifest", "web", "-n", n]), manifest);
    let st = releases
        .get("web")
        .await
        .expect("get")
        .status
        .expect("status");
    assert_eq!(st.revision, Some(1));
    Api::<Deployment>::namespaced(client.clone(), n)
        .get("web-scaffold")
        .await
        .expect("Deployment");
    drop(rudder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_installed_release_is_adopted_at_n_plus_1() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "reladopt").await;
    let n = ns.name.as_str();
    let chart = repo_server::shared_charts()
        .join("index")
        .join("scaffold-0.1.0.tgz");
    helm(&[
        "install",
        "web",
        chart.to_str().expect("path"),
        "-n",
        n,
        "--set",
        "replicaCount=1",
    ]);
    let site = serve_index().await;
    create_repository(&client, n, &site.base()).await;
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    releases
        .create(
            &PostParams::default(),
            &scaffold_release("0.1.0", json!({"replicaCount": 3})),
        )
        .await
        .expect("create");
    let rudder = Rudder::start(n, "adopt", &[]);
    wait_revision(&releases, "web", 2, &rudder).await;
    assert_eq!(
        history(n, "web"),
        vec![(1, "superseded".to_string()), (2, "deployed".to_string())]
    );
    let dep = Api::<Deployment>::namespaced(client.clone(), n)
        .get("web-scaffold")
        .await
        .expect("Deployment");
    assert_eq!(dep.spec.and_then(|s| s.replicas), Some(3));
    drop(rudder);
}

async fn lease_holder(client: &Client, ns: &str) -> Option<String> {
    let lease = Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(client.clone(), ns)
        .get_opt("rudder-leader")
        .await
        .ok()??;
    lease.spec?.holder_identity.filter(|h| !h.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_upgrades_always_converges() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "relkill").await;
    let n = ns.name.as_str();
    let site = serve_index().await;
    create_repository(&client, n, &site.base()).await;
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    releases
        .create(
            &PostParams::default(),
            &scaffold_release("0.1.0", json!({"replicaCount": 1})),
        )
        .await
        .expect("create");
    let first = Rudder::start(n, "kill-0", &[]);
    wait_revision(&releases, "web", 1, &first).await;
    drop(first);
    let mut seed: u64 = std::process::id() as u64 * 2654435761 + 12345;
    let rounds = 20;
    for i in 0..rounds {
        let id = format!("kill-{}", i + 1);
        let mut r = Rudder::start(n, &id, &[]);
        eventually(&format!("{id} leads"), Duration::from_secs(30), || async {
            (lease_holder(&client, n).await.as_deref() == Some(id.as_str())).then_some(())
        })
        .await;
        patch_spec(&releases, "web", json!({"values": {"replicaCount": i + 2}})).await;
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(seed % 1200)).await;
        r.child.kill().expect("SIGKILL");
        let _ = r.child.wait();
    }
    let last = Rudder::start(n, "kill-final", &[]);
    let want = rounds + 1;
    eventually(
        "converged after the kills",
        Duration::from_secs(120),
        || async {
            let obj = releases.get("web").await.ok()?;
            let st = obj.status?;
            let ready = st
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == rudder::api::ConditionStatus::True);
            (ready && st.observed_generation == obj.metadata.generation).then_some(())
        },
    )
    .await;
    let h = history(n, "web");
    assert!(
        h.iter().all(|(_, s)| !s.starts_with("pending")),
        "a pending record is left: {h:?}"
    );
    assert_eq!(
        h.iter().filter(|(_, s)| s == "deployed").count(),
        1,
        "{h:?}"
    );
    let values = helm_json(&["get", "values", "web", "-n", n]);
    assert_eq!(values["replicaCount"], want, "{h:?}");
    let dep = Api::<Deployment>::namespaced(client.clone(), n)
        .get("web-scaffold")
        .await
        .expect("Deployment");
    assert_eq!(dep.spec.and_then(|s| s.replicas), Some(want));
    println!("history after {rounds} SIGKILLs: {h:?}");
    drop(last);
}
