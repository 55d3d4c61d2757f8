//! Charts from Git repositories, with gitoxide (`gix`): one isolated bare
//! repository per GitRepository under the operator's cache directory (no
//! user or system Git configuration, no credential helpers, no hooks, no
//! submodules, no work tree). [`GitMirror::list`] asks the remote only for
//! its refs; [`GitMirror::fetch`] fetches one commit (depth 1) and is called
//! only when the resolved commit is not held yet; [`tree`] reads a chart
//! directory from a commit into an in-memory archive.
//!
//! - [`refs`]: ref → commit among the remote's refs (branch, tag, semver, HEAD).
//! - [`remote`]: the gix connection (credentials, HTTP client, interrupt).
//! - [`tree`]: a commit's chart directory → `.tgz`, with the chart size caps.
//!
//! Every call here blocks; callers run it on a blocking thread.

pub mod refs;
pub mod remote;
pub mod tree;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use gix::ObjectId;

pub use refs::{RefError, RefWant, RemoteRef, Resolved};
pub use tree::{Limits, TreeError};

/// HTTP credentials for a Git remote.
#[derive(Clone, PartialEq, Eq)]
pub enum GitAuth {
    Basic { username: String, password: String },
    Bearer(String),
}

impl std::fmt::Debug for GitAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitAuth::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            GitAuth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// Where and how to reach a remote.
#[derive(Debug, Clone, PartialEq)]
pub struct GitRemote {
    /// `https://`, `http://` or `git://` URL.
    pub url: String,
    pub auth: Option<GitAuth>,
    /// Timeout of one HTTP request.
    pub timeout: Duration,
}

/// Why a Git operation failed. Every variant names the URL or path.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GitError {
    #[error("invalid Git URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("{url}: invalid ref: {reason}")]
    InvalidRef { url: String, reason: String },
    #[error("{url}: unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url}: authentication failed ({reason})")]
    Unauthorized { url: String, reason: String },
    #[error("{url}: {source}")]
    Ref {
        url: String,
        #[source]
        source: RefError,
    },
    #[error("{url}: fetching {what} failed: {reason}")]
    Fetch {
        url: String,
        what: String,
        reason: String,
    },
    #[error("{url}: timed out after {after:?}")]
    Timeout { url: String, after: Duration },
    #[error("local repository {path}: {reason}")]
    Local { path: String, reason: String },
    #[error("chart at {path:?} of commit {commit}: {source}")]
    Tree {
        path: String,
        commit: String,
        #[source]
        source: TreeError,
    },
}

/// One isolated bare repository holding the commits fetched for one
/// GitRepository.
#[derive(Debug, Clone)]
pub struct GitMirror {
    dir: PathBuf,
}

impl GitMirror {
    /// The mirror in `dir` (created on first use).
    pub fn new(dir: PathBuf) -> GitMirror {
        GitMirror { dir }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn local(&self, e: impl std::fmt::Display) -> GitError {
        GitError::Local {
            path: self.dir.display().to_string(),
            reason: e.to_string(),
        }
    }

    /// Opens the repository, creating it when missing; never reads Git
    /// configuration outside it nor the environment.
    pub fn open(&self) -> Result<gix::Repository, GitError> {
        let opts = gix::open::Options::isolated();
        if self.dir.join("HEAD").exists() {
            return gix::open_opts(&self.dir, opts).map_err(|e| self.local(e));
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| self.local(e))?;
        gix::ThreadSafeRepository::init_opts(
            &self.dir,
            gix::create::Kind::Bare,
            gix::create::Options::default(),
            opts,
        )
        .map(|r| r.to_thread_local())
        .map_err(|e| self.local(e))
    }

    /// Whether `commit` (40 hex digits) is held.
    pub fn has_commit(&self, commit: &str) -> bool {
        let Ok(id) = ObjectId::from_hex(commit.as_bytes()) else {
            return false;
        };
        self.open().is_ok_and(|r| r.has_object(id))
    }

    /// The remote's refs that `want` may name (no objects are fetched).
    pub fn list(
        &self,
        remote: &GitRemote,
        want: &RefWant,
        stop: &Arc<AtomicBool>,
    ) -> Result<Vec<RemoteRef>, GitError> {
        if matches!(want, RefWant::Commit(_)) {
            return Ok(Vec::new());
        }
        let repo = self.open()?;
        remote::list(&repo, remote, want, stop)
    }

    /// Fetches the commit `resolved` names (depth 1) unless it is held.
    pub fn fetch(
        &self,
        remote: &GitRemote,
        resolved: &Resolved,
        stop: &Arc<AtomicBool>,
    ) -> Result<(), GitError> {
        let repo = self.open()?;
        let id = parse_commit(&remote.url, &resolved.commit)?;
        if repo.has_object(id) {
            return Ok(());
        }
        remote::fetch(&repo, remote, resolved, stop)?;
        if repo.has_object(id) {
            return Ok(());
        }
        Err(GitError::Fetch {
            url: remote.url.clone(),
            what: resolved.revision(),
            reason: "the remote did not send the commit".into(),
        })
    }

    /// The chart directory `path` of `commit` as a `.tgz`.
    pub fn chart_archive(&self, commit: &str, path: &str) -> Result<Vec<u8>, GitError> {
        let repo = self.open()?;
        let id = ObjectId::from_hex(commit.as_bytes()).map_err(|e| self.local(e))?;
        tree::chart_archive(&repo, id, path, tree::LIMITS).map_err(|source| GitError::Tree {
            path: path.into(),
            commit: commit.into(),
            source,
        })
    }
}

fn parse_commit(url: &str, commit: &str) -> Result<ObjectId, GitError> {
    ObjectId::from_hex(commit.as_bytes()).map_err(|e| GitError::Fetch {
        url: url.into(),
        what: commit.into(),
        reason: format!("not a commit id: {e}"),
    })
}

/// The directory name of a mirror for `key` (`namespace/name`), safe as a
/// path component.
pub fn mirror_dir_name(key: &str) -> String {
    let safe: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.git")
}
