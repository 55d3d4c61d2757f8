//! The CRDs on a real kube-apiserver: they install from `rudder crds` and
//! become Established, valid objects are accepted with the schema defaults
//! applied, invalid ones are rejected by the server with its message, and the
//! printer columns show what `kubectl get` shows.

mod e2e;

use kube::api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::{Api, Client};
use rudder::api::{HelmRelease, HelmRepository};
use serde_json::{Value, json};

fn dynamic_api(client: &Client, ns: &str, kind: &str, plural: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("helm.rudder.dev", "v1alpha1", kind);
    Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk_with_plural(&gvk, plural),
    )
}

fn release_api(client: &Client, ns: &str) -> Api<DynamicObject> {
    dynamic_api(client, ns, "HelmRelease", "helmreleases")
}

fn repository_api(client: &Client, ns: &str) -> Api<DynamicObject> {
    dynamic_api(client, ns, "HelmRepository", "helmrepositories")
}

fn object(kind: &str, name: &str, spec: Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "helm.rudder.dev/v1alpha1",
        "kind": kind,
        "metadata": { "name": name },
        "spec": spec,
    }))
    .expect("a valid DynamicObject")
}

/// Creates `obj` and returns the API server's rejection (code, message).
async fn rejection(api: &Api<DynamicObject>, obj: &DynamicObject) -> (u16, String) {
    match api.create(&PostParams::default(), obj).await {
        Ok(created) => panic!("the API server accepted an invalid object: {created:?}"),
        Err(kube::Error::Api(status)) => (status.code, status.message.clone()),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn valid_release_spec() -> Value {
    json!({ "chart": { "name": "nginx", "repositoryRef": { "name": "charts" } } })
}

async fn setup(prefix: &str) -> (Client, e2e::TestNamespace) {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = e2e::TestNamespace::create(&client, prefix).await;
    (client, ns)
}

#[tokio::test]
async fn crds_install_and_become_established() {
    let client = e2e::client().await;
    let names = e2e::install_crds(&client).await;
    assert_eq!(
        names,
        [
            "helmrepositories.helm.rudder.dev",
            "gitrepositories.helm.rudder.dev",
            "helmreleases.helm.rudder.dev"
        ]
    );
}

#[tokio::test]
async fn valid_objects_are_accepted_with_defaults() {
    let (client, ns) = setup("valid").await;
    let repo = object(
        "HelmRepository",
        "charts",
        json!({ "url": "https://charts.example.com/stable" }),
    );
    repository_api(&client, &ns.name)
        .create(&PostParams::default(), &repo)
        .await
        .expect("valid HelmRepository accepted");
    let oci = object(
        "HelmRepository",
        "oci",
        json!({ "url": "oci://registry.example.com/charts" }),
    );
    repository_api(&client, &ns.name)
        .create(&PostParams::default(), &oci)
        .await
        .expect("oci:// HelmRepository accepted");
    let spec = json!({
        "chart": { "name": "nginx", "version": "~1.2", "repositoryRef": { "name": "charts" } },
        "values": { "replicaCount": 2, "nested": { "list": [1, "two", { "x": null }] } },
        "valuesFrom": [{ "kind": "ConfigMap", "name": "extra" }, { "kind": "Secret", "name": "s", "optional": true }],
        "revision": 1,
        "interval": "1h30m",
        "timeout": "90s",
        "install": { "crds": "CreateReplace", "remediation": { "retries": 3 } },
        "dependsOn": [{ "name": "db" }],
    });
    release_api(&client, &ns.name)
        .create(&PostParams::default(), &object("HelmRelease", "web", spec))
        .await
        .expect("valid HelmRelease accepted");
    release_api(&client, &ns.name)
        .create(
            &PostParams::default(),
            &object("HelmRelease", "minimal", valid_release_spec()),
        )
        .await
        .expect("minimal HelmRelease accepted");

    // Read back through the typed API: defaults come from the CRD schema.
    let repos: Api<HelmRepository> = Api::namespaced(client.clone(), &ns.name);
    let repo = repos.get("charts").await.expect("get HelmRepository");
    assert_eq!(repo.spec.interval, "10m");
    assert_eq!(repo.spec.timeout, "60s");
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), &ns.name);
    let minimal = releases.get("minimal").await.expect("get HelmRelease");
    assert_eq!(minimal.spec.chart.version, "*");
    assert_eq!(minimal.spec.interval, "10m");
    assert_eq!(minimal.spec.timeout, "5m");
    assert_eq!(minimal.spec.max_history, 10);
    let web = releases.get("web").await.expect("get HelmRelease");
    let values = Value::Object(web.spec.values.clone().expect("values kept"));
    assert_eq!(
        values,
        json!({ "replicaCount": 2, "nested": { "list": [1, "two", { "x": null }] } })
    );
    assert_eq!(web.spec.values_from[0].values_key, "values.yaml");
    assert_eq!(web.spec.interval, "1h30m");
}

#[tokio::test]
async fn revision_zero_is_rejected() {
    let (client, ns) = setup("rev0").await;
    let mut spec = valid_release_spec();
    spec["revision"] = json!(0);
    let (code, msg) = rejection(
        &release_api(&client, &ns.name),
        &object("HelmRelease", "bad", spec),
    )
    .await;
    assert_eq!(code, 422, "{msg}");
    assert!(msg.contains("spec.revision: Invalid value: 0"), "{msg}");
    assert!(
        msg.contains("should be greater than or equal to 1"),
        "{msg}"
    );
}

#[tokio::test]
async fn negative_revision_is_rejected() {
    let (client, ns) = setup("revneg").await;
    let mut spec = valid_release_spec();
    spec["revision"] = json!(-2);
    let (code, msg) = rejection(
        &release_api(&client, &ns.name),
        &object("HelmRelease", "bad", spec),
    )
    .await;
    assert_eq!(code, 422, "{msg}");
    assert!(msg.contains("spec.revision: Invalid value: -2"), "{msg}");
    assert!(
        msg.contains("should be greater than or equal to 1"),
        "{msg}"
    );
}

#[tokio::test]
async fn missing_chart_name_is_rejected() {
    let (client, ns) = setup("noname").await;
    let spec = json!({ "chart": { "repositoryRef": { "name": "charts" } } });
    let (code, msg) = rejection(
        &release_api(&client, &ns.name),
        &object("HelmRelease", "bad", spec),
    )
    .await;
    assert_eq!(code, 422, "{msg}");
    assert!(msg.contains("spec.chart.name: Required value"), "{msg}");

    let empty = json!({ "chart": { "name": "", "repositoryRef": { "name": "charts" } } });
    let (code, msg) = rejection(
        &release_api(&client, &ns.name),
        &object("HelmRelease", "bad", empty),
    )
    .await;
    assert_eq!(code, 422, "{msg}");
    assert!(msg.contains("spec.chart.name"), "{msg}");
    assert!(msg.contains("should be at least 1 chars long"), "{msg}");
}

#[tokio::test]
async fn malformed_interval_is_rejected() {
    let (client, ns) = setup("interval").await;
    for bad in ["10 minutes", "10", "1d", "-5m"] {
        let mut spec = valid_release_spec();
        spec["interval"] = json!(bad);
        let (code, msg) = rejection(
            &release_api(&client, &ns.name),
            &object("HelmRelease", "bad", spec),
        )
        .await;
        assert_eq!(code, 422, "{msg}");
        assert!(
            msg.contains(&format!("spec.interval: Invalid value: \"{bad}\"")),
            "{msg}"
        );
        assert!(msg.contains("should match"), "{msg}");
    }
    let repo = object(
        "HelmRepository",
        "bad",
        json!({ "url": "https://x", "timeout": "soon" }),
    );
    let (code, msg) = rejection(&repository_api(&client, &ns.name), &repo).await;
    assert_eq!(code, 422, "{msg}");
    assert!(
        msg.contains("spec.timeout: Invalid value: \"soon\""),
        "{msg}"
    );
}

#[tokio::test]
async fn unknown_values_from_kind_is_rejected() {
    let (client, ns) = setup("vfkind").await;
    let mut spec = valid_release_spec();
    spec["valuesFrom"] = json!([{ "kind": "Deployment", "name": "x" }]);
    let (code, msg) = rejection(
        &release_api(&client, &ns.name),
        &object("HelmRelease", "bad", spec),
    )
    .await;
    assert_eq!(code, 422, "{msg}");
    assert!(
        msg.contains(r#"spec.valuesFrom[0].kind: Unsupported value: "Deployment": supported values: "ConfigMap", "Secret""#),
        "{msg}"
    );
}

#[tokio::test]
async fn repository_url_scheme_is_checked_by_cel() {
    let (client, ns) = setup("url").await;
    let repo = object(
        "HelmRepository",
        "bad",
        json!({ "url": "ftp://charts.example.com" }),
    );
    let (code, msg) = rejection(&repository_api(&client, &ns.name), &repo).await;
    assert_eq!(code, 422, "{msg}");
    assert!(
        msg.contains("url must start with http://, https:// or oci://"),
        "{msg}"
    );
}

/// The server's Table rendering (what `kubectl get` prints) of one list.
async fn table(client: &Client, ns: &str, plural: &str) -> Value {
    let req = http::Request::get(format!(
        "/apis/helm.rudder.dev/v1alpha1/namespaces/{ns}/{plural}"
    ))
    .header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
    .body(Vec::new())
    .expect("request");
    client.request::<Value>(req).await.expect("table response")
}

fn column_names(table: &Value) -> Vec<String> {
    table["columnDefinitions"]
        .as_array()
        .expect("columnDefinitions")
        .iter()
        .filter(|c| c["priority"].as_i64().unwrap_or(0) == 0)
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn printer_columns_show_state() {
    let (client, ns) = setup("columns").await;
    let repo = object(
        "HelmRepository",
        "charts",
        json!({ "url": "https://charts.example.com" }),
    );
    repository_api(&client, &ns.name)
        .create(&PostParams::default(), &repo)
        .await
        .expect("create HelmRepository");
    let api = release_api(&client, &ns.name);
    api.create(
        &PostParams::default(),
        &object("HelmRelease", "web", valid_release_spec()),
    )
    .await
    .expect("create HelmRelease");
    // Stand in for the reconciler: write a status and see it in the columns.
    let status = json!({
        "apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRelease",
        "status": {
            "conditions": [{ "type": "Ready", "status": "True", "reason": "Succeeded",
                "message": "Release reconciled", "lastTransitionTime": "2026-01-01T00:00:00Z" }],
            "revision": 3, "chartVersion": "1.2.3"
        }
    });
    api.patch_status(
        "web",
        &PatchParams::apply("rudder-tests"),
        &Patch::Apply(&status),
    )
    .await
    .expect("status patch accepted by the schema");

    let releases = table(&client, &ns.name, "helmreleases").await;
    assert_eq!(
        column_names(&releases),
        [
            "Name", "Ready", "Status", "Revision", "Chart", "Version", "Age"
        ]
    );
    let cells = &releases["rows"][0]["cells"];
    assert_eq!(cells[0], "web");
    assert_eq!(cells[1], "True");
    assert_eq!(cells[2], "Release reconciled");
    assert_eq!(cells[3], 3);
    assert_eq!(cells[4], "nginx");
    assert_eq!(cells[5], "1.2.3");

    let repos = table(&client, &ns.name, "helmrepositories").await;
    assert_eq!(
        column_names(&repos),
        ["Name", "URL", "Ready", "Charts", "Age"]
    );
    assert_eq!(repos["rows"][0]["cells"][1], "https://charts.example.com");
}

#[tokio::test]
async fn short_names_are_served_by_discovery() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let req = http::Request::get("/apis/helm.rudder.dev/v1alpha1")
        .body(Vec::new())
        .expect("request");
    let list: Value = client.request(req).await.expect("API resource list");
    let short = |name: &str| -> Vec<String> {
        list["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["name"] == name)
            .and_then(|r| r["shortNames"].as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(short("helmreleases"), ["hrel"]);
    assert_eq!(short("helmrepositories"), ["hrepo"]);
    assert_eq!(short("gitrepositories"), ["gitrepo"]);
}

#[tokio::test]
async fn kubectl_applies_rudder_crds_and_prints_the_columns() {
    let client = e2e::client().await;
    let out = std::process::Command::new(e2e::RUDDER)
        .arg("crds")
        .output()
        .expect("rudder crds");
    assert!(out.status.success());
    let yaml = String::from_utf8(out.stdout).expect("UTF-8");
    let applied = e2e::tool(
        "kubectl",
        &[
            "apply",
            "--server-side",
            "--field-manager=rudder-tests",
            "-f",
            "-",
        ],
        Some(&yaml),
    );
    assert!(applied.contains("customresourcedefinition.apiextensions.k8s.io/helmrepositories.helm.rudder.dev serverside-applied"), "{applied}");
    assert!(applied.contains("customresourcedefinition.apiextensions.k8s.io/helmreleases.helm.rudder.dev serverside-applied"), "{applied}");
    e2e::install_crds(&client).await; // waits for Established

    let ns = e2e::TestNamespace::create(&client, "kubectl").await;
    let objects = r#"
apiVersion: helm.rudder.dev/v1alpha1
kind: HelmRepository
metadata: {name: charts}
spec: {url: "https://charts.example.com"}
---
apiVersion: helm.rudder.dev/v1alpha1
kind: HelmRelease
metadata: {name: web}
spec:
  chart: {name: nginx, repositoryRef: {name: charts}}
"#;
    e2e::tool(
        "kubectl",
        &["apply", "-n", &ns.name, "-f", "-"],
        Some(objects),
    );
    let releases = e2e::tool("kubectl", &["get", "hrel", "-n", &ns.name], None);
    let header: Vec<&str> = releases
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "NAME", "READY", "STATUS", "REVISION", "CHART", "VERSION", "AGE"
        ],
        "{releases}"
    );
    assert!(
        releases
            .lines()
            .nth(1)
            .unwrap_or_default()
            .starts_with("web "),
        "{releases}"
    );
    let repos = e2e::tool("kubectl", &["get", "hrepo", "-n", &ns.name], None);
    let header: Vec<&str> = repos
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(header, ["NAME", "URL", "READY", "CHARTS", "AGE"], "{repos}");
    let both = e2e::tool(
        "kubectl",
        &["get", "rudder", "-n", &ns.name, "-o", "name"],
        None,
    );
    let mut names: Vec<&str> = both.lines().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "helmrelease.helm.rudder.dev/web",
            "helmrepository.helm.rudder.dev/charts"
        ],
        "the `rudder` category lists both kinds"
    );
}
