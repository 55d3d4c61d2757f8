//! Optional HTTP basic auth for `rudder serve`, from a folder laid out like
//! the Secret a HelmRepository's `spec.secretRef` names (files `username`
//! and `password`, read verbatim — a mounted Secret works as is). Checking
//! compares digests of the credentials, so the time taken does not depend
//! on how much of a guess was right.

use std::path::Path;

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::repo::fetch::BasicAuth;

/// Why the credentials folder could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not UTF-8")]
    NotText { path: String },
    #[error("{path} is empty")]
    Empty { path: String },
}

/// Reads `dir/username` and `dir/password`.
pub fn load(dir: &Path) -> Result<BasicAuth, AuthError> {
    Ok(BasicAuth {
        username: read_text(&dir.join("username"))?,
        password: read_text(&dir.join("password"))?,
    })
}

fn read_text(path: &Path) -> Result<String, AuthError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| AuthError::Read {
        path: shown.clone(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| AuthError::NotText {
        path: shown.clone(),
    })?;
    if text.is_empty() {
        return Err(AuthError::Empty { path: shown });
    }
    Ok(text)
}

/// Whether an `Authorization` header value carries exactly `expected`.
pub fn authorized(header: Option<&str>, expected: &BasicAuth) -> bool {
    let Some(given) = header.and_then(decode_basic) else {
        return false;
    };
    let want = format!("{}:{}", expected.username, expected.password);
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(want.as_bytes());
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// `Basic <base64 user:password>` → `user:password`.
fn decode_basic(header: &str) -> Option<String> {
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_the_exact_credentials() {
        let want = BasicAuth {
            username: "ann".into(),
            password: "s3cret".into(),
        };
        let header = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert!(authorized(Some(&header("ann:s3cret")), &want));
        assert!(!authorized(Some(&header("ann:s3cret ")), &want));
        assert!(!authorized(Some(&header("ann:wrong")), &want));
        assert!(!authorized(Some("Bearer x"), &want));
        assert!(!authorized(None, &want));
    }
}
