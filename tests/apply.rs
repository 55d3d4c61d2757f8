//! `rudder::apply` on the real test control plane: server-side apply of a
//! rendered chart with Helm's ownership metadata (compared with what the
//! real `helm install` puts on the same objects), idempotent re-apply,
//! Helm's ownership conflict, prune with `resource-policy: keep`, CRDs,
//! readiness, hooks, uninstall, discovery, and the write counter.

mod e2e;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Service, ServiceAccount};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use rudder::apply::{Applier, ApplyError, ReleaseRef, Resource};
use rudder::render::driver::{self, RenderOptions};
use rudder::render::value::Value;

const TIMEOUT: Duration = Duration::from_secs(60);

/// `../shared/charts` (searched upwards from the crate).
fn shared_charts() -> PathBuf {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    loop {
        let cand = dir.join("../shared/charts");
        if cand.is_dir() {
            return cand;
        }
        assert!(dir.pop(), "../shared/charts not found");
    }
}

fn scaffold(version: &str) -> PathBuf {
    shared_charts().join(format!("index/scaffold-{version}.tgz"))
}

/// Renders a chart as a release and returns (manifest as Helm stores it,
/// the rendered result).
fn render(chart: &Path, release: &str, ns: &str) -> (String, driver::Rendered) {
    let chart = rudder::chart::load(chart).expect("chart loads");
    let opts = RenderOptions {
        release_name: release.into(),
        namespace: ns.into(),
        ..Default::default()
    };
    let rendered = driver::render(chart, &Value::empty_map(), &opts).expect("chart renders");
    let manifest = rudder::render::manifest::template_output(&[], &rendered.manifests, &[], false);
    (manifest, rendered)
}

fn release(name: &str, ns: &str) -> ReleaseRef {
    ReleaseRef {
        name: name.into(),
        namespace: ns.into(),
    }
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn labels_and_annotations(
    meta: &kube::api::ObjectMeta,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    (
        meta.labels.clone().unwrap_or_default(),
        meta.annotations.clone().unwrap_or_default(),
    )
}

fn managers(meta: &kube::api::ObjectMeta) -> Vec<String> {
    meta.managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.clone())
        .collect()
}

#[tokio::test]
async fn applies_scaffold_with_helm_metadata_idempotently() {
    let client = e2e::client().await;
    let ns = e2e::TestNamespace::create(&client, "apply-basic").await;
    let applier = Applier::new(client.clone());
    let (manifest, _) = render(&scaffold("0.1.0"), "web", &ns.name);
    let resources = applier
        .resources(&manifest, &ns.name)
        .await
        .expect("resources");
    let kinds: Vec<&str> = resources.iter().map(Resource::kind).collect();
    assert!(
        kinds.contains(&"Deployment") && kinds.contains(&"Service"),
        "{kinds:?}"
    );
    let rel = release("web", &ns.name);
    applier
        .check_ownership(&resources, &rel)
        .await
        .expect("nothing exists yet");
    let before = applier.writes();
    let report = applier.apply(&resources, &rel).await.expect("apply");
    assert_eq!(report.count(), resources.len());
    assert_eq!(applier.writes() - before, resources.len() as u64);
    // Install order: ServiceAccount before Service before Deployment.
    let pos = |k: &str| {
        report
            .applied
            .iter()
            .position(|a| a.starts_with(&format!("{k} ")))
    };
    assert!(pos("ServiceAccount") < pos("Service") && pos("Service") < pos("Deployment"));

    let deploy = Api::<Deployment>::namespaced(client.clone(), &ns.name)
        .get("web-scaffold")
        .await
        .expect("deployment exists");
    let (labels, annos) = labels_and_annotations(&deploy.metadata);
    assert_eq!(
        labels
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("Helm")
    );
    assert_eq!(
        annos.get("meta.helm.sh/release-name").map(String::as_str),
        Some("web")
    );
    assert_eq!(annos.get("meta.helm.sh/release-namespace"), Some(&ns.name));
    assert_eq!(managers(&deploy.metadata), vec!["rudder".to_string()]);
    let svc_api = Api::<Service>::namespaced(client.clone(), &ns.name);
    let svc_rv = svc_api
        .get("web-scaffold")
        .await
        .expect("service")
        .metadata
        .resource_version;

    // Re-apply: same objects, nothing changes on the server (the
    // Deployment's status moves on its own, so compare its generation).
    applier
        .check_ownership(&resources, &rel)
        .await
        .expect("owned by web");
    applier.apply(&resources, &rel).await.expect("re-apply");
    let again = Api::<Deployment>::namespaced(client.clone(), &ns.name)
        .get("web-scaffold")
        .await
        .expect("deployment exists");
    assert_eq!(
        again.metadata.generation,
        Some(1),
        "re-apply changed the spec"
    );
    let svc_again = svc_api.get("web-scaffold").await.expect("service");
    assert_eq!(
        svc_again.metadata.resource_version, svc_rv,
        "re-apply changed the Service"
    );
}
