//! The controller process: reconcilers for HelmRepository, GitRepository
//! and HelmRelease,
//! leader election, status, health and metrics endpoints.
//!
//! Life of `rudder run`: bind the HTTP address; campaign for the Lease
//! (standby replicas wait in [`leader::LeaderElector::acquire`]); once leading,
//! run both kube-runtime controllers while renewing the Lease; on shutdown
//! drain the controllers, release the Lease, stop serving. Losing the Lease
//! stops the controllers and returns to standby.

pub mod api_client;
pub mod backoff;
pub mod causes;
pub mod drift;
pub mod events;
pub mod gitrepository;
pub mod http;
pub mod impersonate;
pub mod leader;
pub mod lockdown;
pub mod lookup;
pub mod metrics;
pub mod ownership;
pub mod postrender;
pub mod release;
pub mod release_failure;
pub mod release_status;
pub mod remote;
pub mod renderers;
pub mod repository;
pub mod sources;
pub mod status;
pub mod transport;
pub mod values_from;
pub mod watches;
pub mod work;

use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, Resource};
use tokio_util::sync::CancellationToken;

use crate::api::duration::parse_duration;
use crate::api::{GitRepository, HelmRelease, HelmRepository};
use http::{Health, HttpState, Phase};
use leader::{LeadOutcome, LeaderElector, LeaseConfig};
use metrics::Metrics;
use sources::Sources;

/// The label that assigns a HelmRelease or HelmRepository to a shard
/// (`rudder run --shard KEY` reconciles those labelled `KEY`).
pub const SHARD_KEY_LABEL: &str = "sharding.rudder.dev/key";
/// The Lease name when none is given and all objects are watched.
const DEFAULT_LEASE: &str = "rudder-leader";

/// The Lease of a replica set reconciling shard `shard`, or the objects
/// `selector` selects: each shard elects its own leader, so shards run side
/// by side while each shard has one active replica.
pub fn default_lease_name(shard: Option<&str>, selector: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    match (shard, selector) {
        (Some(key), _) => format!("{DEFAULT_LEASE}-{key}"),
        (None, Some(sel)) => {
            let digest = Sha256::digest(sel.as_bytes());
            let hex: String = digest[..5].iter().map(|b| format!("{b:02x}")).collect();
            format!("{DEFAULT_LEASE}-{hex}")
        }
        (None, None) => DEFAULT_LEASE.to_string(),
    }
}

/// Requeue delay after a failed reconciliation.
const ERROR_REQUEUE: Duration = Duration::from_secs(15);
/// Requeue delay when an interval cannot be parsed (the API server's
/// pattern makes that unlikely): the CRD default.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(600);

/// Settings of `rudder run`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address of `/healthz`, `/readyz` and `/metrics`.
    pub metrics_addr: SocketAddr,
    /// Leader election.
    pub lease: LeaseConfig,
    /// Watch only this namespace; `None` watches all.
    pub watch_namespace: Option<String>,
    /// Reconcile only HelmReleases and HelmRepositories with labels
    /// matching this selector (sharding; `None`: all).
    pub watch_label_selector: Option<String>,
    /// Let HelmReleases without `serviceAccountName` use target and
    /// storage namespaces other than their own (with rudder's identity).
    pub allow_cross_namespace_targets: bool,
    /// `--no-cross-namespace-refs` and `--default-service-account`.
    pub lockdown: lockdown::Lockdown,
    /// HelmRelease reconciliations running at once.
    pub concurrency: u16,
    /// Corrections of one object within a minute after which drift
    /// detection calls it a fight with another controller and stops.
    pub drift_fight_limit: usize,
    /// How long running reconciliations may take to finish on shutdown.
    pub shutdown_timeout: Duration,
    /// Directory of the chart archive cache (`None`: memory only).
    pub cache_dir: Option<std::path::PathBuf>,
    /// Bytes of chart archives kept in memory.
    pub cache_memory: u64,
    /// The configuration `client` was made from; needed to impersonate a
    /// HelmRelease's `serviceAccountName` (`None`: impersonation fails).
    pub kube_config: Option<kube::Config>,
}

/// What reconcilers share.
pub struct Context {
    /// API client.
    pub client: Client,
    /// Metrics.
    pub metrics: Metrics,
    /// Chart repositories and the shared archive cache.
    pub sources: Sources,
    /// When each HelmRepository was fetched last (fetch scheduling).
    pub repo_tracker: repository::FetchTracker,
    /// When each GitRepository was synced last.
    pub git_tracker: gitrepository::SyncTracker,
    /// Server-side apply of release objects (shares discovery and its write count).
    pub applier: crate::apply::Applier,
    /// The API server's back-pressure, noted by the client: new
    /// reconciliations wait it out.
    pub pressure: Arc<api_client::Pressure>,
    /// Appliers acting as service accounts (`serviceAccountName`).
    pub impersonation: impersonate::Impersonation,
    /// Appliers of remote clusters (`kubeConfig`).
    pub remotes: remote::Remotes,
    /// Back-off of failing HelmReleases.
    pub backoff: backoff::Backoff,
    /// `--allow-cross-namespace-targets`.
    pub allow_cross_namespace: bool,
    /// `--no-cross-namespace-refs` and `--default-service-account`.
    pub lockdown: lockdown::Lockdown,
    /// Render threads and the charts they keep loaded.
    pub renderers: renderers::Renderers,
    /// Which HelmReleases name each `valuesFrom` ConfigMap and Secret.
    pub values_users: Arc<watches::ValuesUsers>,
    /// Keeps reconciliations and drift checks of one release apart.
    pub release_locks: drift::ReleaseLocks,
    /// Release records known without listing them (decoded history).
    pub history: Arc<crate::release::HistoryCache>,
    /// What each HelmRelease asked for when reconciled last.
    pub causes: causes::Causes,
    /// The slots of reconciliations doing work (`--concurrency`).
    pub work: work::Work,
    /// Revisions just deployed, for drift detection to learn without
    /// reading them back.
    pub just_deployed: drift::JustDeployed,
}

impl Context {
    /// Whether `obj` may name target and storage namespaces other than its
    /// own: when rudder allows it, or when `obj` acts as a service account
    /// (its own or the default one), whose rights then decide.
    pub fn may_cross_namespaces(&self, obj: &HelmRelease) -> bool {
        self.allow_cross_namespace || self.lockdown.service_account(obj).is_some()
    }
}

/// Why the controller process stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// Setting up metrics failed.
    #[error(transparent)]
    Metrics(#[from] metrics::MetricsError),
    /// The HTTP address could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The controllers ended while the process was still leading.
    #[error("controllers stopped unexpectedly")]
    ControllersStopped,
}

/// Runs the controller process until `shutdown` fires.
pub async fn run(
    client: Client,
    options: Options,
    shutdown: CancellationToken,
) -> Result<(), ControllerError> {
    let metrics = Metrics::new()?;
    metrics.register_kind(release::KIND);
    metrics.register_kind(repository::KIND);
    metrics.register_kind(gitrepository::KIND);
    let health = Arc::new(Health::default());
    let listener =
        http::bind(options.metrics_addr)
            .await
            .map_err(|source| ControllerError::Bind {
                addr: options.metrics_addr,
                source,
            })?;
    tracing::info!(
        addr = %http::local_addr(&listener).unwrap_or(options.metrics_addr),
        identity = %options.lease.identity,
        lease = %format!("{}/{}", options.lease.namespace, options.lease.name),
        "serving /healthz, /readyz and /metrics"
    );
    let http_stop = CancellationToken::new();
    let state = Arc::new(HttpState {
        health: health.clone(),
        metrics: metrics.clone(),
    });
    let http_task = tokio::spawn(http::serve(listener, state, http_stop.clone()));
    let (chart_loads, template_parses) = (metrics.chart_loads(), metrics.template_parses());
    // The controllers act through the counting client; leader election
    // keeps the plain one (its Lease renewals are not the controllers' work).
    let pressure = Arc::new(api_client::Pressure::default());
    let counters = metrics.api_counters();
    let api = api_client::counted(client.clone(), counters.clone(), pressure.clone());
    let ctx = Arc::new(Context {
        client: api.clone(),
        metrics,
        sources: Sources::new(crate::repo::ChartCache::new(
            options.cache_dir.clone(),
            options.cache_memory,
        )),
        repo_tracker: Default::default(),
        git_tracker: Default::default(),
        applier: crate::apply::Applier::new(api),
        impersonation: impersonate::Impersonation::new(
            options.kube_config.clone(),
            counters,
            pressure.clone(),
        ),
        remotes: Default::default(),
        pressure,
        backoff: Default::default(),
        allow_cross_namespace: options.allow_cross_namespace_targets,
        lockdown: options.lockdown.clone(),
        renderers: renderers::Renderers::for_this_machine(chart_loads, template_parses),
        release_locks: Default::default(),
        values_users: Arc::default(),
        history: Arc::new(crate::release::HistoryCache::new(
            options.watch_namespace.clone(),
        )),
        causes: Default::default(),
        work: work::Work::new(options.concurrency),
        just_deployed: Default::default(),
    });
    let mut elector = LeaderElector::new(client, options.lease.clone());
    let result = elect_and_run(&mut elector, &ctx, &health, &options, &shutdown).await;
    health.set(Phase::Stopping);
    http_stop.cancel();
    if let Err(e) = http_task.await {
        tracing::warn!(error = %e, "HTTP server task failed");
    }
    tracing::info!("stopped");
    result
}

/// Campaigns, leads, and returns to standby after a lost lease, until shutdown.
async fn elect_and_run(
    elector: &mut LeaderElector,
    ctx: &Arc<Context>,
    health: &Arc<Health>,
    options: &Options,
    shutdown: &CancellationToken,
) -> Result<(), ControllerError> {
    loop {
        let acquired = elector
            .acquire(shutdown, |holder| {
                if health.get() != Phase::Standby {
                    tracing::info!(holder, "standing by: the lease is held by another replica");
                    health.set(Phase::Standby);
                }
            })
            .await;
        if !acquired {
            return Ok(());
        }
        tracing::info!("acquired the lease; starting controllers");
        let outcome = lead(elector, ctx, health, options, shutdown).await;
        match outcome {
            Ok(LeadOutcome::Lost) => {
                tracing::warn!("lost the lease; controllers stopped, standing by");
                health.set(Phase::Standby);
            }
            Ok(LeadOutcome::Shutdown) => {
                release(elector).await;
                return Ok(());
            }
            Err(e) => {
                release(elector).await;
                return Err(e);
            }
        }
    }
}

/// Runs the controllers while renewing the lease; stops them (waiting up to
/// the shutdown timeout for running reconciliations) when leadership ends.
async fn lead(
    elector: &mut LeaderElector,
    ctx: &Arc<Context>,
    health: &Arc<Health>,
    options: &Options,
    shutdown: &CancellationToken,
) -> Result<LeadOutcome, ControllerError> {
    ctx.metrics.set_leader(true);
    health.set(Phase::Syncing);
    let stop = shutdown.child_token();
    let controllers = run_controllers(
        ctx.clone(),
        Scope {
            namespace: options.watch_namespace.clone(),
            labels: options.watch_label_selector.clone(),
            concurrency: options.concurrency,
            drift_fight_limit: options.drift_fight_limit,
        },
        stop.clone(),
        health.clone(),
    );
    tokio::pin!(controllers);
    let (outcome, drained) = tokio::select! {
        outcome = elector.lead(shutdown) => (Ok(outcome), false),
        // The controllers also stop on shutdown (their token is a child of
        // it), possibly before the elector notices.
        () = &mut controllers => if shutdown.is_cancelled() {
            (Ok(LeadOutcome::Shutdown), true)
        } else {
            (Err(ControllerError::ControllersStopped), true)
        },
    };
    stop.cancel();
    // On shutdown running reconciliations may finish; after a lost lease the
    // controllers are dropped at once, since another replica may lead now.
    let drain = !drained && matches!(outcome, Ok(LeadOutcome::Shutdown));
    if drain
        && tokio::time::timeout(options.shutdown_timeout, &mut controllers)
            .await
            .is_err()
    {
        tracing::warn!("reconciliations did not finish within the shutdown timeout");
    }
    ctx.metrics.set_leader(false);
    outcome
}

async fn release(elector: &mut LeaderElector) {
    match elector.release().await {
        Ok(true) => tracing::info!("released the lease"),
        Ok(false) => tracing::info!("the lease was not ours to release"),
        Err(e) => tracing::warn!(error = %e, "releasing the lease failed"),
    }
}

fn api_for<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Which HelmReleases and HelmRepositories this process reconciles.
struct Scope {
    namespace: Option<String>,
    labels: Option<String>,
    concurrency: u16,
    drift_fight_limit: usize,
}

impl Scope {
    /// The watch configuration of rudder's own resources.
    fn own(&self) -> watcher::Config {
        match &self.labels {
            Some(l) => watch_config().labels(l),
            None => watch_config(),
        }
    }
}

/// Objects per page of a watch's (re-)list. A page is decoded whole, so
/// its size bounds the transient memory of listing thousands of objects
/// (kube-runtime's default is 500); more pages cost a request each.
pub const LIST_PAGE: u32 = 100;

/// The configuration every watch of the controllers starts from.
pub fn watch_config() -> watcher::Config {
    watcher::Config::default().page_size(LIST_PAGE)
}

/// The HelmRelease controller: at most `scope.concurrency` reconciliations
/// working at once ([`work`]) and a bounded number more waiting for their
/// objects to become ready, triggered by changes to what a HelmRelease asks for (spec,
/// annotations, deletion) — not by rudder's own writes (status, finalizer).
fn release_controller(client: &Client, scope: &Scope) -> Controller<HelmRelease> {
    asked_for_controller(
        api_for::<HelmRelease>(client, scope.namespace.as_deref()),
        scope,
    )
    .with_config(
        kube::runtime::controller::Config::default()
            .concurrency(work::in_flight(scope.concurrency)),
    )
}

/// A controller of `api`'s objects (in `scope`) triggered only when what
/// an object asks for changes ([`asked_for`]).
fn asked_for_controller<K>(api: Api<K>, scope: &Scope) -> Controller<K>
where
    K: Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    use kube::runtime::{WatchStreamExt, reflector};
    let (reader, writer) = reflector::store();
    let events = watcher(api, scope.own())
        .default_backoff()
        .modify(|obj| drop_unread(obj.meta_mut()))
        .reflect(writer);
    let triggers = stored_objects(events).predicate_filter(asked_for::<K>, Default::default());
    Controller::for_stream(triggers, reader)
}

/// `kubectl apply`'s copy of the object, in an annotation.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops from `meta` what nothing in rudder reads of its own kinds, so the
/// store (every HelmRelease, in memory) keeps it out: the managed fields,
/// and the copy of the whole object a client-side `kubectl apply` keeps in
/// an annotation.
fn drop_unread(meta: &mut kube::api::ObjectMeta) {
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.remove(LAST_APPLIED);
    }
}

/// The objects a reflected watch applied, each passed on only once the
/// store shows it. The store takes a (re-)list whole when the list ends, so
/// the objects of a list are held back until then: passed on as they
/// arrive, an object created while the watch re-listed (after the API
/// server expired its resource version) would be looked up before the
/// store has it — kube-runtime then drops the reconciliation, and the
/// object would wait for its next change.
fn stored_objects<K, S>(events: S) -> impl futures::Stream<Item = Result<K, watcher::Error>>
where
    S: futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
{
    use futures::StreamExt;
    events
        .scan(Vec::new(), |listed, event| {
            let ready: Vec<Result<K, watcher::Error>> = match event {
                Ok(watcher::Event::Init) => {
                    listed.clear();
                    Vec::new()
                }
                Ok(watcher::Event::InitApply(obj)) => {
                    listed.push(obj);
                    Vec::new()
                }
                Ok(watcher::Event::InitDone) => {
                    std::mem::take(listed).into_iter().map(Ok).collect()
                }
                Ok(watcher::Event::Apply(obj)) => vec![Ok(obj)],
                Ok(watcher::Event::Delete(_)) => Vec::new(),
                Err(e) => vec![Err(e)],
            };
            futures::future::ready(Some(futures::stream::iter(ready)))
        })
        .flatten()
}

/// A hash of what an object asks for: its generation (spec), its
/// annotations (`requested-at`, `reset-at`) and whether it is being
/// deleted. A change of it is a reason to reconcile; rudder's own writes
/// (status, the finalizer) change none of it.
fn asked_for<K: Resource>(obj: &K) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let meta = obj.meta();
    meta.generation.hash(&mut h);
    meta.deletion_timestamp.is_some().hash(&mut h);
    meta.annotations.hash(&mut h);
    Some(h.finish())
}

/// Both controllers and drift detection until `stop` fires; marks the
/// process Leading once both caches have synced.
async fn run_controllers(
    ctx: Arc<Context>,
    scope: Scope,
    stop: CancellationToken,
    health: Arc<Health>,
) {
    let ns = scope.namespace.as_deref();
    let releases = release_controller(&ctx.client, &scope);
    let releases = watches::requeue_on_index_change(releases, &ctx.client, ns, scope.own());
    let releases =
        watches::requeue_on_values_change(releases, &ctx.client, ns, ctx.values_users.clone());
    let releases = watches::requeue_dependents(releases, &ctx.client, ns);
    let releases = watches::requeue_on_git_revision(releases, &ctx.client, ns, scope.own());
    let repositories = asked_for_controller(api_for::<HelmRepository>(&ctx.client, ns), &scope);
    let git_repositories = asked_for_controller(api_for::<GitRepository>(&ctx.client, ns), &scope);
    let (release_store, repository_store) = (releases.store(), repositories.store());
    ctx.sources.use_repository_store(Some(repositories.store()));
    let synced = {
        let stop = stop.clone();
        async move {
            tokio::select! {
                () = stop.cancelled() => {}
                (a, b) = futures::future::join(release_store.wait_until_ready(), repository_store.wait_until_ready()) => {
                    if a.is_ok() && b.is_ok() && !stop.is_cancelled() {
                        tracing::info!("caches synced; reconciling");
                        health.set(Phase::Leading);
                    }
                }
            }
        }
    };
    let (ctx_crds, stop_crds, ctx_sources) = (ctx.clone(), stop.clone(), ctx.clone());
    let stop_git = stop.clone();
    let drift = drift::run(
        ctx.clone(),
        releases.store(),
        scope.namespace.clone(),
        scope.drift_fight_limit,
        stop.clone(),
    );
    let releases = releases
        .graceful_shutdown_on(stop.clone().cancelled_owned())
        .run(release::reconcile, release::error_policy, ctx.clone())
        .for_each(log_result);
    let git_repositories = git_repositories
        .graceful_shutdown_on(stop.clone().cancelled_owned())
        .run(gitrepository::reconcile, error_policy, ctx.clone())
        .for_each(log_result);
    let repositories = repositories
        .graceful_shutdown_on(stop.cancelled_owned())
        .run(repository::reconcile, error_policy, ctx)
        .for_each(log_result);
    // Discovery once when leading starts, not in the first installs.
    let warm = {
        let ctx = ctx_crds.clone();
        async move {
            if let Err(e) = ctx.applier.capabilities().await {
                tracing::warn!(error = %e, "discovering the cluster's APIs");
            }
        }
    };
    let records =
        watches::keep_record_index(ctx_crds.clone(), scope.namespace.clone(), stop_crds.clone());
    let crds = watches::forget_discovery_on_crd_change(ctx_crds, stop_crds);
    let git_deleted = gitrepository::forget_deleted(
        ctx_sources.clone(),
        api_for::<GitRepository>(&ctx_sources.client, scope.namespace.as_deref()),
        scope.own(),
        stop_git,
    );
    tokio::join!(
        releases,
        repositories,
        git_repositories,
        synced,
        crds,
        drift,
        git_deleted,
        records,
        warm
    );
    ctx_sources.sources.use_repository_store(None);
}

fn error_policy<K, E: Display>(_obj: Arc<K>, _err: &E, _ctx: Arc<Context>) -> Action {
    Action::requeue(ERROR_REQUEUE)
}

fn log_result<K, E>(result: Result<(ObjectRef<K>, Action), E>) -> impl Future<Output = ()>
where
    K: Resource,
    E: std::error::Error,
{
    match result {
        Ok((obj, _)) => tracing::debug!(object = %obj, "reconciled"),
        // Reconciler errors (with their cause: the object and why) and
        // watch errors (e.g. CRDs not installed, RBAC).
        Err(e) => tracing::warn!(error = %error_chain(&e), "controller error"),
    }
    std::future::ready(())
}

/// An error and its sources, `: `-joined.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The requeue action for an object whose spec says `interval`.
pub fn requeue_after(interval: &str) -> Action {
    Action::requeue(interval_or_default(interval))
}

fn interval_or_default(interval: &str) -> Duration {
    match parse_duration(interval) {
        Ok(d) if !d.is_zero() => d,
        Ok(_) => DEFAULT_INTERVAL,
        Err(e) => {
            tracing::warn!(error = %e, "bad interval; using the default");
            DEFAULT_INTERVAL
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shard_has_its_own_lease() {
        assert_eq!(default_lease_name(None, None), "rudder-leader");
        assert_eq!(default_lease_name(Some("a"), None), "rudder-leader-a");
        let one = default_lease_name(None, Some("team=one"));
        let two = default_lease_name(None, Some("team=two"));
        assert!(
            one.starts_with("rudder-leader-") && one.len() == 24,
            "{one}"
        );
        assert_ne!(one, two);
        assert_eq!(one, default_lease_name(None, Some("team=one")));
    }

    #[test]
    fn the_store_keeps_neither_managed_fields_nor_kubectls_copy() {
        let mut meta = kube::api::ObjectMeta {
            annotations: Some(
                [
                    (LAST_APPLIED.to_string(), "{\"spec\":{}}".to_string()),
                    (
                        "helm.rudder.dev/requested-at".to_string(),
                        "now".to_string(),
                    ),
                ]
                .into(),
            ),
            managed_fields: Some(vec![Default::default()]),
            ..Default::default()
        };
        drop_unread(&mut meta);
        assert_eq!(meta.managed_fields, None);
        let kept: Vec<&String> = meta.annotations.iter().flatten().map(|(k, _)| k).collect();
        assert_eq!(kept, ["helm.rudder.dev/requested-at"]);
    }

    /// A re-list (the watch's resource version expired) brings objects the
    /// store does not hold yet: each is passed on only once the store
    /// shows it, so its reconciliation finds it.
    #[tokio::test]
    async fn objects_of_a_relist_are_passed_on_once_stored() {
        use futures::StreamExt;
        use k8s_openapi::api::core::v1::ConfigMap;
        use kube::runtime::reflector::{self, ObjectRef};
        use kube::runtime::{WatchStreamExt, watcher::Event};
        let cm = |name: &str| ConfigMap {
            metadata: kube::api::ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let events = vec![
            Event::Init,
            Event::InitApply(cm("a")),
            Event::InitDone,
            Event::Apply(cm("b")),
            // The watch expired and re-listed: c is new.
            Event::Init,
            Event::InitApply(cm("a")),
            Event::InitApply(cm("b")),
            Event::InitApply(cm("c")),
            Event::InitDone,
            Event::Delete(cm("a")),
        ];
        let (reader, writer) = reflector::store::<ConfigMap>();
        let reflected = futures::stream::iter(events.into_iter().map(Ok)).reflect(writer);
        let passed: Vec<String> = stored_objects(reflected)
            .map(|obj| {
                let obj = obj.expect("no watch errors here");
                let name = obj.metadata.name.clone().unwrap_or_default();
                assert!(
                    reader.get(&ObjectRef::new(&name).within("ns")).is_some(),
                    "{name} passed on before the store held it"
                );
                name
            })
            .collect()
            .await;
        assert_eq!(passed, ["a", "b", "a", "b", "c"]);
    }

    #[test]
    fn interval_falls_back_to_default() {
        assert_eq!(interval_or_default("30s"), Duration::from_secs(30));
        assert_eq!(interval_or_default("bogus"), DEFAULT_INTERVAL);
        assert_eq!(interval_or_default("0s"), DEFAULT_INTERVAL);
    }
}
