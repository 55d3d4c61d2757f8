//! Real charts on a living cluster: podinfo, ingress-nginx and grafana from
//! the wide loopback repository, installed with `install.wait` on the test
//! control plane's simulated nodes. A release turns Ready only once every
//! Deployment, StatefulSet and DaemonSet it owns is Available (checked
//! while the install runs, not only at the end); a release whose Pods never
//! become Ready fails at its timeout, naming the Deployment. Time to Ready is
//! printed for each chart.

mod e2e;
mod hr;
mod repo_server;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use e2e::{Rudder, TestNamespace, eventually};
use hr::*;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};
use rudder::api::{ConditionStatus, HelmRelease};
use serde_json::{Value as Json, json};

const SHARD_LABEL: &str = "rudder.dev/test-shard";
const SHARD: &str = "workloads";

fn labelled(name: &str, chart: &str, version: &str, spec: Json) -> HelmRelease {
    let mut obj = release(name, "wide", chart, version, spec);
    obj.metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(SHARD_LABEL.into(), SHARD.into());
    obj
}

/// Whether an object belongs to release `name` (Helm's ownership
/// annotation, which every object of the release carries).
fn of_release(meta: &kube::api::ObjectMeta, name: &str) -> bool {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get("meta.helm.sh/release-name"))
        .is_some_and(|r| r == name)
}

/// The Deployments of release `name`.
async fn deployments_of(client: &Client, ns: &str, name: &str) -> Vec<Deployment> {
    Api::<Deployment>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .expect("deployments")
        .items
        .into_iter()
        .filter(|d| of_release(&d.metadata, name))
        .collect()
}

/// Workloads of release `name` that are not yet Available, by name.
async fn unavailable(client: &Client, ns: &str, name: &str) -> Vec<String> {
    let sel = ListParams::default();
    let mut out = Vec::new();
    for d in deployments_of(client, ns, name).await {
        let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let st = d.status.unwrap_or_default();
        if st.available_replicas.unwrap_or(0) < want || st.updated_replicas.unwrap_or(0) < want {
            out.push(format!(
                "Deployment {}",
                d.metadata.name.unwrap_or_default()
            ));
        }
    }
    for s in Api::<StatefulSet>::namespaced(client.clone(), ns)
        .list(&sel)
        .await
        .expect("statefulsets")
        .into_iter()
        .filter(|s| of_release(&s.metadata, name))
    {
        let want = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        if s.status.and_then(|st| st.ready_replicas).unwrap_or(0) < want {
            out.push(format!(
                "StatefulSet {}",
                s.metadata.name.unwrap_or_default()
            ));
        }
    }
    for d in Api::<DaemonSet>::namespaced(client.clone(), ns)
        .list(&sel)
        .await
        .expect("daemonsets")
        .into_iter()
        .filter(|d| of_release(&d.metadata, name))
    {
        let st = d.status.unwrap_or_default();
        if st.number_available.unwrap_or(0) < st.desired_number_scheduled {
            out.push(format!("DaemonSet {}", d.metadata.name.unwrap_or_default()));
        }
    }
    out
}

fn is_ready(obj: &HelmRelease) -> bool {
    obj.status.as_ref().is_some_and(|st| {
        st.revision == Some(1)
            && st.observed_generation == obj.metadata.generation
            && st
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == ConditionStatus::True)
    })
}

#[tokio::test]
async fn real_charts_turn_ready_only_once_their_workloads_are_available() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "workloads").await;
    let n = ns.name.as_str();
    let site = hr::serve(repo_server::shared_wide_index_files()).await;
    create_repository_labelled(
        &client,
        n,
        "wide",
        &site.base(),
        &json!({ SHARD_LABEL: SHARD }),
    )
    .await;
    let _rudder = Rudder::start_with(
        e2e::kubeconfig(),
        n,
        "workloads",
        &["--watch-label-selector", &format!("{SHARD_LABEL}={SHARD}")],
    );
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    // Cluster-scoped objects (ClusterRoles, IngressClasses) are named after
    // the release: names of their own keep runs apart.
    let id = std::process::id();
    let names = [
        format!("podinfo-{id}"),
        format!("ingress-{id}"),
        format!("grafana-{id}"),
    ];
    let charts = [
        (names[0].as_str(), "podinfo", "6.14.1"),
        (names[1].as_str(), "ingress-nginx", "4.15.1"),
        (names[2].as_str(), "grafana", "12.11.1"),
    ];
    let started = Instant::now();
    for (name, chart, version) in charts {
        let mut spec = json!({"install": {"wait": true}, "timeout": "3m"});
        if chart == "ingress-nginx" {
            // The IngressClass is cluster-scoped and named by a value.
            spec["values"] =
                json!({"controller": {"ingressClassResource": {"name": format!("nginx-{id}")}}});
        }
        api.create(
            &PostParams::default(),
            &labelled(name, chart, version, spec),
        )
        .await
        .expect("create HelmRelease");
    }
    // Watch the releases while they install: whenever one reads Ready, all
    // of its workloads must already be Available.
    let mut ready_after: BTreeMap<&str, Duration> = BTreeMap::new();
    let deadline = started + Duration::from_secs(240);
    while ready_after.len() < charts.len() {
        assert!(Instant::now() < deadline, "not all Ready: {ready_after:?}");
        for (name, _, _) in charts {
            if ready_after.contains_key(name) {
                continue;
            }
            let obj = api.get(name).await.expect("get HelmRelease");
            if is_ready(&obj) {
                let missing = unavailable(&client, n, name).await;
                assert!(
                    missing.is_empty(),
                    "{name} Ready while {missing:?} are not Available"
                );
                ready_after.insert(name, started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (name, chart, version) in charts {
        eprintln!(
            "{chart} {version}: Ready with every workload Available {:.1} s after the HelmRelease was created",
            ready_after[name].as_secs_f64()
        );
        let deployments = deployments_of(&client, n, name).await;
        assert!(!deployments.is_empty(), "{chart} has Deployments");
    }
    // Uninstall, so the cluster-scoped objects go too.
    for (name, _, _) in charts {
        api.delete(name, &Default::default())
            .await
            .expect("delete HelmRelease");
    }
    for (name, _, _) in charts {
        eventually(
            &format!("{name} uninstalled"),
            Duration::from_secs(120),
            || async { api.get_opt(name).await.ok()?.is_none().then_some(()) },
        )
        .await;
    }
}

#[tokio::test]
async fn a_release_whose_pods_never_become_ready_fails_at_its_timeout() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "workloads-stuck").await;
    let n = ns.name.as_str();
    let site = hr::serve(repo_server::shared_wide_index_files()).await;
    let shard = "workloads-stuck";
    create_repository_labelled(
        &client,
        n,
        "wide",
        &site.base(),
        &json!({ SHARD_LABEL: shard }),
    )
    .await;
    let _rudder = Rudder::start_with(
        e2e::kubeconfig(),
        n,
        "workloads-stuck",
        &["--watch-label-selector", &format!("{SHARD_LABEL}={shard}")],
    );
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    let spec = json!({
        "install": {"wait": true},
        "timeout": "15s",
        "values": {"podLabels": {"rudder.dev/simulate": "never-ready"}},
    });
    let mut obj = release("stuck", "wide", "scaffold", "0.1.0", spec);
    obj.metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(SHARD_LABEL.into(), shard.into());
    api.create(&PostParams::default(), &obj)
        .await
        .expect("create HelmRelease");
    let message = eventually(
        "the install fails at its timeout",
        Duration::from_secs(120),
        || async {
            let obj = api.get("stuck").await.ok()?;
            let st = obj.status?;
            st.conditions
                .iter()
                .find(|c| {
                    c.type_ == "Ready"
                        && c.status == ConditionStatus::False
                        && c.message.contains("timed out")
                })
                .map(|c| c.message.clone())
        },
    )
    .await;
    assert!(
        message.contains("Deployment") && message.contains("stuck-scaffold"),
        "{message}"
    );
}
