//! Putting a rendered Helm release on the cluster the way Helm v4 does with
//! server-side apply: discovery (`.Capabilities` from the real cluster and
//! kind → resource mapping), reading a release manifest into objects,
//! Helm's ownership check, server-side apply in Helm's install order with
//! Helm's ownership metadata, pruning what a new revision dropped, chart
//! `crds/`, waiting for readiness (`--wait`), hooks, uninstall, and the
//! reads of a template's `lookup`.
//!
//! Everything goes through one [`Applier`], which holds the client, a
//! discovery cache and a counter of API writes (for the `api writes` metric).

mod claims;
mod discovery;
mod drift;
mod health;
mod hooks;
mod lookup;
mod ops;
pub mod postrender;
mod ready;
mod resource;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::RwLock;

pub use claims::ClaimGuard;
pub use discovery::ClusterCapabilities;
pub use health::{HealthExpr, HealthExprError, HealthRules, Readiness};
pub use hooks::HookRun;
pub use lookup::{LookupReadError, LookupTarget};
pub use ready::{Known, readiness};
pub use resource::{Resource, ResourceKey, install_sort, uninstall_sort};

/// Says what an operation is doing now (the phase a status shows).
pub type Phase<'a> = &'a (dyn Fn(String) + Send + Sync);

/// A [`Phase`] that tells nobody.
pub fn quiet() -> Phase<'static> {
    &|_| {}
}

/// The field manager of every server-side apply rudder makes: Helm v4's
/// own (`helm`), so a `helm upgrade` of a rudder release and rudder's next
/// apply are one manager and never conflict; rudder also forces conflicts,
/// so a field of the chart that another manager (`kubectl scale`, an HPA)
/// took is taken back on each apply, while fields the chart does not set
/// stay theirs.
pub const FIELD_MANAGER: &str = "helm";
/// The field manager rudder applied as before; its entry is dropped from
/// an object rudder applies to, whose fields are then [`FIELD_MANAGER`]'s.
pub const LEGACY_FIELD_MANAGER: &str = "rudder";
/// Helm's ownership label and its value.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY_HELM: &str = "Helm";
/// Helm's ownership annotations.
pub const RELEASE_NAME_ANNOTATION: &str = "meta.helm.sh/release-name";
pub const RELEASE_NAMESPACE_ANNOTATION: &str = "meta.helm.sh/release-namespace";
/// `helm.sh/resource-policy: keep` keeps an object on prune and uninstall.
pub const RESOURCE_POLICY_ANNOTATION: &str = "helm.sh/resource-policy";
pub const KEEP_POLICY: &str = "keep";

/// What happens to a chart's `crds/` directory on install or upgrade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrdPolicy {
    /// Leave CRDs alone.
    Skip,
    /// Create CRDs that do not exist; never change existing ones (Helm's behaviour).
    Create,
    /// Create missing CRDs and update existing ones.
    CreateReplace,
}

/// Which release owns objects (Helm's ownership metadata).
#[derive(Clone, Debug)]
pub struct ReleaseRef {
    pub name: String,
    pub namespace: String,
}

/// Why an apply operation failed. Each variant names the object
/// (`Kind namespace/name`) and carries the API server's message.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// An API call on one object failed.
    #[error("{op} {object}: {message}")]
    Api {
        op: &'static str,
        object: String,
        message: String,
        /// The API status code, when the server answered (404, 409, 422, …).
        code: Option<u16>,
    },
    /// Discovery (`/version`, `/api`, `/apis`) failed.
    #[error("discovering the cluster's APIs: {0}")]
    Discovery(String),
    /// A manifest document is not a Kubernetes object.
    #[error("error parsing {document}: {message}")]
    Parse { document: String, message: String },
    /// A kind the cluster does not serve (Helm's wording).
    #[error(
        "resource mapping not found for name: {name:?} namespace: {namespace:?} from {document:?}: no matches for kind {kind:?} in version {api_version:?}\nensure CRDs are installed first"
    )]
    UnknownKind {
        document: String,
        name: String,
        namespace: String,
        kind: String,
        api_version: String,
    },
    /// An object exists and belongs to something else (Helm's message).
    #[error("{0}")]
    Ownership(String),
    /// A bounded wait ran out; `pending` says what is not there yet.
    #[error("timed out after {after:?} waiting for {what}: {}", pending.join("; "))]
    Timeout {
        what: String,
        after: std::time::Duration,
        pending: Vec<String>,
    },
    /// The API server refused a change to an immutable field.
    #[error(
        "{object}: {message} (the change needs the object recreated: set spec.upgrade.force, or annotate the object helm.rudder.dev/force: \"true\")"
    )]
    Immutable { object: String, message: String },
    /// A workload failed for good (a Job's Failed condition, a failed Pod).
    #[error("{object} failed: {message}")]
    Failed { object: String, message: String },
    /// A hook did not succeed.
    #[error("{event} hook {path} failed: {source}")]
    Hook {
        event: String,
        path: String,
        #[source]
        source: Box<ApplyError>,
    },
}

impl ApplyError {
    fn api(op: &'static str, object: String, err: kube::Error) -> ApplyError {
        let (message, code) = match &err {
            kube::Error::Api(s) => (s.message.clone(), Some(s.code)),
            other => (other.to_string(), None),
        };
        ApplyError::Api {
            op,
            object,
            message,
            code,
        }
    }

    /// Whether this is the API's 404.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ApplyError::Api {
                code: Some(404),
                ..
            }
        )
    }
}

/// Whether a kube error is the API's 404.
fn not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == 404)
}

/// What [`Applier::apply`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ApplyReport {
    /// Objects applied, in order (`Kind namespace/name`).
    pub applied: Vec<String>,
    /// The API server's answer to each apply: the object as applied.
    pub answers: Known,
}

impl ApplyReport {
    pub fn count(&self) -> usize {
        self.applied.len()
    }
}

/// What [`Applier::prune`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PruneReport {
    /// Objects deleted (`Kind namespace/name`).
    pub deleted: Vec<String>,
    /// Objects left because of `helm.sh/resource-policy: keep`.
    pub kept: Vec<String>,
    /// Objects that were already gone.
    pub missing: Vec<String>,
}

/// What [`Applier::uninstall`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UninstallReport {
    /// Objects deleted (`Kind namespace/name`).
    pub deleted: Vec<String>,
    /// Objects left because of `helm.sh/resource-policy: keep`.
    pub kept: Vec<String>,
    /// Objects that were already gone.
    pub missing: Vec<String>,
}

/// Applies releases to one cluster. Cheap to clone; clones share the
/// discovery cache and the write counter.
#[derive(Clone)]
pub struct Applier {
    client: kube::Client,
    discovery: Arc<RwLock<Option<Arc<discovery::Discovered>>>>,
    writes: Arc<AtomicU64>,
    claims: claims::Claims,
    schemas: postrender::SchemaCache,
}

impl std::fmt::Debug for Applier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applier")
            .field("writes", &self.writes())
            .finish_non_exhaustive()
    }
}

impl Applier {
    pub fn new(client: kube::Client) -> Applier {
        Applier {
            client,
            discovery: Arc::new(RwLock::new(None)),
            writes: Arc::new(AtomicU64::new(0)),
            claims: claims::Claims::default(),
            schemas: postrender::SchemaCache::default(),
        }
    }

    /// An Applier acting with `client` (e.g. one impersonating a service
    /// account) that shares this one's discovery cache and write counter.
    pub fn with_client(&self, client: kube::Client) -> Applier {
        Applier {
            client,
            discovery: self.discovery.clone(),
            writes: self.writes.clone(),
            claims: self.claims.clone(),
            schemas: self.schemas.clone(),
        }
    }

    /// An Applier for another cluster: its own discovery and schema caches
    /// and object claims, this one's write counter.
    pub fn for_cluster(&self, client: kube::Client) -> Applier {
        Applier {
            writes: self.writes.clone(),
            ..Applier::new(client)
        }
    }

    /// The client this applier uses.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// Number of API write calls this Applier made (create/patch/apply/delete).
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Claims `resources` for `release` until the guard is dropped (see
    /// the `claims` module): take it before the ownership check and hold it through
    /// the apply. Another release holding one of them is an ownership error.
    pub fn claim(
        &self,
        resources: &[Resource],
        release: &ReleaseRef,
    ) -> Result<ClaimGuard, ApplyError> {
        self.claims
            .claim(resources, release)
            .map_err(|(object, holder)| {
                ApplyError::Ownership(format!(
                    "{object} is being applied by release {holder} and cannot be imported into the current release"
                ))
            })
    }

    fn count_write(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod send_tests {
    use super::*;

    fn is_send<T: Send>(_: T) {}

    /// The reconciler spawns these futures: they must be `Send`.
    #[allow(dead_code, clippy::diverging_sub_expression, unreachable_code)]
    fn futures_are_send(a: Applier, r: Vec<Resource>, rel: ReleaseRef) {
        let hooks: Vec<crate::render::manifest::Hook> = Vec::new();
        let t = std::time::Duration::from_secs(1);
        is_send(a.capabilities());
        is_send(a.refresh_discovery());
        is_send(a.forget_discovery());
        is_send(a.resources("", ""));
        is_send(a.check_ownership(&r, &rel));
        is_send(a.apply(&r, &rel));
        is_send(a.prune(&r, &r));
        is_send(a.install_crds(&[], CrdPolicy::Create, t));
        is_send(a.ensure_namespace(""));
        is_send(a.uninstall(&r, t));
        is_send(a.wait_ready(&r, t));
        is_send(a.run_hooks(&hooks, "", "", t));
        is_send(a.lookup(&LookupTarget::default()));
    }
}
