//! Helm's own pure template functions (pkg/engine/funcs.go and the
//! `required`/`fail` closures of engine.go, Helm v4.1.4): `toYaml`,
//! `mustToYaml`, `toYamlPretty`, `fromYaml`, `fromYamlArray`, `toJson`,
//! `mustToJson`, `fromJson`, `fromJsonArray`, `toToml`, `fromToml`,
//! `required`, `fail`.
//!
//! The tolerant ones keep Helm's quirks: `toYaml`/`toJson` print "" on a
//! marshal error, `toToml` prints the error text, `fromYaml`/`fromJson`
//! return a map whose `Error` key holds the message, the `*Array` variants a
//! one-element list with it. `required` and `fail` return Helm's wrapped
//! message (`HELM_ERR_START…HELM_ERR_END`), which the engine unwraps into
//! Helm's `execution error at (file:line:col): …` exactly as Helm does.

use crate::godata::value::{Map, Value};
use crate::godata::{json, toml, yaml};
use crate::render::funcs::{FuncError, FuncResult, FuncSpec, GoType as T};
use crate::render::sprig::{arg, arg_str, spec};

use crate::render::gotmpl::error::{WARN_END, WARN_START};

const A: T = T::Any;
const S: T = T::String;

static FUNCS: &[FuncSpec] = &[
    spec("toYaml", &[A], None, |a| {
        Ok(Value::str(
            yaml::to_yaml(arg(a, 0))
                .map(trim_newline)
                .unwrap_or_default(),
        ))
    }),
    spec("mustToYaml", &[A], None, |a| {
        let text = yaml::to_yaml(arg(a, 0)).map_err(|e| FuncError::new(e.to_string()))?;
        Ok(Value::str(trim_newline(text)))
    }),
    spec("toYamlPretty", &[A], None, |a| {
        Ok(Value::str(trim_newline(yaml::to_yaml_pretty(arg(a, 0)))))
    }),
    spec("fromYaml", &[S], None, |a| {
        Ok(map_or_error(
            yaml::parse_map(arg_str(a, 0)?).map_err(|e| e.to_string()),
        ))
    }),
    spec("fromYamlArray", &[S], None, |a| {
        Ok(list_or_error(
            yaml::parse_list(arg_str(a, 0)?).map_err(|e| e.to_string()),
        ))
    }),
    spec("toJson", &[A], None, |a| {
        Ok(Value::str(json::to_json(arg(a, 0)).unwrap_or_default()))
    }),
    spec("mustToJson", &[A], None, |a| {
        Ok(Value::str(
            json::to_json(arg(a, 0)).map_err(|e| FuncError::new(e.to_string()))?,
        ))
    }),
    spec("fromJson", &[S], None, |a| {
        Ok(json::from_json(arg_str(a, 0)?))
    }),
    spec("fromJsonArray", &[S], None, |a| {
        Ok(json::from_json_array(arg_str(a, 0)?))
    }),
    spec("toToml", &[A], None, to_toml),
    spec("fromToml", &[S], None, |a| {
        Ok(crate::render::sprig::from_toml(arg_str(a, 0)?))
    }),
    spec("required", &[S, A], None, required),
    spec("fail", &[S], None, |a| {
        Err(FuncError::new(wrap(arg_str(a, 0)?)))
    }),
];

/// Helm's function table (these override Sprig's functions of the same name).
pub fn functions() -> &'static [FuncSpec] {
    FUNCS
}

/// Helm's `warnWrap`.
pub fn wrap(msg: &str) -> String {
    format!("{WARN_START}{msg}{WARN_END}")
}

fn trim_newline(text: String) -> String {
    match text.strip_suffix('\n') {
        Some(t) => t.to_string(),
        None => text,
    }
}

fn map_or_error(r: Result<Value, String>) -> Value {
    r.unwrap_or_else(|msg| {
        let mut m = Map::new();
        m.insert("Error".into(), Value::str(msg));
        Value::map(m)
    })
}

fn list_or_error(r: Result<Value, String>) -> Value {
    r.unwrap_or_else(|msg| Value::list(vec![Value::str(msg)]))
}

fn to_toml(args: &[Value]) -> FuncResult {
    match toml::to_toml(arg(args, 0)) {
        Ok(text) => Ok(Value::str(text)),
        Err(e @ toml::TomlError::Encode(_)) => Ok(Value::str(e.to_string())),
        Err(e @ toml::TomlError::Panic(_)) => Err(FuncError::new(e.to_string())),
    }
}

/// Helm's `required`: nil or "" fail with the wrapped message; anything
/// else passes through unchanged.
fn required(args: &[Value]) -> FuncResult {
    let warn = arg_str(args, 0)?;
    match arg(args, 1) {
        Value::Nil => Err(FuncError::new(wrap(warn))),
        Value::Str(s) if s.is_empty() => Err(FuncError::new(wrap(warn))),
        v => Ok(v.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: &[Value]) -> FuncResult {
        let f = functions()
            .iter()
            .find(|f| f.name == name)
            .expect("function");
        (f.call)(args)
    }

    #[test]
    fn required_and_fail_wrap_messages_as_helm() {
        assert_eq!(
            call("required", &[Value::str("need x"), Value::Nil])
                .unwrap_err()
                .0,
            "HELM_ERR_STARTneed xHELM_ERR_END"
        );
        assert_eq!(
            call("required", &[Value::str("need x"), Value::str("")])
                .unwrap_err()
                .0,
            "HELM_ERR_STARTneed xHELM_ERR_END"
        );
        assert!(matches!(
            call("required", &[Value::str("m"), Value::Float(0.0)]),
            Ok(Value::Float(_))
        ));
        assert_eq!(
            call("fail", &[Value::str("boom")]).unwrap_err().0,
            "HELM_ERR_STARTboomHELM_ERR_END"
        );
    }

    #[test]
    fn tolerant_decoders_report_errors_in_band() {
        let m = call("fromJson", &[Value::str("{bad")]).unwrap();
        assert!(m.as_map().unwrap().borrow().contains_key("Error"));
        let l = call("fromYamlArray", &[Value::str("a: 1")]).unwrap();
        assert_eq!(l.as_list().unwrap().len(), 1);
    }
}
