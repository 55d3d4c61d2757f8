//! Choosing a chart version from an index and locating its archive, with
//! Helm's rules: `IndexFile.Get` (an exact version string wins, otherwise
//! the newest version satisfying the Masterminds semver constraint; a plain
//! `*` or a range skips prereleases unless the constraint names one; an
//! empty constraint means `*`) and `ResolveReferenceURL` (chart URLs
//! relative to the repository URL, keeping the repository's query).

use url::Url;

use super::index::{ChartVersion, IndexFile};
use crate::godata::semver::Constraints;

/// Why no chart version could be chosen or located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("chart {name:?} not found in repository")]
    ChartNotFound { name: String },
    #[error("no chart version found for {name}-{constraint}")]
    NoMatchingVersion { name: String, constraint: String },
    #[error("invalid version constraint {constraint:?} for chart {name:?}: {reason}")]
    InvalidConstraint {
        name: String,
        constraint: String,
        reason: String,
    },
    #[error("chart {name} {version} has no download URL in the index")]
    NoUrl { name: String, version: String },
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
}

/// Helm's `IndexFile.Get(name, constraint)`: the chosen entry.
pub fn resolve<'a>(
    index: &'a IndexFile,
    name: &str,
    constraint: &str,
) -> Result<&'a ChartVersion, ResolveError> {
    let versions = index
        .entries
        .get(name)
        .ok_or_else(|| ResolveError::ChartNotFound { name: name.into() })?;
    let no_match = || ResolveError::NoMatchingVersion {
        name: name.into(),
        constraint: constraint.into(),
    };
    if versions.is_empty() {
        return Err(no_match());
    }
    let parsed = Constraints::parse(if constraint.is_empty() {
        "*"
    } else {
        constraint
    })
    .map_err(|reason| ResolveError::InvalidConstraint {
        name: name.into(),
        constraint: constraint.into(),
        reason,
    })?;
    if !constraint.is_empty()
        && let Some(exact) = versions.iter().find(|v| v.version == constraint)
    {
        return Ok(exact);
    }
    versions
        .iter()
        .find(|v| v.semver.as_ref().is_some_and(|s| parsed.check(s)))
        .ok_or_else(no_match)
}

/// The archive URL of an entry: its first URL resolved against the
/// repository URL.
pub fn chart_url(repo_url: &str, entry: &ChartVersion) -> Result<String, ResolveError> {
    let first = entry.urls.first().ok_or_else(|| ResolveError::NoUrl {
        name: entry.name.clone(),
        version: entry.version.clone(),
    })?;
    resolve_reference_url(repo_url, first)
}

/// Helm's `ResolveReferenceURL(base, ref)`: an absolute `ref` as is;
/// otherwise `ref` joined to `base` taken as a directory, with `base`'s
/// query string.
pub fn resolve_reference_url(base: &str, reference: &str) -> Result<String, ResolveError> {
    let invalid = |url: &str, reason: String| ResolveError::InvalidUrl {
        url: url.into(),
        reason,
    };
    match Url::parse(reference) {
        Ok(abs) => return Ok(abs.to_string()),
        Err(url::ParseError::RelativeUrlWithoutBase) => {}
        Err(e) => return Err(invalid(reference, e.to_string())),
    }
    let mut dir = Url::parse(base).map_err(|e| invalid(base, e.to_string()))?;
    let path = format!("{}/", dir.path().trim_end_matches('/'));
    dir.set_path(&path);
    let query = dir.query().map(str::to_string);
    let mut joined = dir
        .join(reference)
        .map_err(|e| invalid(reference, e.to_string()))?;
    joined.set_query(query.as_deref());
    Ok(joined.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::index::parse_index;

    fn index() -> IndexFile {
        let text = "apiVersion: v1\nentries:\n  c:\n  - {name: c, version: 1.0.0}\n  - {name: c, version: 1.1.0}\n  - {name: c, version: 1.2.0-beta.1}\n  - {name: c, version: 2.0.0}\n  - {name: c, version: v1.1.5}\n";
        parse_index(text.as_bytes()).expect("index")
    }

    fn pick(c: &str) -> Result<String, ResolveError> {
        let idx = index();
        resolve(&idx, "c", c).map(|v| v.version.clone())
    }

    #[test]
    fn follows_helm_get() {
        assert_eq!(pick("").as_deref(), Ok("2.0.0"));
        assert_eq!(pick("*").as_deref(), Ok("2.0.0"));
        assert_eq!(pick("^1").as_deref(), Ok("v1.1.5"));
        assert_eq!(pick("~1.1.0").as_deref(), Ok("v1.1.5"));
        assert_eq!(pick("1.1.x").as_deref(), Ok("v1.1.5"));
        assert_eq!(pick(">=1.2.0-0 <2").as_deref(), Ok("1.2.0-beta.1"));
        assert_eq!(pick("1.2.0-beta.1").as_deref(), Ok("1.2.0-beta.1"));
        // an exact string first, even when the constraint would pick another
        assert_eq!(pick("v1.1.5").as_deref(), Ok("v1.1.5"));
        assert_eq!(pick("1.1.5").as_deref(), Ok("v1.1.5"));
        assert!(matches!(
            pick("3.x"),
            Err(ResolveError::NoMatchingVersion { .. })
        ));
        assert!(matches!(
            pick("!!"),
            Err(ResolveError::InvalidConstraint { .. })
        ));
        let idx = index();
        assert!(matches!(
            resolve(&idx, "d", "*"),
            Err(ResolveError::ChartNotFound { .. })
        ));
    }

    #[test]
    fn resolves_urls_like_helm() {
        let r = resolve_reference_url;
        assert_eq!(
            r("http://h:1/repo", "a.tgz").as_deref(),
            Ok("http://h:1/repo/a.tgz")
        );
        assert_eq!(
            r("http://h:1/repo/", "a.tgz").as_deref(),
            Ok("http://h:1/repo/a.tgz")
        );
        assert_eq!(
            r("http://h:1/repo", "charts/a.tgz").as_deref(),
            Ok("http://h:1/repo/charts/a.tgz")
        );
        assert_eq!(
            r("http://h:1/repo", "/top/a.tgz").as_deref(),
            Ok("http://h:1/top/a.tgz")
        );
        assert_eq!(
            r("http://h:1/repo?sig=x", "a.tgz").as_deref(),
            Ok("http://h:1/repo/a.tgz?sig=x")
        );
        assert_eq!(
            r("http://h:1/repo", "https://cdn.example/a.tgz").as_deref(),
            Ok("https://cdn.example/a.tgz")
        );
        assert_eq!(
            r("http://h:1/repo", "index.yaml").as_deref(),
            Ok("http://h:1/repo/index.yaml")
        );
    }
}
