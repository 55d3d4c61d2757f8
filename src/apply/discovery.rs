//! Discovery: the server version and every API the cluster serves, read
//! with aggregated discovery (two requests) and cached in the [`Applier`].
//! Gives Helm's `GetCapabilities` (`group/version` and `group/version/Kind`
//! for every resource and subresource list, as client-go's
//! `ServerGroupsAndResources` reports them) and the kind → resource mapping
//! used to build objects.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use kube::core::discovery::v2::{APIGroupDiscoveryList, APIVersionDiscovery};

use super::{Applier, ApplyError};
use crate::render::context::{Capabilities, KubeVersion, VersionSet};

/// How one kind is served.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Mapping {
    pub plural: String,
    pub namespaced: bool,
}

/// (group, version, kind) → how it is served.
pub(crate) type KindMap = HashMap<(String, String, String), Mapping>;

/// One discovery run.
#[derive(Debug)]
pub(crate) struct Discovered {
    pub capabilities: ClusterCapabilities,
    /// (group, version, kind) → resource.
    pub kinds: KindMap,
}

/// What Helm's `GetCapabilities` returns from a real cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterCapabilities {
    /// The server's `gitVersion` (`v1.35.8`).
    pub git_version: String,
    /// The server's `major` and `minor`, as it reports them.
    pub major: String,
    pub minor: String,
    /// Every `group/version` and `group/version/Kind` served, sorted.
    pub api_versions: Vec<String>,
}

impl ClusterCapabilities {
    /// Whether `.Capabilities.APIVersions.Has` would say yes.
    pub fn has(&self, api: &str) -> bool {
        self.api_versions
            .binary_search_by(|a| a.as_str().cmp(api))
            .is_ok()
    }

    /// `.Capabilities.KubeVersion` as the renderer models it.
    pub fn kube_version(&self) -> KubeVersion {
        let mut kv = KubeVersion::parse(&self.git_version).unwrap_or_else(|_| KubeVersion {
            version: self.git_version.clone(),
            normalized: self.git_version.clone(),
            major: String::new(),
            minor: String::new(),
        });
        if !self.major.is_empty() {
            kv.major = self.major.clone();
        }
        if !self.minor.is_empty() {
            kv.minor = self.minor.clone();
        }
        kv
    }

    /// The renderer's `.Capabilities` for this cluster.
    pub fn to_capabilities(&self) -> Capabilities {
        Capabilities {
            kube_version: self.kube_version(),
            api_versions: VersionSet(std::rc::Rc::new(self.api_versions.clone())),
        }
    }
}

impl From<&ClusterCapabilities> for Capabilities {
    fn from(c: &ClusterCapabilities) -> Capabilities {
        c.to_capabilities()
    }
}

/// The served versions of one aggregated-discovery group, as
/// (`group/version` or `version`, versions) pairs.
fn group_versions(list: &APIGroupDiscoveryList) -> Vec<(String, &APIVersionDiscovery)> {
    let mut out = Vec::new();
    for g in &list.items {
        let group = g
            .metadata
            .as_ref()
            .and_then(|m| m.name.clone())
            .unwrap_or_default();
        for v in &g.versions {
            // Stale versions are failed group discoveries to client-go.
            if v.freshness.as_deref() == Some("Stale") {
                continue;
            }
            let Some(version) = v.version.clone() else {
                continue;
            };
            let gv = if group.is_empty() {
                version
            } else {
                format!("{group}/{version}")
            };
            out.push((gv, v));
        }
    }
    out
}

fn split_gv(gv: &str) -> (String, String) {
    match gv.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), gv.to_string()),
    }
}

/// Builds the capability list and the kind mapping from `/api` and `/apis`.
fn digest(lists: &[APIGroupDiscoveryList]) -> (BTreeSet<String>, KindMap) {
    let mut apis = BTreeSet::new();
    let mut kinds = HashMap::new();
    for list in lists {
        for (gv, v) in group_versions(list) {
            let (group, version) = split_gv(&gv);
            apis.insert(gv.clone());
            for r in &v.resources {
                let Some(plural) = r.resource.clone() else {
                    continue;
                };
                if let Some(kind) = r.response_kind.as_ref().and_then(|k| k.kind.clone()) {
                    apis.insert(format!("{gv}/{kind}"));
                    kinds
                        .entry((group.clone(), version.clone(), kind))
                        .or_insert(Mapping {
                            plural,
                            namespaced: r.scope.as_deref() == Some("Namespaced"),
                        });
                }
                for s in &r.subresources {
                    if let Some(kind) = s.response_kind.as_ref().and_then(|k| k.kind.as_ref()) {
                        apis.insert(format!("{gv}/{kind}"));
                    }
                }
            }
        }
    }
    (apis, kinds)
}

impl Applier {
    /// What Helm's GetCapabilities returns from a real cluster (cached).
    pub async fn capabilities(&self) -> Result<ClusterCapabilities, ApplyError> {
        Ok(self.discovered().await?.capabilities.clone())
    }

    /// Runs discovery again (after CRDs changed).
    pub async fn refresh_discovery(&self) -> Result<(), ApplyError> {
        let fresh = Arc::new(self.discover().await?);
        *self.discovery.write().await = Some(fresh);
        Ok(())
    }

    /// Drops the cached discovery: the next use runs it again (CRDs changed).
    pub async fn forget_discovery(&self) {
        *self.discovery.write().await = None;
    }

    /// The cached discovery, running it the first time.
    pub(crate) async fn discovered(&self) -> Result<Arc<Discovered>, ApplyError> {
        if let Some(d) = self.discovery.read().await.as_ref() {
            return Ok(d.clone());
        }
        let mut slot = self.discovery.write().await;
        if let Some(d) = slot.as_ref() {
            return Ok(d.clone());
        }
        let fresh = Arc::new(self.discover().await?);
        *slot = Some(fresh.clone());
        Ok(fresh)
    }

    async fn discover(&self) -> Result<Discovered, ApplyError> {
        let err = |e: kube::Error| ApplyError::Discovery(e.to_string());
        let (version, core, groups) = tokio::try_join!(
            async { self.client.apiserver_version().await.map_err(err) },
            async {
                self.client
                    .list_core_api_versions_aggregated()
                    .await
                    .map_err(err)
            },
            async { self.client.list_api_groups_aggregated().await.map_err(err) },
        )?;
        let (apis, kinds) = digest(&[core, groups]);
        Ok(Discovered {
            capabilities: ClusterCapabilities {
                git_version: version.git_version,
                major: version.major,
                minor: version.minor,
                api_versions: apis.into_iter().collect(),
            },
            kinds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_lists_versions_kinds_and_subresource_kinds() {
        let json = serde_json::json!({
            "kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {},
            "items": [{
                "metadata": {"name": "apps"},
                "versions": [{
                    "version": "v1",
                    "resources": [{
                        "resource": "deployments", "scope": "Namespaced",
                        "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                        "verbs": ["get"],
                        "subresources": [{"subresource": "scale",
                            "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                            "verbs": ["get"]}]
                    }]
                }, {"version": "v0", "freshness": "Stale", "resources": []}]
            }]
        });
        let list: APIGroupDiscoveryList = serde_json::from_value(json).unwrap();
        let (apis, kinds) = digest(&[list]);
        let apis: Vec<_> = apis.into_iter().collect();
        assert_eq!(apis, vec!["apps/v1", "apps/v1/Deployment", "apps/v1/Scale"]);
        let m = &kinds[&("apps".into(), "v1".into(), "Deployment".into())];
        assert_eq!(m.plural, "deployments");
        assert!(m.namespaced);
    }

    #[test]
    fn capabilities_convert_for_the_renderer() {
        let c = ClusterCapabilities {
            git_version: "v1.35.8".into(),
            major: "1".into(),
            minor: "35".into(),
            api_versions: vec!["apps/v1".into(), "v1".into()],
        };
        assert!(c.has("apps/v1") && !c.has("apps/v2"));
        let caps = c.to_capabilities();
        assert_eq!(caps.kube_version.version, "v1.35.8");
        assert_eq!(caps.kube_version.minor, "35");
        assert_eq!(caps.api_versions.0.len(), 2);
    }
}
