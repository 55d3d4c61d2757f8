//! Masterminds/semver v3 as Helm uses it for charts: lenient version parsing
//! (`v1`, `1.2` are versions) and constraint ranges (`^1.2`, `~1.2.x`,
//! `>= 1.0, < 2`, `1.2 - 1.4`, `||`), for dependency version matching,
//! Chart.yaml `kubeVersion` and repository index resolution. One
//! implementation serves the whole crate: the one behind Sprig's `semver` and
//! `semverCompare` ([`crate::render::sprig::semver`]), re-exported here.

pub use crate::render::sprig::semver::{Constraints, Version};

/// Helm's `IsCompatibleRange`: false when either side does not parse.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    match (Version::parse(version), Constraints::parse(constraint)) {
        (Ok(v), Ok(c)) => c.check(&v),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(is_compatible_range("^1.2.0", "1.9.3"));
        assert!(!is_compatible_range("^1.2.0", "2.0.0"));
        assert!(is_compatible_range("~1.2", "1.2.9"));
        assert!(is_compatible_range(">= 1.0, < 2", "1.5.0"));
        assert!(is_compatible_range("1.2 - 1.4.5", "1.4.5"));
        assert!(!is_compatible_range("1.2 - 1.4.5", "1.4.6"));
        assert!(is_compatible_range("1.x || >3", "4.0.0"));
        assert!(!is_compatible_range("1.x || >3", "3.1.0"));
        assert!(!is_compatible_range(">=1.0.0", "1.1.0-rc1"));
        assert!(!is_compatible_range("", "1.1.0"));
        assert!(is_compatible_range(">=1.20.0-0", "v1.31.0"));
        assert!(is_compatible_range("*", "0.1.0"));
    }
}
