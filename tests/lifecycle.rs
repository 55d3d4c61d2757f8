//! Helm's whole release lifecycle on the test control plane with simulated
//! nodes, real `helm` as the observer: every hook phase in weight order
//! (rollback and delete hooks too, none with `disableHooks`), `spec.test`,
//! remediation by uninstall and by rollback, a stalled release that
//! recovers after a `valuesFrom` fix and after the reset annotation, an
//! immutable StatefulSet selector that needs `upgrade.force`, health
//! expressions for custom resources, and a status that shows the phase
//! while an install runs (read by `kubectl wait`), with failures logged,
//! evented and counted.

mod e2e;
mod hr;
mod repo_server;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2e::{Rudder, TestNamespace, eventually, helm, helm_history, helm_json};
use futures::StreamExt;
use hr::*;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use rudder::api::{ConditionStatus, HelmRelease};
use serde_json::{Value as Json, json};

/// A hook Job for `event` with `weight`; its Pod fails when
/// `.Values.failHooks` names the event.
fn hook_job(event: &str, weight: i64) -> String {
    format!(
        r#"apiVersion: batch/v1
kind: Job
metadata:
  name: {{{{ .Release.Name }}}}-{event}-w{w}
  annotations:
    helm.sh/hook: {event}
    helm.sh/hook-weight: "{weight}"
spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        hook: {event}
        {{{{- if has "{event}" .Values.failHooks }}}}
        rudder.dev/simulate: fail
        {{{{- end }}}}
    spec:
      restartPolicy: Never
      containers:
      - name: hook
        image: busybox
"#,
        w = weight + 10
    )
}

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
        {{- with .Values.simulate }}
        rudder.dev/simulate: {{ . }}
        {{- end }}
    spec:
      containers:
      - name: web
        image: nginx
"#;

const STATEFULSET: &str = r#"apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .Release.Name }}-db
spec:
  replicas: 1
  serviceName: {{ .Release.Name }}-db
  selector:
    matchLabels:
      app: {{ .Release.Name }}-db
      tier: {{ .Values.tier }}
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}-db
        tier: {{ .Values.tier }}
    spec:
      containers:
      - name: db
        image: postgres
"#;

const EXTRA_NS_CM: &str = r#"{{- if .Values.extraNamespace }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-extra
  namespace: {{ .Values.extraNamespace }}
data: {}
{{- end }}
"#;

const WIDGETS: &str = r#"{{- if .Values.widgets }}
apiVersion: lifecycle.rudder.dev/v1
kind: Widget
metadata:
  name: {{ .Release.Name }}-widget
spec:
  size: {{ .Values.v | quote }}
---
apiVersion: lifecycle.rudder.dev/v1
kind: Gadget
metadata:
  name: {{ .Release.Name }}-gadget
spec: {}
{{- end }}
"#;

const VALUES: &str = "v: one\nsimulate: \"\"\ntier: a\nfailHooks: []\ntestResult: \"\"\nextraNamespace: \"\"\nwidgets: false\n";

const TEST_JOB: &str = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-smoke
  annotations:
    helm.sh/hook: test
spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        test: smoke
        {{- with .Values.testResult }}
        rudder.dev/simulate: {{ . }}
        {{- end }}
    spec:
      restartPolicy: Never
      containers:
      - name: t
        image: busybox
"#;

const HOOK_EVENTS: &[(&str, i64)] = &[
    ("pre-install", 5),
    ("pre-install", -5),
    ("post-install", 0),
    ("pre-upgrade", 0),
    ("post-upgrade", 0),
    ("pre-rollback", 0),
    ("post-rollback", 0),
    ("pre-delete", 0),
    ("post-delete", 0),
];

/// Serves chart `life` 0.1.0 (its parts chosen by `templates`) from a
/// loopback repository that HelmRepository `charts` in `ns` points at.
async fn serve_life(
    client: &Client,
    ns: &str,
    templates: &[(&str, String)],
) -> (tempfile::TempDir, repo_server::Site) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut files: Vec<(&str, &str)> =
        vec![("values.yaml", VALUES), ("templates/cm.yaml", CM_TEMPLATE)];
    files.extend(templates.iter().map(|(p, t)| (*p, t.as_str())));
    let site = serve(repository_files(&[write_chart(
        tmp.path(),
        "life",
        "0.1.0",
        &files,
    )]))
    .await;
    create_repository(client, ns, "charts", &site.base()).await;
    (tmp, site)
}

async fn create(api: &Api<HelmRelease>, name: &str, spec: Json) {
    api.create(
        &PostParams::default(),
        &release(name, "charts", "life", "0.1.0", spec),
    )
    .await
    .expect("create HelmRelease");
}

/// The names of the Jobs created in `ns`, in creation order, as a watch
/// sees them.
fn record_jobs(client: &Client, ns: &str) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = seen.clone();
    let api: Api<Job> = Api::namespaced(client.clone(), ns);
    tokio::spawn(async move {
        let mut stream = watcher(api, watcher::Config::default())
            .applied_objects()
            .boxed();
        while let Some(Ok(job)) = stream.next().await {
            let name = job.name_any();
            let mut seen = out.lock().expect("lock");
            if !seen.contains(&name) {
                seen.push(name);
            }
        }
    });
    seen
}

fn jobs_of(seen: &Arc<Mutex<Vec<String>>>, prefix: &str) -> Vec<String> {
    seen.lock()
        .expect("lock")
        .iter()
        .filter(|n| n.starts_with(prefix))
        .cloned()
        .collect()
}

async fn wait_jobs(seen: &Arc<Mutex<Vec<String>>>, prefix: &str, count: usize) -> Vec<String> {
    eventually(
        &format!("{count} Jobs named {prefix}*"),
        Duration::from_secs(60),
        || async {
            let jobs = jobs_of(seen, prefix);
            (jobs.len() >= count).then_some(jobs)
        },
    )
    .await
}

fn condition(obj: &HelmRelease, type_: &str) -> Option<(ConditionStatus, String, String)> {
    obj.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status, c.reason.clone(), c.message.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hook_phase_runs_in_weight_order_and_helm_records_it() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "hooks").await;
    let n = ns.name.as_str();
    let hooks: Vec<(String, String)> = HOOK_EVENTS
        .iter()
        .map(|(e, w)| (format!("templates/{e}-{w}.yaml"), hook_job(e, *w)))
        .collect();
    let templates: Vec<(&str, String)> =
        hooks.iter().map(|(p, t)| (p.as_str(), t.clone())).collect();
    let (_tmp, _site) = serve_life(&client, n, &templates).await;
    let seen = record_jobs(&client, n);
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    create(&api, "app", json!({})).await;
    create(
        &api,
        "quiet",
        json!({"install": {"disableHooks": true}, "uninstall": {"disableHooks": true}}),
    )
    .await;
    let rudder = Rudder::start(n, "hooks", &[]);

    wait_revision(&api, "app", 1).await;
    wait_revision(&api, "quiet", 1).await;
    assert_eq!(
        jobs_of(&seen, "app-"),
        [
            "app-pre-install-w5",
            "app-pre-install-w15",
            "app-post-install-w10"
        ],
        "pre-install hooks by weight, then post-install"
    );
    let hooks_text = helm(&["get", "hooks", "app", "-n", n]);
    for (event, w) in HOOK_EVENTS {
        assert!(
            hooks_text.contains(&format!("name: app-{event}-w{}", w + 10)),
            "helm get hooks lists the {event} hook:\n{hooks_text}"
        );
    }
    let status = helm_json(&["status", "app", "-n", n]);
    let ran: Vec<(String, String)> = status["hooks"]
        .as_array()
        .expect("hooks")
        .iter()
        .filter(|h| {
            h["last_run"]["phase"]
                .as_str()
                .is_some_and(|p| !p.is_empty())
        })
        .map(|h| {
            (
                h["name"].as_str().unwrap_or("").to_string(),
                h["last_run"]["phase"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(ran.len(), 3, "the record says which hooks ran: {ran:?}");
    assert!(ran.iter().all(|(_, p)| p == "Succeeded"), "{ran:?}");

    patch_spec(&api, "app", json!({"values": {"v": "two"}})).await;
    wait_revision(&api, "app", 2).await;
    assert_eq!(
        &jobs_of(&seen, "app-")[3..],
        ["app-pre-upgrade-w10", "app-post-upgrade-w10"]
    );

    // A rollback runs the target revision's rollback hooks, and waits.
    patch_spec(&api, "app", json!({"revision": 1})).await;
    wait_revision(&api, "app", 1).await;
    assert_eq!(
        &jobs_of(&seen, "app-")[5..],
        ["app-pre-rollback-w10", "app-post-rollback-w10"]
    );

    // Deleting the HelmRelease runs the delete hooks; disableHooks none.
    api.delete("app", &Default::default())
        .await
        .expect("delete");
    api.delete("quiet", &Default::default())
        .await
        .expect("delete");
    let all = wait_jobs(&seen, "app-", 9).await;
    assert_eq!(&all[7..], ["app-pre-delete-w10", "app-post-delete-w10"]);
    eventually(
        "both HelmReleases gone",
        Duration::from_secs(60),
        || async {
            api.list(&Default::default())
                .await
                .ok()
                .filter(|l| l.items.is_empty())
        },
    )
    .await;
    assert!(
        jobs_of(&seen, "quiet-").is_empty(),
        "disableHooks runs no hook: {:?}",
        jobs_of(&seen, "quiet-")
    );
    drop(rudder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_installs_are_uninstalled_and_failed_upgrades_rolled_back() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "remedy").await;
    let n = ns.name.as_str();
    let (_tmp, _site) =
        serve_life(&client, n, &[("templates/deploy.yaml", DEPLOYMENT.into())]).await;
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    create(
        &api,
        "bad",
        json!({"timeout": "6s", "values": {"simulate": "never-ready"},
               "install": {"remediation": {"strategy": "uninstall"}}}),
    )
    .await;
    create(
        &api,
        "good",
        json!({"timeout": "20s", "upgrade": {"remediation": {"strategy": "rollback"}}}),
    )
    .await;
    let rudder = Rudder::start(n, "remedy", &[]);

    // The install fails at its timeout naming the Deployment, and is
    // uninstalled.
    let msg = wait_condition(&api, "bad", "Remediated", "Uninstalled").await;
    assert!(msg.contains("revision 1 failed"), "{msg}");
    let obj = api.get("bad").await.expect("get");
    let (st, reason, message) = condition(&obj, "Ready").expect("Ready");
    assert_eq!(st, ConditionStatus::False);
    assert!(
        reason == "InstallFailed" || reason == "RetriesExhausted",
        "{reason}"
    );
    assert!(message.contains("Deployment"), "{message}");
    assert!(
        Api::<Deployment>::namespaced(client.clone(), n)
            .get_opt("bad-web")
            .await
            .expect("get")
            .is_none(),
        "the failed install's Deployment is removed"
    );
    assert_eq!(helm_history(n, "bad"), vec![(1, "uninstalled".to_string())]);

    // An upgrade whose Deployment never becomes ready is rolled back: the
    // live objects are revision 1's again, and helm agrees.
    wait_revision(&api, "good", 1).await;
    patch_spec(
        &api,
        "good",
        json!({"timeout": "6s", "values": {"v": "two", "simulate": "never-ready"}}),
    )
    .await;
    let msg = wait_condition(&api, "good", "Remediated", "RolledBack").await;
    assert!(msg.contains("rolled back to revision 1"), "{msg}");
    let obj = api.get("good").await.expect("get");
    assert_eq!(obj.status.as_ref().and_then(|s| s.revision), Some(1));
    let cm = configmap(&client, n, "good-cm").await.expect("ConfigMap");
    assert_eq!(
        cm.data.expect("data")["v"],
        "one",
        "revision 1's values are live"
    );
    let d = Api::<Deployment>::namespaced(client.clone(), n)
        .get("good-web")
        .await
        .expect("Deployment");
    let labels = d
        .spec
        .and_then(|s| s.template.metadata)
        .and_then(|m| m.labels)
        .unwrap_or_default();
    assert_eq!(
        labels.get("rudder.dev/simulate"),
        None,
        "revision 1's Pod template is live"
    );
    let history = helm_history(n, "good");
    assert_eq!(
        history
            .iter()
            .find(|(r, _)| *r == 1)
            .map(|(_, s)| s.as_str()),
        Some("deployed"),
        "{history:?}"
    );
    assert_eq!(
        history
            .iter()
            .find(|(r, _)| *r == 2)
            .map(|(_, s)| s.as_str())
            .unwrap_or("failed"),
        "failed",
        "{history:?}"
    );
    drop(rudder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passing_and_failing_tests_set_test_success() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "tests").await;
    let n = ns.name.as_str();
    let (_tmp, _site) = serve_life(
        &client,
        n,
        &[("templates/tests/smoke.yaml", TEST_JOB.into())],
    )
    .await;
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    create(
        &api,
        "app",
        json!({"timeout": "30s", "test": {"enable": true}}),
    )
    .await;
    let rudder = Rudder::start(n, "tests", &[]);

    let msg = wait_condition(&api, "app", "TestSuccess", "TestSucceeded").await;
    assert!(msg.contains("passed"), "{msg}");
    wait_revision(&api, "app", 1).await;
    let status = helm_json(&["status", "app", "-n", n]);
    let smoke = status["hooks"]
        .as_array()
        .and_then(|h| h.iter().find(|h| h["name"] == "app-smoke"))
        .cloned()
        .expect("the test hook in the record");
    assert_eq!(smoke["last_run"]["phase"], "Succeeded", "{smoke}");

    patch_spec(&api, "app", json!({"values": {"testResult": "fail"}})).await;
    let msg = wait_condition(&api, "app", "TestSuccess", "TestFailed").await;
    assert!(msg.contains("app-smoke"), "{msg}");
    let obj = api.get("app").await.expect("get");
    let (ready, reason, _) = condition(&obj, "Ready").expect("Ready");
    assert_eq!(ready, ConditionStatus::False);
    // Without retries the next reconciliation stalls on the failed test.
    assert!(
        reason == "TestFailed" || reason == "RetriesExhausted",
        "{reason}"
    );
    let history = &obj.status.expect("status").history;
    assert_eq!(history[0].tests.as_deref(), Some("Failed"), "{history:?}");
    drop(rudder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_release_recovers_after_a_values_from_fix_and_after_reset() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "stall").await;
    let n = ns.name.as_str();
    let (_tmp, _site) = serve_life(
        &client,
        n,
        &[
            ("templates/deploy.yaml", DEPLOYMENT.into()),
            ("templates/extra.yaml", EXTRA_NS_CM.into()),
        ],
    )
    .await;
    create_json::<ConfigMap>(
        &client,
        n,
        json!({"metadata": {"name": "vals"}, "data": {"values.yaml": "simulate: never-ready\n"}}),
    )
    .await;
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    create(
        &api,
        "app",
        json!({"timeout": "5s", "valuesFrom": [{"kind": "ConfigMap", "name": "vals"}]}),
    )
    .await;
    let rudder = Rudder::start(n, "stall", &[]);

    wait_condition(&api, "app", "Stalled", "RetriesExhausted").await;
    // The fix arrives through the ConfigMap: new inputs, new tries.
    Api::<ConfigMap>::namespaced(client.clone(), n)
        .patch(
            "vals",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"values.yaml": "simulate: \"\"\n"}})),
        )
        .await
        .expect("patch ConfigMap");
    eventually(
        "the release installed after the fix",
        Duration::from_secs(90),
        || async {
            let obj = api.get("app").await.ok()?;
            let (st, _, _) = condition(&obj, "Ready")?;
            (st == ConditionStatus::True && obj.status?.revision.is_some()).then_some(())
        },
    )
    .await;

    // An upgrade that fails for a reason outside its inputs (a namespace
    // missing) stalls; once the namespace exists, the reset annotation
    // gives it new tries.
    let other = format!("{n}-x");
    patch_spec(&api, "app", json!({"values": {"extraNamespace": other}})).await;
    wait_condition(&api, "app", "Stalled", "RetriesExhausted").await;
    let missing = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some(other.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let nss: Api<Namespace> = Api::all(client.clone());
    nss.create(&PostParams::default(), &missing)
        .await
        .expect("namespace");
    api.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {"helm.rudder.dev/reset-at": "1"}}})),
    )
    .await
    .expect("annotate");
    // Revision 1 failed, 2 went live after the fix, 3 failed, 4 after reset.
    wait_revision(&api, "app", 4).await;
    let obj = api.get("app").await.expect("get");
    assert_eq!(
        obj.status
            .as_ref()
            .and_then(|s| s.last_handled_reset_at.as_deref()),
        Some("1")
    );
    let _ = nss.delete(&other, &Default::default()).await;
    drop(rudder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_immutable_selector_change_needs_force() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "force").await;
    let n = ns.name.as_str();
    let (_tmp, _site) = serve_life(&client, n, &[("templates/sts.yaml", STATEFULSET.into())]).await;
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    create(&api, "app", json!({"timeout": "30s"})).await;
    let rudder = Rudder::start(n, "force", &[]);
    wait_revision(&api, "app", 1).await;

    patch_spec(&api, "app", json!({"values": {"tier": "b"}})).await;
    let msg = wait_condition(&api, "app", "Ready", "UpgradeFailed").await;
    assert!(
        msg.contains("StatefulSet") && msg.contains("app-db") && msg.contains("spec.upgrade.force"),
        "the failure names the object and the way through: {msg}"
    );
    patch_spec(&api, "app", json!({"upgrade": {"force": true}})).await;
    eventually("the forced upgrade", Duration::from_secs(90), || async {
        let obj = api.get("app").await.ok()?;
        let (st, _, _) = condition(&obj, "Ready")?;
        (st == ConditionStatus::True && obj.status?.revision >= Some(3)).then_some(())
    })
    .await;
    let sts = Api::<StatefulSet>::namespaced(client.clone(), n)
        .get("app-db")
        .await
        .expect("StatefulSet");
    let selector = sts
        .spec
        .expect("spec")
        .selector
        .match_labels
        .unwrap_or_default();
    assert_eq!(selector.get("tier").map(String::as_str), Some("b"));
    drop(rudder);
}

/// Cluster-scoped-named CRDs `widgets`/`gadgets` in group
/// lifecycle.rudder.dev (namespaced kinds), created once.
async fn install_widget_crds(client: &Client) {
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    for (plural, kind) in [("widgets", "Widget"), ("gadgets", "Gadget")] {
        let crd = serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.lifecycle.rudder.dev")},
            "spec": {"group": "lifecycle.rudder.dev", "scope": "Namespaced",
                "names": {"plural": plural, "singular": kind.to_lowercase(), "kind": kind},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
        }))
        .expect("crd");
        match crds.create(&PostParams::default(), &crd).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => panic!("creating the {kind} CRD: {e}"),
        }
        eventually(
            &format!("{kind} established"),
            Duration::from_secs(30),
            || async {
                let c = crds
                    .get(&format!("{plural}.lifecycle.rudder.dev"))
                    .await
                    .ok()?;
                c.status?
                    .conditions?
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
                    .then_some(())
            },
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_phase_and_health_expressions_decide_custom_resources() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    install_widget_crds(&client).await;
    let ns = TestNamespace::create(&client, "phase").await;
    let n = ns.name.as_str();
    let (_tmp, _site) = serve_life(
        &client,
        n,
        &[
            ("templates/widgets.yaml", WIDGETS.into()),
            ("templates/extra.yaml", EXTRA_NS_CM.into()),
        ],
    )
    .await;
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    create(
        &api,
        "app",
        json!({"timeout": "60s", "values": {"widgets": true},
               "healthChecks": [{"apiVersion": "lifecycle.rudder.dev/v1", "kind": "Widget",
                                 "current": "has(status.phase) && status.phase == 'Ready'",
                                 "failed": "has(status.phase) && status.phase == 'Broken'"}]}),
    )
    .await;
    let rudder = Rudder::start(n, "phase", &[]);

    // While the Widget is not ready, the status says what runs.
    let message = eventually(
        "Reconciling=True while waiting",
        Duration::from_secs(60),
        || async {
            let obj = api.get("app").await.ok()?;
            let (st, reason, message) = condition(&obj, "Reconciling")?;
            let (ready, _, _) = condition(&obj, "Ready")?;
            (st == ConditionStatus::True
                && reason == "Progressing"
                && ready == ConditionStatus::Unknown
                && message.contains("Widget"))
            .then_some(message)
        },
    )
    .await;
    assert!(message.contains("waiting for"), "{message}");
    let kc = e2e::kubeconfig().to_string_lossy().into_owned();
    let waiter = std::process::Command::new("kubectl")
        .args([
            "--kubeconfig",
            &kc,
            "wait",
            "--for=condition=Ready",
            "helmrelease/app",
            "-n",
            n,
            "--timeout=90s",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl wait");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let obj = api.get("app").await.expect("get");
    assert_eq!(
        obj.status.and_then(|s| s.revision),
        None,
        "not live while the Widget is not ready"
    );

    // The Gadget (no status, no expression) never blocked; the Widget's
    // expression holds once its status says Ready.
    let gvk = GroupVersionKind::gvk("lifecycle.rudder.dev", "v1", "Widget");
    let widgets: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), n, &ApiResource::from_gvk(&gvk));
    widgets
        .patch(
            "app-widget",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Ready"}})),
        )
        .await
        .expect("patch the Widget");
    let out = tokio::task::spawn_blocking(move || waiter.wait_with_output())
        .await
        .expect("join")
        .expect("kubectl wait output");
    assert!(
        out.status.success(),
        "kubectl wait: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let obj = api.get("app").await.expect("get");
    assert_eq!(obj.status.as_ref().and_then(|s| s.revision), Some(1));

    // A slow upgrade shows its phase too, and Ready is not True until the
    // new revision is live.
    widgets
        .patch(
            "app-widget",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Working"}})),
        )
        .await
        .expect("patch the Widget");
    patch_spec(&api, "app", json!({"values": {"v": "two"}})).await;
    eventually(
        "Reconciling=True during the upgrade",
        Duration::from_secs(60),
        || async {
            let obj = api.get("app").await.ok()?;
            let (st, _, message) = condition(&obj, "Reconciling")?;
            let (ready, _, _) = condition(&obj, "Ready")?;
            (st == ConditionStatus::True
                && ready != ConditionStatus::True
                && message.contains("Widget"))
            .then_some(())
        },
    )
    .await;
    widgets
        .patch(
            "app-widget",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Ready"}})),
        )
        .await
        .expect("patch the Widget");
    wait_revision(&api, "app", 2).await;

    // A failed upgrade is logged, evented and counted as an error.
    patch_spec(
        &api,
        "app",
        json!({"values": {"extraNamespace": format!("{n}-absent")}}),
    )
    .await;
    let note = e2e::wait_warning(&client, n, "app", "UpgradeFailed").await;
    assert!(note.contains("absent"), "{note}");
    eventually(
        "a warn line naming the failure",
        Duration::from_secs(30),
        || async {
            rudder
                .logs()
                .lines()
                .any(|l| l.contains("WARN") && l.contains("UpgradeFailed"))
                .then_some(())
        },
    )
    .await;
    let (_, body) = e2e::http_get(rudder.addr, "/metrics").expect("metrics");
    let errors = body
        .lines()
        .find(|l| l.starts_with("rudder_reconcile_errors_total{kind=\"HelmRelease\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(
        errors >= 1.0,
        "the error metric counts the failure:\n{body}"
    );
    drop(rudder);
}
