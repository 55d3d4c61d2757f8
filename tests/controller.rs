//! `rudder run` as a process against the real API server: leader election
//! through a Lease, the HTTP endpoints, recording observedGeneration, a
//! clean exit on SIGTERM that releases the Lease, and a standby that waits
//! while the Lease is held and takes over when the holder stops.

mod e2e;

use std::time::{Duration, Instant};

use e2e::{Rudder, TestNamespace, eventually, http_get};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use rudder::api::HelmRelease;
use serde_json::json;

const LEASE: &str = "rudder-leader";

async fn lease_holder(client: &Client, ns: &str) -> Option<String> {
    let lease = Api::<Lease>::namespaced(client.clone(), ns)
        .get_opt(LEASE)
        .await
        .ok()??;
    lease.spec?.holder_identity.filter(|h| !h.is_empty())
}

async fn wait_holder(client: &Client, ns: &str, who: &str, timeout: Duration) {
    eventually(&format!("{who} holds the lease"), timeout, || async {
        (lease_holder(client, ns).await.as_deref() == Some(who)).then_some(())
    })
    .await;
}

fn release(name: &str) -> HelmRelease {
    serde_json::from_value(json!({
        "apiVersion": "helm.rudder.dev/v1alpha1",
        "kind": "HelmRelease",
        "metadata": { "name": name },
        "spec": { "chart": { "name": "nginx", "repositoryRef": { "name": "charts" } } },
    }))
    .expect("HelmRelease")
}

async fn observed_generation(api: &Api<HelmRelease>, name: &str) -> Option<(i64, Option<i64>)> {
    let obj = api.get(name).await.ok()?;
    let generation = obj.metadata.generation?;
    Some((generation, obj.status.and_then(|s| s.observed_generation)))
}

fn metric(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn run_leads_serves_records_generation_and_exits_cleanly() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "run").await;
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), &ns.name);
    releases
        .create(&PostParams::default(), &release("web"))
        .await
        .expect("create HelmRelease");

    let started = Instant::now();
    let mut rudder = Rudder::start(&ns.name, "first", &[]);
    wait_holder(&client, &ns.name, "first", Duration::from_secs(30)).await;
    let took_lease = started.elapsed();

    let (code, _) = eventually("/healthz answers", Duration::from_secs(10), || async {
        http_get(rudder.addr, "/healthz")
    })
    .await;
    assert_eq!(code, 200);
    eventually(
        "/readyz is 200 (leading, caches synced)",
        Duration::from_secs(30),
        || async { http_get(rudder.addr, "/readyz").filter(|(c, _)| *c == 200) },
    )
    .await;

    eventually(
        "observedGeneration 1 recorded",
        Duration::from_secs(30),
        || async { (observed_generation(&releases, "web").await? == (1, Some(1))).then_some(()) },
    )
    .await;
    // A spec change bumps the generation; the controller records it.
    let patch = json!({ "spec": { "interval": "5m" } });
    releases
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("spec update");
    eventually(
        "observedGeneration 2 recorded",
        Duration::from_secs(30),
        || async { (observed_generation(&releases, "web").await? == (2, Some(2))).then_some(()) },
    )
    .await;
    // The status field is owned by the `rudder` field manager.
    let obj = releases.get("web").await.expect("get");
    let managers: Vec<(String, Option<String>)> = obj
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.manager.unwrap_or_default(), m.subresource))
        .collect();
    assert!(
        managers.contains(&("rudder".to_string(), Some("status".to_string()))),
        "{managers:?}"
    );

    let (code, body) = http_get(rudder.addr, "/metrics").expect("/metrics answers");
    assert_eq!(code, 200);
    // Its chart's repository does not exist: each reconciliation fails,
    // and failures are counted as errors.
    let count = |series: &str| metric(&body, series).unwrap_or(0.0);
    assert!(
        count(r#"rudder_reconcile_total{kind="HelmRelease",result="success"}"#)
            + count(r#"rudder_reconcile_total{kind="HelmRelease",result="error"}"#)
            >= 2.0,
        "{body}"
    );
    assert!(
        count(r#"rudder_reconcile_errors_total{kind="HelmRelease"}"#) >= 1.0,
        "{body}"
    );
    assert!(
        body.contains(r#"rudder_reconcile_duration_seconds_count{kind="HelmRelease"}"#),
        "{body}"
    );
    assert!(
        body.contains(r#"rudder_reconcile_errors_total{kind="HelmRepository"} 0"#),
        "{body}"
    );
    assert_eq!(metric(&body, "rudder_leader"), Some(1.0), "{body}");

    let stop = Instant::now();
    rudder.terminate();
    let status = rudder.wait_exit(Duration::from_secs(20)).await;
    let stopped_in = stop.elapsed();
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        rudder.logs()
    );
    assert_eq!(
        lease_holder(&client, &ns.name).await,
        None,
        "lease released on shutdown"
    );
    assert!(
        rudder.logs().contains("released the lease"),
        "{}",
        rudder.logs()
    );
    eprintln!("timings: lease taken after {took_lease:?}, SIGTERM to exit {stopped_in:?}");
}

#[tokio::test]
async fn standby_waits_while_the_lease_is_held_and_takes_over() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "standby").await;
    let mut first = Rudder::start(&ns.name, "first", &[]);
    wait_holder(&client, &ns.name, "first", Duration::from_secs(30)).await;

    let second = Rudder::start(&ns.name, "second", &[]);
    // The standby reports ready (it reached the API server) but not leading.
    eventually(
        "standby /readyz answers 200 standby",
        Duration::from_secs(30),
        || async {
            http_get(second.addr, "/readyz").filter(|(c, b)| *c == 200 && b.trim() == "standby")
        },
    )
    .await;
    // Over more than a full lease duration (6s) of renewals, the lease stays
    // with the first process and the second never leads.
    let hold_until = Instant::now() + Duration::from_secs(8);
    while Instant::now() < hold_until {
        assert_eq!(
            lease_holder(&client, &ns.name).await.as_deref(),
            Some("first")
        );
        let (_, body) = http_get(second.addr, "/metrics").expect("standby serves /metrics");
        assert_eq!(
            metric(&body, "rudder_leader"),
            Some(0.0),
            "standby must not lead"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // After the leader exits, only the standby can record this object.
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), &ns.name);
    first.terminate();
    let status = first.wait_exit(Duration::from_secs(20)).await;
    assert!(status.success(), "first exit status {status}");
    let handover = Instant::now();
    releases
        .create(&PostParams::default(), &release("later"))
        .await
        .expect("create HelmRelease");
    wait_holder(&client, &ns.name, "second", Duration::from_secs(20)).await;
    let took_over = handover.elapsed();
    eventually(
        "the new leader records observedGeneration",
        Duration::from_secs(30),
        || async { (observed_generation(&releases, "later").await? == (1, Some(1))).then_some(()) },
    )
    .await;
    let (_, body) = http_get(second.addr, "/metrics").expect("/metrics");
    assert_eq!(metric(&body, "rudder_leader"), Some(1.0), "{body}");
    assert!(
        second.logs().contains("standing by"),
        "second should have logged standing by:\n{}",
        second.logs()
    );
    eprintln!("timings: standby took over {took_over:?} after the leader exited");
}

#[tokio::test]
async fn standby_takes_over_an_expired_lease_after_a_crash() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "crash").await;
    let mut first = Rudder::start(&ns.name, "first", &[]);
    wait_holder(&client, &ns.name, "first", Duration::from_secs(30)).await;
    let second = Rudder::start(&ns.name, "second", &[]);
    eventually("second is standing by", Duration::from_secs(30), || async {
        http_get(second.addr, "/readyz").filter(|(_, b)| b.trim() == "standby")
    })
    .await;
    // SIGKILL: no release, the lease must run out (6s on the standby's clock).
    first.child.kill().expect("SIGKILL");
    first.child.wait().expect("reap");
    let killed = Instant::now();
    wait_holder(&client, &ns.name, "second", Duration::from_secs(20)).await;
    let took_over = killed.elapsed();
    // The last renewal was at most one retry period (0.5s) before the kill.
    assert!(
        took_over >= Duration::from_secs(4),
        "took over an unexpired lease after {took_over:?}"
    );
    eprintln!("timings: standby took over a crashed leader's lease after {took_over:?}");
}

#[tokio::test]
async fn leader_stops_acting_when_its_lease_is_taken() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "lost").await;
    let rudder = Rudder::start(&ns.name, "first", &[]);
    wait_holder(&client, &ns.name, "first", Duration::from_secs(30)).await;
    eventually("leading", Duration::from_secs(30), || async {
        http_get(rudder.addr, "/readyz").filter(|(c, b)| *c == 200 && b.trim() == "leading")
    })
    .await;
    // Another writer takes the lease (as a replica would after a partition).
    let leases = Api::<Lease>::namespaced(client.clone(), &ns.name);
    let mut lease = leases.get(LEASE).await.expect("lease");
    if let Some(spec) = lease.spec.as_mut() {
        spec.holder_identity = Some("intruder".to_string());
        spec.lease_duration_seconds = Some(3600);
    }
    leases
        .replace(LEASE, &PostParams::default(), &lease)
        .await
        .expect("steal the lease");

    eventually(
        "the old leader stands by",
        Duration::from_secs(20),
        || async { http_get(rudder.addr, "/readyz").filter(|(_, b)| b.trim() == "standby") },
    )
    .await;
    let (_, body) = http_get(rudder.addr, "/metrics").expect("/metrics");
    assert_eq!(metric(&body, "rudder_leader"), Some(0.0), "{body}");
    assert!(
        rudder.logs().contains("lost the lease"),
        "{}",
        rudder.logs()
    );
    assert_eq!(
        lease_holder(&client, &ns.name).await.as_deref(),
        Some("intruder")
    );
}
