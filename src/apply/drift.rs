//! The calls a drift check makes on one object: the body the real apply
//! sends (Helm's ownership metadata merged in), a server-side dry-run of
//! that apply with the same field manager and force, and the corrective
//! apply. The corrective apply is left out of the Applier's write count:
//! it happens outside any reconciliation, and its caller counts it.

use kube::api::{DynamicObject, Patch, PatchParams};

use super::{Applier, ApplyError, FIELD_MANAGER, ReleaseRef, Resource};

/// The apply parameters of every apply rudder makes, optionally dry-run.
fn params(dry_run: bool) -> PatchParams {
    let mut p = PatchParams::apply(FIELD_MANAGER).force();
    p.dry_run = dry_run;
    p
}

impl Applier {
    /// `r` as [`Applier::apply`] sends it: with Helm's ownership label and
    /// annotations for `release`.
    pub fn owned_body(r: &Resource, release: &ReleaseRef) -> DynamicObject {
        super::ops::with_ownership(r, release)
    }

    /// What the object would be after applying `body` (`dryRun=All`:
    /// defaults, admission webhooks and other managers' fields included).
    /// Not a write.
    pub async fn dry_run_apply(
        &self,
        r: &Resource,
        body: &DynamicObject,
    ) -> Result<DynamicObject, ApplyError> {
        r.api(&self.client)
            .patch(r.name(), &params(true), &Patch::Apply(body))
            .await
            .map_err(|e| ApplyError::api("dry-run applying", r.display(), e))
    }

    /// A server-side dry run of applying every resource (in install order)
    /// as this Applier's identity: the API server's authorization,
    /// admission and validation decide without anything written. Stops at
    /// the first refusal, which names the object.
    pub async fn preflight(
        &self,
        resources: &[Resource],
        release: &ReleaseRef,
    ) -> Result<(), ApplyError> {
        let mut ordered = resources.to_vec();
        super::resource::install_sort(&mut ordered);
        for r in &ordered {
            self.dry_run_apply(r, &Self::owned_body(r, release)).await?;
        }
        Ok(())
    }

    /// Applies `body` for real, as an install would (the caller counts the
    /// write).
    pub async fn correct(&self, r: &Resource, body: &DynamicObject) -> Result<(), ApplyError> {
        r.api(&self.client)
            .patch(r.name(), &params(false), &Patch::Apply(body))
            .await
            .map(|_| ())
            .map_err(|e| ApplyError::api("correcting", r.display(), e))
    }
}
