//! The Tera engine for charts whose Chart.yaml says `engine: tera`, given the
//! same context as Go templates (Values, Release, Chart, Capabilities, Files).
//!
//! A Tera chart's templates are registered under their full names
//! (`mychart/templates/x.yaml`), so `{% include %}` and `{% import %}` of
//! helpers (`_helpers.tera` etc.) work; templates whose base name starts with
//! `_` are not output, like Go-template partials. The context is the chart's
//! Go context as plain data: `Values`, `Release`, `Chart`, `Template`,
//! `Capabilities` (`KubeVersion.{Version,Major,Minor,GitVersion}`,
//! `APIVersions` as a list, `HelmVersion`), `Files` (path → text). Extra
//! filters: `to_yaml` (Helm's `toYaml`) and `to_json` (Helm's `toJson`).
//! No HTML auto-escaping.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::godata::value::Value;
use crate::render::context::{Capabilities, Files, HelmVersion, KubeVersion, VersionSet};
use crate::render::job::{RenderError, TemplateJob};

/// Renders the templates of `engine: tera` charts; returns name → output
/// for non-partials.
pub fn render(jobs: &[&TemplateJob]) -> Result<BTreeMap<String, String>, RenderError> {
    let mut tera = ::tera::Tera::new();
    tera.autoescape_on(Vec::<String>::new());
    tera.register_filter(
        "to_yaml",
        |v: ::tera::Value, _: ::tera::Kwargs, _: &::tera::State| {
            let json: Json = serde_json::to_value(&v).unwrap_or(Json::Null);
            let value = from_json(&json);
            crate::godata::yaml::to_yaml(&value)
                .map(|s| s.trim_end_matches('\n').to_string())
                .unwrap_or_default()
        },
    );
    tera.register_filter(
        "to_json",
        |v: ::tera::Value, _: ::tera::Kwargs, _: &::tera::State| {
            serde_json::to_string(&v).unwrap_or_default()
        },
    );
    for job in jobs {
        tera.add_raw_template(&job.name, &job.text).map_err(|e| {
            RenderError::Template(format!("parse error in ({}): {}", job.name, error_text(&e)))
        })?;
    }
    let mut out = BTreeMap::new();
    for job in jobs {
        let base = job.name.rsplit('/').next().unwrap_or(&job.name);
        if base.starts_with('_') {
            continue;
        }
        let mut ctx = ::tera::Context::new();
        if let Some(m) = job.context.as_map() {
            for (k, v) in m.borrow().iter() {
                if k != "Template" {
                    ctx.insert(k.clone(), &to_json(v));
                }
            }
        }
        ctx.insert(
            "Template",
            &serde_json::json!({ "Name": job.name, "BasePath": job.base_path }),
        );
        let text = tera.render(&job.name, &ctx).map_err(|e| {
            RenderError::Template(format!(
                "execution error in ({}): {}",
                job.name,
                error_text(&e)
            ))
        })?;
        out.insert(job.name.clone(), text);
    }
    Ok(out)
}

/// A Tera error with its causes, on one line.
fn error_text(e: &::tera::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// Template data as JSON (Go objects as the data they expose).
pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Json::from(*i),
        Value::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 9e15 {
                Json::from(*f as i64)
            } else {
                serde_json::Number::from_f64(*f)
                    .map(Json::Number)
                    .unwrap_or(Json::Null)
            }
        }
        Value::Str(s) => Json::String(s.to_string()),
        Value::Bytes(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
        Value::List(l) => Json::Array(l.items.iter().map(to_json).collect()),
        Value::Map(_, m) => Json::Object(
            m.borrow()
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        Value::Object(o) => object_json(o.as_any()).unwrap_or_else(|| Json::String(o.format())),
    }
}

fn object_json(any: &dyn std::any::Any) -> Option<Json> {
    if let Some(f) = any.downcast_ref::<Files>() {
        let m = f.files.iter().map(|(k, d)| {
            (
                k.clone(),
                Json::String(String::from_utf8_lossy(&d.bytes_or_empty()).into_owned()),
            )
        });
        return Some(Json::Object(m.collect()));
    }
    if let Some(c) = any.downcast_ref::<Capabilities>() {
        return Some(serde_json::json!({
            "KubeVersion": kube_json(&c.kube_version),
            "APIVersions": versions_json(&c.api_versions),
            "HelmVersion": helm_json(),
        }));
    }
    if let Some(k) = any.downcast_ref::<KubeVersion>() {
        return Some(kube_json(k));
    }
    any.downcast_ref::<HelmVersion>().map(|_| helm_json())
}

fn kube_json(k: &KubeVersion) -> Json {
    serde_json::json!({ "Version": k.version, "GitVersion": k.version, "Major": k.major, "Minor": k.minor })
}

fn versions_json(v: &VersionSet) -> Json {
    Json::Array(v.0.iter().map(|s| Json::String(s.clone())).collect())
}

fn helm_json() -> Json {
    use crate::godata::value::Object;
    let h = HelmVersion;
    let field = |n: &str| {
        h.field(n)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    serde_json::json!({
        "Version": field("Version"),
        "GitCommit": field("GitCommit"),
        "GitTreeState": field("GitTreeState"),
        "GoVersion": field("GoVersion"),
        "KubeClientVersion": field("KubeClientVersion"),
    })
}

/// JSON back into template data (numbers as float64, as YAML values are).
fn from_json(j: &Json) -> Value {
    match j {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        Json::String(s) => Value::str(s.as_str()),
        Json::Array(a) => Value::list(a.iter().map(from_json).collect()),
        Json::Object(o) => Value::map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}
