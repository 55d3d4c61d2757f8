//! The HelmRepository reconciler. For now it records
//! `status.observedGeneration` (index fetching comes with a later issue).

use std::sync::Arc;
use std::time::Instant;

use kube::runtime::controller::Action;

use super::metrics::Outcome;
use super::status::{StatusError, apply_observed_generation, generation_to_record};
use super::{Context, requeue_after};
use crate::api::HelmRepository;

/// Kind label used in logs and metrics.
pub const KIND: &str = "HelmRepository";

/// A failed HelmRepository reconciliation.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// Writing status failed.
    #[error(transparent)]
    Status(#[from] StatusError),
}

/// Reconciles one HelmRepository.
pub async fn reconcile(
    obj: Arc<HelmRepository>,
    ctx: Arc<Context>,
) -> Result<Action, RepositoryError> {
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

async fn record_generation(obj: &HelmRepository, ctx: &Context) -> Result<(), RepositoryError> {
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
