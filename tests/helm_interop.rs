//! The real `helm` (v4) beside rudder on the test control plane: after a
//! rollback by `spec.revision`, `helm list/status/get` show the revision
//! made live again and no record is lost once the release moves on; and a
//! `helm upgrade` of a rudder release succeeds without `--force-conflicts`
//! (even over objects an older rudder applied as its own field manager),
//! after which rudder carries on at the next revision number; a `helm
//! rollback` by hand is seen by rudder (whose record cache a watch keeps
//! current) and undone at the next reconciliation. Killing rudder at random
//! moments of rollbacks still leaves helm seeing the pinned one.

mod e2e;
mod hr;
mod repo_server;

use e2e::{Rudder, TestNamespace, helm, helm_history as history, helm_json};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use rudder::api::HelmRelease;
use serde_json::json;
use std::time::Duration;

/// `(revision, status)` of the one release `helm list` shows in `ns`.
fn helm_list(ns: &str) -> Vec<(String, String)> {
    helm_json(&["list", "-n", ns])
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["revision"].as_str().unwrap_or("").to_string(),
                r["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The value `v` of ConfigMap `app-cm`, which the chart renders from `.Values.v`.
async fn live_value(client: &Client, ns: &str) -> Option<String> {
    hr::configmap(client, ns, "app-cm")
        .await?
        .data?
        .get("v")
        .cloned()
}

/// What `helm status`, `helm get values` and `helm get manifest` show by
/// default: the revision, its status and its value `v`.
fn helm_default_view(ns: &str) -> (i64, String, String, String) {
    let status = helm_json(&["status", "app", "-n", ns]);
    let values = helm_json(&["get", "values", "app", "-n", ns]);
    let manifest = helm(&["get", "manifest", "app", "-n", ns]);
    (
        status["version"].as_i64().unwrap_or(0),
        status["info"]["status"].as_str().unwrap_or("").to_string(),
        values["v"].as_str().unwrap_or("").to_string(),
        manifest,
    )
}

/// Every release record Secret of `app` in `ns`, whatever its labels say.
async fn record_secrets(client: &Client, ns: &str) -> Vec<String> {
    Api::<Secret>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels("name=app"))
        .await
        .expect("list Secrets")
        .items
        .into_iter()
        .filter(|s| s.type_.as_deref() == Some("helm.sh/release.v1"))
        .filter_map(|s| s.metadata.name)
        .collect()
}

/// Deletes HelmRelease `app` and waits until it is gone.
async fn delete_release(releases: &Api<HelmRelease>) {
    releases
        .delete("app", &DeleteParams::default())
        .await
        .expect("delete");
    e2e::eventually("HelmRelease gone", Duration::from_secs(90), || async {
        releases.get_opt("app").await.ok()?.is_none().then_some(())
    })
    .await;
}

/// The managers of ConfigMap `app-cm`'s fields.
async fn managers(client: &Client, ns: &str) -> Vec<String> {
    hr::configmap(client, ns, "app-cm")
        .await
        .expect("ConfigMap")
        .metadata
        .managed_fields
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect()
}

/// ConfigMap `app-cm` of release `app` as an older rudder applied it:
/// Helm's ownership metadata, field manager `rudder`.
async fn apply_as_older_rudder(client: &Client, ns: &str) {
    let cm = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {
            "name": "app-cm",
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {
                "meta.helm.sh/release-name": "app",
                "meta.helm.sh/release-namespace": ns,
            },
        },
        "data": {"v": "r1"},
    });
    Api::<ConfigMap>::namespaced(client.clone(), ns)
        .patch(
            "app-cm",
            &PatchParams::apply("rudder").force(),
            &Patch::Apply(&cm),
        )
        .await
        .expect("apply as rudder");
}

/// HelmRelease `app` of chart `app` installed by a rudder started as
/// `identity`, then upgraded twice: revisions 1, 2 and 3 (values r1..r3).
async fn three_revisions(client: &Client, n: &str, identity: &str) -> (Api<HelmRelease>, Rudder) {
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    releases
        .create(
            &PostParams::default(),
            &hr::release(
                "app",
                "charts",
                "app",
                "0.1.0",
                json!({"values": {"v": "r1"}}),
            ),
        )
        .await
        .expect("create");
    let rudder = Rudder::start(n, identity, &[]);
    hr::wait_revision(&releases, "app", 1).await;
    for (revision, v) in [(2, "r2"), (3, "r3")] {
        hr::patch_spec(&releases, "app", json!({"values": {"v": v}})).await;
        hr::wait_revision(&releases, "app", revision).await;
    }
    (releases, rudder)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_sees_the_revision_a_rollback_made_live() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "helmsee").await;
    let n = ns.name.as_str();
    let (_chart, _site) = hr::serve_app_chart(&client, n).await;
    let (releases, rudder) = three_revisions(&client, n, "helmsee").await;

    // Rollback to 1: helm's default views show revision 1, deployed.
    hr::patch_spec(&releases, "app", json!({"revision": 1})).await;
    hr::wait_revision(&releases, "app", 1).await;
    assert_eq!(live_value(&client, n).await.as_deref(), Some("r1"));
    assert_eq!(helm_list(n), vec![("1".into(), "deployed".into())]);
    let (revision, status, v, manifest) = helm_default_view(n);
    assert_eq!(
        (revision, status.as_str(), v.as_str()),
        (1, "deployed", "r1")
    );
    assert!(manifest.contains("v: \"r1\""), "{manifest}");
    assert_eq!(history(n, "app"), vec![(1, "deployed".to_string())]);
    // The hidden revisions are still there, by number.
    let v3 = helm_json(&["get", "values", "app", "-n", n, "--revision", "3"]);
    assert_eq!(v3["v"], "r3");

    // Forward to 2, still pinned: helm sees 1 and 2, 2 deployed.
    hr::patch_spec(&releases, "app", json!({"revision": 2})).await;
    hr::wait_revision(&releases, "app", 2).await;
    assert_eq!(live_value(&client, n).await.as_deref(), Some("r2"));
    assert_eq!(helm_list(n), vec![("2".into(), "deployed".into())]);
    assert_eq!(
        history(n, "app"),
        vec![(1, "superseded".to_string()), (2, "deployed".to_string())]
    );

    // The release moves on: revision 4, and every record is back.
    hr::patch_spec(
        &releases,
        "app",
        json!({"revision": null, "values": {"v": "r4"}}),
    )
    .await;
    hr::wait_revision(&releases, "app", 4).await;
    assert_eq!(live_value(&client, n).await.as_deref(), Some("r4"));
    assert_eq!(helm_list(n), vec![("4".into(), "deployed".into())]);
    assert_eq!(
        history(n, "app"),
        vec![
            (1, "superseded".to_string()),
            (2, "superseded".to_string()),
            (3, "superseded".to_string()),
            (4, "deployed".to_string()),
        ]
    );

    // Pinned again with hidden records, then deleted: every record goes.
    hr::patch_spec(&releases, "app", json!({"revision": 2})).await;
    hr::wait_revision(&releases, "app", 2).await;
    assert_eq!(helm_list(n), vec![("2".into(), "deployed".into())]);
    assert_eq!(record_secrets(&client, n).await.len(), 4);
    delete_release(&releases).await;
    assert_eq!(record_secrets(&client, n).await, Vec::<String>::new());
    drop(rudder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_upgrade_needs_no_force_and_rudder_carries_on() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "helmssa").await;
    let n = ns.name.as_str();
    let (chart, _site) = hr::serve_app_chart(&client, n).await;
    apply_as_older_rudder(&client, n).await;
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    // A long interval: rudder acts on spec changes only, not on a timer.
    releases
        .create(
            &PostParams::default(),
            &hr::release(
                "app",
                "charts",
                "app",
                "0.1.0",
                json!({"values": {"v": "r1"}, "interval": "1h"}),
            ),
        )
        .await
        .expect("create");
    let rudder = Rudder::start(n, "helmssa", &[]);
    hr::wait_revision(&releases, "app", 1).await;
    // The older rudder's field ownership is gone with rudder's first apply.
    assert_eq!(managers(&client, n).await, vec!["helm".to_string()]);

    // helm v4 upgrades with server-side apply as field manager `helm`,
    // without forcing conflicts: it changes a field rudder applied.
    let dir = chart.path().join("app-0.1.0");
    let dir = dir.to_str().expect("path");
    helm(&[
        "upgrade",
        "app",
        dir,
        "-n",
        n,
        "--reuse-values",
        "--set",
        "v=helm",
    ]);
    assert_eq!(live_value(&client, n).await.as_deref(), Some("helm"));
    assert_eq!(
        history(n, "app"),
        vec![(1, "superseded".to_string()), (2, "deployed".to_string())]
    );
    assert_eq!(managers(&client, n).await, vec!["helm".to_string()]);

    // A spec change: rudder takes the release back at revision 3.
    hr::patch_spec(&releases, "app", json!({"values": {"v": "r3"}})).await;
    hr::wait_revision(&releases, "app", 3).await;
    assert_eq!(live_value(&client, n).await.as_deref(), Some("r3"));
    assert_eq!(
        history(n, "app"),
        vec![
            (1, "superseded".to_string()),
            (2, "superseded".to_string()),
            (3, "deployed".to_string()),
        ]
    );

    // Uninstall removes helm's record within rudder's release too.
    delete_release(&releases).await;
    assert_eq!(record_secrets(&client, n).await, Vec::<String>::new());
    assert!(hr::configmap(&client, n, "app-cm").await.is_none());
    drop(rudder);
}

/// A `helm rollback` by hand rewrites records rudder has read (and
/// cached): the metadata watch of record Secrets sees the change, so the
/// next reconciliation finds helm's revision live, made from other values
/// than the spec's, and upgrades back to the spec.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_rollback_by_hand_is_seen_through_the_record_cache() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "helmrb").await;
    let n = ns.name.as_str();
    let (_chart, _site) = hr::serve_app_chart(&client, n).await;
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    releases
        .create(
            &PostParams::default(),
            &hr::release(
                "app",
                "charts",
                "app",
                "0.1.0",
                json!({"values": {"v": "r1"}, "interval": "1h"}),
            ),
        )
        .await
        .expect("create");
    let rudder = Rudder::start(n, "helmrb", &[]);
    hr::wait_revision(&releases, "app", 1).await;
    hr::patch_spec(&releases, "app", json!({"values": {"v": "r2"}})).await;
    hr::wait_revision(&releases, "app", 2).await;

    helm(&["rollback", "app", "1", "-n", n]);
    assert_eq!(live_value(&client, n).await.as_deref(), Some("r1"));
    assert_eq!(
        history(n, "app"),
        vec![
            (1, "superseded".to_string()),
            (2, "superseded".to_string()),
            (3, "deployed".to_string()),
        ]
    );
    // The watch delivers helm's writes; then rudder is asked to reconcile.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ask = json!({"metadata": {"annotations": {"helm.rudder.dev/requested-at": "after-helm-rollback"}}});
    releases
        .patch("app", &PatchParams::default(), &Patch::Merge(&ask))
        .await
        .expect("request a reconciliation");
    hr::wait_revision(&releases, "app", 4).await;
    assert_eq!(live_value(&client, n).await.as_deref(), Some("r2"));
    assert_eq!(
        history(n, "app"),
        vec![
            (1, "superseded".to_string()),
            (2, "superseded".to_string()),
            (3, "superseded".to_string()),
            (4, "deployed".to_string()),
        ]
    );
    drop(rudder);
}

async fn lease_holder(client: &Client, ns: &str) -> Option<String> {
    let lease = Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(client.clone(), ns)
        .get_opt("rudder-leader")
        .await
        .ok()??;
    lease.spec?.holder_identity.filter(|h| !h.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_rollbacks_leaves_helm_seeing_the_pinned_revision() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "helmkill").await;
    let n = ns.name.as_str();
    let (_chart, _site) = hr::serve_app_chart(&client, n).await;
    let (releases, first) = three_revisions(&client, n, "kill-0").await;
    drop(first);
    let mut seed: u64 = std::process::id() as u64 * 2654435761 + 777;
    let pins = [1, 3, 2, 1, 2, 3, 2, 1];
    for (i, pin) in pins.iter().enumerate() {
        let id = format!("kill-{}", i + 1);
        let mut r = Rudder::start(n, &id, &[]);
        e2e::eventually(&format!("{id} leads"), Duration::from_secs(30), || async {
            (lease_holder(&client, n).await.as_deref() == Some(id.as_str())).then_some(())
        })
        .await;
        hr::patch_spec(&releases, "app", json!({"revision": pin})).await;
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(seed % 800)).await;
        r.child.kill().expect("SIGKILL");
        let _ = r.child.wait();
    }
    let last = Rudder::start(n, "kill-final", &[]);
    hr::wait_revision(&releases, "app", 1).await;
    assert_eq!(live_value(&client, n).await.as_deref(), Some("r1"));
    assert_eq!(helm_list(n), vec![("1".into(), "deployed".into())]);
    assert_eq!(history(n, "app"), vec![(1, "deployed".to_string())]);
    assert_eq!(record_secrets(&client, n).await.len(), 3);
    // Then it moves on, numbered past every record.
    hr::patch_spec(
        &releases,
        "app",
        json!({"revision": null, "values": {"v": "r4"}}),
    )
    .await;
    hr::wait_revision(&releases, "app", 4).await;
    let h = history(n, "app");
    assert_eq!(
        h.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
        vec![1, 2, 3, 4],
        "{h:?}"
    );
    assert_eq!(helm_list(n), vec![("4".into(), "deployed".into())]);
    drop(last);
}
