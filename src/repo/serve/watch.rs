//! Watching the repository folder: a `notify` watcher (inotify on Linux)
//! reports changes to archives (and anything else but `index.yaml`, hidden
//! files and plain reads); after a quiet period (the debounce) — or at
//! most a few debounce periods into a stream of changes — the catalog is
//! regenerated once for the whole burst.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::catalog::Catalog;

/// How many debounce periods a continuous stream of changes may delay a
/// regeneration.
const MAX_DELAY_PERIODS: u32 = 4;

/// Starts watching `dir` (and its subfolders); the receiver gets one
/// message per relevant change. Dropping the watcher stops it.
pub fn start(dir: &Path) -> notify::Result<(RecommendedWatcher, UnboundedReceiver<()>)> {
    let (tx, rx) = unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
        match event {
            Ok(event) if relevant(&event) => {
                let _ = tx.send(());
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "watching the repository folder");
                // A lost event must not leave the index stale: rescan.
                let _ = tx.send(());
            }
        }
    })?;
    watcher.watch(dir, RecursiveMode::Recursive)?;
    Ok((watcher, rx))
}

/// Whether an event may change the index: not a read, not the index file
/// or a hidden (temporary) file.
fn relevant(event: &Event) -> bool {
    let kind_matters = match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    };
    kind_matters
        && event.paths.iter().any(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n != "index.yaml" && !n.starts_with('.'))
        })
}

/// Regenerates `catalog` after each burst of changes until `shutdown`.
pub async fn regenerate_on_changes(
    catalog: Arc<Catalog>,
    mut changes: UnboundedReceiver<()>,
    debounce: Duration,
    shutdown: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            () = shutdown.cancelled() => return,
            change = changes.recv() => change,
        };
        if first.is_none() {
            return;
        }
        let latest = Instant::now() + debounce * MAX_DELAY_PERIODS;
        loop {
            let quiet_until = (Instant::now() + debounce).min(latest);
            match tokio::time::timeout_at(quiet_until, changes.recv()).await {
                Ok(Some(())) if Instant::now() < latest => continue,
                Ok(None) => return,
                _ => break,
            }
        }
        super::regenerate_and_log(&catalog).await;
    }
}
