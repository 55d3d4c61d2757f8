//! Sprig's date functions over a Go `time.Time` object: `now`, `date`,
//! `dateInZone`/`date_in_zone`, `htmlDate`, `htmlDateInZone`, `unixEpoch`,
//! `dateModify`/`mustDateModify`, `ago`, `duration`, `durationRound`, with
//! Go's reference-layout formatting ("2006-01-02T15:04:05Z07:00") and
//! `time.Duration.String()`. Zones: `UTC` and `Local` (taken as UTC, the
//! zone rudder runs in); other zone names fall back to UTC as Sprig does
//! when a zone cannot be loaded.

use super::{arg, arg_str, spec};
use crate::render::funcs::{FuncError, FuncResult, FuncSpec, GoType as T};
use crate::render::value::{Object, Value};
use std::any::Any;
use std::rc::Rc;

const S: T = T::String;
const A: T = T::Any;
const TIME: T = T::Object("time.Time");

pub(super) const FUNCS: &[FuncSpec] = &[
    spec("now", &[], None, |_| Ok(GoTime::now().into_value())),
    spec("date", &[S, A], None, |a| {
        Ok(Value::str(date_in_zone(arg_str(a, 0)?, arg(a, 1))))
    }),
    spec("dateInZone", &[S, A, S], None, |a| {
        Ok(Value::str(date_in_zone(arg_str(a, 0)?, arg(a, 1))))
    }),
    spec("date_in_zone", &[S, A, S], None, |a| {
        Ok(Value::str(date_in_zone(arg_str(a, 0)?, arg(a, 1))))
    }),
    spec("htmlDate", &[A], None, |a| {
        Ok(Value::str(date_in_zone("2006-01-02", arg(a, 0))))
    }),
    spec("htmlDateInZone", &[A, S], None, |a| {
        Ok(Value::str(date_in_zone("2006-01-02", arg(a, 0))))
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
        Ok(parse_duration(arg_str(a, 0)?)
            .map_or(t, |d| t.add(d))
            .into_value())
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

/// Go's `time.Time` (UTC; seconds and nanoseconds since the epoch).
#[derive(Clone, Copy, Debug)]
pub(crate) struct GoTime {
    secs: i64,
    nanos: u32,
    monotonic: bool,
}

impl GoTime {
    fn now() -> GoTime {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        GoTime {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
            monotonic: true,
        }
    }

    fn add(self, nanos: i64) -> GoTime {
        let total = self.secs as i128 * 1_000_000_000 + self.nanos as i128 + nanos as i128;
        GoTime {
            secs: total.div_euclid(1_000_000_000) as i64,
            nanos: total.rem_euclid(1_000_000_000) as u32,
            monotonic: self.monotonic,
        }
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
        let c = civil(self.secs);
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
            "UTC" | "Local" => GoTime {
                monotonic: false,
                ..*self
            }
            .into_value(),
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
        Some(Value::Object(o)) => o.as_any().downcast_ref::<GoTime>().copied().ok_or_else(|| {
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
        Value::Object(o) => o.as_any().downcast_ref::<GoTime>().copied(),
        Value::Int(n) | Value::Int64(n) => Some(GoTime {
            secs: *n,
            nanos: 0,
            monotonic: false,
        }),
        _ => None,
    }
}

fn date_in_zone(layout: &str, v: &Value) -> String {
    let t = to_time(v).unwrap_or_else(GoTime::now);
    format_layout(&t, layout)
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
    let quoted = || crate::render::gofmt::quote(orig);
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
                    crate::render::gofmt::quote(other),
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

/// Go's `Time.Format` with a reference layout (zone UTC).
fn format_layout(t: &GoTime, layout: &str) -> String {
    let c = civil(t.secs);
    let mut out = String::new();
    let mut rest = layout;
    let hour12 = if c.hour.is_multiple_of(12) { 12 } else { c.hour % 12 };
    while !rest.is_empty() {
        let tokens: &[(&str, &dyn Fn() -> String)] = &[
            ("January", &|| MONTHS[(c.month - 1) as usize].to_string()),
            ("Jan", &|| MONTHS[(c.month - 1) as usize][..3].to_string()),
            ("Monday", &|| DAYS[c.wday as usize].to_string()),
            ("Mon", &|| DAYS[c.wday as usize][..3].to_string()),
            ("MST", &|| "UTC".to_string()),
            ("2006", &|| format!("{:04}", c.year)),
            ("-07:00:00", &|| "+00:00:00".to_string()),
            ("-070000", &|| "+000000".to_string()),
            ("-07:00", &|| "+00:00".to_string()),
            ("-0700", &|| "+0000".to_string()),
            ("-07", &|| "+00".to_string()),
            ("Z07:00:00", &|| "Z".to_string()),
            ("Z070000", &|| "Z".to_string()),
            ("Z07:00", &|| "Z".to_string()),
            ("Z0700", &|| "Z".to_string()),
            ("Z07", &|| "Z".to_string()),
            ("002", &|| format!("{:03}", c.yday)),
            ("__2", &|| format!("{:>3}", c.yday)),
            ("01", &|| format!("{:02}", c.month)),
            ("02", &|| format!("{:02}", c.day)),
            ("_2", &|| format!("{:>2}", c.day)),
            ("03", &|| format!("{hour12:02}")),
            ("04", &|| format!("{:02}", c.min)),
            ("05", &|| format!("{:02}", c.sec)),
            ("06", &|| format!("{:02}", c.year.rem_euclid(100))),
            ("15", &|| format!("{:02}", c.hour)),
            ("PM", &|| {
                (if c.hour >= 12 { "PM" } else { "AM" }).to_string()
            }),
            ("pm", &|| {
                (if c.hour >= 12 { "pm" } else { "am" }).to_string()
            }),
            ("1", &|| c.month.to_string()),
            ("2", &|| c.day.to_string()),
            ("3", &|| hour12.to_string()),
            ("4", &|| c.min.to_string()),
            ("5", &|| c.sec.to_string()),
        ];
        // Fractional seconds: ".000"/",000" (fixed) or ".999" (trimmed),
        // only when followed by a non-digit.
        if let Some(sep) = rest.chars().next().filter(|ch| *ch == '.' || *ch == ',') {
            let run: String = rest[1..]
                .chars()
                .take_while(|ch| *ch == '0' || *ch == '9')
                .collect();
            let homogeneous =
                !run.is_empty() && run.chars().all(|ch| ch == run.as_bytes()[0] as char);
            let after = rest[1 + run.len()..].chars().next();
            if homogeneous && !after.is_some_and(|ch| ch.is_ascii_digit()) {
                let digits = format!("{:09}", t.nanos);
                let n = run.len().min(9);
                if run.starts_with('0') {
                    out.push(sep);
                    out.push_str(&digits[..n]);
                } else {
                    let trimmed = digits[..n].trim_end_matches('0');
                    if !trimmed.is_empty() {
                        out.push(sep);
                        out.push_str(trimmed);
                    }
                }
                rest = &rest[1 + run.len()..];
                continue;
            }
        }
        match tokens.iter().find(|(tok, _)| rest.starts_with(tok)) {
            Some((tok, f)) => {
                out.push_str(&f());
                rest = &rest[tok.len()..];
            }
            None => {
                let ch = rest.chars().next().unwrap_or(' ');
                out.push(ch);
                rest = &rest[ch.len_utf8()..];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_time_formatting() {
        let t = GoTime {
            secs: 1_700_000_000,
            nanos: 120_000_000,
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
