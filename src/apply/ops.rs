//! The write paths: Helm's ownership check, server-side apply with Helm's
//! ownership metadata, pruning, chart `crds/`, namespaces, uninstall.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use kube::Api;
use kube::api::{DeleteParams, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};

use super::resource::{by_key, install_sort, uninstall_sort};
use super::{
    Applier, ApplyError, ApplyReport, CrdPolicy, FIELD_MANAGER, KEEP_POLICY, LEGACY_FIELD_MANAGER,
    MANAGED_BY_HELM, MANAGED_BY_LABEL, Phase, PruneReport, RELEASE_NAME_ANNOTATION,
    RELEASE_NAMESPACE_ANNOTATION, RESOURCE_POLICY_ANNOTATION, ReleaseRef, Resource,
    UninstallReport, not_found,
};

/// How many read calls run at once when checking many objects.
const PARALLEL_READS: usize = 8;
/// Polling interval of bounded waits.
pub(crate) const POLL: Duration = Duration::from_millis(250);

/// Helm's `requireValue`.
fn require_value(meta: Option<&BTreeMap<String, String>>, k: &str, v: &str) -> Option<String> {
    match meta.and_then(|m| m.get(k)) {
        None => Some(format!("missing key {k:?}: must be set to {v:?}")),
        Some(actual) if actual != v => Some(format!(
            "key {k:?} must equal {v:?}: current value is {actual:?}"
        )),
        Some(_) => None,
    }
}

/// Helm's `checkOwnership`: `None` when `meta` says `release` owns it,
/// else the `invalid ownership metadata; …` text.
pub fn ownership_problem(meta: &ObjectMeta, release: &ReleaseRef) -> Option<String> {
    let mut errs = Vec::new();
    if let Some(e) = require_value(meta.labels.as_ref(), MANAGED_BY_LABEL, MANAGED_BY_HELM) {
        errs.push(format!("label validation error: {e}"));
    }
    let annos = meta.annotations.as_ref();
    if let Some(e) = require_value(annos, RELEASE_NAME_ANNOTATION, &release.name) {
        errs.push(format!("annotation validation error: {e}"));
    }
    if let Some(e) = require_value(annos, RELEASE_NAMESPACE_ANNOTATION, &release.namespace) {
        errs.push(format!("annotation validation error: {e}"));
    }
    (!errs.is_empty()).then(|| format!("invalid ownership metadata; {}", errs.join("; ")))
}

/// Whether annotations say `helm.sh/resource-policy: keep`.
fn has_keep_policy(annotations: Option<&BTreeMap<String, String>>) -> bool {
    annotations
        .and_then(|a| a.get(RESOURCE_POLICY_ANNOTATION))
        .is_some_and(|p| p.trim().eq_ignore_ascii_case(KEEP_POLICY))
}

/// `meta`'s managed fields without [`LEGACY_FIELD_MANAGER`]'s apply entry
/// on the object itself, when it has one and another entry remains.
fn without_legacy_manager(meta: &ObjectMeta) -> Option<Vec<ManagedFieldsEntry>> {
    let entries = meta.managed_fields.as_ref()?;
    let legacy = |m: &ManagedFieldsEntry| {
        m.manager.as_deref() == Some(LEGACY_FIELD_MANAGER)
            && m.operation.as_deref() == Some("Apply")
            && m.subresource.as_deref().is_none_or(str::is_empty)
    };
    let kept: Vec<ManagedFieldsEntry> = entries.iter().filter(|m| !legacy(m)).cloned().collect();
    (kept.len() < entries.len() && !kept.is_empty()).then_some(kept)
}

/// The object with Helm's ownership label and annotations merged in.
pub(super) fn with_ownership(r: &Resource, release: &ReleaseRef) -> DynamicObject {
    let mut obj = r.object.clone();
    obj.metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(MANAGED_BY_LABEL.into(), MANAGED_BY_HELM.into());
    let annos = obj.metadata.annotations.get_or_insert_with(BTreeMap::new);
    annos.insert(RELEASE_NAME_ANNOTATION.into(), release.name.clone());
    annos.insert(
        RELEASE_NAMESPACE_ANNOTATION.into(),
        release.namespace.clone(),
    );
    obj
}

/// What a delete found.
enum Deleted {
    Yes,
    AlreadyGone,
}

impl Applier {
    /// Refuses objects that exist and are not owned by `release` (Helm's
    /// `existingResourceConflict`, with its wording). Objects that exist
    /// without ownership metadata are refused too, as Helm does.
    pub async fn check_ownership(
        &self,
        resources: &[Resource],
        release: &ReleaseRef,
    ) -> Result<(), ApplyError> {
        let checks: Vec<_> = resources
            .iter()
            .map(|r| self.check_one(r, release))
            .collect();
        let results: Vec<Result<(), ApplyError>> = stream::iter(checks)
            .buffered(PARALLEL_READS)
            .collect()
            .await;
        results.into_iter().collect()
    }

    async fn check_one(&self, r: &Resource, release: &ReleaseRef) -> Result<(), ApplyError> {
        let live = r.api(&self.client).get_opt(r.name()).await.map_err(|e| {
            ApplyError::api(
                "could not get information about the resource",
                r.helm_string(),
                e,
            )
        })?;
        match live.and_then(|l| ownership_problem(&l.metadata, release)) {
            None => Ok(()),
            Some(problem) => Err(ApplyError::Ownership(format!(
                "{} exists and cannot be imported into the current release: {problem}",
                r.helm_string()
            ))),
        }
    }

    /// Server-side apply (field manager `helm`, conflicts forced) of every
    /// resource in Helm's install order, each carrying Helm's ownership
    /// label and annotations. Stops at the first error, which names the object.
    pub async fn apply(
        &self,
        resources: &[Resource],
        release: &ReleaseRef,
    ) -> Result<ApplyReport, ApplyError> {
        self.apply_forcing(resources, release, false, super::quiet())
            .await
    }

    /// [`Applier::apply`], saying how far it got through `phase`. An
    /// object whose change the API server refuses as immutable is deleted
    /// and created again when `force` is set or it is annotated
    /// `helm.rudder.dev/force: "true"`; otherwise the error names it.
    pub async fn apply_forcing(
        &self,
        resources: &[Resource],
        release: &ReleaseRef,
        force: bool,
        phase: Phase<'_>,
    ) -> Result<ApplyReport, ApplyError> {
        let mut ordered = resources.to_vec();
        install_sort(&mut ordered);
        let mut report = ApplyReport::default();
        let total = ordered.len();
        for (i, r) in ordered.iter().enumerate() {
            phase(format!(
                "applying object {}/{total}: {}",
                i + 1,
                r.display()
            ));
            let body = with_ownership(r, release);
            let answer = match self.server_side_apply(r, &body).await {
                Ok(answer) => answer,
                Err(e) if is_immutable(&e) => {
                    if !(force || r.annotation(FORCE_ANNOTATION) == Some("true")) {
                        return Err(immutable(r, e));
                    }
                    self.recreate(r, &body).await?
                }
                Err(e) => return Err(e),
            };
            report.applied.push(r.display());
            report.answers.insert(r.key(), answer);
        }
        Ok(report)
    }

    /// Deletes `r`, waits until it is gone, and applies `body` again.
    async fn recreate(
        &self,
        r: &Resource,
        body: &DynamicObject,
    ) -> Result<DynamicObject, ApplyError> {
        tracing::info!(object = %r.display(), "recreating an object whose change is immutable (force)");
        let gone = self.uninstall_objects(std::slice::from_ref(r)).await?;
        self.wait_gone(&gone, RECREATE_TIMEOUT).await?;
        self.server_side_apply(r, body).await
    }

    /// One server-side apply of `obj` (the body of `r`), then the legacy
    /// manager's entry dropped if the object still has one.
    pub(crate) async fn server_side_apply(
        &self,
        r: &Resource,
        obj: &DynamicObject,
    ) -> Result<DynamicObject, ApplyError> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        self.count_write();
        let applied = r
            .api(&self.client)
            .patch(r.name(), &params, &Patch::Apply(obj))
            .await
            .map_err(|e| ApplyError::api("applying", r.display(), e))?;
        Ok(self.drop_legacy_manager(r, applied).await)
    }

    /// Removes [`LEGACY_FIELD_MANAGER`]'s apply entry from `applied`'s
    /// managed fields: the forced apply just made every field it set
    /// [`FIELD_MANAGER`]'s too, and the old entry would keep fields the
    /// chart drops and make a `helm upgrade` conflict. Guarded by the
    /// resource version; a failure is logged and retried on the next apply.
    async fn drop_legacy_manager(&self, r: &Resource, applied: DynamicObject) -> DynamicObject {
        let Some(kept) = without_legacy_manager(&applied.metadata) else {
            return applied;
        };
        let patch = serde_json::json!({"metadata": {
            "resourceVersion": applied.metadata.resource_version,
            "managedFields": kept,
        }});
        self.count_write();
        match r
            .api(&self.client)
            .patch(r.name(), &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(patched) => patched,
            Err(e) => {
                tracing::info!(object = %r.display(), error = %e, "dropping the legacy field manager; retried on the next apply");
                applied
            }
        }
    }
}

/// Annotation asking that one object be recreated when its change is
/// immutable.
pub const FORCE_ANNOTATION: &str = "helm.rudder.dev/force";
/// How long a forced recreation waits for the old object to go.
const RECREATE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Whether the API server refused a change as immutable (a field marked
/// immutable, or a StatefulSet spec field other than the updatable ones).
fn is_immutable(e: &ApplyError) -> bool {
    matches!(e, ApplyError::Api { code: Some(422), message, .. }
        if message.contains("field is immutable") || message.contains("Forbidden: updates to"))
}

/// The error of an immutable change without force.
fn immutable(r: &Resource, e: ApplyError) -> ApplyError {
    let message = match e {
        ApplyError::Api { message, .. } => message,
        other => other.to_string(),
    };
    ApplyError::Immutable {
        object: r.display(),
        message,
    }
}

impl Applier {
    /// Deletes one object with background propagation.
    async fn delete_one(&self, r: &Resource) -> Result<Deleted, ApplyError> {
        self.count_write();
        match r
            .api(&self.client)
            .delete(r.name(), &DeleteParams::background())
            .await
        {
            Ok(_) => Ok(Deleted::Yes),
            Err(e) if not_found(&e) => Ok(Deleted::AlreadyGone),
            Err(e) => Err(ApplyError::api("deleting", r.display(), e)),
        }
    }

    /// Deletes each object (stopping at the first error); returns those
    /// that existed.
    pub(crate) async fn uninstall_objects(
        &self,
        resources: &[Resource],
    ) -> Result<Vec<Resource>, ApplyError> {
        let mut deleted = Vec::new();
        for r in resources {
            if let Deleted::Yes = self.delete_one(r).await? {
                deleted.push(r.clone());
            }
        }
        Ok(deleted)
    }

    /// Deletes the objects of `old` that `new` no longer has (identity:
    /// group, kind, namespace, name), in Helm's uninstall order, background
    /// propagation; `helm.sh/resource-policy: keep` (on the old manifest or
    /// the live object) keeps one. Already-gone objects are fine.
    pub async fn prune(
        &self,
        old: &[Resource],
        new: &[Resource],
    ) -> Result<PruneReport, ApplyError> {
        let wanted: HashSet<_> = new.iter().map(Resource::key).collect();
        let mut dropped: Vec<Resource> = by_key(old)
            .into_iter()
            .filter(|(k, _)| !wanted.contains(k))
            .map(|(_, r)| r.clone())
            .collect();
        // Keep the old manifest's order within a kind.
        let pos = |r: &Resource| old.iter().position(|o| o.key() == r.key());
        dropped.sort_by_key(pos);
        uninstall_sort(&mut dropped);
        let mut report = PruneReport::default();
        for r in &dropped {
            if has_keep_policy(r.object.metadata.annotations.as_ref()) {
                report.kept.push(r.display());
                continue;
            }
            let live = r.read_live(&self.client).await?;
            let Some(live) = live else {
                report.missing.push(r.display());
                continue;
            };
            if has_keep_policy(live.metadata.annotations.as_ref()) {
                report.kept.push(r.display());
                continue;
            }
            match self.delete_one(r).await? {
                Deleted::Yes => report.deleted.push(r.display()),
                Deleted::AlreadyGone => report.missing.push(r.display()),
            }
        }
        Ok(report)
    }

    /// Creates a namespace unless it exists (with Helm's `name` label);
    /// `true` if it was created.
    pub async fn ensure_namespace(&self, ns: &str) -> Result<bool, ApplyError> {
        let api = Api::<Namespace>::all(self.client.clone());
        let what = format!("Namespace {ns}");
        if api
            .get_opt(ns)
            .await
            .map_err(|e| ApplyError::api("reading", what.clone(), e))?
            .is_some()
        {
            return Ok(false);
        }
        let obj = Namespace {
            metadata: ObjectMeta {
                name: Some(ns.to_string()),
                labels: Some([("name".to_string(), ns.to_string())].into()),
                ..Default::default()
            },
            ..Default::default()
        };
        self.count_write();
        match api.create(&PostParams::default(), &obj).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(ApplyError::api("creating", what, e)),
        }
    }

    /// Installs a chart's `crds/` files (path, text): `Create` creates the
    /// missing ones, `CreateReplace` applies all, `Skip` does nothing. Then
    /// waits (bounded by `timeout`) until each is Established and discovery
    /// serves its kinds. Returns how many CRDs were written.
    pub async fn install_crds(
        &self,
        crds: &[(String, String)],
        policy: CrdPolicy,
        timeout: Duration,
    ) -> Result<usize, ApplyError> {
        if matches!(policy, CrdPolicy::Skip) || crds.is_empty() {
            return Ok(0);
        }
        let mut all = Vec::new();
        for (path, text) in crds {
            let manifest = format!("# Source: {path}\n{text}");
            all.extend(self.resources(&manifest, "default").await?);
        }
        let mut written = 0;
        for r in &all {
            let exists = r.read_live(&self.client).await?.is_some();
            if matches!(policy, CrdPolicy::CreateReplace) {
                self.server_side_apply(r, &r.object).await?;
                written += 1;
            } else if !exists {
                self.create_one(r).await?;
                written += 1;
            }
        }
        let names: Vec<&str> = all
            .iter()
            .filter(|r| r.kind() == "CustomResourceDefinition")
            .map(Resource::name)
            .collect();
        self.wait_crds(&names, timeout).await?;
        Ok(written)
    }

    /// Creates one object (`AlreadyExists` is fine).
    async fn create_one(&self, r: &Resource) -> Result<(), ApplyError> {
        self.count_write();
        match r
            .api(&self.client)
            .create(&PostParams::default(), &r.object)
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
            Err(e) => Err(ApplyError::api("creating", r.display(), e)),
        }
    }

    /// Waits until every named CRD is Established and discovery serves its
    /// kinds (refreshing discovery).
    async fn wait_crds(&self, names: &[&str], timeout: Duration) -> Result<(), ApplyError> {
        let api = Api::<CustomResourceDefinition>::all(self.client.clone());
        let deadline = Instant::now() + timeout;
        loop {
            let mut pending = Vec::new();
            let mut kinds = Vec::new();
            for name in names {
                let crd = api
                    .get_opt(name)
                    .await
                    .map_err(|e| ApplyError::api("reading", format!("CRD {name}"), e))?;
                match crd {
                    Some(crd) if crd_established(&crd) => kinds.extend(served_kinds(&crd)),
                    _ => pending.push(format!("CustomResourceDefinition {name} (not Established)")),
                }
            }
            if pending.is_empty() {
                self.refresh_discovery().await?;
                let d = self.discovered().await?;
                pending.extend(
                    kinds
                        .into_iter()
                        .filter(|k| !d.kinds.contains_key(k))
                        .map(|(g, v, k)| format!("{g}/{v} {k} (not yet in discovery)")),
                );
                if pending.is_empty() {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(ApplyError::Timeout {
                    what: "CRDs".into(),
                    after: timeout,
                    pending,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Uninstall: deletes in Helm's uninstall order (keep-policy objects
    /// skipped, background propagation), then waits until they are gone,
    /// bounded by `timeout`. Objects whose namespace is gone or terminating
    /// count as gone. Delete errors do not stop the others; the first is
    /// returned after all were tried.
    pub async fn uninstall(
        &self,
        resources: &[Resource],
        timeout: Duration,
    ) -> Result<UninstallReport, ApplyError> {
        self.uninstall_with(resources, Some(timeout)).await
    }

    /// [`Applier::uninstall`], waiting for the objects to go only when
    /// `wait` gives a timeout.
    pub async fn uninstall_with(
        &self,
        resources: &[Resource],
        wait: Option<Duration>,
    ) -> Result<UninstallReport, ApplyError> {
        let mut ordered = resources.to_vec();
        uninstall_sort(&mut ordered);
        let mut report = UninstallReport::default();
        let mut first_err = None;
        let mut deleted = Vec::new();
        for r in &ordered {
            if has_keep_policy(r.object.metadata.annotations.as_ref()) {
                report.kept.push(r.display());
                continue;
            }
            match self.delete_one(r).await {
                Ok(Deleted::Yes) => {
                    report.deleted.push(r.display());
                    deleted.push(r.clone());
                }
                Ok(Deleted::AlreadyGone) => report.missing.push(r.display()),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        if let Some(timeout) = wait {
            self.wait_gone(&deleted, timeout).await?;
        }
        Ok(report)
    }

    /// Waits until every object is gone (or its namespace is).
    pub async fn wait_gone(
        &self,
        resources: &[Resource],
        timeout: Duration,
    ) -> Result<(), ApplyError> {
        let deadline = Instant::now() + timeout;
        let mut left: Vec<&Resource> = resources.iter().collect();
        loop {
            let namespaces = self.namespace_states(&left).await?;
            let checks: Vec<_> = left.iter().map(|r| self.is_gone(r, &namespaces)).collect();
            let states: Vec<bool> = stream::iter(checks)
                .buffered(PARALLEL_READS)
                .try_collect()
                .await?;
            left = left
                .into_iter()
                .zip(states)
                .filter(|(_, gone)| !gone)
                .map(|(r, _)| r)
                .collect();
            if left.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ApplyError::Timeout {
                    what: "deletion".into(),
                    after: timeout,
                    pending: left.iter().map(|r| r.display()).collect(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// For each namespace of `resources`: whether it is gone or terminating.
    async fn namespace_states(
        &self,
        resources: &[&Resource],
    ) -> Result<BTreeMap<String, bool>, ApplyError> {
        let api = Api::<Namespace>::all(self.client.clone());
        let mut out = BTreeMap::new();
        for ns in resources.iter().filter_map(|r| r.namespace()) {
            if out.contains_key(ns) {
                continue;
            }
            let live = api
                .get_opt(ns)
                .await
                .map_err(|e| ApplyError::api("reading", format!("Namespace {ns}"), e))?;
            let ending = match live {
                None => true,
                Some(n) => {
                    n.metadata.deletion_timestamp.is_some()
                        || n.status.and_then(|s| s.phase).as_deref() == Some("Terminating")
                }
            };
            out.insert(ns.to_string(), ending);
        }
        Ok(out)
    }

    async fn is_gone(
        &self,
        r: &Resource,
        namespaces: &BTreeMap<String, bool>,
    ) -> Result<bool, ApplyError> {
        if r.namespace().and_then(|ns| namespaces.get(ns)) == Some(&true) {
            return Ok(true);
        }
        let live = r.read_live(&self.client).await?;
        Ok(live.is_none())
    }
}

fn crd_established(crd: &CustomResourceDefinition) -> bool {
    crd.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        })
}

/// (group, version, kind) of every served version of a CRD.
fn served_kinds(crd: &CustomResourceDefinition) -> Vec<(String, String, String)> {
    crd.spec
        .versions
        .iter()
        .filter(|v| v.served)
        .map(|v| {
            (
                crd.spec.group.clone(),
                v.name.clone(),
                crd.spec.names.kind.clone(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel() -> ReleaseRef {
        ReleaseRef {
            name: "web".into(),
            namespace: "apps".into(),
        }
    }

    fn entry(manager: &str, operation: &str, subresource: Option<&str>) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            manager: Some(manager.into()),
            operation: Some(operation.into()),
            subresource: subresource.map(Into::into),
            ..Default::default()
        }
    }

    fn managers(entries: &[ManagedFieldsEntry]) -> Vec<&str> {
        entries
            .iter()
            .filter_map(|m| m.manager.as_deref())
            .collect()
    }

    #[test]
    fn only_the_legacy_apply_entry_is_dropped() {
        let meta = |entries: Vec<ManagedFieldsEntry>| ObjectMeta {
            managed_fields: Some(entries),
            ..Default::default()
        };
        let kept = without_legacy_manager(&meta(vec![
            entry("helm", "Apply", None),
            entry("rudder", "Apply", None),
            entry("rudder", "Apply", Some("status")),
            entry("kubectl-scale", "Update", None),
        ]))
        .expect("dropped");
        assert_eq!(managers(&kept), vec!["helm", "rudder", "kubectl-scale"]);
        assert_eq!(kept[1].subresource.as_deref(), Some("status"));
        // Nothing to drop, or nothing would be left: no patch.
        assert!(without_legacy_manager(&meta(vec![entry("helm", "Apply", None)])).is_none());
        assert!(without_legacy_manager(&meta(vec![entry("rudder", "Apply", None)])).is_none());
        assert!(without_legacy_manager(&ObjectMeta::default()).is_none());
    }

    #[test]
    fn ownership_wording_is_helms() {
        let meta = ObjectMeta::default();
        assert_eq!(
            ownership_problem(&meta, &rel()).as_deref(),
            Some(
                "invalid ownership metadata; label validation error: missing key \"app.kubernetes.io/managed-by\": must be set to \"Helm\"; annotation validation error: missing key \"meta.helm.sh/release-name\": must be set to \"web\"; annotation validation error: missing key \"meta.helm.sh/release-namespace\": must be set to \"apps\""
            )
        );
        let meta = ObjectMeta {
            labels: Some([(MANAGED_BY_LABEL.into(), MANAGED_BY_HELM.into())].into()),
            annotations: Some(
                [
                    (RELEASE_NAME_ANNOTATION.into(), "other".into()),
                    (RELEASE_NAMESPACE_ANNOTATION.into(), "apps".into()),
                ]
                .into(),
            ),
            ..Default::default()
        };
        assert_eq!(
            ownership_problem(&meta, &rel()).as_deref(),
            Some(
                "invalid ownership metadata; annotation validation error: key \"meta.helm.sh/release-name\" must equal \"web\": current value is \"other\""
            )
        );
    }

    #[test]
    fn keep_policy_is_read_like_helm() {
        let a: BTreeMap<String, String> =
            [(RESOURCE_POLICY_ANNOTATION.into(), " Keep ".into())].into();
        assert!(has_keep_policy(Some(&a)));
        assert!(!has_keep_policy(None));
    }
}
