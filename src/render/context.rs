//! The Go objects Helm hands to templates besides plain maps: `.Files`
//! (Helm's `engine.files`, a `map[string][]byte` with methods),
//! `.Capabilities` (`*common.Capabilities` with `KubeVersion`, `APIVersions`
//! and `HelmVersion`), with Helm v4.1.4's defaults for `helm template`.

use std::any::Any;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::chart::Contents;
use crate::godata::glob::files_glob;
use crate::godata::gofmt;
use crate::godata::named;
use crate::godata::value::{GoType, Map, Object, Value};

/// The Kubernetes version rudder's client targets (k8s-openapi `v1_35`),
/// Helm's default `.Capabilities.KubeVersion` for client-go v0.35.
pub const DEFAULT_KUBE_MAJOR: u64 = 1;
pub const DEFAULT_KUBE_MINOR: u64 = 35;

/// Helm v4.1.4's `DefaultVersionSet` (client-go v0.35 scheme, prioritized
/// order, plus apiextensions v1beta1/v1).
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// The Helm build rudder reproduces (`.Capabilities.HelmVersion`).
pub const HELM_VERSION: &str = "v4.1.4";
const HELM_GIT_COMMIT: &str = "05fa37973dc9e42b76e1d2883494c87174b6074f";
const HELM_GO_VERSION: &str = "go1.25.9";
const HELM_KUBE_CLIENT_VERSION: &str = "v1.35";

/// `.Files`: the chart's non-template files, by path. A file still on disk
/// (see [`Contents`]) is read when a method first needs its bytes; where Go
/// cannot fail (`AsConfig`, printing), a failed read gives no bytes and the
/// renderer reports it after the run.
#[derive(Clone, Debug, Default)]
pub struct Files {
    pub files: Rc<BTreeMap<String, Contents>>,
}

impl Files {
    pub fn new(files: BTreeMap<String, Contents>) -> Files {
        Files {
            files: Rc::new(files),
        }
    }

    /// The bytes of `name` (none for a file the chart lacks).
    fn get_bytes(&self, name: &str) -> Result<Rc<[u8]>, String> {
        match self.files.get(name) {
            Some(c) => c.bytes().map_err(|e| e.to_string()),
            None => Ok(Rc::from(Vec::new())),
        }
    }

    /// Every file with its bytes, in path order.
    fn loaded(&self) -> impl Iterator<Item = (&String, Rc<[u8]>)> {
        self.files.iter().map(|(k, c)| (k, c.bytes_or_empty()))
    }

    fn glob(&self, pattern: &str) -> Files {
        let picked = self
            .files
            .iter()
            .filter(|(n, _)| files_glob(pattern, n))
            .map(|(n, d)| (n.clone(), d.clone()))
            .collect();
        Files::new(picked)
    }

    fn lines(&self, path: &str) -> Result<Value, String> {
        let Some(contents) = self.files.get(path) else {
            return Ok(Value::string_list(Vec::new()));
        };
        let data = contents.bytes().map_err(|e| e.to_string())?;
        let s = String::from_utf8_lossy(&data);
        let s = s.strip_suffix('\n').unwrap_or(&s);
        Ok(Value::string_list(
            s.split('\n').map(str::to_string).collect(),
        ))
    }

    fn as_yaml(&self, encode: impl Fn(&[u8]) -> String) -> Value {
        let m: Map = self
            .loaded()
            .map(|(k, v)| {
                (
                    k.rsplit('/').next().unwrap_or(k).to_string(),
                    Value::str(encode(&v)),
                )
            })
            .collect();
        let v = Value::Map(
            crate::godata::value::MapKind::String,
            Rc::new(std::cell::RefCell::new(m)),
        );
        match crate::godata::yaml::to_yaml(&v) {
            Ok(s) => Value::str(s.trim_end_matches('\n')),
            Err(_) => Value::str(""),
        }
    }
}

/// Go's `string(bytes)`: invalid UTF-8 becomes U+FFFD per bad byte.
pub fn go_string(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

fn arg_str<'a>(args: &'a [Value], method: &str) -> Result<&'a str, String> {
    match args {
        [Value::Str(s)] => Ok(s),
        [other] => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
        _ => Err(format!(
            "wrong number of args for {method}: want 1 got {}",
            args.len()
        )),
    }
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "engine.files"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "AsConfig" => Some(self.as_yaml(go_string)),
            "AsSecrets" => Some(self.as_yaml(b64)),
            _ => None,
        }
    }

    fn method(&self, name: &str) -> Option<&'static [GoType]> {
        match name {
            "Get" | "GetBytes" | "Glob" | "Lines" => Some(&[GoType::String]),
            "AsConfig" | "AsSecrets" => Some(&[]),
            _ => None,
        }
    }

    /// A `map[string][]byte` with methods.
    fn kind(&self) -> &'static str {
        "map"
    }

    fn call(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        match name {
            "Get" => Ok(Value::str(go_string(
                &self.get_bytes(arg_str(args, name)?)?,
            ))),
            "GetBytes" => Ok(Value::Bytes(self.get_bytes(arg_str(args, name)?)?)),
            "Glob" => Ok(Value::Object(Rc::new(self.glob(arg_str(args, name)?)))),
            "Lines" => self.lines(arg_str(args, name)?),
            "AsConfig" | "AsSecrets" => self.field(name).ok_or_else(|| name.to_string()),
            _ => Err(format!("can't evaluate field {name} in type engine.files")),
        }
    }

    fn format(&self) -> String {
        let parts: Vec<String> = self
            .loaded()
            .map(|(k, v)| {
                let bytes: Vec<String> = v.iter().map(|b| b.to_string()).collect();
                format!("{k}:[{}]", bytes.join(" "))
            })
            .collect();
        format!("map[{}]", parts.join(" "))
    }

    fn truthy(&self) -> bool {
        !self.files.is_empty()
    }

    /// A `map[string][]byte`: values marshal as base64 strings.
    fn json_value(&self) -> Option<Value> {
        self.collection()
    }

    fn collection(&self) -> Option<Value> {
        let m: Map = self.entries().into_iter().collect();
        Some(Value::Map(
            crate::godata::value::MapKind::Interface,
            Rc::new(std::cell::RefCell::new(m)),
        ))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Files {
    /// The entries `range`/`index`/`len` see (a Go map of `[]byte`).
    pub fn entries(&self) -> Vec<(String, Value)> {
        self.loaded()
            .map(|(k, v)| (k.clone(), Value::Bytes(v)))
            .collect()
    }
}

/// `.Capabilities.KubeVersion`.
#[derive(Clone, Debug, PartialEq)]
pub struct KubeVersion {
    /// As given (`v1.33.4-gke.1245000`).
    pub version: String,
    /// For constraints (`v1.33.4`).
    pub normalized: String,
    pub major: String,
    pub minor: String,
}

impl KubeVersion {
    /// Helm's default for `helm template`.
    pub fn default_version() -> KubeVersion {
        let v = format!("v{DEFAULT_KUBE_MAJOR}.{DEFAULT_KUBE_MINOR}.0");
        KubeVersion {
            version: v.clone(),
            normalized: v,
            major: DEFAULT_KUBE_MAJOR.to_string(),
            minor: DEFAULT_KUBE_MINOR.to_string(),
        }
    }

    /// Helm's `ParseKubeVersion` (k8s `ParseGeneric`: at least major.minor,
    /// anything after the numeric components is kept only in `version`).
    pub fn parse(input: &str) -> Result<KubeVersion, String> {
        let s = input.trim_start();
        let s = s.strip_prefix('v').unwrap_or(s);
        let num_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let nums = &s[..num_end];
        let comps: Vec<&str> = nums.split('.').collect();
        if nums.is_empty() || comps.iter().any(|c| c.is_empty()) {
            return Err(format!("could not parse {input:?} as version"));
        }
        if comps.len() < 2 {
            return Err(format!("illegal version string {input:?}"));
        }
        let parsed: Vec<u64> = comps
            .iter()
            .map(|c| {
                c.parse::<u64>()
                    .map_err(|_| format!("illegal version string {input:?}"))
            })
            .collect::<Result<_, _>>()?;
        let version = if input.starts_with('v') {
            input.to_string()
        } else {
            format!("v{input}")
        };
        let normalized = format!(
            "v{}",
            parsed
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(".")
        );
        Ok(KubeVersion {
            version,
            normalized,
            major: parsed[0].to_string(),
            minor: parsed[1].to_string(),
        })
    }
}

impl Object for KubeVersion {
    fn type_name(&self) -> &str {
        "common.KubeVersion"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" | "GitVersion" => Some(Value::str(self.version.as_str())),
            "Major" => Some(Value::str(self.major.as_str())),
            "Minor" => Some(Value::str(self.minor.as_str())),
            "String" => Some(Value::str(self.normalized.as_str())),
            _ => None,
        }
    }
    /// `fmt` sees the struct: `String()` is declared on the pointer.
    fn format(&self) -> String {
        format!(
            "{{{} {} {} {}}}",
            self.version, self.normalized, self.major, self.minor
        )
    }
    fn go_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        Some(vec![
            ("Version", Value::str(self.version.as_str())),
            ("normalizedVersion", Value::str(self.normalized.as_str())),
            ("Major", Value::str(self.major.as_str())),
            ("Minor", Value::str(self.minor.as_str())),
        ])
    }
    /// `(*KubeVersion).String`: the normalized version.
    fn addressable_string(&self) -> Option<String> {
        Some(self.normalized.clone())
    }
    /// Helm v4's `common.KubeVersion` has no json tags; its unexported
    /// normalized version is not marshalled.
    fn json_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        Some(vec![
            ("Version", Value::str(self.version.as_str())),
            ("Major", Value::str(self.major.as_str())),
            ("Minor", Value::str(self.minor.as_str())),
        ])
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The API versions behind `.Capabilities.APIVersions` (`common.VersionSet`,
/// a named `[]string` with `Has`; see [`named::version_set`]).
#[derive(Clone, Debug)]
pub struct VersionSet(pub Rc<Vec<String>>);

impl VersionSet {
    /// The value templates see: a named `[]string` with `Has`.
    pub fn items(&self) -> Value {
        named::version_set(&self.0)
    }
}

/// `.Capabilities.HelmVersion` (`version.BuildInfo`).
#[derive(Clone, Debug)]
pub struct HelmVersion;

impl Object for HelmVersion {
    fn type_name(&self) -> &str {
        "version.BuildInfo"
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(Value::str(match name {
            "Version" => HELM_VERSION,
            "GitCommit" => HELM_GIT_COMMIT,
            "GitTreeState" => "clean",
            "GoVersion" => HELM_GO_VERSION,
            "KubeClientVersion" => HELM_KUBE_CLIENT_VERSION,
            _ => return None,
        }))
    }
    fn format(&self) -> String {
        format!(
            "{{{HELM_VERSION} {HELM_GIT_COMMIT} clean {HELM_GO_VERSION} {HELM_KUBE_CLIENT_VERSION}}}"
        )
    }
    fn go_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        Some(
            [
                "Version",
                "GitCommit",
                "GitTreeState",
                "GoVersion",
                "KubeClientVersion",
            ]
            .into_iter()
            .filter_map(|k| Some((k, self.field(k)?)))
            .collect(),
        )
    }
    /// `version.BuildInfo`'s json tags.
    fn json_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        Some(vec![
            ("version", Value::str(HELM_VERSION)),
            ("git_commit", Value::str(HELM_GIT_COMMIT)),
            ("git_tree_state", Value::str("clean")),
            ("go_version", Value::str(HELM_GO_VERSION)),
            ("kube_client_version", Value::str(HELM_KUBE_CLIENT_VERSION)),
        ])
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `.Capabilities`.
#[derive(Clone, Debug)]
pub struct Capabilities {
    pub kube_version: KubeVersion,
    pub api_versions: VersionSet,
}

impl Capabilities {
    /// Helm's `DefaultCapabilities` with `--kube-version` / `--api-versions`.
    pub fn new(kube_version: Option<KubeVersion>, extra_apis: &[String]) -> Capabilities {
        let mut apis: Vec<String> = DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect();
        apis.extend(extra_apis.iter().cloned());
        Capabilities {
            kube_version: kube_version.unwrap_or_else(KubeVersion::default_version),
            api_versions: VersionSet(Rc::new(apis)),
        }
    }
}

impl Capabilities {
    /// Capabilities of a real cluster: `base` (its discovered API versions)
    /// instead of the defaults, then `extra_apis`.
    pub fn exact(
        kube_version: Option<KubeVersion>,
        base: &[String],
        extra_apis: &[String],
    ) -> Capabilities {
        let apis: Vec<String> = base.iter().chain(extra_apis).cloned().collect();
        Capabilities {
            kube_version: kube_version.unwrap_or_else(KubeVersion::default_version),
            api_versions: VersionSet(Rc::new(apis)),
        }
    }
}

impl Object for Capabilities {
    fn type_name(&self) -> &str {
        "*common.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::Object(Rc::new(self.kube_version.clone()))),
            "APIVersions" => Some(self.api_versions.items()),
            "HelmVersion" => Some(Value::Object(Rc::new(HelmVersion))),
            _ => None,
        }
    }
    fn json_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        self.go_fields()
    }
    fn go_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        Some(
            ["KubeVersion", "APIVersions", "HelmVersion"]
                .into_iter()
                .filter_map(|k| Some((k, self.field(k)?)))
                .collect(),
        )
    }
    fn format(&self) -> String {
        let kv = &self.kube_version;
        format!(
            "&{{{{{} {} {} {}}} {} {}}}",
            kv.version,
            kv.normalized,
            kv.major,
            kv.minor,
            gofmt::format_value(&self.api_versions.items()),
            HelmVersion.format()
        )
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_versions_parse_like_helm() {
        let k = KubeVersion::parse("1.31.0").unwrap();
        assert_eq!(
            (
                k.version.as_str(),
                k.normalized.as_str(),
                k.major.as_str(),
                k.minor.as_str()
            ),
            ("v1.31.0", "v1.31.0", "1", "31")
        );
        let k = KubeVersion::parse("v1.33.4-gke.1245000").unwrap();
        assert_eq!(
            (k.version.as_str(), k.normalized.as_str()),
            ("v1.33.4-gke.1245000", "v1.33.4")
        );
        assert!(KubeVersion::parse("abc").is_err());
    }

    #[test]
    fn base64_matches_std_encoding() {
        assert_eq!(b64(b"hello"), "aGVsbG8=");
        assert_eq!(b64(b"hi"), "aGk=");
        assert_eq!(b64(b""), "");
    }

    #[test]
    fn files_methods() {
        let mut m = BTreeMap::new();
        m.insert(
            "a/x.txt".to_string(),
            Contents::Loaded(Rc::from(b"1\n2\n".to_vec())),
        );
        m.insert(
            "b.txt".to_string(),
            Contents::Loaded(Rc::from(b"b".to_vec())),
        );
        let f = Files::new(m);
        let g = f.glob("a/*");
        assert_eq!(g.files.len(), 1);
        assert_eq!(f.lines("a/x.txt").unwrap().as_list().unwrap().len(), 2);
        assert_eq!(
            f.call("Get", &[Value::str("b.txt")]).unwrap().as_str(),
            Some("b")
        );
    }
}
