//! A line scanner for the head of a rendered manifest (`apiVersion`, `kind`,
//! `metadata.name`, `metadata.annotations`) that also decides the document
//! is valid YAML, without building parser events.
//!
//! Helm unmarshals every rendered document into its `SimpleHead`, so invalid
//! YAML anywhere in a document is an error. Rendered manifests are almost
//! always plain block YAML: mappings, sequences (also "indentless" ones under
//! a key), plain and quoted scalars (multi-line ones outside the head
//! fields), block scalars (`|`, `>-`, …), comments and empty `{}` / `[]`.
//! This scanner accepts exactly that subset and answers `None` for anything
//! else (tabs, non-empty flow collections, anchors, tags, documents markers,
//! complex keys, rare escapes, any doubt), so the caller falls back to the
//! full parser. Debug builds check every answer against the full
//! decoder.

use std::collections::BTreeMap;

use crate::godata::yaml::resolve::{Resolved, all_chars, reader_allows, resolve_plain};

/// The head of a manifest (`releaseutil.SimpleHead`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Head {
    pub api_version: String,
    pub kind: String,
    /// `None` when the document has no `metadata`.
    pub name: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

/// Where an open block collection sits in the head structure.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Root,
    Metadata,
    Annotations,
    /// A head field that must be a string (`kind`, `metadata.name`, …).
    Scalar,
    Other,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Map,
    Seq,
}

#[derive(Clone, Copy)]
struct Frame {
    indent: usize,
    kind: Kind,
    place: Place,
}

/// What the previous content line left open.
#[derive(Clone)]
enum Pending {
    None,
    /// `key:` with nothing after it, the key at this column; `place` and
    /// `slot` say what it is to the head.
    KeyEmpty {
        indent: usize,
        place: Place,
        slot: Slot,
    },
    /// `-` with nothing after it, at this column.
    DashEmpty {
        indent: usize,
    },
    /// A quoted scalar (outside the head) still open, opened by `quote`,
    /// whose lines must stay indented past column `parent`.
    Quoted {
        quote: u8,
        parent: usize,
    },
    /// A plain scalar that continues on lines indented past this column.
    Plain {
        parent: usize,
    },
}

/// The head of `doc` when it is in the simple subset, `None` otherwise.
pub fn scan_head(doc: &str) -> Option<Head> {
    if !in_scanned_charset(doc) {
        return None;
    }
    let mut s = Scanner {
        head: Head::default(),
        stack: Vec::with_capacity(16),
        pending: Pending::None,
        root_seen: false,
    };
    let mut lines = doc.split('\n').peekable();
    while let Some(line) = lines.next() {
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        let body = body.trim_end_matches(' ');
        if let Pending::Quoted { quote, parent } = s.pending {
            // Inside the scalar, `#` and blank lines are content.
            if body.is_empty() {
                continue;
            }
            if indent <= parent {
                return None;
            }
            match quoted_tail(body, quote)? {
                Some(rest) if only_comment(rest) => s.pending = Pending::None,
                Some(_) => return None,
                None => {}
            }
            continue;
        }
        if body.is_empty() {
            continue;
        }
        if body.starts_with('#') {
            // A comment ends a plain scalar; what follows must be structure.
            if let Pending::Plain { .. } = s.pending {
                s.pending = Pending::None;
            }
            continue;
        }
        if indent == 0
            && (body.starts_with("---") || body.starts_with("...") || body.starts_with('%'))
        {
            return None;
        }
        if let Pending::Plain { parent } = s.pending {
            if indent > parent {
                plain_continuation(body)?;
                continue;
            }
            s.pending = Pending::None;
        }
        let block_parent = s.line(indent, body)?;
        if let Some(parent) = block_parent {
            skip_block_scalar(&mut lines, parent)?;
        }
    }
    if let Pending::Quoted { .. } = s.pending {
        return None;
    }
    // `key:` with nothing nested is null.
    if let Pending::KeyEmpty { place, slot, .. } = std::mem::replace(&mut s.pending, Pending::None)
    {
        s.null(place, slot);
    }
    s.root_seen.then_some(s.head)
}

/// Characters the YAML reader allows, less tabs and line breaks other
/// than `\n` (the scanner measures indentation in spaces).
fn in_scanned_charset(doc: &str) -> bool {
    all_chars(
        doc,
        |b| (b == b'\n') | (0x20..0x7f).contains(&b),
        |c| reader_allows(c) && !matches!(c, '\t' | '\r' | '\u{85}'),
    )
}

struct Scanner {
    head: Head,
    stack: Vec<Frame>,
    pending: Pending,
    root_seen: bool,
}

impl Scanner {
    /// One content line (outside scalars). Returns the parent column when
    /// the line opens a block scalar, whose lines the caller then skips.
    fn line(&mut self, indent: usize, body: &str) -> Option<Option<usize>> {
        let dash = body == "-" || body.starts_with("- ");
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::KeyEmpty {
                indent: k,
                place,
                slot,
            } => {
                if indent > k && (body == "{}" || body == "[]") {
                    // An empty flow collection on its own line: the value.
                    return self.empty_flow(place, body).map(|()| None);
                }
                if indent > k || (indent == k && dash) {
                    let kind = if dash { Kind::Seq } else { Kind::Map };
                    let nested = nested_place(place, kind)?;
                    self.open(indent, kind, nested);
                } else {
                    self.null(place, slot);
                }
            }
            Pending::DashEmpty { indent: d } => {
                if indent > d {
                    self.open(
                        indent,
                        if dash { Kind::Seq } else { Kind::Map },
                        Place::Other,
                    );
                }
            }
            Pending::None | Pending::Plain { .. } | Pending::Quoted { .. } => {}
        }
        while self.stack.last().is_some_and(|f| f.indent > indent) {
            self.stack.pop();
        }
        if self.stack.is_empty() {
            if self.root_seen || indent != 0 || dash {
                return None;
            }
            self.root_seen = true;
            self.open(0, Kind::Map, Place::Root);
        }
        let top = *self.stack.last()?;
        if dash {
            if top.kind != Kind::Seq || top.indent != indent {
                return None;
            }
            return self.seq_item(indent, body);
        }
        if top.indent != indent {
            return None;
        }
        let frame = if top.kind == Kind::Seq {
            // The end of an indentless sequence under a key at this column.
            self.stack.pop();
            let f = *self.stack.last()?;
            if f.kind != Kind::Map || f.indent != indent {
                return None;
            }
            f
        } else {
            top
        };
        self.key_line(indent, body, frame.place)
    }

    fn open(&mut self, indent: usize, kind: Kind, place: Place) {
        match place {
            Place::Metadata => {
                self.head.name = Some(String::new());
                self.head.annotations.clear();
            }
            Place::Annotations => self.head.annotations.clear(),
            Place::Root | Place::Scalar | Place::Other => {}
        }
        self.stack.push(Frame {
            indent,
            kind,
            place,
        });
    }

    /// `- ...` at column `indent` of an open sequence.
    fn seq_item(&mut self, indent: usize, body: &str) -> Option<Option<usize>> {
        let rest = &body[1..];
        let content = rest.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            self.pending = Pending::DashEmpty { indent };
            return Some(None);
        }
        if content == "-" || content.starts_with("- ") {
            return None;
        }
        let col = indent + 1 + (rest.len() - content.len());
        if split_key(content).is_some() {
            self.open(col, Kind::Map, Place::Other);
            return self.key_line(col, content, Place::Other);
        }
        self.value(indent, content, None)
    }

    /// `key: value` at column `indent` of a mapping in `place`.
    fn key_line(&mut self, indent: usize, body: &str, place: Place) -> Option<Option<usize>> {
        let (key, value) = split_key(body)?;
        let value = if value.starts_with('#') { "" } else { value };
        let field = head_field(place, &key);
        if value.is_empty() {
            let (place, slot) = field.map_or((Place::Other, Slot::None), |f| (f.place, f.slot));
            self.pending = Pending::KeyEmpty {
                indent,
                place,
                slot,
            };
            return Some(None);
        }
        self.value(indent, value, field)
    }

    /// A scalar value on a key or item line whose collection is at `parent`.
    fn value(&mut self, parent: usize, v: &str, field: Option<Field>) -> Option<Option<usize>> {
        let quote = v.as_bytes()[0];
        let text = match quote {
            b'"' | b'\'' if field.is_none() => {
                // Outside the head only validity matters: no text is built.
                match quoted_tail(&v[1..], quote)? {
                    Some(rest) if only_comment(rest) => {}
                    Some(_) => return None,
                    // Not closed on this line: later lines continue it.
                    None => self.pending = Pending::Quoted { quote, parent },
                }
                return Some(None);
            }
            b'"' | b'\'' => {
                let (text, rest) = quoted(v)?;
                if !only_comment(rest) {
                    return None;
                }
                text
            }
            b'|' | b'>' => {
                if field.is_some() || !matches!(&v[1..], "" | "-" | "+") {
                    return None;
                }
                return Some(Some(parent));
            }
            b'{' | b'[' => {
                // `v.get` also declines `{` followed by a multi-byte char.
                let (Some(body), Some(rest)) = (v.get(..2), v.get(2..)) else {
                    return None;
                };
                if !matches!(body, "{}" | "[]") || !only_comment(rest) {
                    return None;
                }
                return self
                    .empty_flow(field.map_or(Place::Other, |f| f.place), body)
                    .map(|()| None);
            }
            _ => {
                // A comment ends the scalar, which then cannot continue.
                let (v, commented) = match find_pair(v, b' ', b'#') {
                    Some(i) => (v[..i].trim_end_matches(' '), true),
                    None => (v, false),
                };
                plain_first(v)?;
                match resolve_plain(v) {
                    Resolved::Float(f) if !f.is_finite() => return None,
                    Resolved::Str => {}
                    _ if field.is_some() => return None,
                    _ => {}
                }
                self.pending = Pending::Plain { parent };
                if field.is_some() || commented {
                    // Head fields must be single-line: no continuation allowed.
                    self.pending = Pending::Plain { parent: usize::MAX };
                }
                if field.is_none() {
                    return Some(None);
                }
                v.to_string()
            }
        };
        if let Some(f) = field {
            if f.place != Place::Scalar {
                // A scalar where the head wants a mapping: a type error.
                return None;
            }
            self.set(f.slot, text);
        }
        Some(None)
    }

    /// `{}` or `[]` as the value of a key in `place`: fine outside the head;
    /// an empty `metadata` or `annotations` mapping inside it.
    fn empty_flow(&mut self, place: Place, body: &str) -> Option<()> {
        match (place, body) {
            (Place::Other, _) => Some(()),
            (Place::Metadata | Place::Annotations, "{}") => {
                // As an empty block mapping there: open it, nothing inside.
                self.open(usize::MAX, Kind::Map, place);
                self.stack.pop();
                Some(())
            }
            _ => None,
        }
    }

    /// A head key whose value is null, as the decoder reads it: strings
    /// become "", a null `metadata` has no name, null annotations none.
    fn null(&mut self, place: Place, slot: Slot) {
        match place {
            Place::Metadata => {
                self.head.name = None;
                self.head.annotations.clear();
            }
            Place::Annotations => self.head.annotations.clear(),
            Place::Scalar => self.set(slot, String::new()),
            Place::Root | Place::Other => {}
        }
    }

    fn set(&mut self, slot: Slot, value: String) {
        match slot {
            Slot::ApiVersion => self.head.api_version = value,
            Slot::Kind => self.head.kind = value,
            Slot::Name => self.head.name = Some(value),
            Slot::Annotation(k) => {
                self.head.annotations.insert(k, value);
            }
            Slot::None => {}
        }
    }
}

#[derive(Clone, PartialEq)]
enum Slot {
    ApiVersion,
    Kind,
    Name,
    Annotation(String),
    None,
}

/// A key that matters to the head: the scalar slot it fills, or the place
/// its nested mapping becomes.
struct Field {
    slot: Slot,
    place: Place,
}

fn head_field(place: Place, key: &str) -> Option<Field> {
    let (slot, nested) = match (place, key) {
        (Place::Root, "apiVersion") => (Slot::ApiVersion, Place::Scalar),
        (Place::Root, "kind") => (Slot::Kind, Place::Scalar),
        (Place::Root, "metadata") => (Slot::None, Place::Metadata),
        (Place::Metadata, "name") => (Slot::Name, Place::Scalar),
        (Place::Metadata, "annotations") => (Slot::None, Place::Annotations),
        (Place::Annotations, k) => (Slot::Annotation(k.to_string()), Place::Scalar),
        _ => return None,
    };
    Some(Field {
        slot,
        place: nested,
    })
}

/// The place of a collection nested under a key whose own place is given
/// (`Other` for plain keys); a sequence or a mapping where the head wants a
/// string is left to the full decoder (it words the type error).
fn nested_place(place: Place, kind: Kind) -> Option<Place> {
    match (place, kind) {
        (Place::Other, _) => Some(Place::Other),
        (Place::Metadata | Place::Annotations, Kind::Map) => Some(place),
        _ => None,
    }
}

/// Splits `key: value` / `key:` with a plain, string-resolving key or a
/// single-line quoted key.
fn split_key(body: &str) -> Option<(std::borrow::Cow<'_, str>, &str)> {
    let b = body.as_bytes();
    if matches!(b[0], b'"' | b'\'') {
        let (key, rest) = quoted(body)?;
        let after = rest.strip_prefix(':')?;
        if !(after.is_empty() || after.starts_with(' ')) {
            return None;
        }
        return Some((key.into(), after.trim_start_matches(' ')));
    }
    if is_indicator(b[0]) || b[0] == b'-' && b.get(1).is_none_or(|&c| c == b' ') {
        return None;
    }
    let colon = body.find(':')?;
    let key = &body[..colon];
    let after = &body[colon + 1..];
    if !(after.is_empty() || after.starts_with(' ')) {
        // `a:b` is one plain scalar; a later `: ` makes this line odd.
        return None;
    }
    if key.is_empty() || key.ends_with(' ') || find_pair(key, b' ', b'#').is_some() {
        return None;
    }
    if !matches!(resolve_plain(key), Resolved::Str) {
        return None;
    }
    Some((key.into(), after.trim_start_matches(' ')))
}

/// Characters that cannot start a plain scalar (YAML's c-indicators, less
/// `-`, `?`, `:` which are handled by their callers).
fn is_indicator(c: u8) -> bool {
    matches!(
        c,
        b'#' | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'?'
            | b':'
    )
}

/// The first line of a plain scalar value.
fn plain_first(v: &str) -> Option<()> {
    let b = v.as_bytes();
    if is_indicator(b[0]) || (b[0] == b'-' && b.get(1).is_none_or(|&c| c == b' ')) {
        return None;
    }
    plain_rest(v)
}

/// A continuation line of a multi-line plain scalar: in block context any
/// character may start it (indicators are text there); `- ` and `? ` are
/// left to the full decoder, `#` never gets here (a comment line).
fn plain_continuation(body: &str) -> Option<()> {
    let b = body.as_bytes();
    if matches!(b[0], b'-' | b'?' | b':') && b.get(1).is_none_or(|&c| c == b' ') {
        return None;
    }
    plain_rest(body)
}

/// No `: ` / ` #` inside and no `:` at the end (those end a plain scalar).
fn plain_rest(v: &str) -> Option<()> {
    if find_pair(v, b':', b' ').is_some() || find_pair(v, b' ', b'#').is_some() || v.ends_with(':')
    {
        return None;
    }
    Some(())
}

/// A single-line quoted scalar at the start of `v` (double-quoted escapes
/// are checked; only the plain ones are decoded, others give `None`): its
/// text and what follows the closing quote.
fn quoted(v: &str) -> Option<(String, &str)> {
    let b = v.as_bytes();
    let q = b[0];
    let mut i = 1;
    let mut out = String::new();
    let mut start = 1;
    while i < b.len() {
        if b[i] == q {
            out.push_str(&v[start..i]);
            if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                out.push('\'');
                i += 2;
                start = i;
                continue;
            }
            return Some((out, &v[i + 1..]));
        }
        if q == b'"' && b[i] == b'\\' {
            out.push_str(&v[start..i]);
            out.push(match *b.get(i + 1)? {
                b'\\' => '\\',
                b'"' => '"',
                b'/' => '/',
                b'n' => '\n',
                b't' => '\t',
                _ => return None,
            });
            i += 2;
            start = i;
            continue;
        }
        i += 1;
    }
    None
}

/// Scans a line of quoted-scalar content (after the opening quote, or a
/// continuation line) for the closing `quote`: `Some(rest)` after it,
/// `None` when the scalar goes on to the next line; `Err`-like outer `None`
/// for escapes outside the checked set (left to the full decoder).
fn quoted_tail(line: &str, quote: u8) -> Option<Option<&str>> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == quote {
            if quote == b'\'' && b.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(Some(&line[i + 1..]));
        }
        if quote == b'"' && c == b'\\' {
            match b.get(i + 1) {
                // An escaped line break.
                None => return Some(None),
                Some(
                    b'\\' | b'"' | b'/' | b'n' | b't' | b'r' | b'0' | b'a' | b'b' | b'e' | b'f'
                    | b'v' | b' ' | b'N' | b'_' | b'L' | b'P',
                ) => i += 2,
                Some(_) => return None,
            }
            continue;
        }
        i += 1;
    }
    Some(None)
}

/// The first index of the two-byte sequence `a b` in `s` (what
/// `s.find(" #")` answers, without setting up a substring searcher per line).
fn find_pair(s: &str, a: u8, b: u8) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memchr(a, &bytes[from..]) {
        let at = from + i;
        if bytes.get(at + 1) == Some(&b) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// What may follow a scalar on its line: nothing, or blanks and a comment.
fn only_comment(rest: &str) -> bool {
    rest.is_empty() || (rest.starts_with(' ') && rest.trim_start_matches(' ').starts_with('#'))
}

/// Skips the lines of a block scalar whose collection is at column
/// `parent`: its content is indented past `parent` (by the first content
/// line's indentation); leading blank lines must be empty.
fn skip_block_scalar<'a>(
    lines: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>,
    parent: usize,
) -> Option<()> {
    let mut content_indent: Option<usize> = None;
    while let Some(&line) = lines.peek() {
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        if body.is_empty() {
            if content_indent.is_none() && !line.is_empty() {
                return None;
            }
            lines.next();
            continue;
        }
        match content_indent {
            None if indent > parent => content_indent = Some(indent),
            None => return Some(()),
            Some(ci) if indent >= ci => {}
            Some(_) if indent > parent => return None,
            Some(_) => return Some(()),
        }
        lines.next();
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::manifest::parse_head_full;

    fn agree(doc: &str) {
        if let Some(h) = scan_head(doc) {
            assert_eq!(Ok(h), parse_head_full(doc), "scanner differs for:\n{doc}");
        }
    }

    #[test]
    fn common_shapes_are_scanned() {
        let doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n    helm.sh/hook: pre-install\n    \"q\": 1\ndata:\n  a: |-\n    text: here\n    - more\n\n  b: >\n    folded\n  list:\n  - a\n  - k: v\n    j:\n    - 1\n  long: one\n    two three\n  e: {}\n";
        // The quoted annotation key is outside the subset.
        assert!(scan_head(doc).is_none());
        let doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n    helm.sh/hook: pre-install\n    w: 'it''s'\ndata:\n  a: |-\n    text: here\n    - more\n\n  b: >\n    folded\n  list:\n  - a\n  - k: v\n    j:\n    - 1\n  long: one\n    two three\n  e: {}\n";
        let h = scan_head(doc).expect("in the subset");
        assert_eq!(h.kind, "ConfigMap");
        assert_eq!(h.name.as_deref(), Some("x"));
        assert_eq!(h.annotations.get("w").map(String::as_str), Some("it's"));
        agree(doc);
    }

    #[test]
    fn multi_line_scalars_and_empty_head_maps_are_scanned() {
        let docs = [
            // Quoted scalars over several lines, `#` and blank lines inside.
            "apiVersion: v1\nkind: A\nmetadata:\n  name: x\nspec:\n  d: 'Refresh (default:\n    false) it''s\n\n    # not a comment'\n  e: \"two\\\n    lines \\\"q\\\"\"  # c\n  f: 1\n",
            // Plain continuation lines starting with indicators.
            "apiVersion: v1\nkind: A\nmetadata:\n  name: x\nspec:\n  d: a duration (e.g.\n    \"2m\", \"1h\")\n    [x] {y} *z &w !v |u >t %s @r `q\n  g: h\n",
            // Empty head mappings in flow style.
            "apiVersion: v1\nkind: A\nmetadata:\n  name: x\n  annotations:\n    {}\n",
            "apiVersion: v1\nkind: A\nmetadata:\n  name: x\n  annotations: {}\n",
            "apiVersion: v1\nkind: A\nmetadata: {}\n",
        ];
        for doc in docs {
            assert!(scan_head(doc).is_some(), "declined:\n{doc}");
            agree(doc);
        }
        // Unclosed at the end, or a continuation not indented past the key;
        // a flow opener before a multi-byte character (found by fuzzing).
        for doc in [
            "apiVersion: v1\nkind: A\nmetadata:\n  name: x\nd: {\u{e9}}\n",
            "apiVersion: v1\nkind: A\nmetadata:\n  name: x\nd: [\n",
            "apiVersion: v1\nkind: A\nmetadata:\n  name: x\nd: 'open\n",
            "apiVersion: v1\nkind: A\nmetadata:\n  name: x\nspec:\n  d: 'open\n  more'\n",
            "apiVersion: v1\nkind: A\nmetadata:\n  name: x\nspec:\n  d: \"bad \\q\n    x\"\n",
        ] {
            assert!(scan_head(doc).is_none(), "accepted:\n{doc}");
        }
    }

    /// Every single-line deletion, duplication and re-indentation of the
    /// corpus's rendered documents: the scanner either declines or agrees
    /// with the full decoder (result and error alike).
    #[test]
    fn mutations_of_corpus_documents_agree_with_the_decoder() {
        let golden =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/charts/golden");
        let golden = if golden.is_dir() {
            golden
        } else {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/charts/golden")
        };
        let mut docs = Vec::new();
        for name in [
            "ghost",
            "grafana",
            "ingress-nginx",
            "podinfo",
            "prometheus-node-exporter",
        ] {
            let text = std::fs::read_to_string(golden.join(format!("{name}.yaml")))
                .expect("golden output (../shared/charts)");
            docs.extend(crate::render::manifest::split_manifests(&text));
        }
        let mut scanned = 0;
        for doc in &docs {
            if scan_head(doc).is_some() {
                scanned += 1;
            }
            agree(doc);
            let lines: Vec<&str> = doc.split('\n').collect();
            for i in 0..lines.len() {
                let mut variants = Vec::new();
                let mut del = lines.clone();
                del.remove(i);
                variants.push(del.join("\n"));
                let mut dup = lines.clone();
                dup.insert(i, lines[i]);
                variants.push(dup.join("\n"));
                for shift in [" ", "   "] {
                    let mut ind = lines.clone();
                    let moved = format!("{shift}{}", lines[i]);
                    ind[i] = &moved;
                    variants.push(ind.join("\n"));
                }
                if let Some(stripped) = lines[i].strip_prefix("  ") {
                    let mut ded = lines.clone();
                    ded[i] = stripped;
                    variants.push(ded.join("\n"));
                }
                for v in &variants {
                    agree(v);
                }
            }
        }
        assert!(
            scanned * 2 > docs.len(),
            "{scanned} of {} documents scanned",
            docs.len()
        );
        // The big outputs, as rendered (their CRDs are most of the work).
        for name in ["argo-cd", "cert-manager", "nginx", "scaffold"] {
            let text = std::fs::read_to_string(golden.join(format!("{name}.yaml")))
                .expect("golden output (../shared/charts)");
            let docs = crate::render::manifest::split_manifests(&text);
            let scanned = docs.iter().filter(|d| scan_head(d).is_some()).count();
            docs.iter().for_each(|d| agree(d));
            assert!(
                scanned * 2 > docs.len(),
                "{name}: {scanned} of {} scanned",
                docs.len()
            );
        }
    }
}
#[cfg(test)]
mod probe {
    #[test]
    fn probe_declines() {
        let text = std::fs::read_to_string("/work/shared/charts/golden/argo-cd.yaml").unwrap();
        for d in crate::render::manifest::split_manifests(&text) {
            if super::scan_head(&d).is_none() {
                // find the shortest prefix (by lines) that declines
                let lines: Vec<&str> = d.split('\n').collect();
                let mut last = 0;
                for lo in 1..=lines.len().min(3000) {
                    if super::scan_head(&lines[..lo].join("\n")).is_some() {
                        last = lo;
                    }
                }
                eprintln!(
                    "DECLINE len={} at line {}: {:?}",
                    d.len(),
                    last + 1,
                    lines.get(last)
                );
            }
        }
    }
}
