//! `rudder serve`: a chart repository served from a folder (Helm 2's
//! `helm serve`): argument parsing, logging in the operator's formats,
//! SIGTERM/SIGINT for a graceful stop, and [`crate::repo::serve`] doing
//! the work.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::run::{LogFormat, init_logging, wait_for_signal};
use crate::api::duration::{DurationError, parse_duration};
use crate::repo::fetch::ARCHIVE_LIMIT;
use crate::repo::serve::{ServeConfig, Server, auth, tls};

/// Arguments of `rudder serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The folder of chart archives to serve (its index.yaml is rewritten).
    #[arg(long)]
    pub repo_path: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8879")]
    pub address: SocketAddr,
    /// Base URL of the archives in index.yaml [default: relative URLs,
    /// which clients resolve against the repository URL they use].
    #[arg(long, default_value = "")]
    pub url: String,
    /// Require HTTP basic auth with the credentials in this folder's
    /// `username` and `password` files (a HelmRepository secretRef Secret,
    /// mounted).
    #[arg(long)]
    pub basic_auth_dir: Option<PathBuf>,
    /// Serve HTTPS with this folder's `tls.crt` and `tls.key`; with a
    /// `ca.crt` there, clients must present a certificate it signed (a
    /// HelmRepository certSecretRef Secret, mounted).
    #[arg(long)]
    pub tls_dir: Option<PathBuf>,
    /// Quiet period after a change in the folder before the index is
    /// regenerated (Go duration).
    #[arg(long, default_value = "200ms", value_parser = parse_duration_arg)]
    pub debounce: Duration,
    /// How long open connections get to finish on SIGTERM/SIGINT (Go duration).
    #[arg(long, default_value = "10s", value_parser = parse_duration_arg)]
    pub shutdown_timeout: Duration,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log filter (tracing EnvFilter syntax); RUST_LOG, when set, takes precedence.
    #[arg(long, default_value = "info")]
    pub log_level: String,
}

fn parse_duration_arg(s: &str) -> Result<Duration, DurationError> {
    parse_duration(s)
}

/// Runs `rudder serve` and maps the result to the exit code.
pub fn run(args: ServeArgs) -> ExitCode {
    if let Err(e) = init_logging(args.log_format, &args.log_level) {
        eprintln!("rudder serve: {e}");
        return ExitCode::FAILURE;
    }
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the async runtime: {e}"))
        .and_then(|rt| rt.block_on(serve(args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "rudder serve failed");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let config = config(&args)?;
    let server = Server::bind(config).await.map_err(|e| e.to_string())?;
    let addr = server
        .local_addr()
        .map_err(|e| format!("reading the bound address: {e}"))?;
    let url = format!("{}://{addr}", server.scheme());
    tracing::info!(url = %url, dir = %args.repo_path.display(), "serving the chart repository");
    // The first stdout line names the address (useful with port 0).
    let mut out = std::io::stdout();
    let _ = writeln!(out, "Now serving you on {url}");
    let _ = out.flush();
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    tokio::spawn(async move {
        let signal = wait_for_signal().await;
        tracing::info!(signal, "shutting down");
        token.cancel();
    });
    server.run(shutdown).await.map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

fn config(args: &ServeArgs) -> Result<ServeConfig, String> {
    let auth = args
        .basic_auth_dir
        .as_deref()
        .map(auth::load)
        .transpose()
        .map_err(|e| format!("--basic-auth-dir: {e}"))?;
    let tls = args
        .tls_dir
        .as_deref()
        .map(tls::load)
        .transpose()
        .map_err(|e| format!("--tls-dir: {e}"))?;
    Ok(ServeConfig {
        repo_path: args.repo_path.clone(),
        address: args.address,
        base_url: args.url.clone(),
        auth,
        tls,
        debounce: args.debounce,
        max_archive_bytes: ARCHIVE_LIMIT,
        shutdown_grace: args.shutdown_timeout,
    })
}
