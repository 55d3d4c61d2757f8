//! Multi-tenant lockdown, as `rudder run` flags set it: with
//! `--no-cross-namespace-refs` a HelmRelease may name only HelmRepositories,
//! GitRepositories and `dependsOn` HelmReleases of its own namespace (`valuesFrom` and
//! `kubeConfig` Secrets are always its own namespace's); with
//! `--default-service-account NAME` a HelmRelease without
//! `serviceAccountName` acts as that account of its own namespace, so
//! rudder's own identity writes only status and events for it.

use kube::ResourceExt;

use super::release_failure::Failure;
use crate::api::HelmRelease;

/// The lockdown settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lockdown {
    /// Refuse references to other namespaces.
    pub no_cross_namespace_refs: bool,
    /// The account releases without `serviceAccountName` act as.
    pub default_service_account: Option<String>,
}

impl Lockdown {
    /// The service account `obj` acts as (in its own namespace): its
    /// `serviceAccountName`, else the default one; `None`: rudder's own
    /// identity.
    pub fn service_account<'a>(&'a self, obj: &'a HelmRelease) -> Option<&'a str> {
        obj.spec
            .service_account_name
            .as_deref()
            .or(self.default_service_account.as_deref())
    }

    /// Refuses a reference of `obj` to another namespace when references
    /// are locked to the HelmRelease's own.
    pub fn check_refs(&self, obj: &HelmRelease) -> Result<(), Failure> {
        if !self.no_cross_namespace_refs {
            return Ok(());
        }
        let own = obj.namespace().unwrap_or_default();
        let repo = obj.spec.chart.repository_ref.namespace.as_deref();
        let deps = obj.spec.depends_on.iter().enumerate().map(|(i, d)| {
            (
                format!("spec.dependsOn[{i}] ({})", d.name),
                d.namespace.as_deref(),
            )
        });
        let refs = std::iter::once(("spec.chart.repositoryRef".to_string(), repo)).chain(deps);
        for (field, ns) in refs {
            if let Some(ns) = ns.filter(|ns| *ns != own) {
                return Err(Failure::CrossNamespaceRef {
                    field,
                    namespace: ns.to_string(),
                    own,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hr(spec: serde_json::Value) -> HelmRelease {
        let mut s = json!({"chart": {"name": "c", "repositoryRef": {"name": "r"}}});
        if let (Some(s), Some(extra)) = (s.as_object_mut(), spec.as_object()) {
            s.extend(extra.clone());
        }
        serde_json::from_value(json!({
            "apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRelease",
            "metadata": {"name": "app", "namespace": "team-a"},
            "spec": s,
        }))
        .expect("HelmRelease")
    }

    #[test]
    fn locked_references_stay_in_the_namespace() {
        let lock = Lockdown {
            no_cross_namespace_refs: true,
            default_service_account: None,
        };
        let own = hr(
            json!({"chart": {"name": "c", "repositoryRef": {"name": "r", "namespace": "team-a"}},
                            "dependsOn": [{"name": "db"}, {"name": "x", "namespace": "team-a"}]}),
        );
        assert!(lock.check_refs(&own).is_ok());
        let repo = hr(
            json!({"chart": {"name": "c", "repositoryRef": {"name": "r", "namespace": "team-b"}}}),
        );
        let err = lock.check_refs(&repo).expect_err("refused");
        assert_eq!(err.reason(), "CrossNamespaceRefRefused");
        assert!(
            err.to_string()
                .contains("spec.chart.repositoryRef names namespace team-b"),
            "{err}"
        );
        let git = hr(json!({"chart": {"name": "./charts/c", "repositoryRef":
            {"kind": "GitRepository", "name": "g", "namespace": "team-b"}}}));
        let err = lock
            .check_refs(&git)
            .expect_err("a GitRepository elsewhere is refused");
        assert_eq!(err.reason(), "CrossNamespaceRefRefused");
        let dep = hr(json!({"dependsOn": [{"name": "db"}, {"name": "x", "namespace": "team-b"}]}));
        let err = lock.check_refs(&dep).expect_err("refused");
        assert!(err.to_string().contains("spec.dependsOn[1] (x)"), "{err}");
        assert!(Lockdown::default().check_refs(&dep).is_ok());
    }

    #[test]
    fn the_default_account_fills_in() {
        let lock = Lockdown {
            no_cross_namespace_refs: false,
            default_service_account: Some("tenant".into()),
        };
        assert_eq!(lock.service_account(&hr(json!({}))), Some("tenant"));
        let own = hr(json!({"serviceAccountName": "mine"}));
        assert_eq!(lock.service_account(&own), Some("mine"));
        assert_eq!(Lockdown::default().service_account(&hr(json!({}))), None);
    }
}
