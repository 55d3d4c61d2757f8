//! Rendering a revision and reading it into objects that pass the
//! ownership check, before any write: the chart is rendered on a render
//! thread that keeps it loaded ([`crate::controller::renderers`]), with the
//! cluster's capabilities, its templates' `lookup` reading the live cluster
//! with the release's authority ([`crate::controller::lookup`]).

use std::sync::Arc;
use std::time::Instant;

use super::{inputs::Desired, send};
use crate::action::RenderOptions;
use crate::apply::{Applier, ApplyError, ClaimGuard, ReleaseRef, Resource};
use crate::controller::Context;
use crate::controller::lookup::LiveLookup;
use crate::controller::ownership::Names;
use crate::controller::release_failure::Failure;
use crate::release::build::Built;

/// Renders the chart for revision `version` on a render thread; `lookup`
/// reads with `ap`'s authority.
async fn render(
    ctx: &Context,
    ap: &Applier,
    n: &Names,
    want: &Desired,
    version: i64,
    upgrade: bool,
) -> Result<Built, Failure> {
    let live = LiveLookup::new(ap.clone(), tokio::runtime::Handle::current());
    let mut opts = RenderOptions {
        release_name: n.release.clone(),
        namespace: n.target.clone(),
        revision: version,
        is_upgrade: upgrade,
        lookup: Some(Arc::new(live)),
        ..Default::default()
    };
    // The capabilities of the cluster the release goes to.
    let caps = send(ap.capabilities())
        .await
        .map_err(Failure::Capabilities)?;
    // Render against this cluster (`--api-versions` already in
    // `opts.api_versions` are still appended, as `helm install` does).
    opts.kube_version = Some(caps.kube_version());
    opts.api_versions_replace = Some(caps.api_versions.clone());
    let start = Instant::now();
    let result = ctx
        .renderers
        .build(want.pulled.clone(), want.config.clone(), opts)
        .await;
    ctx.metrics.observe_render(start);
    result
}

/// Renders revision `version` and reads its manifest into objects that
/// pass the ownership check: everything decided before any write. As in
/// `helm upgrade`, objects the live revision has (`recorded`: `Some` for an
/// upgrade) are the release's already and are not read again. The objects stay claimed for
/// this release while the guard lives.
pub(super) async fn prepare(
    ctx: &Context,
    ap: &Applier,
    n: &Names,
    want: &Desired,
    owner: &ReleaseRef,
    version: i64,
    recorded: Option<&[Resource]>,
) -> Result<(Built, Vec<Resource>, ClaimGuard), Failure> {
    let upgrade = recorded.is_some();
    let mut built = render(ctx, ap, n, want, version, upgrade).await?;
    // What the post-renderers make is what is applied and recorded.
    built.manifest = send(ap.post_render(&built.manifest, &want.post_render, &n.target))
        .await
        .map_err(Failure::PostRender)?;
    for w in &built.warnings {
        tracing::warn!(
            release = %n.release,
            namespace = %n.target,
            chart = %w.chart,
            "{} {} of a dependency returned a non-bool value: it does not enable or disable the subchart",
            w.field,
            w.name
        );
    }
    let new_res = match send(ap.resources(&built.manifest, &n.target)).await {
        Ok(r) => r,
        Err(e) => {
            if matches!(e, ApplyError::UnknownKind { .. }) {
                // Perhaps a CRD appeared since discovery ran: rediscover
                // before the retry.
                ap.forget_discovery().await;
            }
            return Err(Failure::Manifest(e));
        }
    };
    let claim = ap
        .claim(&new_res, owner)
        .map_err(|source| Failure::Ownership { source, upgrade })?;
    let known: std::collections::HashSet<_> = recorded
        .unwrap_or_default()
        .iter()
        .map(Resource::key)
        .collect();
    let unknown: Vec<Resource> = new_res
        .iter()
        .filter(|r| !known.contains(&r.key()))
        .cloned()
        .collect();
    send(ap.check_ownership(&unknown, owner))
        .await
        .map_err(|source| Failure::Ownership { source, upgrade })?;
    Ok((built, new_res, claim))
}
