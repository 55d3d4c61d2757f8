//! OCI pulls against the real reference registry (Debian's
//! `docker-registry`) on 127.0.0.1, with charts pushed by the real
//! `helm push`; a second registry on the same storage requires basic auth.

use std::path::Path;
use std::process::Command;

use super::server::Registry;
use super::{helm_binary, index_dir, quick, read};
use crate::repo::cache::sha256_hex;
use crate::repo::fetch::{BasicAuth, FetchError, FetchOptions};
use crate::repo::oci::{OciClient, OciError, OciReference};

fn helm_push(helm: &str, tgz: &Path, dest: &str, cwd: &Path) {
    let out = Command::new(helm)
        .args(["push", &tgz.display().to_string(), dest, "--plain-http"])
        .current_dir(cwd)
        .env("HELM_CONFIG_HOME", cwd.join("helm-config"))
        .env("HELM_CACHE_HOME", cwd.join("helm-cache"))
        .output()
        .expect("helm push");
    assert!(
        out.status.success(),
        "helm push: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn index_digest(file: &str) -> String {
    format!("sha256:{}", sha256_hex(&read(&index_dir().join(file))))
}

#[tokio::test]
async fn pulls_helm_pushed_charts_from_a_real_registry() {
    let helm =
        helm_binary().expect("helm not found: run ../shared/tools/install-helm ~/.local/bin");
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = dir.path().join("storage");
    let open = Registry::start(dir.path(), "open", &storage, None);
    for v in ["0.1.0", "0.2.0"] {
        let tgz = index_dir().join(format!("scaffold-{v}.tgz"));
        helm_push(&helm, &tgz, &format!("{}/charts", open.base()), dir.path());
    }
    let client = OciClient::new(quick(), true).expect("client");
    let r = OciReference::parse(&format!("{}/charts/scaffold", open.base())).expect("ref");
    assert_eq!(client.tags(&r).await.expect("tags"), ["0.2.0", "0.1.0"]);

    let pulled = client.pull(&r, "0.1.x").await.expect("pull 0.1.x");
    assert_eq!(pulled.tag.as_deref(), Some("0.1.0"));
    assert_eq!(pulled.chart_digest, index_digest("scaffold-0.1.0.tgz"));
    // The archive helm pushed, byte for byte (rendering is tests/parity.rs's job).
    assert_eq!(pulled.bytes, read(&index_dir().join("scaffold-0.1.0.tgz")));

    let newest = client.pull(&r, "").await.expect("pull newest");
    assert_eq!(newest.tag.as_deref(), Some("0.2.0"));
    assert_eq!(newest.chart_digest, index_digest("scaffold-0.2.0.tgz"));

    let by_digest =
        OciReference::parse(&format!("{}@{}", r.name(), pulled.manifest_digest)).expect("ref");
    let again = client.pull(&by_digest, "").await.expect("pull by digest");
    assert_eq!(again.bytes, pulled.bytes);

    let tagged = OciReference::parse(&format!("{}:9.9.9", r.name())).expect("ref");
    let err = client.pull(&tagged, "").await.expect_err("no such tag");
    assert!(
        matches!(err, OciError::Fetch(FetchError::Status { status: 404, .. })),
        "{err:?}"
    );
    let err = client.pull(&r, "^3").await.expect_err("no match");
    assert!(matches!(err, OciError::NoMatchingTag { .. }), "{err:?}");
    drop(open);

    // The same storage behind basic auth.
    let htpasswd = dir.path().join("htpasswd");
    let hash = bcrypt::hash("s3cret", 4).expect("bcrypt");
    std::fs::write(&htpasswd, format!("alice:{hash}\n")).expect("htpasswd");
    let secured = Registry::start(dir.path(), "secured", &storage, Some(&htpasswd));
    let r = OciReference::parse(&format!("{}/charts/scaffold:0.1.0", secured.base())).expect("ref");
    let err = client.pull(&r, "").await.expect_err("anonymous refused");
    assert!(matches!(err, OciError::Unauthorized { .. }), "{err:?}");
    let authed = OciClient::new(
        FetchOptions {
            basic_auth: Some(BasicAuth {
                username: "alice".into(),
                password: "s3cret".into(),
            }),
            ..quick()
        },
        true,
    )
    .expect("client");
    let pulled = authed.pull(&r, "").await.expect("pull with credentials");
    assert_eq!(pulled.chart_digest, index_digest("scaffold-0.1.0.tgz"));
}
