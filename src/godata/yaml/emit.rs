//! Writing YAML the way `sigs.k8s.io/yaml.Marshal` does: the value goes
//! through `json.Marshal`, is read back by go-yaml v2 (integral numbers
//! become ints) and written by go-yaml v2's emitter (a port of libyaml):
//! sorted keys, 2-space indentation, sequences flush with their key, strings
//! plain/single/double-quoted or literal blocks by libyaml's analysis, and
//! long plain and quoted strings folded at 80 columns.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::rc::Rc;

use super::resolve::{Resolved, is_base60_float, reader_allows, resolve_plain};
use crate::godata::json::{base64_std, deep, format_float, json_float_text};
use crate::godata::value::Value;

const BEST_INDENT: i32 = 2;
const BEST_WIDTH: usize = 80;

/// A scalar style as go-yaml v2's encoder requests it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// The node tree go-yaml v2 marshals. It owns its text (strings of the
/// value are shared, not copied), so building it never re-walks a subtree.
enum Node {
    Scalar(Text, Style),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A scalar's text.
enum Text {
    Static(&'static str),
    Shared(Rc<str>),
    Owned(String),
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Text::Static(s) => s,
            Text::Shared(s) => s,
            Text::Owned(s) => s,
        }
    }
}

impl From<&'static str> for Text {
    fn from(s: &'static str) -> Text {
        Text::Static(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::Owned(s)
    }
}

/// An error from the JSON step (`json: unsupported value: NaN`).
pub struct MarshalError(pub String);

/// `yaml.Marshal(v)` of sigs.k8s.io/yaml.
pub fn marshal(value: &Value) -> Result<String, MarshalError> {
    let node = to_node(value)?;
    let mut e = Emitter::new();
    e.emit_document(&node);
    Ok(e.out)
}

/// Helm's `toYamlPretty`: go-yaml v3's `Encoder` with `SetIndent(2)` on the
/// Go value itself (no JSON step): floats as `strconv` `'g'` (`1e+06`),
/// sequences indented under their key, no line folding.
pub fn marshal_v3(value: &Value) -> String {
    let node = to_node_v3(value);
    let mut e = Emitter::new();
    e.v3 = true;
    e.best_width = usize::MAX;
    e.emit_document(&node);
    e.out
}

fn to_node_v3(value: &Value) -> Node {
    deep(|| to_node_v3_here(value))
}

fn to_node_v3_here(value: &Value) -> Node {
    match value {
        Value::Nil => Node::Scalar("null".into(), Style::Plain),
        Value::Bool(b) => Node::Scalar(if *b { "true" } else { "false" }.into(), Style::Plain),
        Value::Int(i) | Value::Int64(i) => Node::Scalar(i.to_string().into(), Style::Plain),
        Value::Float(f) => {
            let s = match format_float(*f, 'g', 64).as_str() {
                "+Inf" => ".inf".to_string(),
                "-Inf" => "-.inf".to_string(),
                "NaN" => ".nan".to_string(),
                other => other.to_string(),
            };
            Node::Scalar(s.into(), Style::Plain)
        }
        Value::Str(s) => string_node(Text::Shared(s.clone())),
        Value::Bytes(b) => string_node(Text::Owned(base64_std(b))),
        Value::Map(..) | Value::List(_) if value.is_nil_map() => {
            Node::Scalar("null".into(), Style::Plain)
        }
        Value::List(l) => Node::Seq(l.items.iter().map(to_node_v3).collect()),
        Value::Map(_, m) => {
            let m = m.borrow();
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| key_order_v3(a, b));
            Node::Map(
                keys.into_iter()
                    .map(|k| {
                        let v = m
                            .get(k)
                            .map_or(Node::Scalar("null".into(), Style::Plain), to_node_v3);
                        (string_node(Text::Owned(k.clone())), v)
                    })
                    .collect(),
            )
        }
        Value::Object(o) => match o.json_value() {
            Some(v) => to_node_v3(&v),
            None => Node::Scalar("null".into(), Style::Plain),
        },
    }
}

/// go-yaml v3's `keyList.Less` for string keys (v2's, except that after a
/// digit run a letter sorts after a digit).
fn key_order_v3(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    if key_less_chars_v(&ar, &br, true) {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

// ---------------------------------------------------------------------------
// Value → node (json.Marshal, then go-yaml's reading of the JSON)

fn to_node(value: &Value) -> Result<Node, MarshalError> {
    deep(|| to_node_here(value))
}

fn to_node_here(value: &Value) -> Result<Node, MarshalError> {
    Ok(match value {
        Value::Nil => Node::Scalar("null".into(), Style::Plain),
        Value::Bool(b) => Node::Scalar(if *b { "true" } else { "false" }.into(), Style::Plain),
        Value::Int(i) | Value::Int64(i) => Node::Scalar(i.to_string().into(), Style::Plain),
        Value::Float(f) => Node::Scalar(float_text(*f)?.into(), Style::Plain),
        Value::Str(s) => string_node(match reread_json_string(s)? {
            Cow::Borrowed(_) => Text::Shared(s.clone()),
            Cow::Owned(folded) => Text::Owned(folded),
        }),
        Value::Bytes(b) => string_node(Text::Owned(base64_std(b))),
        Value::Map(..) | Value::List(_) if value.is_nil_map() => {
            Node::Scalar("null".into(), Style::Plain)
        }
        Value::List(l) => Node::Seq(l.items.iter().map(to_node).collect::<Result<_, _>>()?),
        Value::Map(_, m) => {
            let m = m.borrow();
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| key_order(a, b));
            let mut pairs = Vec::with_capacity(keys.len());
            for k in keys {
                let v = m
                    .get(k)
                    .map(to_node)
                    .transpose()?
                    .unwrap_or(Node::Scalar("null".into(), Style::Plain));
                check_key(k)?;
                pairs.push((string_node(Text::Owned(k.clone())), v));
            }
            Node::Map(pairs)
        }
        Value::Object(o) => match o.json_value() {
            Some(v) => to_node(&v)?,
            None => {
                return Err(MarshalError(format!(
                    "json: unsupported type: {}",
                    o.type_name()
                )));
            }
        },
    })
}

fn control_error() -> MarshalError {
    MarshalError("yaml: control characters are not allowed".into())
}

/// A string as go-yaml reads it back from `json.Marshal` output: JSON leaves
/// U+0085 (NEL) unescaped (control characters below U+0020 are escaped) and libyaml folds it as a line break inside the
/// double-quoted scalar; DEL and C1 controls are rejected by its reader.
fn reread_json_string(s: &str) -> Result<Cow<'_, str>, MarshalError> {
    if s.chars().any(|c| c >= '\u{7f}' && !reader_allows(c)) {
        return Err(control_error());
    }
    if !s.contains('\u{85}') {
        return Ok(Cow::Borrowed(s));
    }
    fold_nel(s).map(Cow::Owned)
}

/// libyaml's double-quoted scalar folding with NEL as the only raw break:
/// blanks around a break are dropped, a single break becomes a space, each
/// further break a newline; `---`/`...` right after a break is an error.
fn fold_nel(s: &str) -> Result<String, MarshalError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut line = 1;
    let mut column_zero = false;
    loop {
        if column_zero {
            let rest: String = chars[i..].iter().take(4).collect();
            let indicator = rest.starts_with("---") || rest.starts_with("...");
            let after = rest.chars().nth(3);
            if indicator && after.is_none_or(|c| c == ' ' || c == '\u{85}') {
                return Err(MarshalError(format!(
                    "yaml: line {line}: found unexpected document indicator"
                )));
            }
        }
        while i < chars.len() && chars[i] != ' ' && chars[i] != '\u{85}' {
            out.push(chars[i]);
            i += 1;
            column_zero = false;
        }
        if i >= chars.len() {
            return Ok(out);
        }
        let mut whitespace = String::new();
        let (mut leading_break, mut trailing_breaks) = (false, 0);
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\u{85}') {
            if chars[i] == ' ' {
                if !leading_break {
                    whitespace.push(' ');
                }
                column_zero = false;
            } else {
                if leading_break {
                    trailing_breaks += 1;
                } else {
                    whitespace.clear();
                    leading_break = true;
                }
                line += 1;
                column_zero = true;
            }
            i += 1;
        }
        if leading_break {
            if trailing_breaks == 0 {
                out.push(' ');
            } else {
                out.extend(std::iter::repeat_n('\n', trailing_breaks));
            }
        } else {
            out.push_str(&whitespace);
        }
    }
}

/// A map key must survive go-yaml's reading of the JSON as a simple key: on
/// one line, and within libyaml's 1024-character simple key window.
fn check_key(k: &str) -> Result<(), MarshalError> {
    if k.chars().any(|c| c >= '\u{7f}' && !reader_allows(c)) {
        return Err(control_error());
    }
    if k.contains('\u{85}') || json_key_too_long(k) {
        return Err(MarshalError(
            "yaml: did not find expected ',' or '}'".into(),
        ));
    }
    Ok(())
}

/// Whether `k`, written as a JSON string, is longer than libyaml's simple
/// key window (1022 characters between the quotes).
fn json_key_too_long(k: &str) -> bool {
    // No character takes more than six (`\u00XX`): short keys need no count.
    if k.len() * 6 <= 1022 {
        return false;
    }
    let mut quoted = String::new();
    crate::godata::json::encode_string(k, &mut quoted);
    quoted.chars().count() - 2 > 1022
}

/// A float64 as it comes out: JSON text, re-read by go-yaml (integral values
/// in int64/uint64 range become ints), formatted with `'g'`.
fn float_text(f: f64) -> Result<String, MarshalError> {
    if !f.is_finite() {
        return Err(MarshalError(format!(
            "json: unsupported value: {}",
            format_float(f, 'g', 64)
        )));
    }
    let t = json_float_text(f);
    Ok(match resolve_plain(&t) {
        Resolved::Int(i) => i.to_string(),
        Resolved::Uint(u) => u.to_string(),
        Resolved::Float(x) => format_float(x, 'g', 64),
        _ => t,
    })
}

/// go-yaml v2's `stringv`: literal when multi-line, plain when it would read
/// back as a string, double-quoted otherwise.
fn string_node(s: Text) -> Node {
    let style = if s.contains('\n') {
        Style::Literal
    } else if resolve_plain(&s) == Resolved::Str && !is_base60_float(&s) {
        Style::Plain
    } else {
        Style::Double
    };
    Node::Scalar(s, style)
}

/// go-yaml v2's `keyList.Less` for string keys: letters sort before
/// non-letters, digit runs compare numerically.
fn key_order(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    if key_less(a, b) {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        c.is_alphabetic()
    }
}

fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        c.is_numeric()
    }
}

fn key_less(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        // One char per byte: compare without collecting.
        let widen = |s: &str| -> Vec<char> { s.bytes().map(char::from).collect() };
        let common = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
        if common == a.len().min(b.len()) {
            return a.len() < b.len();
        }
        let (x, y) = (a.as_bytes()[common], b.as_bytes()[common]);
        if x.is_ascii_alphabetic() && y.is_ascii_alphabetic() {
            return x < y;
        }
        if x.is_ascii_alphabetic() || y.is_ascii_alphabetic() {
            return y.is_ascii_alphabetic();
        }
        return key_less_chars(&widen(a), &widen(b));
    }
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    key_less_chars(&ar, &br)
}

fn key_less_chars(ar: &[char], br: &[char]) -> bool {
    key_less_chars_v(ar, br, false)
}

fn key_less_chars_v(ar: &[char], br: &[char], v3: bool) -> bool {
    let mut digits = false;
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            digits = is_digit(ar[i]);
            continue;
        }
        let al = is_letter(ar[i]);
        let bl = is_letter(br[i]);
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return if v3 && digits { al } else { bl };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && is_digit(ar[j - 1]) {
                if ar[j - 1] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
                j -= 1;
            }
        }
        let mut ai = i;
        while ai < ar.len() && is_digit(ar[ai]) {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u32) - i64::from(b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && is_digit(br[bi]) {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u32) - i64::from(b'0'));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

// ---------------------------------------------------------------------------
// Scalar analysis (libyaml's yaml_emitter_analyze_scalar)

struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn analyze(value: &str, v3: bool) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let (mut line_breaks, mut special, mut tabs) = (false, false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut preceded_by_ws, mut prev_space, mut prev_break) = (true, false, false);
    let mut iter = value.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let next = iter.peek().map(|&(_, c)| c);
        let followed_by_ws = next.is_none_or(is_blank);
        let last = next.is_none();
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    block_indicators = true;
                }
                '?' | ':' | '-' if followed_by_ws => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => block_indicators = true,
                '#' if preceded_by_ws => block_indicators = true,
                _ => {}
            }
        }
        if v3 && c == '\t' {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= last;
            break_space |= prev_break;
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= last;
            space_break |= prev_space;
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = is_blank(c) || is_break(c) || c == '\0';
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || tabs || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

// ---------------------------------------------------------------------------
// The emitter

struct Emitter {
    out: String,
    column: usize,
    indent: i32,
    indents: Vec<i32>,
    whitespace: bool,
    indention: bool,
    root_context: bool,
    mapping_context: bool,
    simple_key_context: bool,
    /// Whether the node being emitted is a block sequence item.
    sequence_context: bool,
    /// go-yaml v3's emitter rules (toYamlPretty) instead of v2's.
    v3: bool,
    best_width: usize,
}

impl Emitter {
    fn new() -> Emitter {
        Emitter {
            out: String::new(),
            column: 0,
            indent: -1,
            indents: Vec::new(),
            whitespace: true,
            indention: true,
            root_context: false,
            mapping_context: false,
            simple_key_context: false,
            sequence_context: false,
            v3: false,
            best_width: BEST_WIDTH,
        }
    }

    fn emit_document(&mut self, root: &Node) {
        self.emit_node(root, true, false, false);
        self.write_indent();
    }

    fn emit_node(&mut self, node: &Node, root: bool, mapping: bool, simple_key: bool) {
        self.emit_node_in(node, root, false, mapping, simple_key);
    }

    fn emit_node_in(
        &mut self,
        node: &Node,
        root: bool,
        sequence: bool,
        mapping: bool,
        simple_key: bool,
    ) {
        deep(|| self.emit_node_in_here(node, root, sequence, mapping, simple_key))
    }

    fn emit_node_in_here(
        &mut self,
        node: &Node,
        root: bool,
        sequence: bool,
        mapping: bool,
        simple_key: bool,
    ) {
        self.sequence_context = sequence;
        self.root_context = root;
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match node {
            Node::Scalar(s, style) => self.emit_scalar(s, *style),
            Node::Seq(items) if items.is_empty() => self.emit_empty_flow('[', ']'),
            Node::Map(pairs) if pairs.is_empty() => self.emit_empty_flow('{', '}'),
            Node::Seq(items) => self.emit_block_sequence(items),
            Node::Map(pairs) => self.emit_block_mapping(pairs),
        }
    }

    fn emit_empty_flow(&mut self, open: char, close: char) {
        self.write_indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.pop_indent();
        self.write_indicator(close, false, false, false);
    }

    fn emit_block_sequence(&mut self, items: &[Node]) {
        let indentless = !self.v3 && self.mapping_context && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator('-', true, false, true);
            self.emit_node_in(item, false, true, false, false);
        }
        self.pop_indent();
    }

    fn emit_block_mapping(&mut self, pairs: &[(Node, Node)]) {
        self.increase_indent(false, false);
        for (k, v) in pairs {
            self.write_indent();
            if check_simple_key(k) {
                self.emit_node(k, false, true, true);
                self.write_indicator(':', false, false, false);
            } else {
                self.write_indicator('?', true, false, true);
                self.emit_node(k, false, true, false);
                self.write_indent();
                self.write_indicator(':', true, false, true);
            }
            self.emit_node(v, false, true, false);
        }
        self.pop_indent();
    }

    fn emit_scalar(&mut self, value: &str, requested: Style) {
        let a = analyze(value, self.v3);
        let mut style = requested;
        if self.simple_key_context && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain
            && (!a.block_plain_allowed || (value.is_empty() && self.simple_key_context))
        {
            style = Style::Single;
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || self.simple_key_context) {
            style = Style::Double;
        }
        self.increase_indent(true, false);
        let allow_breaks = !self.simple_key_context;
        match style {
            Style::Plain => self.write_plain(value, allow_breaks),
            Style::Single => self.write_single(value, allow_breaks),
            Style::Double => self.write_double(value, allow_breaks),
            Style::Literal => self.write_literal(value),
        }
        self.pop_indent();
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            if !self.v3 || self.sequence_context {
                self.indent += BEST_INDENT;
            } else {
                // v3 aligns everything else to the indentation grid.
                self.indent = BEST_INDENT * ((self.indent + BEST_INDENT) / BEST_INDENT);
            }
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        if self.v3 {
            self.indention = true;
        }
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.put(c);
            self.column = 0;
            if self.v3 {
                self.indention = true;
            }
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        if !self.v3 {
            self.indention = true;
        }
    }

    fn write_indicator(
        &mut self,
        ind: char,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.put(ind);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace && (!self.v3 || !value.is_empty()) {
            self.put(' ');
        }
        let (mut spaces, mut breaks) = (false, false);
        let mut it = value.chars().peekable();
        while let Some(c) = it.next() {
            if c == ' ' {
                let next_space = it.peek() == Some(&' ');
                if allow_breaks && !spaces && self.column > self.best_width && !next_space {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        if !self.v3 || !value.is_empty() {
            self.whitespace = false;
        }
        self.indention = false;
        let _ = self.root_context;
    }

    fn write_single(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator('\'', true, false, false);
        let (mut spaces, mut breaks) = (false, false);
        let len = value.len();
        let mut it = value.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            if c == ' ' {
                let next_space = it.peek().map(|&(_, c)| c) == Some(' ');
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i > 0
                    && i < len - 1
                    && !next_space
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator('\'', false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator('"', true, false, false);
        let bom = value.starts_with('\u{feff}');
        let mut spaces = false;
        let len = value.len();
        let mut it = value.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            if !is_printable(c) || bom || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                self.write_escape(c);
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > self.best_width && i > 0 && i < len - 1
                {
                    self.write_indent();
                    if it.peek().map(|&(_, c)| c) == Some(' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator('"', false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_escape(&mut self, c: char) {
        let short = match c {
            '\0' => '0',
            '\u{7}' => 'a',
            '\u{8}' => 'b',
            '\t' => 't',
            '\n' => 'n',
            '\u{b}' => 'v',
            '\u{c}' => 'f',
            '\r' => 'r',
            '\u{1b}' => 'e',
            '"' => '"',
            '\\' => '\\',
            '\u{85}' => 'N',
            '\u{a0}' => '_',
            '\u{2028}' => 'L',
            '\u{2029}' => 'P',
            _ => {
                let v = c as u32;
                let (ind, width) = if v <= 0xFF {
                    ('x', 2)
                } else if v <= 0xFFFF {
                    ('u', 4)
                } else {
                    ('U', 8)
                };
                self.put(ind);
                for k in (0..width).rev() {
                    let digit = (v >> (k * 4)) & 0xF;
                    self.put(
                        char::from_digit(digit, 16)
                            .unwrap_or('0')
                            .to_ascii_uppercase(),
                    );
                }
                return;
            }
        };
        self.put(short);
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator('|', true, false, false);
        self.write_block_hints(value);
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in value.chars() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }

    fn write_block_hints(&mut self, value: &str) {
        let mut chars = value.chars();
        if chars.next().is_some_and(|c| c == ' ' || is_break(c)) {
            self.write_indicator(char::from(b'0' + BEST_INDENT as u8), false, false, false);
        }
        let mut rev = value.chars().rev();
        let chomp = match (rev.next(), rev.next()) {
            (None, _) => Some('-'),
            (Some(last), _) if !is_break(last) => Some('-'),
            (Some(_), None) => Some('+'),
            (Some(_), Some(prev)) if is_break(prev) => Some('+'),
            _ => None,
        };
        if let Some(ch) = chomp {
            self.write_indicator(ch, false, false, false);
        }
    }
}

/// libyaml's `yaml_emitter_check_simple_key` for a mapping key.
fn check_simple_key(node: &Node) -> bool {
    match node {
        Node::Scalar(s, _) => !analyze(s, false).multiline && s.len() <= 128,
        Node::Seq(items) => items.is_empty(),
        Node::Map(pairs) => pairs.is_empty(),
    }
}
