//! `rudder::apply` on the real test control plane: server-side apply of a
//! rendered chart with Helm's ownership metadata (compared with what the
//! real `helm install` puts on the same objects), idempotent re-apply,
//! Helm's ownership conflict, prune with `resource-policy: keep`, CRDs,
//! readiness, hooks, uninstall, discovery, and the write counter.

mod e2e;
mod fixture;
mod repo_server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Service, ServiceAccount};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use rudder::action::{self, RenderOptions};
use rudder::apply::{Applier, ApplyError, ReleaseRef, Resource};
use rudder::godata::value::Value;

use fixture::write;

const TIMEOUT: Duration = Duration::from_secs(60);

fn scaffold(version: &str) -> PathBuf {
    repo_server::shared_charts().join(format!("index/scaffold-{version}.tgz"))
}

/// Renders a chart as a release and returns (manifest as Helm stores it,
/// the rendered result).
fn render(chart: &Path, release: &str, ns: &str) -> (String, action::Rendered) {
    render_with(chart, release, ns, Value::empty_map())
}

/// [`render`] with user values.
fn render_with(chart: &Path, release: &str, ns: &str, values: Value) -> (String, action::Rendered) {
    let chart = rudder::chart::load(chart).expect("chart loads");
    let opts = RenderOptions {
        release_name: release.into(),
        namespace: ns.into(),
        ..Default::default()
    };
    let rendered = action::render(chart, &values, &opts).expect("chart renders");
    let manifest = rudder::render::manifest::template_output(&[], &rendered.manifests, &[], false);
    (manifest, rendered)
}

fn release(name: &str, ns: &str) -> ReleaseRef {
    ReleaseRef {
        name: name.into(),
        namespace: ns.into(),
    }
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
        .filter(|m| m.subresource.is_none())
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
    let started = std::time::Instant::now();
    let report = applier.apply(&resources, &rel).await.expect("apply");
    eprintln!(
        "applied {} objects in {:?}",
        resources.len(),
        started.elapsed()
    );
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
    assert_eq!(managers(&deploy.metadata), vec!["helm".to_string()]);
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

/// Runs a command and returns (success, stdout, stderr); panics if the
/// tool is missing (tests that need it must fail, not skip).
fn run(cmd: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(cmd)
        .args(args)
        .env("KUBECONFIG", e2e::kubeconfig())
        .output()
        .unwrap_or_else(|e| panic!("running {cmd} (is it installed?): {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn metadata_matches_what_real_helm_puts_on_objects() {
    let client = e2e::client().await;
    let ours = e2e::TestNamespace::create(&client, "apply-ours").await;
    let theirs = e2e::TestNamespace::create(&client, "apply-helm").await;
    let applier = Applier::new(client.clone());
    let (manifest, _) = render(&scaffold("0.1.0"), "web", &ours.name);
    let resources = applier
        .resources(&manifest, &ours.name)
        .await
        .expect("resources");
    applier
        .apply(&resources, &release("web", &ours.name))
        .await
        .expect("apply");
    let chart = scaffold("0.1.0");
    let (ok, _, err) = run(
        "helm",
        &[
            "install",
            "web",
            chart.to_str().expect("utf-8 path"),
            "-n",
            &theirs.name,
        ],
    );
    assert!(ok, "helm install failed: {err}");
    for name in ["web-scaffold"] {
        let mine = Api::<Deployment>::namespaced(client.clone(), &ours.name)
            .get(name)
            .await
            .expect("ours");
        let helms = Api::<Deployment>::namespaced(client.clone(), &theirs.name)
            .get(name)
            .await
            .expect("helm's");
        let (ml, mut ma) = labels_and_annotations(&mine.metadata);
        let (hl, mut ha) = labels_and_annotations(&helms.metadata);
        assert_eq!(ml, hl, "labels differ from helm's");
        // The namespace annotation names each release's own namespace.
        assert_eq!(
            ma.remove("meta.helm.sh/release-namespace"),
            Some(ours.name.clone())
        );
        assert_eq!(
            ha.remove("meta.helm.sh/release-namespace"),
            Some(theirs.name.clone())
        );
        ha.remove("deployment.kubernetes.io/revision");
        ma.remove("deployment.kubernetes.io/revision");
        assert_eq!(ma, ha, "annotations differ from helm's");
        // Same spec as helm applied.
        assert_eq!(mine.spec, helms.spec, "spec differs from helm's");
    }
    let sa = |ns: &str| Api::<ServiceAccount>::namespaced(client.clone(), ns);
    let mine = sa(&ours.name).get("web-scaffold").await.expect("ours");
    let helms = sa(&theirs.name).get("web-scaffold").await.expect("helm's");
    assert_eq!(mine.metadata.labels, helms.metadata.labels);
}

/// A ConfigMap owned by release `other`.
fn foreign_configmap(name: &str, ns: &str) -> ConfigMap {
    ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            namespace: Some(ns.into()),
            labels: Some([("app.kubernetes.io/managed-by".into(), "Helm".into())].into()),
            annotations: Some(
                [
                    ("meta.helm.sh/release-name".into(), "other".into()),
                    ("meta.helm.sh/release-namespace".into(), ns.into()),
                ]
                .into(),
            ),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn ownership_conflict_is_refused_with_helms_wording() {
    let client = e2e::client().await;
    let ns = e2e::TestNamespace::create(&client, "apply-owner").await;
    let applier = Applier::new(client.clone());
    let cms = Api::<ConfigMap>::namespaced(client.clone(), &ns.name);
    cms.create(
        &PostParams::default(),
        &foreign_configmap("taken", &ns.name),
    )
    .await
    .expect("create foreign configmap");
    let manifest = "---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: taken\ndata:\n  a: b\n";
    let resources = applier
        .resources(manifest, &ns.name)
        .await
        .expect("resources");
    let err = applier
        .check_ownership(&resources, &release("web", &ns.name))
        .await
        .expect_err("owned by another release");
    assert!(matches!(err, ApplyError::Ownership(_)), "{err:?}");
    let ours = err.to_string();
    assert_eq!(
        ours,
        format!(
            "ConfigMap \"taken\" in namespace \"{}\" exists and cannot be imported into the current release: invalid ownership metadata; annotation validation error: key \"meta.helm.sh/release-name\" must equal \"web\": current value is \"other\"",
            ns.name
        )
    );
    // The real helm refuses the same object with the same words.
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    );
    write(
        dir.path(),
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: taken\ndata:\n  a: b\n",
    );
    let (ok, _, helm_err) = run(
        "helm",
        &[
            "install",
            "web",
            dir.path().to_str().expect("utf-8"),
            "-n",
            &ns.name,
        ],
    );
    assert!(!ok, "helm installed over another release's object");
    assert!(
        helm_err.contains(&ours),
        "helm said: {helm_err}\nwe said: {ours}"
    );

    // An object without any ownership metadata is refused too.
    let mut bare = foreign_configmap("bare", &ns.name);
    bare.metadata.labels = None;
    bare.metadata.annotations = None;
    cms.create(&PostParams::default(), &bare)
        .await
        .expect("create bare");
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bare\n";
    let resources = applier
        .resources(manifest, &ns.name)
        .await
        .expect("resources");
    let err = applier
        .check_ownership(&resources, &release("web", &ns.name))
        .await
        .expect_err("unowned object exists");
    assert!(
        err.to_string()
            .contains("missing key \"app.kubernetes.io/managed-by\": must be set to \"Helm\""),
        "{err}"
    );
}

fn configmap_doc(name: &str, extra_annotations: &str) -> String {
    format!(
        "---\n# Source: c/templates/{name}.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations:\n    note: hello\n{extra_annotations}data:\n  k: v\n"
    )
}

#[tokio::test]
async fn prune_deletes_dropped_objects_and_keeps_keep_policy() {
    let client = e2e::client().await;
    let ns = e2e::TestNamespace::create(&client, "apply-prune").await;
    let applier = Applier::new(client.clone());
    let rel = release("web", &ns.name);
    let old_manifest = [
        configmap_doc("stays", ""),
        configmap_doc("dropped", ""),
        configmap_doc("kept", "    helm.sh/resource-policy: keep\n"),
    ]
    .concat();
    let old = applier
        .resources(&old_manifest, &ns.name)
        .await
        .expect("old");
    applier.apply(&old, &rel).await.expect("apply old");
    let new = applier
        .resources(&configmap_doc("stays", ""), &ns.name)
        .await
        .expect("new");
    applier.apply(&new, &rel).await.expect("apply new");
    let report = applier.prune(&old, &new).await.expect("prune");
    assert_eq!(
        report.deleted,
        vec![format!("ConfigMap {}/dropped", ns.name)]
    );
    assert_eq!(report.kept, vec![format!("ConfigMap {}/kept", ns.name)]);
    let cms = Api::<ConfigMap>::namespaced(client.clone(), &ns.name);
    assert!(cms.get_opt("dropped").await.expect("get").is_none());
    assert!(cms.get_opt("kept").await.expect("get").is_some());
    assert!(cms.get_opt("stays").await.expect("get").is_some());
    // Pruning again: the dropped one is already gone, which is fine.
    let again = applier.prune(&old, &new).await.expect("prune again");
    assert!(again.deleted.is_empty());
    assert_eq!(
        again.missing,
        vec![format!("ConfigMap {}/dropped", ns.name)]
    );
}

#[tokio::test]
async fn crds_are_established_before_their_objects_apply() {
    let client = e2e::client().await;
    let ns = e2e::TestNamespace::create(&client, "apply-crd").await;
    let applier = Applier::new(client.clone());
    let group = format!("t{}.apply.rudder.dev", std::process::id());
    let crd_name = format!("widgets.{group}");
    let crd = format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {crd_name}\nspec:\n  group: {group}\n  scope: Namespaced\n  names:\n    plural: widgets\n    singular: widget\n    kind: Widget\n    listKind: WidgetList\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n"
    );
    // Discovery is cached before the CRD exists.
    let caps = applier.capabilities().await.expect("capabilities");
    assert!(!caps.has(&format!("{group}/v1")));
    let crds = vec![("c/crds/widgets.yaml".to_string(), crd)];
    let written = applier
        .install_crds(&crds, rudder::apply::CrdPolicy::Create, TIMEOUT)
        .await
        .expect("install crds");
    assert_eq!(written, 1);
    let caps = applier.capabilities().await.expect("capabilities");
    assert!(
        caps.has(&format!("{group}/v1/Widget")),
        "discovery refreshed"
    );
    let manifest = format!(
        "---\n# Source: c/templates/w.yaml\napiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 3\n"
    );
    let resources = applier
        .resources(&manifest, &ns.name)
        .await
        .expect("resources");
    applier
        .apply(&resources, &release("web", &ns.name))
        .await
        .expect("apply CR");
    // Create again: the CRD exists, nothing is written.
    let before = applier.writes();
    let written = applier
        .install_crds(&crds, rudder::apply::CrdPolicy::Create, TIMEOUT)
        .await
        .expect("install crds again");
    assert_eq!((written, applier.writes() - before), (0, 0));
    // CreateReplace updates the existing CRD.
    let replaced = crds[0].1.replace(
        "    listKind: WidgetList\n",
        "    listKind: WidgetList\n    shortNames: [wdg]\n",
    );
    let written = applier
        .install_crds(
            &[("c/crds/widgets.yaml".to_string(), replaced)],
            rudder::apply::CrdPolicy::CreateReplace,
            TIMEOUT,
        )
        .await
        .expect("replace crds");
    assert_eq!(written, 1);
    let api = Api::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>::all(client.clone());
    let live = api.get(&crd_name).await.expect("CRD");
    assert_eq!(live.spec.names.short_names, Some(vec!["wdg".to_string()]));
    // Skip writes nothing.
    let skipped = applier
        .install_crds(&crds, rudder::apply::CrdPolicy::Skip, TIMEOUT)
        .await
        .expect("skip");
    assert_eq!(skipped, 0);
    api.delete(&crd_name, &DeleteParams::default())
        .await
        .expect("delete CRD");
}

#[tokio::test]
async fn unknown_kinds_are_named_like_helm() {
    let client = e2e::client().await;
    let applier = Applier::new(client);
    let err = applier
        .resources("# Source: c/templates/x.yaml\napiVersion: nope.example.com/v1\nkind: Nope\nmetadata:\n  name: thing\n", "default")
        .await
        .expect_err("unknown kind");
    assert_eq!(
        err.to_string(),
        "resource mapping not found for name: \"thing\" namespace: \"\" from \"c/templates/x.yaml\": no matches for kind \"Nope\" in version \"nope.example.com/v1\"\nensure CRDs are installed first"
    );
    // The real helm words the same failure the same way (it names no document).
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    );
    write(
        dir.path(),
        "templates/x.yaml",
        "apiVersion: nope.example.com/v1\nkind: Nope\nmetadata:\n  name: thing\n",
    );
    let (ok, _, helm_err) = run(
        "helm",
        &[
            "install",
            "x",
            dir.path().to_str().expect("utf-8"),
            "-n",
            "default",
            "--dry-run=server",
        ],
    );
    assert!(!ok, "helm accepted an unknown kind");
    let tail = "no matches for kind \"Nope\" in version \"nope.example.com/v1\"\nensure CRDs are installed first";
    assert!(
        helm_err.contains("resource mapping not found for name: \"thing\""),
        "{helm_err}"
    );
    assert!(helm_err.contains(tail), "{helm_err}");
}

#[tokio::test]
async fn uninstall_removes_everything_but_kept_objects() {
    let client = e2e::client().await;
    let ns = e2e::TestNamespace::create(&client, "apply-uninst").await;
    let applier = Applier::new(client.clone());
    let rel = release("web", &ns.name);
    let (manifest, _) = render(&scaffold("0.1.0"), "web", &ns.name);
    let manifest = manifest + &configmap_doc("kept", "    helm.sh/resource-policy: keep\n");
    let resources = applier
        .resources(&manifest, &ns.name)
        .await
        .expect("resources");
    applier.apply(&resources, &rel).await.expect("apply");
    let report = applier
        .uninstall(&resources, TIMEOUT)
        .await
        .expect("uninstall");
    assert_eq!(report.kept, vec![format!("ConfigMap {}/kept", ns.name)]);
    assert_eq!(report.deleted.len(), resources.len() - 1);
    // Uninstall order: Service before Deployment before ServiceAccount.
    let pos = |k: &str| {
        report
            .deleted
            .iter()
            .position(|a| a.starts_with(&format!("{k} ")))
    };
    assert!(pos("Service") < pos("Deployment") && pos("Deployment") < pos("ServiceAccount"));
    for r in &resources {
        let live = r.api(&client).get_opt(r.name()).await.expect("get");
        assert_eq!(live.is_some(), r.name() == "kept", "{}", r.display());
    }
    // Nothing left to delete: fine.
    let again = applier
        .uninstall(&resources, TIMEOUT)
        .await
        .expect("uninstall again");
    assert!(again.deleted.is_empty());
}

#[tokio::test]
async fn uninstall_in_a_terminating_namespace_returns() {
    let client = e2e::client().await;
    let ns = e2e::TestNamespace::create(&client, "apply-term").await;
    let applier = Applier::new(client.clone());
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stuck\n  finalizers: [apply.rudder.dev/block]\n";
    let resources = applier
        .resources(manifest, &ns.name)
        .await
        .expect("resources");
    applier
        .apply(&resources, &release("web", &ns.name))
        .await
        .expect("apply");
    let namespaces = Api::<Namespace>::all(client.clone());
    namespaces
        .delete(&ns.name, &DeleteParams::background())
        .await
        .expect("delete namespace");
    // The finalizer keeps the ConfigMap (and the namespace) around.
    let report = applier
        .uninstall(&resources, TIMEOUT)
        .await
        .expect("uninstall returns although the object stays");
    assert_eq!(report.deleted.len() + report.missing.len(), 1);
    let cms = Api::<ConfigMap>::namespaced(client.clone(), &ns.name);
    assert!(
        cms.get_opt("stuck").await.expect("get").is_some(),
        "finalizer holds it"
    );
    cms.patch(
        "stuck",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("release finalizer");
}

/// Marks every Pod of the namespace matching `selector` as a kubelet would.
async fn set_pods_status(
    client: &Client,
    ns: &str,
    selector: &str,
    status: serde_json::Value,
) -> usize {
    let pods = Api::<Pod>::namespaced(client.clone(), ns);
    let list = pods
        .list(&ListParams::default().labels(selector))
        .await
        .expect("list pods");
    for p in &list.items {
        let name = p.metadata.name.clone().expect("pod name");
        pods.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "status": status })),
        )
        .await
        .expect("patch pod status");
    }
    list.items.len()
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[tokio::test]
async fn wait_ready_times_out_then_succeeds_when_pods_are_ready() {
    let client = e2e::client().await;
    let ns = e2e::TestNamespace::create(&client, "apply-wait").await;
    let applier = Applier::new(client.clone());
    // The simulated kubelet runs these Pods but never reports them Ready
    // (a failing readiness probe).
    let values =
        rudder::godata::json::parse_map(r#"{"podLabels": {"rudder.dev/simulate": "never-ready"}}"#)
            .expect("values");
    let (manifest, _) = render_with(&scaffold("0.1.0"), "web", &ns.name, values);
    let resources = applier
        .resources(&manifest, &ns.name)
        .await
        .expect("resources");
    applier
        .apply(&resources, &release("web", &ns.name))
        .await
        .expect("apply");
    let err = applier
        .wait_ready(&resources, Duration::from_secs(2))
        .await
        .expect_err("the Pod never becomes Ready");
    let text = err.to_string();
    assert!(matches!(err, ApplyError::Timeout { .. }), "{err:?}");
    assert!(
        text.contains(&format!("Deployment {}/web-scaffold", ns.name)),
        "{text}"
    );
    let selector = "app.kubernetes.io/instance=web";
    let n = e2e::eventually("the Deployment's Pod", TIMEOUT, || async {
        let n = set_pods_status(
            &client,
            &ns.name,
            selector,
            serde_json::json!({
                "phase": "Running",
                "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": now()},
                    {"type": "Ready", "status": "True", "lastTransitionTime": now()},
                    {"type": "ContainersReady", "status": "True", "lastTransitionTime": now()}
                ]
            }),
        )
        .await;
        (n > 0).then_some(n)
    })
    .await;
    assert_eq!(n, 1);
    applier
        .wait_ready(&resources, TIMEOUT)
        .await
        .expect("ready once the Pod is");
}

/// A hook Job `name` for `event` with `delete_policy`; its Pod is
/// labelled `hook=NAME`, and `rudder.dev/simulate=fail` when it must fail
/// (the simulated kubelet completes every other Job Pod).
fn hook_job(name: &str, event: &str, delete_policy: &str, fail: bool) -> String {
    let simulate = if fail {
        "\n        rudder.dev/simulate: fail"
    } else {
        ""
    };
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n    helm.sh/hook: {event}\n    helm.sh/hook-delete-policy: {delete_policy}\nspec:\n  backoffLimit: 0\n  template:\n    metadata:\n      labels:\n        hook: {name}{simulate}\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: m\n        image: busybox\n"
    )
}

#[tokio::test]
async fn pre_install_job_hook_runs_and_is_deleted_on_success() {
    let client = e2e::client().await;
    let ns = e2e::TestNamespace::create(&client, "apply-hook").await;
    let applier = Applier::new(client.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    );
    write(
        dir.path(),
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: main\n",
    );
    write(
        dir.path(),
        "templates/hook.yaml",
        &hook_job("migrate", "pre-install", "hook-succeeded", false),
    );
    let (_, rendered) = render(dir.path(), "web", &ns.name);
    assert_eq!(rendered.hooks.len(), 1);
    // The Job's Pod is scheduled, runs and succeeds.
    applier
        .run_hooks(&rendered.hooks, "pre-install", &ns.name, TIMEOUT)
        .await
        .expect("hook succeeds");
    let jobs = Api::<Job>::namespaced(client.clone(), &ns.name);
    assert!(
        jobs.get_opt("migrate").await.expect("get").is_none(),
        "deleted on success"
    );
    // Other events run nothing.
    applier
        .run_hooks(&rendered.hooks, "post-install", &ns.name, TIMEOUT)
        .await
        .expect("no post-install hooks");
}

/// A hook Job that its TTL removes the moment it completes
/// (`ttlSecondsAfterFinished: 0`, as ingress-nginx's admission Jobs) still
/// counts as complete: the hook is watched, not polled.
#[tokio::test]
async fn a_hook_job_removed_by_its_ttl_on_completion_succeeds() {
    let client = e2e::client().await;
    let ns = e2e::TestNamespace::create(&client, "apply-hookttl").await;
    let applier = Applier::new(client.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    );
    let job = hook_job("quick", "pre-install", "before-hook-creation", false).replace(
        "spec:\n  backoffLimit: 0\n",
        "spec:\n  backoffLimit: 0\n  ttlSecondsAfterFinished: 0\n",
    );
    assert!(job.contains("ttlSecondsAfterFinished: 0"));
    write(dir.path(), "templates/hook.yaml", &job);
    let (_, rendered) = render(dir.path(), "web", &ns.name);
    applier
        .run_hooks(
            &rendered.hooks,
            "pre-install",
            &ns.name,
            Duration::from_secs(30),
        )
        .await
        .expect("the hook completed before its TTL removed it");
    let fail = hook_job("doomed", "pre-install", "before-hook-creation", true).replace(
        "spec:\n  backoffLimit: 0\n",
        "spec:\n  backoffLimit: 0\n  ttlSecondsAfterFinished: 0\n",
    );
    write(dir.path(), "templates/hook.yaml", &fail);
    let (_, rendered) = render(dir.path(), "web", &ns.name);
    let err = applier
        .run_hooks(
            &rendered.hooks,
            "pre-install",
            &ns.name,
            Duration::from_secs(30),
        )
        .await
        .expect_err("a failed Job stays a failure when its TTL removes it");
    assert!(err.to_string().contains("failed"), "{err}");
}

#[tokio::test]
async fn capabilities_match_the_cluster() {
    let client = e2e::client().await;
    let applier = Applier::new(client.clone());
    let caps = applier.capabilities().await.expect("capabilities");
    assert!(caps.has("apps/v1") && caps.has("apps/v1/Deployment") && caps.has("v1/Pod"));
    let (ok, out, err) = run("kubectl", &["version", "-o", "json"]);
    assert!(ok, "kubectl version: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("kubectl json");
    assert_eq!(
        Some(caps.git_version.as_str()),
        v["serverVersion"]["gitVersion"].as_str()
    );
    // Other tests add and remove CRDs meanwhile: compare a few times, each
    // against fresh discovery, until both sides saw the same cluster.
    let mut diff = Vec::new();
    for _ in 0..5 {
        applier.refresh_discovery().await.expect("refresh");
        let (ok, out, err) = run("kubectl", &["api-versions"]);
        assert!(ok, "kubectl api-versions: {err}");
        let caps = applier.capabilities().await.expect("capabilities");
        let kubectl: Vec<&str> = out.lines().collect();
        let ours: Vec<&String> = caps
            .api_versions
            .iter()
            .filter(|a| {
                !a.rsplit('/')
                    .next()
                    .is_some_and(|k| k.starts_with(char::is_uppercase))
            })
            .collect();
        diff = kubectl
            .iter()
            .filter(|gv| !caps.has(gv))
            .map(|gv| format!("missing {gv}"))
            .chain(
                ours.iter()
                    .filter(|gv| !kubectl.contains(&gv.as_str()))
                    .map(|gv| format!("extra {gv}")),
            )
            .collect();
        if diff.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        diff.is_empty(),
        "capabilities differ from kubectl api-versions: {diff:?}"
    );
    let before = applier.writes();
    applier.refresh_discovery().await.expect("refresh");
    assert_eq!(applier.writes(), before, "discovery makes no writes");
}

#[tokio::test]
async fn rendering_with_cluster_capabilities_matches_helm_dry_run_server() {
    let client = e2e::client().await;
    let ns = e2e::TestNamespace::create(&client, "apply-caps").await;
    let applier = Applier::new(client.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "Chart.yaml",
        "apiVersion: v2\nname: caps\nversion: 0.1.0\n",
    );
    write(
        dir.path(),
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caps\ndata:\n  kube: \"{{ .Capabilities.KubeVersion }} {{ .Capabilities.KubeVersion.Version }} {{ .Capabilities.KubeVersion.Major }} {{ .Capabilities.KubeVersion.Minor }}\"\n  has: \"{{ .Capabilities.APIVersions.Has \"apps/v1/Deployment\" }} {{ .Capabilities.APIVersions.Has \"autoscaling/v1/Scale\" }} {{ .Capabilities.APIVersions.Has \"apps/v1beta1\" }}\"\n  count: \"{{ len .Capabilities.APIVersions }}\"\n",
    );
    // Other tests add and remove CRDs meanwhile: retry with fresh discovery
    // until helm and rudder saw the same cluster.
    let mut last = String::new();
    for _ in 0..5 {
        applier.refresh_discovery().await.expect("refresh");
        let caps = applier.capabilities().await.expect("capabilities");
        let chart = rudder::chart::load(dir.path()).expect("chart");
        let mut opts = RenderOptions {
            release_name: "caps".into(),
            namespace: ns.name.clone(),
            ..Default::default()
        };
        opts.kube_version = Some(caps.kube_version());
        opts.api_versions_replace = Some(caps.api_versions.clone());
        let rendered = action::render(chart, &Value::empty_map(), &opts).expect("render");
        let ours = rendered.manifests[0].content.clone();
        let (ok, out, err) = run(
            "helm",
            &[
                "install",
                "caps",
                dir.path().to_str().expect("utf-8"),
                "-n",
                &ns.name,
                "--dry-run=server",
            ],
        );
        assert!(ok, "helm dry run: {err}");
        if out.contains(&ours) {
            return;
        }
        last = format!("helm rendered:\n{out}\nwe rendered:\n{ours}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    panic!("{last}");
}

#[tokio::test]
async fn failed_hook_job_is_an_error_and_deleted_by_hook_failed_policy() {
    let client = e2e::client().await;
    let ns = e2e::TestNamespace::create(&client, "apply-hookfail").await;
    let applier = Applier::new(client.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    );
    write(
        dir.path(),
        "templates/hook.yaml",
        &hook_job("check", "pre-upgrade", "hook-failed", true),
    );
    let (_, rendered) = render(dir.path(), "web", &ns.name);
    let err = applier
        .run_hooks(&rendered.hooks, "pre-upgrade", &ns.name, TIMEOUT)
        .await
        .expect_err("the hook failed");
    let text = err.to_string();
    assert!(
        text.starts_with("pre-upgrade hook c/templates/hook.yaml failed: "),
        "{text}"
    );
    assert!(
        text.contains(&format!("Job {}/check failed", ns.name)),
        "{text}"
    );
    let jobs = Api::<Job>::namespaced(client.clone(), &ns.name);
    assert!(
        jobs.get_opt("check").await.expect("get").is_none(),
        "deleted by hook-failed"
    );
}

#[tokio::test]
async fn apply_stops_at_the_first_error_and_names_the_object() {
    let client = e2e::client().await;
    let ns = e2e::TestNamespace::create(&client, "apply-err").await;
    let applier = Applier::new(client.clone());
    // Install order puts the (invalid) ConfigMap before the Service.
    let manifest = "---\n# Source: c/templates/svc.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: after\nspec:\n  ports:\n  - port: 80\n---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata:\n  \"not a key!\": v\n";
    let resources = applier
        .resources(manifest, &ns.name)
        .await
        .expect("resources");
    let err = applier
        .apply(&resources, &release("web", &ns.name))
        .await
        .expect_err("invalid ConfigMap");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("applying ConfigMap {}/bad: ", ns.name)),
        "{text}"
    );
    assert!(
        matches!(
            err,
            ApplyError::Api {
                code: Some(422),
                ..
            }
        ),
        "{err:?}"
    );
    let svcs = Api::<Service>::namespaced(client.clone(), &ns.name);
    assert!(
        svcs.get_opt("after").await.expect("get").is_none(),
        "nothing after the failure was applied"
    );
}

#[tokio::test]
async fn namespaces_are_created_once_with_helms_label() {
    let client = e2e::client().await;
    let applier = Applier::new(client.clone());
    let name = format!("apply-newns-{}", std::process::id());
    assert!(applier.ensure_namespace(&name).await.expect("create"));
    assert!(!applier.ensure_namespace(&name).await.expect("exists"));
    let api = Api::<Namespace>::all(client.clone());
    let ns = api.get(&name).await.expect("namespace");
    assert_eq!(
        ns.metadata.labels.unwrap_or_default().get("name"),
        Some(&name)
    );
    api.delete(&name, &DeleteParams::background())
        .await
        .expect("delete namespace");
}

/// `--wait` on custom resources reads them as kstatus does: one with no
/// status (a ServiceMonitor-like object) does not hold the wait; one whose
/// status says `Ready=False` does, naming the condition; `Stalled=True`
/// fails at once.
#[tokio::test]
async fn custom_resources_wait_as_kstatus_reads_them() {
    let client = e2e::client().await;
    let ns = e2e::TestNamespace::create(&client, "apply-crwait").await;
    let applier = Applier::new(client.clone());
    let group = format!("w{}.apply.rudder.dev", std::process::id());
    let crd_name = format!("gizmos.{group}");
    let crd = format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {crd_name}\nspec:\n  group: {group}\n  scope: Namespaced\n  names:\n    plural: gizmos\n    singular: gizmo\n    kind: Gizmo\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    subresources:\n      status: {{}}\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n"
    );
    applier
        .install_crds(
            &[("c/crds/gizmos.yaml".to_string(), crd)],
            rudder::apply::CrdPolicy::Create,
            TIMEOUT,
        )
        .await
        .expect("install crds");
    let manifest = format!(
        "---\n# Source: c/templates/g.yaml\napiVersion: {group}/v1\nkind: Gizmo\nmetadata:\n  name: g1\nspec:\n  size: 3\n"
    );
    let resources = applier
        .resources(&manifest, &ns.name)
        .await
        .expect("resources");
    applier
        .apply(&resources, &release("web", &ns.name))
        .await
        .expect("apply CR");
    applier
        .wait_ready(&resources, Duration::from_secs(20))
        .await
        .expect("a custom resource without a status does not hold the wait");
    let gizmos = Api::<kube::core::DynamicObject>::namespaced_with(
        client.clone(),
        &ns.name,
        &kube::discovery::ApiResource {
            group: group.clone(),
            version: "v1".into(),
            api_version: format!("{group}/v1"),
            kind: "Gizmo".into(),
            plural: "gizmos".into(),
        },
    );
    let set_status = |status: serde_json::Value| {
        let gizmos = gizmos.clone();
        async move {
            gizmos
                .patch_status(
                    "g1",
                    &PatchParams::default(),
                    &Patch::Merge(serde_json::json!({ "status": status })),
                )
                .await
                .expect("patch status");
        }
    };
    set_status(serde_json::json!({"observedGeneration": 1, "conditions": [
        {"type": "Ready", "status": "False", "reason": "Provisioning", "message": "waiting for the disk"}
    ]}))
    .await;
    let err = applier
        .wait_ready(&resources, Duration::from_secs(2))
        .await
        .expect_err("Ready=False holds the wait");
    let text = err.to_string();
    assert!(matches!(err, ApplyError::Timeout { .. }), "{err:?}");
    assert!(
        text.contains("Gizmo") && text.contains("Ready=False Provisioning waiting for the disk"),
        "{text}"
    );
    set_status(serde_json::json!({"conditions": [
        {"type": "Ready", "status": "False", "reason": "Provisioning", "message": "waiting for the disk"},
        {"type": "Stalled", "status": "True", "reason": "QuotaExceeded", "message": "no disks left"}
    ]}))
    .await;
    let err = applier
        .wait_ready(&resources, Duration::from_secs(20))
        .await
        .expect_err("Stalled=True fails");
    assert!(matches!(err, ApplyError::Failed { .. }), "{err:?}");
    assert!(err.to_string().contains("no disks left"), "{err}");
    let crds = Api::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>::all(client.clone());
    crds.delete(&crd_name, &DeleteParams::default())
        .await
        .expect("delete CRD");
}
