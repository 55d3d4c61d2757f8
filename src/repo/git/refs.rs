//! Choosing the commit a ref names among a remote's advertised refs:
//! a branch, a tag (annotated tags peeled to their commit), the highest
//! tag matching a semver constraint, or the remote's `HEAD`.

use crate::godata::semver::{Constraints, Version};

/// One ref the remote advertised, e.g. `refs/heads/main` → commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// Full name (`HEAD`, `refs/heads/main`, `refs/tags/v1.0.0`).
    pub name: String,
    /// The commit it names (peeled for annotated tags), 40 hex digits.
    pub commit: String,
}

/// Which ref to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefWant {
    /// The remote's `HEAD` (its default branch).
    Head,
    Branch(String),
    Tag(String),
    /// The highest tag whose version satisfies the constraint.
    Semver(String),
    /// A commit id: needs no listing.
    Commit(String),
}

impl RefWant {
    /// The ref's name for revisions (`main`, `v1.0.0`, `HEAD`); empty for
    /// a commit.
    pub fn label(&self) -> &str {
        match self {
            RefWant::Head => "HEAD",
            RefWant::Branch(b) => b,
            RefWant::Tag(t) | RefWant::Semver(t) => t,
            RefWant::Commit(_) => "",
        }
    }

    /// The refspecs to list with (the remote is asked only for refs under
    /// their prefixes).
    pub fn refspecs(&self) -> Vec<String> {
        match self {
            RefWant::Head => vec!["HEAD".into()],
            RefWant::Branch(b) => vec![format!("refs/heads/{b}")],
            RefWant::Tag(t) => vec![format!("refs/tags/{t}")],
            RefWant::Semver(_) => vec!["refs/tags/*:refs/tags/*".into()],
            RefWant::Commit(_) => Vec::new(),
        }
    }
}

/// A resolved ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The full ref name fetched (`refs/heads/main`, `HEAD`); for a commit
    /// ref, the commit id.
    pub refname: String,
    /// Short name for the revision (`main`, `v1.2.0`); empty for a commit.
    pub label: String,
    /// 40 hex digits.
    pub commit: String,
}

impl Resolved {
    /// `<ref>@sha1:<commit>`, or `sha1:<commit>` for a commit ref.
    pub fn revision(&self) -> String {
        if self.label.is_empty() {
            format!("sha1:{}", self.commit)
        } else {
            format!("{}@sha1:{}", self.label, self.commit)
        }
    }
}

/// Why a ref could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error("{what} not found on the remote")]
    NotFound { what: String },
    #[error("no tag matches semver constraint {constraint:?}")]
    NoSemverMatch { constraint: String },
    #[error("invalid semver constraint {constraint:?}: {reason}")]
    InvalidConstraint { constraint: String, reason: String },
}

/// Picks the commit `want` names among `refs`.
pub fn resolve(refs: &[RemoteRef], want: &RefWant) -> Result<Resolved, RefError> {
    let exact = |name: String, what: String, label: &str| {
        refs.iter()
            .find(|r| r.name == name)
            .map(|r| Resolved {
                refname: name.clone(),
                label: label.to_string(),
                commit: r.commit.clone(),
            })
            .ok_or(RefError::NotFound { what })
    };
    match want {
        RefWant::Head => exact("HEAD".into(), "HEAD".into(), "HEAD"),
        RefWant::Branch(b) => exact(format!("refs/heads/{b}"), format!("branch {b:?}"), b),
        RefWant::Tag(t) => exact(format!("refs/tags/{t}"), format!("tag {t:?}"), t),
        RefWant::Semver(c) => highest_tag(refs, c),
        RefWant::Commit(c) => Ok(Resolved {
            refname: c.clone(),
            label: String::new(),
            commit: c.clone(),
        }),
    }
}

/// The tag of the highest version satisfying `constraint`.
fn highest_tag(refs: &[RemoteRef], constraint: &str) -> Result<Resolved, RefError> {
    let parsed = Constraints::parse(constraint).map_err(|reason| RefError::InvalidConstraint {
        constraint: constraint.into(),
        reason,
    })?;
    let mut best: Option<(Version, &RemoteRef, &str)> = None;
    for r in refs {
        let Some(tag) = r.name.strip_prefix("refs/tags/") else {
            continue;
        };
        let Ok(v) = Version::parse(tag) else { continue };
        if !parsed.check(&v) {
            continue;
        }
        if best.as_ref().is_none_or(|(b, _, _)| v.compare(b).is_gt()) {
            best = Some((v, r, tag));
        }
    }
    best.map(|(_, r, tag)| Resolved {
        refname: r.name.clone(),
        label: tag.to_string(),
        commit: r.commit.clone(),
    })
    .ok_or_else(|| RefError::NoSemverMatch {
        constraint: constraint.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, c: char) -> RemoteRef {
        RemoteRef {
            name: name.into(),
            commit: c.to_string().repeat(40),
        }
    }

    fn refs() -> Vec<RemoteRef> {
        vec![
            r("HEAD", 'a'),
            r("refs/heads/main", 'a'),
            r("refs/heads/dev", 'b'),
            r("refs/tags/v1.0.0", 'c'),
            r("refs/tags/v1.2.0", 'd'),
            r("refs/tags/1.10.0", 'e'),
            r("refs/tags/v2.0.0-rc.1", 'f'),
            r("refs/tags/not-a-version", '0'),
        ]
    }

    #[test]
    fn branches_tags_and_head() {
        let got = resolve(&refs(), &RefWant::Branch("dev".into())).expect("dev");
        assert_eq!(got.revision(), format!("dev@sha1:{}", "b".repeat(40)));
        let got = resolve(&refs(), &RefWant::Tag("v1.0.0".into())).expect("tag");
        assert_eq!(got.commit, "c".repeat(40));
        assert_eq!(got.refname, "refs/tags/v1.0.0");
        let got = resolve(&refs(), &RefWant::Head).expect("head");
        assert_eq!(got.revision(), format!("HEAD@sha1:{}", "a".repeat(40)));
    }

    #[test]
    fn missing_refs_are_named() {
        let err = resolve(&refs(), &RefWant::Branch("nope".into())).expect_err("missing");
        assert_eq!(err.to_string(), "branch \"nope\" not found on the remote");
    }

    #[test]
    fn semver_picks_the_highest_matching_tag() {
        let pick = |c: &str| resolve(&refs(), &RefWant::Semver(c.into())).map(|r| r.label);
        assert_eq!(pick("1.x").as_deref(), Ok("1.10.0"));
        assert_eq!(pick("~1.2").as_deref(), Ok("v1.2.0"));
        assert_eq!(pick("<1.1.0").as_deref(), Ok("v1.0.0"));
        // Prereleases only when the constraint names one.
        assert_eq!(pick(">=1.0.0").as_deref(), Ok("1.10.0"));
        assert_eq!(pick(">=2.0.0-0").as_deref(), Ok("v2.0.0-rc.1"));
        assert!(matches!(
            pick(">=3.0.0"),
            Err(RefError::NoSemverMatch { .. })
        ));
        assert!(matches!(
            pick("not a constraint"),
            Err(RefError::InvalidConstraint { .. })
        ));
    }

    #[test]
    fn a_commit_needs_no_listing() {
        let c = "9".repeat(40);
        let got = resolve(&[], &RefWant::Commit(c.clone())).expect("commit");
        assert_eq!(got.revision(), format!("sha1:{c}"));
        assert!(RefWant::Commit(c).refspecs().is_empty());
    }
}
