//! Charts from GitRepositories: the remote (URL, timeout, credentials
//! from the `secretRef` Secret), one [`GitMirror`] per GitRepository
//! under the cache directory, and the two operations on it, each on a
//! blocking thread under the GitRepository's timeout and serialised per
//! repository: [`GitSources::sync`] (list refs, resolve, fetch only when
//! the commit is new) for the GitRepository reconciler, and
//! [`GitSources::chart`] (the chart at a path of the commit the
//! GitRepository reported, as an archive, kept per commit and path) for
//! releases.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::SourceError;
use super::auth::secret_data;
use crate::api::GitRepository;
use crate::api::duration::parse_duration;
use crate::api::gitrepository::GitReference;
use crate::repo::git::{GitAuth, GitError, GitMirror, GitRemote, RefWant, Resolved, refs};

/// Archives kept per (repository, commit, path) before the map is reset.
const MAX_CHARTS: usize = 64;

/// (`namespace/name`, commit, path) → chart archive.
type ChartArchives = HashMap<(String, String, String), Arc<[u8]>>;

/// What one sync found.
#[derive(Debug, Clone)]
pub struct Synced {
    pub resolved: Resolved,
    /// Whether objects were fetched (the commit was new to the mirror).
    pub fetched: bool,
}

/// The Git mirrors of the GitRepositories, and chart archives read from them.
pub struct GitSources {
    root: PathBuf,
    /// `namespace/name` → its lock (one operation per mirror at a time).
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// (`namespace/name`, commit, path) → archive.
    charts: Mutex<ChartArchives>,
}

impl GitSources {
    /// Mirrors under `root`.
    pub fn new(root: PathBuf) -> GitSources {
        GitSources {
            root,
            locks: Mutex::new(HashMap::new()),
            charts: Mutex::new(HashMap::new()),
        }
    }

    fn mirror(&self, key: &str) -> GitMirror {
        GitMirror::new(self.root.join(crate::repo::git::mirror_dir_name(key)))
    }

    fn lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let Ok(mut locks) = self.locks.lock() else {
            return Arc::default();
        };
        locks.entry(key.into()).or_default().clone()
    }

    /// Lists the remote's refs, resolves the wanted one and fetches its
    /// commit when the mirror does not hold it.
    pub async fn sync(
        &self,
        key: &str,
        remote: GitRemote,
        want: RefWant,
    ) -> Result<Synced, SourceError> {
        let lock = self.lock(key);
        let _held = lock.lock().await;
        let mirror = self.mirror(key);
        let timeout = remote.timeout;
        let url = remote.url.clone();
        let job = move |stop: Arc<AtomicBool>| -> Result<Synced, GitError> {
            let listed = mirror.list(&remote, &want, &stop)?;
            let resolved = refs::resolve(&listed, &want).map_err(|source| GitError::Ref {
                url: remote.url.clone(),
                source,
            })?;
            let fetched = !mirror.has_commit(&resolved.commit);
            if fetched {
                mirror.fetch(&remote, &resolved, &stop)?;
            }
            Ok(Synced { resolved, fetched })
        };
        blocking(&url, timeout, job)
            .await
            .map_err(|e| git_error(key, e))
    }

    /// The `.tgz` of the chart directory `path` of `commit`, which the
    /// mirror of `key` holds (a missing commit is fetched through
    /// `remote` first, e.g. after a restart with an empty cache).
    pub async fn chart(
        &self,
        key: &str,
        remote: GitRemote,
        want: RefWant,
        commit: &str,
        path: &str,
    ) -> Result<Arc<[u8]>, SourceError> {
        let id = (key.to_string(), commit.to_string(), path.to_string());
        if let Some(a) = self.charts.lock().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(a);
        }
        let mirror = self.mirror(key);
        if !mirror.has_commit(commit) {
            let synced = self.sync(key, remote.clone(), want).await?;
            if synced.resolved.commit != commit && !mirror.has_commit(commit) {
                return Err(SourceError::GitNotReady {
                    repository: key.into(),
                    reason: format!(
                        "its ref moved to {} and {commit} is not fetched; waiting for the GitRepository to report the new revision",
                        synced.resolved.revision()
                    ),
                });
            }
        }
        let (c, p) = (commit.to_string(), path.to_string());
        let job = move |_: Arc<AtomicBool>| mirror.chart_archive(&c, &p);
        let bytes: Arc<[u8]> = blocking(&remote.url, remote.timeout, job)
            .await
            .map_err(|e| git_error(key, e))?
            .into();
        if let Ok(mut m) = self.charts.lock() {
            if m.len() >= MAX_CHARTS {
                m.clear();
            }
            m.insert(id, bytes.clone());
        }
        Ok(bytes)
    }

    /// Forgets a deleted GitRepository: its mirror and archives.
    pub fn forget(&self, key: &str) {
        if let Ok(mut m) = self.charts.lock() {
            m.retain(|(k, _, _), _| k != key);
        }
        if let Ok(mut locks) = self.locks.lock() {
            locks.remove(key);
        }
        let dir = self.mirror(key).dir().to_path_buf();
        if dir.exists()
            && let Err(e) = std::fs::remove_dir_all(&dir)
        {
            tracing::warn!(repository = %key, error = %e, "removing the Git mirror failed");
        }
    }
}

/// Runs `job` on a blocking thread, giving up after `timeout` (the job is
/// told to stop).
async fn blocking<T: Send + 'static>(
    url: &str,
    timeout: Duration,
    job: impl FnOnce(Arc<AtomicBool>) -> Result<T, GitError> + Send + 'static,
) -> Result<T, GitError> {
    let stop = Arc::new(AtomicBool::new(false));
    let handle = tokio::task::spawn_blocking({
        let stop = stop.clone();
        move || job(stop)
    });
    match tokio::time::timeout(timeout, handle).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(GitError::Local {
            path: url.into(),
            reason: format!("Git task failed: {e}"),
        }),
        Err(_) => {
            stop.store(true, Ordering::Relaxed);
            Err(GitError::Timeout {
                url: url.into(),
                after: timeout,
            })
        }
    }
}

fn git_error(key: &str, e: GitError) -> SourceError {
    SourceError::Git {
        repository: key.into(),
        source: Box::new(e),
    }
}

/// The ref a GitRepository follows.
pub fn ref_want(r: Option<&GitReference>) -> RefWant {
    let Some(r) = r else { return RefWant::Head };
    if let Some(b) = &r.branch {
        RefWant::Branch(b.clone())
    } else if let Some(t) = &r.tag {
        RefWant::Tag(t.clone())
    } else if let Some(s) = &r.semver {
        RefWant::Semver(s.clone())
    } else if let Some(c) = &r.commit {
        RefWant::Commit(c.clone())
    } else {
        RefWant::Head
    }
}

/// The remote of a GitRepository: URL, timeout and the credentials of its
/// `secretRef` (`username`/`password`, or `bearerToken`).
pub async fn git_remote(
    client: &kube::Client,
    obj: &GitRepository,
) -> Result<GitRemote, SourceError> {
    let ns = obj.metadata.namespace.clone().unwrap_or_default();
    let key = format!("{ns}/{}", obj.metadata.name.as_deref().unwrap_or_default());
    let timeout = parse_duration(&obj.spec.timeout)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| SourceError::InvalidTimeout {
            repository: key.clone(),
            timeout: obj.spec.timeout.clone(),
            reason: "not a positive Go duration".into(),
        })?;
    let auth = match &obj.spec.secret_ref {
        Some(r) => Some(read_auth(client, &ns, &r.name, &key).await?),
        None => None,
    };
    Ok(GitRemote {
        url: obj.spec.url.clone(),
        auth,
        timeout,
    })
}

async fn read_auth(
    client: &kube::Client,
    ns: &str,
    name: &str,
    key: &str,
) -> Result<GitAuth, SourceError> {
    let credentials = |reason: String| SourceError::GitCredentials {
        repository: key.into(),
        reason,
    };
    let data = match secret_data(client, ns, name, key).await {
        Ok(d) => d,
        Err(SourceError::SecretNotFound { .. }) => {
            return Err(credentials(format!("Secret {ns}/{name} not found")));
        }
        Err(e) => return Err(e),
    };
    let text = |k: &str| {
        data.get(k).map(|v| {
            String::from_utf8_lossy(v)
                .trim_end_matches('\n')
                .to_string()
        })
    };
    if let Some(token) = text("bearerToken") {
        return Ok(GitAuth::Bearer(token));
    }
    match (text("username"), text("password")) {
        (Some(username), Some(password)) => Ok(GitAuth::Basic { username, password }),
        _ => Err(credentials(format!(
            "Secret {ns}/{name} has neither username and password nor bearerToken"
        ))),
    }
}

/// The commit of a revision `<ref>@sha1:<commit>` or `sha1:<commit>`.
pub fn revision_commit(revision: &str) -> Option<&str> {
    let commit = revision.rsplit_once("sha1:")?.1;
    (commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit())).then_some(commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_of_revisions() {
        let c = "a".repeat(40);
        assert_eq!(revision_commit(&format!("main@sha1:{c}")), Some(c.as_str()));
        assert_eq!(revision_commit(&format!("sha1:{c}")), Some(c.as_str()));
        assert_eq!(revision_commit("main@sha1:abc"), None);
    }

    #[test]
    fn refs_default_to_head() {
        assert_eq!(ref_want(None), RefWant::Head);
        let tag = GitReference {
            tag: Some("v1".into()),
            ..Default::default()
        };
        assert_eq!(ref_want(Some(&tag)), RefWant::Tag("v1".into()));
    }
}
