//! `spec.kubeConfig`: a HelmRelease on the test control plane installs
//! into a second, remote control plane (etcd and kube-apiserver started
//! here by `e2e/testenv/up.sh` under a name of its own, stopped at the
//! end). The real `helm list --kubeconfig <remote>` sees the release;
//! deleting the HelmRelease uninstalls it there; a wrong kubeconfig is a
//! clear condition that does not show the Secret's content.

mod e2e;
mod hr;
mod repo_server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use e2e::{Rudder, TestNamespace, eventually};
use hr::*;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};
use rudder::api::HelmRelease;
use serde_json::json;

/// A second control plane, stopped (only what its up.sh started) when dropped.
struct RemotePlane {
    name: String,
    kubeconfig: PathBuf,
}

fn testenv(script: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("e2e/testenv")
        .join(script)
}

impl RemotePlane {
    fn start() -> RemotePlane {
        let name = format!("remote-{}", std::process::id());
        let out = Command::new(testenv("up.sh"))
            .env("RUDDER_TESTENV_NAME", &name)
            .env("RUDDER_TESTENV_MINIMAL", "1")
            .env_remove("RUDDER_TESTENV_DIR")
            .output()
            .expect("running e2e/testenv/up.sh");
        assert!(
            out.status.success(),
            "up.sh for the remote control plane failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let path = stdout.lines().last().expect("kubeconfig path").trim();
        RemotePlane {
            name,
            kubeconfig: PathBuf::from(path),
        }
    }

    async fn client(&self) -> Client {
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("remote kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .expect("remote config");
        Client::try_from(config).expect("remote client")
    }

    /// `helm list -n NS -o json` on the remote cluster.
    fn helm_list(&self, ns: &str) -> Vec<(String, String)> {
        let out = Command::new("helm")
            .args(["list", "-n", ns, "-o", "json", "--kubeconfig"])
            .arg(&self.kubeconfig)
            .output()
            .expect("run helm");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("helm JSON");
        list.as_array()
            .map(|a| {
                a.iter()
                    .map(|r| {
                        (
                            r["name"].as_str().unwrap_or("").to_string(),
                            r["status"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for RemotePlane {
    fn drop(&mut self) {
        let status = Command::new(testenv("down.sh"))
            .env("RUDDER_TESTENV_NAME", &self.name)
            .env_remove("RUDDER_TESTENV_DIR")
            .status();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!("stopping the remote control plane {} failed", self.name);
        }
    }
}

async fn secret(client: &Client, ns: &str, name: &str, value: &str) {
    let s: Secret = serde_json::from_value(json!({"metadata": {"name": name}})).expect("secret");
    let s = Secret {
        data: Some([("value".to_string(), ByteString(value.as_bytes().to_vec()))].into()),
        ..s
    };
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &s)
        .await
        .expect("create Secret");
}

async fn create(api: &Api<HelmRelease>, obj: &HelmRelease) {
    api.create(&PostParams::default(), obj)
        .await
        .expect("create HelmRelease");
}

#[tokio::test]
async fn a_release_goes_to_the_cluster_its_kubeconfig_names() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let remote = RemotePlane::start();
    let remote_client = remote.client().await;
    let ns = TestNamespace::create(&client, "remote").await;
    let n = ns.name.as_str();
    let (_tmp, site) = serve_app_chart(&client, n).await;
    let kubeconfig = std::fs::read_to_string(&remote.kubeconfig).expect("read kubeconfig");
    secret(&client, n, "remote-kubeconfig", &kubeconfig).await;
    secret(&client, n, "garbage", "this is: [not a kubeconfig").await;
    // The remote's credentials, aimed at a port where nothing listens.
    let closed = e2e::free_addr().port();
    let unreachable = with_server_port(&kubeconfig, closed);
    secret(&client, n, "unreachable", &unreachable).await;
    let _rudder = Rudder::start(n, "remote", &[]);
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    let remote_spec = |secret: &str| json!({"kubeConfig": {"secretRef": {"name": secret}}, "createNamespace": true, "install": {"wait": false}});
    create(
        &api,
        &release(
            "app",
            "charts",
            "app",
            "0.1.0",
            remote_spec("remote-kubeconfig"),
        ),
    )
    .await;
    create(
        &api,
        &release("garbage", "charts", "app", "0.1.0", remote_spec("garbage")),
    )
    .await;
    create(
        &api,
        &release("down", "charts", "app", "0.1.0", remote_spec("unreachable")),
    )
    .await;

    wait_revision(&api, "app", 1).await;
    assert_eq!(
        remote.helm_list(n),
        vec![("app".to_string(), "deployed".to_string())]
    );
    let on_remote = Api::<ConfigMap>::namespaced(remote_client.clone(), n);
    assert!(on_remote.get_opt("app-cm").await.expect("get").is_some());
    // Objects and records are not at home; status is.
    assert!(configmap(&client, n, "app-cm").await.is_none());
    let home_records = Api::<Secret>::namespaced(client.clone(), n)
        .list(&ListParams::default().labels("owner=helm"))
        .await
        .expect("list");
    assert!(home_records.items.is_empty());

    let msg = wait_condition(&api, "garbage", "Ready", "KubeConfigInvalid").await;
    assert!(msg.contains(&format!("Secret {n}/garbage")), "{msg}");
    assert!(!msg.contains("this is"), "the content is not shown: {msg}");
    let msg = wait_condition(&api, "down", "Ready", "RemoteClusterUnreachable").await;
    assert!(msg.contains(&format!("127.0.0.1:{closed}")), "{msg}");
    assert!(!msg.contains("client-key-data"), "{msg}");
    e2e::wait_warning(&client, n, "down", "RemoteClusterUnreachable").await;

    // Deleting the HelmRelease uninstalls on the remote cluster.
    api.delete("app", &Default::default())
        .await
        .expect("delete");
    eventually(
        "app uninstalled remotely",
        Duration::from_secs(60),
        || async {
            let gone = api.get_opt("app").await.ok()?.is_none();
            (gone && remote.helm_list(n).is_empty()).then_some(())
        },
    )
    .await;
    assert!(on_remote.get_opt("app-cm").await.expect("get").is_none());
    drop(site);
}

/// `kubeconfig` with its server's port replaced by `port`.
fn with_server_port(kubeconfig: &str, port: u16) -> String {
    kubeconfig
        .lines()
        .map(
            |l| match l.trim_start().strip_prefix("server: https://127.0.0.1:") {
                Some(_) => format!("    server: https://127.0.0.1:{port}"),
                None => l.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}
