//! What rudder applies beyond the chart's own render, against the real
//! control plane with `rudder run`: `spec.postRenderers` (a strategic
//! merge adding a sidecar to podinfo's Deployment, a JSON 6902 patch on
//! its Service) and `spec.commonMetadata` seen on the live objects and in
//! the real `helm get manifest`, kept by an upgrade; and
//! `spec.chart.valuesFiles`, held to the real `helm template -f` of the
//! same files.

mod e2e;
mod hr;
mod repo_server;

use e2e::{Rudder, TestNamespace, helm};
use hr::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::PostParams;
use kube::{Api, Client};
use rudder::api::HelmRelease;
use serde_json::json;

const SIDECAR: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  template:\n    spec:\n      containers:\n      - name: sidecar\n        image: busybox:1.36\n        args: [\"sleep\", \"infinity\"]\n";
const SERVICE_PORT: &str = "- op: replace\n  path: /spec/ports/0/port\n  value: 8080\n";

async fn create(api: &Api<HelmRelease>, obj: &HelmRelease) {
    api.create(&PostParams::default(), obj)
        .await
        .expect("create HelmRelease");
}

/// Checks the live Deployment and Service and the recorded manifest.
async fn assert_post_rendered(client: &Client, ns: &str, replicas: i32) {
    let dep = Api::<Deployment>::namespaced(client.clone(), ns)
        .get("podinfo")
        .await
        .expect("Deployment");
    let spec = dep.spec.expect("spec");
    assert_eq!(spec.replicas, Some(replicas));
    let containers = spec.template.spec.expect("pod spec").containers;
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["podinfo", "sidecar"],
        "merged by name, not replaced"
    );
    let podinfo = &containers[0];
    assert!(
        podinfo
            .image
            .as_deref()
            .is_some_and(|i| i.contains("podinfo")),
        "the chart's container is intact: {:?}",
        podinfo.image
    );
    assert_eq!(
        containers[1].image.as_deref(),
        Some("busybox:1.36"),
        "sidecar"
    );
    let labels = dep.metadata.labels.unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("platform"));
    let svc = Api::<Service>::namespaced(client.clone(), ns)
        .get("podinfo")
        .await
        .expect("Service");
    let ports = svc.spec.and_then(|s| s.ports).unwrap_or_default();
    assert_eq!(ports[0].port, 8080);
    let labels = svc.metadata.labels.unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("platform"));

    let manifest = helm(&["get", "manifest", "podinfo", "-n", ns]);
    assert!(manifest.contains("name: sidecar"), "{manifest}");
    assert!(manifest.contains("image: busybox:1.36"), "{manifest}");
    assert!(manifest.contains("port: 8080"), "{manifest}");
    assert!(manifest.contains("team: platform"), "{manifest}");
}

#[tokio::test]
async fn post_renderers_patch_podinfo_and_an_upgrade_keeps_the_patches() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "postrender").await;
    let n = ns.name.as_str();
    let site = serve(repo_server::shared_index_files()).await;
    create_repository(&client, n, "charts", &site.base()).await;
    let _rudder = Rudder::start(n, "postrender", &[]);
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    let spec = json!({
        "install": {"wait": false},
        "upgrade": {"wait": false},
        "postRenderers": [{"kustomize": {"patches": [
            {"patch": SIDECAR},
            {"patch": SERVICE_PORT, "target": {"kind": "Service", "name": "podinfo"}},
        ]}}],
        "commonMetadata": {"labels": {"team": "platform"}},
    });
    create(
        &api,
        &release("podinfo", "charts", "podinfo", "6.14.1", spec),
    )
    .await;
    wait_revision(&api, "podinfo", 1).await;
    assert_post_rendered(&client, n, 1).await;

    patch_spec(&api, "podinfo", json!({"values": {"replicaCount": 2}})).await;
    wait_revision(&api, "podinfo", 2).await;
    assert_post_rendered(&client, n, 2).await;

    // A change of the post-renderers alone is an upgrade.
    let sidecar_2 = SIDECAR.replace("busybox:1.36", "busybox:1.37");
    patch_spec(
        &api,
        "podinfo",
        json!({"postRenderers": [{"kustomize": {"patches": [
            {"patch": sidecar_2},
            {"patch": SERVICE_PORT, "target": {"kind": "Service", "name": "podinfo"}},
        ]}}]}),
    )
    .await;
    wait_revision(&api, "podinfo", 3).await;
    let manifest = helm(&["get", "manifest", "podinfo", "-n", n]);
    assert!(manifest.contains("image: busybox:1.37"), "{manifest}");
    drop(site);
}

/// The chart of the values-files test: its values as a ConfigMap.
fn values_chart(root: &std::path::Path) -> std::path::PathBuf {
    write_chart(
        root,
        "layered",
        "0.1.0",
        &[
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  values: |\n{{ toYaml .Values | indent 4 }}\n",
            ),
            (
                "values.yaml",
                "a: chart\nb: chart\nc: chart\nlist: [1, 2]\nnested: {x: chart, y: chart}\n",
            ),
            (
                "values-a.yaml",
                "a: file-a\nb: file-a\nnested: {x: file-a}\n",
            ),
            ("values-b.yaml", "b: file-b\nlist: [3]\nnested: {y: null}\n"),
        ],
    )
}

#[tokio::test]
async fn values_files_merge_in_order_as_helm_template_f() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "valuesfiles").await;
    let n = ns.name.as_str();
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = values_chart(tmp.path());
    let site = serve(repository_files(std::slice::from_ref(&chart))).await;
    create_repository(&client, n, "charts", &site.base()).await;
    let _rudder = Rudder::start(n, "valuesfiles", &[]);
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    let layered = |name: &str, files: serde_json::Value, ignore: bool| {
        let mut obj = release(
            name,
            "charts",
            "layered",
            "0.1.0",
            json!({"values": {"c": "spec"}}),
        );
        obj.spec.chart.values_files = serde_json::from_value(files).expect("files");
        obj.spec.chart.ignore_missing_values_files = ignore;
        obj
    };
    create(
        &api,
        &layered("both", json!(["values-a.yaml", "values-b.yaml"]), false),
    )
    .await;
    create(
        &api,
        &layered("missing", json!(["values-b.yaml", "nope.yaml"]), false),
    )
    .await;
    create(
        &api,
        &layered("ignored", json!(["values-b.yaml", "nope.yaml"]), true),
    )
    .await;

    let spec_values = tmp.path().join("spec-values.yaml");
    std::fs::write(&spec_values, "c: spec\n").expect("spec values");
    let dir = chart.to_string_lossy().into_owned();
    let file = |f: &str| chart.join(f).to_string_lossy().into_owned();
    let spec_file = spec_values.to_string_lossy().into_owned();
    let template = |name: &str, files: &[String]| {
        let mut args = vec!["template", name, dir.as_str(), "-n", n];
        for f in files {
            args.extend(["-f", f.as_str()]);
        }
        args.extend(["-f", spec_file.as_str()]);
        helm(&args)
    };

    wait_revision(&api, "both", 1).await;
    let got = helm(&["get", "manifest", "both", "-n", n]);
    let want = template("both", &[file("values-a.yaml"), file("values-b.yaml")]);
    assert_eq!(got.trim(), want.trim());
    assert!(
        got.contains("a: file-a") && got.contains("b: file-b"),
        "{got}"
    );

    let msg = wait_condition(&api, "missing", "Ready", "ValuesError").await;
    assert!(
        msg.contains("layered-0.1.0 has no values file \"nope.yaml\""),
        "{msg}"
    );
    wait_revision(&api, "ignored", 1).await;
    let got = helm(&["get", "manifest", "ignored", "-n", n]);
    assert_eq!(
        got.trim(),
        template("ignored", &[file("values-b.yaml")]).trim()
    );
    drop(site);
}
