//! Conversions as Sprig does them: `toString` (Sprig's `strval`), and
//! spf13/cast v1.7.0's `ToInt64`/`ToInt`/`ToFloat64` behind `int`, `int64`,
//! `float64` and all integer arithmetic (strings parsed with Go's base-0
//! `strconv.ParseInt` after trimming a zero decimal, floats truncated,
//! anything unconvertible silently 0), plus `atoi`, `toDecimal`, `toStrings`.

use super::{arg, arg_str, spec, strings_of, vfmt};
use crate::godata::gofmt;
use crate::godata::value::{ListKind, Value};
use crate::render::funcs::{FuncResult, FuncSpec, GoType as T};

pub(super) const FUNCS: &[FuncSpec] = &[
    spec("toString", &[T::Any], None, |a| {
        Ok(Value::str(strval(arg(a, 0))))
    }),
    spec("int64", &[T::Any], None, |a| {
        Ok(Value::Int64(to_int64(arg(a, 0))))
    }),
    spec("int", &[T::Any], None, |a| {
        Ok(Value::Int(to_int64(arg(a, 0))))
    }),
    spec("float64", &[T::Any], None, |a| {
        Ok(Value::Float(to_float64(arg(a, 0))))
    }),
    spec("atoi", &[T::String], None, atoi),
    spec("toDecimal", &[T::Any], None, to_decimal),
    spec("toStrings", &[T::Any], None, |a| {
        strings_of(strslice(arg(a, 0)))
    }),
];

/// Sprig's `strval`: strings as they are, `[]byte` as text, Stringers and
/// everything else as Go's `%v`.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => vfmt(other),
    }
}

/// Sprig's `strslice` (`toStrings`, `join`, `sortAlpha`): slices become
/// their non-nil elements' `strval`, nil an empty slice, anything else a
/// one-element slice.
pub(crate) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) if l.kind == ListKind::String => l.items.iter().map(strval).collect(),
        Value::List(l) => l.items.iter().filter(|x| !x.is_nil()).map(strval).collect(),
        Value::Bytes(b) => b.iter().map(|x| x.to_string()).collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

/// spf13/cast `ToInt64` (errors become 0, as Sprig ignores them).
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => go_f64_to_i64(*f),
        Value::Str(s) => parse_int_base0(trim_zero_decimal(s)).unwrap_or(0),
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

/// spf13/cast `ToFloat64` (errors become 0).
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Str(s) => parse_float(s).unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// Go's `int64(f)` conversion on amd64: truncation toward zero, and the
/// "integer indefinite" value for NaN and out-of-range numbers.
pub(crate) fn go_f64_to_i64(f: f64) -> i64 {
    if f.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        i64::MIN
    } else {
        f.trunc() as i64
    }
}

/// cast's `trimZeroDecimal`: "8.00" → "8", "8.5" stays.
fn trim_zero_decimal(s: &str) -> &str {
    let bytes = s.as_bytes();
    let mut found_zero = false;
    for i in (1..=bytes.len()).rev() {
        match bytes[i - 1] {
            b'.' => {
                if found_zero {
                    return &s[..i - 1];
                }
            }
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// Go's `strconv.ParseInt(s, 0, 64)`: sign, `0x`/`0o`/`0b`/leading-0 octal
/// prefixes, underscores between digits; `None` on any error (including
/// overflow).
pub(crate) fn parse_int_base0(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = parse_uint_base0(body)?;
    if neg {
        if magnitude > 1u64 << 63 {
            return None;
        }
        Some((magnitude as i64).wrapping_neg())
    } else {
        i64::try_from(magnitude).ok()
    }
}

fn parse_uint_base0(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let (base, digits, prefixed) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest.to_string(), true)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest.to_string(), true)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest.to_string(), true)
    } else if lower.starts_with('0') && lower.len() > 1 {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower.clone(), false)
    };
    if s.contains('_') && !gofmt::underscore_ok(s) {
        return None;
    }
    let _ = prefixed;
    let mut n: u64 = 0;
    let mut any = false;
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let d = c.to_digit(base)?;
        n = n.checked_mul(u64::from(base))?.checked_add(u64::from(d))?;
        any = true;
    }
    if !any && base != 8 {
        return None;
    }
    Some(n)
}

/// Go's `strconv.ParseFloat(s, 64)` for the forms charts use: decimal and
/// exponent notation, `inf`/`infinity`/`nan`; out-of-range is an error.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let t = s.trim_start_matches(['+', '-']);
    let special = matches!(t.to_ascii_lowercase().as_str(), "inf" | "infinity" | "nan");
    if special {
        if t.eq_ignore_ascii_case("nan") && t.len() != s.len() {
            return None;
        }
        return s.parse::<f64>().ok();
    }
    if s.contains('_')
        || s.bytes()
            .any(|c| c.is_ascii_alphabetic() && !matches!(c, b'e' | b'E'))
    {
        return parse_hex_float(s);
    }
    let f = s.parse::<f64>().ok()?;
    if f.is_infinite() { None } else { Some(f) }
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.contains('_') && !gofmt::underscore_ok(body) {
        return None;
    }
    let body: String = body.chars().filter(|c| *c != '_').collect();
    let lower = body.to_ascii_lowercase();
    let rest = lower.strip_prefix("0x")?;
    let (mant, exp) = rest.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int_part.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp);
    if v.is_infinite() {
        return None;
    }
    Some(if neg { -v } else { v })
}

/// Go's `strconv.Atoi`, errors ignored as Sprig's `atoi` does.
fn atoi(args: &[Value]) -> FuncResult {
    let s = arg_str(args, 0)?;
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Ok(Value::Int(0));
    }
    let parsed = if neg {
        format!("-{digits}").parse::<i64>()
    } else {
        digits.parse::<i64>()
    };
    Ok(Value::Int(parsed.unwrap_or(0)))
}

/// Sprig's `toDecimal`: `fmt.Sprint(v)` parsed as octal (0 on error).
fn to_decimal(args: &[Value]) -> FuncResult {
    let text = vfmt(arg(args, 0));
    let (neg, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text.as_str()),
    };
    if digits.is_empty() || !digits.bytes().all(|c| (b'0'..=b'7').contains(&c)) {
        return Ok(Value::Int64(0));
    }
    let n = match i64::from_str_radix(digits, 8) {
        Ok(n) => n,
        Err(_) => return Ok(Value::Int64(0)),
    };
    Ok(Value::Int64(if neg { -n } else { n }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cast_to_int64_matches_spf13_cast() {
        assert_eq!(to_int64(&Value::str("08")), 0);
        assert_eq!(to_int64(&Value::str("010")), 8);
        assert_eq!(to_int64(&Value::str("0x1F")), 31);
        assert_eq!(to_int64(&Value::str("12.0")), 12);
        assert_eq!(to_int64(&Value::str("12.5")), 0);
        assert_eq!(to_int64(&Value::str("1_000")), 1000);
        assert_eq!(to_int64(&Value::str(" 1")), 0);
        assert_eq!(to_int64(&Value::Float(-3.9)), -3);
        assert_eq!(to_int64(&Value::Bool(true)), 1);
        assert_eq!(to_int64(&Value::Nil), 0);
    }

    #[test]
    fn cast_to_float64() {
        assert_eq!(to_float64(&Value::str("1e3")), 1000.0);
        assert_eq!(to_float64(&Value::str("abc")), 0.0);
        assert_eq!(to_float64(&Value::str("1e400")), 0.0);
        assert_eq!(to_float64(&Value::str("0x1p4")), 16.0);
        assert_eq!(to_float64(&Value::Int(3)), 3.0);
    }

    #[test]
    fn zero_decimal_trimming() {
        assert_eq!(trim_zero_decimal("8.00"), "8");
        assert_eq!(trim_zero_decimal("8.50"), "8.50");
        assert_eq!(trim_zero_decimal("800"), "800");
    }
}
