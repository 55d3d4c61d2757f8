//! What a reconciliation of a HelmRelease would deploy, without deploying
//! it (`rudder diff`): the same inputs (chart from its HelmRepository,
//! `valuesFrom` read from the cluster), the same render (`lookup` reading
//! the live cluster with the release's authority) and the same ownership
//! check as an install or upgrade, through the reconciler's own
//! [`super::inputs::desired`] and [`super::render::prepare`]; nothing is
//! written. Also the one-shot [`Context`] a command-line process renders
//! with.

use std::sync::Arc;

use kube::Client;
use serde_json::{Map as JsonMap, Value as Json};

use super::{applier_for, inputs, render, store_for};
use crate::api::HelmRelease;
use crate::apply::{Applier, ReleaseRef, Resource};
use crate::controller::Context;
use crate::controller::metrics::{Metrics, MetricsError};
use crate::controller::ownership::Names;
use crate::controller::release_failure::Failure;
use crate::controller::values_from::merge_json;
use crate::controller::{impersonate, renderers, sources};
use crate::release::history;

/// Bytes of chart archives a one-shot process keeps in memory.
const ONE_SHOT_CACHE: u64 = 64 << 20;

/// What the next reconciliation would put on the cluster, next to what is
/// there.
pub struct Plan {
    /// Release, namespaces.
    pub names: Names,
    /// Whose objects these are (Helm's ownership metadata).
    pub owner: ReleaseRef,
    /// The Applier acting with the release's authority.
    pub applier: Applier,
    /// The objects of the new revision (hooks and `crds/` aside).
    pub desired: Vec<Resource>,
    /// The objects of the live revision (empty when nothing is deployed).
    pub live: Vec<Resource>,
    /// The live revision, if any.
    pub live_revision: Option<i64>,
    /// The revision the plan would become (`spec.revision` when pinned).
    pub revision: i64,
}

/// A reconciler context for a one-shot process (a CLI command): no
/// metrics endpoint, charts cached in memory only, the release's
/// `serviceAccountName` impersonated with `config`'s credentials.
pub fn one_shot_context(client: Client, config: kube::Config) -> Result<Context, MetricsError> {
    let metrics = Metrics::new()?;
    let (loads, parses) = (metrics.chart_loads(), metrics.template_parses());
    let counters = metrics.api_counters();
    Ok(Context {
        client: client.clone(),
        metrics,
        sources: sources::Sources::new(crate::repo::ChartCache::new(None, ONE_SHOT_CACHE)),
        repo_tracker: Default::default(),
        git_tracker: Default::default(),
        applier: Applier::new(client),
        pressure: Arc::default(),
        impersonation: impersonate::Impersonation::new(Some(config), counters, Arc::default()),
        remotes: Default::default(),
        backoff: Default::default(),
        allow_cross_namespace: true,
        lockdown: Default::default(),
        renderers: renderers::Renderers::new(1, loads, parses),
        release_locks: Default::default(),
        values_users: Arc::default(),
        history: Arc::new(crate::release::HistoryCache::new(None)),
        causes: Default::default(),
        work: crate::controller::work::Work::new(1),
        just_deployed: Default::default(),
    })
}

/// Renders what reconciling `obj` would deploy now, with `overrides`
/// merged over its composed values (as `--set`/`--values` would be); a
/// pinned `spec.revision` plans that recorded revision instead.
pub async fn plan(
    obj: &HelmRelease,
    ctx: &Context,
    overrides: Option<&JsonMap<String, Json>>,
) -> Result<Plan, Failure> {
    let n = Names::of(obj);
    let ap = applier_for(obj, ctx, &n).await?;
    let hist = store_for(&ap, obj, &n).history(&n.release).await?;
    let live = history::deployed(hist.iter().map(|s| &s.release));
    let live_revision = live.map(|r| r.version);
    let live_res = match live {
        Some(l) => ap
            .resources(&l.manifest, &n.target)
            .await
            .map_err(Failure::Manifest)?,
        None => Vec::new(),
    };
    let owner = ReleaseRef {
        name: n.release.clone(),
        namespace: n.target.clone(),
    };
    let (revision, desired) = match obj.spec.revision {
        Some(pinned) => (pinned, pinned_objects(&ap, &n, &hist, pinned).await?),
        None => {
            let mut want = inputs::desired(obj, ctx, &n).await?;
            if let Some(o) = overrides {
                merge_json(&mut want.config, o);
            }
            let version = history::next_version(hist.iter().map(|s| &s.release));
            let upgrade = live.is_some();
            let (_, res, _claim) =
                render::prepare(ctx, &ap, &n, &want, &owner, version, upgrade.then_some(&[]))
                    .await?;
            (version, res)
        }
    };
    Ok(Plan {
        names: n,
        owner,
        applier: ap,
        desired,
        live: live_res,
        live_revision,
        revision,
    })
}

/// The objects of recorded revision `pinned` (what a rollback restores).
async fn pinned_objects(
    ap: &Applier,
    n: &Names,
    hist: &[crate::release::StoredRelease],
    pinned: i64,
) -> Result<Vec<Resource>, Failure> {
    let rec = hist
        .iter()
        .find(|s| s.release.version == pinned)
        .ok_or_else(|| Failure::RevisionNotFound {
            release: n.release.clone(),
            revision: pinned,
        })?;
    ap.resources(&rec.release.manifest, &n.target)
        .await
        .map_err(Failure::RollbackManifest)
}
