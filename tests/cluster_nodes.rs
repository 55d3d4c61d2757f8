//! The test control plane is a living cluster: kube-scheduler binds Pods to
//! kwok's simulated nodes, Pods start and become Ready, Deployments become
//! Available through kube-controller-manager, Job Pods complete — and a Pod
//! template labelled `rudder.dev/simulate` fails or never becomes Ready, so
//! tests can drive the unhappy paths (see `e2e/testenv/kwok.yaml`).

mod e2e;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(60);

fn deployment(name: &str, simulate: Option<&str>) -> Deployment {
    let mut labels = json!({ "app": name });
    if let Some(s) = simulate {
        labels["rudder.dev/simulate"] = json!(s);
    }
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": name },
        "spec": {
            "replicas": 2,
            "selector": { "matchLabels": { "app": name } },
            "template": {
                "metadata": { "labels": labels },
                "spec": { "containers": [{ "name": "main", "image": "nginx" }] }
            }
        }
    }))
    .expect("deployment")
}

fn job(name: &str, simulate: Option<&str>) -> Job {
    let mut labels = json!({ "job": name });
    if let Some(s) = simulate {
        labels["rudder.dev/simulate"] = json!(s);
    }
    serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": { "name": name },
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": { "labels": labels },
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{ "name": "main", "image": "busybox" }]
                }
            }
        }
    }))
    .expect("job")
}

fn condition(conds: Option<&Vec<serde_json::Value>>, kind: &str) -> Option<String> {
    conds?
        .iter()
        .find(|c| c["type"] == kind)
        .and_then(|c| c["status"].as_str().map(str::to_string))
}

#[tokio::test]
async fn simulated_nodes_are_ready() {
    let client = e2e::client().await;
    let nodes = Api::<Node>::all(client);
    let list = nodes.list(&ListParams::default()).await.expect("nodes");
    assert!(!list.items.is_empty(), "up.sh starts simulated nodes");
    for n in &list.items {
        let ready = n
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status.clone());
        assert_eq!(ready.as_deref(), Some("True"), "{:?}", n.metadata.name);
        let untolerated = n
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .is_some_and(|t| t.iter().any(|t| t.effect == "NoSchedule"));
        assert!(!untolerated, "the not-ready taint is lifted: {:?}", n.spec);
    }
}

#[tokio::test]
async fn deployments_become_available_and_jobs_complete() {
    let client = e2e::client().await;
    let ns = e2e::TestNamespace::create(&client, "nodes-ok").await;
    let deploys = Api::<Deployment>::namespaced(client.clone(), &ns.name);
    let jobs = Api::<Job>::namespaced(client.clone(), &ns.name);
    deploys
        .create(&PostParams::default(), &deployment("web", None))
        .await
        .expect("create deployment");
    jobs.create(&PostParams::default(), &job("migrate", None))
        .await
        .expect("create job");
    e2e::eventually(
        "the Deployment is Available with 2 ready replicas",
        TIMEOUT,
        || async {
            let d = deploys.get("web").await.ok()?;
            let st = serde_json::to_value(d.status?).ok()?;
            let available = condition(st["conditions"].as_array(), "Available");
            (available.as_deref() == Some("True") && st["readyReplicas"] == 2).then_some(())
        },
    )
    .await;
    e2e::eventually("the Job completes", TIMEOUT, || async {
        let j = jobs.get("migrate").await.ok()?;
        let st = serde_json::to_value(j.status?).ok()?;
        (condition(st["conditions"].as_array(), "Complete").as_deref() == Some("True"))
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn pods_can_be_made_to_fail_or_never_become_ready() {
    let client = e2e::client().await;
    let ns = e2e::TestNamespace::create(&client, "nodes-bad").await;
    let deploys = Api::<Deployment>::namespaced(client.clone(), &ns.name);
    let jobs = Api::<Job>::namespaced(client.clone(), &ns.name);
    let pods = Api::<Pod>::namespaced(client.clone(), &ns.name);
    deploys
        .create(
            &PostParams::default(),
            &deployment("stuck", Some("never-ready")),
        )
        .await
        .expect("create deployment");
    jobs.create(&PostParams::default(), &job("broken", Some("fail")))
        .await
        .expect("create job");
    e2e::eventually("the Job fails", TIMEOUT, || async {
        let j = jobs.get("broken").await.ok()?;
        let st = serde_json::to_value(j.status?).ok()?;
        (condition(st["conditions"].as_array(), "Failed").as_deref() == Some("True")).then_some(())
    })
    .await;
    e2e::eventually("the never-ready Pods run", TIMEOUT, || async {
        let list = pods
            .list(&ListParams::default().labels("app=stuck"))
            .await
            .ok()?;
        let running = list
            .items
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .count();
        (running == 2).then_some(())
    })
    .await;
    // Running but not Ready, so the Deployment stays unavailable.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let d = deploys.get("stuck").await.expect("get");
    let st = serde_json::to_value(d.status.expect("status")).expect("json");
    assert_eq!(st["readyReplicas"].as_i64().unwrap_or(0), 0, "{st}");
    assert_ne!(
        condition(st["conditions"].as_array(), "Available").as_deref(),
        Some("True"),
        "{st}"
    );
}
