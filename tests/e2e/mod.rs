//! Integration-test harness shared by the test binaries under `tests/`: the
//! real test control plane (started or reused once per test binary through
//! `e2e/testenv/up.sh`, or taken from `RUDDER_KUBECONFIG`), a namespace per
//! test that is deleted when the test ends, CRD installation from the built
//! `rudder crds`, polling with deadlines, spawning `rudder run`, and a plain
//! HTTP GET for its endpoints.
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

/// Path of the `rudder` binary built for these tests.
pub const RUDDER: &str = env!("CARGO_BIN_EXE_rudder");

/// The admin kubeconfig of the test control plane: `RUDDER_KUBECONFIG` if
/// set, else the last stdout line of `e2e/testenv/up.sh` (run once per test
/// binary; it reuses a healthy control plane).
pub fn kubeconfig() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| match std::env::var("RUDDER_KUBECONFIG") {
        Ok(p) if !p.is_empty() => PathBuf::from(p),
        _ => start_testenv(),
    })
}

fn start_testenv() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e/testenv/up.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        out.status
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default().trim();
    assert!(
        !last.is_empty(),
        "{} printed no kubeconfig path",
        script.display()
    );
    PathBuf::from(last)
}

/// A client for the test control plane.
pub async fn client() -> Client {
    let path = kubeconfig();
    let kc =
        Kubeconfig::read_from(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig of the test control plane");
    Client::try_from(config).expect("client for the test control plane")
}

/// A namespace that exists for one test and is deleted when dropped (also
/// when the test panics).
pub struct TestNamespace {
    /// The namespace's name.
    pub name: String,
}

impl TestNamespace {
    /// Creates `<prefix>-<unique suffix>`.
    pub async fn create(client: &Client, prefix: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "{prefix}-{}-{}-{:x}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst),
            nanos & 0xfff
        );
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some([("rudder.dev/test".to_string(), "true".to_string())].into()),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"));
        Self { name }
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let name = self.name.clone();
        // The test's runtime may be gone or busy: delete from a fresh one.
        let joined = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let Ok(rt) = rt else { return };
            rt.block_on(async {
                let api = Api::<Namespace>::all(client().await);
                if let Err(e) = api.delete(&name, &DeleteParams::background()).await {
                    eprintln!("deleting namespace {name}: {e}");
                }
            });
        })
        .join();
        if joined.is_err() {
            eprintln!("namespace cleanup thread panicked");
        }
    }
}

/// Polls `check` every 100 ms until it returns `Some`, panicking with `what`
/// after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_seen(what, timeout, || {
        let polled = check();
        async move { polled.await.ok_or_else(String::new) }
    })
    .await
}

/// [`eventually`] for a `check` that says what it saw when not done yet
/// (`Err`): a timeout names the last of those.
pub async fn eventually_seen<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let seen = match check().await {
            Ok(v) => return v,
            Err(seen) => seen,
        };
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for: {what}{}",
            if seen.is_empty() {
                String::new()
            } else {
                format!("; last seen: {seen}")
            }
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The output of the built `rudder crds`, split into documents.
pub fn rudder_crds_documents() -> Vec<CustomResourceDefinition> {
    let out = Command::new(RUDDER)
        .arg("crds")
        .output()
        .expect("running rudder crds");
    assert!(
        out.status.success(),
        "rudder crds failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("rudder crds prints UTF-8");
    text.split("\n---\n")
        .map(|doc| doc.strip_prefix("---\n").unwrap_or(doc))
        .filter(|doc| !doc.trim().is_empty())
        .map(|doc| serde_saphyr::from_str(doc).expect("rudder crds prints CRD YAML"))
        .collect()
}

/// Installs the CRDs printed by `rudder crds` with server-side apply and
/// waits until both are Established. Idempotent; safe to call from every test.
pub async fn install_crds(client: &Client) -> Vec<String> {
    let api = Api::<CustomResourceDefinition>::all(client.clone());
    let mut names = Vec::new();
    for crd in rudder_crds_documents() {
        let name = crd.metadata.name.clone().expect("CRD has a name");
        api.patch(
            &name,
            &PatchParams::apply("rudder-tests").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap_or_else(|e| panic!("applying CRD {name}: {e}"));
        names.push(name);
    }
    for name in &names {
        eventually(
            &format!("CRD {name} Established"),
            Duration::from_secs(30),
            || async {
                let crd = api.get(name).await.ok()?;
                let established = crd
                    .status?
                    .conditions?
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True");
                established.then_some(())
            },
        )
        .await;
    }
    names
}

/// Writes a copy of the admin kubeconfig whose user impersonates `user`
/// (e.g. `system:serviceaccount:NS:NAME`) and returns its path.
pub fn impersonating_kubeconfig(user: &str, file_stem: &str) -> PathBuf {
    let path = kubeconfig();
    let mut kc =
        Kubeconfig::read_from(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    for named in &mut kc.auth_infos {
        if let Some(info) = named.auth_info.as_mut() {
            info.impersonate = Some(user.to_string());
        }
    }
    let out = std::env::temp_dir().join(format!("{file_stem}.kubeconfig"));
    let json = serde_json::to_string(&kc).expect("kubeconfig to JSON");
    std::fs::write(&out, json).expect("writing the kubeconfig");
    out
}

/// Runs a tool (helm, kubectl) and returns its stdout; panics with its
/// stderr on failure.
pub fn tool(program: &str, args: &[&str], stdin: Option<&str>) -> String {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("KUBECONFIG", kubeconfig())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("running {program}: {e} (is it on PATH?)"));
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes()).expect("writing stdin");
    }
    let out = child.wait_with_output().expect("waiting for the tool");
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Runs the real `helm` (from `../shared/tools/install-helm`) against the
/// test control plane and returns its output, failed or not.
pub fn helm_output(args: &[&str]) -> std::process::Output {
    Command::new("helm")
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig())
        .output()
        .expect("run helm (install with ../shared/tools/install-helm; ~/.local/bin on PATH)")
}

/// Runs `helm` against the test control plane; its stdout, or a panic
/// with its stderr when it fails.
pub fn helm(args: &[&str]) -> String {
    let out = helm_output(args);
    assert!(
        out.status.success(),
        "helm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `helm ARGS -o json`, parsed.
pub fn helm_json(args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&helm(&all)).expect("helm JSON")
}

/// `(revision, status)` of every revision `helm history` lists.
pub fn helm_history(ns: &str, name: &str) -> Vec<(i64, String)> {
    helm_json(&["history", name, "-n", ns])
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|h| {
            (
                h["revision"].as_i64().unwrap_or(0),
                h["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The Events (events.k8s.io/v1) in `ns` about the object `name` with `reason`.
pub async fn events(
    client: &Client,
    ns: &str,
    name: &str,
    reason: &str,
) -> Vec<k8s_openapi::api::events::v1::Event> {
    Api::<k8s_openapi::api::events::v1::Event>::namespaced(client.clone(), ns)
        .list(&kube::api::ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| {
            e.reason.as_deref() == Some(reason)
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
        })
        .collect()
}

/// Waits up to a minute for a Warning event about `name` with `reason`;
/// returns its note.
pub async fn wait_warning(client: &Client, ns: &str, name: &str, reason: &str) -> String {
    eventually(
        &format!("a Warning event {reason} about {ns}/{name}"),
        Duration::from_secs(60),
        || async {
            events(client, ns, name, reason)
                .await
                .into_iter()
                .find(|e| e.type_.as_deref() == Some("Warning"))
                .map(|e| e.note.unwrap_or_default())
        },
    )
    .await
}

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    l.local_addr().expect("local address")
}

/// `GET path` over plain HTTP/1.1; `None` when nothing answers.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let status = raw.split_whitespace().nth(1)?.parse().ok()?;
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// A `rudder run` process; killed when dropped if still running.
pub struct Rudder {
    /// The child process.
    pub child: Child,
    /// Address of its HTTP endpoints.
    pub addr: SocketAddr,
    /// File receiving its stdout and stderr (JSON logs).
    pub log: PathBuf,
}

impl Rudder {
    /// Starts `rudder run` against the test control plane with the lease
    /// in `namespace`, watching only `namespace`, short lease timings, and
    /// `extra` arguments.
    pub fn start(namespace: &str, identity: &str, extra: &[&str]) -> Self {
        let mut args = vec!["--watch-namespace", namespace];
        args.extend_from_slice(extra);
        Self::start_with(kubeconfig(), namespace, identity, &args)
    }

    /// Starts `rudder run` with `kubeconfig`, the lease in `namespace`, short
    /// lease timings (unless `extra` sets `--lease-duration`) and `extra` arguments (watching all namespaces unless
    /// `extra` says otherwise).
    pub fn start_with(kubeconfig: &Path, namespace: &str, identity: &str, extra: &[&str]) -> Self {
        let addr = free_addr();
        let log = std::env::temp_dir().join(format!("rudder-test-{namespace}-{identity}.log"));
        let file = std::fs::File::create(&log).expect("creating the log file");
        let err = file.try_clone().expect("cloning the log file handle");
        let addr_arg = addr.to_string();
        let child = Command::new(RUDDER)
            .args(["run", "--log-format", "json", "--metrics-addr", &addr_arg])
            .args([
                "--leader-election-namespace",
                namespace,
                "--identity",
                identity,
            ])
            .args(if extra.contains(&"--lease-duration") {
                &[][..]
            } else {
                &[
                    "--lease-duration",
                    "6s",
                    "--renew-deadline",
                    "4s",
                    "--retry-period",
                    "500ms",
                ][..]
            })
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .env(
                "RUST_LOG",
                std::env::var("RUDDER_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("spawning rudder run");
        Self { child, addr, log }
    }

    /// The process's log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits up to `timeout` for the process to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("polling the child") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "rudder did not exit within {timeout:?}; log:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Rudder {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
