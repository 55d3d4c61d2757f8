//! rudder's own deployment manifests on the real API server: the Helm chart
//! in `charts/rudder` installs (with the narrow role only, no cluster-wide
//! apply rights), and `rudder run` acting as the chart's ServiceAccount has
//! every permission it needs: it takes the Lease and records status. The
//! kustomize tree in `config/` renders and the API server accepts it
//! (server-side dry run).

mod e2e;

use std::path::Path;
use std::time::Duration;

use e2e::{Rudder, TestNamespace, eventually, http_get, tool};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use rudder::api::HelmRelease;
use serde_json::json;

fn repo_path(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .display()
        .to_string()
}

#[tokio::test]
async fn chart_installs_and_its_service_account_can_run_rudder() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "chart").await;
    let release = ns.name.clone();
    let rendered = tool(
        "helm",
        &[
            "template",
            &release,
            &repo_path("charts/rudder"),
            "--namespace",
            &ns.name,
            "--set",
            "rbac.clusterWideApply=false",
        ],
        None,
    );
    tool(
        "kubectl",
        &["apply", "--server-side", "-f", "-"],
        Some(&rendered),
    );

    let user = format!("system:serviceaccount:{}:{release}-rudder", ns.name);
    let kubeconfig = e2e::impersonating_kubeconfig(&user, &ns.name);
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), &ns.name);
    let hr: HelmRelease = serde_json::from_value(json!({
        "apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRelease",
        "metadata": { "name": "web", "labels": { "rudder.dev/test-shard": ns.name } },
        "spec": { "chart": { "name": "nginx", "repositoryRef": { "name": "charts" } } },
    }))
    .expect("HelmRelease");
    releases
        .create(&PostParams::default(), &hr)
        .await
        .expect("create HelmRelease");

    // Watching all namespaces, as deployed, needs the ClusterRole's
    // list/watch; the label selector keeps other tests' objects out.
    let selector = format!("rudder.dev/test-shard={}", ns.name);
    let mut rudder = Rudder::start_with(
        &kubeconfig,
        &ns.name,
        "sa",
        &["--watch-label-selector", &selector],
    );
    eventually(
        "rudder as the ServiceAccount records observedGeneration",
        Duration::from_secs(30),
        || async {
            let obj = releases.get("web").await.ok()?;
            (obj.status?.observed_generation == Some(1)).then_some(())
        },
    )
    .await;
    let lease = Api::<Lease>::namespaced(client.clone(), &ns.name)
        .get("rudder-leader")
        .await
        .expect("lease created by the ServiceAccount");
    assert_eq!(
        lease.spec.and_then(|s| s.holder_identity).as_deref(),
        Some("sa")
    );
    let (code, _) = http_get(rudder.addr, "/readyz").expect("/readyz");
    assert_eq!(code, 200);
    assert!(!rudder.logs().contains("forbidden"), "{}", rudder.logs());
    rudder.terminate();
    let status = rudder.wait_exit(Duration::from_secs(20)).await;
    assert!(status.success(), "exit {status}");

    // The kubeconfig copy holds the admin credentials.
    let _ = std::fs::remove_file(&kubeconfig);
    // Cluster-scoped leftovers of this release.
    let name = format!("{release}-rudder-manager");
    let _ = Api::<ClusterRoleBinding>::all(client.clone())
        .delete(&name, &DeleteParams::default())
        .await;
    let _ = Api::<ClusterRole>::all(client.clone())
        .delete(&name, &DeleteParams::default())
        .await;
}

#[tokio::test]
async fn kustomize_config_is_accepted_by_the_api_server() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let rendered = tool("kubectl", &["kustomize", &repo_path("config")], None);
    let kinds: Vec<&str> = rendered
        .lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .collect();
    for kind in [
        "Namespace",
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
    ] {
        assert!(
            kinds.contains(&kind),
            "config/ renders no {kind}: {kinds:?}"
        );
    }
    // Cluster-scoped objects dry-run as they are; namespaced ones go to a
    // test namespace because a dry-run Namespace is not persisted.
    let ns = TestNamespace::create(&client, "kustomize").await;
    let moved = rendered.replace(
        "namespace: rudder-system",
        &format!("namespace: {}", ns.name),
    );
    let docs: Vec<&str> = moved
        .split("\n---\n")
        .filter(|d| !d.contains("kind: Namespace\n"))
        .collect();
    let out = tool(
        "kubectl",
        &["apply", "--server-side", "--dry-run=server", "-f", "-"],
        Some(&docs.join("\n---\n")),
    );
    assert!(
        out.contains("deployment.apps/rudder serverside-applied (server dry run)"),
        "{out}"
    );
}

/// `values.schema.json` is enforced by the real helm: values the chart
/// cannot use are refused by `helm template` and `helm install` (before
/// anything reaches the cluster), naming the value; the defaults pass.
#[test]
fn chart_values_are_validated_by_its_schema() {
    let chart = repo_path("charts/rudder");
    tool("helm", &["lint", "--quiet", &chart], None);
    for (set, names) in [
        ("replicaCount=two", "/replicaCount"),
        ("image.digest=sha256:abc", "/image/digest"),
        ("logFormat=xml", "/logFormat"),
        (
            "leaderElection.leaseDuration=15",
            "/leaderElection/leaseDuration",
        ),
        ("replicas=2", "replicas"),
        (
            "observability.dashboard.enabled=yes",
            "/observability/dashboard/enabled",
        ),
    ] {
        for verb in ["template", "install"] {
            let out = e2e::helm_output(&[
                verb,
                "schema-check",
                &chart,
                "-n",
                "schema-check-never-created",
                "--set",
                set,
            ]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "helm {verb} --set {set} accepted");
            assert!(
                stderr.contains(names) && stderr.contains("values don't meet the specifications"),
                "helm {verb} --set {set}: {stderr}"
            );
        }
    }
}
