//! Go-style duration strings (`30s`, `10m`, `1h30m`, `1.5h`) as used by the
//! `interval` and `timeout` fields: the CRD validation pattern and a parser
//! with exactly the syntax and limits of Go's `time.ParseDuration`.

use std::time::Duration;

/// Pattern the API server checks duration fields against: one or more
/// `<number><unit>` groups with a non-negative decimal number. It is a strict
/// subset of what Go accepts (no sign, no bare `0`, no `.5s`), so everything
/// the server admits also parses with [`parse_go_duration`].
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+$";

/// Why a duration string is not valid Go duration syntax. Messages match Go's
/// `time.ParseDuration` errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Malformed number, empty input, or a value beyond Go's int64 nanoseconds.
    #[error("time: invalid duration \"{0}\"")]
    Invalid(String),
    /// A number without a unit, e.g. `10`.
    #[error("time: missing unit in duration \"{0}\"")]
    MissingUnit(String),
    /// A unit other than ns, us, µs, μs, ms, s, m, h.
    #[error("time: unknown unit \"{unit}\" in duration \"{input}\"")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole input.
        input: String,
    },
    /// A syntactically valid but negative duration where only non-negative
    /// ones make sense (intervals, timeouts).
    #[error("duration \"{0}\" is negative")]
    Negative(String),
}

/// Nanoseconds per unit, as Go's `unitMap`.
fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{00b5}s" | "\u{03bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60 * 1_000_000_000,
        "h" => 3_600 * 1_000_000_000,
        _ => return None,
    })
}

/// Splits a leading run of ASCII digits off `s`, returning the digits' value
/// (saturating past `u64`, flagged by `overflow`), how many digits were read,
/// and the rest. Fraction digits past what fits are dropped, as in Go.
struct Digits<'a> {
    value: u64,
    scale: f64,
    count: usize,
    overflow: bool,
    rest: &'a str,
}

fn leading_int(s: &str) -> Digits<'_> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let mut value: u64 = 0;
    let mut overflow = false;
    for b in s[..end].bytes() {
        match value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
        {
            Some(v) if v <= 1 << 63 => value = v,
            _ => overflow = true,
        }
    }
    Digits {
        value,
        scale: 1.0,
        count: end,
        overflow,
        rest: &s[end..],
    }
}

/// Go's `leadingFraction`: digits after the decimal point, keeping only as
/// many as fit without overflow.
fn leading_fraction(s: &str) -> Digits<'_> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let mut value: u64 = 0;
    let mut scale = 1.0;
    let mut overflow = false;
    for b in s[..end].bytes() {
        if overflow {
            continue;
        }
        if value > (1u64 << 63) / 10 {
            overflow = true;
            continue;
        }
        let y = value * 10 + u64::from(b - b'0');
        if y > 1 << 63 {
            overflow = true;
            continue;
        }
        value = y;
        scale *= 10.0;
    }
    Digits {
        value,
        scale,
        count: end,
        overflow: false,
        rest: &s[end..],
    }
}

/// Parses a duration exactly as Go's `time.ParseDuration` does and returns
/// signed nanoseconds (Go's `time.Duration`).
pub fn parse_go_duration(input: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::Invalid(input.to_string());
    let mut s = input;
    let mut neg = false;
    if let Some(c) = s.chars().next()
        && (c == '-' || c == '+')
    {
        neg = c == '-';
        s = &s[1..];
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let (units, frac, rest) = number_and_unit(s, input)?;
        s = rest;
        let unit = unit_value(units, input)?;
        total = add_term(total, frac, unit).ok_or_else(invalid)?;
    }
    signed(total, neg).ok_or_else(invalid)
}

/// One `<number><unit>` term: the parsed number (integer and fraction parts),
/// the unit text, and the remaining input.
struct Term<'a> {
    int: Digits<'a>,
    frac: Option<Digits<'a>>,
}

fn number_and_unit<'a>(
    s: &'a str,
    input: &str,
) -> Result<(&'a str, Term<'a>, &'a str), DurationError> {
    let invalid = || DurationError::Invalid(input.to_string());
    if !s.starts_with(|c: char| c == '.' || c.is_ascii_digit()) {
        return Err(invalid());
    }
    let int = leading_int(s);
    if int.overflow {
        return Err(invalid());
    }
    let mut rest = int.rest;
    let mut frac = None;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let f = leading_fraction(after_dot);
        rest = f.rest;
        frac = Some(f);
    }
    let frac_count = frac.as_ref().map_or(0, |f| f.count);
    if int.count == 0 && frac_count == 0 {
        return Err(invalid());
    }
    let unit_end = rest
        .find(|c: char| c == '.' || c.is_ascii_digit())
        .unwrap_or(rest.len());
    if unit_end == 0 {
        return Err(DurationError::MissingUnit(input.to_string()));
    }
    Ok((&rest[..unit_end], Term { int, frac }, &rest[unit_end..]))
}

fn unit_value(unit: &str, input: &str) -> Result<u64, DurationError> {
    unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit {
        unit: unit.to_string(),
        input: input.to_string(),
    })
}

/// Adds `term * unit` to `total`, or `None` on overflow past 2^63.
fn add_term(total: u64, term: Term<'_>, unit: u64) -> Option<u64> {
    let limit = 1u64 << 63;
    let v = term.int.value;
    if v > limit / unit {
        return None;
    }
    let mut v = v * unit;
    if let Some(f) = term.frac
        && f.value > 0
    {
        // Go: v += uint64(float64(f) * (float64(unit) / scale))
        v = v.checked_add((f.value as f64 * (unit as f64 / f.scale)) as u64)?;
        if v > limit {
            return None;
        }
    }
    let sum = total.checked_add(v)?;
    (sum <= limit).then_some(sum)
}

fn signed(total: u64, neg: bool) -> Option<i64> {
    if neg {
        if total == 1 << 63 {
            Some(i64::MIN)
        } else {
            i64::try_from(total).ok().map(|v| -v)
        }
    } else {
        i64::try_from(total).ok()
    }
}

/// Parses a Go duration that must not be negative (intervals, timeouts).
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let nanos = parse_go_duration(input)?;
    let nanos = u64::try_from(nanos).map_err(|_| DurationError::Negative(input.to_string()))?;
    Ok(Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn parses_go_examples() {
        // Cases from Go's time/time_test.go parseDurationTests.
        let cases: &[(&str, i64)] = &[
            ("0", 0),
            ("5s", 5 * S),
            ("30s", 30 * S),
            ("1478s", 1478 * S),
            ("-5s", -5 * S),
            ("+5s", 5 * S),
            ("-0", 0),
            ("+0", 0),
            ("5.0s", 5 * S),
            ("5.6s", 5 * S + 600_000_000),
            ("5.s", 5 * S),
            (".5s", 500_000_000),
            ("1.0s", S),
            ("1.00s", S),
            ("1.004s", S + 4_000_000),
            ("1.0040s", S + 4_000_000),
            ("100.00100s", 100 * S + 1_000_000),
            ("10ns", 10),
            ("11us", 11_000),
            ("12µs", 12_000),
            ("12μs", 12_000),
            ("13ms", 13_000_000),
            ("14s", 14 * S),
            ("15m", 15 * 60 * S),
            ("16h", 16 * 3600 * S),
            ("3h30m", (3 * 3600 + 30 * 60) * S),
            ("10.5s4m", 4 * 60 * S + 10 * S + 500_000_000),
            ("-2m3.4s", -(2 * 60 * S + 3 * S + 400_000_000)),
            (
                "1h2m3s4ms5us6ns",
                3600 * S + 2 * 60 * S + 3 * S + 4_000_000 + 5_000 + 6,
            ),
            (
                "39h9m14.425s",
                39 * 3600 * S + 9 * 60 * S + 14 * S + 425_000_000,
            ),
            ("52763797000ns", 52_763_797_000),
            ("0.3333333333333333333h", 20 * 60 * S),
            ("9007199254740993ns", 9_007_199_254_740_993),
            ("9223372036854775807ns", i64::MAX),
            ("9223372036854775.807us", i64::MAX),
            ("9223372036s854ms775us807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("-9223372036854775.808us", i64::MIN),
            ("0.100000000000000000000h", 6 * 60 * S),
            (
                "0.830103483285477580700h",
                49 * 60 * S + 48 * S + 372_539_827,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_go_duration(input), Ok(*want), "input {input:?}");
        }
    }

    #[test]
    fn rejects_what_go_rejects() {
        for input in [
            "",
            "3",
            "-",
            "s",
            ".",
            "-.",
            ".s",
            "+.s",
            "1d",
            "\u{85}\u{85}",
            "\u{ffff}",
            "9223372036854775810ns",
            "9223372036854775808ns",
            "-9223372036854775809ns",
            "9223372036854776us",
            "3000000h",
        ] {
            assert!(
                parse_go_duration(input).is_err(),
                "input {input:?} should fail"
            );
        }
    }

    #[test]
    fn error_messages_match_go() {
        assert_eq!(
            parse_go_duration("10").unwrap_err().to_string(),
            "time: missing unit in duration \"10\""
        );
        assert_eq!(
            parse_go_duration("1d").unwrap_err().to_string(),
            "time: unknown unit \"d\" in duration \"1d\""
        );
        assert_eq!(
            parse_go_duration("x").unwrap_err().to_string(),
            "time: invalid duration \"x\""
        );
    }

    #[test]
    fn non_negative_helper() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(
            parse_duration("-1s"),
            Err(DurationError::Negative("-1s".to_string()))
        );
    }
}
