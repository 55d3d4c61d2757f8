//! `rudder serve` as a process on 127.0.0.1, checked by real clients:
//! charts packaged with `rudder package` while it runs are listed by the
//! real `helm repo add` / `helm search repo` and by a HelmRepository on the
//! test control plane (no restart), and a removed archive leaves the index;
//! 100 concurrent clients never read an invalid index while archives
//! change; path traversal (plain, encoded, symlinks out of the folder) and
//! oversized archives answer 404; the index answers conditional GETs with
//! 304; wrong credentials 401; TLS with a test PKI
//! works with `helm repo add --ca-file` (and client certificates); SIGTERM
//! stops it cleanly; the listing and chart pages in Debian's headless
//! chromium show every chart and version and load nothing from another
//! host.

mod e2e;
mod repo_server;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kube::Api;
use kube::api::PostParams;
use repo_server::run_in_home;
use rudder::api::{ConditionStatus, HelmRepository};
use rudder::repo::fetch::{IndexResponse, Validators};
use rudder::repo::{FetchOptions, HttpRepo, parse_index};
use serde_json::json;

const RUDDER: &str = env!("CARGO_BIN_EXE_rudder");
const WAIT: Duration = Duration::from_secs(30);

/// A `rudder serve` process; killed when dropped if still running.
struct Serve {
    child: Child,
    url: String,
    addr: SocketAddr,
    log: PathBuf,
}

impl Serve {
    fn start(dir: &Path, extra: &[&str]) -> Serve {
        let log = dir.with_extension("serve.log");
        let file = std::fs::File::create(&log).expect("log file");
        let mut child = Command::new(RUDDER)
            .args(["serve", "--repo-path", p(dir), "--address", "127.0.0.1:0"])
            .args(["--log-format", "json"])
            .args(extra)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(file))
            .spawn()
            .expect("spawning rudder serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading rudder serve's first line");
        let url = line
            .trim()
            .strip_prefix("Now serving you on ")
            .unwrap_or_else(|| {
                panic!(
                    "rudder serve printed {line:?}; log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .to_string();
        let addr = url
            .rsplit("://")
            .next()
            .and_then(|a| a.parse().ok())
            .expect("address in the URL");
        Serve {
            child,
            url,
            addr,
            log,
        }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// Writes a chart folder `demo` at `version` (with a README, commented
/// values and the given icon) under `root`.
fn write_chart(root: &Path, name: &str, version: &str, icon: &str) -> PathBuf {
    let dir = root.join(format!("{name}-{version}-src")).join(name);
    std::fs::create_dir_all(dir.join("templates")).expect("mkdir");
    let chart_yaml = format!(
        "apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: \"app-{version}\"\n\
         description: The {name} chart <b>for tests</b>\nicon: {icon}\n"
    );
    std::fs::write(dir.join("Chart.yaml"), chart_yaml).expect("Chart.yaml");
    std::fs::write(
        dir.join("values.yaml"),
        "# greeting shown by the ConfigMap\ngreeting: hello\n",
    )
    .expect("values.yaml");
    std::fs::write(
        dir.join("README.md"),
        format!(
            "# {name}\n\nRead me, version {version}. <img src=\"http://example.invalid/x.png\">\n"
        ),
    )
    .expect("README.md");
    std::fs::write(
        dir.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
    )
    .expect("template");
    dir
}

/// `rudder package` of a generated chart into `repo`.
fn package(work: &Path, repo: &Path, name: &str, version: &str, icon: &str) -> PathBuf {
    let chart = write_chart(work, name, version, icon);
    let out = Command::new(RUDDER)
        .args(["package", p(&chart), "-d", p(repo)])
        .output()
        .expect("rudder package");
    assert!(
        out.status.success(),
        "rudder package: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    repo.join(format!("{name}-{version}.tgz"))
}

/// One plain HTTP/1.1 request with a verbatim request target; the status
/// and body.
fn raw_get(addr: SocketAddr, target: &str, headers: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n"
    )
    .expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {raw:?}"));
    (status, raw)
}

/// The index as rudder's repository client fetches and parses it.
async fn fetch_index(url: &str) -> rudder::repo::IndexFile {
    let repo = HttpRepo::new(url, FetchOptions::default()).expect("client");
    match repo.get_index(&Validators::default()).await {
        Ok(IndexResponse::Body { bytes, .. }) => parse_index(&bytes).expect("a valid index"),
        other => panic!("fetching {url}/index.yaml: {other:?}"),
    }
}

fn versions_of(index: &rudder::repo::IndexFile, chart: &str) -> Vec<String> {
    let mut v: Vec<String> = index
        .entries
        .get(chart)
        .map(|l| l.iter().map(|e| e.version.clone()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Polls the index until `chart` has exactly `want` versions; how long it took.
async fn wait_versions(url: &str, chart: &str, want: &[&str]) -> Duration {
    let start = Instant::now();
    e2e::eventually(
        &format!("{url}/index.yaml listing {chart} {want:?}"),
        WAIT,
        || async { (versions_of(&fetch_index(url).await, chart) == want).then_some(()) },
    )
    .await;
    start.elapsed()
}

/// `helm search repo NAME/ --versions`: the chart versions helm lists.
fn helm_versions(home: &Path, repo: &str) -> Vec<String> {
    let out = run_in_home(
        "helm",
        &[
            "search",
            "repo",
            &format!("{repo}/"),
            "--versions",
            "-o",
            "json",
        ],
        home,
    );
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).expect("helm JSON");
    let mut v: Vec<String> = rows
        .iter()
        .filter_map(|r| r["version"].as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_packaged_while_serving_reach_helm_and_a_helmrepository() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = e2e::TestNamespace::create(&client, "serve").await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    let home = tmp.path().join("home");
    let mut serve = Serve::start(&repo, &[]);

    let first = package(tmp.path(), &repo, "demo", "0.1.0", "");
    let took = wait_versions(&serve.url, "demo", &["0.1.0"]).await;
    eprintln!("first archive indexed {took:?} after rudder package returned");
    let created_first = fetch_index(&serve.url).await.entries["demo"][0]
        .created
        .clone();

    // A HelmRepository finds it, then the second version without a restart.
    let rudder = e2e::Rudder::start(&ns.name, "serve", &[]);
    let api: Api<HelmRepository> = Api::namespaced(client.clone(), &ns.name);
    let hrepo: HelmRepository = serde_json::from_value(json!({
        "apiVersion": "helm.rudder.dev/v1alpha1",
        "kind": "HelmRepository",
        "metadata": {"name": "served"},
        "spec": {"url": serve.url, "interval": "1s"},
    }))
    .expect("HelmRepository");
    api.create(&PostParams::default(), &hrepo)
        .await
        .expect("create HelmRepository");
    wait_ready(&api, "1 charts, 1 versions").await;

    package(tmp.path(), &repo, "demo", "0.2.0", "");
    let took = wait_versions(&serve.url, "demo", &["0.1.0", "0.2.0"]).await;
    eprintln!("second archive indexed {took:?} after rudder package returned");
    let index = fetch_index(&serve.url).await;
    let kept = index.entries["demo"]
        .iter()
        .find(|e| e.version == "0.1.0")
        .expect("0.1.0");
    assert_eq!(
        kept.created, created_first,
        "an unchanged entry keeps created"
    );

    let add = run_in_home("helm", &["repo", "add", "served", &serve.url], &home);
    assert!(add.contains("\"served\" has been added"), "{add}");
    assert_eq!(helm_versions(&home, "served"), ["0.1.0", "0.2.0"]);
    wait_ready(&api, "1 charts, 2 versions").await;

    // Removing an archive removes it from the index, for helm and rudder.
    std::fs::remove_file(&first).expect("rm");
    wait_versions(&serve.url, "demo", &["0.2.0"]).await;
    run_in_home("helm", &["repo", "update", "served"], &home);
    assert_eq!(helm_versions(&home, "served"), ["0.2.0"]);
    wait_ready(&api, "1 charts, 1 versions").await;
    let on_disk = std::fs::read(repo.join("index.yaml")).expect("index.yaml written");
    assert_eq!(
        versions_of(&parse_index(&on_disk).expect("index"), "demo"),
        ["0.2.0"]
    );
    drop(rudder);

    // SIGTERM: a clean exit, logged.
    let status = Command::new("kill")
        .args(["-TERM", &serve.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = serve.child.wait().expect("wait");
    assert!(exit.success(), "exit {exit:?}; log:\n{}", serve.logs());
    let logs = serve.logs();
    assert!(logs.contains("\"signal\":\"SIGTERM\""), "{logs}");
    assert!(
        logs.lines().any(|l| l.contains("\"message\":\"request\"")
            && l.contains("\"path\":\"/index.yaml\"")
            && l.contains("\"status\":200")),
        "request logs: {logs}"
    );
}

async fn wait_ready(api: &Api<HelmRepository>, fragment: &str) {
    e2e::eventually(
        &format!("HelmRepository served: Ready with {fragment:?}"),
        Duration::from_secs(60),
        || async {
            let st = api.get("served").await.ok()?.status?;
            let ready = st.conditions.iter().find(|c| c.type_ == "Ready")?;
            (ready.status == ConditionStatus::True && ready.message.contains(fragment))
                .then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_never_read_an_invalid_index_while_archives_change() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    package(tmp.path(), &repo, "base", "1.0.0", "");
    let serve = Serve::start(&repo, &["--debounce", "20ms"]);
    let archives: Vec<(PathBuf, Vec<u8>)> = (0..6)
        .map(|i| {
            let path = package(tmp.path(), tmp.path(), "churn", &format!("0.{i}.0"), "");
            let bytes = std::fs::read(&path).expect("read");
            (repo.join(path.file_name().expect("name")), bytes)
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let changer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut round = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let (path, bytes) = &archives[round % archives.len()];
                if path.exists() {
                    std::fs::remove_file(path).expect("rm");
                } else {
                    std::fs::write(path, bytes).expect("write");
                }
                round += 1;
                std::thread::sleep(Duration::from_millis(15));
            }
            round
        })
    };
    let fetched = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let mut clients = Vec::new();
    for _ in 0..100 {
        let (url, fetched, seen) = (serve.url.clone(), fetched.clone(), seen.clone());
        clients.push(tokio::spawn(async move {
            for _ in 0..10 {
                let index = fetch_index(&url).await;
                assert_eq!(versions_of(&index, "base"), ["1.0.0"]);
                for v in index.entries.values().flatten() {
                    assert_eq!(v.digest.len(), 64, "{v:?}");
                    assert_eq!(v.urls, [format!("{}-{}.tgz", v.name, v.version)]);
                }
                seen.lock()
                    .expect("lock")
                    .insert(versions_of(&index, "churn"));
                fetched.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    for c in clients {
        c.await.expect("a client saw an invalid index");
    }
    stop.store(true, Ordering::SeqCst);
    let changes = changer.join().expect("changer");
    let distinct = seen.lock().expect("lock").len();
    eprintln!(
        "{} index fetches by 100 clients, {changes} archive changes, {distinct} distinct indexes",
        fetched.load(Ordering::SeqCst)
    );
    assert_eq!(fetched.load(Ordering::SeqCst), 1000);
    assert!(distinct > 1, "the index never changed during the run");
    drop(serve);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_symlinks_out_and_oversized_archives_are_not_found() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(repo.join("sub")).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("secret.tgz"), "secret").expect("secret");
    package(tmp.path(), &repo, "demo", "1.0.0", "");
    std::os::unix::fs::symlink(outside.join("secret.tgz"), repo.join("link.tgz")).expect("ln");
    std::os::unix::fs::symlink(&outside, repo.join("linkdir")).expect("ln");
    std::os::unix::fs::symlink(repo.join("demo-1.0.0.tgz"), repo.join("sub/inside.tgz"))
        .expect("ln");
    // One byte over the repository client's archive limit (sparse).
    let big = std::fs::File::create(repo.join("big-1.0.0.tgz")).expect("big");
    big.set_len(rudder::repo::fetch::ARCHIVE_LIMIT + 1)
        .expect("set_len");
    let serve = Serve::start(&repo, &[]);

    // What is inside the folder is served, symlinks within it included.
    for target in ["/demo-1.0.0.tgz", "/sub/inside.tgz", "/index.yaml"] {
        assert_eq!(raw_get(serve.addr, target, "").0, 200, "{target}");
    }
    for target in [
        "/../outside/secret.tgz",
        "/sub/../../outside/secret.tgz",
        "/%2e%2e/outside/secret.tgz",
        "/%2E%2E%2Foutside%2Fsecret.tgz",
        "/sub%2f..%2f..%2foutside%2fsecret.tgz",
        "/sub%5c..%5c..%5coutside%5csecret.tgz",
        "/..%252foutside%252fsecret.tgz",
        "//etc/passwd",
        "/link.tgz",
        "/linkdir/secret.tgz",
        "/.index.yaml.1.tmp",
        "/big-1.0.0.tgz",
        "/missing.tgz",
    ] {
        let (status, raw) = raw_get(serve.addr, target, "");
        assert_eq!(status, 404, "{target}: {raw}");
        assert!(
            !raw.contains("secret\n") && !raw.ends_with("secret"),
            "{target}"
        );
    }
    let index = fetch_index(&serve.url).await;
    assert!(
        !index.entries.contains_key("big"),
        "oversized archive indexed"
    );
    assert!(
        serve.logs().contains("larger than the"),
        "no warning about the oversized archive: {}",
        serve.logs()
    );

    // Conditional GET of the index: its validators answer 304, others 200.
    let (_, raw) = raw_get(serve.addr, "/index.yaml", "");
    let header = |name: &str| {
        raw.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in {raw}"))
            .trim()
            .to_string()
    };
    let (etag, modified) = (header("etag"), header("last-modified"));
    let inm = format!("If-None-Match: {etag}\r\n");
    assert_eq!(raw_get(serve.addr, "/index.yaml", &inm).0, 304);
    let ims = format!("If-Modified-Since: {modified}\r\n");
    assert_eq!(raw_get(serve.addr, "/index.yaml", &ims).0, 304);
    let other = "If-None-Match: \"other\"\r\n";
    assert_eq!(raw_get(serve.addr, "/index.yaml", other).0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_refuses_wrong_credentials_and_helm_uses_the_right_ones() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    let secret = tmp.path().join("auth");
    std::fs::create_dir_all(&repo).expect("mkdir");
    std::fs::create_dir_all(&secret).expect("mkdir");
    std::fs::write(secret.join("username"), "ann").expect("username");
    std::fs::write(secret.join("password"), "s3cret").expect("password");
    package(tmp.path(), &repo, "demo", "1.0.0", "");
    let serve = Serve::start(&repo, &["--basic-auth-dir", p(&secret)]);
    let basic = |creds: &str| {
        use base64::Engine;
        format!(
            "Authorization: Basic {}\r\n",
            base64::engine::general_purpose::STANDARD.encode(creds)
        )
    };
    for target in ["/", "/index.yaml", "/demo-1.0.0.tgz", "/charts/demo.html"] {
        let (status, raw) = raw_get(serve.addr, target, "");
        assert_eq!(status, 401, "{target}");
        assert!(raw.contains("www-authenticate: Basic"), "{raw}");
        assert_eq!(raw_get(serve.addr, target, &basic("ann:wrong")).0, 401);
        assert_eq!(raw_get(serve.addr, target, &basic("bob:s3cret")).0, 401);
        assert_eq!(raw_get(serve.addr, target, &basic("ann:s3cret")).0, 200);
    }
    assert_eq!(raw_get(serve.addr, "/healthz", "").0, 200);

    let home = tmp.path().join("home");
    let bad = std::process::Command::new("helm")
        .args(["repo", "add", "served", &serve.url, "--username", "ann"])
        .args(["--password", "wrong"])
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env(
            "HELM_REPOSITORY_CONFIG",
            home.join("config/repositories.yaml"),
        )
        .output()
        .expect("helm");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("401"));
    run_in_home(
        "helm",
        &[
            "repo",
            "add",
            "served",
            &serve.url,
            "--username",
            "ann",
            "--password",
            "s3cret",
        ],
        &home,
    );
    assert_eq!(helm_versions(&home, "served"), ["1.0.0"]);
    let pulled = run_in_home(
        "helm",
        &[
            "pull",
            "served/demo",
            "-d",
            p(tmp.path()),
            "--version",
            "1.0.0",
        ],
        &home,
    );
    assert!(tmp.path().join("demo-1.0.0.tgz").exists(), "{pulled}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_test_pki_works_with_helm_ca_file_and_client_certificates() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    package(tmp.path(), &repo, "demo", "1.0.0", "");
    let (ca, cert, key, client_cert, client_key) = repo_server::test_pki();
    let files = tmp.path().join("pki");
    std::fs::create_dir_all(&files).expect("mkdir");
    for (name, text) in [
        ("ca.pem", &ca),
        ("client.crt", &client_cert),
        ("client.key", &client_key),
    ] {
        std::fs::write(files.join(name), text).expect("pem");
    }
    let tls = tmp.path().join("tls");
    std::fs::create_dir_all(&tls).expect("mkdir");
    std::fs::write(tls.join("tls.crt"), &cert).expect("tls.crt");
    std::fs::write(tls.join("tls.key"), &key).expect("tls.key");
    let serve = Serve::start(&repo, &["--tls-dir", p(&tls)]);
    assert!(serve.url.starts_with("https://127.0.0.1:"), "{}", serve.url);

    let home = tmp.path().join("home");
    let ca_file = files.join("ca.pem");
    run_in_home(
        "helm",
        &[
            "repo",
            "add",
            "served",
            &serve.url,
            "--ca-file",
            p(&ca_file),
        ],
        &home,
    );
    assert_eq!(helm_versions(&home, "served"), ["1.0.0"]);
    // Without the CA, helm does not trust it.
    let untrusted = Command::new("helm")
        .args(["repo", "add", "other", &serve.url])
        .env("HELM_CONFIG_HOME", home.join("config2"))
        .env("HELM_CACHE_HOME", home.join("cache2"))
        .env(
            "HELM_REPOSITORY_CONFIG",
            home.join("config2/repositories.yaml"),
        )
        .output()
        .expect("helm");
    assert!(!untrusted.status.success());
    drop(serve);

    // With ca.crt in the folder, clients need a certificate it signed.
    std::fs::write(tls.join("ca.crt"), &ca).expect("ca.crt");
    let serve = Serve::start(&repo, &["--tls-dir", p(&tls)]);
    let home2 = tmp.path().join("home2");
    let without = Command::new("helm")
        .args(["repo", "add", "m", &serve.url, "--ca-file", p(&ca_file)])
        .env("HELM_CONFIG_HOME", home2.join("config"))
        .env("HELM_CACHE_HOME", home2.join("cache"))
        .env(
            "HELM_REPOSITORY_CONFIG",
            home2.join("config/repositories.yaml"),
        )
        .output()
        .expect("helm");
    assert!(!without.status.success(), "no client certificate accepted");
    run_in_home(
        "helm",
        &[
            "repo",
            "add",
            "m",
            &serve.url,
            "--ca-file",
            p(&ca_file),
            "--cert-file",
            p(&files.join("client.crt")),
            "--key-file",
            p(&files.join("client.key")),
        ],
        &home2,
    );
    assert_eq!(helm_versions(&home2, "m"), ["1.0.0"]);
}

/// Debian's chromium (`.ci/run` installs it).
const CHROMIUM: &str = "chromium";

/// Runs headless chromium on `url` with `args`, its network log written
/// to `netlog`; its stdout.
fn chromium(url: &str, args: &[&str], profile: &Path, netlog: &Path) -> String {
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", p(profile)))
        .arg(format!("--log-net-log={}", p(netlog)))
        .args(args)
        .arg(url)
        .output()
        .expect("running chromium (apt-get install chromium; .ci/run does)");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every URL the page itself requested (network isolation key of the
/// page's site), from chromium's network log.
fn page_requests(netlog: &Path, site: &str) -> Vec<String> {
    let log: serde_json::Value =
        serde_json::from_slice(&std::fs::read(netlog).expect("netlog")).expect("netlog JSON");
    let start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("URL_REQUEST_START_JOB in the netlog constants");
    log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start))
        .filter(|e| {
            e["params"]["network_isolation_key"]
                .as_str()
                .is_some_and(|k| k.starts_with(site))
        })
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_string))
        .collect()
}

/// The `src`/`href` values and CSS `url(` of an HTML text.
fn referenced_urls(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in ["src=\"", "href=\"", "url("] {
        for (i, _) in html.match_indices(marker) {
            let rest = &html[i + marker.len()..];
            let end = rest.find(['"', ')']).unwrap_or(rest.len());
            out.push(rest[..end].to_string());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_and_chart_pages_in_headless_chromium_load_nothing_from_elsewhere() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(repo.join("icons")).expect("mkdir");
    // A 1×1 PNG as this repository's own icon file.
    let png = [
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0,
        0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0d, 0x49, 0x44,
        0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0, 0x05, 0, 0x01, 0xff, 0x89,
        0x99, 0x3d, 0x1d, 0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    std::fs::write(repo.join("icons/demo.png"), png).expect("icon");
    // Another origin, to catch any request the pages would make.
    let decoy = repo_server::Site::start(None).await;
    let external = format!("{}/icon.png", decoy.base());
    package(tmp.path(), &repo, "demo", "1.0.0", "icons/demo.png");
    package(tmp.path(), &repo, "demo", "1.1.0", "icons/demo.png");
    package(tmp.path(), &repo, "other", "0.3.0", &external);
    let serve = Serve::start(&repo, &[]);
    let site = "http://127.0.0.1";

    let shot = tmp.path().join("listing.png");
    let netlog = tmp.path().join("listing.netlog.json");
    let dom = chromium(
        &format!("{}/", serve.url),
        &["--dump-dom", "--window-size=412,915"],
        &tmp.path().join("profile1"),
        &netlog,
    );
    for text in [
        "demo",
        "other",
        "1.0.0",
        "1.1.0",
        "0.3.0",
        "app-1.1.0",
        "demo-1.1.0.tgz",
    ] {
        assert!(dom.contains(text), "listing lacks {text}: {dom}");
    }
    assert!(
        dom.contains("&lt;b&gt;for tests&lt;/b&gt;"),
        "description not escaped: {dom}"
    );
    let index = fetch_index(&serve.url).await;
    for v in index.entries.values().flatten() {
        assert!(
            dom.contains(&v.digest),
            "digest {} not on the page",
            v.digest
        );
    }
    assert!(
        dom.contains("src=\"icons/demo.png\""),
        "local icon missing: {dom}"
    );
    assert!(!dom.contains(&external), "external icon on the page: {dom}");
    let requests = page_requests(&netlog, site);
    assert!(
        requests.contains(&format!("{}/", serve.url)),
        "the netlog has no request for the page: {requests:?}"
    );
    assert!(requests.contains(&format!("{}/icons/demo.png", serve.url)));
    for url in &requests {
        assert!(
            url.starts_with(&format!("{}/", serve.url)),
            "request elsewhere: {url}"
        );
    }
    for url in referenced_urls(&dom) {
        assert!(
            !url.contains("://") || url.starts_with(&serve.url),
            "the page refers to {url}"
        );
    }

    chromium(
        &format!("{}/", serve.url),
        &[
            &format!("--screenshot={}", p(&shot)),
            "--window-size=412,915",
            "--hide-scrollbars",
        ],
        &tmp.path().join("profile2"),
        &tmp.path().join("shot.netlog.json"),
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[1..4], b"PNG");
    let width = u32::from_be_bytes(png[16..20].try_into().expect("width"));
    assert_eq!(width, 412, "screenshot at phone width");

    let chart_netlog = tmp.path().join("chart.netlog.json");
    let chart_dom = chromium(
        &format!("{}/charts/demo.html", serve.url),
        &["--dump-dom"],
        &tmp.path().join("profile3"),
        &chart_netlog,
    );
    assert!(chart_dom.contains("Read me, version 1.1.0."), "{chart_dom}");
    assert!(
        chart_dom.contains("# greeting shown by the ConfigMap"),
        "{chart_dom}"
    );
    assert!(
        chart_dom.contains("&lt;img src="),
        "README markup not escaped"
    );
    for url in page_requests(&chart_netlog, site) {
        assert!(
            url.starts_with(&format!("{}/", serve.url)),
            "request elsewhere: {url}"
        );
    }
    assert!(
        decoy.server.requests().is_empty(),
        "the decoy origin was contacted"
    );
    let shots = std::env::var("RUDDER_SERVE_SCREENSHOT").ok();
    if let Some(dest) = shots {
        std::fs::copy(&shot, dest).expect("copying the screenshot");
    }
}
