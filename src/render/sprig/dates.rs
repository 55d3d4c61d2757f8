//! Sprig's date functions over a Go `time.Time` object: `now`, `date`,
//! `dateInZone`/`date_in_zone`, `htmlDate`, `htmlDateInZone`, `unixEpoch`,
//! `dateModify`/`mustDateModify`, `ago`, `duration`, `durationRound`, with
//! Go's reference-layout formatting ("2006-01-02T15:04:05Z07:00") and
//! `time.Duration.String()`. Zones: `UTC` and `Local` (taken as UTC, the
//! zone rudder runs in); other zone names fall back to UTC as Sprig does
//! when a zone cannot be loaded.

use super::{arg, arg_str, spec};
use crate::godata::value::{Object, Value};
use crate::render::funcs::{FuncError, FuncResult, FuncSpec, GoType as T};
use std::any::Any;
use std::rc::Rc;

const S: T = T::String;
const A: T = T::Any;
const TIME: T = T::Object("time.Time");

pub(super) const FUNCS: &[FuncSpec] = &[
    spec("now", &[], None, |_| Ok(GoTime::now().into_value())),
    spec("date", &[S, A], None, |a| {
        Ok(Value::str(date_in_zone(arg_str(a, 0)?, arg(a, 1), "Local")))
    }),
    spec("dateInZone", &[S, A, S], None, |a| {
        Ok(Value::str(date_in_zone(
            arg_str(a, 0)?,
            arg(a, 1),
            arg_str(a, 2)?,
        )))
    }),
    spec("date_in_zone", &[S, A, S], None, |a| {
        Ok(Value::str(date_in_zone(
            arg_str(a, 0)?,
            arg(a, 1),
            arg_str(a, 2)?,
        )))
    }),
    spec("htmlDate", &[A], None, |a| {
        Ok(Value::str(date_in_zone("2006-01-02", arg(a, 0), "Local")))
    }),
    spec("htmlDateInZone", &[A, S], None, |a| {
        Ok(Value::str(date_in_zone(
            "2006-01-02",
            arg(a, 0),
            arg_str(a, 1)?,
        )))
    }),
    spec("toDate", &[S, S], None, |a| {
        let t = parse_time(arg_str(a, 0)?, arg_str(a, 1)?).unwrap_or_else(|_| GoTime::zero());
        Ok(t.into_value())
    }),
    spec("mustToDate", &[S, S], None, |a| {
        let t = parse_time(arg_str(a, 0)?, arg_str(a, 1)?).map_err(FuncError::new)?;
        Ok(t.into_value())
    }),
    spec("unixEpoch", &[TIME], None, |a| {
        Ok(Value::str(time_arg(a)?.secs.to_string()))
    }),
    spec("dateModify", &[S, TIME], None, |a| {
        let t = time_arg(&a[1..])?;
        Ok(match parse_duration(arg_str(a, 0)?) {
            Ok(d) => t.add(d).into_value(),
            Err(_) => t.into_value(),
        })
    }),
    spec("date_modify", &[S, TIME], None, |a| {
        let t = time_arg(&a[1..])?;
        Ok(match parse_duration(arg_str(a, 0)?) {
            Ok(d) => t.add(d).into_value(),
            Err(_) => t.into_value(),
        })
    }),
    spec("mustDateModify", &[S, TIME], None, must_date_modify),
    spec("must_date_modify", &[S, TIME], None, must_date_modify),
    spec("ago", &[A], None, |a| {
        let t = to_time(arg(a, 0)).unwrap_or_else(GoTime::now);
        let now = GoTime::now();
        let d = (now.secs - t.secs) as i128 * 1_000_000_000 + (now.nanos as i128 - t.nanos as i128);
        let rounded =
            ((d + if d >= 0 { 500_000_000 } else { -500_000_000 }) / 1_000_000_000) * 1_000_000_000;
        Ok(Value::str(duration_string(rounded as i64)))
    }),
    spec("duration", &[A], None, |a| {
        let n = match arg(a, 0) {
            Value::Str(s) => s.parse::<i64>().unwrap_or(0),
            Value::Int64(n) => *n,
            _ => 0,
        };
        Ok(Value::str(duration_string(n.wrapping_mul(1_000_000_000))))
    }),
    spec("durationRound", &[A], None, duration_round),
];

/// A Go `*time.Location`.
#[derive(Clone, Debug)]
pub(crate) enum Zone {
    /// `time.UTC` (and the zero Time's nil location).
    Utc,
    /// `time.Local` or a location loaded by name.
    Tz(jiff::tz::TimeZone),
    /// `time.FixedZone("", offset)` from a parsed numeric offset.
    Fixed(i32),
    /// BurntSushi/toml's UTC-offset pseudo-locations for local dates and
    /// times (`date-local`, `datetime-local`, `time-local`).
    Label(&'static str),
}

impl Zone {
    /// Go's `time.Local`: the system zone (TZ or /etc/localtime).
    fn local() -> Zone {
        Zone::Tz(jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC))
    }

    /// Go's `time.LoadLocation` as Sprig uses it: unknown names give UTC.
    fn load(name: &str) -> Zone {
        match name {
            "" | "UTC" => Zone::Utc,
            "Local" => Zone::local(),
            n if n.contains("..") || n.starts_with('/') || n.contains('\\') => Zone::Utc,
            n => jiff::tz::TimeZone::get(n).map_or(Zone::Utc, Zone::Tz),
        }
    }

    /// The offset (seconds east of UTC) and abbreviation at an instant.
    fn info(&self, secs: i64) -> (i32, String) {
        match self {
            Zone::Utc => (0, "UTC".into()),
            Zone::Fixed(off) => (*off, String::new()),
            Zone::Label(name) => (0, (*name).to_string()),
            Zone::Tz(tz) => match jiff::Timestamp::from_second(secs) {
                Ok(ts) => {
                    let info = tz.to_offset_info(ts);
                    (info.offset().seconds(), info.abbreviation().to_string())
                }
                Err(_) => (0, "UTC".into()),
            },
        }
    }
}

/// Go's `time.Time`: an instant (seconds and nanoseconds since the epoch)
/// in a location.
#[derive(Clone, Debug)]
pub(crate) struct GoTime {
    secs: i64,
    nanos: u32,
    zone: Zone,
    monotonic: bool,
}

/// Seconds from 0001-01-01 to 1970-01-01 (Go's zero Time is year 1).
const ZERO_TIME_SECS: i64 = -62_135_596_800;

impl GoTime {
    /// A time from civil fields (UTC-based seconds) in a zone, as
    /// `time.Date` builds it for a fixed offset.
    pub(crate) fn from_civil(
        date: (i64, u32, u32),
        clock: (u32, u32, u32, u32),
        offset: i32,
        zone: Zone,
    ) -> Value {
        let (y, m, d) = date;
        let (h, mi, sec, nanos) = clock;
        let local = days_from_civil(y, m, d) * 86_400 + i64::from(h * 3600 + mi * 60 + sec);
        GoTime {
            secs: local - i64::from(offset),
            nanos,
            zone,
            monotonic: false,
        }
        .into_value()
    }

    fn now() -> GoTime {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        GoTime {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
            zone: Zone::local(),
            monotonic: true,
        }
    }

    fn unix(secs: i64) -> GoTime {
        GoTime {
            secs,
            nanos: 0,
            zone: Zone::local(),
            monotonic: false,
        }
    }

    fn zero() -> GoTime {
        GoTime {
            secs: ZERO_TIME_SECS,
            nanos: 0,
            zone: Zone::Utc,
            monotonic: false,
        }
    }

    fn add(self, nanos: i64) -> GoTime {
        let total = self.secs as i128 * 1_000_000_000 + self.nanos as i128 + nanos as i128;
        GoTime {
            secs: total.div_euclid(1_000_000_000) as i64,
            nanos: total.rem_euclid(1_000_000_000) as u32,
            ..self
        }
    }

    fn in_zone(self, zone: Zone) -> GoTime {
        GoTime { zone, ..self }
    }

    fn into_value(self) -> Value {
        Value::Object(Rc::new(self))
    }
}

impl Object for GoTime {
    fn type_name(&self) -> &str {
        "time.Time"
    }

    fn field(&self, name: &str) -> Option<Value> {
        let (off, _) = self.zone.info(self.secs);
        let c = civil(self.secs + i64::from(off));
        Some(match name {
            "Year" => Value::Int(c.year),
            "Day" => Value::Int(c.day as i64),
            "Hour" => Value::Int(c.hour as i64),
            "Minute" => Value::Int(c.min as i64),
            "Second" => Value::Int(c.sec as i64),
            "Nanosecond" => Value::Int(self.nanos as i64),
            "Unix" => Value::Int64(self.secs),
            "YearDay" => Value::Int(c.yday as i64),
            "String" => Value::str(self.format()),
            "UTC" => self.clone().in_zone(Zone::Utc).into_value(),
            "Local" => self.clone().in_zone(Zone::local()).into_value(),
            _ => return None,
        })
    }

    fn format(&self) -> String {
        let mut s = format_layout(self, "2006-01-02 15:04:05.999999999 -0700 MST");
        if self.monotonic {
            s.push_str(" m=+0.000000001");
        }
        s
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn time_arg(args: &[Value]) -> Result<GoTime, FuncError> {
    match args.first() {
        Some(Value::Object(o)) => o.as_any().downcast_ref::<GoTime>().cloned().ok_or_else(|| {
            FuncError::new(format!(
                "wrong type for value; expected time.Time; got {}",
                o.type_name()
            ))
        }),
        _ => Err(FuncError::new("internal error: expected time.Time")),
    }
}

/// The `date` argument forms Sprig accepts: time.Time, int, int64 (seconds).
fn to_time(v: &Value) -> Option<GoTime> {
    match v {
        Value::Object(o) => o.as_any().downcast_ref::<GoTime>().cloned(),
        Value::Int(n) | Value::Int64(n) => Some(GoTime::unix(*n)),
        _ => None,
    }
}

fn date_in_zone(layout: &str, v: &Value, zone: &str) -> String {
    let t = to_time(v).unwrap_or_else(GoTime::now);
    format_layout(&t.in_zone(Zone::load(zone)), layout)
}

fn must_date_modify(args: &[Value]) -> FuncResult {
    let t = time_arg(&args[1..])?;
    let d = parse_duration(arg_str(args, 0)?).map_err(FuncError::new)?;
    Ok(t.add(d).into_value())
}

fn duration_round(args: &[Value]) -> FuncResult {
    let d: i128 = match arg(args, 0) {
        Value::Str(s) => parse_duration(s).unwrap_or(0) as i128,
        Value::Int64(n) => *n as i128,
        Value::Object(o) => match o.as_any().downcast_ref::<GoTime>() {
            Some(t) => {
                let now = GoTime::now();
                (now.secs - t.secs) as i128 * 1_000_000_000 + now.nanos as i128 - t.nanos as i128
            }
            None => 0,
        },
        _ => 0,
    };
    let u = d.unsigned_abs() as u64;
    let (second, minute, hour) = (1_000_000_000u64, 60_000_000_000u64, 3_600_000_000_000u64);
    let (day, month, year) = (hour * 24, hour * 24 * 30, hour * 24 * 365);
    let out = if u > year {
        format!("{}y", u / year)
    } else if u > month {
        format!("{}mo", u / month)
    } else if u > day {
        format!("{}d", u / day)
    } else if u > hour {
        format!("{}h", u / hour)
    } else if u > minute {
        format!("{}m", u / minute)
    } else if u > second {
        format!("{}s", u / second)
    } else {
        "0s".to_string()
    };
    Ok(Value::str(out))
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub(crate) fn parse_duration(s: &str) -> Result<i64, String> {
    let orig = s;
    let quoted = || crate::godata::gofmt::quote(orig);
    let mut s = s;
    let mut neg = false;
    if let Some(r) = s.strip_prefix('-') {
        neg = true;
        s = r;
    } else if let Some(r) = s.strip_prefix('+') {
        s = r;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(format!("time: invalid duration {}", quoted()));
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let num_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let num = &s[..num_end];
        if num.is_empty() || num == "." {
            return Err(format!("time: invalid duration {}", quoted()));
        }
        let v: f64 = num
            .parse()
            .map_err(|_| format!("time: invalid duration {}", quoted()))?;
        s = &s[num_end..];
        let unit_end = s
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(s.len());
        let unit = &s[..unit_end];
        s = &s[unit_end..];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration {}", quoted())),
            other => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    crate::godata::gofmt::quote(other),
                    quoted()
                ));
            }
        };
        total += v * scale;
    }
    if total > 9.223_372_036_854_776e18 {
        return Err(format!("time: invalid duration {}", quoted()));
    }
    let n = total.round() as i64;
    Ok(if neg { -n } else { n })
}

/// Go's `time.Duration.String()`.
pub(crate) fn duration_string(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1u64)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac(u, div));
        out.push_str(unit);
    } else {
        let h = u / 3_600_000_000_000;
        let m = (u / 60_000_000_000) % 60;
        let secs = u % 60_000_000_000;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac(secs, 1_000_000_000));
        out.push('s');
    }
    if neg { format!("-{out}") } else { out }
}

fn frac(v: u64, div: u64) -> String {
    let whole = v / div;
    let rest = v % div;
    if rest == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    wday: u32,
    yday: u32,
}

fn civil(secs: i64) -> Civil {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let cum = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let yday = cum[(month - 1) as usize] + day + u32::from(leap && month > 2);
    Civil {
        year,
        month,
        day,
        hour: rem / 3600,
        min: (rem / 60) % 60,
        sec: rem % 60,
        wday: (days + 4).rem_euclid(7) as u32,
        yday,
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// One element of a Go reference layout (`nextStdChunk`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    /// ISO 8601 zone: (`Z` prints "Z" for UTC, colons, with seconds, hours only)
    Iso(bool, bool, bool, bool),
    /// Fractional seconds: (separator, digits, trailing zeros trimmed)
    Frac(char, usize, bool),
}

/// Splits a layout into literal text and layout elements.
fn tokenize(layout: &str) -> Vec<(String, Option<Std>)> {
    const TOKENS: &[(&str, Std)] = &[
        ("January", Std::LongMonth),
        ("Jan", Std::Month),
        ("Monday", Std::LongWeekDay),
        ("Mon", Std::WeekDay),
        ("MST", Std::TZ),
        ("2006", Std::LongYear),
        ("-07:00:00", Std::Iso(false, true, true, false)),
        ("-070000", Std::Iso(false, false, true, false)),
        ("-07:00", Std::Iso(false, true, false, false)),
        ("-0700", Std::Iso(false, false, false, false)),
        ("-07", Std::Iso(false, false, false, true)),
        ("Z07:00:00", Std::Iso(true, true, true, false)),
        ("Z070000", Std::Iso(true, false, true, false)),
        ("Z07:00", Std::Iso(true, true, false, false)),
        ("Z0700", Std::Iso(true, false, false, false)),
        ("Z07", Std::Iso(true, false, false, true)),
        ("002", Std::ZeroYearDay),
        ("__2", Std::UnderYearDay),
        ("01", Std::ZeroMonth),
        ("02", Std::ZeroDay),
        ("03", Std::ZeroHour12),
        ("04", Std::ZeroMinute),
        ("05", Std::ZeroSecond),
        ("06", Std::Year),
        ("_2", Std::UnderDay),
        ("15", Std::Hour),
        ("PM", Std::PM),
        ("pm", Std::Pm),
        ("1", Std::NumMonth),
        ("2", Std::Day),
        ("3", Std::Hour12),
        ("4", Std::Minute),
        ("5", Std::Second),
    ];
    let mut out: Vec<(String, Option<Std>)> = Vec::new();
    let mut lit = String::new();
    let mut rest = layout;
    while !rest.is_empty() {
        if let Some(sep) = rest.chars().next().filter(|c| *c == '.' || *c == ',') {
            let run: String = rest[1..]
                .chars()
                .take_while(|c| *c == '0' || *c == '9')
                .collect();
            let same = run.chars().all(|c| run.starts_with(c));
            let after = rest[1 + run.len()..].chars().next();
            if !run.is_empty() && same && !after.is_some_and(|c| c.is_ascii_digit()) {
                out.push((
                    std::mem::take(&mut lit),
                    Some(Std::Frac(sep, run.len(), run.starts_with('9'))),
                ));
                rest = &rest[1 + run.len()..];
                continue;
            }
        }
        // "_2006" is a literal underscore followed by the year.
        if rest.starts_with("_2006") {
            lit.push('_');
            rest = &rest[1..];
            continue;
        }
        match TOKENS.iter().find(|(t, _)| rest.starts_with(t)) {
            Some((t, std)) => {
                out.push((std::mem::take(&mut lit), Some(*std)));
                rest = &rest[t.len()..];
            }
            None => {
                let ch = rest.chars().next().unwrap_or(' ');
                lit.push(ch);
                rest = &rest[ch.len_utf8()..];
            }
        }
    }
    out.push((lit, None));
    out
}

/// Go's `Time.Format`.
fn format_layout(t: &GoTime, layout: &str) -> String {
    let (off, abbrev) = t.zone.info(t.secs);
    let c = civil(t.secs + i64::from(off));
    let hour12 = if c.hour.is_multiple_of(12) {
        12
    } else {
        c.hour % 12
    };
    let mut out = String::new();
    for (lit, std) in tokenize(layout) {
        out.push_str(&lit);
        let Some(std) = std else { continue };
        let piece = match std {
            Std::LongMonth => MONTHS[(c.month - 1) as usize].to_string(),
            Std::Month => MONTHS[(c.month - 1) as usize][..3].to_string(),
            Std::NumMonth => c.month.to_string(),
            Std::ZeroMonth => format!("{:02}", c.month),
            Std::LongWeekDay => DAYS[c.wday as usize].to_string(),
            Std::WeekDay => DAYS[c.wday as usize][..3].to_string(),
            Std::Day => c.day.to_string(),
            Std::UnderDay => format!("{:>2}", c.day),
            Std::ZeroDay => format!("{:02}", c.day),
            Std::UnderYearDay => format!("{:>3}", c.yday),
            Std::ZeroYearDay => format!("{:03}", c.yday),
            Std::Hour => format!("{:02}", c.hour),
            Std::Hour12 => hour12.to_string(),
            Std::ZeroHour12 => format!("{hour12:02}"),
            Std::Minute => c.min.to_string(),
            Std::ZeroMinute => format!("{:02}", c.min),
            Std::Second => c.sec.to_string(),
            Std::ZeroSecond => format!("{:02}", c.sec),
            Std::LongYear => {
                if c.year < 0 {
                    format!("-{:04}", -c.year)
                } else {
                    format!("{:04}", c.year)
                }
            }
            Std::Year => format!("{:02}", c.year.rem_euclid(100)),
            Std::PM => (if c.hour >= 12 { "PM" } else { "AM" }).to_string(),
            Std::Pm => (if c.hour >= 12 { "pm" } else { "am" }).to_string(),
            Std::TZ => {
                if abbrev.is_empty() {
                    format_offset(off, false, false, false)
                } else {
                    abbrev.clone()
                }
            }
            Std::Iso(z, colon, secs, hours_only) => {
                if z && off == 0 {
                    "Z".to_string()
                } else {
                    format_offset(off, colon, secs, hours_only)
                }
            }
            Std::Frac(sep, n, trim) => {
                let digits = format!("{:09}", t.nanos);
                let d = &digits[..n.min(9)];
                if trim {
                    let d = d.trim_end_matches('0');
                    if d.is_empty() {
                        String::new()
                    } else {
                        format!("{sep}{d}")
                    }
                } else {
                    format!("{sep}{d}")
                }
            }
        };
        out.push_str(&piece);
    }
    out
}

fn format_offset(off: i32, colon: bool, secs: bool, hours_only: bool) -> String {
    let sign = if off < 0 { '-' } else { '+' };
    let a = off.unsigned_abs();
    let (h, m, s) = (a / 3600, (a / 60) % 60, a % 60);
    let sep = if colon { ":" } else { "" };
    let mut out = format!("{sign}{h:02}");
    if !hours_only {
        out.push_str(&format!("{sep}{m:02}"));
    }
    if secs {
        out.push_str(&format!("{sep}{s:02}"));
    }
    out
}

/// Go's `parse` error texts.
fn parse_error(value: &str, layout: &str, value_elem: &str, layout_elem: &str) -> String {
    let q = crate::godata::gofmt::quote;
    format!(
        "parsing time {} as {}: cannot parse {} as {}",
        q(value),
        q(layout),
        q(value_elem),
        q(layout_elem)
    )
}

/// Go's `getnum`: one or two digits (exactly two when `fixed`).
fn getnum(s: &str, fixed: bool) -> Option<(u32, &str)> {
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() {
        return None;
    }
    if b.len() < 2 || !b[1].is_ascii_digit() {
        if fixed {
            return None;
        }
        return Some((u32::from(b[0] - b'0'), &s[1..]));
    }
    Some((
        u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0'),
        &s[2..],
    ))
}

/// Go's `skip`: literal layout text, runs of spaces matching runs of spaces.
fn skip<'a>(mut value: &'a str, mut prefix: &str) -> Option<&'a str> {
    while !prefix.is_empty() {
        if prefix.starts_with(' ') {
            if !value.is_empty() && !value.starts_with(' ') {
                return None;
            }
            prefix = prefix.trim_start_matches(' ');
            value = value.trim_start_matches(' ');
            continue;
        }
        let c = prefix.chars().next()?;
        if !value.starts_with(c) {
            return None;
        }
        prefix = &prefix[c.len_utf8()..];
        value = &value[c.len_utf8()..];
    }
    Some(value)
}

fn lookup_name<'a>(names: &[&str], value: &'a str, short: bool) -> Option<(usize, &'a str)> {
    for (i, n) in names.iter().enumerate() {
        let n = if short { &n[..3] } else { n };
        if value.len() >= n.len()
            && value.is_char_boundary(n.len())
            && value[..n.len()].eq_ignore_ascii_case(n)
        {
            return Some((i, &value[n.len()..]));
        }
    }
    None
}

/// Go's `time.ParseInLocation(layout, value, time.Local)`.
fn parse_time(layout: &str, value_in: &str) -> Result<GoTime, String> {
    let (mut year, mut month, mut day) = (0i64, 0u32, 0u32);
    let (mut hour, mut min, mut sec, mut nsec) = (0u32, 0u32, 0u32, 0u32);
    let (mut pm_set, mut am_set) = (false, false);
    let mut zone_offset: Option<i32> = None;
    let mut zone_name: Option<String> = None;
    let mut range_err: Option<&str> = None;
    let mut value = value_in;
    let tokens = tokenize(layout);
    for (idx, (lit, std)) in tokens.iter().enumerate() {
        value = skip(value, lit).ok_or_else(|| parse_error(value_in, layout, value, lit))?;
        let Some(std) = std else {
            if !value.is_empty() {
                return Err(format!(
                    "parsing time {}: extra text: {}",
                    crate::godata::gofmt::quote(value_in),
                    crate::godata::gofmt::quote(value)
                ));
            }
            break;
        };
        let layout_elem = layout_text(*std);
        let hold = value;
        let bad = || parse_error(value_in, layout, hold, &layout_elem);
        match *std {
            Std::Year => {
                let (n, rest) = getnum(value, true).ok_or_else(bad)?;
                year = if n >= 69 {
                    1900 + i64::from(n)
                } else {
                    2000 + i64::from(n)
                };
                value = rest;
            }
            Std::LongYear => {
                if value.len() < 4 || !value.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
                    return Err(bad());
                }
                year = value[..4].parse().map_err(|_| bad())?;
                value = &value[4..];
            }
            Std::Month | Std::LongMonth => {
                let (i, rest) = lookup_name(&MONTHS, value, *std == Std::Month).ok_or_else(bad)?;
                month = i as u32 + 1;
                value = rest;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (n, rest) = getnum(value, *std == Std::ZeroMonth).ok_or_else(bad)?;
                if n == 0 || n > 12 {
                    range_err = Some("month");
                }
                month = n;
                value = rest;
            }
            Std::WeekDay | Std::LongWeekDay => {
                let (_, rest) = lookup_name(&DAYS, value, *std == Std::WeekDay).ok_or_else(bad)?;
                value = rest;
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if *std == Std::UnderDay && value.starts_with(' ') {
                    value = &value[1..];
                }
                let (n, rest) = getnum(value, *std == Std::ZeroDay).ok_or_else(bad)?;
                day = n;
                value = rest;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                let v = value.trim_start_matches(' ');
                let n = v.bytes().take(3).take_while(u8::is_ascii_digit).count();
                if n == 0 {
                    return Err(bad());
                }
                value = &v[n..];
            }
            Std::Hour => {
                let (n, rest) = getnum(value, false).ok_or_else(bad)?;
                if n > 23 {
                    range_err = Some("hour");
                }
                hour = n;
                value = rest;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (n, rest) = getnum(value, *std == Std::ZeroHour12).ok_or_else(bad)?;
                if n > 12 {
                    range_err = Some("hour");
                }
                hour = n;
                value = rest;
            }
            Std::Minute | Std::ZeroMinute => {
                let (n, rest) = getnum(value, *std == Std::ZeroMinute).ok_or_else(bad)?;
                if n > 59 {
                    range_err = Some("minute");
                }
                min = n;
                value = rest;
            }
            Std::Second | Std::ZeroSecond => {
                let (n, rest) = getnum(value, *std == Std::ZeroSecond).ok_or_else(bad)?;
                if n > 59 {
                    range_err = Some("second");
                }
                sec = n;
                value = rest;
                // A fraction in the value the layout does not mention.
                let next_is_frac =
                    matches!(tokens.get(idx + 1), Some((l, Some(Std::Frac(..)))) if l.is_empty());
                let b = value.as_bytes();
                if !next_is_frac
                    && b.len() >= 2
                    && (b[0] == b'.' || b[0] == b',')
                    && b[1].is_ascii_digit()
                {
                    let n = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    nsec = parse_nanos(&value[1..n]);
                    value = &value[n..];
                }
            }
            Std::PM | Std::Pm => {
                if value.len() < 2 {
                    return Err(bad());
                }
                let p = &value[..2];
                let (pm, am) = if *std == Std::PM {
                    ("PM", "AM")
                } else {
                    ("pm", "am")
                };
                if p == pm {
                    pm_set = true;
                } else if p == am {
                    am_set = true;
                } else {
                    return Err(bad());
                }
                value = &value[2..];
            }
            Std::TZ => {
                if value.starts_with("UTC") {
                    zone_name = Some("UTC".into());
                    value = &value[3..];
                } else {
                    let n = value.bytes().take_while(u8::is_ascii_uppercase).count();
                    if n < 3 {
                        return Err(bad());
                    }
                    zone_name = Some(value[..n].to_string());
                    value = &value[n..];
                }
            }
            Std::Iso(z, colon, secs, hours_only) => {
                if z && value.starts_with('Z') {
                    value = &value[1..];
                    zone_offset = Some(0);
                    zone_name = Some("UTC".into());
                    continue;
                }
                let b = value.as_bytes();
                let need =
                    3 + if hours_only {
                        0
                    } else if colon {
                        3
                    } else {
                        2
                    } + if secs { if colon { 3 } else { 2 } } else { 0 };
                if b.len() < need || (b[0] != b'+' && b[0] != b'-') {
                    return Err(bad());
                }
                let digits = |i: usize| -> Result<i32, String> {
                    let p = value.get(i..i + 2).ok_or_else(bad)?;
                    if !p.bytes().all(|c| c.is_ascii_digit()) {
                        return Err(bad());
                    }
                    p.parse::<i32>().map_err(|_| bad())
                };
                let h = digits(1)?;
                let mut pos = 3;
                let mut m = 0;
                let mut s = 0;
                if !hours_only {
                    if colon {
                        if b[pos] != b':' {
                            return Err(bad());
                        }
                        pos += 1;
                    }
                    m = digits(pos)?;
                    pos += 2;
                }
                if secs {
                    if colon {
                        if b[pos] != b':' {
                            return Err(bad());
                        }
                        pos += 1;
                    }
                    s = digits(pos)?;
                    pos += 2;
                }
                let off = h * 3600 + m * 60 + s;
                zone_offset = Some(if b[0] == b'-' { -off } else { off });
                value = &value[pos..];
            }
            Std::Frac(_, n, trim) => {
                let b = value.as_bytes();
                if b.is_empty() || (b[0] != b'.' && b[0] != b',') {
                    if trim {
                        continue;
                    }
                    return Err(bad());
                }
                let take = if trim {
                    1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count()
                } else {
                    1 + n
                };
                if b.len() < take || !b[1..take].iter().all(u8::is_ascii_digit) {
                    return Err(bad());
                }
                nsec = parse_nanos(&value[1..take]);
                value = &value[take..];
            }
        }
    }
    if let Some(what) = range_err {
        return Err(format!(
            "parsing time {}: {what} out of range",
            crate::godata::gofmt::quote(value_in)
        ));
    }
    if pm_set && hour < 12 {
        hour += 12;
    } else if am_set && hour == 12 {
        hour = 0;
    }
    if month == 0 {
        month = 1;
    }
    if day == 0
        && !tokens
            .iter()
            .any(|(_, s)| matches!(s, Some(Std::Day | Std::UnderDay | Std::ZeroDay)))
    {
        day = 1;
    }
    if day < 1 || day > days_in(month, year) {
        return Err(format!(
            "parsing time {}: day out of range",
            crate::godata::gofmt::quote(value_in)
        ));
    }
    let local_secs =
        days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + min * 60 + sec);
    let (secs, zone) = match (zone_offset, zone_name) {
        (Some(off), _) => {
            let secs = local_secs - i64::from(off);
            let local = Zone::local();
            if local.info(secs).0 == off {
                (secs, local)
            } else if off == 0 {
                (secs, Zone::Utc)
            } else {
                (secs, Zone::Fixed(off))
            }
        }
        (None, Some(name)) if name == "UTC" => (local_secs, Zone::Utc),
        (None, _) => {
            let local = Zone::local();
            // The offset in force at the wall-clock time (first guess by UTC).
            let off = local.info(local_secs).0;
            let off = local.info(local_secs - i64::from(off)).0;
            (local_secs - i64::from(off), local)
        }
    };
    Ok(GoTime {
        secs,
        nanos: nsec,
        zone,
        monotonic: false,
    })
}

fn layout_text(std: Std) -> String {
    match std {
        Std::Frac(sep, n, trim) => format!("{sep}{}", (if trim { "9" } else { "0" }).repeat(n)),
        other => {
            let names: &[(&str, Std)] = &[
                ("January", Std::LongMonth),
                ("Jan", Std::Month),
                ("Monday", Std::LongWeekDay),
                ("Mon", Std::WeekDay),
                ("MST", Std::TZ),
                ("2006", Std::LongYear),
                ("002", Std::ZeroYearDay),
                ("__2", Std::UnderYearDay),
                ("01", Std::ZeroMonth),
                ("02", Std::ZeroDay),
                ("03", Std::ZeroHour12),
                ("04", Std::ZeroMinute),
                ("05", Std::ZeroSecond),
                ("06", Std::Year),
                ("_2", Std::UnderDay),
                ("15", Std::Hour),
                ("PM", Std::PM),
                ("pm", Std::Pm),
                ("1", Std::NumMonth),
                ("2", Std::Day),
                ("3", Std::Hour12),
                ("4", Std::Minute),
                ("5", Std::Second),
                ("-07:00:00", Std::Iso(false, true, true, false)),
                ("-070000", Std::Iso(false, false, true, false)),
                ("-07:00", Std::Iso(false, true, false, false)),
                ("-0700", Std::Iso(false, false, false, false)),
                ("-07", Std::Iso(false, false, false, true)),
                ("Z07:00:00", Std::Iso(true, true, true, false)),
                ("Z070000", Std::Iso(true, false, true, false)),
                ("Z07:00", Std::Iso(true, true, false, false)),
                ("Z0700", Std::Iso(true, false, false, false)),
                ("Z07", Std::Iso(true, false, false, true)),
            ];
            names
                .iter()
                .find(|(_, s)| *s == other)
                .map_or(String::new(), |(n, _)| n.to_string())
        }
    }
}

fn parse_nanos(digits: &str) -> u32 {
    let mut d: String = digits.chars().take(9).collect();
    while d.len() < 9 {
        d.push('0');
    }
    d.parse().unwrap_or(0)
}

fn days_in(month: u32, year: i64) -> u32 {
    match month {
        2 => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's days_from_civil.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_time_formatting() {
        let t = GoTime {
            secs: 1_700_000_000,
            nanos: 120_000_000,
            zone: Zone::Utc,
            monotonic: false,
        };
        assert_eq!(
            format_layout(&t, "2006-01-02T15:04:05Z07:00"),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            format_layout(&t, "Mon Jan _2 3:04PM .000 .999"),
            "Tue Nov 14 10:13PM .120 .12"
        );
        assert_eq!(t.format(), "2023-11-14 22:13:20.12 +0000 UTC");
    }

    #[test]
    fn go_durations() {
        assert_eq!(duration_string(3_723_000_000_000), "1h2m3s");
        assert_eq!(duration_string(1_500_000), "1.5ms");
        assert_eq!(duration_string(-90_000_000_000), "-1m30s");
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000_000_000);
        assert!(parse_duration("3x").is_err());
    }
}
