//! `rudder run`: logging set-up, the Kubernetes client (kubeconfig or
//! in-cluster), signal handling (SIGTERM/SIGINT start a clean shutdown), and
//! the controller process itself ([`crate::controller::run`]).

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use crate::api::duration::{DurationError, parse_duration};
use crate::controller::{self, Options, leader};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Arguments of `rudder run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Address for /healthz, /readyz and /metrics.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log filter (tracing EnvFilter syntax, e.g. `info` or `rudder=debug`);
    /// RUST_LOG, when set, takes precedence.
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Namespace of the leader-election Lease [default: $POD_NAMESPACE, else
    /// the kubeconfig's or service account's namespace].
    #[arg(long)]
    pub leader_election_namespace: Option<String>,
    /// Name of the leader-election Lease [default: rudder-leader; with
    /// --shard K, rudder-leader-K; with another --watch-label-selector,
    /// rudder-leader-<hash of the selector>, so each shard elects its own
    /// leader].
    #[arg(long)]
    pub lease_name: Option<String>,
    /// Identity written into the Lease [default: <hostname>_<pid>].
    #[arg(long)]
    pub identity: Option<String>,
    /// How long the Lease is valid after a renewal (Go duration).
    #[arg(long, default_value = "15s", value_parser = parse_duration_arg)]
    pub lease_duration: Duration,
    /// How long the leader retries renewing before it stops acting (Go duration).
    #[arg(long, default_value = "10s", value_parser = parse_duration_arg)]
    pub renew_deadline: Duration,
    /// Pause between leader-election attempts (Go duration).
    #[arg(long, default_value = "2s", value_parser = parse_duration_arg)]
    pub retry_period: Duration,
    /// Watch only this namespace [default: all namespaces].
    #[arg(long)]
    pub watch_namespace: Option<String>,
    /// Reconcile only HelmReleases and HelmRepositories whose labels match
    /// this selector (e.g. `shard=a`), to split one cluster among several
    /// rudder Deployments [default: all].
    #[arg(long, conflicts_with = "shard")]
    pub watch_label_selector: Option<String>,
    /// Reconcile only the HelmReleases and HelmRepositories labelled
    /// `sharding.rudder.dev/key=<KEY>` (shorthand for that
    /// --watch-label-selector); the replica for unlabelled ones runs with
    /// --watch-label-selector '!sharding.rudder.dev/key'.
    #[arg(long)]
    pub shard: Option<String>,
    /// Let HelmReleases without spec.serviceAccountName install into, and
    /// keep records in, namespaces other than their own (rudder's own
    /// identity then acts there). Off: such releases are refused.
    #[arg(long)]
    pub allow_cross_namespace_targets: bool,
    /// Let a HelmRelease reference only its own namespace's
    /// HelmRepositories and dependsOn HelmReleases; references to other
    /// namespaces are refused (CrossNamespaceRefRefused).
    #[arg(long)]
    pub no_cross_namespace_refs: bool,
    /// Service account (of the HelmRelease's own namespace) that releases
    /// without spec.serviceAccountName act as; rudder's own identity then
    /// writes only their status and events.
    #[arg(long, value_name = "NAME")]
    pub default_service_account: Option<String>,
    /// HelmRelease reconciliations working at once (fetching, rendering,
    /// applying, writing records); one waiting for readiness gives its slot
    /// back. More queue and are taken in turn.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// Threads running the controllers' asynchronous work (API requests,
    /// watches, decoding). Rendering has threads of its own, so one is
    /// enough for the API traffic of thousands of releases.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub worker_threads: u16,
    /// Drift corrections of one object within a minute after which another
    /// controller is taken to be changing it back: the object is reported
    /// (Drifted, reason DriftFight) and left alone until the minute moves on.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub drift_fight_limit: u16,
    /// How long running reconciliations may take to finish on shutdown (Go
    /// duration); the lease is not renewed meanwhile, so keep it below
    /// --lease-duration, and below the pod's termination grace period.
    #[arg(long, default_value = "10s", value_parser = parse_duration_arg)]
    pub shutdown_timeout: Duration,
    /// Directory where verified chart archives are cached (by digest).
    #[arg(long, default_value = "/tmp/rudder-cache")]
    pub cache_dir: std::path::PathBuf,
    /// Bytes of chart archives kept in memory (LRU).
    #[arg(long, default_value_t = crate::repo::cache::DEFAULT_MEMORY_LIMIT)]
    pub cache_memory: u64,
}

fn parse_duration_arg(s: &str) -> Result<Duration, DurationError> {
    parse_duration(s)
}

/// Why `rudder run` could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The log filter is invalid.
    #[error("invalid log filter: {0}")]
    LogFilter(String),
    /// Renew deadline must be shorter than the lease, else two leaders may overlap.
    #[error("--renew-deadline ({renew:?}) must be shorter than --lease-duration ({lease:?})")]
    Timing {
        /// Renew deadline.
        renew: Duration,
        /// Lease duration.
        lease: Duration,
    },
    /// The tokio runtime could not start.
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
    /// No usable kubeconfig or in-cluster configuration.
    #[error("connecting to Kubernetes: {0}")]
    Client(#[from] kube::Error),
    /// No kubeconfig or in-cluster configuration was found.
    #[error("loading the Kubernetes configuration: {0}")]
    Config(String),
    /// The controller failed.
    #[error(transparent)]
    Controller(#[from] controller::ControllerError),
}

/// Runs `rudder run` and maps the result to the exit code.
pub fn run(args: RunArgs) -> ExitCode {
    match run_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if tracing::dispatcher::has_been_set() {
                tracing::error!(error = %e, "rudder run failed");
            } else {
                eprintln!("rudder run: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run_inner(args: RunArgs) -> Result<(), RunError> {
    init_logging(args.log_format, &args.log_level)?;
    if args.renew_deadline >= args.lease_duration {
        return Err(RunError::Timing {
            renew: args.renew_deadline,
            lease: args.lease_duration,
        });
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(args.worker_threads))
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    runtime.block_on(async_main(args))
}

async fn async_main(args: RunArgs) -> Result<(), RunError> {
    let config = kube::Config::infer()
        .await
        .map_err(|e| RunError::Config(e.to_string()))?;
    let client = crate::controller::transport::client(config.clone())?;
    let namespace = args
        .leader_election_namespace
        .clone()
        .or_else(|| {
            std::env::var("POD_NAMESPACE")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| client.default_namespace().to_string());
    let selector = match &args.shard {
        Some(key) => Some(format!("{}={key}", controller::SHARD_KEY_LABEL)),
        None => args.watch_label_selector.clone(),
    };
    let lease_name = args.lease_name.clone().unwrap_or_else(|| {
        controller::default_lease_name(args.shard.as_deref(), selector.as_deref())
    });
    let options = Options {
        metrics_addr: args.metrics_addr,
        lease: leader::LeaseConfig {
            namespace,
            name: lease_name,
            identity: args.identity.unwrap_or_else(leader::default_identity),
            lease_duration: args.lease_duration,
            renew_deadline: args.renew_deadline,
            retry_period: args.retry_period,
        },
        watch_namespace: args.watch_namespace,
        watch_label_selector: selector,
        allow_cross_namespace_targets: args.allow_cross_namespace_targets,
        lockdown: controller::lockdown::Lockdown {
            no_cross_namespace_refs: args.no_cross_namespace_refs,
            default_service_account: args.default_service_account.filter(|s| !s.is_empty()),
        },
        concurrency: args.concurrency,
        drift_fight_limit: usize::from(args.drift_fight_limit),
        shutdown_timeout: args.shutdown_timeout,
        cache_dir: Some(args.cache_dir),
        cache_memory: args.cache_memory,
        kube_config: Some(config),
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    controller::run(client, options, shutdown).await?;
    Ok(())
}

/// Cancels `token` on the first SIGTERM or SIGINT.
async fn cancel_on_signal(token: CancellationToken) {
    let name = wait_for_signal().await;
    tracing::info!(signal = name, "shutting down");
    token.cancel();
}

#[cfg(unix)]
pub(crate) async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot install signal handlers; only Ctrl-C stops rudder");
        let _ = tokio::signal::ctrl_c().await;
        return "SIGINT";
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

#[cfg(not(unix))]
pub(crate) async fn wait_for_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}

pub(crate) fn init_logging(format: LogFormat, level: &str) -> Result<(), RunError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(env) if !env.is_empty() => EnvFilter::try_new(env),
        _ => EnvFilter::try_new(level),
    }
    .map_err(|e| RunError::LogFilter(e.to_string()))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|e| RunError::LogFilter(e.to_string()))
}
