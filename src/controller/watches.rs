//! The watches that re-queue HelmReleases when something they depend on
//! changes: a HelmRepository's index, a `valuesFrom` ConfigMap or Secret, a
//! `dependsOn` HelmRelease; and the CRD watch that drops the discovery
//! cache so `.Capabilities` see CRDs installed after start.

use std::sync::Arc;

use futures::StreamExt;
use kube::Api;
use kube::Client;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use tokio_util::sync::CancellationToken;

use super::{Context, api_for};
use crate::api::{HelmRelease, HelmRepository};

/// Drops the discovery cache whenever a CustomResourceDefinition is added,
/// changed (e.g. becomes Established) or deleted, so the next render's
/// `.Capabilities.APIVersions` (and kind mapping) sees CRDs installed after
/// rudder started; discovery runs again lazily, once for many events.
pub(super) async fn forget_discovery_on_crd_change(ctx: Arc<Context>, stop: CancellationToken) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::runtime::WatchStreamExt;
    let api: Api<CustomResourceDefinition> = Api::all(ctx.client.clone());
    let events = watcher(api, watcher::Config::default()).default_backoff();
    tokio::pin!(events);
    let mut synced = false;
    loop {
        let event = tokio::select! {
            () = stop.cancelled() => return,
            e = events.next() => e,
        };
        match event {
            None => return,
            Some(Err(e)) => tracing::warn!(error = %e, "watching CustomResourceDefinitions"),
            Some(Ok(watcher::Event::InitDone)) => synced = true,
            Some(Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_))) if synced => {
                ctx.applier.forget_discovery().await;
            }
            Some(Ok(_)) => {}
        }
    }
}

/// Re-queues the HelmReleases that use a HelmRepository whose index
/// digest (`status.artifact.digest`) changed, so a release asking for
/// `^1.0` rolls out 1.1 when it appears.
pub(super) fn requeue_on_index_change(
    releases: Controller<HelmRelease>,
    client: &Client,
    ns: Option<&str>,
    config: watcher::Config,
) -> Controller<HelmRelease> {
    let store = releases.store();
    let seen = std::sync::Mutex::new(std::collections::HashMap::<String, String>::new());
    releases.watches(
        api_for::<HelmRepository>(client, ns),
        config,
        move |repo: HelmRepository| {
            let digest = repo
                .status
                .as_ref()
                .and_then(|s| s.artifact.as_ref())
                .map(|a| a.digest.clone())
                .unwrap_or_default();
            let repo_ns = repo.metadata.namespace.clone().unwrap_or_default();
            let repo_name = repo.metadata.name.clone().unwrap_or_default();
            let key = format!("{repo_ns}/{repo_name}");
            let previous = seen
                .lock()
                .ok()
                .and_then(|mut m| m.insert(key, digest.clone()));
            // The first sight (start-up) reconciles every release anyway.
            if previous.is_none() || previous.as_deref() == Some(digest.as_str()) {
                return Vec::new();
            }
            store
                .state()
                .iter()
                .filter(|r| uses_repository(r, &repo_ns, &repo_name))
                .map(|r| ObjectRef::from_obj(r.as_ref()))
                .collect::<Vec<_>>()
        },
    )
}

/// Re-queues the HelmReleases whose `valuesFrom` names a ConfigMap or
/// Secret that changed (the reconciler decides whether the composed values
/// differ).
pub(super) fn requeue_on_values_change(
    releases: Controller<HelmRelease>,
    client: &Client,
    ns: Option<&str>,
) -> Controller<HelmRelease> {
    use crate::api::helmrelease::ValuesKind;
    use k8s_openapi::api::core::v1::{ConfigMap, Secret};
    fn users(
        store: &kube::runtime::reflector::Store<HelmRelease>,
        kind: ValuesKind,
        ns: Option<String>,
        name: Option<String>,
    ) -> Vec<ObjectRef<HelmRelease>> {
        store
            .state()
            .iter()
            .filter(|r| r.metadata.namespace == ns)
            .filter(|r| {
                r.spec
                    .values_from
                    .iter()
                    .any(|v| v.kind == kind && Some(&v.name) == name.as_ref())
            })
            .map(|r| ObjectRef::from_obj(r.as_ref()))
            .collect()
    }
    let (cm_store, secret_store) = (releases.store(), releases.store());
    releases
        .watches(
            api_for::<ConfigMap>(client, ns),
            watcher::Config::default(),
            move |cm: ConfigMap| {
                users(
                    &cm_store,
                    ValuesKind::ConfigMap,
                    cm.metadata.namespace,
                    cm.metadata.name,
                )
            },
        )
        .watches(
            api_for::<Secret>(client, ns),
            watcher::Config::default(),
            move |s: Secret| {
                users(
                    &secret_store,
                    ValuesKind::Secret,
                    s.metadata.namespace,
                    s.metadata.name,
                )
            },
        )
}

/// Re-queues the HelmReleases whose `dependsOn` names a HelmRelease that
/// changed (e.g. became Ready), so dependents do not wait for their requeue.
pub(super) fn requeue_dependents(
    releases: Controller<HelmRelease>,
    client: &Client,
    ns: Option<&str>,
) -> Controller<HelmRelease> {
    let store = releases.store();
    releases.watches(
        api_for::<HelmRelease>(client, ns),
        watcher::Config::default(),
        move |dep: HelmRelease| {
            let dep_ns = dep.metadata.namespace.clone().unwrap_or_default();
            let dep_name = dep.metadata.name.clone().unwrap_or_default();
            store
                .state()
                .iter()
                .filter(|r| {
                    let own = r.metadata.namespace.as_deref().unwrap_or_default();
                    r.spec.depends_on.iter().any(|d| {
                        d.name == dep_name && d.namespace.as_deref().unwrap_or(own) == dep_ns
                    })
                })
                .map(|r| ObjectRef::from_obj(r.as_ref()))
                .collect::<Vec<_>>()
        },
    )
}

/// Whether `release` takes its chart from HelmRepository `ns/name`.
fn uses_repository(release: &HelmRelease, ns: &str, name: &str) -> bool {
    let r = &release.spec.chart.repository_ref;
    let release_ns = release.metadata.namespace.as_deref().unwrap_or_default();
    r.name == name && r.namespace.as_deref().unwrap_or(release_ns) == ns
}
