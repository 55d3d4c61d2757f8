//! Why a HelmRelease reconciliation could not reach the desired state
//! before or around an install/upgrade/rollback, as one typed enum: each
//! kind knows the condition reason it reports and whether retrying can help
//! without a spec change (stalled). Messages are the underlying errors'.

use super::impersonate::ImpersonationError;
use super::release_status::Outcome;
use super::remote::RemoteError;
use super::sources::SourceError;
use super::values_from::ValuesError;
use crate::apply::postrender::PostRenderError;
use crate::apply::{ApplyError, HealthExprError};
use crate::release::StoreError;
use crate::release::build::BuildError;

/// A failure of one reconciliation, reported in the HelmRelease's status.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The chart could not be pulled (repository missing, down, no such version).
    #[error(transparent)]
    Pull(SourceError),
    /// `valuesFrom` / `values` could not be composed.
    #[error(transparent)]
    Values(ValuesError),
    /// The cluster's capabilities could not be discovered for rendering.
    #[error("{0}")]
    Capabilities(ApplyError),
    /// The pulled chart does not load.
    #[error(transparent)]
    Load(SourceError),
    /// Rendering failed (schema, template error, recursion, ...).
    #[error(transparent)]
    Build(BuildError),
    /// The render thread could not start or died.
    #[error("{0}")]
    RenderThread(String),
    /// `spec.postRenderers` could not be applied to the rendered manifest.
    #[error("{0}; nothing was changed")]
    PostRender(PostRenderError),
    /// The rendered manifest is not a list of objects the cluster serves.
    #[error(transparent)]
    Manifest(ApplyError),
    /// The ownership check refused or could not read an object.
    #[error("{source}")]
    Ownership {
        /// The check's error.
        #[source]
        source: ApplyError,
        /// Whether an upgrade (not an install) was attempted.
        upgrade: bool,
    },
    /// Reading or writing release records failed.
    #[error(transparent)]
    Storage(Box<StoreError>),
    /// No client could be made for `spec.serviceAccountName`.
    #[error(transparent)]
    Impersonation(ImpersonationError),
    /// The cluster `spec.kubeConfig` names cannot be used.
    #[error("{0}; nothing was changed")]
    Remote(RemoteError),
    /// `spec.revision` names a revision that is not recorded.
    #[error(
        "revision {revision} of release {release} does not exist (never made, or pruned); nothing changed"
    )]
    RevisionNotFound {
        /// The pinned revision.
        revision: i64,
        /// The release name.
        release: String,
    },
    /// A recorded manifest to roll back to could not be read into objects.
    #[error(transparent)]
    RollbackManifest(ApplyError),
    /// Another live HelmRelease claims the Helm release.
    #[error(
        "release {release} in namespace {storage} belongs to HelmRelease {owner}; two HelmReleases cannot share one Helm release (choose another spec.releaseName); nothing was changed"
    )]
    ReleaseClaimed {
        /// The release name.
        release: String,
        /// Its storage namespace.
        storage: String,
        /// `namespace/name` of the claiming HelmRelease.
        owner: String,
    },
    /// A namespace other than the HelmRelease's own, without the authority
    /// of a service account.
    #[error(
        "{field} {namespace} is not this HelmRelease's namespace ({own}): set spec.serviceAccountName to act with an account allowed there (or start rudder with --allow-cross-namespace-targets); nothing was changed"
    )]
    CrossNamespace {
        /// The spec field.
        field: &'static str,
        /// The namespace it names.
        namespace: String,
        /// The HelmRelease's namespace.
        own: String,
    },
    /// A reference to another namespace while `--no-cross-namespace-refs`
    /// locks references to the HelmRelease's own.
    #[error(
        "{field} names namespace {namespace}, but rudder runs with --no-cross-namespace-refs: a HelmRelease may reference only its own namespace ({own}); nothing was changed"
    )]
    CrossNamespaceRef {
        /// The spec field.
        field: String,
        /// The namespace it names.
        namespace: String,
        /// The HelmRelease's namespace.
        own: String,
    },
    /// The release name is not one Helm accepts.
    #[error(
        "invalid release name {name:?} from {from}: Helm release names are at most 53 characters of lowercase letters, digits, '-' and '.' (a DNS subdomain); set spec.releaseName to a shorter name"
    )]
    InvalidReleaseName {
        /// The name.
        name: String,
        /// Where it came from.
        from: &'static str,
    },
    /// A `spec.healthChecks` expression does not compile.
    #[error("spec.healthChecks: {0}; nothing was changed")]
    HealthCheck(HealthExprError),
}

impl Failure {
    /// The reason of the Ready (and Stalled) condition.
    pub fn reason(&self) -> &'static str {
        match self {
            Failure::Pull(e) => pull_reason(e),
            Failure::Values(_) => "ValuesError",
            Failure::Capabilities(_)
            | Failure::Load(_)
            | Failure::Build(_)
            | Failure::RenderThread(_)
            | Failure::Manifest(_) => "RenderFailed",
            Failure::PostRender(_) => "PostRenderFailed",
            Failure::Ownership { source, upgrade } => match source {
                ApplyError::Ownership(_) => "OwnershipConflict",
                _ if *upgrade => "UpgradeFailed",
                _ => "InstallFailed",
            },
            Failure::Storage(_) => "StorageFailed",
            Failure::Impersonation(_) => "ImpersonationFailed",
            Failure::Remote(e) => e.reason(),
            Failure::RevisionNotFound { .. } => "RevisionNotFound",
            Failure::RollbackManifest(_) => "RollbackFailed",
            Failure::ReleaseClaimed { .. } => "ReleaseClaimed",
            Failure::CrossNamespace { .. } => "CrossNamespaceRefused",
            Failure::CrossNamespaceRef { .. } => "CrossNamespaceRefRefused",
            Failure::InvalidReleaseName { .. } => "InvalidReleaseName",
            Failure::HealthCheck(_) => "InvalidHealthCheck",
        }
    }

    /// Whether only a spec change can help (retrying the same input fails
    /// the same way).
    pub fn stalled(&self) -> bool {
        match self {
            Failure::Pull(_) | Failure::Values(_) | Failure::Storage(_) | Failure::Remote(_) => {
                false
            }
            Failure::PostRender(e) => !matches!(e, PostRenderError::Schema { .. }),
            // A kind the cluster does not serve yet may appear (a CRD).
            Failure::Manifest(e) => !matches!(e, ApplyError::UnknownKind { .. }),
            Failure::Ownership { source, .. } => matches!(source, ApplyError::Ownership(_)),
            _ => true,
        }
    }
}

fn pull_reason(e: &SourceError) -> &'static str {
    use crate::repo::OciError;
    match e {
        SourceError::RepositoryNotFound { .. } => "RepositoryNotFound",
        SourceError::Verification { .. } => "VerificationFailed",
        SourceError::DigestPinMismatch { .. } => "DigestMismatch",
        SourceError::Oci { source, .. } => match source.as_ref() {
            OciError::PinnedDigestMismatch { .. } | OciError::DigestMismatch { .. } => {
                "DigestMismatch"
            }
            OciError::Unauthorized { .. } => "Unauthorized",
            _ => "ChartPullFailed",
        },
        SourceError::InvalidDockerConfig { .. } => "InvalidCredentials",
        SourceError::Pull { .. } | SourceError::Client { .. } => "ChartPullFailed",
        SourceError::GitRepositoryNotFound { .. } => "RepositoryNotFound",
        SourceError::GitChartVersion { .. } => "ChartVersionMismatch",
        SourceError::Git { .. } | SourceError::GitCredentials { .. } => "ChartPullFailed",
        SourceError::GitNotReady { .. } => "SourceNotReady",
        _ => "ChartNotReady",
    }
}

impl From<Failure> for Outcome {
    fn from(f: Failure) -> Outcome {
        Outcome::Failed {
            reason: f.reason().into(),
            message: f.to_string(),
            stalled: f.stalled(),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Storage(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_and_stalls() {
        let f = Failure::RevisionNotFound {
            revision: 9,
            release: "web".into(),
        };
        assert_eq!(
            Outcome::from(f),
            Outcome::Failed {
                reason: "RevisionNotFound".into(),
                message: "revision 9 of release web does not exist (never made, or pruned); nothing changed".into(),
                stalled: true,
            }
        );
        let forbidden = || ApplyError::Api {
            op: "get",
            object: "Deployment ns/x".into(),
            message: "forbidden".into(),
            code: Some(403),
        };
        let f = Failure::Ownership {
            source: forbidden(),
            upgrade: true,
        };
        assert_eq!((f.reason(), f.stalled()), ("UpgradeFailed", false));
        let f = Failure::Ownership {
            source: ApplyError::Ownership("taken".into()),
            upgrade: false,
        };
        assert_eq!((f.reason(), f.stalled()), ("OwnershipConflict", true));
        let unknown = Failure::Manifest(ApplyError::UnknownKind {
            document: "t.yaml".into(),
            name: "x".into(),
            namespace: "ns".into(),
            kind: "Gadget".into(),
            api_version: "x/v1".into(),
        });
        assert_eq!(
            (unknown.reason(), unknown.stalled()),
            ("RenderFailed", false)
        );
        let f = Failure::RenderThread("rendering template failed: render thread panicked".into());
        assert_eq!(
            (f.reason(), f.stalled(), f.to_string().as_str()),
            (
                "RenderFailed",
                true,
                "rendering template failed: render thread panicked"
            )
        );
    }
}
