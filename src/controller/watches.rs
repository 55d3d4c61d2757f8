//! The watches that re-queue HelmReleases when something they depend on
//! changes: a HelmRepository's index, a GitRepository's revision, a
//! `valuesFrom` ConfigMap or Secret, a `dependsOn` HelmRelease; the CRD
//! watch that drops the discovery cache so `.Capabilities` see CRDs
//! installed after start; and the metadata watch of release records that
//! keeps the record cache current.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use kube::Api;
use kube::Client;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use tokio_util::sync::CancellationToken;

use super::{Context, api_for};
use crate::api::helmrelease::{SourceKind, ValuesKind};
use crate::api::{GitRepository, HelmRelease, HelmRepository};

/// Drops the discovery cache whenever a CustomResourceDefinition is added,
/// changed (e.g. becomes Established) or deleted, so the next render's
/// `.Capabilities.APIVersions` (and kind mapping) sees CRDs installed after
/// rudder started; discovery runs again lazily, once for many events.
pub(super) async fn forget_discovery_on_crd_change(ctx: Arc<Context>, stop: CancellationToken) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::runtime::WatchStreamExt;
    let api: Api<CustomResourceDefinition> = Api::all(ctx.client.clone());
    let events = watcher(api, super::watch_config()).default_backoff();
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

/// Keeps the record cache's index ([`crate::release::HistoryCache`])
/// current: a metadata-only watch of the release-record Secrets (labelled
/// `owner=helm`, or parked) in the watched namespaces, so a record another
/// writer changes (`helm rollback` by hand) is read again. The cache
/// answers nothing before the first full list, nor after the watch stops.
pub(super) async fn keep_record_index(
    ctx: Arc<Context>,
    ns: Option<String>,
    stop: CancellationToken,
) {
    use crate::release::store::{HELM_OWNER, PARKED_OWNER, record_meta, record_of};
    use k8s_openapi::api::core::v1::Secret;
    use kube::core::PartialObjectMeta;
    use kube::runtime::WatchStreamExt;
    use kube::runtime::watcher::Event;
    let cache = ctx.history.clone();
    let api = api_for::<PartialObjectMeta<Secret>>(&ctx.client, ns.as_deref());
    let config = super::watch_config().labels(&format!("owner in ({HELM_OWNER},{PARKED_OWNER})"));
    let events = watcher(api, config).default_backoff();
    tokio::pin!(events);
    let where_ = |m: &kube::api::ObjectMeta| {
        let ns = m.namespace.clone().unwrap_or_default();
        record_of(m).map(|(release, version)| (ns, release, version))
    };
    loop {
        let event = tokio::select! {
            () = stop.cancelled() => break,
            e = events.next() => e,
        };
        match event {
            None => break,
            Some(Err(e)) => tracing::warn!(error = %e, "watching release records"),
            Some(Ok(Event::Init)) => cache.relist_started(),
            Some(Ok(Event::InitDone)) => cache.relist_done(),
            Some(Ok(Event::InitApply(m) | Event::Apply(m))) => {
                if let Some((ns, release, version)) = where_(&m.metadata) {
                    cache.seen(&ns, &release, version, record_meta(&m.metadata));
                }
            }
            Some(Ok(Event::Delete(m))) => {
                if let Some((ns, release, version)) = where_(&m.metadata) {
                    cache.gone(&ns, &release, version);
                }
            }
        }
    }
    cache.set_synced(false);
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

/// Re-queues the HelmReleases taking their chart from a GitRepository
/// whose revision (`status.artifact.revision`) changed: the new commit is
/// a new chart for them.
pub(super) fn requeue_on_git_revision(
    releases: Controller<HelmRelease>,
    client: &Client,
    ns: Option<&str>,
    config: watcher::Config,
) -> Controller<HelmRelease> {
    let store = releases.store();
    let seen = std::sync::Mutex::new(std::collections::HashMap::<String, String>::new());
    releases.watches(
        api_for::<GitRepository>(client, ns),
        config,
        move |repo: GitRepository| {
            let revision = repo
                .status
                .as_ref()
                .and_then(|s| s.artifact.as_ref())
                .map(|a| a.revision.clone())
                .unwrap_or_default();
            let repo_ns = repo.metadata.namespace.clone().unwrap_or_default();
            let repo_name = repo.metadata.name.clone().unwrap_or_default();
            let key = format!("{repo_ns}/{repo_name}");
            let previous = seen
                .lock()
                .ok()
                .and_then(|mut m| m.insert(key, revision.clone()));
            if previous.as_deref() == Some(revision.as_str()) {
                return Vec::new();
            }
            store
                .state()
                .iter()
                .filter(|r| uses_source(r, SourceKind::GitRepository, &repo_ns, &repo_name))
                .map(|r| ObjectRef::from_obj(r.as_ref()))
                .collect::<Vec<_>>()
        },
    )
}

/// Which HelmReleases name each `valuesFrom` source: an index from
/// (namespace, kind, name) to releases, kept by the reconciler (each
/// reconciliation records what its spec names; an uninstall forgets it), so
/// a ConfigMap or Secret event costs one lookup, not a scan of all releases.
#[derive(Debug, Default)]
pub struct ValuesUsers {
    inner: Mutex<UsersInner>,
}

type SourceKey = (String, ValuesKind, String);

#[derive(Debug, Default)]
struct UsersInner {
    by_source: HashMap<SourceKey, HashSet<ObjectRef<HelmRelease>>>,
    by_release: HashMap<ObjectRef<HelmRelease>, Vec<SourceKey>>,
}

impl ValuesUsers {
    /// Records the sources `release` names now (replacing what it named).
    pub fn record(&self, release: &HelmRelease) {
        let who = ObjectRef::from_obj(release);
        let ns = release.metadata.namespace.clone().unwrap_or_default();
        let keys: Vec<SourceKey> = release
            .spec
            .values_from
            .iter()
            .map(|v| (ns.clone(), v.kind, v.name.clone()))
            .collect();
        let Ok(mut m) = self.inner.lock() else { return };
        m.remove(&who);
        for k in &keys {
            m.by_source
                .entry(k.clone())
                .or_default()
                .insert(who.clone());
        }
        if !keys.is_empty() {
            m.by_release.insert(who, keys);
        }
    }

    /// Forgets `release` (uninstalled).
    pub fn forget(&self, release: &HelmRelease) {
        if let Ok(mut m) = self.inner.lock() {
            m.remove(&ObjectRef::from_obj(release));
        }
    }

    /// The releases naming source `kind` `namespace/name`.
    pub fn users(
        &self,
        namespace: &str,
        kind: ValuesKind,
        name: &str,
    ) -> Vec<ObjectRef<HelmRelease>> {
        let key = (namespace.to_string(), kind, name.to_string());
        self.inner
            .lock()
            .ok()
            .and_then(|m| m.by_source.get(&key).map(|s| s.iter().cloned().collect()))
            .unwrap_or_default()
    }
}

impl UsersInner {
    fn remove(&mut self, who: &ObjectRef<HelmRelease>) {
        for k in self.by_release.remove(who).unwrap_or_default() {
            if let Some(set) = self.by_source.get_mut(&k) {
                set.remove(who);
                if set.is_empty() {
                    self.by_source.remove(&k);
                }
            }
        }
    }
}

/// Re-queues the HelmReleases whose `valuesFrom` names a ConfigMap or
/// Secret that changed (the reconciler decides whether the composed values
/// differ). Both are watched metadata-only (names and versions, never their
/// data) and mapped through `users`.
pub(super) fn requeue_on_values_change(
    releases: Controller<HelmRelease>,
    client: &Client,
    ns: Option<&str>,
    users: Arc<ValuesUsers>,
) -> Controller<HelmRelease> {
    use k8s_openapi::api::core::v1::{ConfigMap, Secret};
    use kube::core::PartialObjectMeta;
    use kube::runtime::WatchStreamExt;
    fn mapper<K>(
        users: Arc<ValuesUsers>,
        kind: ValuesKind,
    ) -> impl Fn(PartialObjectMeta<K>) -> Vec<ObjectRef<HelmRelease>> + Send + Sync + 'static {
        move |m| {
            let ns = m.metadata.namespace.as_deref().unwrap_or_default();
            let name = m.metadata.name.as_deref().unwrap_or_default();
            users.users(ns, kind, name)
        }
    }
    let config_maps = watcher(
        api_for::<PartialObjectMeta<ConfigMap>>(client, ns),
        super::watch_config(),
    )
    .default_backoff()
    .touched_objects();
    let secrets = watcher(
        api_for::<PartialObjectMeta<Secret>>(client, ns),
        super::watch_config(),
    )
    .default_backoff()
    .touched_objects();
    releases
        .watches_stream(config_maps, mapper(users.clone(), ValuesKind::ConfigMap))
        .watches_stream(secrets, mapper(users, ValuesKind::Secret))
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
        super::watch_config(),
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
    uses_source(release, SourceKind::HelmRepository, ns, name)
}

fn uses_source(release: &HelmRelease, kind: SourceKind, ns: &str, name: &str) -> bool {
    let r = &release.spec.chart.repository_ref;
    if r.kind != kind {
        return false;
    }
    let release_ns = release.metadata.namespace.as_deref().unwrap_or_default();
    r.name == name && r.namespace.as_deref().unwrap_or(release_ns) == ns
}
