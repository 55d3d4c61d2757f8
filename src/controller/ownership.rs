//! Who may act on a Helm release. A HelmRelease acts with its own
//! authority only: its release name must be one Helm accepts; without
//! `serviceAccountName` it may place objects and records only in its own
//! namespace (unless the operator allows more); and a Helm release (storage
//! namespace + release name) belongs to exactly one HelmRelease, recorded
//! on every record rudder writes (the HelmRelease's UID and name). A
//! second HelmRelease naming a release another live HelmRelease claims is
//! refused before any write; a release nobody claims (made by the helm CLI,
//! or by a HelmRelease that no longer exists) may be adopted.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use kube::{Api, ResourceExt};

use super::release_failure::Failure;
use crate::api::HelmRelease;
use crate::api::helmrelease::RELEASE_NAME_PATTERN;
use crate::release::store::StoredRelease;

/// Record annotation: UID of the HelmRelease that claims the release.
pub const OWNER_UID: &str = "rudder.dev/owner-uid";
/// Record annotation: `namespace/name` of that HelmRelease.
pub const OWNER: &str = "rudder.dev/owner";
/// Helm's longest release name.
pub const MAX_RELEASE_NAME: usize = 53;

/// Where a release lives, as a HelmRelease names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    /// The Helm release name.
    pub release: String,
    /// The HelmRelease's own namespace.
    pub namespace: String,
    /// Where the chart's objects go.
    pub target: String,
    /// Where the release records are stored.
    pub storage: String,
}

impl Names {
    /// The names `obj` asks for, with Helm's defaults.
    pub fn of(obj: &HelmRelease) -> Names {
        let namespace = obj.namespace().unwrap_or_default();
        let target = obj
            .spec
            .target_namespace
            .clone()
            .unwrap_or_else(|| namespace.clone());
        Names {
            release: obj
                .spec
                .release_name
                .clone()
                .unwrap_or_else(|| obj.name_any()),
            storage: obj
                .spec
                .storage_namespace
                .clone()
                .unwrap_or_else(|| target.clone()),
            namespace,
            target,
        }
    }
}

/// The record annotations that claim a release for `obj`.
pub fn owner_annotations(obj: &HelmRelease) -> BTreeMap<String, String> {
    BTreeMap::from([
        (OWNER_UID.to_string(), obj.uid().unwrap_or_default()),
        (
            OWNER.to_string(),
            format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any()),
        ),
    ])
}

/// Who claims a release, from its records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// No record names a HelmRelease (a helm CLI release, or none yet).
    Unclaimed,
    /// The records name this HelmRelease only.
    Ours,
    /// The newest record naming another HelmRelease names this one.
    Other {
        /// Its UID.
        uid: String,
        /// Its `namespace/name`.
        name: String,
    },
}

/// The claim on a release whose records are `hist` (oldest first), seen
/// by the HelmRelease with UID `uid`.
pub fn claim_of(hist: &[StoredRelease], uid: &str) -> Claim {
    let mut claim = Claim::Unclaimed;
    for s in hist {
        match s.annotation(OWNER_UID) {
            None | Some("") => {}
            Some(u) if u == uid => {
                if claim == Claim::Unclaimed {
                    claim = Claim::Ours;
                }
            }
            Some(u) => {
                claim = Claim::Other {
                    uid: u.to_string(),
                    name: s.annotation(OWNER).unwrap_or("?").to_string(),
                }
            }
        }
    }
    claim
}

/// Whether record `s` was written under the claim of `uid`.
pub fn is_ours(s: &StoredRelease, uid: &str) -> bool {
    !uid.is_empty() && s.annotation(OWNER_UID) == Some(uid)
}

/// Whether record `s` was written for `uid`: under its claim, or by an
/// older rudder before records carried a claim (its digest annotations and
/// no owner) — for a release whose claim [`check_claim`] already accepted,
/// read with the HelmRelease's own authority.
fn written_for(s: &StoredRelease, uid: &str) -> bool {
    is_ours(s, uid) || (unclaimed(s) && s.annotation(crate::release::store::CHART_DIGEST).is_some())
}

fn unclaimed(s: &StoredRelease) -> bool {
    s.annotation(OWNER_UID).is_none_or(str::is_empty)
}

/// The records an uninstall by `uid` removes: none when it wrote none
/// (it never acted on the release); else its own and every unclaimed one —
/// those of the helm CLI, whether from before the release was adopted or
/// from a `helm upgrade` in between (Helm rewrites the record it
/// supersedes without rudder's annotations). Records another HelmRelease
/// claims are left.
pub fn to_uninstall<'a>(hist: &'a [StoredRelease], uid: &str) -> Vec<&'a StoredRelease> {
    if !hist.iter().any(|s| written_for(s, uid)) {
        return Vec::new();
    }
    hist.iter()
        .filter(|s| written_for(s, uid) || unclaimed(s))
        .collect()
}

/// Refuses a release another live HelmRelease claims. A claimant that no
/// longer exists (or was re-created with another UID) holds nothing.
pub async fn check_claim(
    client: &kube::Client,
    obj: &HelmRelease,
    n: &Names,
    hist: &[StoredRelease],
) -> Result<(), Failure> {
    let Claim::Other { uid, name } = claim_of(hist, &obj.uid().unwrap_or_default()) else {
        return Ok(());
    };
    if !claimant_alive(client, &name, &uid).await {
        return Ok(());
    }
    Err(Failure::ReleaseClaimed {
        release: n.release.clone(),
        storage: n.storage.clone(),
        owner: name,
    })
}

/// Whether HelmRelease `namespace/name` exists with `uid`. A read that
/// fails counts as alive: refusing is the safe side.
async fn claimant_alive(client: &kube::Client, name: &str, uid: &str) -> bool {
    let Some((ns, name)) = name.split_once('/') else {
        return true;
    };
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), ns);
    match api.get_opt(name).await {
        Ok(Some(hr)) => hr.uid().as_deref() == Some(uid),
        Ok(None) => false,
        Err(e) => {
            tracing::warn!(error = %e, claimant = %format!("{ns}/{name}"), "reading the HelmRelease that claims a release");
            true
        }
    }
}

/// Checks the names `obj` uses before anything is read or written: a
/// release name Helm accepts, and (without `serviceAccountName`, unless
/// `allow_cross_namespace`) target and storage in the HelmRelease's own
/// namespace.
pub fn check_names(
    obj: &HelmRelease,
    n: &Names,
    allow_cross_namespace: bool,
) -> Result<(), Failure> {
    check_release_name(obj, &n.release)?;
    if obj.spec.service_account_name.is_some() || allow_cross_namespace {
        return Ok(());
    }
    for (field, ns) in [
        ("targetNamespace", &n.target),
        ("storageNamespace", &n.storage),
    ] {
        if *ns != n.namespace {
            return Err(Failure::CrossNamespace {
                field,
                namespace: ns.clone(),
                own: n.namespace.clone(),
            });
        }
    }
    Ok(())
}

fn check_release_name(obj: &HelmRelease, name: &str) -> Result<(), Failure> {
    static PATTERN: OnceLock<Option<regex::Regex>> = OnceLock::new();
    let pattern = PATTERN.get_or_init(|| regex::Regex::new(RELEASE_NAME_PATTERN).ok());
    let valid_chars = pattern.as_ref().is_none_or(|p| p.is_match(name));
    if valid_chars && !name.is_empty() && name.len() <= MAX_RELEASE_NAME {
        return Ok(());
    }
    let from = if obj.spec.release_name.is_some() {
        "spec.releaseName"
    } else {
        "metadata.name (the default release name)"
    };
    Err(Failure::InvalidReleaseName {
        name: name.to_string(),
        from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::Release;
    use serde_json::json;

    fn hr(name: &str, spec: serde_json::Value) -> HelmRelease {
        let mut s = json!({"chart": {"name": "c", "repositoryRef": {"name": "r"}}});
        if let (Some(s), Some(extra)) = (s.as_object_mut(), spec.as_object()) {
            s.extend(extra.clone());
        }
        serde_json::from_value(json!({
            "apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": "team-a", "uid": "uid-a"},
            "spec": s,
        }))
        .expect("HelmRelease")
    }

    fn record(version: i64, owner: Option<&str>) -> StoredRelease {
        let release: Release = serde_json::from_value(json!({
            "name": "app", "version": version, "namespace": "team-a",
            "info": {"status": "superseded"},
        }))
        .expect("record");
        let mut annotations = BTreeMap::new();
        if let Some(o) = owner {
            annotations.insert(OWNER_UID.to_string(), o.to_string());
            annotations.insert(OWNER.to_string(), format!("ns-of-{o}/hr-{o}"));
        }
        StoredRelease {
            release,
            annotations,
            parked: false,
            slim: false,
        }
    }

    #[test]
    fn claims_are_read_from_the_records() {
        assert_eq!(claim_of(&[], "a"), Claim::Unclaimed);
        assert_eq!(claim_of(&[record(1, None)], "a"), Claim::Unclaimed);
        assert_eq!(
            claim_of(&[record(1, None), record(2, Some("a"))], "a"),
            Claim::Ours
        );
        assert_eq!(
            claim_of(&[record(1, Some("a")), record(2, Some("b"))], "a"),
            Claim::Other {
                uid: "b".into(),
                name: "ns-of-b/hr-b".into()
            }
        );
        // Another HelmRelease's older records still make it a claimant.
        assert!(matches!(
            claim_of(&[record(1, Some("b")), record(2, Some("a"))], "a"),
            Claim::Other { .. }
        ));
        assert!(is_ours(&record(3, Some("a")), "a"));
        assert!(!is_ours(&record(3, None), "a"));
        assert!(!is_ours(&record(3, Some("a")), ""));
    }

    fn versions(records: Vec<&StoredRelease>) -> Vec<i64> {
        records.iter().map(|s| s.release.version).collect()
    }

    #[test]
    fn uninstall_takes_the_release_it_acted_on() {
        // The helm CLI's release, never acted on: nothing.
        let helm_only = [record(1, None), record(2, None)];
        assert!(to_uninstall(&helm_only, "a").is_empty());
        // Written by an older rudder (digests, no owner) counts as its own.
        let mut legacy = record(4, None);
        legacy.annotations.insert(
            crate::release::store::CHART_DIGEST.into(),
            "sha256:x".into(),
        );
        assert_eq!(versions(to_uninstall(&[legacy], "a")), vec![4]);
        // Adopted from the helm CLI, upgraded by helm in between (records
        // 1 and 2 unclaimed), then by rudder: all of it; another
        // HelmRelease's record stays.
        let hist = [
            record(1, None),
            record(2, None),
            record(3, Some("b")),
            record(4, Some("a")),
        ];
        assert_eq!(versions(to_uninstall(&hist, "a")), vec![1, 2, 4]);
    }

    #[test]
    fn names_stay_home_without_a_service_account() {
        let own = hr("app", json!({}));
        assert!(check_names(&own, &Names::of(&own), false).is_ok());
        let storage = hr(
            "app",
            json!({"storageNamespace": "team-b", "releaseName": "victim"}),
        );
        let err = check_names(&storage, &Names::of(&storage), false).expect_err("refused");
        assert_eq!(err.reason(), "CrossNamespaceRefused");
        assert!(err.to_string().contains("storageNamespace team-b"), "{err}");
        let target = hr("app", json!({"targetNamespace": "team-b"}));
        let err = check_names(&target, &Names::of(&target), false).expect_err("refused");
        assert!(err.to_string().contains("targetNamespace team-b"), "{err}");
        // The operator may allow it; a service account's own rights decide.
        assert!(check_names(&target, &Names::of(&target), true).is_ok());
        let sa = hr(
            "app",
            json!({"targetNamespace": "team-b", "serviceAccountName": "d"}),
        );
        assert!(check_names(&sa, &Names::of(&sa), false).is_ok());
    }

    #[test]
    fn release_names_follow_helm() {
        let long = "a".repeat(70);
        let obj = hr(&long, json!({}));
        let err = check_names(&obj, &Names::of(&obj), false).expect_err("too long");
        assert_eq!(err.reason(), "InvalidReleaseName");
        assert!(err.to_string().contains("metadata.name"), "{err}");
        assert!(err.to_string().contains("53"), "{err}");
        let ok = hr(&"a".repeat(53), json!({}));
        assert!(check_names(&ok, &Names::of(&ok), false).is_ok());
        let explicit = hr(&long, json!({"releaseName": "short"}));
        assert!(check_names(&explicit, &Names::of(&explicit), false).is_ok());
        let bad = hr("app", json!({"releaseName": "Not_Valid"}));
        let err = check_names(&bad, &Names::of(&bad), false).expect_err("pattern");
        assert!(err.to_string().contains("spec.releaseName"), "{err}");
    }
}
