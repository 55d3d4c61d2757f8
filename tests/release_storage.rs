//! Release records in Helm's storage format, with the real `helm` v4 as the
//! oracle on the real API server: records rudder writes are listed and
//! read by `helm list`, `helm history`, `helm status`, `helm get values`
//! and `helm get manifest`; records `helm install`/`helm upgrade` wrote are
//! decoded by rudder, and rudder's manifest text equals the one helm stored
//! for the same chart and values.

mod e2e;
mod repo_server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use e2e::{TestNamespace, helm, helm_json};
use rudder::action::RenderOptions;
use rudder::release::build::{Built, build};
use rudder::release::history::now_rfc3339;
use rudder::release::record::{NewRelease, Release, Status};
use rudder::release::store::{SLIM_CHART, SecretStore};
use serde_json::{Map, Value as Json, json};

fn scaffold(version: &str) -> PathBuf {
    repo_server::shared_charts()
        .join("index")
        .join(format!("scaffold-{version}.tgz"))
}

/// Runs the real helm against the test control plane; panics (fails the
/// test) when helm is missing or fails.
fn built(chart: &Path, name: &str, ns: &str, revision: i64, config: &Map<String, Json>) -> Built {
    let chart = rudder::chart::load::load_archive_file(chart).expect("load chart");
    let opts = RenderOptions {
        release_name: name.into(),
        namespace: ns.into(),
        revision,
        is_upgrade: revision > 1,
        ..Default::default()
    };
    build(chart, config, &opts).expect("render")
}

fn record(
    b: Built,
    name: &str,
    ns: &str,
    version: i64,
    config: Map<String, Json>,
    status: Status,
) -> Release {
    let now = now_rfc3339();
    NewRelease {
        name: name.into(),
        namespace: ns.into(),
        version,
        chart: b.chart,
        config,
        manifest: b.manifest,
        hooks: b.hooks,
        notes: b.notes,
        status,
        description: if version == 1 {
            "Install complete"
        } else {
            "Upgrade complete"
        }
        .into(),
        first_deployed: now.clone(),
        now,
    }
    .into()
}

fn obj(v: Json) -> Map<String, Json> {
    v.as_object().cloned().expect("object")
}

#[tokio::test]
async fn helm_reads_records_rudder_writes() {
    let client = e2e::client().await;
    let ns = TestNamespace::create(&client, "store").await;
    let store = SecretStore::new(client.clone(), &ns.name, Arc::new(AtomicU64::new(0)));
    let none = BTreeMap::new();

    let c1 = obj(json!({"replicaCount": 2, "service": {"port": 8080}}));
    let b1 = built(&scaffold("0.1.0"), "web", &ns.name, 1, &c1);
    let mut r1 = record(b1, "web", &ns.name, 1, c1.clone(), Status::PendingInstall);
    store.create(&r1, &none).await.expect("create v1");
    r1.info.status = Status::Deployed;
    store.update(&r1, &none).await.expect("deploy v1");

    let c2 = obj(json!({"replicaCount": 3}));
    let b2 = built(&scaffold("0.2.0"), "web", &ns.name, 2, &c2);
    let r2 = record(b2, "web", &ns.name, 2, c2.clone(), Status::Deployed);
    store.create(&r2, &none).await.expect("create v2");
    r1.info.status = Status::Superseded;
    store.update(&r1, &none).await.expect("supersede v1");

    let list = helm_json(&["list", "-n", &ns.name]);
    assert_eq!(list[0]["name"], "web", "{list}");
    assert_eq!(list[0]["revision"], "2");
    assert_eq!(list[0]["status"], "deployed");
    assert_eq!(list[0]["chart"], "scaffold-0.2.0");
    assert_eq!(list[0]["app_version"], "1.16.0");

    let history = helm_json(&["history", "web", "-n", &ns.name]);
    let statuses: Vec<(i64, String)> = history
        .as_array()
        .expect("array")
        .iter()
        .map(|h| {
            (
                h["revision"].as_i64().unwrap_or(0),
                h["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![(1, "superseded".into()), (2, "deployed".into())]
    );
    assert_eq!(history[0]["description"], "Install complete");

    let status = helm_json(&["status", "web", "-n", &ns.name]);
    assert_eq!(status["version"], 2);
    assert_eq!(status["info"]["status"], "deployed");
    assert!(
        status["info"]["notes"]
            .as_str()
            .unwrap_or("")
            .contains("port-forward")
    );

    assert_eq!(
        helm_json(&["get", "values", "web", "-n", &ns.name]),
        Json::Object(c2)
    );
    assert_eq!(
        helm_json(&["get", "values", "web", "-n", &ns.name, "--revision", "1"]),
        Json::Object(c1)
    );
    // `helm get manifest` prints the stored text with Println.
    assert_eq!(
        helm(&["get", "manifest", "web", "-n", &ns.name]),
        format!("{}\n", r2.manifest)
    );
    // The whole history decodes back to what was written.
    let back = store.history("web").await.expect("history");
    assert_eq!(back.len(), 2);
    assert_eq!(back[1].release, r2);
}

#[tokio::test]
async fn rudder_reads_records_helm_writes_and_renders_the_same_manifest() {
    let client = e2e::client().await;
    let ns = TestNamespace::create(&client, "helmrec").await;
    let chart1 = scaffold("0.1.0");
    let chart2 = scaffold("0.2.0");
    helm(&[
        "install",
        "app",
        chart1.to_str().expect("path"),
        "-n",
        &ns.name,
        "--set",
        "replicaCount=2",
    ]);
    helm(&[
        "upgrade",
        "app",
        chart2.to_str().expect("path"),
        "-n",
        &ns.name,
        "--set",
        "replicaCount=4,image.tag=1.2.3",
    ]);

    let store = SecretStore::new(client.clone(), &ns.name, Arc::new(AtomicU64::new(0)));
    let history = store.history("app").await.expect("history");
    let versions: Vec<(i64, Status)> = history
        .iter()
        .map(|r| (r.release.version, r.release.status()))
        .collect();
    assert_eq!(
        versions,
        vec![(1, Status::Superseded), (2, Status::Deployed)]
    );
    let live = &history[1].release;
    assert_eq!(live.chart_version(), "0.2.0");
    assert_eq!(live.apply_method, "ssa");
    assert_eq!(
        Json::Object(live.config.clone()),
        json!({"replicaCount": 4, "image": {"tag": "1.2.3"}})
    );
    assert_eq!(live.info.description, "Upgrade complete");

    // rudder's rendering of the same chart and values is the manifest helm stored.
    let b = built(&chart2, "app", &ns.name, 2, &live.config);
    assert_eq!(b.manifest, live.manifest);
    assert_eq!(b.hooks.len(), live.hooks.len());
    assert_eq!(b.hooks[0].manifest, live.hooks[0].manifest);
    assert_eq!(b.notes, live.info.notes);
    // The stored chart matches: metadata, templates, values.
    let theirs = live.chart.as_ref().expect("chart");
    assert_eq!(b.chart.metadata, theirs.metadata);
    assert_eq!(b.chart.values, theirs.values);
    let names = |c: &rudder::release::record::ChartRecord| {
        c.templates
            .iter()
            .map(|t| (t.name.clone(), t.data.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&b.chart), names(theirs));
}

#[tokio::test]
async fn records_over_the_secret_limit_still_work() {
    let client = e2e::client().await;
    let ns = TestNamespace::create(&client, "bigrec").await;
    let store = SecretStore::new(client.clone(), &ns.name, Arc::new(AtomicU64::new(0)));
    let config = obj(json!({}));
    let b = built(&scaffold("0.1.0"), "big", &ns.name, 1, &config);
    let mut rel = record(b, "big", &ns.name, 1, config, Status::Deployed);
    // 3 MB of incompressible chart files, as a chart with big dashboards has.
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let noise: Vec<u8> = (0..3 * 1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x & 0xff) as u8
        })
        .collect();
    use base64::Engine;
    let chart = rel.chart.as_mut().expect("chart");
    chart.files.push(rudder::release::record::ChartFile {
        name: "dashboards/huge.json".into(),
        data: base64::engine::general_purpose::STANDARD.encode(noise),
        extra: Default::default(),
    });
    store
        .create(&rel, &BTreeMap::new())
        .await
        .expect("create big record");
    let back = store.get("big", 1).await.expect("get").expect("stored");
    assert_eq!(back.annotation(SLIM_CHART), Some("true"));
    assert_eq!(back.release.manifest, rel.manifest);
    let list = helm_json(&["list", "-n", &ns.name]);
    assert_eq!(list[0]["status"], "deployed", "{list}");
    assert_eq!(
        helm(&["get", "manifest", "big", "-n", &ns.name]),
        format!("{}\n", rel.manifest)
    );
}
