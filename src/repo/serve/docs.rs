//! The texts a chart page shows, read straight from the archive: the
//! chart's top-level README (`README.md`, `README.txt` or `README`, any
//! case) and `values.yaml`, as written (comments kept). Each is capped; a
//! longer one is cut and says so.

use std::io::Read;
use std::path::Path;

/// The largest README or values.yaml shown.
const TEXT_LIMIT: u64 = 1024 * 1024;

/// A chart's README and values.yaml, when the archive has them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ChartDocs {
    pub readme: Option<String>,
    pub values: Option<String>,
}

/// Why an archive could not be read.
#[derive(Debug, thiserror::Error)]
#[error("reading {path}: {source}")]
pub struct DocsError {
    path: String,
    #[source]
    source: std::io::Error,
}

/// Reads the README and values.yaml at the top of the chart in `archive`.
pub fn read(archive: &Path) -> Result<ChartDocs, DocsError> {
    let err = |source| DocsError {
        path: archive.display().to_string(),
        source,
    };
    let file = std::fs::File::open(archive).map_err(err)?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut docs = ChartDocs::default();
    for entry in tar.entries().map_err(err)? {
        let entry = entry.map_err(err)?;
        let path = entry.path().map_err(err)?.to_string_lossy().into_owned();
        let Some(kind) = top_level_doc(&path) else {
            continue;
        };
        let text = capped_text(entry).map_err(err)?;
        match kind {
            Doc::Readme if docs.readme.is_none() => docs.readme = Some(text),
            Doc::Values if docs.values.is_none() => docs.values = Some(text),
            _ => {}
        }
        if docs.readme.is_some() && docs.values.is_some() {
            break;
        }
    }
    Ok(docs)
}

enum Doc {
    Readme,
    Values,
}

/// `chart/README.md` → README, `chart/values.yaml` → values; nothing deeper.
fn top_level_doc(path: &str) -> Option<Doc> {
    let (_, file) = path.split_once('/')?;
    if file == "values.yaml" {
        return Some(Doc::Values);
    }
    let lower = file.to_ascii_lowercase();
    matches!(lower.as_str(), "readme.md" | "readme.txt" | "readme").then_some(Doc::Readme)
}

fn capped_text(entry: impl Read) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    let mut limited = entry.take(TEXT_LIMIT + 1);
    limited.read_to_end(&mut bytes)?;
    let cut = bytes.len() as u64 > TEXT_LIMIT;
    bytes.truncate(TEXT_LIMIT as usize);
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if cut {
        text.push_str("\n… (cut: longer than 1 MiB)\n");
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_only_top_level_docs() {
        assert!(matches!(top_level_doc("c/README.md"), Some(Doc::Readme)));
        assert!(matches!(top_level_doc("c/readme"), Some(Doc::Readme)));
        assert!(matches!(top_level_doc("c/values.yaml"), Some(Doc::Values)));
        assert!(top_level_doc("c/charts/sub/values.yaml").is_none());
        assert!(top_level_doc("values.yaml").is_none());
    }
}
