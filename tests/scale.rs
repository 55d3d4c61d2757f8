//! How rudder behaves with many HelmReleases, end to end against the real
//! API server: exactly one reconciliation per created or changed
//! HelmRelease; `rudder_api_writes_total` equal to the API server's own
//! count of rudder's writes (its API Priority and Fairness metrics, through
//! a FlowSchema that matches only rudder's user and verbs that write); and
//! three shards (`--shard`) splitting the releases of one namespace, each
//! release reconciled by exactly one shard, each shard leading its own Lease.

mod e2e;
mod hr;
mod repo_server;

use std::time::Duration;

use e2e::{Rudder, TestNamespace, eventually, http_get};
use hr::*;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{DeleteParams, PostParams};
use kube::{Api, Client};
use rudder::api::{HelmRelease, HelmRepository};
use serde_json::json;

/// Sum of the series of `name` whose labels contain `labels` (`{}`-less,
/// e.g. `flow_schema="x"`), from a Prometheus text body.
fn metric_sum(body: &str, name: &str, labels: &str) -> f64 {
    body.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| l.contains(labels))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

fn rudder_metrics(r: &Rudder) -> String {
    http_get(r.addr, "/metrics").expect("rudder /metrics").1
}

fn release_reconciles(body: &str) -> f64 {
    metric_sum(body, "rudder_reconcile_total", r#"kind="HelmRelease""#)
}

/// The API server's own metrics.
async fn apiserver_metrics(client: &Client) -> String {
    let req = http::Request::get("/metrics")
        .body(Vec::new())
        .expect("request");
    client.request_text(req).await.expect("API server /metrics")
}

async fn wait_repository(client: &Client, ns: &str, name: &str) {
    let api: Api<HelmRepository> = Api::namespaced(client.clone(), ns);
    eventually(
        &format!("HelmRepository {name} fetched"),
        Duration::from_secs(60),
        || async {
            let r = api.get(name).await.ok()?;
            r.status?.artifact.map(|_| ())
        },
    )
    .await;
}

/// Creates `obj` (a JSON manifest) with the admin client.
async fn create_dynamic(client: &Client, obj: serde_json::Value) {
    use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
    let api_version = obj["apiVersion"].as_str().expect("apiVersion").to_string();
    let kind = obj["kind"].as_str().expect("kind").to_string();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
    let gvk = GroupVersionKind::gvk(group, version, &kind);
    let ar = ApiResource::from_gvk(&gvk);
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let obj: DynamicObject = serde_json::from_value(obj).expect("object");
    api.create(&PostParams::default(), &obj)
        .await
        .unwrap_or_else(|e| panic!("creating {kind}: {e}"));
}

async fn delete_dynamic(client: &Client, api_version: &str, kind: &str, name: &str) {
    use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let _ = api.delete(name, &DeleteParams::default()).await;
}

/// A user for rudder with cluster-admin rights, and a FlowSchema that
/// classifies exactly that user's writes in `ns`: the API server then
/// counts them in `apiserver_flowcontrol_dispatched_requests_total`.
struct CountedUser {
    client: Client,
    name: String,
}

impl CountedUser {
    async fn create(client: &Client, ns: &str) -> Self {
        let name = format!("rudder-scale-{ns}");
        create_dynamic(
            client,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}],
            }),
        )
        .await;
        create_dynamic(
            client,
            json!({
                "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema",
                "metadata": {"name": name},
                "spec": {
                    "priorityLevelConfiguration": {"name": "workload-high"},
                    "matchingPrecedence": 50,
                    "distinguisherMethod": {"type": "ByUser"},
                    "rules": [{
                        "subjects": [{"kind": "User", "user": {"name": name}}],
                        "resourceRules": [{
                            "verbs": ["create", "update", "patch", "delete", "deletecollection"],
                            "apiGroups": ["*"], "resources": ["*"], "namespaces": [ns],
                        }],
                    }],
                },
            }),
        )
        .await;
        Self {
            client: client.clone(),
            name,
        }
    }

    /// The API server's count of this user's writes in the namespace.
    async fn writes(&self) -> f64 {
        let body = apiserver_metrics(&self.client).await;
        metric_sum(
            &body,
            "apiserver_flowcontrol_dispatched_requests_total",
            &format!(r#"flow_schema="{}""#, self.name),
        )
    }
}

impl Drop for CountedUser {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                let client = e2e::client().await;
                delete_dynamic(
                    &client,
                    "flowcontrol.apiserver.k8s.io/v1",
                    "FlowSchema",
                    &name,
                )
                .await;
                delete_dynamic(
                    &client,
                    "rbac.authorization.k8s.io/v1",
                    "ClusterRoleBinding",
                    &name,
                )
                .await;
            });
        })
        .join();
    }
}

fn named_release(name: &str, repo: &str, labels: serde_json::Value) -> HelmRelease {
    let mut r = release(
        name,
        repo,
        "app",
        "0.1.0",
        // No drift detection: its dry-run applies are PATCHes the API
        // server counts as writes while rudder (rightly) does not.
        json!({"interval": "1h", "values": {"v": "one"}, "driftDetection": {"mode": "disabled"}}),
    );
    r.metadata.labels = serde_json::from_value(labels).expect("labels");
    r
}

const RELEASES: usize = 20;

#[tokio::test]
async fn one_reconcile_per_change_and_writes_counted_as_the_api_server_counts() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "scale").await;
    let lease_ns = TestNamespace::create(&client, "scalelease").await;
    let n = ns.name.as_str();
    let user = CountedUser::create(&client, n).await;
    // The API server picks the FlowSchema up asynchronously.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let kubeconfig = e2e::impersonating_kubeconfig(&user.name, &format!("scale-{n}"));
    let rudder = Rudder::start_with(
        &kubeconfig,
        &lease_ns.name,
        "scale",
        &["--watch-namespace", n],
    );
    let (_tmp, _site) = serve_app_chart(&client, n).await;
    wait_repository(&client, n, "charts").await;
    assert_eq!(release_reconciles(&rudder_metrics(&rudder)), 0.0);

    let requests = |body: &str| metric_sum(body, "rudder_api_requests_total", "");
    let before_installs = requests(&rudder_metrics(&rudder));
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    let names: Vec<String> = (0..RELEASES).map(|i| format!("r{i}")).collect();
    for name in &names {
        api.create(
            &PostParams::default(),
            &named_release(name, "charts", json!({})),
        )
        .await
        .expect("create HelmRelease");
    }
    for name in &names {
        wait_revision(&api, name, 1).await;
    }
    // Time for any reconcile that rudder's own writes would trigger.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let body = rudder_metrics(&rudder);
    assert_eq!(
        release_reconciles(&body),
        RELEASES as f64,
        "one reconcile per created HelmRelease\n{}",
        rudder.logs()
    );
    let after_installs = requests(&body);

    for name in &names {
        patch_spec(&api, name, json!({"values": {"v": "two"}})).await;
    }
    for name in &names {
        wait_revision(&api, name, 2).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let body = rudder_metrics(&rudder);
    assert_eq!(
        release_reconciles(&body),
        2.0 * RELEASES as f64,
        "one reconcile per changed HelmRelease"
    );

    println!(
        "API requests per install {:.1}, per upgrade {:.1}",
        (after_installs - before_installs) / RELEASES as f64,
        (requests(&body) - after_installs) / RELEASES as f64
    );
    let ours = metric_sum(&body, "rudder_api_writes_total", "");
    let theirs = user.writes().await;
    println!(
        "{RELEASES} installs + {RELEASES} upgrades: rudder counted {ours} writes, the API server {theirs}"
    );
    println!(
        "requests by method: {}",
        body.lines()
            .filter(|l| l.starts_with("rudder_api_requests_total{"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert!(
        theirs > 0.0,
        "the API server counted none of rudder's writes"
    );
    assert!(
        (ours - theirs).abs() <= theirs * 0.01,
        "rudder_api_writes_total {ours} vs the API server's {theirs}"
    );
}

#[tokio::test]
async fn three_shards_split_the_releases() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "shards").await;
    let n = ns.name.as_str();
    let shards = ["a", "b", "c"];
    let rudders: Vec<Rudder> = shards
        .iter()
        .map(|s| Rudder::start(n, &format!("shard-{s}"), &["--shard", s]))
        .collect();
    let tmp = tempfile::tempdir().expect("tempdir");
    let site = serve(repository_files(&[write_chart(
        tmp.path(),
        "app",
        "0.1.0",
        &[
            ("templates/cm.yaml", CM_TEMPLATE),
            ("values.yaml", "v: one\n"),
        ],
    )]))
    .await;
    for s in shards {
        let labels = json!({"sharding.rudder.dev/key": s});
        create_repository_labelled(&client, n, &format!("charts-{s}"), &site.base(), &labels).await;
        wait_repository(&client, n, &format!("charts-{s}")).await;
    }
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    let per_shard = 3;
    for (i, s) in shards
        .iter()
        .cycle()
        .take(per_shard * shards.len())
        .enumerate()
    {
        let labels = json!({"sharding.rudder.dev/key": s});
        api.create(
            &PostParams::default(),
            &named_release(&format!("r{i}"), &format!("charts-{s}"), labels),
        )
        .await
        .expect("create HelmRelease");
    }
    for i in 0..per_shard * shards.len() {
        wait_revision(&api, &format!("r{i}"), 1).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), n);
    for (s, r) in shards.iter().zip(&rudders) {
        assert_eq!(
            release_reconciles(&rudder_metrics(r)),
            per_shard as f64,
            "shard {s} reconciled exactly its own releases\n{}",
            r.logs()
        );
        let lease = leases
            .get(&format!("rudder-leader-{s}"))
            .await
            .expect("the shard's Lease");
        let holder = lease.spec.and_then(|l| l.holder_identity);
        assert_eq!(holder.as_deref(), Some(format!("shard-{s}").as_str()));
    }
}
