//! Templates' `lookup` against the live cluster, end to end: `rudder run`
//! on the real control plane, charts built in the test and served from
//! 127.0.0.1. A chart keeps a generated password through `lookup` across
//! upgrades, reads cluster-scoped objects and lists, and a HelmRelease
//! whose service account may not read what its chart looks up fails to
//! render, with a status naming the lookup and the refused object.
//!
//! Each test runs its own rudder, which reconciles only the HelmReleases
//! and HelmRepositories labelled with the test's shard
//! (`--watch-label-selector`), so tests do not see each other's objects.

mod e2e;
mod hr;
mod repo_server;

use std::collections::BTreeMap;

use e2e::{Rudder, TestNamespace, helm_history as history, wait_warning};
use hr::*;
use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use kube::{Api, Client};
use rudder::api::HelmRelease;
use serde_json::{Value as Json, json};

/// The label that assigns objects to one test's rudder.
const SHARD_LABEL: &str = "rudder.dev/test-shard";

/// A Secret whose password is generated once, then read back through
/// `lookup` on every later render.
const KEPT_SECRET: &str = r#"{{- $s := lookup "v1" "Secret" .Release.Namespace (printf "%s-pw" .Release.Name) }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-pw
data:
  password: {{ if $s }}{{ $s.data.password }}{{ else }}{{ randAlphaNum 16 | b64enc }}{{ end }}
"#;

/// `.Values.v`, plus what cluster-scoped lookups, a list lookup and a
/// lookup of a missing object give.
const SEEN_CM: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cm
data:
  v: {{ .Values.v | quote }}
  {{- $ns := lookup "v1" "Namespace" "" .Release.Namespace }}
  namespace: {{ $ns.metadata.name | quote }}
  {{- $all := lookup "v1" "Namespace" "" "" }}
  listKind: {{ $all.kind | quote }}
  itemKind: {{ (first $all.items).kind | quote }}
  missing: {{ lookup "v1" "ConfigMap" .Release.Namespace "absent" | len | quote }}
"#;

/// A ConfigMap saying whether Secret `db` in `.Values.from` was seen.
const PEEK_CM: &str = r#"{{- $s := lookup "v1" "Secret" .Values.from "db" }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cm
data:
  seen: {{ if $s }}"yes"{{ else }}"no"{{ end }}
"#;

/// A rudder reconciling only objects labelled with `shard` (all namespaces).
fn rudder_for(shard: &str, lease_ns: &str) -> Rudder {
    let selector = format!("{SHARD_LABEL}={shard}");
    Rudder::start_with(
        e2e::kubeconfig(),
        lease_ns,
        "lookup",
        &["--watch-label-selector", &selector],
    )
}

/// `release(...)` from repository `charts`, labelled with `shard`.
fn hr_in(shard: &str, name: &str, chart: &str, spec: Json) -> HelmRelease {
    let mut obj = release(name, "charts", chart, "0.1.0", spec);
    obj.metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(SHARD_LABEL.into(), shard.into());
    obj
}

async fn create(api: &Api<HelmRelease>, obj: &HelmRelease) {
    api.create(&PostParams::default(), obj)
        .await
        .expect("create HelmRelease");
}

/// Serves `charts` (name, files) at version 0.1.0 from a loopback
/// repository that HelmRepository `charts` in `ns` (labelled `shard`)
/// points at; keep both alive.
async fn serve_charts(
    client: &Client,
    ns: &str,
    shard: &str,
    charts: &[(&str, &[(&str, &str)])],
) -> (tempfile::TempDir, repo_server::Site) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dirs: Vec<_> = charts
        .iter()
        .map(|(name, files)| write_chart(tmp.path(), name, "0.1.0", files))
        .collect();
    let site = serve(repository_files(&dirs)).await;
    create_repository_labelled(
        client,
        ns,
        "charts",
        &site.base(),
        &json!({ SHARD_LABEL: shard }),
    )
    .await;
    (tmp, site)
}

/// The decoded `password` of Secret `name` in `ns`.
async fn password(client: &Client, ns: &str, name: &str) -> Vec<u8> {
    let secret = Api::<Secret>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("Secret {ns}/{name}: {e}"));
    secret
        .data
        .and_then(|d| d.get("password").map(|b| b.0.clone()))
        .unwrap_or_else(|| panic!("Secret {ns}/{name} has no password"))
}

fn cm_data(cm: Option<k8s_openapi::api::core::v1::ConfigMap>) -> BTreeMap<String, String> {
    cm.expect("ConfigMap").data.unwrap_or_default()
}

#[tokio::test]
async fn a_generated_password_is_kept_through_lookup_across_upgrades() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "lookpw").await;
    let n = ns.name.as_str();
    let shard = ns.name.clone();
    let files: &[(&str, &str)] = &[
        ("templates/secret.yaml", KEPT_SECRET),
        ("templates/cm.yaml", SEEN_CM),
        ("values.yaml", "v: one\n"),
    ];
    let (_tmp, _site) = serve_charts(&client, n, &shard, &[("keeper", files)]).await;
    let _rudder = rudder_for(&shard, n);
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);

    create(&api, &hr_in(&shard, "keeper", "keeper", json!({}))).await;
    wait_revision(&api, "keeper", 1).await;
    let first = password(&client, n, "keeper-pw").await;
    assert_eq!(first.len(), 16, "a generated password: {first:?}");
    let data = cm_data(configmap(&client, n, "keeper-cm").await);
    assert_eq!(data.get("namespace"), Some(&n.to_string()));
    assert_eq!(
        data.get("listKind").map(String::as_str),
        Some("NamespaceList")
    );
    assert_eq!(data.get("itemKind").map(String::as_str), Some("Namespace"));
    assert_eq!(data.get("missing").map(String::as_str), Some("0"));

    for (rev, v) in [(2, "two"), (3, "three"), (4, "four")] {
        patch_spec(&api, "keeper", json!({"values": {"v": v}})).await;
        wait_revision(&api, "keeper", rev).await;
        let data = cm_data(configmap(&client, n, "keeper-cm").await);
        assert_eq!(data.get("v").map(String::as_str), Some(v), "revision {rev}");
        assert_eq!(
            password(&client, n, "keeper-pw").await,
            first,
            "revision {rev} kept the password"
        );
    }
    let revisions: Vec<i64> = history(n, "keeper").iter().map(|(r, _)| *r).collect();
    assert_eq!(revisions, vec![1, 2, 3, 4]);
}

/// A namespace with ServiceAccount `deployer`, allowed everything on
/// ConfigMaps and Secrets there and nothing elsewhere.
async fn tenant(client: &Client, prefix: &str) -> TestNamespace {
    tenant_namespace(client, prefix, "deployer").await
}

#[tokio::test]
async fn a_lookup_the_service_account_may_not_make_fails_the_render() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = tenant(&client, "lookrbac").await;
    let vault = TestNamespace::create(&client, "lookvault").await;
    let n = ns.name.as_str();
    let shard = ns.name.clone();
    create_json::<Secret>(
        &client,
        &vault.name,
        json!({"metadata": {"name": "db"}, "stringData": {"password": "hidden"}}),
    )
    .await;
    let files: &[(&str, &str)] = &[("templates/cm.yaml", PEEK_CM)];
    let (_tmp, _site) = serve_charts(&client, n, &shard, &[("peek", files)]).await;
    let _rudder = rudder_for(&shard, n);
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);

    let spec = json!({"values": {"from": vault.name}, "interval": "5s"});
    let mut with_sa = spec.clone();
    with_sa["serviceAccountName"] = json!("deployer");
    create(&api, &hr_in(&shard, "peek-sa", "peek", with_sa)).await;
    create(&api, &hr_in(&shard, "peek", "peek", spec)).await;

    // The account may not read Secrets in the other namespace: the render
    // fails, naming the lookup and the refused object.
    let msg = wait_condition(&api, "peek-sa", "Ready", "RenderFailed").await;
    let user = format!("system:serviceaccount:{n}:deployer");
    for part in [
        "peek/templates/cm.yaml",
        "<lookup \"v1\" \"Secret\" .Values.from \"db\">",
        "error calling lookup",
        "secrets \"db\" is forbidden",
        &user,
        &vault.name,
    ] {
        assert!(msg.contains(part), "{part:?} in {msg}");
    }
    let note = wait_warning(&client, n, "peek-sa", "RenderFailed").await;
    assert!(note.contains("forbidden"), "{note}");
    let st = api
        .get("peek-sa")
        .await
        .expect("get")
        .status
        .expect("status");
    assert_eq!(st.revision, None, "nothing was installed");
    assert!(configmap(&client, n, "peek-sa-cm").await.is_none());

    // rudder's own identity may read it: the same chart sees the Secret.
    wait_revision(&api, "peek", 1).await;
    let data = cm_data(configmap(&client, n, "peek-cm").await);
    assert_eq!(data.get("seen").map(String::as_str), Some("yes"));
}
