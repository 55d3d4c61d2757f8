//! The user CLI against the test control plane, running the built
//! `rudder` binary as a user would, with `rudder run` reconciling: `get`,
//! `history` (checked against the real `helm history`), `status`,
//! `suspend`/`resume`, `reconcile --reset --wait`, `rollback --to`,
//! `completion`, `--help` of every verb, `kubectl rudder get` through the
//! real kubectl's plugin lookup; and `rudder diff` on podinfo: nothing to
//! say before a change, exactly the changed fields, a created and a
//! deleted object on a values change, and a real upgrade afterwards that
//! leaves the cluster as the diff predicted.

mod e2e;
mod hr;
mod repo_server;

use std::path::Path;
use std::process::{Command, Output};

use e2e::{RUDDER, Rudder, TestNamespace, helm_json, install_crds, kubeconfig};
use hr::*;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, PostParams};
use kube::{Api, Client, ResourceExt};
use repo_server::shared_index_files;
use rudder::api::HelmRelease;
use serde_json::{Value as Json, json};

/// Runs `program` (the built rudder, or kubectl) with the test
/// kubeconfig and `path_dir` first on PATH.
fn run_with(program: &str, args: &[&str], path_dir: Option<&Path>) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args).env("KUBECONFIG", kubeconfig());
    if let Some(dir) = path_dir {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", dir.display()));
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"))
}

/// Runs the built `rudder` with `args`.
fn rudder(args: &[&str]) -> Output {
    run_with(RUDDER, args, None)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs `rudder args`, asserts the exit code, returns stdout.
fn rudder_ok(args: &[&str], code: i32) -> String {
    let out = rudder(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "rudder {args:?}: stdout:\n{}\nstderr:\n{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

/// The cells of the table line of `text` whose first cell is `first`.
fn row<'a>(text: &'a str, first: &str) -> Vec<&'a str> {
    text.lines()
        .map(|l| {
            l.split("   ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect::<Vec<_>>()
        })
        .find(|cells| cells.first() == Some(&first))
        .unwrap_or_else(|| panic!("no row {first} in:\n{text}"))
}

// Two workers: the chart server answers while a test waits for `rudder`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_verb_works_against_the_cluster() {
    let client = e2e::client().await;
    install_crds(&client).await;
    let ns = TestNamespace::create(&client, "cli-verbs").await;
    let n = ns.name.as_str();
    let (_chart_dir, _site) = serve_app_chart(&client, n).await;
    let _rudder = Rudder::start(n, "cli-verbs", &[]);
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    api.create(
        &PostParams::default(),
        &release(
            "app",
            "charts",
            "app",
            "0.1.0",
            json!({"values": {"v": "one"}}),
        ),
    )
    .await
    .expect("create HelmRelease");
    wait_revision(&api, "app", 1).await;

    // get: table, -A, one object as JSON, repositories as a YAML List.
    let table = rudder_ok(&["get", "-n", n], 0);
    assert!(table.starts_with("NAME "), "{table}");
    let cells = row(&table, "app");
    assert_eq!(
        &cells[..6],
        ["app", "True", "1", "app", "0.1.0", "false"],
        "{table}"
    );
    let all = rudder_ok(&["get", "hr", "-A"], 0);
    assert!(all.starts_with("NAMESPACE "), "{all}");
    assert_eq!(&row(&all, n)[..3], [n, "app", "True"], "{all}");
    let one: Json =
        serde_json::from_str(&rudder_ok(&["get", "hr", "app", "-n", n, "-o", "json"], 0))
            .expect("JSON");
    assert_eq!(one["metadata"]["name"], "app");
    assert_eq!(one["status"]["revision"], 1);
    let repos: Json =
        serde_saphyr::from_str(&rudder_ok(&["get", "repo", "-n", n, "-o", "yaml"], 0))
            .expect("YAML");
    assert_eq!(repos["kind"], "List");
    assert_eq!(repos["items"][0]["metadata"]["name"], "charts");
    let repo_table = rudder_ok(&["get", "repo", "-n", n], 0);
    assert_eq!(row(&repo_table, "charts")[2], "True", "{repo_table}");
    let missing = rudder(&["get", "hr", "nope", "-n", n]);
    assert_eq!(missing.status.code(), Some(2));

    // An upgrade, then history against the real helm's.
    patch_spec(&api, "app", json!({"values": {"v": "two"}})).await;
    wait_revision(&api, "app", 2).await;
    let ours: Json =
        serde_json::from_str(&rudder_ok(&["history", "app", "-n", n, "-o", "json"], 0))
            .expect("JSON");
    let helms = helm_json(&["history", "app", "-n", n, "-o", "json"]);
    let pick = |v: &Json, status: &str| -> Vec<(i64, String, String)> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|r| {
                (
                    r["revision"].as_i64().expect("revision"),
                    r[status].as_str().expect("status").to_string(),
                    r["description"].as_str().expect("description").to_string(),
                )
            })
            .collect()
    };
    assert_eq!(pick(&ours, "status"), pick(&helms, "status"));
    let hist_table = rudder_ok(&["history", "app", "-n", n], 0);
    assert_eq!(row(&hist_table, "2")[2], "deployed", "{hist_table}");
    assert_eq!(row(&hist_table, "1")[2], "superseded", "{hist_table}");

    // status: conditions, the events rudder recorded, every object ready.
    let status = rudder_ok(&["status", "app", "-n", n], 0);
    assert_eq!(&row(&status, "Ready")[..2], ["Ready", "True"], "{status}");
    assert!(status.contains("Objects: all 1 ready"), "{status}");
    let report: Json =
        serde_json::from_str(&rudder_ok(&["status", "app", "-n", n, "-o", "json"], 0))
            .expect("JSON");
    assert_eq!(report["revision"], 2);
    assert_eq!(report["objects"], 1);
    let events = report["events"].as_array().expect("events");
    assert!(!events.is_empty(), "{report}");
    // An object of the live revision gone: status names it.
    Api::<ConfigMap>::namespaced(client.clone(), n)
        .delete("app-cm", &Default::default())
        .await
        .expect("delete ConfigMap");
    let status = rudder_ok(&["status", "app", "-n", n], 0);
    assert!(
        status.contains(&format!("ConfigMap {n}/app-cm: missing")),
        "{status}"
    );

    // suspend: no reconcile requests; resume.
    rudder_ok(&["suspend", "app", "-n", n], 0);
    assert!(api.get("app").await.expect("get").spec.suspend);
    let refused = rudder(&["reconcile", "app", "-n", n]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("suspended"));
    rudder_ok(&["resume", "app", "-n", n], 0);
    assert!(!api.get("app").await.expect("get").spec.suspend);

    // reconcile --reset --wait: both annotations, handled, Ready.
    let waited = rudder_ok(&["reconcile", "app", "--reset", "--wait", "-n", n], 0);
    assert!(
        waited.lines().last().is_some_and(|l| l.starts_with("✔")),
        "{waited}"
    );
    let obj = api.get("app").await.expect("get");
    let asked = obj
        .annotations()
        .get("helm.rudder.dev/requested-at")
        .cloned();
    assert!(asked.is_some());
    assert_eq!(
        obj.annotations().get("helm.rudder.dev/reset-at"),
        asked.as_ref()
    );
    let st = obj.status.expect("status");
    assert_eq!(st.last_handled_requested_at, asked);
    assert_eq!(st.last_handled_reset_at, asked);

    // rollback --to 1: spec.revision, and revision 1's value is live.
    rudder_ok(&["rollback", "app", "--to", "1", "-n", n], 0);
    assert_eq!(api.get("app").await.expect("get").spec.revision, Some(1));
    wait_revision(&api, "app", 1).await;
    let cm = configmap(&client, n, "app-cm").await.expect("ConfigMap");
    assert_eq!(cm.data.expect("data")["v"], "one");
    rudder_ok(&["rollback", "app", "--follow", "-n", n], 0);
    assert_eq!(api.get("app").await.expect("get").spec.revision, None);
    wait_revision(&api, "app", 3).await;

    // The real kubectl finds `kubectl-rudder` on PATH and runs it.
    let bin = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(RUDDER, bin.path().join("kubectl-rudder")).expect("symlink");
    let plugin = run_with("kubectl", &["rudder", "get", "-n", n], Some(bin.path()));
    assert!(
        plugin.status.success(),
        "{}",
        String::from_utf8_lossy(&plugin.stderr)
    );
    let plugin_out = stdout(&plugin);
    assert_eq!(
        &row(&plugin_out, "app")[..2],
        ["app", "True"],
        "{plugin_out}"
    );
    let plugin_help = run_with("kubectl", &["rudder", "get", "--help"], Some(bin.path()));
    assert!(
        stdout(&plugin_help).contains("Usage: kubectl rudder get"),
        "{}",
        stdout(&plugin_help)
    );
}

/// `--help` of every verb, and a completion script bash accepts.
#[test]
fn every_verb_has_help_and_completions_load() {
    for verb in [
        "get",
        "history",
        "status",
        "reconcile",
        "suspend",
        "resume",
        "rollback",
        "diff",
        "completion",
    ] {
        let help = rudder_ok(&[verb, "--help"], 0);
        assert!(help.contains(&format!("Usage: rudder {verb}")), "{help}");
    }
    let script = rudder_ok(&["completion", "bash"], 0);
    let out = Command::new("bash")
        .args(["-c", "source /dev/stdin; complete -p rudder"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(script.as_bytes())?;
            child.wait_with_output()
        })
        .expect("bash");
    assert!(stdout(&out).contains("rudder"), "{}", stdout(&out));
    for shell in ["zsh", "fish"] {
        assert!(rudder_ok(&["completion", shell], 0).contains("reconcile"));
    }
}

/// The values the diff is asked about, and the upgrade made afterwards:
/// two replicas (the Deployment changes in one field), a disruption budget
/// (created), no Service (deleted).
fn changed_values() -> Json {
    json!({
        "replicaCount": 2,
        "podDisruptionBudget": {"maxUnavailable": 1},
        "service": {"enabled": false}
    })
}

/// Whether `want` is contained in `have` (every field of `want` has the
/// same value in `have`; lists item by item).
fn contains(have: &Json, want: &Json) -> bool {
    match (have, want) {
        (Json::Object(h), Json::Object(w)) => w
            .iter()
            .all(|(k, v)| h.get(k).is_some_and(|hv| contains(hv, v))),
        (Json::Array(h), Json::Array(w)) => {
            h.len() == w.len() && h.iter().zip(w).all(|(a, b)| contains(a, b))
        }
        _ => have == want,
    }
}

/// The live object a change names, if it exists.
async fn live(client: &Client, ns: &str, change: &Json) -> Option<Json> {
    let (api_version, kind) = (
        change["after"]["apiVersion"]
            .as_str()
            .or(change["before"]["apiVersion"].as_str()),
        change["kind"].as_str().expect("kind"),
    );
    let gvk = match api_version.map(|v| v.split_once('/')) {
        Some(Some((g, v))) => GroupVersionKind::gvk(g, v, kind),
        _ => GroupVersionKind::gvk("", "v1", kind),
    };
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk(&gvk));
    let obj = api
        .get_opt(change["name"].as_str().expect("name"))
        .await
        .expect("reading a live object")?;
    Some(serde_json::to_value(obj).expect("JSON"))
}

// Two workers: the chart server answers while a test waits for `rudder`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_predicts_what_an_upgrade_does() {
    let client = e2e::client().await;
    install_crds(&client).await;
    let ns = TestNamespace::create(&client, "cli-diff").await;
    let n = ns.name.as_str();
    let site = serve(shared_index_files()).await;
    create_repository(&client, n, "charts", &site.base()).await;
    let _rudder = Rudder::start(n, "cli-diff", &[]);
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    api.create(
        &PostParams::default(),
        &release("web", "charts", "podinfo", "6.14.2", json!({})),
    )
    .await
    .expect("create HelmRelease");
    wait_revision(&api, "web", 1).await;

    // Nothing changed: nothing printed, exit 0.
    let start = std::time::Instant::now();
    assert_eq!(rudder_ok(&["diff", "web", "-n", n], 0), "");
    eprintln!("rudder diff, no change: {:?}", start.elapsed());

    // The values change: exactly the changed field, one created and one
    // deleted object.
    let set = [
        "--set",
        "replicaCount=2",
        "--set",
        "podDisruptionBudget.maxUnavailable=1",
        "--set",
        "service.enabled=false",
    ];
    let mut args = vec!["diff", "web", "-n", n];
    args.extend(set);
    let start = std::time::Instant::now();
    let text = rudder_ok(&args, 1);
    eprintln!("rudder diff, three changes: {:?}\n{text}", start.elapsed());
    let heads: Vec<&str> = text
        .lines()
        .filter(|l| {
            ["created ", "changed ", "deleted "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    assert_eq!(
        heads,
        [
            format!("created PodDisruptionBudget {n}/web-podinfo"),
            format!("changed Deployment {n}/web-podinfo"),
            format!("deleted Service {n}/web-podinfo"),
        ],
        "{text}"
    );
    let deployment = text
        .split("changed Deployment")
        .nth(1)
        .and_then(|t| t.split("deleted Service").next())
        .expect("the Deployment's part");
    let edits: Vec<&str> = deployment
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(edits, ["-  replicas: 1", "+  replicas: 2"], "{text}");
    assert!(
        text.ends_with("Plan: 1 to create, 1 to change, 1 to delete.\n"),
        "{text}"
    );

    // The same HelmRelease from a file says the same.
    let mut hr = serde_json::to_value(api.get("web").await.expect("get")).expect("JSON");
    hr["spec"]["values"] = changed_values();
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), serde_saphyr::to_string(&hr).expect("YAML")).expect("write");
    let path = file.path().to_str().expect("path");
    assert_eq!(rudder_ok(&["diff", "-f", path, "-n", n], 1), text);
    let predicted: Json =
        serde_json::from_str(&rudder_ok(&["diff", "-f", path, "-n", n, "-o", "json"], 1))
            .expect("JSON");

    // The real upgrade.
    patch_spec(&api, "web", json!({"values": changed_values()})).await;
    wait_revision(&api, "web", 2).await;
    for change in predicted.as_array().expect("changes") {
        let now = live(&client, n, change).await;
        match change["action"].as_str() {
            Some("deleted") => assert!(now.is_none(), "{change} still exists"),
            Some("created" | "changed") => {
                let now = now.unwrap_or_else(|| panic!("{change} does not exist"));
                assert!(
                    contains(&now, &change["after"]),
                    "predicted {}\nlive {now}",
                    change["after"]
                );
            }
            other => panic!("unknown action {other:?}"),
        }
    }
    assert_eq!(predicted.as_array().map(Vec::len), Some(3));
    // After it, the file's HelmRelease has nothing more to change.
    assert_eq!(rudder_ok(&["diff", "-f", path, "-n", n], 0), "");
}

/// A Secret holding `.Values.password`, and a ConfigMap holding `.Values.v`.
const SECRET_TEMPLATE: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-secret\ndata:\n  password: {{ .Values.password | b64enc }}\n  user: {{ \"admin\" | b64enc }}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_masks_secret_data_unless_asked() {
    let client = e2e::client().await;
    install_crds(&client).await;
    let ns = TestNamespace::create(&client, "cli-secret").await;
    let n = ns.name.as_str();
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = write_chart(
        tmp.path(),
        "vault",
        "0.1.0",
        &[
            ("templates/secret.yaml", SECRET_TEMPLATE),
            ("values.yaml", "password: hunter2\n"),
        ],
    );
    let site = serve(repository_files(&[chart])).await;
    create_repository(&client, n, "charts", &site.base()).await;
    let _rudder = Rudder::start(n, "cli-secret", &[]);
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    api.create(
        &PostParams::default(),
        &release("db", "charts", "vault", "0.1.0", json!({})),
    )
    .await
    .expect("create HelmRelease");
    wait_revision(&api, "db", 1).await;

    let masked = rudder_ok(&["diff", "db", "-n", n, "--set", "password=s3cret"], 1);
    let edits: Vec<&str> = masked
        .lines()
        .filter(|l| l.starts_with("-  ") || l.starts_with("+  "))
        .collect();
    assert_eq!(
        edits,
        [
            "-  password: \"*** old (7 bytes)\"",
            "+  password: \"*** new (6 bytes)\""
        ],
        "{masked}"
    );
    assert!(masked.contains("user: \"*** (5 bytes)\""), "{masked}");
    assert!(!masked.contains("aHVudGVyMg") && !masked.contains("czNjcmV0"));
    let shown = rudder_ok(
        &[
            "diff",
            "db",
            "-n",
            n,
            "--set",
            "password=s3cret",
            "--show-secrets",
            "-o",
            "yaml",
        ],
        1,
    );
    let changes: Json = serde_saphyr::from_str(&shown).expect("YAML");
    assert_eq!(changes[0]["action"], "changed");
    assert_eq!(changes[0]["before"]["data"]["password"], "aHVudGVyMg==");
    assert_eq!(changes[0]["after"]["data"]["password"], "czNjcmV0");
}
