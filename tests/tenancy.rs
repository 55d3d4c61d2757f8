//! Multi-tenant lockdown against the real control plane: `rudder run
//! --no-cross-namespace-refs --default-service-account=tenant` and two
//! tenant namespaces, each with a `tenant` ServiceAccount allowed only
//! ConfigMaps and Secrets of its namespace. The API server decides what
//! the account may do; rudder must refuse references to the other tenant
//! and apply nothing of a chart the account may not fully apply.

mod e2e;
mod hr;
mod repo_server;

use std::collections::BTreeMap;

use e2e::{Rudder, TestNamespace, wait_warning};
use hr::*;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};
use rudder::api::HelmRelease;
use serde_json::{Value as Json, json};

const SHARD_LABEL: &str = "rudder.dev/test-shard";

/// A ClusterRole (which the tenant account may not create) beside a
/// ConfigMap (which it may): Helm's install order applies the ConfigMap
/// first.
const ESCALATE: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {{ .Release.Namespace }}-escalate\nrules:\n- apiGroups: [\"\"]\n  resources: [\"secrets\"]\n  verbs: [\"*\"]\n";

/// A namespace with ServiceAccount `tenant`, allowed everything on
/// ConfigMaps and Secrets there and nothing elsewhere.
async fn tenant(client: &Client, prefix: &str) -> TestNamespace {
    tenant_namespace(client, prefix, "tenant").await
}

fn hr_in(shard: &str, name: &str, chart: &str, spec: Json) -> HelmRelease {
    let mut obj = release(name, "charts", chart, "0.1.0", spec);
    obj.metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(SHARD_LABEL.into(), shard.into());
    obj
}

async fn create(api: &Api<HelmRelease>, obj: &HelmRelease) {
    api.create(&PostParams::default(), obj)
        .await
        .expect("create HelmRelease");
}

async fn record_count(client: &Client, ns: &str, release: &str) -> usize {
    Api::<Secret>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(&format!("owner=helm,name={release}")))
        .await
        .expect("list records")
        .items
        .len()
}

#[tokio::test]
async fn tenants_reference_only_their_namespace_and_act_as_their_account() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let a = tenant(&client, "tenanta").await;
    let b = tenant(&client, "tenantb").await;
    let shard = a.name.clone();
    let tmp = tempfile::tempdir().expect("tempdir");
    let app = write_chart(
        tmp.path(),
        "app",
        "0.1.0",
        &[
            ("templates/cm.yaml", CM_TEMPLATE),
            ("values.yaml", "v: one\n"),
        ],
    );
    let escalate = write_chart(
        tmp.path(),
        "escalate",
        "0.1.0",
        &[
            ("templates/cm.yaml", CM_TEMPLATE),
            ("templates/clusterrole.yaml", ESCALATE),
            ("values.yaml", "v: one\n"),
        ],
    );
    let site = serve(repository_files(&[app, escalate])).await;
    for ns in [&a.name, &b.name] {
        create_repository_labelled(
            &client,
            ns,
            "charts",
            &site.base(),
            &json!({SHARD_LABEL: shard}),
        )
        .await;
    }
    let selector = format!("{SHARD_LABEL}={shard}");
    let _rudder = Rudder::start_with(
        e2e::kubeconfig(),
        &a.name,
        "tenancy",
        &[
            "--watch-label-selector",
            &selector,
            "--no-cross-namespace-refs",
            "--default-service-account=tenant",
        ],
    );

    // Tenant B's own release installs as B's account.
    let api_b: Api<HelmRelease> = Api::namespaced(client.clone(), &b.name);
    create(&api_b, &hr_in(&shard, "base", "app", json!({}))).await;
    wait_revision(&api_b, "base", 1).await;
    assert!(configmap(&client, &b.name, "base-cm").await.is_some());

    // Tenant A names B's repository, or B's release as a dependency.
    let api_a: Api<HelmRelease> = Api::namespaced(client.clone(), &a.name);
    let mut borrow = hr_in(&shard, "borrow-repo", "app", json!({}));
    borrow.spec.chart.repository_ref.namespace = Some(b.name.clone());
    create(&api_a, &borrow).await;
    create(
        &api_a,
        &hr_in(
            &shard,
            "borrow-dep",
            "app",
            json!({"dependsOn": [{"name": "base", "namespace": b.name}]}),
        ),
    )
    .await;
    let msg = wait_condition(&api_a, "borrow-repo", "Ready", "CrossNamespaceRefRefused").await;
    assert!(
        msg.contains("spec.chart.repositoryRef") && msg.contains(&b.name),
        "{msg}"
    );
    let note = wait_warning(&client, &a.name, "borrow-repo", "CrossNamespaceRefRefused").await;
    assert!(note.contains(&b.name), "{note}");
    let msg = wait_condition(&api_a, "borrow-dep", "Ready", "CrossNamespaceRefRefused").await;
    assert!(msg.contains("spec.dependsOn[0] (base)"), "{msg}");
    wait_warning(&client, &a.name, "borrow-dep", "CrossNamespaceRefRefused").await;

    // A chart that creates a ClusterRole fails under A's account, and its
    // ConfigMap (first in install order) is not applied either.
    create(&api_a, &hr_in(&shard, "escalate", "escalate", json!({}))).await;
    let msg = wait_condition(&api_a, "escalate", "Ready", "InstallFailed").await;
    let user = format!("system:serviceaccount:{}:tenant", a.name);
    assert!(
        msg.contains("forbidden") && msg.contains(&user) && msg.contains("clusterroles"),
        "{msg}"
    );
    wait_warning(&client, &a.name, "escalate", "InstallFailed").await;

    let cluster_role = format!("{}-escalate", a.name);
    assert!(
        Api::<ClusterRole>::all(client.clone())
            .get_opt(&cluster_role)
            .await
            .expect("get ClusterRole")
            .is_none(),
        "the ClusterRole was not created"
    );
    for name in ["borrow-repo", "borrow-dep", "escalate"] {
        assert!(
            configmap(&client, &a.name, &format!("{name}-cm"))
                .await
                .is_none(),
            "{name} applied nothing"
        );
        assert_eq!(record_count(&client, &a.name, name).await, 0, "{name}");
        let st = api_a.get(name).await.expect("get").status.expect("status");
        assert_eq!(st.revision, None, "{name}");
    }
    drop(site);
}
