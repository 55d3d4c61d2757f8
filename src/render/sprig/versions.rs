//! Sprig's `semver` and `semverCompare` over [`crate::godata::semver`]; the
//! `*semver.Version` object exposes Go's methods (`.Major`, `.Prerelease`,
//! `.Compare`, …).

use super::{arg_str, spec};
use crate::godata::semver::{Constraints, Version, validate_metadata, validate_prerelease};
use crate::godata::value::{Object, Value};
use crate::render::funcs::{FuncError, FuncSpec, GoType as T};
use std::any::Any;
use std::cmp::Ordering;
use std::rc::Rc;

pub(super) const FUNCS: &[FuncSpec] = &[
    spec("semver", &[T::String], None, |a| {
        let v = Version::parse(arg_str(a, 0)?).map_err(FuncError::new)?;
        Ok(Value::Object(Rc::new(SemverObject { v, pointer: true })))
    }),
    spec("semverCompare", &[T::String, T::String], None, |a| {
        let c = Constraints::parse(arg_str(a, 0)?).map_err(FuncError::new)?;
        let v = Version::parse(arg_str(a, 1)?).map_err(FuncError::new)?;
        Ok(Value::Bool(c.check(&v)))
    }),
];

/// `*semver.Version` (or `semver.Version` from `IncMajor` & co.) in templates.
struct SemverObject {
    v: Version,
    pointer: bool,
}

impl SemverObject {
    fn wrap(v: Version, pointer: bool) -> Value {
        Value::Object(Rc::new(SemverObject { v, pointer }))
    }
}

fn version_arg(args: &[Value]) -> Result<Version, String> {
    match args.first() {
        Some(Value::Object(o)) => o
            .as_any()
            .downcast_ref::<SemverObject>()
            .map(|s| s.v.clone())
            .ok_or_else(|| {
                format!(
                    "wrong type for value; expected *semver.Version; got {}",
                    o.type_name()
                )
            }),
        Some(other) => Err(format!(
            "wrong type for value; expected *semver.Version; got {}",
            other.type_name()
        )),
        None => Err("wrong number of args: got 0 want 1".into()),
    }
}

impl Object for SemverObject {
    fn type_name(&self) -> &str {
        if self.pointer {
            "*semver.Version"
        } else {
            "semver.Version"
        }
    }

    fn field(&self, name: &str) -> Option<Value> {
        let v = &self.v;
        Some(match name {
            "Major" => Value::Int64(v.major as i64),
            "Minor" => Value::Int64(v.minor as i64),
            "Patch" => Value::Int64(v.patch as i64),
            "Prerelease" => Value::str(v.pre.as_str()),
            "Metadata" => Value::str(v.metadata.as_str()),
            "Original" => Value::str(v.original.as_str()),
            "String" => Value::str(v.to_string()),
            "IncMajor" => SemverObject::wrap(v.inc(0), false),
            "IncMinor" => SemverObject::wrap(v.inc(1), false),
            "IncPatch" => SemverObject::wrap(v.inc(2), false),
            _ => return None,
        })
    }

    /// `semver.Version` marshals as its `String()` (`MarshalJSON`).
    fn json_value(&self) -> Option<Value> {
        Some(Value::str(self.v.to_string()))
    }

    fn method(&self, name: &str) -> Option<&'static [T]> {
        match name {
            "Compare" | "LessThan" | "LessThanEqual" | "GreaterThan" | "GreaterThanEqual"
            | "Equal" => Some(&[T::Object("*semver.Version")]),
            "SetPrerelease" | "SetMetadata" => Some(&[T::String]),
            _ => None,
        }
    }

    fn call(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        if name == "SetPrerelease" || name == "SetMetadata" {
            let s = args
                .first()
                .and_then(Value::as_str)
                .ok_or("wrong type for value; expected string")?;
            let mut n = self.v.clone();
            if name == "SetPrerelease" {
                if !s.is_empty() {
                    validate_prerelease(s)?;
                }
                n.pre = s.to_string();
            } else {
                if !s.is_empty() {
                    validate_metadata(s)?;
                }
                n.metadata = s.to_string();
            }
            let prefix = if self.v.original.starts_with('v') {
                "v"
            } else {
                ""
            };
            n.original = format!("{prefix}{n}");
            return Ok(SemverObject::wrap(n, false));
        }
        let o = version_arg(args)?;
        let ord = self.v.compare(&o);
        Ok(match name {
            "Compare" => Value::Int(match ord {
                Ordering::Less => -1,
                Ordering::Equal => 0,
                Ordering::Greater => 1,
            }),
            "LessThan" => Value::Bool(ord == Ordering::Less),
            "LessThanEqual" => Value::Bool(ord != Ordering::Greater),
            "GreaterThan" => Value::Bool(ord == Ordering::Greater),
            "GreaterThanEqual" => Value::Bool(ord != Ordering::Less),
            "Equal" => Value::Bool(ord == Ordering::Equal),
            _ => return Err(format!("can't call method/function {name:?}")),
        })
    }

    fn format(&self) -> String {
        self.v.to_string()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
