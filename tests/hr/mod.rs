//! HelmRelease test helpers shared by the test binaries that run `rudder
//! run` against the test control plane: small charts packaged and indexed
//! in memory and served from 127.0.0.1, HelmRepository and HelmRelease
//! objects, and waits on their conditions.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use rudder::api::{ConditionStatus, HelmRelease};
use serde_json::{Value as Json, json};

use crate::e2e::{eventually, eventually_seen};
use crate::repo_server::Site;

use k8s_openapi::api::core::v1::ConfigMap;

/// A ConfigMap `<release>-cm` holding `.Values.v`.
pub const CM_TEMPLATE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  v: {{ .Values.v | quote }}\n";

/// A chart folder: `Chart.yaml` for `name`/`version` plus `files`.
pub fn write_chart(
    root: &Path,
    name: &str,
    version: &str,
    files: &[(&str, &str)],
) -> std::path::PathBuf {
    let dir = root.join(format!("{name}-{version}"));
    std::fs::create_dir_all(dir.join("templates")).expect("mkdir");
    std::fs::write(
        dir.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: {version}\n"),
    )
    .expect("Chart.yaml");
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("chart file");
    }
    dir
}

/// Packages chart folders and indexes them: the files of a repository.
pub fn repository_files(charts: &[std::path::PathBuf]) -> Vec<(String, Vec<u8>)> {
    let out = tempfile::tempdir().expect("tempdir");
    for c in charts {
        rudder::repo::package::package(c, out.path()).expect("package");
    }
    let index = rudder::repo::indexer::index_directory(out.path(), "", "2026-01-01T00:00:00Z")
        .expect("index");
    let mut files = vec![("index.yaml".to_string(), index.into_bytes())];
    for e in std::fs::read_dir(out.path()).expect("read dir") {
        let e = e.expect("entry");
        files.push((
            e.file_name().to_string_lossy().into_owned(),
            std::fs::read(e.path()).expect("archive"),
        ));
    }
    files
}

pub async fn serve(files: Vec<(String, Vec<u8>)>) -> Site {
    let site = Site::start(None).await;
    for (name, bytes) in files {
        site.put(&name, bytes);
    }
    site
}

/// Serves chart `app` 0.1.0 (one ConfigMap) from a loopback repository
/// that HelmRepository `charts` in `ns` points at; keep both alive.
pub async fn serve_app_chart(client: &Client, ns: &str) -> (tempfile::TempDir, Site) {
    serve_app_chart_in(client, &[ns], &json!({})).await
}

/// [`serve_app_chart`] with HelmRepository `charts`, labelled `labels`, in
/// each of `namespaces`.
pub async fn serve_app_chart_in(
    client: &Client,
    namespaces: &[&str],
    labels: &Json,
) -> (tempfile::TempDir, Site) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let site = serve(repository_files(&[write_chart(
        tmp.path(),
        "app",
        "0.1.0",
        &[
            ("templates/cm.yaml", CM_TEMPLATE),
            ("values.yaml", "v: one\n"),
        ],
    )]))
    .await;
    for ns in namespaces {
        create_repository_labelled(client, ns, "charts", &site.base(), labels).await;
    }
    (tmp, site)
}

pub async fn create_repository(client: &Client, ns: &str, name: &str, url: &str) {
    create_repository_labelled(client, ns, name, url, &json!({})).await;
}

/// Creates HelmRepository `name` in `ns` for a test registry on
/// 127.0.0.1 that speaks plain HTTP (`oci://…` with `insecure: true`).
pub async fn create_plain_oci_repository(client: &Client, ns: &str, name: &str, url: &str) {
    let api: Api<rudder::api::HelmRepository> = Api::namespaced(client.clone(), ns);
    let repo = serde_json::from_value(json!({
        "apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRepository",
        "metadata": {"name": name},
        "spec": {"url": url, "interval": "5s", "insecure": true}
    }))
    .expect("repo");
    api.create(&PostParams::default(), &repo)
        .await
        .expect("create repo");
}

/// Creates HelmRepository `name` in `ns` for `url` with `labels`.
pub async fn create_repository_labelled(
    client: &Client,
    ns: &str,
    name: &str,
    url: &str,
    labels: &Json,
) {
    let api: Api<rudder::api::HelmRepository> = Api::namespaced(client.clone(), ns);
    let repo = serde_json::from_value(json!({
        "apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRepository",
        "metadata": {"name": name, "labels": labels}, "spec": {"url": url, "interval": "5s"}
    }))
    .expect("repo");
    api.create(&PostParams::default(), &repo)
        .await
        .expect("create repo");
}

pub fn release(name: &str, repo: &str, chart: &str, version: &str, spec: Json) -> HelmRelease {
    let mut s = json!({
        "chart": {"name": chart, "version": version, "repositoryRef": {"name": repo}},
        "interval": "1m",
    });
    if let (Some(s), Some(extra)) = (s.as_object_mut(), spec.as_object()) {
        s.extend(extra.clone());
    }
    serde_json::from_value(json!({
        "apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRelease",
        "metadata": {"name": name}, "spec": s
    }))
    .expect("HelmRelease")
}

/// Merges `annotations` into HelmRelease `name`'s annotations.
pub async fn patch_annotations(api: &Api<HelmRelease>, name: &str, annotations: Json) {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": annotations}})),
    )
    .await
    .expect("annotate HelmRelease");
}

pub async fn patch_spec(api: &Api<HelmRelease>, name: &str, spec: Json) {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": spec})),
    )
    .await
    .expect("patch HelmRelease");
}

/// Waits until `name`'s condition `type_` has `reason` at the current
/// generation; returns its message. A timeout names the conditions last
/// seen.
pub async fn wait_condition(
    api: &Api<HelmRelease>,
    name: &str,
    type_: &str,
    reason: &str,
) -> String {
    eventually_seen(
        &format!("{name}: {type_} {reason}"),
        Duration::from_secs(90),
        || async {
            let obj = api.get(name).await.map_err(|e| e.to_string())?;
            let st = obj.status.ok_or("no status yet")?;
            let current = st.observed_generation == obj.metadata.generation;
            if current
                && let Some(c) = st
                    .conditions
                    .iter()
                    .find(|c| c.type_ == type_ && c.reason == reason)
            {
                return Ok(c.message.clone());
            }
            let seen: Vec<String> = st
                .conditions
                .iter()
                .map(|c| format!("{}={:?} {}: {}", c.type_, c.status, c.reason, c.message))
                .collect();
            Err(format!(
                "generation {:?} observed {:?}, revision {:?}; {}",
                obj.metadata.generation,
                st.observed_generation,
                st.revision,
                seen.join("; ")
            ))
        },
    )
    .await
}

/// Waits until `name` is Ready at revision `rev` at the current generation.
pub async fn wait_revision(api: &Api<HelmRelease>, name: &str, rev: i64) {
    eventually(
        &format!("{name}: revision {rev} Ready"),
        Duration::from_secs(90),
        || async {
            let obj = api.get(name).await.ok()?;
            let st = obj.status?;
            let ready = st
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == ConditionStatus::True);
            (st.revision == Some(rev) && ready && st.observed_generation == obj.metadata.generation)
                .then_some(())
        },
    )
    .await;
}

pub async fn configmap(client: &Client, ns: &str, name: &str) -> Option<ConfigMap> {
    Api::<ConfigMap>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .expect("get ConfigMap")
}

pub async fn create_json<K>(client: &Client, ns: &str, obj: Json)
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let obj: K = serde_json::from_value(obj).expect("object");
    Api::<K>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &obj)
        .await
        .expect("create");
}

/// A namespace with ServiceAccount `account`, allowed everything on
/// ConfigMaps and Secrets there and nothing elsewhere.
pub async fn tenant_namespace(
    client: &Client,
    prefix: &str,
    account: &str,
) -> crate::e2e::TestNamespace {
    use k8s_openapi::api::core::v1::ServiceAccount;
    use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
    let ns = crate::e2e::TestNamespace::create(client, prefix).await;
    let n = ns.name.as_str();
    create_json::<ServiceAccount>(client, n, json!({"metadata": {"name": account}})).await;
    create_json::<Role>(
        client,
        n,
        json!({"metadata": {"name": account},
               "rules": [{"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["*"]}]}),
    )
    .await;
    create_json::<RoleBinding>(
        client,
        n,
        json!({"metadata": {"name": account},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
               "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": n}]}),
    )
    .await;
    ns
}
