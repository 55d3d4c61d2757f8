//! YAML 1.1 implicit typing of scalars as go-yaml v2's `resolve` does it:
//! `yes`/`on`/`y` booleans, `~`/`null`, Go integer syntax (`0x1F`, `017`,
//! `1_000`), floats, `.inf`/`.nan`, and timestamps (which decode as strings
//! but force quoting on output).

/// The long form of YAML core tags.
pub const TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// What a scalar resolves to.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str,
    /// The merge key `<<`.
    Merge,
    /// A timestamp; go-yaml v2 hands it out as the original string.
    Timestamp,
}

impl Resolved {
    /// The short tag go-yaml names it by in errors (`!!int`).
    pub fn short_tag(&self) -> &'static str {
        match self {
            Resolved::Null => "!!null",
            Resolved::Bool(_) => "!!bool",
            Resolved::Int(_) | Resolved::Uint(_) => "!!int",
            Resolved::Float(_) => "!!float",
            Resolved::Str => "!!str",
            Resolved::Merge => "!!merge",
            Resolved::Timestamp => "!!timestamp",
        }
    }
}

/// Whether libyaml's reader accepts the character (`#x9 | #xA | #xD |
/// [#x20-#x7E] | #x85 | [#xA0-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]`).
pub fn reader_allows(c: char) -> bool {
    let u = c as u32;
    matches!(u, 0x09 | 0x0A | 0x0D | 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..)
}

/// [`reader_allows`] of an ASCII byte (never true of a byte >= 0x80).
pub fn reader_allows_ascii(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\r') | (0x20..0x7f).contains(&b)
}

/// Whether every character of `text` passes [`reader_allows`].
pub fn reader_allows_all(text: &str) -> bool {
    all_chars(text, reader_allows_ascii, reader_allows)
}

/// Whether every character of `text` is accepted, checking ASCII bytewise
/// first: `ascii_ok` decides for bytes, branch-free within each 64-byte
/// chunk so the compiler vectorises it, and `char_ok` for the rest of the
/// text from the first chunk that fails it. `ascii_ok(b)` must imply
/// `char_ok(b as char)`. Checked char by char, the reader's check was a
/// fifth of loading a values file.
pub fn all_chars(
    text: &str,
    ascii_ok: impl Fn(u8) -> bool,
    char_ok: impl Fn(char) -> bool,
) -> bool {
    const CHUNK: usize = 64;
    let chunk_ok = |c: &[u8]| c.iter().fold(true, |ok, &b| ok & ascii_ok(b));
    let ascii_chunks = text.as_bytes().chunks(CHUNK).take_while(|c| chunk_ok(c));
    // Everything before is ASCII, so this is a character boundary.
    let checked = (ascii_chunks.count() * CHUNK).min(text.len());
    text[checked..].chars().all(char_ok)
}

/// Resolves a plain, untagged scalar.
pub fn resolve_plain(s: &str) -> Resolved {
    let Some(&first) = s.as_bytes().first() else {
        return Resolved::Null;
    };
    match first {
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => {
            by_table(s).unwrap_or(Resolved::Str)
        }
        b'.' => {
            if let Some(r) = by_table(s) {
                return r;
            }
            match go_parse_float(s) {
                Some(f) => Resolved::Float(f),
                None => Resolved::Str,
            }
        }
        b'+' | b'-' | b'0'..=b'9' => {
            if let Some(r) = by_table(s) {
                return r;
            }
            numeric(s)
        }
        b'<' if s == "<<" => Resolved::Merge,
        _ => Resolved::Str,
    }
}

fn by_table(s: &str) -> Option<Resolved> {
    Some(match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Resolved::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Resolved::Bool(false)
        }
        "~" | "null" | "Null" | "NULL" => Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Resolved::Float(f64::NEG_INFINITY),
        "<<" => Resolved::Merge,
        _ => return None,
    })
}

/// Ints, floats and timestamps for scalars starting with a sign or digit.
fn numeric(s: &str) -> Resolved {
    if is_timestamp(s) {
        return Resolved::Timestamp;
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if let Some(i) = go_parse_int(&plain) {
        return Resolved::Int(i);
    }
    if let Some(u) = go_parse_uint(&plain) {
        return Resolved::Uint(u);
    }
    if is_yaml_style_float(&plain)
        && let Some(f) = go_parse_float(&plain)
    {
        return Resolved::Float(f);
    }
    if let Some(rest) = plain.strip_prefix("0b") {
        if let Ok(i) = i64::from_str_radix(rest, 2)
            && !rest.starts_with(['+', '-'])
        {
            return Resolved::Int(i);
        }
        if let Ok(u) = u64::from_str_radix(rest, 2)
            && !rest.starts_with('+')
        {
            return Resolved::Uint(u);
        }
    } else if let Some(rest) = plain.strip_prefix("-0b")
        && !rest.starts_with(['+', '-'])
        && let Ok(i) = i64::from_str_radix(&format!("-{rest}"), 2)
    {
        return Resolved::Int(i);
    }
    Resolved::Str
}

/// Resolves a scalar carrying an explicit tag (long form), as go-yaml v2 does;
/// `Err` carries go-yaml's message for a value that does not fit its tag.
pub fn resolve_tagged(tag: &str, s: &str) -> Result<Resolved, String> {
    let short = tag.strip_prefix(TAG_PREFIX);
    let resolvable = matches!(
        short,
        Some("str" | "bool" | "int" | "float" | "null" | "timestamp")
    );
    if !resolvable {
        return Ok(Resolved::Str);
    }
    if short == Some("str") {
        return Ok(Resolved::Str);
    }
    let r = match resolve_plain(s) {
        Resolved::Merge => Resolved::Str,
        r => r,
    };
    let ok = match (short, &r) {
        (Some("bool"), Resolved::Bool(_)) => true,
        (Some("int"), Resolved::Int(_) | Resolved::Uint(_)) => true,
        (Some("float"), Resolved::Float(_)) => true,
        (Some("null"), Resolved::Null) => true,
        (Some("timestamp"), Resolved::Timestamp) => true,
        (Some("float"), Resolved::Int(i)) => return Ok(Resolved::Float(*i as f64)),
        _ => false,
    };
    if ok {
        Ok(r)
    } else {
        Err(format!(
            "cannot decode {} `{s}` as a !!{}",
            r.short_tag(),
            short.unwrap_or("")
        ))
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal text: `None` on syntax
/// errors and on overflow (Go reports a range error).
fn go_parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty()
        || !body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let _ = b;
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() => Some(f),
        _ => None,
    }
}

/// Splits Go's base prefix (`0x`, `0o`, `0b`, leading `0`) off an unsigned
/// integer literal: `(radix, digits)`.
fn base_prefix(s: &str) -> (u32, &str) {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b'0' {
        match b[1] {
            b'x' | b'X' => return (16, &s[2..]),
            b'o' | b'O' => return (8, &s[2..]),
            b'b' | b'B' => return (2, &s[2..]),
            _ => return (8, &s[1..]),
        }
    }
    (10, s)
}

/// Go's `strconv.ParseUint(s, 0, 64)` (underscores already removed).
pub fn go_parse_uint(s: &str) -> Option<u64> {
    let (radix, digits) = base_prefix(s);
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Go's `strconv.ParseInt(s, 0, 64)` (underscores already removed).
pub fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = go_parse_uint(body)?;
    if neg {
        if u <= 1u64 << 63 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

/// Whether go-yaml v2 would read `s` as a timestamp (`2006-1-2`,
/// `2006-1-2T15:4:5.999999999Z07:00`, `2006-1-2 15:4:5.999999999`).
pub fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let year: u32 = s[..4].parse().unwrap_or(0);
    let mut i = 5;
    let Some(month) = num12(b, &mut i) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    let Some(day) = num12(b, &mut i) else {
        return false;
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in(month, year) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let zoned = match b[i] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return false,
    };
    i += 1;
    if !clock(b, &mut i) {
        return false;
    }
    if zoned {
        match b.get(i) {
            Some(b'Z') => i += 1,
            Some(b'+' | b'-') => {
                if b.len() < i + 6 || b[i + 3] != b':' {
                    return false;
                }
                let hh = &b[i + 1..i + 3];
                let mm = &b[i + 4..i + 6];
                if !hh.iter().chain(mm).all(u8::is_ascii_digit) {
                    return false;
                }
                let h = u32::from(hh[0] - b'0') * 10 + u32::from(hh[1] - b'0');
                let m = u32::from(mm[0] - b'0') * 10 + u32::from(mm[1] - b'0');
                if h > 24 || m > 60 {
                    return false;
                }
                i += 6;
            }
            _ => return false,
        }
    }
    i == b.len()
}

/// `15:4:5` with an optional `.999999999` fraction.
fn clock(b: &[u8], i: &mut usize) -> bool {
    let Some(h) = num12(b, i) else { return false };
    if b.get(*i) != Some(&b':') {
        return false;
    }
    *i += 1;
    let Some(m) = num12(b, i) else { return false };
    if b.get(*i) != Some(&b':') {
        return false;
    }
    *i += 1;
    let Some(sec) = num12(b, i) else { return false };
    if h >= 24 || m >= 60 || sec >= 60 {
        return false;
    }
    if matches!(b.get(*i), Some(b'.' | b',')) && b.get(*i + 1).is_some_and(u8::is_ascii_digit) {
        *i += 1;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
    }
    true
}

/// One or two digits (Go's `getnum(value, false)`).
fn num12(b: &[u8], i: &mut usize) -> Option<u32> {
    let d0 = *b.get(*i).filter(|c| c.is_ascii_digit())?;
    *i += 1;
    let mut v = u32::from(d0 - b'0');
    if let Some(&d1) = b.get(*i).filter(|c| c.is_ascii_digit()) {
        *i += 1;
        v = v * 10 + u32::from(d1 - b'0');
    }
    Some(v)
}

fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// go-yaml v2's `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
pub fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    i += 1;
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        match (b.get(i).copied(), b.get(i + 1).copied()) {
            (Some(b'0'..=b'5'), Some(b'0'..=b'9')) => i += 2,
            (Some(b'0'..=b'9'), _) => i += 1,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytewise_reader_check_agrees_with_the_per_character_one() {
        let filler = "key: value\t# comment\r\n".repeat(9); // crosses 64-byte chunks
        for odd in [
            "",
            "\u{7}",
            "\u{7f}",
            "\u{85}",
            "\u{9f}",
            "\u{a0}",
            "é",
            "\u{fffe}",
            "\u{ffff}",
            "\u{10000}",
            "\u{0}",
            "\u{1b}",
        ] {
            for text in [
                format!("{odd}{filler}"),
                format!("{filler}{odd}"),
                format!("{}{odd}{}", &filler[..63], &filler[63..]),
                format!("{filler}é{filler}{odd}"),
            ] {
                assert_eq!(
                    reader_allows_all(&text),
                    text.chars().all(reader_allows),
                    "{text:?}"
                );
            }
        }
    }

    #[test]
    fn yaml11_scalars() {
        assert_eq!(resolve_plain("yes"), Resolved::Bool(true));
        assert_eq!(resolve_plain("Off"), Resolved::Bool(false));
        assert_eq!(resolve_plain("yES"), Resolved::Str);
        assert_eq!(resolve_plain("0x1F"), Resolved::Int(31));
        assert_eq!(resolve_plain("0123"), Resolved::Int(83));
        assert_eq!(resolve_plain("08"), Resolved::Float(8.0));
        assert_eq!(resolve_plain("1_000"), Resolved::Int(1000));
        assert_eq!(resolve_plain("1e3"), Resolved::Float(1000.0));
        assert_eq!(resolve_plain("+.5"), Resolved::Float(0.5));
        assert_eq!(resolve_plain("2001-12-14"), Resolved::Timestamp);
        assert_eq!(resolve_plain("2001-02-30"), Resolved::Str);
        assert_eq!(
            resolve_plain("12345678901234567890"),
            Resolved::Uint(12345678901234567890)
        );
        assert_eq!(resolve_plain("1e400"), Resolved::Str);
        assert!(is_base60_float("12:30"));
        assert!(!is_base60_float("12:60"));
    }
}
