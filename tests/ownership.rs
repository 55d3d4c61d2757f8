//! Ownership and isolation, tried as a hostile tenant would: `rudder run`
//! against the real control plane, reconciling two tenant namespaces (each
//! with a ServiceAccount that has rights only there), charts served from
//! 127.0.0.1, and the real `helm` as the observer of release records.
//!
//! Each test runs its own rudder, which reconciles only the HelmReleases
//! and HelmRepositories labelled with the test's shard
//! (`--watch-label-selector`), so tests do not see each other's objects.

mod e2e;
mod hr;
mod repo_server;

use std::collections::BTreeMap;
use std::time::Duration;

use e2e::{Rudder, TestNamespace, eventually, helm_history as history, wait_warning};
use futures::future::join_all;
use hr::*;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};
use rudder::api::{ConditionStatus, HelmRelease};
use serde_json::{Value as Json, json};

/// The label that assigns objects to one test's rudder.
const SHARD_LABEL: &str = "rudder.dev/test-shard";

/// A namespace with ServiceAccount `deployer`, allowed everything on
/// ConfigMaps and Secrets there and nothing elsewhere.
async fn tenant(client: &Client, prefix: &str) -> TestNamespace {
    tenant_namespace(client, prefix, "deployer").await
}

/// A rudder reconciling only objects labelled with `shard` (all namespaces).
fn rudder_for(shard: &str, lease_ns: &str) -> Rudder {
    let selector = format!("{SHARD_LABEL}={shard}");
    Rudder::start_with(
        e2e::kubeconfig(),
        lease_ns,
        "ownership",
        &["--watch-label-selector", &selector],
    )
}

fn labels(shard: &str) -> Json {
    json!({ SHARD_LABEL: shard })
}

/// `release(...)` labelled with `shard`.
fn hr_in(shard: &str, name: &str, chart: &str, version: &str, spec: Json) -> HelmRelease {
    let mut obj = release(name, "charts", chart, version, spec);
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

async fn delete_and_wait(api: &Api<HelmRelease>, name: &str) {
    api.delete(name, &Default::default())
        .await
        .expect("delete HelmRelease");
    eventually(
        &format!("HelmRelease {name} gone"),
        Duration::from_secs(60),
        || async { api.get_opt(name).await.ok()?.is_none().then_some(()) },
    )
    .await;
}

/// Name, labels, annotations and data of every record of `release` in `ns`.
type Records = Vec<(
    String,
    BTreeMap<String, String>,
    BTreeMap<String, String>,
    Vec<u8>,
)>;

async fn records(client: &Client, ns: &str, release: &str) -> Records {
    let list = Api::<Secret>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(&format!("owner=helm,name={release}")))
        .await
        .expect("list records");
    let mut out: Records = list
        .items
        .into_iter()
        .map(|s| {
            let data = s
                .data
                .and_then(|d| d.get("release").map(|b| b.0.clone()))
                .unwrap_or_default();
            (
                s.metadata.name.unwrap_or_default(),
                s.metadata.labels.unwrap_or_default(),
                s.metadata.annotations.unwrap_or_default(),
                data,
            )
        })
        .collect();
    out.sort();
    out
}

fn ready_reason(obj: &HelmRelease) -> Option<(ConditionStatus, String)> {
    let st = obj.status.as_ref()?;
    if st.observed_generation != obj.metadata.generation {
        return None;
    }
    st.conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status, c.reason.clone()))
}

#[tokio::test]
async fn a_tenant_cannot_take_or_delete_another_tenants_release() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let a = tenant(&client, "owna").await;
    let b = tenant(&client, "ownb").await;
    let shard = a.name.clone();
    let (_tmp, _site) = serve_app_chart_in(&client, &[&a.name, &b.name], &labels(&shard)).await;
    let _rudder = rudder_for(&shard, &a.name);

    // Tenant B's release, at revision 2.
    let victims: Api<HelmRelease> = Api::namespaced(client.clone(), &b.name);
    create(&victims, &hr_in(&shard, "app", "app", "0.1.0", json!({}))).await;
    wait_revision(&victims, "app", 1).await;
    patch_spec(&victims, "app", json!({"values": {"v": "two"}})).await;
    wait_revision(&victims, "app", 2).await;
    let before = records(&client, &b.name, "app").await;
    assert_eq!(before.len(), 2);

    // Tenant A names B's release and namespaces, without and with its own
    // service account.
    let thieves: Api<HelmRelease> = Api::namespaced(client.clone(), &a.name);
    let aim = json!({"releaseName": "app", "storageNamespace": b.name, "targetNamespace": b.name, "interval": "2s"});
    create(
        &thieves,
        &hr_in(&shard, "thief", "app", "0.1.0", aim.clone()),
    )
    .await;
    let mut with_sa = aim.clone();
    with_sa["serviceAccountName"] = json!("deployer");
    create(
        &thieves,
        &hr_in(&shard, "thief-sa", "app", "0.1.0", with_sa),
    )
    .await;

    let msg = wait_condition(&thieves, "thief", "Ready", "CrossNamespaceRefused").await;
    assert!(
        msg.contains(&format!("targetNamespace {}", b.name)) && msg.contains("serviceAccountName"),
        "{msg}"
    );
    let note = wait_warning(&client, &a.name, "thief", "CrossNamespaceRefused").await;
    assert!(note.contains(&b.name), "{note}");
    // The account may not read Secrets in B: the API server says so.
    let msg = wait_condition(&thieves, "thief-sa", "Ready", "StorageFailed").await;
    let user = format!("system:serviceaccount:{}:deployer", a.name);
    assert!(msg.contains("forbidden") && msg.contains(&user), "{msg}");
    let note = wait_warning(&client, &a.name, "thief-sa", "StorageFailed").await;
    assert!(note.contains("forbidden"), "{note}");
    for name in ["thief", "thief-sa"] {
        let st = thieves
            .get(name)
            .await
            .expect("get")
            .status
            .expect("status");
        assert_eq!(st.revision, None, "{name} shows no revision");
        assert!(st.history.is_empty(), "{name} shows none of B's history");
    }

    // Several retries later, B's records are untouched; so after A's
    // HelmReleases are deleted.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(records(&client, &b.name, "app").await, before);
    delete_and_wait(&thieves, "thief").await;
    delete_and_wait(&thieves, "thief-sa").await;
    assert_eq!(records(&client, &b.name, "app").await, before);
    assert_eq!(
        history(&b.name, "app"),
        vec![(1, "superseded".to_string()), (2, "deployed".to_string())]
    );
    let cm = configmap(&client, &b.name, "app-cm")
        .await
        .expect("B's ConfigMap");
    assert_eq!(
        cm.data.unwrap_or_default().get("v").map(String::as_str),
        Some("two")
    );
}

#[tokio::test]
async fn two_helmreleases_cannot_share_one_release() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = tenant(&client, "ownshare").await;
    let n = ns.name.as_str();
    let shard = ns.name.clone();
    let (_tmp, _site) = serve_app_chart_in(&client, &[n], &labels(&shard)).await;
    let _rudder = rudder_for(&shard, n);
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);

    create(
        &api,
        &hr_in(
            &shard,
            "first",
            "app",
            "0.1.0",
            json!({"releaseName": "shared"}),
        ),
    )
    .await;
    wait_revision(&api, "first", 1).await;
    let before = records(&client, n, "shared").await;
    // Claimed on the record: the HelmRelease's UID and name.
    let uid = api
        .get("first")
        .await
        .expect("get")
        .metadata
        .uid
        .expect("uid");
    assert_eq!(before[0].2.get("rudder.dev/owner-uid"), Some(&uid));
    assert_eq!(
        before[0].2.get("rudder.dev/owner"),
        Some(&format!("{n}/first"))
    );

    // A second claimant, reconciled every 2 s: with rudder's identity and
    // with a service account that has every right on Secrets there.
    let second = json!({"releaseName": "shared", "interval": "2s", "values": {"v": "other"}});
    create(
        &api,
        &hr_in(&shard, "second", "app", "0.1.0", second.clone()),
    )
    .await;
    let mut third = second.clone();
    third["serviceAccountName"] = json!("deployer");
    create(&api, &hr_in(&shard, "third", "app", "0.1.0", third)).await;
    for name in ["second", "third"] {
        let msg = wait_condition(&api, name, "Ready", "ReleaseClaimed").await;
        assert!(msg.contains(&format!("HelmRelease {n}/first")), "{msg}");
        let note = wait_warning(&client, n, name, "ReleaseClaimed").await;
        assert!(note.contains("first"), "{note}");
    }
    // Many reconciles later: no new revision, the first's value stays.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(history(n, "shared"), vec![(1, "deployed".to_string())]);
    assert_eq!(records(&client, n, "shared").await, before);
    let cm = configmap(&client, n, "shared-cm").await.expect("ConfigMap");
    assert_eq!(
        cm.data.unwrap_or_default().get("v").map(String::as_str),
        Some("one")
    );
    let first = api.get("first").await.expect("get");
    assert_eq!(
        ready_reason(&first).map(|(s, _)| s),
        Some(ConditionStatus::True)
    );
    assert_eq!(first.status.and_then(|s| s.revision), Some(1));

    // Deleting a refused claimant uninstalls nothing.
    delete_and_wait(&api, "second").await;
    delete_and_wait(&api, "third").await;
    assert_eq!(records(&client, n, "shared").await, before);
    assert!(configmap(&client, n, "shared-cm").await.is_some());
}

#[tokio::test]
async fn releases_racing_for_one_object_end_with_one_owner() {
    const RUNS: usize = 20;
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = tenant(&client, "ownrace").await;
    let n = ns.name.as_str();
    let shard = ns.name.clone();
    let tmp = tempfile::tempdir().expect("tempdir");
    let shared_cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\ndata:\n  owner: {{ .Release.Name }}\n";
    let _site = serve(repository_files(&[write_chart(
        tmp.path(),
        "race",
        "0.1.0",
        &[("templates/cm.yaml", shared_cm)],
    )]))
    .await;
    create_repository_labelled(&client, n, "charts", &_site.base(), &labels(&shard)).await;
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    let _rudder = rudder_for(&shard, n);
    // Every pair is created at the same moment.
    let pair = |i: usize| {
        let api = api.clone();
        let shard = shard.clone();
        async move {
            let spec = json!({"values": {"name": format!("shared-{i}")}});
            let a = hr_in(&shard, &format!("r{i}-a"), "race", "0.1.0", spec.clone());
            let b = hr_in(&shard, &format!("r{i}-b"), "race", "0.1.0", spec);
            futures::join!(create(&api, &a), create(&api, &b));
        }
    };
    join_all((0..RUNS).map(pair)).await;

    for i in 0..RUNS {
        let names = [format!("r{i}-a"), format!("r{i}-b")];
        let (winner, loser) = eventually(
            &format!("pair {i}: one Ready, one OwnershipConflict"),
            Duration::from_secs(120),
            || async {
                let a = ready_reason(&api.get(&names[0]).await.ok()?)?;
                let b = ready_reason(&api.get(&names[1]).await.ok()?)?;
                let conflict = (ConditionStatus::False, "OwnershipConflict".to_string());
                match (a.0 == ConditionStatus::True, b.0 == ConditionStatus::True) {
                    (true, false) if b == conflict => Some((0, 1)),
                    (false, true) if a == conflict => Some((1, 0)),
                    (true, true) => panic!("pair {i}: both releases report Ready"),
                    _ => None,
                }
            },
        )
        .await;
        let cm = configmap(&client, n, &format!("shared-{i}"))
            .await
            .expect("the shared ConfigMap");
        let owner = cm
            .metadata
            .annotations
            .unwrap_or_default()
            .get("meta.helm.sh/release-name")
            .cloned();
        assert_eq!(owner.as_ref(), Some(&names[winner]), "pair {i}");
        assert_eq!(
            cm.data.unwrap_or_default().get("owner"),
            Some(&names[winner]),
            "pair {i}: the object holds the winner's content"
        );
        assert!(
            records(&client, n, &names[loser]).await.is_empty(),
            "pair {i}: the refused release wrote no record"
        );
    }
}

#[tokio::test]
async fn an_index_entry_with_another_versions_digest_is_refused() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = tenant(&client, "owndigest").await;
    let n = ns.name.as_str();
    let shard = ns.name.clone();
    let tmp = tempfile::tempdir().expect("tempdir");
    let charts: Vec<_> = [("0.2.0", "v: two\n"), ("0.3.0", "v: three\n")]
        .iter()
        .map(|(version, values)| {
            write_chart(
                tmp.path(),
                "app",
                version,
                &[("templates/cm.yaml", CM_TEMPLATE), ("values.yaml", values)],
            )
        })
        .collect();
    // The index says 0.3.0 has 0.2.0's digest.
    let mut files = repository_files(&charts);
    let digest = |file: &str| {
        let bytes = &files.iter().find(|(f, _)| f == file).expect("archive").1;
        rudder::repo::cache::sha256_hex(bytes)
    };
    let (d2, d3) = (digest("app-0.2.0.tgz"), digest("app-0.3.0.tgz"));
    for (name, bytes) in files.iter_mut() {
        if name == "index.yaml" {
            let text = String::from_utf8(bytes.clone()).expect("UTF-8");
            assert!(text.contains(&d3));
            *bytes = text.replace(&d3, &d2).into_bytes();
        }
    }
    let site = serve(files).await;
    create_repository_labelled(&client, n, "charts", &site.base(), &labels(&shard)).await;
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    let _rudder = rudder_for(&shard, n);
    // 0.2.0 installs (and its archive is in the cache); then 0.3.0 is asked.
    create(
        &api,
        &hr_in(&shard, "app", "app", "0.2.0", json!({"interval": "5s"})),
    )
    .await;
    wait_revision(&api, "app", 1).await;
    patch_spec(&api, "app", json!({"chart": {"version": "0.3.0"}})).await;

    let msg = eventually(
        "the wrong archive refused",
        Duration::from_secs(90),
        || async {
            let obj = api.get("app").await.ok()?;
            let st = obj.status?;
            (st.observed_generation == obj.metadata.generation).then_some(())?;
            st.conditions
                .iter()
                .find(|c| c.type_ == "Ready" && c.message.contains("is app 0.2.0, not"))
                .map(|c| (c.reason.clone(), c.status, c.message.clone()))
        },
    )
    .await;
    assert_eq!(
        (msg.0.as_str(), msg.1),
        ("ChartPullFailed", ConditionStatus::False),
        "{}",
        msg.2
    );
    assert!(msg.2.contains("app 0.3.0"), "{}", msg.2);
    let note = wait_warning(&client, n, "app", "ChartPullFailed").await;
    assert!(!note.is_empty());
    let st = api.get("app").await.expect("get").status.expect("status");
    assert_eq!(st.revision, Some(1));
    assert_eq!(st.chart_version.as_deref(), Some("0.2.0"));
    assert_eq!(history(n, "app"), vec![(1, "deployed".to_string())]);
    let cm = configmap(&client, n, "app-cm").await.expect("ConfigMap");
    assert_eq!(
        cm.data.unwrap_or_default().get("v").map(String::as_str),
        Some("two")
    );
}

#[tokio::test]
async fn every_refusal_sets_a_condition_and_a_warning_event() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = tenant(&client, "ownvisible").await;
    let n = ns.name.as_str();
    let shard = ns.name.clone();
    let tmp = tempfile::tempdir().expect("tempdir");
    let site = serve(repository_files(&[
        write_chart(
            tmp.path(),
            "app",
            "0.1.0",
            &[("templates/cm.yaml", CM_TEMPLATE), ("values.yaml", "v: one\n")],
        ),
        write_chart(
            tmp.path(),
            "broken",
            "0.1.0",
            &[("templates/cm.yaml", "{{ fail \"boom\" }}\n")],
        ),
        // A record far above the Secret size limit (random text does not
        // compress); rendered fine.
        write_chart(
            tmp.path(),
            "huge",
            "0.1.0",
            &[(
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge\ndata:\n  big: {{ randAlphaNum 3000000 | quote }}\n",
            )],
        ),
    ]))
    .await;
    create_repository_labelled(&client, n, "charts", &site.base(), &labels(&shard)).await;
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    let _rudder = rudder_for(&shard, n);
    let long_name = format!("a{}", "-long".repeat(14)); // 71 characters
    let cases = [
        (
            long_name.as_str(),
            "app",
            "0.1.0",
            json!({}),
            "InvalidReleaseName",
        ),
        ("render", "broken", "0.1.0", json!({}), "RenderFailed"),
        ("missing", "app", "9.9.9", json!({}), "ChartPullFailed"),
        (
            "pinned",
            "app",
            "0.1.0",
            json!({"revision": 9}),
            "RevisionNotFound",
        ),
        ("huge", "huge", "0.1.0", json!({}), "StorageFailed"),
    ];
    for (name, chart, version, spec, _) in &cases {
        create(&api, &hr_in(&shard, name, chart, version, spec.clone())).await;
    }
    for (name, _, _, _, reason) in &cases {
        let msg = wait_condition(&api, name, "Ready", reason).await;
        let note = wait_warning(&client, n, name, reason).await;
        assert!(
            !msg.is_empty() && !note.is_empty(),
            "{name}: {msg} / {note}"
        );
    }
    let msg = wait_condition(&api, &long_name, "Ready", "InvalidReleaseName").await;
    assert!(
        msg.contains(&long_name) && msg.contains("53") && msg.contains("spec.releaseName"),
        "{msg}"
    );
    let msg = wait_condition(&api, "render", "Ready", "RenderFailed").await;
    assert!(msg.contains("cm.yaml:1") && msg.contains("boom"), "{msg}");
    let msg = wait_condition(&api, "missing", "Ready", "ChartPullFailed").await;
    assert!(msg.contains("9.9.9"), "{msg}");
    // None of them left a record or an object behind (the long name is
    // not even a valid label value to look records up by).
    for (name, ..) in cases.iter().skip(1) {
        assert!(records(&client, n, name).await.is_empty(), "{name}");
    }
    assert!(configmap(&client, n, "huge").await.is_none());
}
