//! Live `lookup` for the operator's renders: the [`Lookup`] a release's
//! render reads the cluster through. It reads with the authority of the
//! [`Applier`] acting for the HelmRelease (its `serviceAccountName` when
//! set), so a chart sees only what that identity may read, and a refused
//! read fails the render with the API server's message naming the object.
//! One is made per render and remembers its answers: the same four
//! arguments get the same answer within that render.
//!
//! Renders run on render threads, outside the async runtime; each read is
//! driven there on the runtime through its handle, bounded in time.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value as Json;
use tokio::runtime::Handle;

use crate::apply::{Applier, LookupReadError, LookupTarget};
use crate::render::lookup::{Lookup, LookupError};

/// How long one read may take before the render fails.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a live lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum LiveLookupError {
    /// The read failed (the API server's or Helm's wording).
    #[error(transparent)]
    Read(#[from] LookupReadError),
    /// The read did not finish in time.
    #[error("timed out after {after:?} reading {object}")]
    Timeout { object: String, after: Duration },
    /// Called on a thread of the async runtime, where blocking on a read
    /// is not allowed (renders belong on render threads).
    #[error("cannot read {0} from an async runtime thread")]
    OnRuntimeThread(String),
}

/// The cluster as one render's `lookup` sees it.
pub struct LiveLookup {
    ap: Applier,
    runtime: Handle,
    /// Answers already read in this render.
    answers: Mutex<HashMap<LookupTarget, Option<Json>>>,
}

impl LiveLookup {
    /// Reads with `ap`'s authority, driving each read on `runtime`.
    pub fn new(ap: Applier, runtime: Handle) -> LiveLookup {
        LiveLookup {
            ap,
            runtime,
            answers: Mutex::new(HashMap::new()),
        }
    }

    /// Reads `target` from the cluster, blocking this (non-runtime) thread.
    fn read(&self, target: &LookupTarget) -> Result<Option<Json>, LiveLookupError> {
        if Handle::try_current().is_ok() {
            return Err(LiveLookupError::OnRuntimeThread(target.display()));
        }
        // The timer is made inside the runtime's context, where it exists.
        let bounded = async { tokio::time::timeout(READ_TIMEOUT, self.ap.lookup(target)).await };
        match self.runtime.block_on(bounded) {
            Ok(read) => Ok(read?),
            Err(_) => Err(LiveLookupError::Timeout {
                object: target.display(),
                after: READ_TIMEOUT,
            }),
        }
    }

    fn remembered(&self, target: &LookupTarget) -> Option<Option<Json>> {
        let answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        answers.get(target).cloned()
    }

    fn remember(&self, target: LookupTarget, answer: Option<Json>) {
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        answers.insert(target, answer);
    }
}

impl Lookup for LiveLookup {
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Json>, LookupError> {
        let target = LookupTarget {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        };
        if let Some(answer) = self.remembered(&target) {
            return Ok(answer);
        }
        let answer = self.read(&target).map_err(|e| LookupError(e.to_string()))?;
        self.remember(target, answer.clone());
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Applier whose client points nowhere: no read may reach it.
    fn nowhere() -> Applier {
        let config = kube::Config::new("http://127.0.0.1:9".parse().expect("uri"));
        Applier::new(kube::Client::try_from(config).expect("client"))
    }

    #[tokio::test]
    async fn a_read_on_a_runtime_thread_fails_instead_of_panicking() {
        let live = LiveLookup::new(nowhere(), Handle::current());
        let err = live
            .lookup("v1", "Secret", "ns", "db")
            .expect_err("refused on the runtime");
        assert_eq!(
            err.0,
            "cannot read v1 Secret ns/db from an async runtime thread"
        );
    }

    #[tokio::test]
    async fn remembered_answers_are_not_read_again() {
        let live = LiveLookup::new(nowhere(), Handle::current());
        let target = LookupTarget {
            api_version: "v1".into(),
            kind: "Secret".into(),
            namespace: "ns".into(),
            name: "db".into(),
        };
        live.remember(target, Some(serde_json::json!({"kind": "Secret"})));
        let found = live.lookup("v1", "Secret", "ns", "db").expect("remembered");
        assert_eq!(found, Some(serde_json::json!({"kind": "Secret"})));
    }

    #[test]
    fn a_render_thread_reads_through_the_runtime() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let live = LiveLookup::new(
            runtime.block_on(async { nowhere() }),
            runtime.handle().clone(),
        );
        // Nothing listens there: discovery fails as Helm words it, no panic.
        let err = std::thread::spawn(move || live.lookup("v1", "Secret", "ns", "db"))
            .join()
            .expect("no panic")
            .expect_err("nothing listens");
        assert!(
            err.0
                .starts_with("unable to get apiresource from unstructured: /v1, Kind=Secret: "),
            "{}",
            err.0
        );
    }
}
