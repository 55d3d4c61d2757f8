//! JSON as Go's encoding/json reads and writes it (sorted keys, HTML-safe
//! escaping, float64 formatting) for `toJson`/`fromJson` and values files,
//! plus Go's `strconv.FormatFloat` shortest formats that YAML and JSON share.

use std::fmt::Write as _;

use super::value::{Map, Value};

/// An error from Go's encoding/json, worded as Go words it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsonError {
    /// `json.Marshal` failed (`json: unsupported value: NaN`).
    #[error("json: {0}")]
    Marshal(String),
    /// The text is not valid JSON (`invalid character 'x' looking for ...`).
    #[error("{0}")]
    Syntax(String),
    /// The JSON does not fit the target Go type.
    #[error("json: cannot unmarshal {what} into Go value of type {target}")]
    Type { what: String, target: String },
}

/// Runs a step of a recursive walk over nested data on a stack that grows
/// as needed, so deeply nested (but legal) documents cannot overflow it.
pub(crate) fn deep<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, f)
}

/// `json.Marshal`.
pub fn to_json(value: &Value) -> Result<String, JsonError> {
    let mut out = String::new();
    encode(value, &mut out)?;
    Ok(out)
}

/// `json.Unmarshal` into `interface{}`.
pub fn parse(text: &str) -> Result<Value, JsonError> {
    match decode(text)? {
        (v, None) => Ok(v),
        (_, Some(e)) => Err(e),
    }
}

/// A `serde_json` value as Go's decoder would have read its text into an
/// `interface{}`: every number a float64 (rounded to nearest, as parsing
/// the decimal text does), objects as maps, arrays as lists. No text round
/// trip.
pub fn from_serde(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n.as_f64().map(Value::Float).unwrap_or(Value::Nil),
        serde_json::Value::String(s) => Value::str(s.as_str()),
        serde_json::Value::Array(items) => Value::list(items.iter().map(from_serde).collect()),
        serde_json::Value::Object(m) => from_serde_map(m),
    }
}

/// [`from_serde`] of a JSON object.
pub fn from_serde_map(m: &serde_json::Map<String, serde_json::Value>) -> Value {
    Value::map(m.iter().map(|(k, v)| (k.clone(), from_serde(v))).collect())
}

/// A `serde_json` value as apimachinery's unstructured decoding reads an
/// API server's answer: integers that fit an int64 as int64, every other
/// number a float64, objects as `map[string]interface {}`, arrays as
/// `[]interface {}`.
pub fn from_unstructured(v: &serde_json::Value) -> Value {
    deep(|| match v {
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => n.as_f64().map(Value::Float).unwrap_or(Value::Nil),
        },
        serde_json::Value::Array(items) => {
            Value::list(items.iter().map(from_unstructured).collect())
        }
        serde_json::Value::Object(m) => Value::map(
            m.iter()
                .map(|(k, v)| (k.clone(), from_unstructured(v)))
                .collect(),
        ),
        other => from_serde(other),
    })
}

/// Go's decoding: a syntax error rejects the whole text; a type error (a
/// number beyond float64) is remembered while decoding goes on with `nil`
/// in its place, as `json.Unmarshal` does.
fn decode(text: &str) -> Result<(Value, Option<JsonError>), JsonError> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        type_error: None,
        depth: 0,
    };
    p.skip_ws();
    let v = p.value()?;
    p.skip_ws();
    if p.i < p.s.len() {
        return Err(p.invalid(p.s[p.i], "after top-level value"));
    }
    Ok((v, p.type_error))
}

/// One JSON value at the start of `text` (after whitespace), as Go's
/// `json.Decoder.Decode` reads it: the value and the byte offset after it.
pub fn parse_prefix(text: &str) -> Result<(Value, usize), JsonError> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        type_error: None,
        depth: 0,
    };
    p.skip_ws();
    let v = p.value()?;
    if let Some(e) = p.type_error {
        return Err(e);
    }
    Ok((v, p.i))
}

/// `json.Unmarshal` into `map[string]interface{}` (Helm's `fromJson`); JSON
/// `null` leaves the map empty.
pub fn parse_map(text: &str) -> Result<Value, JsonError> {
    match decode(text)? {
        (v @ Value::Map(..), None) => Ok(v),
        (Value::Nil, None) => Ok(Value::empty_map()),
        (Value::Map(..) | Value::Nil, Some(e)) => Err(e),
        (other, _) => Err(type_error(&other, "map[string]interface {}")),
    }
}

/// `json.Unmarshal` into `[]interface{}` (Helm's `fromJsonArray`); JSON
/// `null` leaves the slice empty.
pub fn parse_list(text: &str) -> Result<Value, JsonError> {
    match decode(text)? {
        (v @ Value::List(..), None) => Ok(v),
        (Value::Nil, None) => Ok(Value::list(Vec::new())),
        (Value::List(..) | Value::Nil, Some(e)) => Err(e),
        (other, _) => Err(type_error(&other, "[]interface {}")),
    }
}

/// Helm's `fromJson` in full: the decoded map, with the error text under
/// `"Error"` (keeping what was decoded when the error is a type error).
pub fn from_json(text: &str) -> Value {
    let (map, err) = match decode(text) {
        Err(e) => (Value::empty_map(), Some(e)),
        Ok((v @ Value::Map(..), e)) => (v, e),
        // `null` leaves Go's map nil.
        Ok((Value::Nil, e)) => (
            Value::Map(
                crate::godata::value::MapKind::NilInterface,
                std::rc::Rc::new(std::cell::RefCell::new(Map::new())),
            ),
            e,
        ),
        Ok((other, _)) => (
            Value::empty_map(),
            Some(type_error(&other, "map[string]interface {}")),
        ),
    };
    if let (Some(e), Some(m)) = (err, map.as_map()) {
        m.borrow_mut()
            .insert("Error".into(), Value::str(e.to_string()));
    }
    map
}

/// Helm's `fromJsonArray` in full: the decoded list, or a list holding only
/// the error text.
pub fn from_json_array(text: &str) -> Value {
    if matches!(decode(text), Ok((Value::Nil, None))) {
        // `null` leaves Go's slice nil.
        return Value::List(std::rc::Rc::new(crate::godata::value::List {
            kind: crate::godata::value::ListKind::NilInterface,
            items: Vec::new(),
        }));
    }
    match parse_list(text) {
        Ok(v) => v,
        Err(e) => Value::list(vec![Value::str(e.to_string())]),
    }
}

/// Go's `UnmarshalTypeError` for a decoded JSON value and a target type.
pub(crate) fn type_error(v: &Value, target: &str) -> JsonError {
    let what = match v {
        Value::Map(..) => "object".to_string(),
        Value::List(..) => "array".to_string(),
        Value::Str(_) => "string".to_string(),
        Value::Bool(_) => "bool".to_string(),
        Value::Float(_) => "number".to_string(),
        _ => "null".to_string(),
    };
    JsonError::Type {
        what,
        target: target.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Encoding

fn encode(value: &Value, out: &mut String) -> Result<(), JsonError> {
    deep(|| encode_value(value, out))
}

fn encode_value(value: &Value, out: &mut String) -> Result<(), JsonError> {
    match value {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => encode_float(*f, out)?,
        Value::Str(s) => encode_string(s, out),
        Value::Bytes(b) => {
            out.push('"');
            out.push_str(&base64_std(b));
            out.push('"');
        }
        Value::Map(..) | Value::List(_) if value.is_nil_map() => out.push_str("null"),
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode(item, out)?;
            }
            out.push(']');
        }
        Value::Map(_, m) => encode_map(&m.borrow(), out)?,
        Value::Object(o) => match o.json_fields() {
            Some(fields) => encode_object(fields.iter().map(|(k, v)| (*k, v)), out)?,
            None => match o.json_value() {
                Some(v) => encode(&v, out)?,
                None => {
                    return Err(JsonError::Marshal(format!(
                        "unsupported type: {}",
                        o.type_name()
                    )));
                }
            },
        },
    }
    Ok(())
}

fn encode_map(m: &Map, out: &mut String) -> Result<(), JsonError> {
    encode_object(m.iter().map(|(k, v)| (k.as_str(), v)), out)
}

/// `{"k":v,...}` for fields in the order given.
fn encode_object<'a>(
    fields: impl Iterator<Item = (&'a str, &'a Value)>,
    out: &mut String,
) -> Result<(), JsonError> {
    out.push('{');
    for (i, (k, v)) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        encode_string(k, out);
        out.push(':');
        encode(v, out)?;
    }
    out.push('}');
    Ok(())
}

/// Go's `floatEncoder` for float64: `'f'` format unless the magnitude is
/// below 1e-6 or at least 1e21, then `'e'` with a one-digit negative exponent
/// cleaned up (`1e-07` → `1e-7`).
fn encode_float(f: f64, out: &mut String) -> Result<(), JsonError> {
    if !f.is_finite() {
        return Err(JsonError::Marshal(format!(
            "unsupported value: {}",
            format_float(f, 'g', 64)
        )));
    }
    out.push_str(&json_float_text(f));
    Ok(())
}

/// The text Go's encoding/json writes for a finite float64.
pub(crate) fn json_float_text(f: f64) -> String {
    let abs = f.abs();
    let fmt = if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        'e'
    } else {
        'f'
    };
    let mut s = format_float(f, fmt, 64);
    if fmt == 'e' {
        let b = s.as_bytes();
        let n = b.len();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            let last = b[n - 1] as char;
            s.truncate(n - 2);
            s.push(last);
        }
    }
    s
}

/// Go's `encodeState.string` with HTML escaping on (what `json.Marshal` does).
pub(crate) fn encode_string(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xf) as usize] as char);
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Standard base64 with padding (Go's `base64.StdEncoding`).
pub(crate) fn base64_std(data: &[u8]) -> String {
    const ALPHA: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHA[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Go's strconv.FormatFloat with precision -1 (shortest representation).

/// Shortest decimal digits of `f` and the decimal point position: the value
/// is `0.DIGITS × 10^dp`.
fn shortest_digits(f: f64, bits: u32) -> (String, i32) {
    let e = if bits == 32 {
        format!("{:e}", (f as f32).abs())
    } else {
        format!("{:e}", f.abs())
    };
    let (mant, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.bytes().all(|b| b == b'0') {
        return ("0".to_string(), 1);
    }
    (digits, exp + 1)
}

/// `strconv.FormatFloat(f, fmt, -1, bits)` for `fmt` in `'e'`, `'f'`, `'g'`.
pub fn format_float(f: f64, fmt: char, bits: u32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let (digits, dp) = shortest_digits(f, bits);
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    let nd = digits.len() as i32;
    let fmt = match fmt {
        'g' => {
            let exp = dp - 1;
            if !(-4..6).contains(&exp) { 'e' } else { 'f' }
        }
        other => other,
    };
    if fmt == 'e' {
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let exp = if digits == "0" { 0 } else { dp - 1 };
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.abs();
        if a < 10 {
            out.push('0');
        }
        let _ = write!(out, "{a}");
    } else if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(&digits);
    } else if dp >= nd {
        out.push_str(&digits);
        for _ in 0..(dp - nd) {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
    out
}

// ---------------------------------------------------------------------------
// Decoding

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    /// The first type error met (decoding continues past it, as Go's does).
    type_error: Option<JsonError>,
    /// Open arrays and objects (Go's scanner stops at 10000).
    depth: usize,
}

/// Go's `maxNestingDepth`.
const MAX_DEPTH: usize = 10_000;

/// Go's `quoteChar`: how a byte appears in syntax error messages.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        _ => {
            let q = format!("{:?}", char::from(c));
            let inner = &q[1..q.len() - 1];
            let inner = go_quote_inner(inner, char::from(c));
            format!("'{inner}'")
        }
    }
}

/// Adjusts Rust's char escaping to Go's `strconv.Quote` for one character.
fn go_quote_inner(rust: &str, c: char) -> String {
    match c {
        '\u{7}' => "\\a".into(),
        '\u{8}' => "\\b".into(),
        '\u{c}' => "\\f".into(),
        '\u{b}' => "\\v".into(),
        '\0' => "\\x00".into(),
        c if (c as u32) < 0x20 || c == '\u{7f}' => format!("\\x{:02x}", c as u32),
        c if (0x80..0xa0).contains(&(c as u32)) => format!("\\u{:04x}", c as u32),
        _ => rust.replace("\\'", "'"),
    }
}

impl Parser<'_> {
    fn invalid(&self, c: u8, context: &str) -> JsonError {
        JsonError::Syntax(format!("invalid character {} {context}", quote_char(c)))
    }

    fn eof(&self) -> JsonError {
        JsonError::Syntax("unexpected end of JSON input".into())
    }

    fn skip_ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\r' | b'\n') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn value(&mut self) -> Result<Value, JsonError> {
        deep(|| self.value_here())
    }

    fn value_here(&mut self) -> Result<Value, JsonError> {
        let Some(c) = self.peek() else {
            return Err(self.eof());
        };
        match c {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => Ok(Value::str(self.string()?)),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Nil),
            b'-' | b'0'..=b'9' => self.number(),
            c => Err(self.invalid(c, "looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, JsonError> {
        let w = word.as_bytes();
        for (k, &expect) in w.iter().enumerate() {
            match self.s.get(self.i + k) {
                None => return Err(self.eof()),
                Some(&c) if c == expect => {}
                Some(&c) => {
                    return Err(self.invalid(
                        c,
                        &format!("in literal {word} (expecting {})", quote_char(expect)),
                    ));
                }
            }
        }
        self.i += w.len();
        Ok(v)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
            match self.peek() {
                None => return Err(self.eof()),
                Some(b'0'..=b'9') => {}
                Some(c) => return Err(self.invalid(c, "in numeric literal")),
            }
        }
        if self.peek() == Some(b'0') {
            self.i += 1;
        } else {
            self.digits();
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            match self.peek() {
                None => return Err(self.eof()),
                Some(b'0'..=b'9') => {}
                Some(c) => return Err(self.invalid(c, "after decimal point in numeric literal")),
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            match self.peek() {
                None => return Err(self.eof()),
                Some(b'0'..=b'9') => {}
                Some(c) => return Err(self.invalid(c, "in exponent of numeric literal")),
            }
            self.digits();
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("0");
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => {
                let err = JsonError::Type {
                    what: format!("number {text}"),
                    target: "float64".into(),
                };
                self.type_error.get_or_insert(err);
                Ok(Value::Nil)
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let Some(c) = self.peek() else {
                return Err(self.eof());
            };
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return Err(self.invalid(c, "in \\u hexadecimal character escape")),
            };
            v = v * 16 + u32::from(d);
            self.i += 1;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            out.push_str(&String::from_utf8_lossy(&self.s[start..self.i]));
            let Some(c) = self.peek() else {
                return Err(self.eof());
            };
            self.i += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => self.escape(&mut out)?,
                c => return Err(self.invalid(c, "in string literal")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let Some(c) = self.peek() else {
            return Err(self.eof());
        };
        self.i += 1;
        match c {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let u = self.hex4()?;
                if (0xd800..0xdc00).contains(&u)
                    && self.s.get(self.i) == Some(&b'\\')
                    && self.s.get(self.i + 1) == Some(&b'u')
                {
                    let save = self.i;
                    self.i += 2;
                    let lo = self.hex4()?;
                    if (0xdc00..0xe000).contains(&lo) {
                        let c = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                        out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                        return Ok(());
                    }
                    self.i = save;
                }
                out.push(char::from_u32(u).unwrap_or('\u{fffd}'));
            }
            c => return Err(self.invalid(c, "in string escape code")),
        }
        Ok(())
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.invalid(self.s[self.i], "exceeded max depth"));
        }
        Ok(())
    }

    fn array(&mut self) -> Result<Value, JsonError> {
        self.enter()?;
        let v = self.array_items();
        self.depth -= 1;
        v
    }

    fn array_items(&mut self) -> Result<Value, JsonError> {
        self.i += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::list(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                None => return Err(self.eof()),
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::list(items));
                }
                Some(c) => return Err(self.invalid(c, "after array element")),
            }
        }
    }

    fn object(&mut self) -> Result<Value, JsonError> {
        self.enter()?;
        let v = self.object_items();
        self.depth -= 1;
        v
    }

    fn object_items(&mut self) -> Result<Value, JsonError> {
        self.i += 1;
        let mut map = Map::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::map(map));
        }
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(self.eof()),
                Some(b'"') => {}
                Some(c) => {
                    return Err(self.invalid(c, "looking for beginning of object key string"));
                }
            }
            let key = self.string()?;
            self.skip_ws();
            match self.peek() {
                None => return Err(self.eof()),
                Some(b':') => self.i += 1,
                Some(c) => return Err(self.invalid(c, "after object key")),
            }
            self.skip_ws();
            let v = self.value()?;
            map.insert(key, v);
            self.skip_ws();
            match self.peek() {
                None => return Err(self.eof()),
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::map(map));
                }
                Some(c) => return Err(self.invalid(c, "after object key:value pair")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_formats() {
        // Expected strings are Go's strconv.FormatFloat / fmt outputs.
        assert_eq!(format_float(1e6, 'g', 64), "1e+06");
        assert_eq!(format_float(123456.0, 'g', 64), "123456");
        assert_eq!(format_float(1234567.0, 'g', 64), "1.234567e+06");
        assert_eq!(format_float(0.0001, 'g', 64), "0.0001");
        assert_eq!(format_float(0.00001, 'g', 64), "1e-05");
        assert_eq!(format_float(1.5, 'g', 64), "1.5");
        assert_eq!(format_float(0.0, 'g', 64), "0");
        assert_eq!(format_float(1e21, 'f', 64), "1000000000000000000000");
        assert_eq!(json_float_text(1e21), "1e+21");
        assert_eq!(json_float_text(1e-7), "1e-7");
        assert_eq!(json_float_text(0.000001), "0.000001");
        assert_eq!(
            json_float_text(1.2345678901234567e19),
            "12345678901234567000"
        );
    }

    #[test]
    fn html_escaping() {
        let v = Value::str("<a&b>\u{2028}\"\\\n\u{1}");
        assert_eq!(
            to_json(&v).unwrap(),
            r#""\u003ca\u0026b\u003e\u2028\"\\\n\u0001""#
        );
    }

    // Expected strings below come from helm v4.1.4 runs of
    // `{{ fromJson "..." | toJson }}` / `{{ fromJsonArray "..." | toJson }}`.
    #[test]
    fn serde_values_are_what_the_decoder_reads_from_their_text() {
        let samples = [
            r#"{"a": 1, "b": -2.5, "c": [true, null, "x"], "d": {"e": 9007199254740993}}"#,
            r#"[18446744073709551615, -9223372036854775808, 1e300, 0.1, 12345678901234567890123]"#,
            r#""\u00e9\ud83d\ude00""#,
        ];
        for text in samples {
            let sj: serde_json::Value = serde_json::from_str(text).expect("serde_json");
            let direct = from_serde(&sj);
            let decoded = parse(&serde_json::to_string(&sj).expect("text")).expect("decode");
            assert_eq!(
                to_json(&direct).expect("json"),
                to_json(&decoded).expect("json"),
                "{text}"
            );
        }
    }

    #[test]
    fn from_json_keeps_partial_results_like_helm() {
        let v = from_json(r#"{"a":[1e400, 2], "b": 1}"#);
        assert_eq!(
            to_json(&v).unwrap(),
            r#"{"Error":"json: cannot unmarshal number 1e400 into Go value of type float64","a":[null,2],"b":1}"#
        );
        assert_eq!(
            to_json(&from_json("1.50")).unwrap(),
            r#"{"Error":"json: cannot unmarshal number into Go value of type map[string]interface {}"}"#
        );
        assert_eq!(
            to_json(&from_json_array(r#"{"a":1e400}"#)).unwrap(),
            r#"["json: cannot unmarshal object into Go value of type []interface {}"]"#
        );
    }

    #[test]
    fn syntax_errors_worded_like_go() {
        assert_eq!(
            parse("").unwrap_err().to_string(),
            "unexpected end of JSON input"
        );
        assert_eq!(
            parse("{a}").unwrap_err().to_string(),
            "invalid character 'a' looking for beginning of object key string"
        );
        assert_eq!(
            parse("[1,]").unwrap_err().to_string(),
            "invalid character ']' looking for beginning of value"
        );
        assert_eq!(
            parse("{} x").unwrap_err().to_string(),
            "invalid character 'x' after top-level value"
        );
        assert_eq!(
            parse_map("[1]").unwrap_err().to_string(),
            "json: cannot unmarshal array into Go value of type map[string]interface {}"
        );
    }
}
