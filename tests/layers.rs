//! The crate's layers follow the data's path, and its imports prove it:
//! this test reads every source file under `src/`, collects the modules it
//! names (`crate::…` and `super::…` paths, `use` lists included) and fails
//! on an import that runs up the layers (tests included), on a cluster
//! client below `release`, and on any import cycle between files (test
//! code left out: a test may compare two siblings).
//!
//! ```text
//! godata (Go's data model: values, JSON, YAML 1.1, fmt, semver, globs)
//!   → chart (load, dependencies, values, schema)
//!   → render (templates, functions, manifests: a prepared chart in, text out)
//!   → action (Helm's prepare + render)          repo (indexes, archives, OCI)
//!   → release (records, storage) · apply (SSA, prune, wait, hooks) · api (CRDs)
//!   → controller → cli
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and the modules it may import.
const ALLOWED: &[(&str, &[&str])] = &[
    ("godata", &[]),
    ("chart", &["godata"]),
    ("render", &["godata", "chart"]),
    ("action", &["godata", "chart", "render"]),
    ("repo", &["godata", "chart"]),
    ("api", &["godata"]),
    ("release", &["godata", "chart", "render", "action"]),
    ("apply", &["godata", "chart", "render"]),
    (
        "controller",
        &[
            "godata", "chart", "render", "action", "repo", "api", "release", "apply",
        ],
    ),
    (
        "cli",
        &[
            "godata",
            "chart",
            "render",
            "action",
            "repo",
            "api",
            "release",
            "apply",
            "controller",
        ],
    ),
];

/// Modules that never talk to the cluster.
const NO_CLUSTER: &[&str] = &["godata", "chart", "render", "action", "repo"];

/// `chart`'s processing, which `render` must leave to `action`.
const CHART_PROCESSING: &[&str] = &["deps", "values", "schema", "load", "strvals", "ignore"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file: `src/render/gotmpl/exec.rs` → `render::gotmpl::exec`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|l| l == "mod" || l == "lib" || l == "main")
    {
        parts.pop();
    }
    parts
}

/// Source text without comments (line and doc comments), test modules
/// kept: a test's imports are imports too.
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path `text` names from `crate::` or `super::`, as full module
/// paths (the items at their ends included), `use` groups expanded. Past
/// an inline `mod tests {`, `super` is the file's own module.
fn paths(text: &str, here: &[String]) -> Vec<Vec<String>> {
    match text.find("mod tests {") {
        Some(at) => {
            let mut inner = here.to_vec();
            inner.push("tests".into());
            let mut out = paths_in(&text[..at], here);
            out.extend(paths_in(&text[at..], &inner));
            out
        }
        None => paths_in(text, here),
    }
}

fn paths_in(text: &str, here: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let rest: String = bytes[i..bytes.len().min(i + 8)].iter().collect();
        let boundary = i == 0 || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_');
        if boundary && (rest.starts_with("crate::") || rest.starts_with("super::")) {
            let (tree, used) = read_tree(&bytes[i..]);
            for p in expand(&tree) {
                if let Some(full) = absolute(&p, here) {
                    out.push(full);
                }
            }
            i += used.max(1);
        } else {
            i += 1;
        }
    }
    out
}

/// Reads a path like `crate::a::{b, c::{d}}` from the start of `s`; returns
/// its text and the number of characters read.
fn read_tree(s: &[char]) -> (String, usize) {
    let mut depth = 0usize;
    let mut out = String::new();
    for (n, c) in s.iter().enumerate() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return (out, n),
            '}' => depth -= 1,
            c if depth == 0 && !(c.is_alphanumeric() || *c == '_' || *c == ':') => {
                return (out, n);
            }
            _ => {}
        }
        out.push(*c);
    }
    (out, s.len())
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree.trim_end_matches("::").to_string()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.len() - usize::from(tree.ends_with('}'))];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (n, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&inner[start..n]);
                start = n + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| {
            let p = p.split(" as ").next().unwrap_or(p);
            if p == "self" {
                vec![prefix.trim_end_matches("::").to_string()]
            } else {
                expand(&format!("{prefix}{p}"))
            }
        })
        .collect()
}

/// A `crate::`/`super::` path as segments from the crate root; `here` is
/// the module the path is written in (`super` is its parent).
fn absolute(path: &str, here: &[String]) -> Option<Vec<String>> {
    let mut segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<String> = match segs.first() {
        Some(&"crate") => {
            segs.remove(0);
            Vec::new()
        }
        Some(&"super") => {
            let mut b = here.to_vec();
            while segs.first() == Some(&"super") {
                segs.remove(0);
                b.pop();
            }
            b
        }
        _ => return None,
    };
    base.extend(segs.iter().map(|s| s.to_string()));
    Some(base)
}

/// The file a module path lands in: the longest prefix that is a file.
fn file_of(path: &[String], files: &BTreeMap<Vec<String>, PathBuf>) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| files.contains_key(p))
}

struct Graph {
    files: BTreeMap<Vec<String>, PathBuf>,
    /// File → files it imports.
    edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
}

/// Whether a module is test code (a `tests` module or file).
fn is_test(module: &[String]) -> bool {
    module.iter().any(|m| m == "tests")
}

/// The files' imports; `with_tests: false` leaves test code out (a test
/// may compare two siblings without making them depend on each other).
fn graph_of(with_tests: bool) -> Graph {
    let mut list = Vec::new();
    rust_files(&src(), &mut list);
    let files: BTreeMap<Vec<String>, PathBuf> = list
        .iter()
        .filter(|f| !f.ends_with("lib.rs") && !f.ends_with("main.rs"))
        .map(|f| (module_of(f), f.clone()))
        .collect();
    let mut edges = BTreeMap::new();
    for (module, file) in &files {
        if !with_tests && is_test(module) {
            continue;
        }
        let mut text = code(&std::fs::read_to_string(file).expect("source file"));
        if !with_tests && let Some(at) = text.find("mod tests {") {
            text.truncate(at);
        }
        let targets: BTreeSet<Vec<String>> = paths(&text, module)
            .iter()
            .filter_map(|p| file_of(p, &files))
            .filter(|t| t != module)
            .collect();
        edges.insert(module.clone(), targets);
    }
    Graph { files, edges }
}

fn top(m: &[String]) -> &str {
    m.first().map(String::as_str).unwrap_or_default()
}

#[test]
fn imports_run_down_the_layers() {
    let g = graph_of(true);
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (from, targets) in &g.edges {
        let Some(ok) = allowed.get(top(from)) else {
            wrong.push(format!(
                "{}: module not in the layer table",
                from.join("::")
            ));
            continue;
        };
        for to in targets {
            let t = top(to);
            if t != top(from) && !ok.contains(&t) {
                wrong.push(format!("{} imports {}", from.join("::"), to.join("::")));
            }
            if top(from) == "render"
                && t == "chart"
                && let Some(sub) = to.get(1).filter(|s| CHART_PROCESSING.contains(&s.as_str()))
            {
                wrong.push(format!(
                    "{} imports chart processing chart::{sub}",
                    from.join("::")
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn nothing_below_release_talks_to_the_cluster() {
    let g = graph_of(true);
    let mut wrong = Vec::new();
    for (module, file) in &g.files {
        if !NO_CLUSTER.contains(&top(module)) {
            continue;
        }
        let text = code(&std::fs::read_to_string(file).expect("source file"));
        for client in ["kube::", "k8s_openapi::", "kube_runtime"] {
            if text.contains(client) {
                wrong.push(format!("{} uses {client}", file.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_import_cycles_between_files() {
    let g = graph_of(false);
    // Tarjan's strongly connected components.
    struct State<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        cycles: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Vec<String>) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.g.edges.get(v).into_iter().flatten() {
            let Some((w, _)) = s.g.edges.get_key_value(w) else {
                continue;
            };
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                comp.push(w.join("::"));
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.cycles.push(comp);
            }
        }
    }
    let mut s = State {
        g: &g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        cycles: Vec::new(),
    };
    for v in g.edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    let text: Vec<String> = s.cycles.iter().map(|c| c.join(" <-> ")).collect();
    assert!(text.is_empty(), "import cycles:\n{}", text.join("\n"));
}

#[test]
fn the_reader_understands_paths() {
    let here = vec![
        "render".to_string(),
        "gotmpl".to_string(),
        "exec".to_string(),
    ];
    let got = paths(
        "use crate::godata::{value::{Map, Value}, json};\nuse super::parse::Node;",
        &here,
    );
    assert_eq!(
        got,
        vec![
            vec!["godata", "value", "Map"],
            vec!["godata", "value", "Value"],
            vec!["godata", "json"],
            vec!["render", "gotmpl", "parse", "Node"],
        ]
        .into_iter()
        .map(|v| v.into_iter().map(String::from).collect::<Vec<_>>())
        .collect::<Vec<_>>()
    );
    let from_mod = paths("super::sprig::x", &["render".into(), "gotmpl".into()]);
    assert_eq!(
        from_mod,
        vec![vec!["render".to_string(), "sprig".into(), "x".into()]]
    );
    let in_tests = paths("fn a() {}\nmod tests {\n use super::*;\n}", &here);
    assert_eq!(
        in_tests,
        vec![vec!["render".to_string(), "gotmpl".into(), "exec".into()]]
    );
}
