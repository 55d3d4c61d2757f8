//! Reading live objects for a template's `lookup`, as Helm's lookup
//! function reads them: the kind resolved through discovery, one object by
//! name or the whole list, the API server's JSON untouched, a missing
//! object (or a kind its group version does not serve) as nothing, every
//! other failure an error worded as Helm's client-go reports it. Reads
//! only, with the authority of the [`Applier`]'s client.

use kube::api::{Api, ApiResource, DynamicObject, GetParams, ListParams};
use kube::core::Request;
use serde_json::Value as Json;

use super::Applier;

/// Why a lookup read failed.
#[derive(Debug, thiserror::Error)]
pub enum LookupReadError {
    /// The API server answered with an error; its message (which names
    /// the object and, for a refusal, the user), as Helm prints it.
    #[error("{message}")]
    Api { message: String, code: u16 },
    /// The group version is not served, or discovery failed (Helm's
    /// wording for a kind it cannot map to a resource).
    #[error("unable to get apiresource from unstructured: {gvk}: {message}")]
    NoResource { gvk: String, message: String },
    /// The request could not be made or answered (connection, decoding).
    #[error("reading {object}: {source}")]
    Request {
        object: String,
        #[source]
        source: Box<kube::Error>,
    },
}

/// What one lookup reads: Helm's four arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LookupTarget {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl LookupTarget {
    /// `Kind namespace/name`, `Kind name`, or the list's `Kind` (in
    /// `namespace`), for messages.
    pub fn display(&self) -> String {
        let scope = match (self.namespace.is_empty(), self.name.is_empty()) {
            (true, true) => String::new(),
            (true, false) => format!(" {}", self.name),
            (false, true) => format!(" in namespace {}", self.namespace),
            (false, false) => format!(" {}/{}", self.namespace, self.name),
        };
        format!("{} {}{scope}", self.api_version, self.kind)
    }

    fn group_version(&self) -> (&str, &str) {
        self.api_version
            .split_once('/')
            .unwrap_or(("", &self.api_version))
    }

    /// client-go's `GroupVersionKind.String()`: `group/version, Kind=kind`.
    fn gvk(&self) -> String {
        let (group, version) = self.group_version();
        format!("{group}/{version}, Kind={}", self.kind)
    }
}

/// How the cluster serves the target's kind.
struct Served {
    resource: ApiResource,
    namespaced: bool,
}

impl Applier {
    /// The object `target` names, or the list of its kind when the name is
    /// empty (every namespace when the namespace is empty, or when the kind
    /// is cluster-scoped), as the API server's JSON; `None` when it does
    /// not exist or its kind is not served in a served group version.
    pub async fn lookup(&self, target: &LookupTarget) -> Result<Option<Json>, LookupReadError> {
        let Some(served) = self.served(target).await? else {
            return Ok(None);
        };
        let api: Api<DynamicObject> = if served.namespaced && !target.namespace.is_empty() {
            Api::namespaced_with(self.client.clone(), &target.namespace, &served.resource)
        } else {
            Api::all_with(self.client.clone(), &served.resource)
        };
        let request = Request::new(api.resource_url());
        let built = if target.name.is_empty() {
            request.list(&ListParams::default())
        } else {
            request.get(&target.name, &GetParams::default())
        };
        let failed = |e: kube::Error| LookupReadError::Request {
            object: target.display(),
            source: Box::new(e),
        };
        let built = built.map_err(|e| failed(kube::Error::BuildRequest(e)))?;
        match self.client.request::<Json>(built).await {
            Ok(found) => Ok(Some(found)),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
            Err(kube::Error::Api(s)) => Err(LookupReadError::Api {
                message: s.message.clone(),
                code: s.code,
            }),
            Err(other) => Err(failed(other)),
        }
    }

    /// How the target's kind is served, rediscovering once when it is not
    /// known (a CRD may have appeared). `None` for a kind its served group
    /// version lacks; an error when the group version is not served.
    async fn served(&self, target: &LookupTarget) -> Result<Option<Served>, LookupReadError> {
        let (group, version) = target.group_version();
        let key = (group.to_string(), version.to_string(), target.kind.clone());
        let no_resource = |message: String| LookupReadError::NoResource {
            gvk: target.gvk(),
            message,
        };
        for rediscover in [false, true] {
            if rediscover {
                self.refresh_discovery()
                    .await
                    .map_err(|e| no_resource(e.to_string()))?;
            }
            let found = self
                .discovered()
                .await
                .map_err(|e| no_resource(e.to_string()))?;
            if let Some(m) = found.kinds.get(&key) {
                return Ok(Some(Served {
                    resource: ApiResource {
                        group: key.0,
                        version: key.1,
                        api_version: target.api_version.clone(),
                        kind: key.2,
                        plural: m.plural.clone(),
                    },
                    namespaced: m.namespaced,
                }));
            }
            if rediscover && found.capabilities.has(&target.api_version) {
                return Ok(None);
            }
        }
        Err(no_resource(
            "the server could not find the requested resource".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(api_version: &str, namespace: &str, name: &str) -> LookupTarget {
        LookupTarget {
            api_version: api_version.into(),
            kind: "Widget".into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    #[test]
    fn kinds_are_named_as_client_go_names_them() {
        assert_eq!(target("v1", "", "").gvk(), "/v1, Kind=Widget");
        assert_eq!(
            target("example.com/v2", "", "").gvk(),
            "example.com/v2, Kind=Widget"
        );
    }

    #[test]
    fn targets_display_their_scope() {
        assert_eq!(target("v1", "ns", "w").display(), "v1 Widget ns/w");
        assert_eq!(target("v1", "", "w").display(), "v1 Widget w");
        assert_eq!(
            target("v1", "ns", "").display(),
            "v1 Widget in namespace ns"
        );
        assert_eq!(target("v1", "", "").display(), "v1 Widget");
    }

    #[test]
    fn helms_texts_for_failures() {
        let e = LookupReadError::NoResource {
            gvk: target("example.com/v9", "", "").gvk(),
            message: "the server could not find the requested resource".into(),
        };
        assert_eq!(
            e.to_string(),
            "unable to get apiresource from unstructured: example.com/v9, Kind=Widget: the server could not find the requested resource"
        );
        let e = LookupReadError::Api {
            message: "secrets \"x\" is forbidden".into(),
            code: 403,
        };
        assert_eq!(e.to_string(), "secrets \"x\" is forbidden");
    }
}
