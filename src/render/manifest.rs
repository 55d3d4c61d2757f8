//! Manifests after rendering: splitting documents, reading heads, Helm v4's
//! install order by kind, hooks by weight, and `helm template`'s output format.
//!
//! Ports Helm's `releaseutil`: `SplitManifests` (the `(?:^|\s*\n)---\s*`
//! separator), `SortManifests` (files in path order, documents in file order,
//! `helm.sh/hook` annotations make hooks, unknown hook types are dropped) and
//! the stable `InstallOrder` kind sort (unknown kinds last, alphabetically).

use std::collections::BTreeMap;

use crate::godata::value::Value;

/// Helm v4's `releaseutil.InstallOrder`.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Helm v4's `releaseutil.UninstallOrder` (validation webhooks go first so
/// they cannot block the removal of the rest).
pub const UNINSTALL_ORDER: &[&str] = &[
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "Ingress",
    "IngressClass",
    "Service",
    "CronJob",
    "Job",
    "StatefulSet",
    "HorizontalPodAutoscaler",
    "Deployment",
    "ReplicaSet",
    "ReplicationController",
    "Pod",
    "DaemonSet",
    "RoleBindingList",
    "RoleBinding",
    "RoleList",
    "Role",
    "ClusterRoleBindingList",
    "ClusterRoleBinding",
    "ClusterRoleList",
    "ClusterRole",
    "CustomResourceDefinition",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "StorageClass",
    "ConfigMap",
    "SecretList",
    "Secret",
    "ServiceAccount",
    "PodDisruptionBudget",
    "PodSecurityPolicy",
    "LimitRange",
    "ResourceQuota",
    "NetworkPolicy",
    "Namespace",
    "PriorityClass",
];

/// Helm's hook annotation names.
pub const HOOK_ANNOTATION: &str = "helm.sh/hook";
pub const HOOK_WEIGHT_ANNOTATION: &str = "helm.sh/hook-weight";
pub const HOOK_DELETE_ANNOTATION: &str = "helm.sh/hook-delete-policy";

pub use super::headscan::Head;

/// A non-hook manifest document.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The template path it came from (`chart/templates/x.yaml`).
    pub name: String,
    /// The document text, trimmed.
    pub content: String,
    pub head: Head,
}

/// A hook document.
#[derive(Clone, Debug)]
pub struct Hook {
    pub name: String,
    pub kind: String,
    pub path: String,
    pub manifest: String,
    /// Hook events, lower-cased (`pre-install`, `test`, …).
    pub events: Vec<String>,
    pub weight: i64,
    pub delete_policies: Vec<String>,
}

impl Hook {
    /// Whether this is a `helm test` hook.
    pub fn is_test(&self) -> bool {
        self.events.iter().any(|e| e == "test")
    }
}

/// A manifest that could not be read, worded as Helm words it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("YAML parse error on {path}: {message}")]
pub struct ManifestError {
    pub path: String,
    pub message: String,
}

/// Helm's `SplitManifests`, in document order (empty documents dropped,
/// each trimmed).
pub fn split_manifests(big: &str) -> Vec<String> {
    let trimmed = big.trim_matches(go_space);
    split_on_separators(trimmed)
        .into_iter()
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_matches(go_space).to_string())
        .collect()
}

/// Go's `\s` (RE2 Perl class, ASCII only).
fn re2_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

fn space_run(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && re2_space(b[i]) {
        i += 1;
    }
    i
}

/// The next match of Helm's separator regexp `(?:^|\s*\n)---\s*` at or
/// after `from`, leftmost-first as Go finds it: `---` at the very start, or
/// a whitespace run ending in `\n` directly followed by `---`.
fn next_separator(b: &[u8], from: usize) -> Option<(usize, usize)> {
    if from == 0 && b.starts_with(b"---") {
        return Some((0, space_run(b, 3)));
    }
    // Every match holds a `\n---`; the first one after `from` gives the
    // leftmost match, which starts where its whitespace run starts.
    let nl = from + memchr::memmem::find(&b[from..], b"\n---")?;
    let mut start = nl;
    while start > from && re2_space(b[start - 1]) {
        start -= 1;
    }
    Some((start, space_run(b, nl + 4)))
}

/// Go's `regexp.Split(s, -1)` with the separator above.
fn split_on_separators(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut beg = 0;
    let mut from = 0;
    while let Some((start, end)) = next_separator(b, from) {
        if end != 0 {
            out.push(&s[beg..start]);
        }
        beg = end;
        from = end;
    }
    out.push(&s[beg..]);
    out
}

/// Go's `unicode.IsSpace` as `strings.TrimSpace` uses it.
pub fn go_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0b}' | '\u{0c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c > '\u{ff}' && c.is_whitespace())
}

/// A scalar decoded into a Go string field (sigs.k8s.io/yaml converts
/// numbers and booleans to their text).
fn as_string(v: &Value) -> Option<String> {
    crate::godata::yaml::scalar_as_string(v)
}

fn unmarshal_err(got: &Value, field: &str, ty: &str) -> String {
    format!(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field {field} of type {ty}",
        crate::godata::yaml::json_kind(got)
    )
}

/// Reads the head of one document (sigs.k8s.io/yaml into `SimpleHead`).
/// Plain block YAML (nearly every rendered manifest) is read by a line
/// scanner that declines anything it is not sure of; everything else
/// (anchors, tags, flow collections, non-string head fields, parse errors,
/// …) goes through the full decoder, which yields Helm's exact result or
/// error. Two readers, no more.
pub fn parse_head(doc: &str) -> Result<Head, String> {
    // Plain block YAML (nearly every rendered manifest): a line scanner.
    if let Some(head) = super::headscan::scan_head(doc) {
        #[cfg(debug_assertions)]
        assert_eq!(
            Ok(&head),
            parse_head_full(doc).as_ref(),
            "head scanner differs for:\n{doc}"
        );
        return Ok(head);
    }
    parse_head_full(doc)
}

/// The full decoder path of [`parse_head`].
pub(crate) fn parse_head_full(doc: &str) -> Result<Head, String> {
    let v = crate::godata::yaml::parse_any(doc).map_err(|e| e.to_string())?;
    let m = match &v {
        Value::Nil => return Ok(Head::default()),
        Value::Map(_, m) => m.borrow(),
        other => {
            return Err(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type util.SimpleHead",
                crate::godata::yaml::json_kind(other)
            ));
        }
    };
    let mut head = Head::default();
    let mut first_err: Option<String> = None;
    let mut note = |e: String| {
        if first_err.is_none() {
            first_err = Some(e);
        }
    };
    match m.get("apiVersion") {
        None | Some(Value::Nil) => {}
        Some(o) => match as_string(o) {
            Some(s) => head.api_version = s,
            None => note(unmarshal_err(o, "SimpleHead.apiVersion", "string")),
        },
    }
    match m.get("kind") {
        None | Some(Value::Nil) => {}
        Some(o) => match as_string(o) {
            Some(s) => head.kind = s,
            None => note(unmarshal_err(o, "SimpleHead.kind", "string")),
        },
    }
    match m.get("metadata") {
        None | Some(Value::Nil) => {}
        Some(Value::Map(_, md)) => {
            let md = md.borrow();
            head.name = Some(String::new());
            match md.get("name") {
                None | Some(Value::Nil) => {}
                Some(o) => match as_string(o) {
                    Some(s) => head.name = Some(s),
                    None => note(unmarshal_err(o, "SimpleHead.metadata.name", "string")),
                },
            }
            match md.get("annotations") {
                None | Some(Value::Nil) => {}
                Some(Value::Map(_, a)) => {
                    for (k, v) in a.borrow().iter() {
                        match v {
                            Value::Nil => {
                                head.annotations.insert(k.clone(), String::new());
                            }
                            o => match as_string(o) {
                                Some(s) => {
                                    head.annotations.insert(k.clone(), s);
                                }
                                None => note(unmarshal_err(
                                    o,
                                    "SimpleHead.metadata.annotations",
                                    "string",
                                )),
                            },
                        }
                    }
                }
                Some(o) => note(unmarshal_err(
                    o,
                    "SimpleHead.metadata.annotations",
                    "map[string]string",
                )),
            }
        }
        Some(o) => note(unmarshal_err(
            o,
            "SimpleHead.metadata",
            "struct { Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }",
        )),
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(head),
    }
}

fn hook_event(s: &str) -> Option<&'static str> {
    Some(match s {
        "pre-install" => "pre-install",
        "post-install" => "post-install",
        "pre-delete" => "pre-delete",
        "post-delete" => "post-delete",
        "pre-upgrade" => "pre-upgrade",
        "post-upgrade" => "post-upgrade",
        "pre-rollback" => "pre-rollback",
        "post-rollback" => "post-rollback",
        "test" | "test-success" => "test",
        _ => return None,
    })
}

/// Go's `strconv.Atoi` (0 on error, as Helm's hook weight does).
fn atoi(s: &str) -> i64 {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    s.parse::<i64>().unwrap_or(0)
}

/// One rendered file after splitting: its documents with their heads (or
/// why a head could not be read). Partials and blank files have none.
pub type ReadFile = Vec<(String, Result<Head, String>)>;

/// Splits one rendered file into documents and reads each head.
pub fn read_file(path: &str, content: &str) -> ReadFile {
    let base = path.rsplit('/').next().unwrap_or(path);
    if base.starts_with('_') || content.trim_matches(go_space).is_empty() {
        return Vec::new();
    }
    split_manifests(content)
        .into_iter()
        .map(|doc| {
            let head = parse_head(&doc);
            (doc, head)
        })
        .collect()
}

/// Reads rendered files as the render thread hands them over: for a large
/// template set on a helper thread, so the reading overlaps execution
/// (splitting and head reading take a fifth of a large chart's time), for
/// a small one inline (see [`HeadReader::start`]). Files are moved in;
/// NOTES.txt files are kept whole, every other file only as its documents.
pub struct HeadReader {
    mode: ReaderMode,
}

enum ReaderMode {
    /// Files are read as they arrive, on the calling thread.
    Inline(BTreeMap<String, RenderedFile>),
    /// Files go to a helper thread.
    Helper {
        tx: std::sync::mpsc::Sender<(String, String)>,
        worker: std::thread::JoinHandle<BTreeMap<String, RenderedFile>>,
    },
}

/// A rendered file as [`HeadReader`] hands it back.
pub enum RenderedFile {
    /// A NOTES.txt file, whole.
    Notes(String),
    /// Any other file, split and read.
    Read(ReadFile),
}

fn rendered_file(path: &str, text: String) -> RenderedFile {
    if path.ends_with("NOTES.txt") {
        RenderedFile::Notes(text)
    } else {
        RenderedFile::Read(read_file(path, &text))
    }
}

impl HeadReader {
    /// A reader for a render of `template_bytes` bytes of templates: on a
    /// helper thread when that is large, else inline. For a small chart
    /// the thread costs more (its start, wake-ups, and both threads
    /// taking the allocator's lock) than the reading it would overlap.
    pub fn start(template_bytes: usize) -> std::io::Result<HeadReader> {
        if template_bytes < HELPER_THREAD_BYTES {
            return Ok(HeadReader {
                mode: ReaderMode::Inline(BTreeMap::new()),
            });
        }
        let (tx, rx) = std::sync::mpsc::channel::<(String, String)>();
        let worker = crate::render::spawn_helper("heads", move || {
            rx.into_iter()
                .map(|(path, text)| {
                    let file = rendered_file(&path, text);
                    (path, file)
                })
                .collect()
        })?;
        Ok(HeadReader {
            mode: ReaderMode::Helper { tx, worker },
        })
    }

    /// Queues (or reads) a rendered file.
    pub fn send(&mut self, path: String, text: String) {
        match &mut self.mode {
            ReaderMode::Inline(done) => {
                let file = rendered_file(&path, text);
                done.insert(path, file);
            }
            // The worker only stops when this sender is gone or it
            // panicked; `finish` reports the latter.
            ReaderMode::Helper { tx, .. } => {
                let _ = tx.send((path, text));
            }
        }
    }

    /// Every file sent, by path.
    pub fn finish(self) -> Result<BTreeMap<String, RenderedFile>, ManifestError> {
        match self.mode {
            ReaderMode::Inline(done) => Ok(done),
            ReaderMode::Helper { tx, worker } => {
                drop(tx);
                worker.join().map_err(|_| ManifestError {
                    path: String::new(),
                    message: "internal error reading manifest heads".into(),
                })
            }
        }
    }
}

/// Template text above which [`HeadReader`] uses a helper thread.
pub const HELPER_THREAD_BYTES: usize = 256 * 1024;

/// Helm's `SortManifests` with `InstallOrder`: rendered files (path → text)
/// become hooks and manifests, both sorted by kind (stable).
pub fn sort_manifests(
    files: &BTreeMap<String, String>,
) -> Result<(Vec<Hook>, Vec<Manifest>), ManifestError> {
    sort_read(
        files
            .iter()
            .map(|(path, content)| (path.clone(), read_file(path, content)))
            .collect(),
    )
}

/// [`sort_manifests`] for files already split and read, in path order.
pub fn sort_read(
    files: BTreeMap<String, ReadFile>,
) -> Result<(Vec<Hook>, Vec<Manifest>), ManifestError> {
    let mut hooks = Vec::new();
    let mut generic = Vec::new();
    for (path, docs) in files {
        for (doc, head) in docs {
            let head = head.map_err(|message| ManifestError {
                path: path.clone(),
                message,
            })?;
            let Some(hook_types) = head.annotations.get(HOOK_ANNOTATION).cloned() else {
                generic.push(Manifest {
                    name: path.clone(),
                    content: doc,
                    head,
                });
                continue;
            };
            let mut events = Vec::new();
            let mut unknown = false;
            for t in hook_types.split(',') {
                match hook_event(&t.trim_matches(go_space).to_lowercase()) {
                    Some(e) => events.push(e.to_string()),
                    None => {
                        unknown = true;
                        break;
                    }
                }
            }
            if unknown {
                continue;
            }
            let weight = head
                .annotations
                .get(HOOK_WEIGHT_ANNOTATION)
                .map(|w| atoi(w))
                .unwrap_or(0);
            let delete_policies = head
                .annotations
                .get(HOOK_DELETE_ANNOTATION)
                .map(|d| {
                    d.split(',')
                        .map(|x| x.trim_matches(go_space).to_lowercase())
                        .collect()
                })
                .unwrap_or_default();
            hooks.push(Hook {
                name: head.name.clone().unwrap_or_default(),
                kind: head.kind.clone(),
                path: path.clone(),
                manifest: doc,
                events,
                weight,
                delete_policies,
            });
        }
    }
    hooks.sort_by(|a, b| kind_order(&a.kind, &b.kind));
    generic.sort_by(|a, b| kind_order(&a.head.kind, &b.head.kind));
    Ok((hooks, generic))
}

/// Helm's `lessByKind` with `InstallOrder` as an ordering (Rust's sort is stable).
pub fn kind_order(a: &str, b: &str) -> std::cmp::Ordering {
    kind_order_in(INSTALL_ORDER, a, b)
}

/// Helm's `lessByKind` with `UninstallOrder`.
pub fn uninstall_kind_order(a: &str, b: &str) -> std::cmp::Ordering {
    kind_order_in(UNINSTALL_ORDER, a, b)
}

/// Helm's `lessByKind` for a kind order: listed kinds in list order,
/// unknown kinds after them, alphabetically.
pub fn kind_order_in(order: &[&str], a: &str, b: &str) -> std::cmp::Ordering {
    let pa = order.iter().position(|k| *k == a);
    let pb = order.iter().position(|k| *k == b);
    match (pa, pb) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// Appends one `---\n# Source: NAME\nTEXT\n` block, as Helm prints.
pub fn write_source(out: &mut String, name: &str, text: &str) {
    out.push_str("---\n# Source: ");
    out.push_str(name);
    out.push('\n');
    out.push_str(text);
    out.push('\n');
}

/// What `helm template` prints: CRDs (when asked), manifests, then hooks
/// (test hooks skipped when asked).
pub fn template_output(
    crds: &[(String, String)],
    manifests: &[Manifest],
    hooks: &[Hook],
    skip_tests: bool,
) -> String {
    let mut out = Vec::new();
    // Writing to a vector cannot fail.
    let _ = write_template_output(&mut out, crds, manifests, hooks, skip_tests);
    output_text(out)
}

/// Written output as text. It is made of `str` pieces, so it is UTF-8;
/// anything else would be shown lossily rather than dropped.
pub fn output_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// [`template_output`], written piece by piece to `w` (no copy of the whole
/// output is made).
pub fn write_template_output(
    w: &mut dyn std::io::Write,
    crds: &[(String, String)],
    manifests: &[Manifest],
    hooks: &[Hook],
    skip_tests: bool,
) -> std::io::Result<()> {
    let sources: Vec<(&str, &str)> = crds
        .iter()
        .map(|(name, text)| (name.as_str(), text.as_str()))
        .chain(
            manifests
                .iter()
                .map(|m| (m.name.as_str(), m.content.as_str())),
        )
        .collect();
    // Helm prints `strings.TrimSpace(manifests) + "\n"`. Every source starts
    // with `---`, so only the end of the last one can be trimmed.
    let mut piece = String::new();
    if let Some(((last_name, last_text), rest)) = sources.split_last() {
        for (name, text) in rest {
            piece.clear();
            write_source(&mut piece, name, text);
            w.write_all(piece.as_bytes())?;
        }
        piece.clear();
        write_source(&mut piece, last_name, last_text);
        w.write_all(piece.trim_end_matches(go_space).as_bytes())?;
    }
    w.write_all(b"\n")?;
    for h in hooks {
        if skip_tests && h.is_test() {
            continue;
        }
        piece.clear();
        write_source(&mut piece, &h.path, &h.manifest);
        w.write_all(piece.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_helm() {
        // As Go's regexp: the `\s*` after one separator swallows the newline
        // a directly following `---` would need.
        let docs = split_manifests("\n---\na: 1\n  \n---\n\n---  \nb: 2\n---c: 3\n");
        assert_eq!(docs, vec!["a: 1", "---  \nb: 2", "c: 3"]);
        assert_eq!(split_manifests("a: 1\n---\u{a0}b"), vec!["a: 1", "b"]);
        assert_eq!(
            split_manifests("a\n--- \t\n\nb\r\n---c"),
            vec!["a", "b", "c"]
        );
        assert_eq!(split_manifests("---\n---\nx"), vec!["---\nx"]);
    }

    #[test]
    fn kinds_sort_stably_unknown_last() {
        let mut kinds = vec!["Zed", "Deployment", "Alpha", "Namespace", "Deployment"];
        kinds.sort_by(|a, b| kind_order(a, b));
        assert_eq!(
            kinds,
            vec!["Namespace", "Deployment", "Deployment", "Alpha", "Zed"]
        );
    }

    #[test]
    fn heads_match_the_decoder() {
        let docs = [
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n    a: \"1\"\n    helm.sh/hook: pre-install\ndata:\n  k: [1, {a: b}]\n",
            "kind: A\nkind: B\nmetadata: {name: a}\nmetadata:\n  annotations: {x: y2}\n",
            "apiVersion: 5\nkind: X\n",
            "metadata:\n  name: 12\n",
            "metadata:\n  annotations:\n    w: 5\n",
            "metadata: null\nkind: x\n",
            "metadata:\n",
            "# just a comment",
            "- a\n- b\n",
            "a: &x 1\nb: *x\n",
            "a: .nan\n",
            "x: {? [a]: b}\n",
            "kind: 'q'\nspec:\n  list:\n  - metadata:\n      name: inner\n",
            "a: [\n",
            "kind: \"A\"\n...\n",
        ];
        for d in docs {
            assert_eq!(parse_head(d), parse_head_full(d), "{d}");
        }
        assert_eq!(
            parse_head("kind: A\nkind: B\n").map(|h| h.kind),
            Ok("B".to_string())
        );
    }

    #[test]
    fn weights_parse_like_atoi() {
        assert_eq!(atoi("-5"), -5);
        assert_eq!(atoi("+3"), 3);
        assert_eq!(atoi(" 3"), 0);
    }
}
