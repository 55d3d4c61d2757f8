//! `rudder serve`: a chart repository served from a folder of archives, the
//! way Helm 2's `helm serve` did it, kept right while the folder changes.
//!
//! - [`catalog`]: the index (regenerated, written atomically, kept in
//!   memory with its validators) and the chart list of the pages.
//! - [`watch`]: the folder watcher and its debounce.
//! - [`http`]: connections, routes, conditional GET, request logs.
//! - [`files`]: request path → a file under the folder, or nothing.
//! - [`pages`]: the HTML listing and chart pages.
//! - [`docs`]: a chart's README and values.yaml from its archive.
//! - [`auth`], [`tls`]: optional basic auth and TLS, from folders laid out
//!   like the Secrets a HelmRepository reads.
//!
//! No cluster involved; the CLI (`src/cli/serve.rs`) sets up logging and
//! signals and calls [`Server::bind`] and [`Server::run`].

pub mod auth;
pub mod catalog;
pub mod docs;
pub mod files;
pub mod http;
pub mod pages;
pub mod tls;
pub mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::repo::fetch::BasicAuth;
use catalog::{Catalog, CatalogError};
use http::ServerState;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("repository folder {path}: {source}")]
    RepoPath {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("listening on {address}: {source}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Index(#[from] CatalogError),
    #[error("watching {path}: {source}")]
    Watch {
        path: String,
        #[source]
        source: notify::Error,
    },
}

/// How to serve.
pub struct ServeConfig {
    /// The folder of chart archives.
    pub repo_path: PathBuf,
    pub address: SocketAddr,
    /// Base URL written before the archives' file names in the index;
    /// empty writes relative URLs (clients resolve them against the
    /// repository URL they used).
    pub base_url: String,
    pub auth: Option<BasicAuth>,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Quiet period after a change before the index is regenerated.
    pub debounce: Duration,
    /// Archives larger than this are neither indexed nor served.
    pub max_archive_bytes: u64,
    /// How long open connections get to finish on shutdown.
    pub shutdown_grace: Duration,
}

/// A bound server with its first index generated.
pub struct Server {
    listener: TcpListener,
    state: Arc<ServerState>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    debounce: Duration,
    shutdown_grace: Duration,
}

impl Server {
    /// Checks the folder, binds the address (connections wait until
    /// [`Server::run`]) and generates the index, keeping the `created`
    /// times of an `index.yaml` already there.
    pub async fn bind(config: ServeConfig) -> Result<Server, ServeError> {
        let root = std::fs::canonicalize(&config.repo_path)
            .and_then(|p| {
                if p.is_dir() {
                    Ok(p)
                } else {
                    Err(std::io::Error::other("not a folder"))
                }
            })
            .map_err(|source| ServeError::RepoPath {
                path: config.repo_path.display().to_string(),
                source,
            })?;
        let catalog = Arc::new(Catalog::new(
            root.clone(),
            config.base_url.clone(),
            config.max_archive_bytes,
        ));
        let listener =
            TcpListener::bind(config.address)
                .await
                .map_err(|source| ServeError::Bind {
                    address: config.address,
                    source,
                })?;
        tracing::info!(dir = %root.display(), "regenerating index; this may take a moment");
        let first = catalog.regenerate().await?;
        log_regenerated(&first);
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let state = Arc::new(ServerState {
            catalog,
            root,
            auth: config.auth,
            base_url: config.base_url,
            scheme,
        });
        Ok(Server {
            listener,
            state,
            tls: config.tls.map(tokio_rustls::TlsAcceptor::from),
            debounce: config.debounce,
            shutdown_grace: config.shutdown_grace,
        })
    }

    /// The address actually bound (port 0 picks a free one).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        self.state.scheme
    }

    /// Serves and watches the folder until `shutdown` fires, then lets
    /// open connections finish.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), ServeError> {
        let root = self.state.root.clone();
        let (watcher, changes) = watch::start(&root).map_err(|source| ServeError::Watch {
            path: root.display().to_string(),
            source,
        })?;
        // The folder may have changed between the first scan and the watch.
        regenerate_and_log(&self.state.catalog).await;
        let regenerating = tokio::spawn(watch::regenerate_on_changes(
            self.state.catalog.clone(),
            changes,
            self.debounce,
            shutdown.clone(),
        ));
        http::serve(
            self.listener,
            self.tls,
            self.state,
            shutdown,
            self.shutdown_grace,
        )
        .await;
        drop(watcher);
        let _ = regenerating.await;
        Ok(())
    }
}

/// Regenerates the index and logs the outcome; a failure keeps the
/// previous index served.
pub(crate) async fn regenerate_and_log(catalog: &Arc<Catalog>) {
    match catalog.regenerate().await {
        Ok(outcome) => log_regenerated(&outcome),
        Err(e) => {
            tracing::error!(error = %e, "regenerating the index failed; the previous index stays served")
        }
    }
}

fn log_regenerated(outcome: &catalog::Regenerated) {
    for skipped in &outcome.skipped {
        if skipped.not_a_chart {
            tracing::debug!(file = %skipped.file, reason = %skipped.reason, "not a chart archive; left out of the index");
        } else {
            tracing::warn!(file = %skipped.file, reason = %skipped.reason, "archive left out of the index");
        }
    }
    if outcome.changed {
        tracing::info!(
            charts = outcome.charts,
            versions = outcome.versions,
            "index regenerated"
        );
    }
}
