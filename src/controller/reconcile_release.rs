//! The HelmRelease reconciler. For now it records `status.observedGeneration`
//! (install, upgrade and rollback come with later issues).

use std::sync::Arc;
use std::time::Instant;

use kube::runtime::controller::Action;

use super::metrics::Outcome;
use super::status::{StatusError, apply_observed_generation, generation_to_record};
use super::{Context, requeue_after};
use crate::api::HelmRelease;

/// Kind label used in logs and metrics.
pub const KIND: &str = "HelmRelease";

/// A failed HelmRelease reconciliation.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// Writing status failed.
    #[error(transparent)]
    Status(#[from] StatusError),
}

/// Reconciles one HelmRelease.
pub async fn reconcile(obj: Arc<HelmRelease>, ctx: Arc<Context>) -> Result<Action, ReleaseError> {
    let start = Instant::now();
    let result = record_generation(&obj, &ctx).await;
    let outcome = if result.is_ok() {
        Outcome::Success
    } else {
        Outcome::Error
    };
    ctx.metrics.observe(KIND, start, outcome);
    result.map(|()| requeue_after(&obj.spec.interval))
}

async fn record_generation(obj: &HelmRelease, ctx: &Context) -> Result<(), ReleaseError> {
    let observed = obj.status.as_ref().and_then(|s| s.observed_generation);
    if let Some(generation) = generation_to_record(obj.metadata.generation, observed) {
        apply_observed_generation(&ctx.client, obj, generation).await?;
        tracing::info!(
            kind = KIND,
            namespace = obj.metadata.namespace.as_deref().unwrap_or(""),
            name = obj.metadata.name.as_deref().unwrap_or(""),
            generation,
            "recorded observedGeneration"
        );
    }
    Ok(())
}
