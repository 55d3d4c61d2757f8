//! HelmRelease with bad input and the spec fields beyond chart and values,
//! end to end: `rudder run` against the real control plane, chart
//! repositories served on 127.0.0.1 from memory (charts built in the test
//! with `rudder::repo::package` and `rudder::repo::indexer`), and the real
//! `helm` as the observer of release records and the oracle of error text.

mod e2e;
mod hr;
mod repo_server;

use std::process::Command;
use std::time::Duration;

use e2e::{
    Rudder, TestNamespace, eventually, helm, helm_history as history, helm_output, http_get,
};
use hr::*;
use kube::Api;
use kube::api::PostParams;
use repo_server::Site;
use rudder::api::HelmRelease;
use serde_json::{Value as Json, json};

#[tokio::test]
async fn repository_down_keeps_the_live_revision_and_recovers() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "reldown").await;
    let n = ns.name.as_str();
    let tmp = tempfile::tempdir().expect("tempdir");
    let files = repository_files(&[
        write_chart(
            tmp.path(),
            "app",
            "0.1.0",
            &[
                ("templates/cm.yaml", CM_TEMPLATE),
                ("values.yaml", "v: one\n"),
            ],
        ),
        write_chart(
            tmp.path(),
            "app",
            "0.2.0",
            &[
                ("templates/cm.yaml", CM_TEMPLATE),
                ("values.yaml", "v: two\n"),
            ],
        ),
    ]);
    let site = serve(files).await;
    let port = site.server.addr.port();
    create_repository(&client, n, "charts", &site.base()).await;
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    releases
        .create(
            &PostParams::default(),
            &release("app", "charts", "app", "0.1.0", json!({})),
        )
        .await
        .expect("create");
    let rudder = Rudder::start(n, "down", &[]);
    wait_revision(&releases, "app", 1).await;
    let manifest = helm(&["get", "manifest", "app", "-n", n]);

    // The server stops; the spec asks for a chart version not pulled yet.
    let state = site.state.clone();
    drop(site);
    patch_spec(&releases, "app", json!({"chart": {"version": "0.2.0"}})).await;
    let msg = wait_condition(&releases, "app", "Ready", "ChartPullFailed").await;
    assert!(
        msg.contains(&format!("127.0.0.1:{port}")) || msg.contains("onnect"),
        "the status explains the repository is down: {msg}"
    );
    assert_eq!(history(n, "app"), vec![(1, "deployed".to_string())]);
    assert_eq!(helm(&["get", "manifest", "app", "-n", n]), manifest);
    let cm = configmap(&client, n, "app-cm")
        .await
        .expect("live ConfigMap");
    assert_eq!(
        cm.data.unwrap_or_default().get("v").map(String::as_str),
        Some("one")
    );
    let st = releases
        .get("app")
        .await
        .expect("get")
        .status
        .expect("status");
    assert_eq!(st.revision, Some(1));

    // The server is back on the same port: revision 2 rolls out.
    let _site = Site::start_on(port, state, None).await;
    wait_revision(&releases, "app", 2).await;
    assert_eq!(
        history(n, "app"),
        vec![(1, "superseded".to_string()), (2, "deployed".to_string())]
    );
    let cm = configmap(&client, n, "app-cm").await.expect("ConfigMap");
    assert_eq!(
        cm.data.unwrap_or_default().get("v").map(String::as_str),
        Some("two")
    );
    drop(rudder);
}

const SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["v", "replicas"],
  "properties": {
    "v": {"type": "string"},
    "replicas": {"type": "integer", "minimum": 1}
  }
}"#;

#[tokio::test]
async fn schema_violations_and_infinite_recursion_are_reported() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "relschema").await;
    let n = ns.name.as_str();
    let tmp = tempfile::tempdir().expect("tempdir");
    let strict = write_chart(
        tmp.path(),
        "strict",
        "0.1.0",
        &[
            ("templates/cm.yaml", CM_TEMPLATE),
            ("values.yaml", "v: one\nreplicas: 1\n"),
            ("values.schema.json", SCHEMA),
        ],
    );
    let looping = write_chart(
        tmp.path(),
        "loop",
        "0.1.0",
        &[(
            "templates/loop.yaml",
            r#"{{ define "a" }}{{ include "a" . }}{{ end }}{{ include "a" . }}"#,
        )],
    );
    let site = serve(repository_files(&[strict.clone(), looping])).await;
    create_repository(&client, n, "charts", &site.base()).await;
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    releases
        .create(
            &PostParams::default(),
            &release("strict", "charts", "strict", "0.1.0", json!({})),
        )
        .await
        .expect("create");
    let rudder = Rudder::start(n, "schema", &[]);
    wait_revision(&releases, "strict", 1).await;
    let manifest = helm(&["get", "manifest", "strict", "-n", n]);

    // Values failing the schema: the status lists the errors as helm does.
    let bad = json!({"v": 3, "replicas": 0});
    patch_spec(&releases, "strict", json!({"values": bad})).await;
    let msg = wait_condition(&releases, "strict", "Ready", "RenderFailed").await;
    let values_file = tmp.path().join("bad.yaml");
    std::fs::write(&values_file, bad.to_string()).expect("values file");
    let out = helm_output(&[
        "template",
        "strict",
        strict.to_str().expect("path"),
        "-f",
        values_file.to_str().expect("path"),
    ]);
    assert!(!out.status.success(), "helm accepts the bad values");
    let helm_err = String::from_utf8_lossy(&out.stderr);
    let listed: Vec<&str> = helm_err
        .lines()
        .filter(|l| l.trim_start().starts_with("- "))
        .collect();
    assert!(
        listed.len() >= 2,
        "helm lists the schema errors: {helm_err}"
    );
    for line in &listed {
        assert!(
            msg.contains(line.trim()),
            "status lacks helm's {line:?}: {msg}"
        );
    }
    assert!(
        msg.contains("values don't meet the specifications of the schema"),
        "{msg}"
    );
    assert_eq!(history(n, "strict"), vec![(1, "deployed".to_string())]);
    assert_eq!(helm(&["get", "manifest", "strict", "-n", n]), manifest);
    assert!(configmap(&client, n, "strict-cm").await.is_some());

    // Infinite include recursion: a clear RenderFailed, rudder keeps running.
    releases
        .create(
            &PostParams::default(),
            &release("loop", "charts", "loop", "0.1.0", json!({})),
        )
        .await
        .expect("create");
    let msg = wait_condition(&releases, "loop", "Ready", "RenderFailed").await;
    // helm's message (~100 KB of nested includes) ends with the cause.
    assert!(
        msg.starts_with("template: loop/templates/loop.yaml:1:47:"),
        "{msg}"
    );
    assert!(
        msg.contains("rendering template has a nested reference name: a"),
        "{msg}"
    );
    assert!(msg.len() < 5000, "a bounded message: {} bytes", msg.len());
    let mut rudder = rudder;
    assert!(
        rudder.child.try_wait().expect("poll rudder").is_none(),
        "rudder exited: {}",
        rudder.logs()
    );
    let (code, _) = http_get(rudder.addr, "/healthz").expect("/healthz answers");
    assert_eq!(code, 200);
    // And it still reconciles: the strict release recovers with good values.
    patch_spec(
        &releases,
        "strict",
        json!({"values": {"v": "three", "replicas": 2}}),
    )
    .await;
    wait_revision(&releases, "strict", 2).await;
    drop(rudder);
}

fn helm_releases(ns: &str) -> Vec<String> {
    let json: Json = serde_json::from_str(&helm(&["list", "-n", ns, "-o", "json"])).expect("JSON");
    json.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r["name"].as_str().map(String::from))
        .collect()
}

#[tokio::test]
async fn depends_on_waits_for_the_named_release() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "reldeps").await;
    let n = ns.name.as_str();
    let (_tmp, _site) = serve_app_chart(&client, n).await;
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    // "base" cannot become Ready: its chart version does not exist.
    releases
        .create(
            &PostParams::default(),
            &release("base", "charts", "app", "9.9.9", json!({})),
        )
        .await
        .expect("create");
    releases
        .create(
            &PostParams::default(),
            &release(
                "top",
                "charts",
                "app",
                "0.1.0",
                json!({"dependsOn": [{"name": "base"}]}),
            ),
        )
        .await
        .expect("create");
    let rudder = Rudder::start(n, "deps", &[]);
    let msg = eventually(
        "top waits for base, saying why",
        Duration::from_secs(60),
        || async {
            let msg = wait_condition(&releases, "top", "Ready", "DependencyNotReady").await;
            msg.contains("ChartPullFailed").then_some(msg)
        },
    )
    .await;
    assert!(
        msg.starts_with(&format!(
            "waiting for dependency HelmRelease {n}/base: not Ready"
        )),
        "{msg}"
    );
    assert!(configmap(&client, n, "top-cm").await.is_none());
    assert!(!helm_releases(n).contains(&"top".to_string()));

    // The dependency becomes Ready: the dependent installs.
    patch_spec(&releases, "base", json!({"chart": {"version": "0.1.0"}})).await;
    wait_revision(&releases, "base", 1).await;
    wait_revision(&releases, "top", 1).await;
    assert!(configmap(&client, n, "top-cm").await.is_some());
    assert_eq!(history(n, "top"), vec![(1, "deployed".to_string())]);
    drop(rudder);
}

const DEPLOYMENT_TEMPLATE: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n      labels: {app: x}\n    spec:\n      containers:\n      - name: x\n        image: busybox\n";

#[tokio::test]
async fn service_account_rights_are_used_to_apply() {
    use k8s_openapi::api::core::v1::ServiceAccount;
    use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "relsa").await;
    let n = ns.name.as_str();
    create_json::<ServiceAccount>(&client, n, json!({"metadata": {"name": "deployer"}})).await;
    create_json::<Role>(
        &client,
        n,
        json!({"metadata": {"name": "configmaps"},
               "rules": [{"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["*"]}]}),
    )
    .await;
    create_json::<RoleBinding>(
        &client,
        n,
        json!({"metadata": {"name": "deployer"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "configmaps"},
               "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": n}]}),
    )
    .await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let site = serve(repository_files(&[
        write_chart(
            tmp.path(),
            "app",
            "0.1.0",
            &[
                ("templates/cm.yaml", CM_TEMPLATE),
                ("values.yaml", "v: one\n"),
            ],
        ),
        write_chart(
            tmp.path(),
            "app",
            "0.2.0",
            &[
                ("templates/cm.yaml", CM_TEMPLATE),
                ("templates/deploy.yaml", DEPLOYMENT_TEMPLATE),
                ("values.yaml", "v: two\n"),
            ],
        ),
    ]))
    .await;
    create_repository(&client, n, "charts", &site.base()).await;
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    releases
        .create(
            &PostParams::default(),
            &release(
                "app",
                "charts",
                "app",
                "0.1.0",
                json!({"serviceAccountName": "deployer"}),
            ),
        )
        .await
        .expect("create");
    let rudder = Rudder::start(n, "sa", &[]);
    // ConfigMaps: allowed. The record is written as the account too (its
    // Role grants Secrets, where Helm keeps records).
    wait_revision(&releases, "app", 1).await;
    assert_eq!(history(n, "app"), vec![(1, "deployed".to_string())]);
    let cm = configmap(&client, n, "app-cm").await.expect("ConfigMap");
    let managers: Vec<String> = cm
        .metadata
        .managed_fields
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(managers.contains(&"helm".to_string()), "{managers:?}");

    // A Deployment too: the API server refuses it for the account. One
    // retry (after a 5 s back-off), then the release stalls.
    patch_spec(
        &releases,
        "app",
        json!({"chart": {"version": "0.2.0"}, "upgrade": {"remediation": {"retries": 1}}}),
    )
    .await;
    let msg = wait_condition(&releases, "app", "Stalled", "RetriesExhausted").await;
    let user = format!("system:serviceaccount:{n}:deployer");
    assert!(
        msg.contains("forbidden") && msg.contains(&user) && msg.contains("deployments"),
        "the API server's Forbidden: {msg}"
    );
    assert!(
        msg.starts_with("upgrade failed 2 time(s) (remediation retries: 1)"),
        "{msg}"
    );
    let st = releases
        .get("app")
        .await
        .expect("get")
        .status
        .expect("status");
    assert_eq!(st.failures, Some(2));
    let h = history(n, "app");
    assert_eq!(h.first(), Some(&(1, "deployed".to_string())), "{h:?}");
    assert!(h.iter().skip(1).all(|(_, s)| s == "failed"), "{h:?}");
    let cm = configmap(&client, n, "app-cm").await.expect("ConfigMap");
    assert_eq!(
        cm.data.unwrap_or_default().get("v").map(String::as_str),
        Some("one")
    );
    let st = releases
        .get("app")
        .await
        .expect("get")
        .status
        .expect("status");
    assert_eq!(st.revision, Some(1));
    drop(rudder);
}

#[tokio::test]
async fn capabilities_see_crds_installed_after_start() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "relcaps").await;
    let n = ns.name.as_str();
    let group = format!("{n}.example.com");
    let gated = format!(
        "{{{{- if .Capabilities.APIVersions.Has \"{group}/v1\" }}}}\n{CM_TEMPLATE}---\napiVersion: {group}/v1\nkind: Gadget\nmetadata:\n  name: {{{{ .Release.Name }}}}\n{{{{- end }}}}\n"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let site = serve(repository_files(&[
        write_chart(
            tmp.path(),
            "app",
            "0.1.0",
            &[
                ("templates/cm.yaml", CM_TEMPLATE),
                ("values.yaml", "v: one\n"),
            ],
        ),
        write_chart(
            tmp.path(),
            "gated",
            "0.1.0",
            &[
                ("templates/gated.yaml", &gated),
                ("values.yaml", "v: gated\n"),
            ],
        ),
    ]))
    .await;
    create_repository(&client, n, "charts", &site.base()).await;
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    releases
        .create(
            &PostParams::default(),
            &release("first", "charts", "app", "0.1.0", json!({})),
        )
        .await
        .expect("create");
    let rudder = Rudder::start(n, "caps", &[]);
    // rudder has discovered the cluster (it rendered and applied a release).
    wait_revision(&releases, "first", 1).await;

    let crd = format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gadgets.{group}\nspec:\n  group: {group}\n  scope: Namespaced\n  names: {{plural: gadgets, singular: gadget, kind: Gadget}}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}\n"
    );
    let kc = e2e::kubeconfig().to_str().expect("path").to_string();
    e2e::tool(
        "kubectl",
        &["--kubeconfig", &kc, "apply", "-f", "-"],
        Some(&crd),
    );
    let crd_name = format!("crd/gadgets.{group}");
    let _cleanup = DeleteOnDrop(crd_name.clone());
    e2e::tool(
        "kubectl",
        &[
            "--kubeconfig",
            &kc,
            "wait",
            "--for",
            "condition=Established",
            &crd_name,
            "--timeout",
            "60s",
        ],
        None,
    );
    releases
        .create(
            &PostParams::default(),
            &release("gated", "charts", "gated", "0.1.0", json!({})),
        )
        .await
        .expect("create");
    wait_revision(&releases, "gated", 1).await;
    let cm = configmap(&client, n, "gated-cm").await;
    let gadget = e2e::tool(
        "kubectl",
        &[
            "--kubeconfig",
            &kc,
            "get",
            &format!("gadgets.{group}"),
            "gated",
            "-n",
            n,
            "-o",
            "name",
        ],
        None,
    );
    assert!(cm.is_some(), "the gated ConfigMap was not rendered");
    assert_eq!(gadget.trim(), format!("gadget.{group}/gated"));
    let manifest = helm(&["get", "manifest", "gated", "-n", n]);
    assert!(manifest.contains("kind: Gadget"), "{manifest}");
    drop(rudder);
}

/// Deletes a cluster-scoped object with kubectl when dropped (also when
/// the test fails).
struct DeleteOnDrop(String);

impl Drop for DeleteOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kubectl")
            .args(["delete", &self.0, "--wait=false"])
            .env("KUBECONFIG", e2e::kubeconfig())
            .output();
    }
}

#[tokio::test]
async fn create_namespace_makes_the_target_before_the_first_record() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "relnewns").await;
    let n = ns.name.as_str();
    // Missing until rudder creates it; the records default to it too.
    let target = format!("{n}-target");
    let (_tmp, _site) = serve_app_chart(&client, n).await;
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    releases
        .create(
            &PostParams::default(),
            &release(
                "fresh",
                "charts",
                "app",
                "0.1.0",
                json!({"targetNamespace": target, "createNamespace": true}),
            ),
        )
        .await
        .expect("create");
    // No service account: the operator must allow another target namespace.
    let rudder = Rudder::start(n, "newns", &["--allow-cross-namespace-targets"]);
    wait_revision(&releases, "fresh", 1).await;
    assert!(configmap(&client, &target, "fresh-cm").await.is_some());
    assert_eq!(history(&target, "fresh"), vec![(1, "deployed".to_string())]);
    // Uninstall, then remove the namespace rudder made.
    releases
        .delete("fresh", &Default::default())
        .await
        .expect("delete");
    eventually("fresh uninstalled", Duration::from_secs(60), || async {
        releases
            .get_opt("fresh")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    assert!(configmap(&client, &target, "fresh-cm").await.is_none());
    drop(rudder);
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let _ = namespaces.delete(&target, &Default::default()).await;
}
