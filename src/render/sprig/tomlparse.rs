//! Helm's `fromToml` (BurntSushi/toml decoding into
//! `map[string]interface{}`): integers are int64, floats float64, tables
//! maps, arrays slices, date-times `time.Time` (offset ones in their fixed
//! zone, local ones in BurntSushi's `date-local`/`datetime-local`/
//! `time-local` pseudo-zones). Errors land in the map's `Error` key; their
//! wording comes from the `toml` crate, not BurntSushi's.

use super::dates::{GoTime, Zone};
use crate::godata::value::{Map, Value};

/// `fromToml`.
pub(crate) fn from_toml(text: &str) -> Value {
    match text.parse::<toml::Table>() {
        Ok(table) => table_value(table),
        Err(e) => {
            let mut m = Map::new();
            m.insert("Error".into(), Value::str(format!("toml: {}", e.message())));
            Value::map(m)
        }
    }
}

fn table_value(t: toml::Table) -> Value {
    Value::map(t.into_iter().map(|(k, v)| (k, convert(v))).collect())
}

fn convert(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::str(s),
        toml::Value::Integer(i) => Value::Int64(i),
        toml::Value::Float(f) => Value::Float(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Array(items) => Value::list(items.into_iter().map(convert).collect()),
        toml::Value::Table(t) => table_value(t),
        toml::Value::Datetime(dt) => datetime(dt),
    }
}

fn datetime(dt: toml::value::Datetime) -> Value {
    let date = dt.date.map_or((0, 1, 1), |d| {
        (i64::from(d.year), u32::from(d.month), u32::from(d.day))
    });
    let clock = dt.time.map_or((0, 0, 0, 0), |t| {
        (
            u32::from(t.hour),
            u32::from(t.minute),
            u32::from(t.second),
            t.nanosecond,
        )
    });
    let (offset, zone) = match (dt.offset, dt.date, dt.time) {
        (Some(toml::value::Offset::Z), _, _) => (0, Zone::Utc),
        (Some(toml::value::Offset::Custom { minutes }), _, _) => {
            let secs = i32::from(minutes) * 60;
            (secs, Zone::Fixed(secs))
        }
        (None, Some(_), Some(_)) => (0, Zone::Label("datetime-local")),
        (None, Some(_), None) => (0, Zone::Label("date-local")),
        (None, None, _) => (0, Zone::Label("time-local")),
    };
    GoTime::from_civil(date, clock, offset, zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_land_in_the_error_key() {
        let v = from_toml("a = 1\na = 2");
        let m = v.as_map().unwrap().borrow();
        assert!(
            m.get("Error")
                .and_then(Value::as_str)
                .is_some_and(|e| e.starts_with("toml: "))
        );
    }
}
