//! The user-supplied values of a HelmRelease: the chart's
//! `chart.valuesFiles` in order (files inside the chart, merged like `helm
//! -f` over its values.yaml), each `valuesFrom` source in
//! order (a YAML values document merged as `helm -f` merges files, or with
//! `targetPath` a single value placed with `--set` path syntax), then
//! `spec.values` on top. Chart defaults are coalesced under these by the
//! renderer; what this module returns is the record's `config` (what `helm
//! get values` prints). Also the digest compared to decide on upgrades.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, Client};
use serde_json::{Map as JsonMap, Value as Json};
use sha2::{Digest, Sha256};

use crate::api::HelmReleaseSpec;
use crate::api::helmrelease::{ValuesKind, ValuesReference};
use crate::chart::{strvals, yamlio};
use crate::godata::json;
use crate::godata::value::Value;

/// Why the values could not be composed.
#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    /// A required source object does not exist.
    #[error("{kind:?} {namespace}/{name} (valuesFrom) not found")]
    NotFound {
        /// ConfigMap or Secret.
        kind: ValuesKind,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// A required key is missing.
    #[error("{kind:?} {namespace}/{name} (valuesFrom) has no key {key:?}")]
    KeyMissing {
        /// ConfigMap or Secret.
        kind: ValuesKind,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// The key.
        key: String,
    },
    /// Reading the object failed.
    #[error("reading {kind:?} {namespace}/{name} (valuesFrom): {source}")]
    Read {
        /// ConfigMap or Secret.
        kind: ValuesKind,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// The client error.
        source: kube::Error,
    },
    /// A `chart.valuesFiles` entry the chart does not have.
    #[error(
        "chart {chart} has no values file {file:?} (spec.chart.valuesFiles; set ignoreMissingValuesFiles to skip it)"
    )]
    MissingValuesFile {
        /// `name-version` of the chart.
        chart: String,
        /// The file.
        file: String,
    },
    /// The chart archive could not be read for its values files.
    #[error("reading values files of chart {chart}: {message}")]
    ChartArchive {
        /// `name-version` of the chart.
        chart: String,
        /// The loader's message.
        message: String,
    },
    /// The content is not a values document.
    #[error("{what}: {message}")]
    Parse {
        /// Which source.
        what: String,
        /// The parser's message.
        message: String,
    },
}

/// Reads every `valuesFrom` source (in `namespace`) and composes the user
/// values: `chart_files` (the chart's `valuesFiles`, name and text), the
/// sources, then `spec.values`.
pub async fn compose(
    client: &Client,
    namespace: &str,
    spec: &HelmReleaseSpec,
    chart_files: &[(String, String)],
) -> Result<JsonMap<String, Json>, ValuesError> {
    let mut contents = Vec::with_capacity(spec.values_from.len());
    for r in &spec.values_from {
        contents.push((r, read_source(client, namespace, r).await?));
    }
    compose_from(chart_files, &contents, spec.values.as_ref())
}

/// The texts of the `valuesFiles` of the chart archive `archive`
/// (`chart` is its `name-version`), in order; a missing file is an error
/// unless `ignore_missing`.
pub fn chart_values_files(
    archive: &[u8],
    chart: &str,
    files: &[String],
    ignore_missing: bool,
) -> Result<Vec<(String, String)>, ValuesError> {
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        let bytes = crate::chart::load::archive_file(archive, file).map_err(|e| {
            ValuesError::ChartArchive {
                chart: chart.to_string(),
                message: e.to_string(),
            }
        })?;
        match bytes {
            Some(b) => out.push((file.clone(), String::from_utf8_lossy(&b).into_owned())),
            None if ignore_missing => {}
            None => {
                return Err(ValuesError::MissingValuesFile {
                    chart: chart.to_string(),
                    file: file.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// The composition itself: `chart_files` in order, then `sources` in
/// order (a missing optional source is `None`), then `values`.
pub fn compose_from(
    chart_files: &[(String, String)],
    sources: &[(&ValuesReference, Option<String>)],
    values: Option<&JsonMap<String, Json>>,
) -> Result<JsonMap<String, Json>, ValuesError> {
    let mut out = crate::godata::value::Map::new();
    for (name, text) in chart_files {
        let layer = yamlio::load_values(text).map_err(|message| ValuesError::Parse {
            what: format!("chart values file {name}"),
            message,
        })?;
        if let Value::Map(_, m) = layer {
            out = yamlio::merge_maps(out, m.borrow().clone());
        }
    }
    for (r, text) in sources {
        let Some(text) = text else { continue };
        let what = format!("{:?} {} key {}", r.kind, r.name, r.values_key);
        let parse = |message: String| ValuesError::Parse {
            what: what.clone(),
            message,
        };
        let layer = match &r.target_path {
            None => yamlio::load_values(text).map_err(parse)?,
            Some(path) => at_path(path, text).map_err(parse)?,
        };
        if let Value::Map(_, m) = layer {
            out = yamlio::merge_maps(out, m.borrow().clone());
        }
    }
    let mut composed = to_json_map(&Value::map(out)).map_err(|message| ValuesError::Parse {
        what: "composed values".into(),
        message,
    })?;
    if let Some(values) = values {
        merge_json(&mut composed, values);
    }
    Ok(composed)
}

/// `text` as a single value at `path` (`helm --set path=text`); text with
/// commas is taken literally (`--set-literal`) so it stays one value.
fn at_path(path: &str, text: &str) -> Result<Value, String> {
    let into = Value::empty_map();
    let expr = format!("{path}={}", text.trim_end_matches('\n'));
    let result = if text.contains(',') {
        strvals::parse_set_literal(&expr, &into)
    } else {
        strvals::parse_set(&expr, &into)
    };
    result.map_err(|e| e.to_string())?;
    Ok(into)
}

fn to_json_map(v: &Value) -> Result<JsonMap<String, Json>, String> {
    let text = json::to_json(v).map_err(|e| e.to_string())?;
    match serde_json::from_str(&text) {
        Ok(Json::Object(m)) => Ok(m),
        Ok(_) => Ok(JsonMap::new()),
        Err(e) => Err(e.to_string()),
    }
}

/// Helm's `mergeMaps` on JSON: `src` wins, maps merge recursively.
pub fn merge_json(dst: &mut JsonMap<String, Json>, src: &JsonMap<String, Json>) {
    for (k, v) in src {
        match (dst.get_mut(k), v) {
            (Some(Json::Object(d)), Json::Object(s)) => merge_json(d, s),
            _ => {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `sha256:<hex>` of the values' canonical JSON (keys sorted).
pub fn digest(values: &JsonMap<String, Json>) -> String {
    let text = serde_json::to_string(values).unwrap_or_default();
    format!("sha256:{:x}", Sha256::digest(text.as_bytes()))
}

async fn read_source(
    client: &Client,
    namespace: &str,
    r: &ValuesReference,
) -> Result<Option<String>, ValuesError> {
    let read_err = |source| ValuesError::Read {
        kind: r.kind,
        namespace: namespace.to_string(),
        name: r.name.clone(),
        source,
    };
    let data = match r.kind {
        ValuesKind::ConfigMap => {
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
            api.get_opt(&r.name).await.map_err(read_err)?.map(|cm| {
                cm.data
                    .and_then(|d| d.get(&r.values_key).cloned())
                    .or_else(|| {
                        cm.binary_data
                            .and_then(|d| d.get(&r.values_key).cloned())
                            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                    })
            })
        }
        ValuesKind::Secret => {
            let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
            api.get_opt(&r.name).await.map_err(read_err)?.map(|s| {
                s.data
                    .and_then(|d| d.get(&r.values_key).cloned())
                    .map(|b| String::from_utf8_lossy(&b.0).into_owned())
            })
        }
    };
    match data {
        Some(Some(text)) => Ok(Some(text)),
        _ if r.optional => Ok(None),
        None => Err(ValuesError::NotFound {
            kind: r.kind,
            namespace: namespace.to_string(),
            name: r.name.clone(),
        }),
        Some(None) => Err(ValuesError::KeyMissing {
            kind: r.kind,
            namespace: namespace.to_string(),
            name: r.name.clone(),
            key: r.values_key.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(target: Option<&str>) -> ValuesReference {
        ValuesReference {
            kind: ValuesKind::ConfigMap,
            name: "v".into(),
            values_key: "values.yaml".into(),
            target_path: target.map(String::from),
            optional: false,
        }
    }

    #[test]
    fn sources_in_order_then_spec_values() {
        let a = r(None);
        let b = r(Some("image.tag"));
        let c = r(None);
        let spec = json!({"replicaCount": 5, "service": {"type": "NodePort"}});
        let out = compose_from(
            &[],
            &[
                (&a, Some("replicaCount: 2\nservice:\n  port: 80\n".into())),
                (&b, Some("1.2.3".into())),
                (&c, None),
            ],
            spec.as_object(),
        )
        .expect("compose");
        assert_eq!(
            Json::Object(out),
            json!({"replicaCount": 5, "service": {"port": 80, "type": "NodePort"}, "image": {"tag": "1.2.3"}})
        );
    }

    #[test]
    fn target_path_types_like_set() {
        let b = r(Some("a.b[0]"));
        let out = compose_from(&[], &[(&b, Some("true".into()))], None).expect("compose");
        assert_eq!(Json::Object(out), json!({"a": {"b": [true]}}));
        let c = r(Some("csv"));
        let out = compose_from(&[], &[(&c, Some("x,y".into()))], None).expect("compose");
        assert_eq!(Json::Object(out), json!({"csv": "x,y"}));
    }

    #[test]
    fn bad_yaml_is_an_error_and_digest_is_stable() {
        let a = r(None);
        assert!(compose_from(&[], &[(&a, Some("[1, 2".into()))], None).is_err());
        let v = json!({"b": 1, "a": 2});
        let d1 = digest(v.as_object().expect("obj"));
        let v2 = json!({"a": 2, "b": 1});
        assert_eq!(d1, digest(v2.as_object().expect("obj")));
    }
}
