//! The gix side of talking to a remote: a connection with rudder's own
//! credentials callback (never Git's credential helpers) and, for HTTP(S),
//! a reqwest client with rustls (ring) and the request timeout; ref
//! listing (protocol v2 `ls-refs`, filtered by the wanted ref's prefix)
//! and a depth-1 fetch of one ref or commit. `stop` interrupts a fetch
//! whose caller gave up.

use std::num::NonZeroU32;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use gix::credentials::helper::{Action, NextAction};
use gix::credentials::protocol::Outcome;
use gix::protocol::transport::client::blocking_io::http;
use gix::remote::Direction;
use gix::remote::fetch::{Shallow, Tags};
use gix::sec::identity::Credentials;

use super::refs::{RefWant, RemoteRef, Resolved};
use super::{GitAuth, GitError, GitRemote};

/// What the credentials callback saw: whether the remote asked for
/// credentials, and whether it refused the ones given.
#[derive(Debug, Default)]
struct AuthSeen {
    asked: bool,
    rejected: bool,
}

/// Lists the refs `want` may name.
pub fn list(
    repo: &gix::Repository,
    remote: &GitRemote,
    want: &RefWant,
    stop: &Arc<AtomicBool>,
) -> Result<Vec<RemoteRef>, GitError> {
    let _ = stop;
    let specs = want.refspecs();
    let seen = Arc::new(Mutex::new(AuthSeen::default()));
    let r = remote_for(repo, remote, &specs)?;
    let conn = connect(&r, remote, &seen)?;
    let (map, _) = conn
        .ref_map(gix::progress::Discard, Default::default())
        .map_err(|e| classify(remote, &seen, &e))?;
    Ok(map
        .remote_refs
        .iter()
        .filter_map(|r| {
            let (name, target, peeled) = r.unpack();
            let commit = peeled.or(target)?;
            Some(RemoteRef {
                name: name.to_string(),
                commit: commit.to_string(),
            })
        })
        .collect())
}

/// Fetches the commit `resolved` names, depth 1.
pub fn fetch(
    repo: &gix::Repository,
    remote: &GitRemote,
    resolved: &Resolved,
    stop: &Arc<AtomicBool>,
) -> Result<(), GitError> {
    // The destination keeps the commit referenced in the mirror.
    let spec = format!("+{}:refs/rudder/fetched", resolved.refname);
    let seen = Arc::new(Mutex::new(AuthSeen::default()));
    let r = remote_for(repo, remote, &[spec])?;
    let conn = connect(&r, remote, &seen)?;
    let fetch_error = |e: &dyn std::fmt::Display| GitError::Fetch {
        url: remote.url.clone(),
        what: resolved.revision(),
        reason: e.to_string(),
    };
    let depth = NonZeroU32::MIN;
    let prepared = conn
        .prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(|e| classify(remote, &seen, &e))?
        .with_shallow(Shallow::DepthAtRemote(depth));
    prepared
        .receive(gix::progress::Discard, stop)
        .map_err(|e| fetch_error(&chain(&e)))?;
    Ok(())
}

/// An anonymous remote at the URL with `specs` and no tag following.
fn remote_for<'r>(
    repo: &'r gix::Repository,
    remote: &GitRemote,
    specs: &[String],
) -> Result<gix::Remote<'r>, GitError> {
    let invalid = |e: &dyn std::fmt::Display| GitError::InvalidUrl {
        url: remote.url.clone(),
        reason: e.to_string(),
    };
    repo.remote_at_without_url_rewrite(remote.url.as_str())
        .map_err(|e| invalid(&e))?
        .with_fetch_tags(Tags::None)
        .with_refspecs(specs.iter().map(String::as_str), Direction::Fetch)
        .map_err(|e| GitError::InvalidRef {
            url: remote.url.clone(),
            reason: format!("refspecs {specs:?}: {e}"),
        })
}

type Conn<'a, 'r> = gix::remote::Connection<
    'a,
    'static,
    'r,
    Box<dyn gix::protocol::transport::client::blocking_io::Transport + Send>,
>;

/// A connection using rudder's credentials and HTTP client.
fn connect<'a, 'r>(
    r: &'a gix::Remote<'r>,
    remote: &GitRemote,
    seen: &Arc<Mutex<AuthSeen>>,
) -> Result<Conn<'a, 'r>, GitError> {
    let conn = r
        .connect(Direction::Fetch)
        .map_err(|e| GitError::Unreachable {
            url: remote.url.clone(),
            reason: chain(&e),
        })?;
    let auth = remote.auth.clone();
    let seen = seen.clone();
    let conn: Conn<'a, 'r> =
        conn.with_credentials(move |action| Ok(credentials(&auth, &seen, action)));
    if remote.url.starts_with("http://") || remote.url.starts_with("https://") {
        return Ok(conn.with_transport_options(Box::new(http_options(remote)?)));
    }
    Ok(conn)
}

/// The answer to a credentials request: the Secret's credentials, once.
fn credentials(auth: &Option<GitAuth>, seen: &Mutex<AuthSeen>, action: Action) -> Option<Outcome> {
    let mut seen = seen.lock().ok()?;
    match action {
        Action::Get(ctx) => {
            seen.asked = true;
            let credentials = match auth.as_ref()? {
                GitAuth::Basic { username, password } => Credentials::UsernamePassword {
                    username: username.clone(),
                    password: password.clone(),
                    oauth_refresh_token: None,
                },
                GitAuth::Bearer(token) => Credentials::Encoded {
                    authtype: "Bearer".into(),
                    credential: token.clone(),
                    oauth_refresh_token: None,
                },
            };
            Some(Outcome {
                credentials,
                next: NextAction::from(ctx),
            })
        }
        Action::Erase(_) => {
            seen.rejected = true;
            None
        }
        Action::Store(_) => None,
    }
}

/// HTTP transport options: rustls with ring and the system roots, the
/// request timeout, no proxy or config-derived settings.
fn http_options(remote: &GitRemote) -> Result<http::Options, GitError> {
    let tls =
        crate::repo::fetch::client_tls(&Default::default()).map_err(|e| GitError::InvalidUrl {
            url: remote.url.clone(),
            reason: e.to_string(),
        })?;
    let timeout = remote.timeout;
    let backend = http::reqwest::Options {
        configure_client: Some(Box::new(move |builder| {
            Ok(builder.use_preconfigured_tls(tls.clone()).timeout(timeout))
        })),
        configure_request: None,
    };
    Ok(http::Options {
        connect_timeout: Some(timeout),
        backend: Some(Arc::new(Mutex::new(backend))),
        ..Default::default()
    })
}

/// Sorts a failed handshake or listing into unauthorized / unreachable.
fn classify(remote: &GitRemote, seen: &Mutex<AuthSeen>, e: &gix::Error) -> GitError {
    let reason = chain(e);
    let (asked, rejected) = seen
        .lock()
        .map(|s| (s.asked, s.rejected))
        .unwrap_or_default();
    if rejected || (asked && remote.auth.is_none()) {
        let why = if rejected {
            "the credentials of secretRef were refused"
        } else {
            "the remote asks for credentials and no secretRef is set"
        };
        return GitError::Unauthorized {
            url: remote.url.clone(),
            reason: why.into(),
        };
    }
    GitError::Unreachable {
        url: remote.url.clone(),
        reason,
    }
}

/// An error and its sources, `: `-joined.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}
