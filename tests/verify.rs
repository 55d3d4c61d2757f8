//! `spec.chart.verify` against the real control plane with `rudder run`,
//! real signing tools and real verifiers as oracles:
//! - `pgp`: charts signed by `helm package --sign` with a throwaway `gpg`
//!   key; a good chart installs, a tampered archive, a wrong keyring and an
//!   unsigned chart are refused with `VerificationFailed` and a Warning
//!   event, nothing applied — and `helm verify` agrees on each case.
//! - `cosign`: a chart pushed by `helm push` to the reference registry on
//!   127.0.0.1 and signed by `cosign sign --key`; it installs, an unsigned
//!   one and a wrong key are refused — and `cosign verify` agrees.

mod e2e;
mod hr;
mod repo_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use e2e::{Rudder, TestNamespace, helm};
use hr::*;
use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use kube::{Api, Client};
use repo_server::Registry;
use rudder::api::HelmRelease;
use serde_json::json;

/// Runs `program` with `envs`, returning its output (not checked).
fn run(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"))
}

/// Runs `program` and insists on success; returns stdout + stderr.
fn run_ok(program: &str, args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = run(program, args, envs);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?} failed:\n{text}");
    text
}

/// A throwaway unprotected RSA signing key `name` in its own GnuPG home
/// under `root`; returns (secring.gpg, pubring.gpg, armored public key).
fn gpg_key(root: &Path, name: &str) -> (PathBuf, PathBuf, Vec<u8>) {
    let home = root.join(format!("gnupg-{}", name.replace(' ', "-")));
    std::fs::create_dir_all(&home).expect("gnupg home");
    let mut perms = std::fs::metadata(&home).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o700);
    std::fs::set_permissions(&home, perms).expect("chmod");
    let spec = home.join("keyspec");
    std::fs::write(
        &spec,
        format!(
            "%no-protection\nKey-Type: RSA\nKey-Length: 2048\nKey-Usage: sign\nName-Real: {name}\nName-Email: signer@rudder.test\nExpire-Date: 0\n%commit\n"
        ),
    )
    .expect("keyspec");
    let h = home.to_string_lossy().into_owned();
    let env = [("GNUPGHOME", h.as_str())];
    run_ok(
        "gpg",
        &["--batch", "--gen-key", &spec.to_string_lossy()],
        &env,
    );
    let export = |args: &[&str]| {
        let out = run("gpg", args, &env);
        assert!(out.status.success(), "gpg {args:?}");
        out.stdout
    };
    let secring = home.join("secring.gpg");
    let pubring = home.join("pubring.gpg");
    std::fs::write(&secring, export(&["--batch", "--export-secret-keys"])).expect("secring");
    std::fs::write(&pubring, export(&["--batch", "--export"])).expect("pubring");
    let armored = export(&["--batch", "--armor", "--export"]);
    (secring, pubring, armored)
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A chart folder `name` 0.1.0 rendering one ConfigMap `<release>-cm`.
fn chart(root: &Path, name: &str, v: &str) -> PathBuf {
    write_chart(
        root,
        name,
        "0.1.0",
        &[
            ("templates/cm.yaml", CM_TEMPLATE),
            ("values.yaml", &format!("v: {v}\n")),
        ],
    )
}

/// `helm verify --keyring` on an archive (its `.prov` beside it).
fn helm_verifies(archive: &Path, keyring: &Path) -> bool {
    e2e::helm_output(&["verify", "--keyring", &path(keyring), &path(archive)])
        .status
        .success()
}

async fn create_secret(client: &Client, ns: &str, name: &str, key: &str, data: Vec<u8>) {
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
        "data": {key: k8s_openapi::ByteString(data)},
    }))
    .expect("Secret");
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create Secret");
}

fn verified(name: &str, repo: &str, chart: &str, provider: &str, secret: &str) -> HelmRelease {
    let mut obj = release(
        name,
        repo,
        chart,
        "0.1.0",
        json!({"install": {"wait": false}}),
    );
    obj.spec.chart.verify = Some(
        serde_json::from_value(json!({"provider": provider, "secretRef": {"name": secret}}))
            .expect("verify"),
    );
    obj
}

/// A refused release: `VerificationFailed` naming `why`, a Warning event,
/// no object and no release record.
async fn assert_refused(client: &Client, api: &Api<HelmRelease>, ns: &str, name: &str, why: &str) {
    let message = wait_condition(api, name, "Ready", "VerificationFailed").await;
    assert!(message.contains(why), "{name}: {message}");
    let note = e2e::wait_warning(client, ns, name, "VerificationFailed").await;
    assert!(note.contains(why), "{name}: {note}");
    assert!(
        configmap(client, ns, &format!("{name}-cm")).await.is_none(),
        "{name}: nothing applied"
    );
    let list = helm(&["list", "-n", ns, "-q", "--filter", &format!("^{name}$")]);
    assert!(list.trim().is_empty(), "{name}: no release record: {list}");
}

#[tokio::test]
async fn pgp_provenance_is_verified_like_helm_verify() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "verify-pgp").await;
    let n = ns.name.as_str();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let (secring, pubring, _) = gpg_key(root, "Rudder Signer");
    let (_, other_pubring, other_armored) = gpg_key(root, "Someone Else");

    let out = root.join("repo");
    std::fs::create_dir_all(&out).expect("repo dir");
    let sign = |dir: &Path| {
        run_ok(
            "helm",
            &[
                "package",
                "--sign",
                "--key",
                "Rudder Signer",
                "--keyring",
                &path(&secring),
                "-d",
                &path(&out),
                &path(dir),
            ],
            &[],
        );
    };
    sign(&chart(root, "signed", "good"));
    sign(&chart(root, "tampered", "good"));
    // The signed archive replaced by another build of the same name.
    let evil = root.join("evil");
    run_ok(
        "helm",
        &[
            "package",
            "-d",
            &path(&evil),
            &path(&chart(&evil, "tampered", "evil")),
        ],
        &[],
    );
    std::fs::copy(
        evil.join("tampered-0.1.0.tgz"),
        out.join("tampered-0.1.0.tgz"),
    )
    .expect("tamper");
    run_ok(
        "helm",
        &[
            "package",
            "-d",
            &path(&out),
            &path(&chart(&root.join("u"), "unsigned", "x")),
        ],
        &[],
    );
    run_ok("helm", &["repo", "index", &path(&out)], &[]);

    // The oracle: helm verify on the same files.
    let signed = out.join("signed-0.1.0.tgz");
    assert!(helm_verifies(&signed, &pubring), "helm verify: good chart");
    assert!(
        !helm_verifies(&out.join("tampered-0.1.0.tgz"), &pubring),
        "helm verify: tampered"
    );
    assert!(
        !helm_verifies(&signed, &other_pubring),
        "helm verify: wrong key"
    );
    assert!(
        !helm_verifies(&out.join("unsigned-0.1.0.tgz"), &pubring),
        "helm verify: unsigned"
    );

    let mut files = Vec::new();
    for e in std::fs::read_dir(&out).expect("repo dir") {
        let e = e.expect("entry");
        files.push((
            e.file_name().to_string_lossy().into_owned(),
            std::fs::read(e.path()).expect("file"),
        ));
    }
    let site = serve(files).await;
    create_repository(&client, n, "charts", &site.base()).await;
    create_secret(
        &client,
        n,
        "keys",
        "pubring.gpg",
        std::fs::read(&pubring).expect("pubring"),
    )
    .await;
    create_secret(&client, n, "other-keys", "other.asc", other_armored).await;
    let _rudder = Rudder::start(n, "verify-pgp", &[]);
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    for obj in [
        verified("good", "charts", "signed", "pgp", "keys"),
        verified("tampered", "charts", "tampered", "pgp", "keys"),
        verified("wrong", "charts", "signed", "pgp", "other-keys"),
        verified("unsigned", "charts", "unsigned", "pgp", "keys"),
        verified("nokeys", "charts", "signed", "pgp", "missing"),
    ] {
        api.create(&PostParams::default(), &obj)
            .await
            .expect("create HelmRelease");
    }
    wait_revision(&api, "good", 1).await;
    let cm = configmap(&client, n, "good-cm")
        .await
        .expect("good-cm applied");
    assert_eq!(
        cm.data.unwrap_or_default().get("v").map(String::as_str),
        Some("good")
    );

    assert_refused(&client, &api, n, "tampered", "sha256 of tampered-0.1.0.tgz").await;
    assert_refused(&client, &api, n, "wrong", "not made by any key").await;
    assert_refused(&client, &api, n, "unsigned", "no provenance file").await;
    assert_refused(&client, &api, n, "nokeys", "missing not found").await;
    drop(site);
}

/// The cosign binary: `$RUDDER_COSIGN`, else where
/// `e2e/tools/install-cosign` puts it.
fn cosign() -> String {
    let bin = std::env::var("RUDDER_COSIGN").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.cache/rudder-testenv/cosign-v2.6.5/cosign")
    });
    assert!(
        Path::new(&bin).exists(),
        "{bin} not found: run e2e/tools/install-cosign (.ci/run does)"
    );
    bin
}

/// `cosign generate-key-pair` in `dir` (empty password); returns the
/// public key's PEM.
fn cosign_key_pair(cosign: &str, dir: &Path) -> Vec<u8> {
    std::fs::create_dir_all(dir).expect("key dir");
    let out = Command::new(cosign)
        .arg("generate-key-pair")
        .current_dir(dir)
        .env("COSIGN_PASSWORD", "")
        .output()
        .expect("cosign generate-key-pair");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dir.join("cosign.pub")).expect("cosign.pub")
}

/// `helm push` of `archive`; returns the manifest digest it reports.
fn helm_push(archive: &Path, base: &str) -> String {
    let out = run_ok("helm", &["push", &path(archive), base, "--plain-http"], &[]);
    out.lines()
        .find_map(|l| l.strip_prefix("Digest: "))
        .map(|d| d.trim().to_string())
        .unwrap_or_else(|| panic!("no digest in helm push output: {out}"))
}

const COSIGN_REGISTRY_FLAGS: [&str; 2] = ["--allow-insecure-registry", "--allow-http-registry"];

fn cosign_verifies(cosign: &str, key: &Path, image: &str) -> bool {
    let mut args = vec![
        "verify",
        "--key",
        key.to_str().expect("path"),
        "--insecure-ignore-tlog",
    ];
    args.extend(COSIGN_REGISTRY_FLAGS);
    args.push(image);
    run(cosign, &args, &[]).status.success()
}

#[tokio::test]
async fn cosign_signatures_of_oci_charts_are_verified_like_cosign_verify() {
    let cosign = cosign();
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "verify-cosign").await;
    let n = ns.name.as_str();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let registry = Registry::start(root, "registry", &root.join("storage"), None);
    let base = format!("oci://127.0.0.1:{}/charts", registry.port);
    let pkg = root.join("pkg");
    for (name, v) in [("cosigned", "good"), ("plain", "plain")] {
        run_ok(
            "helm",
            &["package", "-d", &path(&pkg), &path(&chart(root, name, v))],
            &[],
        );
    }
    let digest = helm_push(&pkg.join("cosigned-0.1.0.tgz"), &base);
    let plain_digest = helm_push(&pkg.join("plain-0.1.0.tgz"), &base);
    let image = format!("127.0.0.1:{}/charts/cosigned@{digest}", registry.port);
    let plain = format!("127.0.0.1:{}/charts/plain@{plain_digest}", registry.port);

    let public = cosign_key_pair(&cosign, &root.join("key"));
    let other_public = cosign_key_pair(&cosign, &root.join("other"));
    let key = root.join("key/cosign.key");
    let mut args = vec![
        "sign",
        "--key",
        key.to_str().expect("path"),
        "--tlog-upload=false",
        "--yes",
    ];
    args.extend(COSIGN_REGISTRY_FLAGS);
    args.push(&image);
    run_ok(&cosign, &args, &[("COSIGN_PASSWORD", "")]);

    // The oracle: cosign verify with the same keys.
    let pub_key = root.join("key/cosign.pub");
    assert!(
        cosign_verifies(&cosign, &pub_key, &image),
        "cosign verify: signed"
    );
    assert!(
        !cosign_verifies(&cosign, &pub_key, &plain),
        "cosign verify: unsigned"
    );
    assert!(
        !cosign_verifies(&cosign, &root.join("other/cosign.pub"), &image),
        "cosign verify: other key"
    );

    create_plain_oci_repository(&client, n, "oci", &base).await;
    create_secret(&client, n, "cosign", "cosign.pub", public).await;
    create_secret(&client, n, "other-cosign", "cosign.pub", other_public).await;
    let _rudder = Rudder::start(n, "verify-cosign", &[]);
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), n);
    for obj in [
        verified("good", "oci", "cosigned", "cosign", "cosign"),
        verified("unsigned", "oci", "plain", "cosign", "cosign"),
        verified("wrong", "oci", "cosigned", "cosign", "other-cosign"),
    ] {
        api.create(&PostParams::default(), &obj)
            .await
            .expect("create HelmRelease");
    }
    wait_revision(&api, "good", 1).await;
    let cm = configmap(&client, n, "good-cm")
        .await
        .expect("good-cm applied");
    assert_eq!(
        cm.data.unwrap_or_default().get("v").map(String::as_str),
        Some("good")
    );
    assert_refused(&client, &api, n, "unsigned", "no cosign signature").await;
    assert_refused(&client, &api, n, "wrong", "none of the 1 signature(s)").await;
    drop(registry);
}
