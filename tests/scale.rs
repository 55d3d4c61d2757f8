//! How rudder behaves with many HelmReleases, end to end against the real
//! API server: exactly one reconciliation per created or changed
//! HelmRelease; `rudder_api_writes_total` equal to the API server's own
//! count of rudder's writes (its API Priority and Fairness metrics, through
//! a FlowSchema that matches only rudder's user and verbs that write); and
//! three shards (`--shard`) splitting the releases of one namespace, each
//! release reconciled by exactly one shard, each shard leading its own
//! Lease; and no more API requests per install and per upgrade than the
//! helm CLI's for the same chart, both counted by the API server (a
//! FlowSchema per verb and resource for each user).

mod e2e;
mod hr;
mod repo_server;

use std::collections::BTreeMap;
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

/// HelmRelease reconciliations started for a change of what it asks for.
fn changes(body: &str) -> f64 {
    metric_sum(
        body,
        "rudder_reconcile_causes_total",
        r#"cause="change",kind="HelmRelease""#,
    )
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

/// A user with cluster-admin rights, and FlowSchemas that classify that
/// user's requests: the API server then counts them in
/// `apiserver_flowcontrol_dispatched_requests_total`, by schema.
struct CountedUser {
    client: Client,
    name: String,
    /// (FlowSchema name, what it counts).
    schemas: Vec<(String, String)>,
}

/// Verbs the API server names requests by.
const VERBS: [&str; 7] = [
    "get", "list", "watch", "create", "update", "patch", "delete",
];

/// A FlowSchema for `user` at `precedence` with `rules`.
fn flow_schema(
    name: &str,
    user: &str,
    precedence: u32,
    rules: serde_json::Value,
) -> serde_json::Value {
    let mut rules = rules;
    rules["subjects"] = json!([{"kind": "User", "user": {"name": user}}]);
    json!({
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema",
        "metadata": {"name": name},
        "spec": {
            "priorityLevelConfiguration": {"name": "workload-high"},
            "matchingPrecedence": precedence,
            "distinguisherMethod": {"type": "ByUser"},
            "rules": [rules],
        },
    })
}

impl CountedUser {
    /// The user `name` and its cluster-admin binding; no schema yet.
    async fn bare(client: &Client, name: String) -> Self {
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
        Self {
            client: client.clone(),
            name,
            schemas: Vec::new(),
        }
    }

    /// Adds FlowSchema `suffix` counting what `rules` match as `label`.
    async fn schema(
        &mut self,
        suffix: &str,
        label: &str,
        precedence: u32,
        rules: serde_json::Value,
    ) {
        let name = format!("{}-{suffix}", self.name);
        create_dynamic(
            &self.client,
            flow_schema(&name, &self.name, precedence, rules),
        )
        .await;
        self.schemas.push((name, label.to_string()));
    }

    /// A user for rudder whose writes in `ns` the API server counts.
    async fn create(client: &Client, ns: &str) -> Self {
        let mut user = Self::bare(client, format!("rudder-scale-{ns}")).await;
        let rules = json!({"resourceRules": [{
            "verbs": ["create", "update", "patch", "delete", "deletecollection"],
            "apiGroups": ["*"], "resources": ["*"], "namespaces": [ns],
        }]});
        user.schema("writes", "writes", 50, rules).await;
        user
    }

    /// A user `name` every request of which in `ns`, cluster-scoped or
    /// not a resource (discovery) the API server counts: by verb and
    /// resource for `resources`, by verb for the other resources.
    async fn counting_all(client: &Client, ns: &str, name: String, resources: &[&str]) -> Self {
        let mut user = Self::bare(client, name).await;
        let rule = |verb: &str, resource: &str| {
            json!({"resourceRules": [{
                "verbs": [verb], "apiGroups": ["*"], "resources": [resource],
                "namespaces": [ns], "clusterScope": true,
            }]})
        };
        for verb in VERBS {
            for r in resources {
                let suffix = format!("{verb}-{}", r.replace('/', "-"));
                user.schema(&suffix, &format!("{verb} {r}"), 40, rule(verb, r))
                    .await;
            }
            let other = format!("{verb} (other)");
            user.schema(&format!("{verb}-other"), &other, 45, rule(verb, "*"))
                .await;
        }
        let rest = json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                "namespaces": [ns], "clusterScope": true}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
        });
        user.schema("rest", "discovery and other verbs", 46, rest)
            .await;
        user
    }

    /// The API server's count of this user's requests, by what each
    /// schema counts.
    async fn counts(&self) -> BTreeMap<String, f64> {
        let body = apiserver_metrics(&self.client).await;
        self.schemas
            .iter()
            .map(|(schema, label)| {
                let n = metric_sum(
                    &body,
                    "apiserver_flowcontrol_dispatched_requests_total",
                    &format!(r#"flow_schema="{schema}""#),
                );
                (label.clone(), n)
            })
            .collect()
    }

    /// The API server's count of this user's writes in the namespace.
    async fn writes(&self) -> f64 {
        self.counts().await.values().sum()
    }
}

impl Drop for CountedUser {
    fn drop(&mut self) {
        let name = self.name.clone();
        let schemas: Vec<String> = self.schemas.iter().map(|(s, _)| s.clone()).collect();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                let client = e2e::client().await;
                for schema in &schemas {
                    delete_dynamic(
                        &client,
                        "flowcontrol.apiserver.k8s.io/v1",
                        "FlowSchema",
                        schema,
                    )
                    .await;
                }
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
    assert_eq!(changes(&body), RELEASES as f64, "each counted as a change");
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
    assert_eq!(
        changes(&body),
        2.0 * RELEASES as f64,
        "each counted as a change"
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

/// Resources the API-cost test counts one by one.
const COUNTED: [&str; 6] = [
    "secrets",
    "deployments",
    "services",
    "serviceaccounts",
    "helmreleases",
    "helmreleases/status",
];

/// `after - before`, per key, zeros dropped.
fn delta(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect()
}

/// rudder's own count of its requests by verb and resource.
fn rudder_by_resource(r: &Rudder) -> BTreeMap<String, f64> {
    let name = "rudder_api_requests_by_resource_total";
    rudder_metrics(r)
        .lines()
        .filter_map(|l| l.strip_prefix(name)?.strip_prefix('{'))
        .filter_map(|l| {
            let (labels, n) = l.split_once("} ")?;
            let label = |key: &str| {
                let at = labels.find(&format!("{key}=\""))? + key.len() + 2;
                labels[at..].split('"').next()
            };
            Some((
                format!("{} {}", label("verb")?, label("resource")?),
                n.trim().parse().ok()?,
            ))
        })
        .collect()
}

/// Prints `counts` (requests of `releases` operations) one per line.
fn print_counts(what: &str, counts: &BTreeMap<String, f64>, releases: usize) {
    let total: f64 = counts.values().sum();
    println!("{what}: {:.1} requests each", total / releases as f64);
    for (k, v) in counts {
        println!("    {k:<32} {:.1}", v / releases as f64);
    }
}

/// `helm ARGS` against the test control plane as `kubeconfig`'s user,
/// with its own helm home, run off the async runtime (the chart server
/// runs on it).
async fn helm_as(kubeconfig: &std::path::Path, home: &std::path::Path, args: Vec<String>) {
    let (kubeconfig, home) = (kubeconfig.to_path_buf(), home.to_path_buf());
    tokio::task::spawn_blocking(move || {
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        let kc = kubeconfig.to_string_lossy().into_owned();
        all.extend(["--kubeconfig", &kc]);
        repo_server::run_in_home("helm", &all, &home);
    })
    .await
    .expect("helm task");
}

const COST_RELEASES: usize = 3;

/// Installs and upgrades of scaffold (ServiceAccount, Service, Deployment;
/// waited for) cost rudder no more API requests than the helm CLI doing
/// the same (`helm install/upgrade --wait`), nor than the helm CLI not
/// waiting at all; all counted by the API server per user, and the
/// breakdowns by verb and resource printed.
#[tokio::test]
async fn requests_per_install_and_upgrade_no_more_than_helms() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "cost").await;
    let lease_ns = TestNamespace::create(&client, "costlease").await;
    let n = ns.name.as_str();
    let site = serve(repo_server::shared_index_files()).await;
    create_repository(&client, n, "charts", &site.base()).await;
    let ours = CountedUser::counting_all(&client, n, format!("rudder-cost-{n}"), &COUNTED).await;
    let helms = CountedUser::counting_all(&client, n, format!("helm-cost-{n}"), &COUNTED).await;
    // The API server picks the FlowSchemas up asynchronously.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rudder_kc = e2e::impersonating_kubeconfig(&ours.name, &format!("cost-rudder-{n}"));
    let rudder = Rudder::start_with(
        &rudder_kc,
        &lease_ns.name,
        "cost",
        &["--watch-namespace", n],
    );
    wait_repository(&client, n, "charts").await;
    // Time for rudder's start-up reads to end.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    let spec = |v: &str| {
        json!({"interval": "1h", "values": {"podAnnotations": {"v": v}},
            "driftDetection": {"mode": "disabled"}, "timeout": "2m"})
    };
    let (c0, m0) = (ours.counts().await, rudder_by_resource(&rudder));
    for i in 0..COST_RELEASES {
        let r = release(&format!("r{i}"), "charts", "scaffold", "0.1.0", spec("one"));
        api.create(&PostParams::default(), &r)
            .await
            .expect("create HelmRelease");
    }
    for i in 0..COST_RELEASES {
        wait_revision(&api, &format!("r{i}"), 1).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (c1, m1) = (ours.counts().await, rudder_by_resource(&rudder));
    for i in 0..COST_RELEASES {
        patch_spec(
            &api,
            &format!("r{i}"),
            json!({"values": {"podAnnotations": {"v": "two"}}}),
        )
        .await;
    }
    for i in 0..COST_RELEASES {
        wait_revision(&api, &format!("r{i}"), 2).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (c2, m2) = (ours.counts().await, rudder_by_resource(&rudder));

    let helm_kc = e2e::impersonating_kubeconfig(&helms.name, &format!("cost-helm-{n}"));
    let home = tempfile::tempdir().expect("helm home");
    // `helm install/upgrade --wait` (the same work: rudder waits too), and
    // without `--wait` (less work than rudder's).
    let helm_run = |verb: &str, name: &str, v: &str, wait: bool| {
        let mut args = [
            verb,
            name,
            "scaffold",
            "--repo",
            &site.base(),
            "--version",
            "0.1.0",
            "-n",
            n,
            "--set",
            &format!("podAnnotations.v={v}"),
            "--timeout",
            "2m",
        ]
        .map(str::to_string)
        .to_vec();
        if wait {
            args.push("--wait".into());
        }
        args
    };
    let mut helm_counts = vec![helms.counts().await];
    for (prefix, wait) in [("w", true), ("p", false)] {
        for (verb, v) in [("install", "one"), ("upgrade", "two")] {
            for i in 0..COST_RELEASES {
                let args = helm_run(verb, &format!("{prefix}{i}"), v, wait);
                helm_as(&helm_kc, home.path(), args).await;
            }
            helm_counts.push(helms.counts().await);
        }
    }

    let per = |d: &BTreeMap<String, f64>| d.values().sum::<f64>() / COST_RELEASES as f64;
    let (ri, ru) = (delta(&c0, &c1), delta(&c1, &c2));
    let helm: Vec<BTreeMap<String, f64>> = helm_counts
        .windows(2)
        .map(|w| delta(&w[0], &w[1]))
        .collect();
    print_counts("rudder install (API server)", &ri, COST_RELEASES);
    print_counts(
        "rudder install (rudder's own count)",
        &delta(&m0, &m1),
        COST_RELEASES,
    );
    print_counts("helm install --wait (API server)", &helm[0], COST_RELEASES);
    print_counts("helm install (API server)", &helm[2], COST_RELEASES);
    print_counts("rudder upgrade (API server)", &ru, COST_RELEASES);
    print_counts(
        "rudder upgrade (rudder's own count)",
        &delta(&m1, &m2),
        COST_RELEASES,
    );
    print_counts("helm upgrade --wait (API server)", &helm[1], COST_RELEASES);
    print_counts("helm upgrade (API server)", &helm[3], COST_RELEASES);
    assert!(
        per(&ri) > 0.0,
        "the API server counted none of rudder's requests"
    );
    for (what, ours, theirs) in [
        ("install --wait", &ri, &helm[0]),
        ("upgrade --wait", &ru, &helm[1]),
        ("install", &ri, &helm[2]),
        ("upgrade", &ru, &helm[3]),
    ] {
        assert!(
            per(theirs) > 0.0,
            "the API server counted none of helm's requests"
        );
        assert!(
            per(ours) <= per(theirs),
            "rudder made {:.1} requests per release, helm {what} {:.1}\n{}",
            per(ours),
            per(theirs),
            rudder.logs()
        );
    }
}
