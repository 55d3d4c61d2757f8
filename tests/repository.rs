//! HelmRepository against the real API server with `rudder run`, serving
//! `../shared/charts/index` from a real HTTP(S) server on 127.0.0.1: Ready
//! with the digest of the served bytes and the chart count, a changed index
//! picked up on `helm.rudder.dev/requested-at`, an unchanged one not parsed
//! again (`rudder_index_parses_total`), every failure kind reported in the
//! Ready condition while the last good artifact stays, Events, TLS with a
//! test CA and basic auth from Secrets; chart pulls through
//! `controller::sources` (digest mismatch, path traversal, dependencies
//! built like `helm dependency build`, compared with the real helm).

mod e2e;
mod repo_server;

use std::time::Duration;

use e2e::{Rudder, TestNamespace, events, eventually, http_get};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use repo_server::{Mode, Site};
use rudder::api::helmrelease::ChartSpec;
use rudder::api::helmrepository::{HelmRepositoryStatus, RepositoryArtifact};
use rudder::api::{ConditionStatus, HelmRepository};
use rudder::controller::sources::{Sources, load_pulled};
use serde_json::json;
use sha2::{Digest, Sha256};

const WAIT: Duration = Duration::from_secs(60);

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

fn repository(name: &str, spec: serde_json::Value) -> HelmRepository {
    serde_json::from_value(json!({
        "apiVersion": "helm.rudder.dev/v1alpha1",
        "kind": "HelmRepository",
        "metadata": { "name": name },
        "spec": spec,
    }))
    .expect("HelmRepository")
}

async fn status(api: &Api<HelmRepository>, name: &str) -> Option<HelmRepositoryStatus> {
    api.get(name).await.ok()?.status
}

/// Waits until Ready has `want` status and a message containing `fragment`.
async fn wait_ready(
    api: &Api<HelmRepository>,
    name: &str,
    want: ConditionStatus,
    fragment: &str,
) -> HelmRepositoryStatus {
    eventually(
        &format!("{name}: Ready={want:?} with a message containing {fragment:?}"),
        WAIT,
        || async {
            let st = status(api, name).await?;
            let ready = st.conditions.iter().find(|c| c.type_ == "Ready")?;
            (ready.status == want && ready.message.contains(fragment)).then_some(st.clone())
        },
    )
    .await
}

fn ready_reason(st: &HelmRepositoryStatus) -> String {
    st.conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.reason.clone())
        .unwrap_or_default()
}

async fn request_fetch(api: &Api<HelmRepository>, name: &str, token: &str) {
    let patch = json!({"metadata": {"annotations": {"helm.rudder.dev/requested-at": token}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotating the HelmRepository");
}

fn metric(rudder: &Rudder, series: &str) -> Option<f64> {
    let (_, body) = http_get(rudder.addr, "/metrics")?;
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

fn fetch_log_lines(rudder: &Rudder, repo: &str) -> usize {
    rudder
        .logs()
        .lines()
        .filter(|l| l.contains("fetched index") && l.contains(repo))
        .count()
}

fn serve_shared_index(site: &Site) -> Vec<u8> {
    let mut index = Vec::new();
    for (name, bytes) in repo_server::shared_index_files() {
        if name == "index.yaml" {
            index = bytes.clone();
        }
        site.put(&name, bytes);
    }
    index
}

/// The shared index without its `scaffold` entries.
fn without_scaffold(index: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(index);
    let start = text.find("\n  scaffold:\n").expect("scaffold entries") + 1;
    let end = text.find("\ngenerated:").expect("generated") + 1;
    format!("{}{}", &text[..start], &text[end..]).into_bytes()
}

/// Makes the site misbehave in one way.
type BreakSite = Box<dyn Fn(&Site)>;

#[tokio::test]
async fn ready_change_unchanged_failures_and_events() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "repo").await;
    let site = Site::start(None).await;
    let index = serve_shared_index(&site);
    let rudder = Rudder::start(&ns.name, "repo", &[]);
    let api: Api<HelmRepository> = Api::namespaced(client.clone(), &ns.name);
    api.create(
        &PostParams::default(),
        &repository("charts", json!({"url": site.base(), "timeout": "1s"})),
    )
    .await
    .expect("create HelmRepository");
    let key = format!("{}/charts", ns.name);
    let parses = format!("rudder_index_parses_total{{repository=\"{key}\"}}");

    // Ready, with the digest of the served bytes and three chart names.
    let st = wait_ready(&api, "charts", ConditionStatus::True, "3 charts").await;
    let good = st.artifact.clone().expect("artifact");
    assert_eq!(good.digest, sha256(&index));
    assert_eq!(good.charts, 3);
    assert_eq!(st.observed_generation, Some(1));
    assert_eq!(metric(&rudder, &parses), Some(1.0));
    eventually("an IndexChanged event", WAIT, || async {
        let evs = events(&client, &ns.name, "charts", "IndexChanged").await;
        evs.iter()
            .any(|e| e.note.as_deref().is_some_and(|n| n.contains(&good.digest)))
            .then_some(())
    })
    .await;

    // Asked again, unchanged: fetched (conditionally) but not parsed.
    let before = fetch_log_lines(&rudder, &key);
    request_fetch(&api, "charts", "1").await;
    eventually("a second fetch", WAIT, || async {
        (fetch_log_lines(&rudder, &key) > before).then_some(())
    })
    .await;
    assert_eq!(
        metric(&rudder, &parses),
        Some(1.0),
        "unchanged index parsed"
    );
    assert_eq!(
        status(&api, "charts").await.and_then(|s| s.artifact),
        Some(good.clone())
    );

    // A changed index is picked up when asked.
    let changed = without_scaffold(&index);
    site.put("index.yaml", changed.clone());
    request_fetch(&api, "charts", "2").await;
    let st = wait_ready(&api, "charts", ConditionStatus::True, "2 charts").await;
    let second: RepositoryArtifact = st.artifact.clone().expect("artifact");
    assert_eq!(second.digest, sha256(&changed));
    assert_eq!(second.charts, 2);
    assert_eq!(metric(&rudder, &parses), Some(2.0));
    eventually("an IndexChanged event for the new digest", WAIT, || async {
        let evs = events(&client, &ns.name, "charts", "IndexChanged").await;
        evs.iter()
            .any(|e| {
                e.note
                    .as_deref()
                    .is_some_and(|n| n.contains(&second.digest))
            })
            .then_some(())
    })
    .await;

    // Every failure: a clear message, the last good artifact kept.
    let failures: Vec<(&str, BreakSite, &str, &str)> = vec![
        (
            "404",
            Box::new(|s: &Site| s.set_mode(Mode::Status(404))),
            "HTTPError",
            "server answered 404",
        ),
        (
            "500",
            Box::new(|s: &Site| s.set_mode(Mode::Status(500))),
            "HTTPError",
            "server answered 500",
        ),
        (
            "slow",
            Box::new(|s: &Site| s.set_mode(Mode::Stall(Duration::from_secs(4)))),
            "Timeout",
            "timed out after 1s",
        ),
        (
            "truncated",
            Box::new(|s: &Site| s.set_mode(Mode::Truncated)),
            "Truncated",
            "body truncated after",
        ),
        (
            "invalid",
            Box::new(|s: &Site| {
                s.set_mode(Mode::Normal);
                s.put(
                    "index.yaml",
                    b"apiVersion: v1\nentries: [unclosed\n".to_vec(),
                );
            }),
            "InvalidIndex",
            "invalid index",
        ),
    ];
    for (i, (what, break_it, reason, fragment)) in failures.iter().enumerate() {
        break_it(&site);
        request_fetch(&api, "charts", &format!("fail-{i}")).await;
        let st = wait_ready(&api, "charts", ConditionStatus::False, fragment).await;
        assert_eq!(ready_reason(&st), *reason, "{what}");
        assert_eq!(st.artifact.as_ref(), Some(&second), "{what}: artifact kept");
    }
    eventually("a FetchFailed warning", WAIT, || async {
        let evs = events(&client, &ns.name, "charts", "FetchFailed").await;
        evs.iter()
            .any(|e| {
                e.type_.as_deref() == Some("Warning")
                    && e.note
                        .as_deref()
                        .is_some_and(|n| n.contains("invalid index"))
            })
            .then_some(())
    })
    .await;

    // Recovery, then an unreachable server.
    site.put("index.yaml", changed.clone());
    request_fetch(&api, "charts", "ok-again").await;
    wait_ready(&api, "charts", ConditionStatus::True, "2 charts").await;
    drop(site);
    request_fetch(&api, "charts", "gone").await;
    let st = wait_ready(&api, "charts", ConditionStatus::False, "cannot reach").await;
    assert_eq!(ready_reason(&st), "Unreachable");
    assert_eq!(st.artifact.as_ref(), Some(&second));
}

/// A `.tgz` whose entry `name` (written raw, unchecked) holds `data`.
fn raw_archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (name, data) in entries {
        let mut header = tar::Header::new_old();
        let raw = &mut header.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, *data).expect("tar entry");
    }
    builder.into_inner().expect("tar").finish().expect("gzip")
}

fn chart_spec(name: &str, version: &str, repo: &str) -> ChartSpec {
    serde_json::from_value(json!({
        "name": name, "version": version, "repositoryRef": {"name": repo}
    }))
    .expect("ChartSpec")
}

#[tokio::test]
async fn pulls_verify_digests_and_reject_path_traversal() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "pull").await;
    let site = Site::start(None).await;
    let files = repo_server::shared_index_files();
    let podinfo = files
        .iter()
        .find(|(n, _)| n == "podinfo-6.14.1.tgz")
        .map(|(_, b)| b.clone())
        .expect("podinfo archive");
    let evil = raw_archive(&[
        (
            "evil/Chart.yaml",
            b"apiVersion: v2\nname: evil\nversion: 0.1.0\n",
        ),
        ("evil/../../escaped.yaml", b"kind: x\n"),
    ]);
    let index = format!(
        "apiVersion: v1\nentries:\n  podinfo:\n  - {{name: podinfo, version: 6.14.1, apiVersion: v2, digest: \"{wrong}\", urls: [podinfo-6.14.1.tgz]}}\n  evil:\n  - {{name: evil, version: 0.1.0, apiVersion: v2, digest: \"{evil_digest}\", urls: [evil-0.1.0.tgz]}}\n  good:\n  - {{name: podinfo, version: 6.14.1, apiVersion: v2, digest: \"{good_digest}\", urls: [podinfo-6.14.1.tgz]}}\n",
        wrong = "0".repeat(64),
        evil_digest = &sha256(&evil)[7..],
        good_digest = &sha256(&podinfo)[7..],
    );
    site.put("index.yaml", index.clone().into_bytes());
    site.put("podinfo-6.14.1.tgz", podinfo.clone());
    site.put("evil-0.1.0.tgz", evil);
    let rudder = Rudder::start(&ns.name, "pull", &[]);
    let api: Api<HelmRepository> = Api::namespaced(client.clone(), &ns.name);
    api.create(
        &PostParams::default(),
        &repository("bad", json!({"url": site.base()})),
    )
    .await
    .expect("create HelmRepository");
    let st = wait_ready(&api, "bad", ConditionStatus::True, "3 charts").await;
    let artifact = st.artifact.expect("artifact");
    assert_eq!(artifact.digest, sha256(index.as_bytes()));

    let sources = Sources::new(rudder::repo::ChartCache::new(None, 64 << 20));
    let err = sources
        .pull_chart(&client, &ns.name, &chart_spec("podinfo", "6.14.1", "bad"))
        .await
        .expect_err("a digest mismatch must fail");
    let text = err.to_string();
    assert!(text.contains("digest mismatch"), "{text}");
    assert!(
        text.contains(&format!("HelmRepository {}/bad", ns.name)),
        "{text}"
    );

    // The archive matches its digest, but is refused when opened.
    let err = sources
        .pull_chart(&client, &ns.name, &chart_spec("evil", "*", "bad"))
        .await
        .expect_err("path traversal must fail");
    let text = err.to_string();
    assert!(
        text.contains("chart evil 0.1.0")
            && text.contains("illegally references parent directory")
            && text.contains("escaped.yaml"),
        "{text}"
    );

    // The entry named "good" points at the same archive with its true digest.
    let ok = sources
        .pull_chart(&client, &ns.name, &chart_spec("good", "*", "bad"))
        .await
        .expect("verified pull");
    assert_eq!(ok.digest, sha256(&podinfo));
    assert_eq!(
        (ok.name.as_str(), ok.version.as_str()),
        ("podinfo", "6.14.1")
    );
    let chart = load_pulled(&ok).expect("loads");
    assert_eq!(chart.metadata.name, "podinfo");

    let err = sources
        .pull_chart(&client, &ns.name, &chart_spec("podinfo", "*", "missing"))
        .await
        .expect_err("no such repository");
    assert!(err.to_string().contains("not found"), "{err}");

    // Pull failures leave the repository's index alone.
    let after = status(&api, "bad").await.expect("status");
    assert_eq!(after.artifact, Some(artifact));
    drop(rudder);
}

#[tokio::test]
async fn tls_with_a_test_ca_and_basic_auth_from_secrets() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "tls").await;
    let (ca, cert, key, _, _) = repo_server::test_pki();
    let site = Site::start(Some(repo_server::tls_acceptor(&cert, &key, None))).await;
    let index = serve_shared_index(&site);
    site.set_auth("alice", "s3cret");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns.name);
    for (name, data) in [
        ("auth", json!({"username": "alice", "password": "s3cret"})),
        ("wrong", json!({"username": "alice", "password": "nope"})),
        ("ca", json!({"ca.crt": ca})),
    ] {
        let secret: Secret = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name}, "stringData": data,
        }))
        .expect("Secret");
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .expect("create Secret");
    }
    let _rudder = Rudder::start(&ns.name, "tls", &[]);
    let api: Api<HelmRepository> = Api::namespaced(client.clone(), &ns.name);
    let url = site.base();
    for (name, spec) in [
        (
            "good",
            json!({"url": url, "secretRef": {"name": "auth"}, "certSecretRef": {"name": "ca"}}),
        ),
        (
            "badpass",
            json!({"url": url, "secretRef": {"name": "wrong"}, "certSecretRef": {"name": "ca"}}),
        ),
        ("noca", json!({"url": url, "secretRef": {"name": "auth"}})),
        (
            "nosecret",
            json!({"url": url, "secretRef": {"name": "absent"}, "certSecretRef": {"name": "ca"}}),
        ),
    ] {
        api.create(&PostParams::default(), &repository(name, spec))
            .await
            .expect("create HelmRepository");
    }
    let st = wait_ready(&api, "good", ConditionStatus::True, "3 charts").await;
    assert_eq!(st.artifact.expect("artifact").digest, sha256(&index));
    let st = wait_ready(&api, "badpass", ConditionStatus::False, "answered 401").await;
    assert_eq!(ready_reason(&st), "Unauthorized");
    let st = wait_ready(&api, "noca", ConditionStatus::False, "cannot reach").await;
    assert!(
        st.conditions
            .iter()
            .any(|c| c.message.to_lowercase().contains("certificate")),
        "{:?}",
        st.conditions
    );
    let st = wait_ready(&api, "nosecret", ConditionStatus::False, "absent").await;
    assert_eq!(ready_reason(&st), "CredentialsNotFound");
}

/// Runs helm with its configuration, cache and data under `home`.
fn helm(home: &std::path::Path, args: &[&str]) -> String {
    repo_server::run_in_home("helm", args, home)
}

/// Serves every file of `dir` (replacing what the site had).
fn serve_dir(site: &Site, dir: &std::path::Path) {
    site.state.lock().expect("site").files.clear();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        site.put(&name, std::fs::read(entry.path()).expect("read file"));
    }
}

fn copy_shared(dir: &std::path::Path, names: &[&str]) {
    let src = repo_server::shared_charts().join("index");
    std::fs::create_dir_all(dir).expect("mkdir");
    for n in names {
        std::fs::copy(src.join(n), dir.join(n)).expect("copy archive");
    }
}

/// A chart whose dependencies are not vendored: one named by URL, one by
/// `@name` (a HelmRepository of the namespace, a `helm repo add` name for
/// helm), pinned by Chart.lock to versions older than the newest match.
/// rudder's pull + render must equal `helm dependency build` + `helm template`.
// helm runs synchronously while the site answers: two worker threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unvendored_dependencies_are_built_like_helm() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "deps").await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("helm");
    let site = Site::start(None).await;
    let base = site.base();

    // 1. A repository with only the older versions; helm locks them.
    let old = tmp.path().join("old");
    copy_shared(&old, &["scaffold-0.1.0.tgz", "podinfo-6.14.1.tgz"]);
    helm(
        &home,
        &["repo", "index", old.to_str().expect("path"), "--url", &base],
    );
    serve_dir(&site, &old);
    helm(&home, &["repo", "add", "deps", &base]);
    let app = tmp.path().join("src/app");
    std::fs::create_dir_all(app.join("templates")).expect("mkdir");
    std::fs::write(
        app.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: scaffold\n  version: 0.x\n  repository: {base}\n- name: podinfo\n  version: 6.14.x\n  repository: \"@deps\"\n  alias: info\n"
        ),
    )
    .expect("Chart.yaml");
    std::fs::write(
        app.join("values.yaml"),
        "greeting: hi\ninfo:\n  replicaCount: 3\n",
    )
    .expect("values.yaml");
    std::fs::write(
        app.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-app\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  subcharts: {{ keys .Subcharts | sortAlpha | join \",\" | quote }}\n",
    )
    .expect("template");
    helm(
        &home,
        &["dependency", "update", app.to_str().expect("path")],
    );
    std::fs::remove_dir_all(app.join("charts")).expect("rm charts/");
    let site_dir = tmp.path().join("site");
    copy_shared(
        &site_dir,
        &[
            "scaffold-0.1.0.tgz",
            "scaffold-0.2.0.tgz",
            "podinfo-6.14.1.tgz",
            "podinfo-6.14.2.tgz",
        ],
    );
    // `helm package` refuses a chart without its dependencies: tar it.
    let tarred = std::process::Command::new("tar")
        .arg("czf")
        .arg(site_dir.join("app-1.0.0.tgz"))
        .arg("-C")
        .arg(tmp.path().join("src"))
        .arg("app")
        .status()
        .expect("tar");
    assert!(tarred.success());
    // 2. Newer versions appear; the lock still pins the old ones.
    helm(
        &home,
        &[
            "repo",
            "index",
            site_dir.to_str().expect("path"),
            "--url",
            &base,
        ],
    );
    serve_dir(&site, &site_dir);

    // helm: untar, dependency build, template.
    helm(&home, &["repo", "update"]);
    let work = tmp.path().join("work");
    let archive = site_dir.join("app-1.0.0.tgz");
    let untar = std::process::Command::new("tar")
        .args(["xzf", archive.to_str().expect("path"), "-C"])
        .arg({
            std::fs::create_dir_all(&work).expect("mkdir");
            &work
        })
        .status()
        .expect("tar");
    assert!(untar.success());
    let chart_dir = work.join("app");
    helm(
        &home,
        &["dependency", "build", chart_dir.to_str().expect("path")],
    );
    let expected = helm(
        &home,
        &[
            "template",
            "rel",
            chart_dir.to_str().expect("path"),
            "-n",
            &ns.name,
        ],
    );
    assert!(expected.contains("scaffold"), "{expected}");

    // rudder: the HelmRepository "deps", a pull, a render.
    let _rudder = Rudder::start(&ns.name, "deps", &[]);
    let api: Api<HelmRepository> = Api::namespaced(client.clone(), &ns.name);
    api.create(
        &PostParams::default(),
        &repository("deps", json!({"url": base})),
    )
    .await
    .expect("create HelmRepository");
    wait_ready(&api, "deps", ConditionStatus::True, "3 charts").await;
    let sources = Sources::new(rudder::repo::ChartCache::new(None, 64 << 20));
    let pulled = sources
        .pull_chart(&client, &ns.name, &chart_spec("app", "1.0.0", "deps"))
        .await
        .expect("pull with dependencies");
    let mut deps: Vec<(String, String)> = pulled
        .dependencies
        .iter()
        .map(|d| (d.name.clone(), d.version.clone()))
        .collect();
    deps.sort();
    assert_eq!(
        deps,
        [
            ("podinfo".to_string(), "6.14.1".to_string()),
            ("scaffold".to_string(), "0.1.0".to_string())
        ]
    );
    let namespace = ns.name.clone();
    let rendered = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let chart = load_pulled(&pulled).map_err(|e| e.to_string())?;
            let opts = rudder::action::RenderOptions {
                release_name: "rel".into(),
                namespace,
                ..Default::default()
            };
            let vals = rudder::godata::value::Value::map(Default::default());
            rudder::action::render(chart, &vals, &opts)
                .map(|r| r.template_output(false, false, false))
                .map_err(|e| e.to_string())
        })
        .expect("render thread")
        .join()
        .expect("render thread panicked")
        .expect("render");
    // podinfo's test pods have random name suffixes (randAlphaNum 5).
    let random = regex::Regex::new(r"-test-[a-z0-9]{5}\n").expect("regex");
    let (rendered, expected) = (
        random.replace_all(&rendered, "-test-XXXXX\n").into_owned(),
        random.replace_all(&expected, "-test-XXXXX\n").into_owned(),
    );
    assert!(
        rendered == expected,
        "rudder:\n{rendered}\nhelm:\n{expected}"
    );
}
