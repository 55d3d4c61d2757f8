//! rudder deployed the way its users deploy it. `scripts/build-image.sh`
//! (`make image`) builds the image without a container daemon; it is pushed
//! to the reference registry (docker-registry on 127.0.0.1), whose manifest,
//! config and layer are read back over its HTTP API: non-root user,
//! entrypoint `rudder run`, OCI labels, and the binary inside runs. The
//! chart (`helm install`) and the kustomize tree (`kubectl apply
//! --server-side -k`) install that image on the test control plane and the
//! Deployment becomes Available (kwok's simulated nodes run no container).
//! So the chart's RBAC is exercised by a `rudder run` authenticated with a
//! token of the chart's ServiceAccount (TokenRequest): it reconciles a
//! HelmRelease to Ready, and what the RBAC leaves out (cluster-scoped
//! objects without `rbac.clusterWideApply`) is refused.

mod e2e;
mod hr;
mod repo_server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use e2e::{Rudder, TestNamespace, eventually, tool};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use rudder::api::{ConditionStatus, HelmRelease};
use serde_json::{Value as Json, json};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The image `scripts/build-image.sh` built: its OCI layout and digest.
struct Image {
    layout: PathBuf,
    digest: String,
}

/// Builds the image once per test binary with `scripts/build-image.sh`,
/// from a static-pie build of the dev profile: the linkage the image needs
/// (checked by the script and below), without the release profile's
/// fat-LTO build time (`RUDDER_IMAGE_TEST_PROFILE=release` tests the
/// shipped build instead; `RUDDER_BINARY` names a static-pie binary already
/// built). The build gets its own target directory: `cargo test` holds the
/// lock of the one it runs from.
fn image() -> &'static Image {
    static IMAGE: OnceLock<Image> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("deploy-image-oci");
        let out = Command::new(repo_path("scripts/build-image.sh"))
            .env("IMAGE_OUT", &out_dir)
            .env(
                "CARGO_TARGET_DIR",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("image-build"),
            )
            .env(
                "RUDDER_PROFILE",
                std::env::var("RUDDER_IMAGE_TEST_PROFILE").unwrap_or_else(|_| "dev".into()),
            )
            .env("IMAGE_SOURCE", "https://rudder.example/source")
            .output()
            .expect("running scripts/build-image.sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "scripts/build-image.sh failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let layout = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
        assert_eq!(layout, out_dir, "the last line names the layout: {stdout}");
        let digest = stdout
            .lines()
            .find_map(|l| l.strip_prefix("digest: "))
            .unwrap_or_else(|| panic!("no digest printed: {stdout}"))
            .to_string();
        Image { layout, digest }
    })
}

/// A docker-registry on 127.0.0.1 holding the image as `rudder:<version>`.
struct Pushed {
    _registry: repo_server::Registry,
    _storage: tempfile::TempDir,
    host: String,
}

impl Pushed {
    fn start() -> Self {
        let storage = tempfile::tempdir().expect("tempdir");
        let registry = repo_server::Registry::start(
            storage.path(),
            "registry",
            &storage.path().join("data"),
            None,
        );
        let host = format!("127.0.0.1:{}", registry.port);
        let img = image();
        let reference = format!("{host}/rudder:{}", env!("CARGO_PKG_VERSION"));
        let layout = img.layout.display().to_string();
        let pushed = Command::new(repo_path("scripts/build-image.sh"))
            .args(["push", &layout, &reference])
            .output()
            .expect("running scripts/build-image.sh push");
        assert!(
            pushed.status.success(),
            "push failed: {}",
            String::from_utf8_lossy(&pushed.stderr)
        );
        Pushed {
            _registry: registry,
            _storage: storage,
            host,
        }
    }

    /// `HOST/rudder@sha256:…`.
    fn by_digest(&self) -> String {
        format!("{}/rudder@{}", self.host, image().digest)
    }

    /// GET from the registry's HTTP API; the body and the response headers.
    fn get(&self, path: &str, accept: &str) -> (Vec<u8>, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let headers = dir.path().join("headers");
        let out = Command::new("curl")
            .args(["-sSfL", "-H", &format!("Accept: {accept}"), "-D"])
            .arg(&headers)
            .arg(format!("http://{}/v2/rudder/{path}", self.host))
            .output()
            .expect("running curl");
        assert!(
            out.status.success(),
            "GET {path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let headers = std::fs::read_to_string(&headers).expect("headers");
        (out.stdout, headers)
    }

    fn get_json(&self, path: &str, accept: &str) -> Json {
        serde_json::from_slice(&self.get(path, accept).0).expect("registry JSON")
    }
}

#[test]
fn pushed_image_is_non_root_runs_rudder_and_carries_its_labels() {
    let pushed = Pushed::start();
    let version = env!("CARGO_PKG_VERSION");
    let (body, headers) = pushed.get(&format!("manifests/{version}"), OCI_MANIFEST);
    assert!(
        headers
            .to_ascii_lowercase()
            .contains(&format!("docker-content-digest: {}", image().digest)),
        "the registry serves the digest make image printed ({}):\n{headers}",
        image().digest
    );
    let manifest: Json = serde_json::from_slice(&body).expect("manifest JSON");
    assert_eq!(manifest["mediaType"], OCI_MANIFEST, "{manifest}");
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1, "one layer: {manifest}");

    let config_digest = manifest["config"]["digest"]
        .as_str()
        .expect("config digest");
    let config = pushed.get_json(&format!("blobs/{config_digest}"), "*/*");
    assert_eq!(config["os"], "linux");
    let c = &config["config"];
    assert_eq!(c["User"], "65532:65532", "{config}");
    assert_eq!(c["Entrypoint"], json!(["/usr/local/bin/rudder", "run"]));
    let labels = &c["Labels"];
    assert_eq!(labels["org.opencontainers.image.version"], version);
    assert_eq!(
        labels["org.opencontainers.image.source"],
        "https://rudder.example/source"
    );
    let head = tool(
        "git",
        &["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "HEAD"],
        None,
    );
    assert_eq!(labels["org.opencontainers.image.revision"], head.trim());

    // The layer, extracted: the binary runs with no library from the host
    // image, the user exists, the CA bundle is the host's.
    let layer_digest = layers[0]["digest"].as_str().expect("layer digest");
    let (layer, _) = pushed.get(&format!("blobs/{layer_digest}"), "*/*");
    let root = tempfile::tempdir().expect("tempdir");
    let archive = root.path().join("layer.tar.gz");
    std::fs::write(&archive, layer).expect("layer");
    let fs = root.path().join("fs");
    std::fs::create_dir(&fs).expect("mkdir");
    tool(
        "tar",
        &[
            "-xzf",
            &archive.display().to_string(),
            "-C",
            &fs.display().to_string(),
        ],
        None,
    );
    let passwd = std::fs::read_to_string(fs.join("etc/passwd")).expect("/etc/passwd");
    assert!(passwd.contains(":65532:65532:"), "{passwd}");
    let certs = std::fs::read(fs.join("etc/ssl/certs/ca-certificates.crt")).expect("CA bundle");
    assert_eq!(
        certs,
        std::fs::read("/etc/ssl/certs/ca-certificates.crt").expect("host CA bundle")
    );
    let binary = fs.join("usr/local/bin/rudder");
    let readelf = tool("readelf", &["-lW", &binary.display().to_string()], None);
    assert!(
        !readelf.contains("INTERP"),
        "the binary needs no loader:\n{readelf}"
    );
    let printed = tool(&binary.display().to_string(), &["--version"], None);
    assert_eq!(printed.trim(), format!("rudder {version}"));
}

/// A kubeconfig for the test control plane authenticated only by a token of
/// ServiceAccount `ns/name` (TokenRequest); returns its path.
async fn service_account_kubeconfig(client: &Client, ns: &str, name: &str) -> PathBuf {
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: Vec::new(),
            expiration_seconds: Some(3600),
            ..Default::default()
        },
        ..Default::default()
    };
    let issued: TokenRequest = Api::<ServiceAccount>::namespaced(client.clone(), ns)
        .create_subresource("token", name, &PostParams::default(), &request)
        .await
        .unwrap_or_else(|e| panic!("TokenRequest for {ns}/{name}: {e}"));
    let token = issued.status.expect("TokenRequest status").token;
    let path = e2e::kubeconfig();
    let mut kc = Kubeconfig::read_from(path).expect("admin kubeconfig");
    for named in &mut kc.auth_infos {
        named.auth_info = Some(kube::config::AuthInfo {
            token: Some(token.clone().into()),
            ..Default::default()
        });
    }
    let out = std::env::temp_dir().join(format!("{ns}-{name}.token.kubeconfig"));
    let json = serde_json::to_string(&kc).expect("kubeconfig to JSON");
    std::fs::write(&out, json).expect("writing the kubeconfig");
    out
}

async fn client_for(kubeconfig: &Path) -> Client {
    let kc = Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    Client::try_from(config).expect("client")
}

/// Waits until Deployment `ns/name` reports Available=True.
async fn wait_available(client: &Client, ns: &str, name: &str) {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    eventually(
        &format!("Deployment {ns}/{name} Available"),
        Duration::from_secs(90),
        || async {
            let d = api.get(name).await.ok()?;
            let available = d
                .status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Available" && c.status == "True");
            available.then_some(())
        },
    )
    .await;
}

/// The single container image of Deployment `ns/name`.
async fn deployed_image(client: &Client, ns: &str, name: &str) -> String {
    let d = Api::<Deployment>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .expect("Deployment");
    d.spec
        .and_then(|s| s.template.spec)
        .and_then(|s| s.containers.into_iter().next())
        .and_then(|c| c.image)
        .expect("container image")
}

/// `helm uninstall` when dropped: the chart's ClusterRoles and bindings are
/// cluster-scoped and outlive the test namespace.
struct HelmInstall {
    name: String,
    ns: String,
}

impl Drop for HelmInstall {
    fn drop(&mut self) {
        let out = e2e::helm_output(&["uninstall", &self.name, "-n", &self.ns, "--wait"]);
        if !out.status.success() {
            eprintln!("helm uninstall: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

/// A HelmRelease condition's status and message, once observed at the
/// current generation.
async fn ready_condition(api: &Api<HelmRelease>, name: &str) -> Option<(bool, String)> {
    let obj = api.get(name).await.ok()?;
    let st = obj.status?;
    if st.observed_generation != obj.metadata.generation {
        return None;
    }
    st.conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status == ConditionStatus::True, c.message.clone()))
}

#[tokio::test]
async fn helm_install_becomes_available_and_its_service_account_reconciles_within_its_rbac() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let pushed = Pushed::start();
    let ns = TestNamespace::create(&client, "img-helm").await;
    let release = ns.name.clone();
    let chart = repo_path("charts/rudder").display().to_string();
    let _installed = HelmInstall {
        name: release.clone(),
        ns: ns.name.clone(),
    };
    e2e::helm(&[
        "install",
        &release,
        &chart,
        "-n",
        &ns.name,
        "--set",
        &format!("image.repository={}/rudder", pushed.host),
        "--set",
        &format!("image.digest={}", image().digest),
        "--set",
        "rbac.clusterWideApply=false",
    ]);
    // Helm never upgrades crds/: the documented one command does.
    let crds = tool("helm", &["show", "crds", &chart], None);
    let upgraded = tool(
        "kubectl",
        &["apply", "--server-side", "--force-conflicts", "-f", "-"],
        Some(&crds),
    );
    for crd in ["helmreleases", "helmrepositories", "gitrepositories"] {
        assert!(
            upgraded.contains(&format!("{crd}.helm.rudder.dev serverside-applied")),
            "{upgraded}"
        );
    }
    let deployment = format!("{release}-rudder");
    wait_available(&client, &ns.name, &deployment).await;
    assert_eq!(
        deployed_image(&client, &ns.name, &deployment).await,
        pushed.by_digest()
    );

    // The chart's ServiceAccount, as the pod would be: a token, nothing else.
    let kubeconfig = service_account_kubeconfig(&client, &ns.name, &deployment).await;
    let as_sa = client_for(&kubeconfig).await;

    // Outside its RBAC: without clusterWideApply it creates no cluster-scoped
    // object and no workload.
    let role: ClusterRole = serde_json::from_value(json!({
        "metadata": { "name": format!("{release}-escalate") },
        "rules": [{ "apiGroups": ["*"], "resources": ["*"], "verbs": ["*"] }],
    }))
    .expect("ClusterRole");
    let refused = Api::<ClusterRole>::all(as_sa.clone())
        .create(&PostParams::default(), &role)
        .await
        .expect_err("the ServiceAccount must not create ClusterRoles");
    assert!(
        matches!(&refused, kube::Error::Api(s) if s.code == 403),
        "{refused}"
    );
    let deploy: Deployment = serde_json::from_value(json!({
        "metadata": { "name": "intruder" },
        "spec": { "selector": { "matchLabels": { "a": "b" } },
                  "template": { "metadata": { "labels": { "a": "b" } },
                                "spec": { "containers": [{ "name": "c", "image": "x" }] } } },
    }))
    .expect("Deployment");
    let refused = Api::<Deployment>::namespaced(as_sa.clone(), "kube-system")
        .create(&PostParams::default(), &deploy)
        .await
        .expect_err("the ServiceAccount must not create Deployments");
    assert!(
        matches!(&refused, kube::Error::Api(s) if s.code == 403),
        "{refused}"
    );

    // Within it: a HelmRelease applied through spec.serviceAccountName (a
    // namespace admin's account) becomes Ready; one whose chart holds a
    // ClusterRole, applied with rudder's own rights, is refused.
    let shard = json!({ "rudder.dev/test-shard": ns.name });
    let (_charts, _site) = hr::serve_app_chart_in(&client, &[&ns.name], &shard).await;
    let (_wide, wide_site) = serve_cluster_role_chart(&release).await;
    hr::create_repository_labelled(&client, &ns.name, "wide", &wide_site.base(), &shard).await;
    tool(
        "kubectl",
        &["apply", "--server-side", "-n", &ns.name, "-f", "-"],
        Some(&namespace_admin("deployer")),
    );
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), &ns.name);
    for (name, repo, chart, extra) in [
        (
            "web",
            "charts",
            "app",
            json!({ "serviceAccountName": "deployer" }),
        ),
        ("wide", "wide", "wide", json!({})),
    ] {
        let mut obj = hr::release(name, repo, chart, "0.1.0", extra);
        obj.metadata.labels = Some([("rudder.dev/test-shard".into(), ns.name.clone())].into());
        releases
            .create(&PostParams::default(), &obj)
            .await
            .expect("create HelmRelease");
    }
    let selector = format!("rudder.dev/test-shard={}", ns.name);
    let rudder = Rudder::start_with(
        &kubeconfig,
        &ns.name,
        "sa",
        &["--watch-label-selector", &selector],
    );
    hr::wait_revision(&releases, "web", 1).await;
    assert!(
        hr::configmap(&client, &ns.name, "web-cm").await.is_some(),
        "the chart's ConfigMap was applied"
    );
    let message = eventually(
        "HelmRelease wide refused",
        Duration::from_secs(90),
        || async {
            match ready_condition(&releases, "wide").await? {
                (false, m) if m.contains("forbidden") => Some(m),
                _ => None,
            }
        },
    )
    .await;
    assert!(message.contains("clusterroles"), "{message}");
    assert!(
        Api::<ClusterRole>::all(client.clone())
            .get_opt(&format!("{release}-wide"))
            .await
            .expect("get ClusterRole")
            .is_none()
    );
    drop(rudder);
    let _ = std::fs::remove_file(&kubeconfig);
}

/// Serves chart `wide` 0.1.0, whose one object is ClusterRole
/// `<prefix>-wide`.
async fn serve_cluster_role_chart(prefix: &str) -> (tempfile::TempDir, repo_server::Site) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let template = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {prefix}-wide\nrules: []\n"
    );
    let site = hr::serve(hr::repository_files(&[hr::write_chart(
        tmp.path(),
        "wide",
        "0.1.0",
        &[("templates/role.yaml", &template)],
    )]))
    .await;
    (tmp, site)
}

/// A ServiceAccount `name` bound to the built-in `admin` ClusterRole in its
/// namespace only.
fn namespace_admin(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: {name}-admin\n\
         roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: admin\n\
         subjects:\n- kind: ServiceAccount\n  name: {name}\n"
    )
}

/// Deletes the kustomize install's cluster-scoped RBAC when dropped (not
/// `kubectl delete -k`: that would delete the shared CRDs too).
struct KustomizeRbac {
    suffix: String,
}

impl Drop for KustomizeRbac {
    fn drop(&mut self) {
        let suffix = self.suffix.clone();
        let joined = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let Ok(rt) = rt else { return };
            rt.block_on(async {
                let client = e2e::client().await;
                for name in ["rudder-manager", "rudder-apply"] {
                    let name = format!("{name}{suffix}");
                    let _ = Api::<ClusterRoleBinding>::all(client.clone())
                        .delete(&name, &DeleteParams::default())
                        .await;
                    let _ = Api::<ClusterRole>::all(client.clone())
                        .delete(&name, &DeleteParams::default())
                        .await;
                }
            });
        })
        .join();
        if joined.is_err() {
            eprintln!("cleanup thread panicked");
        }
    }
}

#[tokio::test]
async fn kustomize_install_becomes_available() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let pushed = Pushed::start();
    let ns = TestNamespace::create(&client, "img-kustomize").await;
    let suffix = format!("-{}", ns.name);
    let _rbac = KustomizeRbac {
        suffix: suffix.clone(),
    };
    // An overlay as a user writes one: config/ moved to this test's
    // namespace, its cluster-scoped names made unique, the image set.
    let overlay = tempfile::tempdir().expect("tempdir");
    let config = repo_path("config");
    let relative = relative_path(overlay.path(), &config);
    std::fs::write(
        overlay.path().join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
             namespace: {ns}\nnameSuffix: {suffix}\nresources:\n- {relative}\n\
             images:\n- name: rudder\n  newName: {host}/rudder\n  digest: {digest}\n",
            ns = ns.name,
            host = pushed.host,
            digest = image().digest,
        ),
    )
    .expect("kustomization.yaml");
    // --force-conflicts: other tests on this shared control plane apply the
    // same CRDs under their own field manager.
    let out = tool(
        "kubectl",
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-k",
            &overlay.path().display().to_string(),
        ],
        None,
    );
    assert!(out.contains("serverside-applied"), "{out}");
    let deployment = format!("rudder{suffix}");
    wait_available(&client, &ns.name, &deployment).await;
    assert_eq!(
        deployed_image(&client, &ns.name, &deployment).await,
        pushed.by_digest()
    );
}

/// `to` relative to `from` (kustomize refuses absolute resource paths).
fn relative_path(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}
