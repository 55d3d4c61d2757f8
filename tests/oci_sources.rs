//! Charts from an OCI registry with `rudder run`, against the real control
//! plane and the reference `docker-registry` on 127.0.0.1 requiring basic
//! auth (htpasswd), the chart pushed by the real `helm push`:
//! credentials from a `kubernetes.io/dockerconfigjson` Secret, wrong ones
//! refused with a clear condition, plain HTTP only with `insecure`, a
//! pinned manifest digest enforced, and a second release of the same chart
//! version served from the archive cache (no second blob download, read
//! from the registry's own request log).

mod e2e;
mod hr;
mod repo_server;

use std::process::Command;

use base64::Engine;
use e2e::{Rudder, TestNamespace};
use hr::*;
use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use kube::{Api, Client};
use repo_server::Registry;
use rudder::api::HelmRelease;
use serde_json::json;

const USER: &str = "ci-user";
const PASSWORD: &str = "s3cret-pw";

/// `helm push` of `archive` to `oci://127.0.0.1:PORT/charts` after `helm
/// registry login`; the manifest digest helm reports.
fn helm_push(home: &std::path::Path, port: u16, archive: &std::path::Path) -> String {
    let registry = format!("127.0.0.1:{port}");
    repo_server::run_in_home(
        "helm",
        &[
            "registry",
            "login",
            &registry,
            "--username",
            USER,
            "--password",
            PASSWORD,
            "--plain-http",
        ],
        home,
    );
    let out = Command::new("helm")
        .args(["push", &archive.display().to_string()])
        .arg(format!("oci://{registry}/charts"))
        .arg("--plain-http")
        .env("HELM_REGISTRY_CONFIG", home.join("config/registry.json"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .output()
        .expect("helm push (is helm installed?)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "helm push failed: {text}");
    text.lines()
        .find_map(|l| l.strip_prefix("Digest: "))
        .map(|d| d.trim().to_string())
        .unwrap_or_else(|| panic!("helm push printed no digest: {text}"))
}

/// A `kubernetes.io/dockerconfigjson` Secret for the registry.
async fn docker_secret(client: &Client, ns: &str, name: &str, port: u16, password: &str) {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{password}"));
    let config = json!({"auths": {format!("127.0.0.1:{port}"): {"auth": auth}}});
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": name},
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": config.to_string()},
    }))
    .expect("Secret");
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create Secret");
}

async fn oci_repository(client: &Client, ns: &str, name: &str, url: &str, spec: serde_json::Value) {
    let mut s = json!({"url": url, "interval": "5s"});
    if let (Some(s), Some(extra)) = (s.as_object_mut(), spec.as_object()) {
        s.extend(extra.clone());
    }
    create_json::<rudder::api::HelmRepository>(
        client,
        ns,
        json!({"apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRepository",
               "metadata": {"name": name}, "spec": s}),
    )
    .await;
}

/// Blobs served (GET answered 200) in the registry's request log.
fn blob_gets(log: &std::path::Path) -> usize {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let served: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("GET /v2/") && l.contains("/blobs/sha256:"))
        .filter(|l| l.contains("HTTP/1.1\" 200"))
        .collect();
    eprintln!("blobs served: {served:#?}");
    served.len()
}

#[tokio::test]
async fn oci_credentials_insecure_digest_pinning_and_cached_pulls() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "oci-src").await;
    let tmp = tempfile::tempdir().expect("tempdir");

    let htpasswd = tmp.path().join("htpasswd");
    let hash = bcrypt::hash(PASSWORD, 6).expect("bcrypt");
    std::fs::write(&htpasswd, format!("{USER}:{hash}\n")).expect("htpasswd");
    let log = tmp.path().join("registry.log");
    let registry = Registry::start_logged(
        tmp.path(),
        "registry",
        &tmp.path().join("storage"),
        Some(&htpasswd),
        Some(&log),
    );

    let chart = write_chart(
        tmp.path(),
        "app",
        "0.1.0",
        &[("templates/cm.yaml", CM_TEMPLATE)],
    );
    let pkg = tmp.path().join("pkg");
    std::fs::create_dir_all(&pkg).expect("mkdir");
    let archive = rudder::repo::package::package(&chart, &pkg).expect("package");
    let home = tmp.path().join("helm-home");
    let digest = helm_push(&home, registry.port, &archive);
    assert_eq!(blob_gets(&log), 0, "pushing downloads no blob");

    docker_secret(&client, &ns.name, "regcred", registry.port, PASSWORD).await;
    docker_secret(&client, &ns.name, "badcred", registry.port, "wrong").await;
    let url = format!("oci://127.0.0.1:{}/charts", registry.port);
    let cred = json!({"secretRef": {"name": "regcred"}});
    oci_repository(
        &client,
        &ns.name,
        "oci",
        &url,
        json!({"secretRef": {"name": "regcred"}, "insecure": true}),
    )
    .await;
    oci_repository(&client, &ns.name, "tls", &url, cred).await;
    oci_repository(
        &client,
        &ns.name,
        "bad",
        &url,
        json!({"secretRef": {"name": "badcred"}, "insecure": true}),
    )
    .await;

    let cache = tmp.path().join("cache");
    let cache_arg = cache.display().to_string();
    let _rudder = Rudder::start(&ns.name, "oci-sources", &["--cache-dir", &cache_arg]);
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), &ns.name);
    let create = |obj: HelmRelease| {
        let api = api.clone();
        async move {
            api.create(&PostParams::default(), &obj)
                .await
                .expect("create HelmRelease");
        }
    };

    // Pinned to the digest helm push reported: installs.
    let mut pinned = release(
        "pinned",
        "oci",
        "app",
        "0.1.0",
        json!({"values": {"v": "one"}}),
    );
    pinned.spec.chart.digest = Some(digest.clone());
    create(pinned).await;
    wait_revision(&api, "pinned", 1).await;
    let cm = configmap(&client, &ns.name, "pinned-cm")
        .await
        .expect("pinned-cm");
    assert_eq!(
        cm.data.unwrap_or_default().get("v").map(String::as_str),
        Some("one")
    );
    assert_eq!(blob_gets(&log), 1, "the chart layer was downloaded once");

    // Same chart version again: the manifest is asked for, the layer is not.
    create(release(
        "second",
        "oci",
        "app",
        "0.1.x",
        json!({"values": {"v": "two"}}),
    ))
    .await;
    wait_revision(&api, "second", 1).await;
    assert!(configmap(&client, &ns.name, "second-cm").await.is_some());
    assert_eq!(blob_gets(&log), 1, "the second release pulled no blob");

    // Another digest pinned: refused, nothing applied.
    let mut mismatch = release("mismatch", "oci", "app", "0.1.0", json!({}));
    let other = format!("sha256:{}", "0".repeat(64));
    mismatch.spec.chart.digest = Some(other.clone());
    create(mismatch).await;
    let msg = wait_condition(&api, "mismatch", "Ready", "DigestMismatch").await;
    assert!(msg.contains(&other) && msg.contains(&digest), "{msg}");
    assert!(configmap(&client, &ns.name, "mismatch-cm").await.is_none());

    // Wrong credentials: the registry refuses them, said so.
    create(release("badcreds", "bad", "app", "0.1.0", json!({}))).await;
    let msg = wait_condition(&api, "badcreds", "Ready", "Unauthorized").await;
    assert!(msg.contains("refused the credentials"), "{msg}");
    assert!(configmap(&client, &ns.name, "badcreds-cm").await.is_none());

    // Without `insecure` the registry is spoken to over HTTPS, which a
    // plain-HTTP registry cannot answer.
    create(release("https", "tls", "app", "0.1.0", json!({}))).await;
    let msg = wait_condition(&api, "https", "Ready", "ChartPullFailed").await;
    assert!(
        msg.contains(&format!("https://127.0.0.1:{}", registry.port)),
        "{msg}"
    );
    assert!(configmap(&client, &ns.name, "https-cm").await.is_none());
}
