//! The methods of Helm's named Go map and slice types that templates can
//! call: `common.Values` (`AsMap`, `YAML`, `Table`, `PathValue`, `Encode`)
//! and `common.VersionSet` (`Has`). The values themselves are ordinary maps
//! and lists tagged with [`MapKind::Values`] / [`ListKind::VersionSet`], so
//! every Sprig function sees them as Go's reflection does; only method calls
//! come here. Go looks methods up before map keys, so `.Values.YAML` calls
//! the method even when the values hold a key `YAML`.

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use crate::godata::gofmt;
use crate::godata::value::{GoType, List, ListKind, Map, MapKind, MapRef, Object, Value};
use crate::godata::yaml;

/// The method set of `v`'s named type, if it has one.
pub fn methods_of(v: &Value) -> Option<Rc<dyn Object>> {
    match v {
        Value::Map(MapKind::Values, m) => Some(Rc::new(ValuesMethods(m.clone()))),
        Value::List(l) if l.kind == ListKind::VersionSet => {
            Some(Rc::new(VersionSetMethods(l.clone())))
        }
        _ => None,
    }
}

/// A `common.Values` handle on a shared map (mutations stay visible).
pub fn values(m: MapRef) -> Value {
    Value::Map(MapKind::Values, m)
}

/// The same map as a `common.Values` (anything else as it is).
pub fn as_values(v: Value) -> Value {
    match v {
        Value::Map(_, m) => values(m),
        other => other,
    }
}

/// A `common.Values` of fresh entries.
pub fn new_values(m: Map) -> Value {
    values(Rc::new(RefCell::new(m)))
}

/// A `common.VersionSet` of the given API versions.
pub fn version_set(items: &[String]) -> Value {
    Value::List(Rc::new(List {
        kind: ListKind::VersionSet,
        items: items.iter().map(|s| Value::str(s.as_str())).collect(),
    }))
}

/// `common.Values`'s methods bound to one map.
struct ValuesMethods(MapRef);

/// `tableLookup`: a child map (the unnamed type or `Values`) under `key`.
fn table_lookup(m: &MapRef, key: &str) -> Result<MapRef, String> {
    match m.borrow().get(key) {
        Some(Value::Map(kind, child)) if kind.is_interface() => Ok(child.clone()),
        _ => Err(format!("{} is not a table", gofmt::quote(key))),
    }
}

impl ValuesMethods {
    fn table(&self, name: &str) -> Result<MapRef, String> {
        let mut table = self.0.clone();
        for part in name.split('.') {
            table = table_lookup(&table, part)?;
        }
        Ok(table)
    }

    fn path_value(&self, path: &str) -> Result<Value, String> {
        if path.is_empty() {
            return Err("YAML path cannot be empty".into());
        }
        let (parents, key) = match path.rsplit_once('.') {
            Some((p, k)) => (Some(p), k),
            None => (None, path),
        };
        let no_value = || format!("{} is not a value", gofmt::quote(key));
        let table = match parents {
            Some(p) => self.table(p).map_err(|_| no_value())?,
            None => self.0.clone(),
        };
        let found = table.borrow().get(key).cloned();
        match found {
            Some(Value::Map(kind, _)) if kind.is_plain_interface() => Err(no_value()),
            Some(v) => Ok(v),
            None => Err(no_value()),
        }
    }
}

impl Object for ValuesMethods {
    fn type_name(&self) -> &str {
        "common.Values"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn method(&self, name: &str) -> Option<&'static [GoType]> {
        Some(match name {
            "AsMap" | "YAML" => &[],
            "Table" | "PathValue" => &[GoType::String],
            "Encode" => &[GoType::Object("io.Writer")],
            _ => return None,
        })
    }
    fn call(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let arg = || args.first().and_then(Value::as_str).unwrap_or_default();
        match name {
            "AsMap" if self.0.borrow().is_empty() => Ok(Value::empty_map()),
            "AsMap" => Ok(Value::Map(MapKind::Interface, self.0.clone())),
            "YAML" => yaml::to_yaml(&Value::Map(MapKind::Values, self.0.clone()))
                .map(Value::from)
                .map_err(|e| e.to_string()),
            "Table" => self.table(arg()).map(values),
            "PathValue" => self.path_value(arg()),
            _ => Err(format!("can't evaluate field {name} in type common.Values")),
        }
    }
    fn format(&self) -> String {
        gofmt::format_value(&Value::Map(MapKind::Values, self.0.clone()))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `common.VersionSet`'s method bound to one list.
struct VersionSetMethods(Rc<List>);

impl Object for VersionSetMethods {
    fn type_name(&self) -> &str {
        "common.VersionSet"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn method(&self, name: &str) -> Option<&'static [GoType]> {
        (name == "Has").then_some(&[GoType::String])
    }
    fn call(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        match (name, args.first()) {
            ("Has", Some(Value::Str(want))) => Ok(Value::Bool(
                self.0.items.iter().any(|v| v.as_str() == Some(want)),
            )),
            _ => Err(format!(
                "can't evaluate field {name} in type common.VersionSet"
            )),
        }
    }
    fn format(&self) -> String {
        gofmt::format_value(&Value::List(self.0.clone()))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        let mut inner = Map::new();
        inner.insert("x".into(), Value::str("y"));
        let mut top = Map::new();
        top.insert("a".into(), Value::Float(1.0));
        top.insert("m".into(), Value::map(inner));
        new_values(top)
    }

    fn call(v: &Value, name: &str, args: &[Value]) -> Result<Value, String> {
        methods_of(v).expect("named type").call(name, args)
    }

    #[test]
    fn table_and_path_value_walk_like_helm() {
        let v = sample();
        let t = call(&v, "Table", &[Value::str("m")]).unwrap();
        assert_eq!(t.type_name(), "common.Values");
        assert_eq!(
            call(&v, "PathValue", &[Value::str("m.x")])
                .unwrap()
                .as_str(),
            Some("y")
        );
        assert_eq!(
            call(&v, "PathValue", &[Value::str("m")]).unwrap_err(),
            "\"m\" is not a value"
        );
        assert_eq!(
            call(&v, "Table", &[Value::str("a")]).unwrap_err(),
            "\"a\" is not a table"
        );
        assert_eq!(
            call(&v, "AsMap", &[]).unwrap().type_name(),
            "map[string]interface {}"
        );
    }

    #[test]
    fn version_set_has() {
        let v = version_set(&["v1".to_string()]);
        assert_eq!(v.type_name(), "common.VersionSet");
        assert!(call(&v, "Has", &[Value::str("v1")]).unwrap().truthy());
        assert!(!call(&v, "Has", &[Value::str("v2")]).unwrap().truthy());
    }
}
