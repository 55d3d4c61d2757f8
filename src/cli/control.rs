//! The user commands that ask the controller to act, each by one patch of
//! the HelmRelease: `reconcile` (the `requested-at` annotation, and
//! `reset-at` with `--reset`; with `--wait` it follows the status phases
//! until the request is handled), `suspend`/`resume` (`spec.suspend`) and
//! `rollback --to N` (`spec.revision`).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::{Value as Json, json};

use super::cluster::{CliError, Cluster, KubeArgs, block_on};
use crate::api::HelmRelease;
use crate::api::condition::{ConditionStatus, READY, RECONCILING};
use crate::api::duration::parse_duration;
use crate::controller::release::{REQUESTED_AT, RESET_AT};

/// `rudder reconcile NAME`.
#[derive(Args, Debug, Clone)]
pub struct ReconcileArgs {
    /// The HelmRelease.
    pub name: String,
    /// Also forget the failures counted so far, so a stalled release gets
    /// new tries.
    #[arg(long)]
    pub reset: bool,
    /// Wait until the controller has handled the request, printing its
    /// progress; exit 0 when Ready, 1 when not.
    #[arg(long)]
    pub wait: bool,
    /// How long `--wait` waits (a Go duration).
    #[arg(long, default_value = "5m", value_parser = parse_timeout)]
    pub timeout: Duration,
    #[command(flatten)]
    pub kube: KubeArgs,
}

/// `rudder suspend|resume NAME`.
#[derive(Args, Debug, Clone)]
pub struct SuspendArgs {
    /// The HelmRelease.
    pub name: String,
    #[command(flatten)]
    pub kube: KubeArgs,
}

/// `rudder rollback NAME --to N`.
#[derive(Args, Debug, Clone)]
pub struct RollbackArgs {
    /// The HelmRelease.
    pub name: String,
    /// The recorded revision to make live (sets `spec.revision`; remove
    /// it with `--follow` to follow the spec again).
    #[arg(long, value_name = "REVISION", required_unless_present = "follow", value_parser = clap::value_parser!(i64).range(1..))]
    pub to: Option<i64>,
    /// Clear `spec.revision`: follow the chart and values again.
    #[arg(long, conflicts_with = "to")]
    pub follow: bool,
    #[command(flatten)]
    pub kube: KubeArgs,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

/// How often `--wait` reads the HelmRelease.
const POLL: Duration = Duration::from_millis(500);

/// Merge-patches HelmRelease `name`; returns the patched object.
async fn patch(cluster: &Cluster, name: &str, body: Json) -> Result<HelmRelease, CliError> {
    Api::<HelmRelease>::namespaced(cluster.client.clone(), &cluster.namespace)
        .patch(name, &PatchParams::default(), &Patch::Merge(body))
        .await
        .map_err(|e| {
            CliError::api(
                format!("patching HelmRelease {}/{name}", cluster.namespace),
                e,
            )
        })
}

/// Runs `rudder reconcile`.
pub fn reconcile(args: ReconcileArgs) -> ExitCode {
    block_on(async move {
        let cluster = args.kube.connect().await?;
        let api = Api::<HelmRelease>::namespaced(cluster.client.clone(), &cluster.namespace);
        let current = api
            .get(&args.name)
            .await
            .map_err(|e| CliError::api(format!("getting HelmRelease {}", args.name), e))?;
        if current.spec.suspend {
            return Err(CliError::Usage(format!(
                "HelmRelease {}/{} is suspended: `rudder resume {}` first",
                cluster.namespace, args.name, args.name
            )));
        }
        let stamp = jiff::Timestamp::now().to_string();
        let mut annotations = serde_json::Map::new();
        annotations.insert(REQUESTED_AT.into(), json!(stamp));
        if args.reset {
            annotations.insert(RESET_AT.into(), json!(stamp));
        }
        patch(
            &cluster,
            &args.name,
            json!({"metadata": {"annotations": annotations}}),
        )
        .await?;
        println!(
            "► reconciliation of HelmRelease {}/{} requested",
            cluster.namespace, args.name
        );
        if !args.wait {
            return Ok(ExitCode::SUCCESS);
        }
        wait_handled(&api, &args.name, &stamp, args.timeout).await
    })
}

/// Follows the status until the request `stamp` was handled: prints each
/// new phase, then the outcome.
async fn wait_handled(
    api: &Api<HelmRelease>,
    name: &str,
    stamp: &str,
    timeout: Duration,
) -> Result<ExitCode, CliError> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    loop {
        let obj = api
            .get(name)
            .await
            .map_err(|e| CliError::api(format!("getting HelmRelease {name}"), e))?;
        if let Some(phase) = condition(&obj, RECONCILING)
            .filter(|c| c.status == ConditionStatus::True)
            .map(|c| c.message.clone())
            && phase != last
        {
            println!("◎ {phase}");
            last = phase;
        }
        if let Some((ready, message)) = handled(&obj, stamp) {
            return Ok(if ready {
                println!("✔ {message}");
                ExitCode::SUCCESS
            } else {
                println!("✗ {message}");
                ExitCode::from(1)
            });
        }
        if Instant::now() >= deadline {
            return Err(CliError::Usage(format!(
                "timed out after {timeout:?} waiting for HelmRelease {name} to handle the request"
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The HelmRelease's condition `type_`.
fn condition<'a>(obj: &'a HelmRelease, type_: &str) -> Option<&'a crate::api::Condition> {
    obj.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
}

/// Once the request `stamp` was handled at the current generation and no
/// action runs: whether the release is Ready, and the Ready message.
fn handled(obj: &HelmRelease, stamp: &str) -> Option<(bool, String)> {
    let st = obj.status.as_ref()?;
    if st.last_handled_requested_at.as_deref() != Some(stamp)
        || st.observed_generation != obj.metadata.generation
    {
        return None;
    }
    if condition(obj, RECONCILING).is_some_and(|c| c.status == ConditionStatus::True) {
        return None;
    }
    let ready = condition(obj, READY)?;
    Some((ready.status == ConditionStatus::True, ready.message.clone()))
}

/// Runs `rudder suspend` (`suspend = true`) or `rudder resume`.
pub fn set_suspend(args: SuspendArgs, suspend: bool) -> ExitCode {
    block_on(async move {
        let cluster = args.kube.connect().await?;
        let obj = patch(&cluster, &args.name, json!({"spec": {"suspend": suspend}})).await?;
        let verb = if suspend { "suspended" } else { "resumed" };
        println!(
            "✔ HelmRelease {}/{} {verb}",
            cluster.namespace,
            obj.name_any()
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs `rudder rollback`.
pub fn rollback(args: RollbackArgs) -> ExitCode {
    block_on(async move {
        let cluster = args.kube.connect().await?;
        let revision = if args.follow {
            Json::Null
        } else {
            json!(args.to)
        };
        patch(
            &cluster,
            &args.name,
            json!({"spec": {"revision": revision}}),
        )
        .await?;
        match args.to {
            Some(n) if !args.follow => println!(
                "✔ HelmRelease {}/{} pinned to revision {n} (spec.revision)",
                cluster.namespace, args.name
            ),
            _ => println!(
                "✔ HelmRelease {}/{} follows its spec again",
                cluster.namespace, args.name
            ),
        }
        Ok(ExitCode::SUCCESS)
    })
}
