//! What `rudder template` prints or writes once a chart is rendered, for
//! the flags that change it as `helm template` does: `--no-hooks`,
//! `--show-only` (Helm's split of the output and `filepath.Match` of each
//! manifest's path), `--output-dir` (one file per template, `wrote PATH`
//! lines, `--release-name` adding a directory) and `--debug` (the raw
//! rendered files when they are not valid YAML).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::render::job::Rendered;
use crate::render::manifest::{self, go_space, write_source};

/// How the rendered release is shown.
#[derive(Debug, Default)]
pub struct OutputOptions<'a> {
    pub include_crds: bool,
    pub skip_tests: bool,
    pub no_hooks: bool,
    pub notes: bool,
    pub show_only: &'a [String],
    /// `--output-dir`, with the release's directory when `--release-name`.
    pub output_dir: Option<OutputDir>,
}

/// Where `--output-dir` writes: CRDs under `root`, templates under `dir`.
#[derive(Debug)]
pub struct OutputDir {
    pub root: PathBuf,
    pub dir: PathBuf,
}

/// Writes what `helm template` prints for `rendered` to `out`.
pub fn write(rendered: &Rendered, opts: &OutputOptions, out: &mut dyn Write) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    let hooks: &[manifest::Hook] = if opts.no_hooks { &[] } else { &rendered.hooks };
    let crds: &[(String, String)] = if opts.include_crds {
        &rendered.crds
    } else {
        &[]
    };
    match (&opts.output_dir, opts.show_only.is_empty()) {
        // The common case, streamed piece by piece.
        (None, true) => {
            manifest::write_template_output(out, crds, &rendered.manifests, hooks, opts.skip_tests)
                .map_err(io)?;
        }
        (None, false) => {
            let text = manifest::template_output(crds, &rendered.manifests, hooks, opts.skip_tests);
            write_show_only(&text, opts.show_only, out)?;
        }
        (Some(dir), show_all) => {
            let text = write_files(rendered, opts, dir, out)?;
            if show_all {
                out.write_all(text.as_bytes()).map_err(io)?;
            } else {
                write_show_only(&text, opts.show_only, out)?;
            }
        }
    }
    if opts.notes {
        rendered.write_notes(out).map_err(io)?;
    }
    Ok(())
}

/// `--show-only`: the picked documents of `text`, each after `---`.
fn write_show_only(text: &str, patterns: &[String], out: &mut dyn Write) -> Result<(), String> {
    for m in show_only(text, patterns)? {
        write!(out, "---\n{m}\n").map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `--output-dir`: CRDs and manifests to files (created afresh, appended
/// when one template gives several), then hooks (appended to any file that
/// already exists, as Helm's template command does). Returns what is left
/// to print: the empty manifest text.
fn write_files(
    rendered: &Rendered,
    opts: &OutputOptions,
    dir: &OutputDir,
    out: &mut dyn Write,
) -> Result<String, String> {
    let mut written: BTreeMap<String, bool> = BTreeMap::new();
    if opts.include_crds {
        for (name, text) in &rendered.crds {
            let append = written.contains_key(name);
            write_file(&dir.root, name, text, append, out)?;
            written.insert(name.clone(), true);
        }
    }
    for m in &rendered.manifests {
        let append = written.contains_key(&m.name);
        write_file(&dir.dir, &m.name, &m.content, append, out)?;
        written.insert(m.name.clone(), true);
    }
    if !opts.no_hooks {
        for h in &rendered.hooks {
            if opts.skip_tests && h.is_test() {
                continue;
            }
            let append = dir.dir.join(&h.path).exists();
            write_file(&dir.dir, &h.path, &h.manifest, append, out)?;
        }
    }
    Ok("\n".to_string())
}

/// Helm's `writeToFile`: `---\n# Source: NAME\nTEXT\n` into `dir/NAME`,
/// then `wrote PATH` on standard output.
fn write_file(
    dir: &Path,
    name: &str,
    text: &str,
    append: bool,
    out: &mut dyn Write,
) -> Result<(), String> {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .append(append)
        .truncate(!append)
        .open(&path)
        .map_err(|e| format!("open {}: {e}", path.display()))?;
    let mut block = String::new();
    write_source(&mut block, name, text);
    file.write_all(block.as_bytes())
        .map_err(|e| format!("write {}: {e}", path.display()))?;
    writeln!(out, "wrote {}", path.display()).map_err(|e| e.to_string())
}

/// `--show-only`: the documents of `text` (Helm's `SplitManifests`, in
/// output order) whose `# Source: CHART/PATH` path matches a pattern; a
/// pattern matching none is an error.
fn show_only(text: &str, patterns: &[String]) -> Result<Vec<String>, String> {
    let docs = split_manifests(text);
    let mut picked = Vec::new();
    for pattern in patterns {
        let before = picked.len();
        for doc in &docs {
            if source_path(doc).is_some_and(|p| path_match(pattern, p)) {
                picked.push(doc.clone());
            }
        }
        if picked.len() == before {
            return Err(format!("could not find template {pattern} in chart"));
        }
    }
    Ok(picked)
}

/// Helm's `releaseutil.SplitManifests`: documents separated by
/// `(?:^|\s*\n)---\s*`, each trimmed, empty ones dropped.
fn split_manifests(text: &str) -> Vec<String> {
    manifest::split_manifests(text.trim_matches(go_space))
        .into_iter()
        .map(|d| d.trim_matches(go_space).to_string())
        .filter(|d| !d.is_empty())
        .collect()
}

/// The path after the chart name in the first `# Source: CHART/PATH` of a
/// document (Helm's `# Source: [^/]+/(.+)`).
fn source_path(doc: &str) -> Option<&str> {
    let at = doc.find("# Source: ")?;
    let rest = &doc[at + "# Source: ".len()..];
    let line = rest.split('\n').next().unwrap_or(rest);
    let slash = line.find('/')?;
    let path = &line[slash + 1..];
    (slash > 0 && !path.is_empty()).then_some(path)
}

/// Go's `filepath.Match` on `/`-separated paths: `*` and `?` stop at `/`,
/// `[...]` classes with ranges and `^` negation, `\` escapes. A malformed
/// pattern matches nothing (Helm ignores the error).
pub fn path_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> bool {
    let Some((&c, rest)) = p.split_first() else {
        return n.is_empty();
    };
    match c {
        '*' => {
            // Try every split that does not cross a separator.
            let mut i = 0;
            loop {
                if match_from(rest, &n[i..]) {
                    return true;
                }
                if i == n.len() || n[i] == '/' {
                    return false;
                }
                i += 1;
            }
        }
        '?' => n.first().is_some_and(|&x| x != '/') && match_from(rest, &n[1..]),
        '[' => match (n.split_first(), class(rest)) {
            (Some((&x, n_rest)), Some((matches, after))) if x != '/' => {
                matches(x) && match_from(after, n_rest)
            }
            _ => false,
        },
        '\\' => match rest.split_first() {
            Some((&lit, after)) => n.first() == Some(&lit) && match_from(after, &n[1..]),
            None => false,
        },
        lit => n.first() == Some(&lit) && match_from(rest, &n[1..]),
    }
}

/// A `[...]` class after its `[`: a predicate and the pattern after `]`.
#[allow(clippy::type_complexity)]
fn class(p: &[char]) -> Option<(Box<dyn Fn(char) -> bool>, &[char])> {
    let (negated, mut i) = match p.first() {
        Some('^') => (true, 1),
        _ => (false, 0),
    };
    let mut ranges: Vec<(char, char)> = Vec::new();
    let mut first = true;
    loop {
        let c = *p.get(i)?;
        if c == ']' && !first {
            break;
        }
        first = false;
        let lo = if c == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            c
        };
        i += 1;
        let hi = if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&x| x != ']') {
            i += 1;
            let c = *p.get(i)?;
            i += 1;
            if c == '\\' {
                i += 1;
                *p.get(i - 1)?
            } else {
                c
            }
        } else {
            lo
        };
        ranges.push((lo, hi));
    }
    let pred = move |x: char| ranges.iter().any(|&(lo, hi)| lo <= x && x <= hi) != negated;
    Some((Box::new(pred), &p[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_like_go_filepath_match() {
        assert!(path_match("templates/*.yaml", "templates/a.yaml"));
        assert!(!path_match("templates/*", "templates/sub/a.yaml"));
        assert!(path_match("templates/?.yaml", "templates/a.yaml"));
        assert!(path_match("templates/[ab].yaml", "templates/b.yaml"));
        assert!(!path_match("templates/[^ab].yaml", "templates/b.yaml"));
        assert!(path_match("templates/[a-c].yaml", "templates/c.yaml"));
        assert!(path_match("templates/\\*.yaml", "templates/*.yaml"));
        assert!(!path_match("templates/[", "templates/["));
        assert!(path_match(
            "charts/*/templates/x.yaml",
            "charts/sub/templates/x.yaml"
        ));
    }

    #[test]
    fn source_paths_drop_the_chart_name() {
        assert_eq!(
            source_path("# Source: c/templates/a.yaml\nkind: A"),
            Some("templates/a.yaml")
        );
        assert_eq!(source_path("kind: A"), None);
    }
}
