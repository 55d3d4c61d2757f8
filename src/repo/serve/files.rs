//! Which file under the repository folder a request path names, if any.
//! Each `/`-separated segment is percent-decoded on its own, so an encoded
//! slash or backslash stays inside one segment and is refused; `.`/`..`,
//! hidden names (the index's temporary file among them), empty segments
//! and NUL are refused; the joined path is then resolved with every
//! symlink followed and must still lie under the (resolved) folder and be a
//! regular file. Anything else is "not found".

use std::path::{Path, PathBuf};

/// The file `raw_path` (the request's path, still percent-encoded) names
/// under `root` (already canonical), or `None`.
pub fn resolve(root: &Path, raw_path: &str) -> Option<PathBuf> {
    let relative = relative_path(raw_path)?;
    let real = std::fs::canonicalize(root.join(relative)).ok()?;
    if !real.starts_with(root) {
        return None;
    }
    real.is_file().then_some(real)
}

/// The decoded, checked relative path of a request path.
pub fn relative_path(raw_path: &str) -> Option<PathBuf> {
    let rest = raw_path.strip_prefix('/')?;
    let mut out = PathBuf::new();
    for segment in rest.split('/') {
        out.push(decode_segment(segment)?);
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

fn decode_segment(raw: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?
        .into_owned();
    let refused =
        decoded.is_empty() || decoded.starts_with('.') || decoded.contains(['/', '\\', '\0']);
    (!refused).then_some(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_traversal_hidden_and_encoded_separators() {
        for bad in [
            "/../etc/passwd",
            "/a/../../x",
            "/%2e%2e/x",
            "/%2E%2E%2Fx",
            "/a%2f..%2f..%2fx",
            "/a%5c..%5cx",
            "/.index.yaml.1.tmp",
            "//etc/passwd",
            "/a//b",
            "/x%00.tgz",
            "/",
            "relative.tgz",
        ] {
            assert_eq!(relative_path(bad), None, "{bad}");
        }
        assert_eq!(
            relative_path("/sub/my%20chart-1.0.0.tgz"),
            Some(PathBuf::from("sub/my chart-1.0.0.tgz"))
        );
    }
}
