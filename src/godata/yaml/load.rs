//! Reading YAML the way `sigs.k8s.io/yaml.Unmarshal` does: the first
//! document is parsed (events from `saphyr-parser`), decoded with go-yaml v2's
//! rules (YAML 1.1 resolution, merge keys, aliases, last duplicate key wins),
//! map keys turned into strings, then passed through JSON, so every number
//! becomes a float64 and NaN/Inf are errors.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};

use super::resolve::{Resolved, TAG_PREFIX, resolve_plain, resolve_tagged};
use crate::godata::json::format_float;
use crate::godata::value::{Map, Value};

/// Why loading failed: `Yaml` errors come from go-yaml (`yaml: line 3: ...`),
/// `Json` errors from the JSON step (`json: unsupported value: NaN`).
#[derive(Debug, Clone, PartialEq)]
pub enum LoadError {
    Yaml(String),
    Json(String),
}

type Id = usize;

/// A parsed node of the first document.
enum Node<'t> {
    Scalar {
        value: Cow<'t, str>,
        plain: bool,
        tag: Option<String>,
    },
    Seq(Vec<Id>),
    Map(Vec<(Id, Id)>),
    /// An alias: its target and the anchor name written in the source.
    Alias(Id, String),
}

/// The node tree of the first document (`None` for an empty stream).
struct Doc<'t> {
    nodes: Vec<Node<'t>>,
    root: Option<Id>,
}

/// Parses the first YAML document of `text` into a JSON-like value.
pub fn load_first(text: &str) -> Result<Value, LoadError> {
    if !super::resolve::reader_allows_all(text) {
        return Err(yaml_err("control characters are not allowed"));
    }
    // libyaml treats NEL as a line break everywhere (and reads it as `\n`).
    let normalized;
    let text = if text.contains('\u{85}') {
        normalized = text.replace('\u{85}', "\n");
        normalized.as_str()
    } else {
        text
    };
    let v = parse_first(text, decode_doc)?;
    check_json(&v)?;
    Ok(v)
}

fn decode_doc(doc: &Doc<'_>) -> Result<Value, LoadError> {
    let Some(root) = doc.root else {
        return Ok(Value::Nil);
    };
    let mut d = Decoder {
        doc,
        active_aliases: HashSet::new(),
        decode_count: 0,
        alias_count: 0,
        alias_depth: 0,
    };
    d.decode(root)
}

/// Rejects what `json.Marshal` cannot encode (NaN and infinities).
fn check_json(v: &Value) -> Result<(), LoadError> {
    crate::godata::json::deep(|| check_json_here(v))
}

fn check_json_here(v: &Value) -> Result<(), LoadError> {
    match v {
        Value::Float(f) if !f.is_finite() => Err(LoadError::Json(format!(
            "json: unsupported value: {}",
            format_float(*f, 'g', 64)
        ))),
        Value::List(l) => l.items.iter().try_for_each(check_json),
        Value::Map(_, m) => m.borrow().values().try_for_each(check_json),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// Events to nodes

/// Parses the first document. libyaml (unlike saphyr) accepts continuation
/// lines of quoted scalars at any indentation; since folding drops leading
/// blanks anyway, such lines are re-indented and the text parsed again.
fn parse_first(
    text: &str,
    finish: impl Fn(&Doc<'_>) -> Result<Value, LoadError>,
) -> Result<Value, LoadError> {
    let mut current = Cow::Borrowed(text);
    // Each fix changes the text at a new position or not at all: a scalar
    // already re-indented (or a tab already replaced) that still fails would
    // only grow the text on every round (quadratic time on hostile input).
    let mut reindented = std::collections::HashSet::new();
    let mut tabs_fixed = std::collections::HashSet::new();
    for _ in 0..1000 {
        let fixed = match parse_events(&current) {
            Err(Retry::Reindent(start)) if reindented.insert(start) => {
                reindent_quoted(&current, start)
            }
            Err(Retry::TabAfterColon(at)) if tabs_fixed.insert(at) => {
                tab_to_space_after(&current, at)
            }
            Err(Retry::Reindent(_) | Retry::TabAfterColon(_)) => None,
            Err(Retry::Fail(e)) => return Err(e),
            Ok(doc) => return finish(&doc),
        };
        match fixed {
            Some(fixed) => current = Cow::Owned(fixed),
            None => break,
        }
    }
    match parse_events(&current) {
        Ok(doc) => finish(&doc),
        Err(Retry::Fail(e)) => Err(e),
        Err(Retry::TabAfterColon(_)) => Err(LoadError::Yaml(
            "yaml: found character that cannot start any token".into(),
        )),
        Err(Retry::Reindent(_)) => Err(LoadError::Yaml(
            "yaml: invalid indentation in quoted scalar".into(),
        )),
    }
}

enum Retry {
    /// A quoted scalar starting at this character index has under-indented
    /// continuation lines.
    Reindent(usize),
    /// A `:` at this character index is followed by a tab, which libyaml
    /// accepts as separation but saphyr does not.
    TabAfterColon(usize),
    Fail(LoadError),
}

/// Replaces the tab after the `:` that precedes char index `at` (saphyr
/// reports the position after the blanks) with a space.
fn tab_to_space_after(text: &str, at: usize) -> Option<String> {
    let mut chars: Vec<char> = text.chars().collect();
    let mut i = at.min(chars.len());
    while i > 0 && matches!(chars[i - 1], ' ' | '\t') {
        i -= 1;
    }
    if i == 0 || chars[i - 1] != ':' || chars.get(i) != Some(&'\t') {
        return None;
    }
    chars[i] = ' ';
    Some(chars.into_iter().collect())
}

/// Indents every continuation line of the quoted scalar starting at char
/// index `start` by the scalar's column (lines opening with a document
/// marker are left alone: libyaml rejects those too).
fn reindent_quoted(text: &str, start: usize) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let quote = *chars.get(start)?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let line_start = chars[..start]
        .iter()
        .rposition(|&c| c == '\n' || c == '\r')
        .map_or(0, |p| p + 1);
    let pad = start - line_start + 1;
    let mut out: String = chars[..=start].iter().collect();
    let mut i = start + 1;
    let mut changed = false;
    while i < chars.len() {
        let c = chars[i];
        out.push(c);
        i += 1;
        match c {
            '\\' if quote == '"' => {
                if let Some(&n) = chars.get(i) {
                    out.push(n);
                    i += 1;
                    if n != '\n' {
                        continue;
                    }
                } else {
                    break;
                }
            }
            '\'' if quote == '\'' => {
                if chars.get(i) == Some(&'\'') {
                    out.push('\'');
                    i += 1;
                    continue;
                }
                break;
            }
            '"' if quote == '"' => break,
            '\n' => {}
            // A lone `\r` is a line break too (`\r\n` pads after the `\n`).
            '\r' if chars.get(i) != Some(&'\n') => {}
            _ => continue,
        }
        if out.ends_with(['\n', '\r']) {
            let rest: String = chars[i..].iter().take(4).collect();
            let marker = (rest.starts_with("---") || rest.starts_with("..."))
                && rest.chars().nth(3).is_none_or(|c| c.is_whitespace());
            if !marker {
                out.extend(std::iter::repeat_n(' ', pad));
                changed = true;
            }
        }
    }
    out.extend(&chars[i..]);
    changed.then_some(out)
}

fn parse_events(text: &str) -> Result<Doc<'_>, Retry> {
    let mut parser = Parser::new_from_str(text);
    let mut b = Builder {
        nodes: Vec::new(),
        anchors: HashMap::new(),
        stack: Vec::new(),
        root: None,
        text,
    };
    let has_tabs = text.contains('\t');
    // Byte offsets of characters (saphyr positions count characters).
    let char_bytes: Vec<usize> = if has_tabs && !text.is_ascii() {
        text.char_indices().map(|(b, _)| b).collect()
    } else {
        Vec::new()
    };
    while let Some(next) = parser.next_event() {
        // go-yaml decodes one document and stops at its (implicit) end
        // without looking at what follows: content after a complete root
        // (`{a: 1} b`, `[1] [2]`) is ignored there, while saphyr reports it
        // at once.
        if let Err(e) = &next
            && e.info() == "did not find expected <document start>"
            && b.root.is_some()
            && b.stack.is_empty()
        {
            break;
        }
        let (event, span) = next.map_err(|e| {
            if e.info() == "invalid indentation in quoted scalar" {
                Retry::Reindent(e.marker().index())
            } else if e.info() == "':' must be followed by a valid YAML whitespace" {
                Retry::TabAfterColon(e.marker().index())
            } else {
                Retry::Fail(scan_error(&e, text))
            }
        })?;
        if has_tabs
            && matches!(
                event,
                Event::Scalar(..)
                    | Event::SequenceStart(..)
                    | Event::MappingStart(..)
                    | Event::Alias(_)
            )
            && let Some(line) = tab_after_block_entry(text, &char_bytes, span.start.index())
        {
            let at = if line > 1 {
                format!("line {line}: ")
            } else {
                String::new()
            };
            return Err(Retry::Fail(LoadError::Yaml(format!(
                "yaml: {at}found character that cannot start any token"
            ))));
        }
        match event {
            Event::StreamEnd => break,
            Event::DocumentEnd => {
                if b.root.is_some() {
                    break;
                }
            }
            Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => {}
            Event::Scalar(value, style, anchor, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let id = b.push(
                    Node::Scalar {
                        value,
                        plain: style == ScalarStyle::Plain,
                        tag,
                    },
                    anchor,
                );
                if b.next_is_key()
                    && style != ScalarStyle::Literal
                    && style != ScalarStyle::Folded
                    && (span.start.line() != span.end.line()
                        || span.end.index() - span.start.index() > 1024)
                    && let Some(e) = stale_simple_key(text, span.start.index(), span.end.line())
                {
                    return Err(Retry::Fail(e));
                }
                b.attach(id);
            }
            Event::Alias(anchor) => {
                let Some(&target) = b.anchors.get(&anchor) else {
                    return Err(Retry::Fail(LoadError::Yaml(
                        "yaml: unknown anchor referenced".into(),
                    )));
                };
                let id = b.push(
                    Node::Alias(target, anchor_name_at(text, span.start.index())),
                    0,
                );
                b.attach(id);
            }
            Event::SequenceStart(anchor, _) => {
                if b.stack.len() >= MAX_DEPTH {
                    return Err(Retry::Fail(depth_error(span.start.line())));
                }
                let id = b.push(Node::Seq(Vec::new()), anchor);
                b.stack.push((id, None));
            }
            Event::MappingStart(anchor, _) => {
                if b.stack.len() >= MAX_DEPTH {
                    return Err(Retry::Fail(depth_error(span.start.line())));
                }
                let id = b.push(Node::Map(Vec::new()), anchor);
                b.stack.push((id, None));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((id, _)) = b.stack.pop() {
                    b.attach(id);
                }
            }
        }
    }
    Ok(Doc {
        nodes: b.nodes,
        root: b.root,
    })
}

struct Builder<'t> {
    nodes: Vec<Node<'t>>,
    anchors: HashMap<usize, Id>,
    /// Open collections, with a pending key for maps.
    stack: Vec<(Id, Option<Id>)>,
    root: Option<Id>,
    #[allow(dead_code)]
    text: &'t str,
}

impl<'t> Builder<'t> {
    fn push(&mut self, node: Node<'t>, anchor: usize) -> Id {
        let id = self.nodes.len();
        self.nodes.push(node);
        if anchor != 0 {
            self.anchors.insert(anchor, id);
        }
        id
    }

    /// Whether the next attached node becomes a mapping key.
    fn next_is_key(&self) -> bool {
        matches!(self.stack.last(), Some((parent, None)) if matches!(self.nodes[*parent], Node::Map(_)))
    }

    /// Adds a finished node to the open collection (or makes it the root).
    fn attach(&mut self, id: Id) {
        let Some((parent, pending)) = self.stack.last_mut() else {
            self.root = Some(id);
            return;
        };
        let parent = *parent;
        match &mut self.nodes[parent] {
            Node::Seq(items) => items.push(id),
            Node::Map(pairs) => match pending.take() {
                None => *pending = Some(id),
                Some(key) => pairs.push((key, id)),
            },
            _ => {}
        }
    }
}

/// Rewords a saphyr error as go-yaml v2 words the same problem.
fn scan_error(e: &ScanError, text: &str) -> LoadError {
    let info = e.info();
    let mut line = e.marker().line();
    let (msg, parser_error) = match info {
        "\"-\" is only valid inside a block" => {
            ("did not find expected node content".to_string(), true)
        }
        "misplaced bracket" | "invalid trailing content after double-quoted scalar" => {
            ("did not find expected key".to_string(), true)
        }
        "while scanning a quoted scalar, found unexpected document indicator" => {
            line = line_of_next(text, e.marker().index(), |l| {
                l.starts_with("---") || l.starts_with("...")
            });
            ("found unexpected document indicator".to_string(), false)
        }
        "a block scalar content cannot start with a tab" => {
            line = line_of_next(text, e.marker().index(), |l| {
                l.trim_start_matches(' ').starts_with('\t')
            });
            (
                "found a tab character where an indentation space is expected".to_string(),
                false,
            )
        }
        "while parsing a block mapping, did not find expected key" => {
            ("did not find expected key".to_string(), true)
        }
        "while parsing a node, did not find expected node content" => {
            ("did not find expected node content".to_string(), true)
        }
        "while parsing a flow mapping, did not find expected ',' or '}'" => {
            ("did not find expected ',' or '}'".to_string(), true)
        }
        "while parsing a flow sequence, expected ',' or ']'" => {
            ("did not find expected ',' or ']'".to_string(), true)
        }
        "while parsing a block collection, did not find expected '-' indicator" => {
            ("did not find expected '-' indicator".to_string(), true)
        }
        "while parsing node, found unknown anchor" => {
            let name = anchor_name_at(text, e.marker().index());
            return LoadError::Yaml(format!("yaml: unknown anchor '{name}' referenced"));
        }
        "simple key expect ':'" => ("could not find expected ':'".to_string(), false),
        "tabs disallowed within this context (block indentation)"
        | "tab cannot be used as indentation" => (
            "found character that cannot start any token".to_string(),
            false,
        ),
        "unexpected eof" => ("did not find expected node content".to_string(), true),
        other if other.starts_with("unexpected character: ") => (
            "found character that cannot start any token".to_string(),
            false,
        ),
        other => {
            // libyaml reports only the problem, not the "while scanning ..." context.
            let problem = match other.strip_prefix("while ") {
                Some(rest) => rest.split_once(", ").map_or(other, |(_, p)| p),
                None => other,
            };
            (problem.to_string(), false)
        }
    };
    // go-yaml prints the 0-based problem line, plus one for scanner errors,
    // and no line at all when the problem is on the first line.
    let zero_based = line.saturating_sub(1);
    let go_line = if zero_based == 0 {
        0
    } else if parser_error {
        zero_based
    } else {
        zero_based + 1
    };
    if go_line == 0 {
        LoadError::Yaml(format!("yaml: {msg}"))
    } else {
        LoadError::Yaml(format!("yaml: line {go_line}: {msg}"))
    }
}

/// The 1-based number of the first line after the one holding character
/// index `idx` that satisfies `pred` (or the line of `idx`).
fn line_of_next(text: &str, idx: usize, pred: impl Fn(&str) -> bool) -> usize {
    let byte = text.char_indices().nth(idx).map_or(text.len(), |(b, _)| b);
    let first = text[..byte].matches('\n').count() + 1;
    text.lines()
        .enumerate()
        .skip(first)
        .find(|(_, l)| pred(l))
        .map_or(first, |(n, _)| n + 1)
}

/// An implicit key spanning lines or longer than libyaml's 1024-character
/// simple-key window is not a key for libyaml: in flow context the parser
/// then misses its `,`/`}`, in block context the scanner its `:`. `None`
/// when the key was explicit (`? key`).
fn stale_simple_key(text: &str, start: usize, end_line: usize) -> Option<LoadError> {
    let byte = text
        .char_indices()
        .nth(start)
        .map_or(text.len(), |(b, _)| b);
    let before = text[..byte].trim_end_matches([' ', '\t', '\n', '\r']);
    let flow = match before.chars().last() {
        Some('?') => return None,
        Some('{' | ',') => true,
        _ => false,
    };
    let zero_based = end_line.saturating_sub(1);
    let (line, msg) = if flow {
        (zero_based, "did not find expected ',' or '}'")
    } else {
        (zero_based + 1, "could not find expected ':'")
    };
    let at = if zero_based == 0 {
        String::new()
    } else {
        format!("line {line}: ")
    };
    Some(LoadError::Yaml(format!("yaml: {at}{msg}")))
}

/// libyaml's `max_flow_level` / `max_indents`.
const MAX_DEPTH: usize = 10_000;

fn depth_error(line: usize) -> LoadError {
    let at = if line > 1 {
        format!("line {line}: ")
    } else {
        String::new()
    };
    LoadError::Yaml(format!("yaml: {at}exceeded max depth of {MAX_DEPTH}"))
}

/// libyaml does not skip tabs after a block entry `-` (a simple key may
/// follow), so `-<TAB>x` is "found character that cannot start any token".
/// Returns the 1-based line of such a `-` when the node starting at char
/// index `idx` follows one.
fn tab_after_block_entry(text: &str, char_bytes: &[usize], idx: usize) -> Option<usize> {
    let byte = if char_bytes.is_empty() {
        idx
    } else {
        *char_bytes.get(idx)?
    };
    let before = text.get(..byte)?;
    let trimmed = before.trim_end_matches([' ', '\t']);
    let blanks = &before[trimmed.len()..];
    if !blanks.contains('\t') || !trimmed.ends_with('-') {
        return None;
    }
    let dash = trimmed.len() - 1;
    let line_start = trimmed[..dash].rfind('\n').map_or(0, |p| p + 1);
    let prefix = &trimmed[line_start..dash];
    // Only a block entry: the dash opens the line or follows other entries.
    if !prefix.chars().all(|c| c == ' ' || c == '-') {
        return None;
    }
    let zero_based = text[..dash].matches('\n').count();
    Some(zero_based + 1)
}

/// The alias name written at character index `idx` (after an optional `*`).
fn anchor_name_at(text: &str, idx: usize) -> String {
    let rest: String = text.chars().skip(idx).collect();
    let rest = rest.strip_prefix('*').unwrap_or(&rest);
    rest.chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '[' | ']' | '{' | '}'))
        .collect()
}

// ---------------------------------------------------------------------------
// Nodes to values

struct Decoder<'d, 't> {
    doc: &'d Doc<'t>,
    active_aliases: HashSet<Id>,
    decode_count: usize,
    alias_count: usize,
    alias_depth: usize,
}

/// go-yaml v2's `allowedAliasRatio` (billion-laughs protection).
fn allowed_alias_ratio(decode_count: usize) -> f64 {
    const LOW: usize = 400_000;
    const HIGH: usize = 4_000_000;
    if decode_count <= LOW {
        0.99
    } else if decode_count >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((decode_count - LOW) as f64 / (HIGH - LOW) as f64)
    }
}

fn yaml_err(msg: impl Into<String>) -> LoadError {
    LoadError::Yaml(format!("yaml: {}", msg.into()))
}

impl Decoder<'_, '_> {
    fn count(&mut self) -> Result<(), LoadError> {
        self.decode_count += 1;
        if self.alias_depth > 0 {
            self.alias_count += 1;
        }
        if self.alias_count > 100
            && self.decode_count > 1000
            && self.alias_count as f64 / self.decode_count as f64
                > allowed_alias_ratio(self.decode_count)
        {
            return Err(yaml_err("document contains excessive aliasing"));
        }
        Ok(())
    }

    /// Follows an alias node, guarding against self-containing anchors.
    fn enter_alias<T>(
        &mut self,
        alias: Id,
        target: Id,
        f: impl FnOnce(&mut Self, Id) -> Result<T, LoadError>,
    ) -> Result<T, LoadError> {
        if !self.active_aliases.insert(alias) {
            let name = match &self.doc.nodes[alias] {
                Node::Alias(_, name) => name.clone(),
                _ => String::new(),
            };
            return Err(yaml_err(format!("anchor '{name}' value contains itself")));
        }
        self.alias_depth += 1;
        let r = f(self, target);
        self.alias_depth -= 1;
        self.active_aliases.remove(&alias);
        r
    }

    fn decode(&mut self, id: Id) -> Result<Value, LoadError> {
        crate::godata::json::deep(|| self.decode_here(id))
    }

    fn decode_here(&mut self, id: Id) -> Result<Value, LoadError> {
        self.count()?;
        match &self.doc.nodes[id] {
            Node::Alias(target, _) => {
                let target = *target;
                self.enter_alias(id, target, |d, t| d.decode(t))
            }
            Node::Scalar { value, plain, tag } => scalar_value(value, *plain, tag.as_deref()),
            Node::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for &item in items {
                    out.push(self.decode(item)?);
                }
                Ok(Value::list(out))
            }
            Node::Map(_) => {
                let mut map = Map::new();
                self.fill_map(id, &mut map)?;
                Ok(Value::map(map))
            }
        }
    }

    /// Decodes a mapping node into `map` (go-yaml's `d.mapping` into an
    /// existing map: merges apply in order, later keys win).
    fn fill_map(&mut self, id: Id, map: &mut Map) -> Result<(), LoadError> {
        let Node::Map(pairs) = &self.doc.nodes[id] else {
            return Ok(());
        };
        for &(k, v) in pairs {
            if self.is_merge(k) {
                self.merge(v, map)?;
                continue;
            }
            let key = self.decode_key(k, v)?;
            let value = self.decode(v)?;
            map.insert(key, value);
        }
        Ok(())
    }

    fn is_merge(&self, id: Id) -> bool {
        match &self.doc.nodes[id] {
            Node::Scalar { value, plain, tag } => {
                value == "<<"
                    && ((*plain && tag.is_none())
                        || tag.as_deref() == Some("tag:yaml.org,2002:merge"))
            }
            _ => false,
        }
    }

    fn merge(&mut self, id: Id, map: &mut Map) -> Result<(), LoadError> {
        let want_map = || yaml_err("map merge requires map or sequence of maps as the value");
        match &self.doc.nodes[id] {
            Node::Map(_) => {
                self.count()?;
                self.fill_map(id, map)
            }
            Node::Alias(target, _) => {
                let target = *target;
                if !matches!(self.doc.nodes[target], Node::Map(_)) {
                    return Err(want_map());
                }
                self.count()?;
                self.enter_alias(id, target, |d, t| {
                    d.count()?;
                    d.fill_map(t, map)
                })
            }
            Node::Seq(items) => {
                for &item in items.iter().rev() {
                    match &self.doc.nodes[item] {
                        Node::Map(_) => {
                            self.count()?;
                            self.fill_map(item, map)?;
                        }
                        Node::Alias(target, _)
                            if matches!(self.doc.nodes[*target], Node::Map(_)) =>
                        {
                            let target = *target;
                            self.count()?;
                            self.enter_alias(item, target, |d, t| {
                                d.count()?;
                                d.fill_map(t, map)
                            })?;
                        }
                        _ => return Err(want_map()),
                    }
                }
                Ok(())
            }
            Node::Scalar { .. } => Err(want_map()),
        }
    }

    /// A map key as sigs.k8s.io/yaml's `convertToJSONableObject` turns it
    /// into a string.
    fn decode_key(&mut self, id: Id, value_id: Id) -> Result<String, LoadError> {
        self.count()?;
        match &self.doc.nodes[id] {
            Node::Alias(target, _) => {
                let target = *target;
                self.enter_alias(id, target, |d, t| d.decode_key(t, value_id))
            }
            Node::Scalar { value, plain, tag } => {
                let resolved = scalar_resolution(value, *plain, tag.as_deref())?;
                match resolved {
                    Resolved::Str | Resolved::Timestamp | Resolved::Merge => {
                        Ok(scalar_string(value, tag.as_deref())?)
                    }
                    Resolved::Int(i) => Ok(i.to_string()),
                    Resolved::Bool(b) => Ok(b.to_string()),
                    Resolved::Float(f) => Ok(float_key(f)),
                    Resolved::Uint(u) => Err(LoadError::Yaml(format!(
                        "unsupported map key of type: uint64, key: {u:#x}, value: {}",
                        self.go_sharp_v(value_id)
                    ))),
                    Resolved::Null => Err(LoadError::Yaml(format!(
                        "unsupported map key of type: %!s(<nil>), key: <nil>, value: {}",
                        self.go_sharp_v(value_id)
                    ))),
                }
            }
            Node::Seq(_) | Node::Map(_) => {
                self.decode(id)?;
                Err(yaml_err(format!(
                    "invalid map key: {}",
                    self.go_sharp_v(id)
                )))
            }
        }
    }
}

/// A float key: `strconv.FormatFloat(k, 'g', -1, 32)` with YAML's names for
/// infinities and NaN.
fn float_key(f: f64) -> String {
    let s = format_float(f, 'g', 32);
    match s.as_str() {
        "+Inf" => ".inf".into(),
        "-Inf" => "-.inf".into(),
        "NaN" => ".nan".into(),
        _ => s,
    }
}

impl Decoder<'_, '_> {
    /// Go's `%#v` of the go-yaml value of a node (for "invalid map key").
    fn go_sharp_v(&self, id: Id) -> String {
        crate::godata::json::deep(|| self.go_sharp_v_here(id))
    }

    fn go_sharp_v_here(&self, id: Id) -> String {
        match &self.doc.nodes[id] {
            Node::Alias(t, _) => self.go_sharp_v(*t),
            Node::Scalar { value, plain, tag } => {
                match scalar_resolution(value, *plain, tag.as_deref()) {
                    Ok(Resolved::Null) => "interface {}(nil)".into(),
                    Ok(Resolved::Bool(b)) => b.to_string(),
                    Ok(Resolved::Int(i)) => i.to_string(),
                    Ok(Resolved::Uint(u)) => format!("{u:#x}"),
                    Ok(Resolved::Float(f)) => format_float(f, 'g', 64),
                    _ => crate::godata::gofmt::quote(
                        &scalar_string(value, tag.as_deref()).unwrap_or_default(),
                    ),
                }
            }
            Node::Seq(items) => {
                let parts: Vec<String> = items.iter().map(|&i| self.go_sharp_v(i)).collect();
                format!("[]interface {{}}{{{}}}", parts.join(", "))
            }
            Node::Map(pairs) => {
                let mut parts: Vec<String> = pairs
                    .iter()
                    .map(|&(k, v)| format!("{}:{}", self.go_sharp_v(k), self.go_sharp_v(v)))
                    .collect();
                parts.sort();
                format!("map[interface {{}}]interface {{}}{{{}}}", parts.join(", "))
            }
        }
    }
}

/// How a scalar node resolves: quoted and block scalars without a tag are
/// strings; plain ones follow YAML 1.1; tagged ones follow their tag.
fn scalar_resolution(value: &str, plain: bool, tag: Option<&str>) -> Result<Resolved, LoadError> {
    match tag {
        None if plain => Ok(resolve_plain(value)),
        None => Ok(Resolved::Str),
        Some("!") => Ok(Resolved::Str),
        Some(t) => resolve_tagged(t, value).map_err(yaml_err),
    }
}

/// The string value of a scalar that resolved to a string (decoding
/// `!!binary` base64).
fn scalar_string(value: &str, tag: Option<&str>) -> Result<String, LoadError> {
    if tag == Some(&format!("{TAG_PREFIX}binary")[..]) {
        let bytes = base64_decode(value)
            .ok_or_else(|| yaml_err("!!binary value contains invalid base64 data"))?;
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    Ok(value.to_string())
}

fn scalar_value(value: &str, plain: bool, tag: Option<&str>) -> Result<Value, LoadError> {
    Ok(match scalar_resolution(value, plain, tag)? {
        Resolved::Null => Value::Nil,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(i) => Value::Float(i as f64),
        Resolved::Uint(u) => Value::Float(u as f64),
        Resolved::Float(f) => Value::Float(f),
        Resolved::Str | Resolved::Timestamp | Resolved::Merge => {
            Value::str(scalar_string(value, tag)?)
        }
    })
}

/// Go's `base64.StdEncoding.DecodeString` (strict padding; newlines ignored).
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = s.bytes().filter(|&b| b != b'\n' && b != b'\r').collect();
    if !clean.len().is_multiple_of(4) {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    for (ci, chunk) in clean.chunks(4).enumerate() {
        let last = ci == clean.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}
