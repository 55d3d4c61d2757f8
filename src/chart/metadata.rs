//! Chart.yaml (apiVersion v1 and v2), `requirements.yaml` for v1 charts and
//! their validation, with Helm's field names and error texts. Also the
//! `.Chart` object templates see (Helm's `structToMap` of the metadata).

use std::collections::BTreeMap;

use crate::godata::value::{List, ListKind, Map, MapKind, Value};

/// One `dependencies:` entry (Chart.yaml or requirements.yaml).
#[derive(Clone, Debug, Default)]
pub struct Dependency {
    pub name: String,
    pub version: String,
    pub repository: String,
    pub condition: String,
    pub tags: Vec<String>,
    pub enabled: bool,
    /// `import-values`: strings or `{child, parent}` maps, as written.
    pub import_values: Vec<Value>,
    pub alias: String,
}

/// A `maintainers:` entry.
#[derive(Clone, Debug, Default)]
pub struct Maintainer {
    pub name: String,
    pub email: String,
    pub url: String,
}

/// Chart.yaml.
#[derive(Clone, Debug, Default)]
pub struct Metadata {
    pub name: String,
    pub home: String,
    pub sources: Vec<String>,
    pub version: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub maintainers: Vec<Maintainer>,
    pub icon: String,
    pub api_version: String,
    pub condition: String,
    pub tags: String,
    pub app_version: String,
    pub deprecated: bool,
    /// `None` when Chart.yaml has no annotations (Go's nil map).
    pub annotations: Option<BTreeMap<String, String>>,
    pub kube_version: String,
    pub dependencies: Vec<Dependency>,
    /// Whether Chart.yaml had a `dependencies` key at all (Go nil vs empty).
    pub has_dependencies: bool,
    pub chart_type: String,
    /// Helm 2's `engine` field (`gotpl` or, for rudder, `tera`).
    pub engine: String,
}

/// Go's JSON decoding error for a field of the wrong type, as
/// `sigs.k8s.io/yaml` reports it.
fn type_error(got: &Value, field: &str, go_type: &str) -> String {
    format!(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field {field} of type {go_type}",
        crate::godata::yaml::json_kind(got)
    )
}

fn get_string(m: &Map, key: &str, strct: &str) -> Result<Option<String>, String> {
    match m.get(key) {
        None | Some(Value::Nil) => Ok(None),
        Some(other) => match crate::godata::yaml::scalar_as_string(other) {
            Some(s) => Ok(Some(s)),
            None => Err(type_error(other, &format!("{strct}.{key}"), "string")),
        },
    }
}

fn get_bool(m: &Map, key: &str, strct: &str) -> Result<Option<bool>, String> {
    match m.get(key) {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(type_error(other, &format!("{strct}.{key}"), "bool")),
    }
}

fn get_strings(m: &Map, key: &str, strct: &str) -> Result<Option<Vec<String>>, String> {
    match m.get(key) {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::List(l)) => l
            .items
            .iter()
            .map(|v| match v {
                Value::Nil => Ok(String::new()),
                other => crate::godata::yaml::scalar_as_string(other)
                    .ok_or_else(|| type_error(other, &format!("{strct}.{key}"), "string")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(type_error(other, &format!("{strct}.{key}"), "[]string")),
    }
}

fn parse_maintainer(v: &Value) -> Result<Option<Maintainer>, String> {
    let m = match v {
        Value::Nil => return Ok(None),
        Value::Map(_, m) => m.borrow(),
        other => return Err(type_error(other, "Metadata.maintainers", "v2.Maintainer")),
    };
    Ok(Some(Maintainer {
        name: get_string(&m, "name", "Maintainer")?.unwrap_or_default(),
        email: get_string(&m, "email", "Maintainer")?.unwrap_or_default(),
        url: get_string(&m, "url", "Maintainer")?.unwrap_or_default(),
    }))
}

fn parse_dependency(v: &Value) -> Result<Option<Dependency>, String> {
    let m = match v {
        Value::Nil => return Ok(None),
        Value::Map(_, m) => m.borrow(),
        other => return Err(type_error(other, "Metadata.dependencies", "v2.Dependency")),
    };
    let import_values = match m.get("import-values") {
        None | Some(Value::Nil) => Vec::new(),
        Some(Value::List(l)) => l.items.clone(),
        Some(other) => {
            return Err(type_error(
                other,
                "Dependency.import-values",
                "[]interface {}",
            ));
        }
    };
    Ok(Some(Dependency {
        name: get_string(&m, "name", "Dependency")?.unwrap_or_default(),
        version: get_string(&m, "version", "Dependency")?.unwrap_or_default(),
        repository: get_string(&m, "repository", "Dependency")?.unwrap_or_default(),
        condition: get_string(&m, "condition", "Dependency")?.unwrap_or_default(),
        tags: get_strings(&m, "tags", "Dependency")?.unwrap_or_default(),
        enabled: get_bool(&m, "enabled", "Dependency")?.unwrap_or(false),
        import_values,
        alias: get_string(&m, "alias", "Dependency")?.unwrap_or_default(),
    }))
}

/// Reads the `dependencies:` list of Chart.yaml or requirements.yaml.
/// `Ok(None)` when the key is absent.
pub fn parse_dependencies(m: &Map) -> Result<Option<Vec<Dependency>>, String> {
    match m.get("dependencies") {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::List(l)) => {
            let mut out = Vec::new();
            for item in &l.items {
                match parse_dependency(item)? {
                    Some(d) => out.push(d),
                    None => {
                        return Err(
                            "validation: dependencies must not contain empty or null nodes".into(),
                        );
                    }
                }
            }
            Ok(Some(out))
        }
        Some(other) => Err(type_error(
            other,
            "Metadata.dependencies",
            "[]*v2.Dependency",
        )),
    }
}

impl Metadata {
    /// Decodes a parsed Chart.yaml document.
    pub fn from_value(v: &Value) -> Result<Metadata, String> {
        let m = match v {
            Value::Nil => return Ok(Metadata::default()),
            Value::Map(_, m) => m.borrow(),
            other => {
                return Err(format!(
                    "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type v2.Metadata",
                    crate::godata::yaml::json_kind(other)
                ));
            }
        };
        let s = |k: &str| get_string(&m, k, "Metadata").map(Option::unwrap_or_default);
        let maintainers = match m.get("maintainers") {
            None | Some(Value::Nil) => Vec::new(),
            Some(Value::List(l)) => {
                let mut out = Vec::new();
                for item in &l.items {
                    match parse_maintainer(item)? {
                        Some(x) => out.push(x),
                        None => {
                            return Err(
                                "validation: maintainers must not contain empty or null nodes"
                                    .into(),
                            );
                        }
                    }
                }
                out
            }
            Some(other) => {
                return Err(type_error(
                    other,
                    "Metadata.maintainers",
                    "[]*v2.Maintainer",
                ));
            }
        };
        let annotations = match m.get("annotations") {
            None | Some(Value::Nil) => None,
            Some(Value::Map(_, a)) => {
                let mut out = BTreeMap::new();
                for (k, v) in a.borrow().iter() {
                    match v {
                        Value::Nil => {
                            out.insert(k.clone(), String::new());
                        }
                        other => match crate::godata::yaml::scalar_as_string(other) {
                            Some(s) => {
                                out.insert(k.clone(), s);
                            }
                            None => {
                                return Err(type_error(other, "Metadata.annotations", "string"));
                            }
                        },
                    }
                }
                Some(out)
            }
            Some(other) => {
                return Err(type_error(
                    other,
                    "Metadata.annotations",
                    "map[string]string",
                ));
            }
        };
        let deps = parse_dependencies(&m)?;
        Ok(Metadata {
            name: s("name")?,
            home: s("home")?,
            sources: get_strings(&m, "sources", "Metadata")?.unwrap_or_default(),
            version: s("version")?,
            description: s("description")?,
            keywords: get_strings(&m, "keywords", "Metadata")?.unwrap_or_default(),
            maintainers,
            icon: s("icon")?,
            api_version: s("apiVersion")?,
            condition: s("condition")?,
            tags: s("tags")?,
            app_version: s("appVersion")?,
            deprecated: get_bool(&m, "deprecated", "Metadata")?.unwrap_or(false),
            annotations,
            kube_version: s("kubeVersion")?,
            has_dependencies: deps.is_some(),
            dependencies: deps.unwrap_or_default(),
            chart_type: s("type")?,
            engine: match m.get("engine") {
                Some(Value::Str(e)) => e.to_string(),
                _ => String::new(),
            },
        })
    }

    /// Helm's `Metadata.Validate` (sanitising strings as it does).
    pub fn validate(&mut self) -> Result<(), String> {
        for f in [
            &mut self.name,
            &mut self.description,
            &mut self.home,
            &mut self.icon,
            &mut self.condition,
            &mut self.tags,
            &mut self.app_version,
            &mut self.kube_version,
        ] {
            *f = sanitize(f);
        }
        for s in self.sources.iter_mut().chain(self.keywords.iter_mut()) {
            *s = sanitize(s);
        }
        if self.api_version.is_empty() {
            return Err("validation: chart.metadata.apiVersion is required".into());
        }
        if self.name.is_empty() {
            return Err("validation: chart.metadata.name is required".into());
        }
        if self.name == "." || self.name == ".." {
            return Err(format!(
                "validation: chart.metadata.name {:?} is not allowed",
                self.name
            ));
        }
        if self.name.contains('/') {
            return Err(format!(
                "validation: chart.metadata.name {:?} is invalid",
                self.name
            ));
        }
        if self.version.is_empty() {
            return Err("validation: chart.metadata.version is required".into());
        }
        if crate::godata::semver::Version::parse(&self.version).is_err() {
            return Err(format!(
                "validation: chart.metadata.version {:?} is invalid",
                self.version
            ));
        }
        if !matches!(self.chart_type.as_str(), "" | "application" | "library") {
            return Err("validation: chart.metadata.type must be application or library".into());
        }
        for m in &mut self.maintainers {
            m.name = sanitize(&m.name);
            m.email = sanitize(&m.email);
            m.url = sanitize(&m.url);
        }
        let mut seen = std::collections::BTreeSet::new();
        for d in &mut self.dependencies {
            d.name = sanitize(&d.name);
            d.version = sanitize(&d.version);
            d.repository = sanitize(&d.repository);
            d.condition = sanitize(&d.condition);
            for t in &mut d.tags {
                *t = sanitize(t);
            }
            if !d.alias.is_empty()
                && !d
                    .alias
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!(
                    "validation: dependency {:?} has disallowed characters in the alias",
                    d.name
                ));
            }
            let key = if d.alias.is_empty() {
                d.name.clone()
            } else {
                d.alias.clone()
            };
            if !seen.insert(key.clone()) {
                return Err(format!(
                    "validation: more than one dependency with name or alias {key:?}"
                ));
            }
        }
        Ok(())
    }

    /// `.Chart` as templates see it: Helm v4's `structToMap` of the metadata
    /// (Go field names; nil slices become empty lists, nil maps stay nil).
    pub fn to_value(&self, is_root: bool) -> Value {
        let mut m = Map::new();
        let s = |x: &str| Value::str(x);
        let strs = |v: &[String]| Value::list(v.iter().map(|x| Value::str(x.as_str())).collect());
        m.insert("Name".into(), s(&self.name));
        m.insert("Home".into(), s(&self.home));
        m.insert("Sources".into(), strs(&self.sources));
        m.insert("Version".into(), s(&self.version));
        m.insert("Description".into(), s(&self.description));
        m.insert("Keywords".into(), strs(&self.keywords));
        let maintainers = self
            .maintainers
            .iter()
            .map(|x| {
                let mut mm = Map::new();
                mm.insert("Name".into(), s(&x.name));
                mm.insert("Email".into(), s(&x.email));
                mm.insert("URL".into(), s(&x.url));
                Value::map(mm)
            })
            .collect();
        m.insert("Maintainers".into(), Value::list(maintainers));
        m.insert("Icon".into(), s(&self.icon));
        m.insert("APIVersion".into(), s(&self.api_version));
        m.insert("Condition".into(), s(&self.condition));
        m.insert("Tags".into(), s(&self.tags));
        m.insert("AppVersion".into(), s(&self.app_version));
        m.insert("Deprecated".into(), Value::Bool(self.deprecated));
        let ann: Map = self
            .annotations
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Value::str(v.as_str())))
            .collect();
        // No annotations in Chart.yaml: Go's nil map (`null` in toJson).
        let kind = match self.annotations {
            Some(_) => MapKind::String,
            None => MapKind::NilString,
        };
        m.insert(
            "Annotations".into(),
            Value::Map(kind, std::rc::Rc::new(std::cell::RefCell::new(ann))),
        );
        m.insert("KubeVersion".into(), s(&self.kube_version));
        let deps = self.dependencies.iter().map(Dependency::to_value).collect();
        m.insert("Dependencies".into(), Value::list(deps));
        m.insert("Type".into(), s(&self.chart_type));
        m.insert("IsRoot".into(), Value::Bool(is_root));
        Value::map(m)
    }
}

impl Dependency {
    /// `structToMap` of a dependency.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("Name".into(), Value::str(self.name.as_str()));
        m.insert("Version".into(), Value::str(self.version.as_str()));
        m.insert("Repository".into(), Value::str(self.repository.as_str()));
        m.insert("Condition".into(), Value::str(self.condition.as_str()));
        m.insert(
            "Tags".into(),
            Value::List(std::rc::Rc::new(List {
                kind: ListKind::Interface,
                items: self.tags.iter().map(|t| Value::str(t.as_str())).collect(),
            })),
        );
        m.insert("Enabled".into(), Value::Bool(self.enabled));
        m.insert(
            "ImportValues".into(),
            Value::list(self.import_values.clone()),
        );
        m.insert("Alias".into(), Value::str(self.alias.as_str()));
        Value::map(m)
    }
}

/// Helm's `sanitizeString`: whitespace becomes a space, unprintable runes go.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if c.is_control() {
                None
            } else {
                Some(c)
            }
        })
        .collect()
}
