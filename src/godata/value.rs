//! The value model of the template engine: Go's dynamic values as Helm's
//! templates see them.
//!
//! Helm hands templates `map[string]interface{}` trees decoded from YAML/JSON
//! (every number a `float64`), plus Go structs (`.Chart`, `.Release`,
//! `.Capabilities`, `.Files`, semver versions, times, certificates). Sprig adds
//! `int`, `int64`, `[]string` and friends. The engine must keep those Go types
//! apart because Go does: `printf "%d"` of a float64 prints `%!d(float64=80)`,
//! `eq` of an int and a float64 is an error, `typeOf` names the type.
//!
//! Maps are shared and mutable (`set`, `unset`, `merge` are seen by every
//! holder of the map, as in Go); lists are immutable once built (Sprig's list
//! functions always return new slices). Values are `Rc`-based: one render runs
//! on one thread, sequentially, as Helm does (templates see each other's
//! mutations of `.Values`).

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// The contents of a Go `map[string]interface{}`; iteration is in sorted key
/// order, which is the order Go's printing, `range` and JSON/YAML use.
pub type Map = BTreeMap<String, Value>;

/// A shared, mutable map (Go maps are reference types).
pub type MapRef = Rc<RefCell<Map>>;

/// One dynamic value.
#[derive(Clone)]
pub enum Value {
    /// Go's untyped nil: a missing map key, a nil interface, `nil` literal.
    Nil,
    Bool(bool),
    /// Go `int` (`len`, integer literals, Sprig `int`, `atoi`).
    Int(i64),
    /// Go `int64` (Sprig arithmetic `add`/`sub`/…, `int64`).
    Int64(i64),
    /// Go `float64` (every number decoded from YAML or JSON).
    Float(f64),
    /// Go `string`.
    Str(Rc<str>),
    /// Go `[]byte` (`.Files.GetBytes`).
    Bytes(Rc<[u8]>),
    /// A Go slice; see [`ListKind`] for its element type.
    List(Rc<List>),
    /// A Go map; see [`MapKind`] for its value type.
    Map(MapKind, MapRef),
    /// A Go struct or pointer with fields and methods.
    Object(Rc<dyn Object>),
}

/// The Go element type of a slice value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    /// `[]interface {}`
    Interface,
    /// `[]string`
    String,
    /// A nil `[]interface {}` (`fromJsonArray "null"`): reads as an empty
    /// slice, marshals as `null`.
    NilInterface,
    /// Helm's `common.VersionSet` (`.Capabilities.APIVersions`): a named
    /// `[]string` with the method `Has`. It is assignable to `[]string`
    /// parameters but fails Go type switches on `[]string`.
    VersionSet,
}

impl ListKind {
    /// Whether the Go element type is `interface {}`.
    pub fn is_interface(self) -> bool {
        matches!(self, ListKind::Interface | ListKind::NilInterface)
    }
}

/// The Go value type of a map value (keys are always strings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// `map[string]interface {}`
    Interface,
    /// `map[string]string` (Sprig `split`)
    String,
    /// A nil `map[string]string` (`.Chart.Annotations` when Chart.yaml has
    /// none): reads as an empty map, but marshals as `null` while empty.
    NilString,
    /// A nil `map[string]interface {}` (`fromJson "null"`), likewise.
    NilInterface,
    /// Helm's `common.Values` (`.Values`, `.Template`, the top-level `.`):
    /// a named `map[string]interface {}` with the methods `AsMap`, `YAML`,
    /// `Table`, `PathValue` and `Encode`. It is assignable to
    /// `map[string]interface {}` parameters but fails Go type assertions to
    /// that type (Sprig's `dig`).
    Values,
}

impl MapKind {
    /// Whether the Go value type is `interface {}` (missing keys read as
    /// nil rather than "").
    pub fn is_interface(self) -> bool {
        matches!(
            self,
            MapKind::Interface | MapKind::NilInterface | MapKind::Values
        )
    }

    /// Whether a Go type assertion `v.(map[string]interface{})` succeeds
    /// (the unnamed type only).
    pub fn is_plain_interface(self) -> bool {
        matches!(self, MapKind::Interface | MapKind::NilInterface)
    }
}

impl Value {
    /// Whether this is an empty map that Go's `json.Marshal` writes as
    /// `null` (a nil map).
    pub fn is_nil_map(&self) -> bool {
        match self {
            Value::Map(MapKind::NilString | MapKind::NilInterface, m) => m.borrow().is_empty(),
            Value::List(l) => l.kind == ListKind::NilInterface && l.items.is_empty(),
            _ => false,
        }
    }
}

/// A Go slice.
pub struct List {
    pub kind: ListKind,
    pub items: Vec<Value>,
}

/// A Go parameter type, as far as assignability checks need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoType {
    /// `interface{}`: anything, including nil.
    Any,
    /// `string`
    String,
    /// `int`
    Int,
    /// `int64`
    Int64,
    /// `float64`
    Float64,
    /// `bool`
    Bool,
    /// `[]interface{}`
    List,
    /// `[]string`
    StringList,
    /// `map[string]interface{}`
    Map,
    /// `[]byte`
    Bytes,
    /// A Go struct/pointer type, named as `%T` prints it (e.g. `*semver.Version`,
    /// `time.Time`); the argument must be an [`Object`] of that name.
    Object(&'static str),
}

/// A Go struct or pointer (`.Chart`, `.Release`, `.Files`, `*semver.Version`,
/// `time.Time`, Sprig's certificate structs, …).
pub trait Object {
    /// Go's name of the type as `%T`/`typeOf` prints it, e.g. `*semver.Version`.
    fn type_name(&self) -> &str;
    /// A field or niladic-method result for `.Name` chains; `None` when the
    /// object has no such field or method (the engine reports Go's error).
    fn field(&self, name: &str) -> Option<Value>;
    /// The parameters of the method `name` (e.g. `Files.Get` takes one
    /// string), or `None` when the type has no such method. The engine
    /// checks the arguments against them as Go's `evalCall` does, then calls
    /// [`Object::call`]. Methods win over fields of the same name.
    fn method(&self, _name: &str) -> Option<&'static [GoType]> {
        None
    }
    /// Calls a method with arguments already checked against its parameters.
    fn call(&self, name: &str, _args: &[Value]) -> Result<Value, String> {
        Err(format!(
            "can't call method/function {name:?} with arguments"
        ))
    }
    /// Go's `%v` rendering of the value.
    fn format(&self) -> String;
    /// What a template action prints for the value when the value is
    /// addressable (a field reached through a pointer, a variable): Go then
    /// calls a `String()` method declared on the pointer type, which
    /// `print` and `printf` of the same value do not see.
    fn addressable_string(&self) -> Option<String> {
        None
    }
    /// For Go structs (or pointers to them): every field, exported or not,
    /// in declaration order, as `fmt`'s `%+v` and `%#v` print them.
    fn go_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        None
    }
    /// Go's `reflect.Kind` of the type, as Sprig's `kindOf` names it.
    fn kind(&self) -> &'static str {
        if self.type_name().starts_with('*') {
            "ptr"
        } else {
            "struct"
        }
    }
    /// Go truthiness (`if`): structs are always true; nil pointers false.
    fn truthy(&self) -> bool {
        true
    }
    /// Downcasting, for functions that accept a specific Go type
    /// (e.g. `semver` objects passed to methods, `time.Time` to `date`).
    fn as_any(&self) -> &dyn Any;
    /// What Go's `json.Marshal` sees of the object (its exported fields under
    /// their json tag names, as maps/lists/scalars), for `toJson`/`toYaml`;
    /// `None` when the type cannot be marshalled.
    fn json_value(&self) -> Option<Value> {
        self.json_fields().map(|fields| {
            Value::map(
                fields
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            )
        })
    }
    /// For Go structs: the fields `json.Marshal` writes, in declaration
    /// order (JSON keeps that order; `toYaml` sorts them, as
    /// sigs.k8s.io/yaml does). `None` when the object is not such a struct.
    fn json_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        None
    }
    /// For Go map or slice types with methods (Helm's `engine.files`, a
    /// `map[string][]byte`; `common.VersionSet`, a `[]string`): the map or
    /// list that `range`, `index` and `len` see. `None` for structs.
    fn collection(&self) -> Option<Value> {
        None
    }
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::Str(s.into())
    }

    /// A `[]interface {}` of the given items.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(List {
            kind: ListKind::Interface,
            items,
        }))
    }

    /// A `[]string` of the given strings.
    pub fn string_list(items: Vec<String>) -> Value {
        Value::List(Rc::new(List {
            kind: ListKind::String,
            items: items.into_iter().map(Value::str).collect(),
        }))
    }

    /// A fresh `map[string]interface {}`.
    pub fn map(m: Map) -> Value {
        Value::Map(MapKind::Interface, Rc::new(RefCell::new(m)))
    }

    /// An empty `map[string]interface {}`.
    pub fn empty_map() -> Value {
        Value::map(Map::new())
    }

    /// Go's truth of a value, as `if`, `and`, `or`, `not` use it: false for
    /// nil, false, zero numbers, empty strings, slices and maps.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.items.is_empty(),
            Value::Map(_, m) => !m.borrow().is_empty(),
            Value::Object(o) => o.truthy(),
        }
    }

    /// Go's name of the dynamic type, as `%T` and Sprig's `typeOf` print it.
    pub fn type_name(&self) -> &str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Bytes(_) => "[]uint8",
            Value::List(l) => match l.kind {
                ListKind::Interface | ListKind::NilInterface => "[]interface {}",
                ListKind::String => "[]string",
                ListKind::VersionSet => "common.VersionSet",
            },
            Value::Map(MapKind::Interface | MapKind::NilInterface, _) => "map[string]interface {}",
            Value::Map(MapKind::Values, _) => "common.Values",
            Value::Map(MapKind::String | MapKind::NilString, _) => "map[string]string",
            Value::Object(o) => o.type_name(),
        }
    }

    /// The string inside a `string` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The shared map inside a map value.
    pub fn as_map(&self) -> Option<&MapRef> {
        match self {
            Value::Map(_, m) => Some(m),
            _ => None,
        }
    }

    /// The items of a slice value.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(&l.items),
            _ => None,
        }
    }

    /// Whether this is Go's nil.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Drops the value without recursion: uniquely owned maps and lists are
    /// emptied onto a work list first, so values nested thousands deep
    /// (YAML and JSON allow 10,000 levels, as Go does) are freed even on a
    /// small thread stack, where the ordinary recursive drop could overflow.
    pub fn drop_deep(self) {
        let mut work = vec![self];
        while let Some(v) = work.pop() {
            match v {
                Value::List(l) => {
                    if let Ok(list) = Rc::try_unwrap(l) {
                        work.extend(list.items);
                    }
                }
                Value::Map(_, m) => {
                    if let Ok(cell) = Rc::try_unwrap(m) {
                        work.extend(cell.into_inner().into_values());
                    }
                }
                _ => {}
            }
        }
    }

    /// A deep copy: new maps all the way down (Helm's `deepCopy`, and what
    /// loading values for a new render needs).
    pub fn deep_copy(&self) -> Value {
        match self {
            Value::Map(kind, m) => {
                let copied = m
                    .borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.deep_copy()))
                    .collect();
                Value::Map(*kind, Rc::new(RefCell::new(copied)))
            }
            Value::List(l) => Value::List(Rc::new(List {
                kind: l.kind,
                items: l.items.iter().map(Value::deep_copy).collect(),
            })),
            other => other.clone(),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "int({i})"),
            Value::Int64(i) => write!(f, "int64({i})"),
            Value::Float(x) => write!(f, "float64({x})"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => write!(f, "bytes({})", b.len()),
            Value::List(l) => f.debug_list().entries(l.items.iter()).finish(),
            Value::Map(_, m) => f.debug_map().entries(m.borrow().iter()).finish(),
            Value::Object(o) => write!(f, "{}({})", o.type_name(), o.format()),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_are_shared_between_holders() {
        let a = Value::empty_map();
        let b = a.clone();
        a.as_map()
            .unwrap()
            .borrow_mut()
            .insert("k".into(), Value::Int(1));
        assert_eq!(b.as_map().unwrap().borrow().len(), 1);
    }

    #[test]
    fn deep_copy_detaches_maps() {
        let a = Value::empty_map();
        let b = a.deep_copy();
        a.as_map()
            .unwrap()
            .borrow_mut()
            .insert("k".into(), Value::Int(1));
        assert!(b.as_map().unwrap().borrow().is_empty());
    }

    #[test]
    fn go_truth() {
        assert!(!Value::Float(0.0).truthy());
        assert!(Value::Float(0.5).truthy());
        assert!(!Value::str("").truthy());
        assert!(!Value::empty_map().truthy());
        assert!(!Value::list(vec![]).truthy());
        assert_eq!(Value::string_list(vec![]).type_name(), "[]string");
    }
}
