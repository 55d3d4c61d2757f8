//! Sprig's string functions: trimming, case changes (Go's `strings`,
//! goutils and xstrings algorithms, byte-wise where Go's are), `trunc`,
//! `substr`, `abbrev`, `wrap`, `indent`, `quote`, `cat`, `split*`, `join`,
//! `sortAlpha`, `replace`, `plural`, `repeat`.

use super::cast::{strslice, strval};
use super::{arg, arg_int, arg_str, list_of, spec, strings_of, vfmt};
use crate::godata::gofmt;
use crate::godata::value::{Map, MapKind, Value};
use crate::render::funcs::{FuncError, FuncResult, FuncSpec, GoType as T};
use std::cell::RefCell;
use std::rc::Rc;

const S: T = T::String;
const I: T = T::Int;

pub(super) const FUNCS: &[FuncSpec] = &[
    spec("hello", &[], None, |_| Ok(Value::str("Hello!"))),
    spec("abbrev", &[I, S], None, abbrev),
    spec("abbrevboth", &[I, I, S], None, abbrevboth),
    spec("trunc", &[I, S], None, trunc),
    spec("trim", &[S], None, |a| {
        str1(a, |s| s.trim_matches(go_is_space).to_string())
    }),
    spec("upper", &[S], None, |a| {
        str1(a, |s| s.chars().map(go_upper).collect())
    }),
    spec("lower", &[S], None, |a| {
        str1(a, |s| s.chars().map(go_lower).collect())
    }),
    spec("title", &[S], None, |a| str1(a, title)),
    spec("untitle", &[S], None, |a| str1(a, untitle)),
    spec("substr", &[I, I, S], None, substr),
    spec("repeat", &[I, S], None, repeat),
    spec("trimall", &[S, S], None, trim_all),
    spec("trimAll", &[S, S], None, trim_all),
    spec("trimSuffix", &[S, S], None, |a| {
        let (suffix, s) = (arg_str(a, 0)?, arg_str(a, 1)?);
        Ok(Value::str(s.strip_suffix(suffix).unwrap_or(s)))
    }),
    spec("trimPrefix", &[S, S], None, |a| {
        let (prefix, s) = (arg_str(a, 0)?, arg_str(a, 1)?);
        Ok(Value::str(s.strip_prefix(prefix).unwrap_or(s)))
    }),
    spec("nospace", &[S], None, |a| str1(a, delete_white_space)),
    spec("initials", &[S], None, |a| str1(a, initials)),
    spec("swapcase", &[S], None, |a| str1(a, swap_case)),
    spec("shuffle", &[S], None, |a| str1(a, shuffle)),
    spec("snakecase", &[S], None, |a| {
        str1(a, |s| camel_to_lower(s, '_'))
    }),
    spec("kebabcase", &[S], None, |a| {
        str1(a, |s| camel_to_lower(s, '-'))
    }),
    spec("camelcase", &[S], None, |a| str1(a, pascal_case)),
    spec("wrap", &[I, S], None, |a| {
        Ok(Value::str(wrap_custom(
            arg_str(a, 1)?,
            arg_int(a, 0)?,
            "",
            false,
        )))
    }),
    spec("wrapWith", &[I, S, S], None, |a| {
        Ok(Value::str(wrap_custom(
            arg_str(a, 2)?,
            arg_int(a, 0)?,
            arg_str(a, 1)?,
            true,
        )))
    }),
    spec("contains", &[S, S], None, |a| {
        Ok(Value::Bool(arg_str(a, 1)?.contains(arg_str(a, 0)?)))
    }),
    spec("hasPrefix", &[S, S], None, |a| {
        Ok(Value::Bool(arg_str(a, 1)?.starts_with(arg_str(a, 0)?)))
    }),
    spec("hasSuffix", &[S, S], None, |a| {
        Ok(Value::Bool(arg_str(a, 1)?.ends_with(arg_str(a, 0)?)))
    }),
    spec("quote", &[], Some(T::Any), quote),
    spec("squote", &[], Some(T::Any), squote),
    spec("cat", &[], Some(T::Any), cat),
    spec("indent", &[I, S], None, |a| {
        Ok(Value::str(indent(arg_int(a, 0)?, arg_str(a, 1)?)?))
    }),
    spec("nindent", &[I, S], None, |a| {
        Ok(Value::str(format!(
            "\n{}",
            indent(arg_int(a, 0)?, arg_str(a, 1)?)?
        )))
    }),
    // Helm renders without DNS: getHostByName always returns "".
    spec("getHostByName", &[S], None, |_| Ok(Value::str(""))),
    spec("replace", &[S, S, S], None, |a| {
        Ok(Value::str(
            arg_str(a, 2)?.replace(arg_str(a, 0)?, arg_str(a, 1)?),
        ))
    }),
    spec("plural", &[S, S, I], None, |a| {
        let pick = if arg_int(a, 2)? == 1 {
            arg_str(a, 0)?
        } else {
            arg_str(a, 1)?
        };
        Ok(Value::str(pick))
    }),
    spec("split", &[S, S], None, |a| {
        split_map(arg_str(a, 1)?, arg_str(a, 0)?, -1)
    }),
    spec("splitList", &[S, S], None, |a| {
        strings_of(go_split(arg_str(a, 1)?, arg_str(a, 0)?, -1))
    }),
    spec("splitn", &[S, I, S], None, |a| {
        split_map(arg_str(a, 2)?, arg_str(a, 0)?, arg_int(a, 1)?)
    }),
    spec("join", &[S, T::Any], None, |a| {
        Ok(Value::str(strslice(arg(a, 1)).join(arg_str(a, 0)?)))
    }),
    spec("sortAlpha", &[T::Any], None, sort_alpha),
];

fn str1(args: &[Value], f: impl Fn(&str) -> String) -> FuncResult {
    Ok(Value::str(f(arg_str(args, 0)?)))
}

/// Go's `unicode.IsSpace`.
pub(crate) fn go_is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{85}' | '\u{A0}'
    ) || (c as u32 > 0xFF && c.is_whitespace())
}

/// Go's `unicode.ToUpper` (simple case mapping).
pub(crate) fn go_upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's `unicode.ToLower` (simple case mapping).
pub(crate) fn go_lower(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Go's `unicode.ToTitle`.
fn go_title(c: char) -> char {
    match c {
        '\u{1C4}'..='\u{1C6}' => '\u{1C5}',
        '\u{1C7}'..='\u{1C9}' => '\u{1C8}',
        '\u{1CA}'..='\u{1CC}' => '\u{1CB}',
        '\u{1F1}'..='\u{1F3}' => '\u{1F2}',
        _ => go_upper(c),
    }
}

fn go_is_title(c: char) -> bool {
    matches!(c, '\u{1C5}' | '\u{1C8}' | '\u{1CB}' | '\u{1F2}')
        || matches!(c as u32, 0x1F88..=0x1F8F | 0x1F98..=0x1F9F | 0x1FA8..=0x1FAF | 0x1FBC | 0x1FCC | 0x1FFC)
}

/// `strings.Title`.
fn title(s: &str) -> String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if title_separator(prev) {
                go_title(c)
            } else {
                c
            };
            prev = c;
            out
        })
        .collect()
}

fn title_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphabetic() || c.is_numeric() {
        return false;
    }
    go_is_space(c)
}

/// goutils `Uncapitalize`: the first letter of each whitespace-separated word.
fn untitle(s: &str) -> String {
    let mut next = true;
    s.chars()
        .map(|c| {
            if go_is_space(c) {
                next = true;
                c
            } else if next {
                next = false;
                go_lower(c)
            } else {
                c
            }
        })
        .collect()
}

/// goutils `SwapCase`.
fn swap_case(s: &str) -> String {
    let mut whitespace = true;
    s.chars()
        .map(|c| {
            if c.is_uppercase() || go_is_title(c) {
                whitespace = false;
                go_lower(c)
            } else if c.is_lowercase() {
                if whitespace {
                    whitespace = false;
                    go_title(c)
                } else {
                    go_upper(c)
                }
            } else {
                whitespace = go_is_space(c);
                c
            }
        })
        .collect()
}

/// A byte seen as a rune, as goutils' byte-wise loops do (`rune(str[i])`).
fn byte_rune(b: u8) -> char {
    char::from(b)
}

/// goutils `DeleteWhiteSpace` (byte-wise).
fn delete_white_space(s: &str) -> String {
    let bytes = s.as_bytes();
    if !bytes.iter().any(|&b| go_is_space(byte_rune(b))) {
        return s.to_string();
    }
    bytes
        .iter()
        .map(|&b| byte_rune(b))
        .filter(|&c| !go_is_space(c))
        .collect()
}

/// goutils `Initials` (byte-wise).
fn initials(s: &str) -> String {
    let mut out = String::new();
    let mut gap = true;
    for &b in s.as_bytes() {
        let c = byte_rune(b);
        if go_is_space(c) {
            gap = true;
        } else if gap {
            out.push(c);
            gap = false;
        }
    }
    out
}

/// A byte range of `s` as Go would slice it (invalid UTF-8 replaced).
fn byte_slice(s: &str, from: usize, to: usize) -> String {
    String::from_utf8_lossy(&s.as_bytes()[from..to]).into_owned()
}

fn trunc(args: &[Value]) -> FuncResult {
    let (c, s) = (arg_int(args, 0)?, arg_str(args, 1)?);
    let len = s.len() as i64;
    let out = if c < 0 && len + c > 0 {
        byte_slice(s, (len + c) as usize, s.len())
    } else if c >= 0 && len > c {
        byte_slice(s, 0, c as usize)
    } else {
        s.to_string()
    };
    Ok(Value::str(out))
}

/// Go's panic text for an out-of-range string slice `s[lo:hi]`.
pub(crate) fn slice_error(lo: Option<i64>, hi: i64, len: usize) -> FuncError {
    let msg = match lo {
        _ if hi < 0 || hi > len as i64 => {
            if hi < 0 {
                format!("slice bounds out of range [:{hi}]")
            } else {
                format!("slice bounds out of range [:{hi}] with length {len}")
            }
        }
        Some(lo) => format!("slice bounds out of range [{lo}:{hi}]"),
        None => "slice bounds out of range".to_string(),
    };
    FuncError::new(format!("runtime error: {msg}"))
}

fn substr(args: &[Value]) -> FuncResult {
    let (start, end, s) = (arg_int(args, 0)?, arg_int(args, 1)?, arg_str(args, 2)?);
    let len = s.len() as i64;
    let (lo, hi) = if start < 0 {
        (0, end)
    } else if end < 0 || end > len {
        (start, len)
    } else {
        (start, end)
    };
    if hi < 0 || hi > len {
        return Err(slice_error(None, hi, s.len()));
    }
    if lo > hi {
        return Err(slice_error(Some(lo), hi, s.len()));
    }
    Ok(Value::str(byte_slice(s, lo as usize, hi as usize)))
}

/// Refuse outputs beyond this (Go would try, and exhaust memory).
const MAX_OUTPUT: usize = 256 << 20;

fn repeat(args: &[Value]) -> FuncResult {
    let (count, s) = (arg_int(args, 0)?, arg_str(args, 1)?);
    if count < 0 {
        return Err(FuncError::new("strings: negative Repeat count"));
    }
    let total = (s.len() as u128) * (count as u128);
    if total > i64::MAX as u128 {
        return Err(FuncError::new("strings: Repeat output length overflow"));
    }
    if total as usize > MAX_OUTPUT {
        return Err(FuncError::new(format!(
            "repeat: output of {total} bytes is too large"
        )));
    }
    Ok(Value::str(s.repeat(count as usize)))
}

fn trim_all(args: &[Value]) -> FuncResult {
    let (cutset, s) = (arg_str(args, 0)?, arg_str(args, 1)?);
    Ok(Value::str(s.trim_matches(|c| cutset.contains(c))))
}

fn abbrev(args: &[Value]) -> FuncResult {
    let (width, s) = (arg_int(args, 0)?, arg_str(args, 1)?);
    if width < 4 {
        return Ok(Value::str(s));
    }
    Ok(Value::str(abbreviate_full(s, 0, width).unwrap_or_default()))
}

fn abbrevboth(args: &[Value]) -> FuncResult {
    let (left, right, s) = (arg_int(args, 0)?, arg_int(args, 1)?, arg_str(args, 2)?);
    if right < 4 || (left > 0 && right < 7) {
        return Ok(Value::str(s));
    }
    Ok(Value::str(
        abbreviate_full(s, left, right).unwrap_or_default(),
    ))
}

/// goutils `AbbreviateFull` (byte offsets; `None` where it errors).
fn abbreviate_full(s: &str, offset: i64, max_width: i64) -> Option<String> {
    let len = s.len() as i64;
    if s.is_empty() {
        return Some(String::new());
    }
    if max_width < 4 {
        return None;
    }
    if len <= max_width {
        return Some(s.to_string());
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    if offset <= 4 {
        return Some(format!("{}...", byte_slice(s, 0, (max_width - 3) as usize)));
    }
    if max_width < 7 {
        return None;
    }
    if offset + max_width - 3 < len {
        let rest = byte_slice(s, offset as usize, s.len());
        let inner = abbreviate_full(&rest, 0, max_width - 3).unwrap_or_default();
        return Some(format!("...{inner}"));
    }
    Some(format!(
        "...{}",
        byte_slice(s, (len - (max_width - 3)) as usize, s.len())
    ))
}

/// goutils `WrapCustom` (byte offsets, words split at ' ').
fn wrap_custom(s: &str, wrap_length: i64, new_line: &str, wrap_long_words: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let new_line = if new_line.is_empty() { "\n" } else { new_line };
    let wrap = wrap_length.max(1) as usize;
    let b = s.as_bytes();
    let len = b.len();
    let mut offset = 0usize;
    let mut out: Vec<u8> = Vec::with_capacity(len + 8);
    while len - offset > wrap {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = wrap + offset + 1;
        let space = b[offset..end].iter().rposition(|&c| c == b' ');
        if let Some(rel) = space {
            out.extend_from_slice(&b[offset..offset + rel]);
            out.extend_from_slice(new_line.as_bytes());
            offset += rel + 1;
        } else if wrap_long_words {
            out.extend_from_slice(&b[offset..wrap + offset]);
            out.extend_from_slice(new_line.as_bytes());
            offset += wrap;
        } else {
            let end = wrap + offset;
            match b[end..].iter().position(|&c| c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = len;
                }
                Some(idx) => {
                    out.extend_from_slice(&b[offset..idx + end]);
                    out.extend_from_slice(new_line.as_bytes());
                    offset = idx + end + 1;
                }
            }
        }
    }
    out.extend_from_slice(&b[offset..]);
    String::from_utf8_lossy(&out).into_owned()
}

fn quote(args: &[Value]) -> FuncResult {
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !v.is_nil())
        .map(|v| gofmt::quote(&strval(v)))
        .collect();
    Ok(Value::str(parts.join(" ")))
}

fn squote(args: &[Value]) -> FuncResult {
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !v.is_nil())
        .map(|v| format!("'{}'", vfmt(v)))
        .collect();
    Ok(Value::str(parts.join(" ")))
}

fn cat(args: &[Value]) -> FuncResult {
    let parts: Vec<String> = args.iter().filter(|v| !v.is_nil()).map(vfmt).collect();
    Ok(Value::str(parts.join(" ")))
}

fn indent(spaces: i64, v: &str) -> Result<String, FuncError> {
    if spaces < 0 {
        return Err(FuncError::new("strings: negative Repeat count"));
    }
    let total = (spaces as u128) * (v.bytes().filter(|&b| b == b'\n').count() as u128 + 1)
        + v.len() as u128;
    if total > MAX_OUTPUT as u128 {
        return Err(FuncError::new(format!(
            "indent: output of {total} bytes is too large"
        )));
    }
    let pad = " ".repeat(spaces as usize);
    Ok(format!("{pad}{}", v.replace('\n', &format!("\n{pad}"))))
}

/// Go's `strings.SplitN(s, sep, n)` (`n < 0`: all).
pub(crate) fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<char> = s.chars().collect();
        let limit = if n < 0 || n as usize > chars.len() {
            chars.len()
        } else {
            n as usize
        };
        let mut out: Vec<String> = chars
            .iter()
            .take(limit.saturating_sub(1))
            .map(|c| c.to_string())
            .collect();
        if limit > 0 {
            out.push(chars[limit - 1..].iter().collect());
        }
        return out;
    }
    if n < 0 {
        s.split(sep).map(str::to_string).collect()
    } else {
        s.splitn(n as usize, sep).map(str::to_string).collect()
    }
}

fn split_map(s: &str, sep: &str, n: i64) -> FuncResult {
    let map: Map = go_split(s, sep, n)
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::str(p)))
        .collect();
    Ok(Value::Map(MapKind::String, Rc::new(RefCell::new(map))))
}

fn sort_alpha(args: &[Value]) -> FuncResult {
    let v = arg(args, 0);
    match v {
        Value::List(_) | Value::Bytes(_) => {
            let mut items = strslice(v);
            items.sort();
            strings_of(items)
        }
        other => strings_of(vec![strval(other)]),
    }
}

/// xstrings `Shuffle` (random permutation of the runes).
fn shuffle(s: &str) -> String {
    use rand::seq::SliceRandom;
    let mut runes: Vec<char> = s.chars().collect();
    runes.shuffle(&mut rand::rng());
    runes.into_iter().collect()
}

// --- xstrings ToPascalCase / ToSnakeCase / ToKebabCase -------------------

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || go_is_space(c)
}

/// xstrings `ToPascalCase` (`toCamelCase(str, true)`), Sprig's `camelcase`.
fn pascal_case(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let mut i = 0;
    let mut first_upper = false;
    let mut r0 = '\0';
    let mut found = false;
    while i < chars.len() {
        r0 = chars[i];
        i += 1;
        if !is_connector(r0) {
            first_upper = r0.is_uppercase();
            r0 = go_upper(r0);
            found = true;
            break;
        }
        out.push(r0);
    }
    if i >= chars.len() {
        if found {
            out.push(r0);
        }
        return out;
    }
    while i < chars.len() {
        let r1 = r0;
        r0 = chars[i];
        i += 1;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = r0.is_uppercase();
            r0 = go_upper(r0);
        } else {
            if first_upper {
                if r0.is_uppercase() {
                    r0 = go_lower(r0);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

/// Go's `unicode.IsPunct` (category P), for the characters charts meet.
fn go_is_punct(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation()
            && !matches!(c, '$' | '+' | '<' | '=' | '>' | '^' | '`' | '|' | '~');
    }
    matches!(c as u32,
        0xA1 | 0xA7 | 0xAB | 0xB6 | 0xB7 | 0xBB | 0xBF | 0x37E | 0x387
        | 0x2010..=0x2027 | 0x2030..=0x2043 | 0x2045..=0x2051 | 0x2053..=0x205E
        | 0x3001..=0x3003 | 0x3008..=0x3011 | 0x3014..=0x301F | 0xFF01..=0xFF03
        | 0xFF05..=0xFF0A | 0xFF0C..=0xFF0F | 0xFF1A | 0xFF1B | 0xFF1F | 0xFF20)
}

/// xstrings `isAlphabet`: letters except CJK ideographs.
fn is_alphabet(c: char) -> bool {
    if !c.is_alphabetic() {
        return false;
    }
    let r = c as u32;
    !(0x4E00..=0x9FCC).contains(&r)
        && !(0x3400..=0x4D85).contains(&r)
        && !(0x20000..=0x2B81D).contains(&r)
}

/// xstrings `nextWord` over chars: (type, word, rest).
fn next_word(s: &[char]) -> (Word, &[char], &[char]) {
    if s.is_empty() {
        return (Word::Invalid, s, s);
    }
    let r = s[0];
    let mut off = 1;
    let take_while = |mut off: usize, pred: &dyn Fn(char) -> bool| {
        while off < s.len() && pred(s[off]) {
            off += 1;
        }
        off
    };
    let wt = if is_connector(r) {
        off = take_while(off, &is_connector);
        Word::Connector
    } else if go_is_punct(r) {
        off = take_while(off, &go_is_punct);
        Word::Punct
    } else if r.is_uppercase() {
        if off < s.len() {
            let r1 = s[off];
            if r1.is_uppercase() {
                let end = take_while(off, &|c: char| c.is_uppercase());
                off = end;
                if end < s.len() && is_alphabet(s[end]) {
                    off -= 1;
                }
            } else if is_alphabet(r1) {
                off = take_while(off, &|c: char| is_alphabet(c) && !c.is_uppercase());
            }
        }
        Word::Upper
    } else if is_alphabet(r) {
        off = take_while(off, &|c: char| is_alphabet(c) && !c.is_uppercase());
        Word::Alphabet
    } else if r.is_numeric() {
        off = take_while(off, &char::is_numeric);
        Word::Number
    } else {
        off = take_while(off, &|c: char| {
            !(is_connector(c) || is_alphabet(c) || c.is_numeric() || go_is_punct(c))
        });
        Word::Other
    };
    (wt, &s[..off], &s[off..])
}

fn push_lower(out: &mut String, wt: Word, word: &[char], connector: char) {
    if wt != Word::Upper && wt != Word::Connector {
        out.extend(word.iter());
        return;
    }
    for &c in word {
        if is_connector(c) {
            out.push(connector);
        } else if c.is_uppercase() {
            out.push(go_lower(c));
        } else {
            out.push(c);
        }
    }
}

/// xstrings `camelCaseToLowerCase`, behind `snakecase` and `kebabcase`.
fn camel_to_lower(s: &str, connector: char) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let (mut wt, mut word, mut rest) = next_word(&chars);
    while !rest.is_empty() {
        if wt != Word::Connector {
            push_lower(&mut out, wt, word, connector);
        }
        let prev = wt;
        let last = word;
        (wt, word, rest) = next_word(rest);
        match prev {
            Word::Number => {
                while wt == Word::Alphabet || wt == Word::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word, rest) = next_word(rest);
                }
                if wt != Word::Invalid && wt != Word::Punct && wt != Word::Connector {
                    out.push(connector);
                }
            }
            Word::Connector => push_lower(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if rest.is_empty() {
                    continue;
                }
                let last = word;
                (wt, word, rest) = next_word(rest);
                if wt != Word::Alphabet {
                    push_lower(&mut out, Word::Number, last, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                push_lower(&mut out, Word::Number, last, connector);
                while wt == Word::Alphabet || wt == Word::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word, rest) = next_word(rest);
                }
                if wt != Word::Invalid && wt != Word::Connector && wt != Word::Punct {
                    out.push(connector);
                }
            }
        }
    }
    push_lower(&mut out, wt, word, connector);
    out
}

/// Go's `[]interface{}` of the pieces, for functions returning lists of strings.
#[allow(dead_code)]
pub(crate) fn string_values(items: Vec<String>) -> FuncResult {
    list_of(items.into_iter().map(Value::str).collect())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{call_str, s};
    use super::*;

    #[test]
    fn case_conversions_match_xstrings() {
        // Expected values from helm v4.1.4 (sprig v3.3.0, xstrings v1.5.0).
        assert_eq!(camel_to_lower("FirstName", '_'), "first_name");
        assert_eq!(camel_to_lower("HTTPServer", '_'), "http_server");
        assert_eq!(camel_to_lower("NoHTTPS", '_'), "no_https");
        assert_eq!(camel_to_lower("GO_PATH", '_'), "go_path");
        assert_eq!(camel_to_lower("GO PATH", '_'), "go_path");
        assert_eq!(camel_to_lower("GO-PATH", '_'), "go_path");
        assert_eq!(camel_to_lower("http2xx", '_'), "http_2xx");
        assert_eq!(camel_to_lower("HTTP20xOK", '_'), "http_20x_ok");
        assert_eq!(camel_to_lower("Duration2m3s", '_'), "duration_2m3s");
        assert_eq!(camel_to_lower("Bld4Floor3rd", '_'), "bld4_floor_3rd");
        assert_eq!(camel_to_lower("FirstName", '-'), "first-name");
        assert_eq!(pascal_case("some_words"), "SomeWords");
        assert_eq!(pascal_case("http_server"), "HttpServer");
        assert_eq!(pascal_case("_complex__case_"), "_Complex_Case_");
        assert_eq!(pascal_case("GOLANG_IS_GREAT"), "GolangIsGreat");
    }

    #[test]
    fn byte_wise_helpers() {
        assert_eq!(call_str("trunc", &[Value::Int(-3), s("abcdef")]), "def");
        assert_eq!(call_str("trunc", &[Value::Int(3), s("abcdef")]), "abc");
        assert_eq!(call_str("trunc", &[Value::Int(-10), s("abc")]), "abc");
        assert_eq!(
            call_str("substr", &[Value::Int(1), Value::Int(3), s("abcdef")]),
            "bc"
        );
        assert_eq!(
            call_str("substr", &[Value::Int(-1), Value::Int(9), s("abc")]),
            "ERR: runtime error: slice bounds out of range [:9] with length 3"
        );
        assert_eq!(
            call_str("abbrev", &[Value::Int(5), s("hello world")]),
            "he..."
        );
        assert_eq!(
            call_str(
                "abbrevboth",
                &[Value::Int(5), Value::Int(10), s("1234 5678 9123")]
            ),
            "...5678..."
        );
        assert_eq!(call_str("initials", &[s("First Try")]), "FT");
        assert_eq!(call_str("nospace", &[s("h e l l o ")]), "hello");
        assert_eq!(
            call_str("wrap", &[Value::Int(5), s("Hello World")]),
            "Hello\nWorld"
        );
        assert_eq!(
            call_str("wrapWith", &[Value::Int(5), s("\t"), s("Hello World")]),
            "Hello\tWorld"
        );
        assert_eq!(call_str("untitle", &[s("Hello World")]), "hello world");
        assert_eq!(
            call_str("swapcase", &[s("This Is A.Test")]),
            "tHIS iS a.tEST"
        );
        assert_eq!(
            call_str("title", &[s("hello world-foo_bar")]),
            "Hello World-Foo_bar"
        );
    }
}
