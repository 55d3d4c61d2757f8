//! Dependencies vendored under `charts/`, processed as Helm's
//! `chartutil.ProcessDependencies` does: matching Chart.yaml (or
//! requirements.yaml) entries to vendored charts by name and version range,
//! aliases (a renamed copy of the subchart), tags and conditions (a
//! condition that resolves to a bool wins over tags), removal of disabled
//! subcharts, and `import-values` in both forms (`exports.X` strings and
//! `{child, parent}` maps), merged child → parent with parent values winning.

use std::cell::RefCell;
use std::rc::Rc;

use super::metadata::Dependency;
use super::values::{
    CoalesceError, coalesce_values, merge_tables, merge_values, path_value, table_at,
};
use super::{Chart, NonBoolWarning};
use crate::godata::semver::is_compatible_range;
use crate::godata::value::{Map, MapKind, MapRef, Value};

/// Enables/disables subcharts from `vals` and imports child values;
/// returns Helm's warnings about conditions and tags that are not bools.
pub fn process_dependencies(
    chart: &mut Chart,
    vals: &Value,
) -> Result<Vec<NonBoolWarning>, CoalesceError> {
    let mut warnings = Vec::new();
    process_enabled(chart, vals, "", &mut warnings)?;
    process_import_values_rec(chart)?;
    Ok(warnings)
}

/// Helm's `getAliasDependency`: a copy of the vendored chart for `dep`
/// (renamed to the alias), if one matches its name and version range.
fn alias_dependency(charts: &[Chart], dep: &Dependency) -> Option<Chart> {
    let c = charts
        .iter()
        .find(|c| c.name() == dep.name && is_compatible_range(&dep.version, &c.metadata.version))?;
    let mut out = c.clone();
    if !dep.alias.is_empty() {
        out.metadata.name = dep.alias.clone();
    }
    Some(out)
}

fn process_enabled(
    c: &mut Chart,
    v: &Value,
    path: &str,
    warnings: &mut Vec<NonBoolWarning>,
) -> Result<(), CoalesceError> {
    if !c.metadata.has_dependencies {
        return Ok(());
    }
    let existing = std::mem::take(&mut c.dependencies);
    let mut chart_deps: Vec<Chart> = existing
        .iter()
        .filter(|e| {
            !c.metadata.dependencies.iter().any(|req| {
                e.name() == req.name && is_compatible_range(&req.version, &e.metadata.version)
            })
        })
        .cloned()
        .collect();
    for req in &mut c.metadata.dependencies {
        if let Some(d) = alias_dependency(&existing, req) {
            chart_deps.push(d);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    c.dependencies = chart_deps;
    for req in &mut c.metadata.dependencies {
        req.enabled = true;
    }
    let cvals = coalesce_values(c, v)?;
    process_tags(&mut c.metadata.dependencies, &cvals, warnings);
    process_conditions(&mut c.metadata.dependencies, &cvals, path, warnings);
    let removed: Vec<String> = c
        .metadata
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.dependencies
        .retain(|d| !removed.iter().any(|n| n == d.name()));
    c.metadata
        .dependencies
        .retain(|r| !removed.contains(&r.name));
    for t in &mut c.dependencies {
        let sub_path = format!("{path}{}.", t.name());
        process_enabled(t, &cvals, &sub_path, warnings)?;
    }
    Ok(())
}

fn process_tags(reqs: &mut [Dependency], cvals: &Value, warnings: &mut Vec<NonBoolWarning>) {
    let Some(tags) = table_at(cvals, "tags") else {
        return;
    };
    let Some(tags) = tags.as_map().cloned() else {
        return;
    };
    let tags = tags.borrow();
    for r in reqs {
        let (mut has_true, mut has_false) = (false, false);
        for k in &r.tags {
            match tags.get(k) {
                Some(Value::Bool(true)) => has_true = true,
                Some(Value::Bool(false)) => has_false = true,
                Some(_) => warnings.push(NonBoolWarning {
                    field: "tag",
                    name: k.clone(),
                    chart: r.name.clone(),
                }),
                None => {}
            }
        }
        if !has_true && has_false {
            r.enabled = false;
        } else if has_true || !has_false {
            r.enabled = true;
        }
    }
}

fn process_conditions(
    reqs: &mut [Dependency],
    cvals: &Value,
    path: &str,
    warnings: &mut Vec<NonBoolWarning>,
) {
    for r in reqs {
        for c in r.condition.trim().split(',') {
            if c.is_empty() {
                continue;
            }
            match path_value(cvals, &format!("{path}{c}")) {
                Some(Value::Bool(b)) => {
                    r.enabled = b;
                    break;
                }
                Some(_) => warnings.push(NonBoolWarning {
                    field: "path",
                    name: c.to_string(),
                    chart: r.name.clone(),
                }),
                None => {}
            }
        }
    }
}

fn process_import_values_rec(c: &mut Chart) -> Result<(), CoalesceError> {
    for d in &mut c.dependencies {
        process_import_values_rec(d)?;
    }
    process_import_values(c)
}

/// Go's `fmt.Sprintf("%v", x)` for the simple values `child`/`parent` hold.
fn sprint(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Nil) => "<nil>".into(),
        Some(Value::Str(s)) => s.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Float(f)) => format!("{f}"),
        Some(other) => format!("{other:?}"),
    }
}

/// Helm's `pathToMap`: `data` nested under the dotted `path`.
fn path_to_map(path: &str, data: Value) -> MapRef {
    if path == "." {
        return data.as_map().cloned().unwrap_or_default();
    }
    let mut cur = data;
    for part in path.split('.').rev() {
        let mut m = Map::new();
        m.insert(part.to_string(), cur);
        cur = Value::map(m);
    }
    cur.as_map().cloned().unwrap_or_default()
}

fn string_map(pairs: &[(&str, String)]) -> Value {
    let m: Map = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::str(v.as_str())))
        .collect();
    Value::Map(MapKind::String, Rc::new(RefCell::new(m)))
}

fn process_import_values(c: &mut Chart) -> Result<(), CoalesceError> {
    if !c.metadata.has_dependencies {
        return Ok(());
    }
    let cvals = merge_values(c, &Value::empty_map())?;
    let b = MapRef::default();
    for r in &mut c.metadata.dependencies {
        let mut outiv = Vec::new();
        for riv in &r.import_values {
            match riv {
                Value::Map(_, iv) => {
                    let child = sprint(iv.borrow().get("child"));
                    let parent = sprint(iv.borrow().get("parent"));
                    outiv.push(string_map(&[
                        ("child", child.clone()),
                        ("parent", parent.clone()),
                    ]));
                    let Some(vv) = table_at(&cvals, &format!("{}.{child}", r.name)) else {
                        continue;
                    };
                    merge_tables(&b, &path_to_map(&parent, vv));
                }
                Value::Str(s) => {
                    let child = format!("exports.{s}");
                    outiv.push(string_map(&[
                        ("child", child.clone()),
                        ("parent", ".".into()),
                    ]));
                    let Some(vm) = table_at(&cvals, &format!("{}.{child}", r.name)) else {
                        continue;
                    };
                    if let Some(m) = vm.as_map() {
                        merge_tables(&b, m);
                    }
                }
                _ => {}
            }
        }
        r.import_values = outiv;
    }
    let copy = cvals.deep_copy();
    if let Some(m) = copy.as_map() {
        merge_tables(m, &b);
    }
    c.values = copy;
    Ok(())
}
