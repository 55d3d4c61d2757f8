//! Go's text/template, reimplemented with Go's exact semantics: lexer
//! ([`lexer`]), parser and syntax tree ([`parse`]), executor ([`exec`]),
//! builtins ([`builtins`]) and errors worded as Helm prints them ([`error`]);
//! plus Helm's engine-level functions `include`, `tpl` and `lookup`.
//!
//! # API for the render driver
//!
//! ```
//! use rudder::render::gotmpl::TemplateSet;
//! use rudder::godata::value::Value;
//!
//! let mut set = TemplateSet::new();
//! // Parse every file of the chart (and its subcharts) in Helm's order
//! // (`sortTemplates`: by path depth, then name); `define`s of later files
//! // replace earlier ones, as in Helm.
//! set.parse("mychart/templates/_helpers.tpl", r#"{{ define "x" }}hi {{ . }}{{ end }}"#).unwrap();
//! set.parse("mychart/templates/cm.yaml", r#"v: {{ include "x" .Values.a }}"#).unwrap();
//! // Execute one template with its data (the driver sets `Template` —
//! // `{Name, BasePath}` — on the data map before each call, as Helm does).
//! let mut top = rudder::godata::value::Map::new();
//! top.insert("Values".into(), Value::empty_map());
//! let out = set.execute("mychart/templates/cm.yaml", &Value::map(top)).unwrap();
//! assert_eq!(out, "v: hi "); // `.Values.a` is missing: Helm drops "<no value>"
//! ```
//!
//! * [`TemplateSet::parse`] fails with [`TemplateError::Parse`], whose
//!   `Display` is Helm's text (`parse error at (mychart/templates/x.yaml:3): unexpected EOF`).
//! * [`TemplateSet::execute`] fails with [`TemplateError::Exec`], displayed
//!   as Helm prints it after `Error: ` (multi-line `file:line:col\n  executing
//!   "…" at <…>:\n    message`, or `execution error at (…): msg` for
//!   `required`/`fail`, or Go's raw text where Helm keeps it).
//! * One `TemplateSet` is one render: `include` recursion counts are shared
//!   by all executions, as Helm's `includedNames`.
//! * Functions: Helm's funcs ([`crate::render::helmfuncs::functions`]) over
//!   Sprig's ([`crate::render::sprig::functions`]) over Go's builtins;
//!   `include`, `tpl` and `lookup` are the engine's; `lookup` reads the
//!   cluster given by [`TemplateSet::set_lookup`], and without one returns
//!   an empty map (template mode). Unknown functions are parse errors (`function "x" not defined`).
//! * Deep recursion: nesting is capped (include: Helm's 1000 per name;
//!   overall 3000 nested executions) so a recursive chart fails cleanly; run
//!   renders on a thread with a large stack (e.g. 256 MiB) to be safe.

pub mod builtins;
pub mod error;
pub mod exec;
pub mod lexer;
pub mod parse;
mod stack;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

pub use error::{GoError, TemplateError};
use exec::{Env, Namespace};

use crate::godata::value::Value;
use crate::render::funcs::FuncSpec;
use crate::render::lookup::Lookup;

const BUILTINS: &[&str] = &[
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf",
    "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
];

/// Whether `name` is one of Go's builtin template functions.
pub fn is_builtin(name: &str) -> bool {
    BUILTINS.contains(&name)
}

/// The engine's own functions (Helm's engine closures).
const ENGINE_FUNCS: &[&str] = &["include", "tpl", "lookup"];

/// The function table: Helm's functions over Sprig's.
pub struct FuncTable {
    map: HashMap<&'static str, FuncSpec, BuildHasherDefault<Fnv1a>>,
}

/// FNV-1a: function names are short and every identifier of every
/// template is looked up (at parse and at each call). The table's keys are
/// rudder's own, so a fast non-keyed hash is safe here.
#[derive(Default)]
pub struct Fnv1a(u64);

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

impl FuncTable {
    /// Sprig's functions, overridden by Helm's.
    pub fn standard() -> FuncTable {
        let mut t = FuncTable::from_specs(crate::render::sprig::functions());
        t.extend(crate::render::helmfuncs::functions());
        t
    }

    pub fn from_specs(specs: &[FuncSpec]) -> FuncTable {
        let mut t = FuncTable {
            map: HashMap::default(),
        };
        t.extend(specs);
        t
    }

    pub fn extend(&mut self, specs: &[FuncSpec]) {
        for s in specs {
            self.map.insert(s.name, *s);
        }
    }

    pub fn get(&self, name: &str) -> Option<&FuncSpec> {
        self.map.get(name)
    }

    /// Whether a table function replaces the engine's function of that name.
    pub fn overrides(&self, _name: &str) -> bool {
        false
    }

    /// Whether templates may call `name` (parse-time check, as Go's).
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name) || is_builtin(name) || ENGINE_FUNCS.contains(&name)
    }
}

/// All templates of one render, sharing one namespace of `define`s.
pub struct TemplateSet {
    ns: Namespace<'static>,
    funcs: FuncTable,
    counts: RefCell<HashMap<String, usize>>,
    step_limit: Option<u64>,
    lookup: Option<std::sync::Arc<dyn Lookup>>,
}

impl Default for TemplateSet {
    fn default() -> Self {
        TemplateSet::new()
    }
}

impl TemplateSet {
    /// An empty set with Helm's function table.
    pub fn new() -> TemplateSet {
        TemplateSet::with_funcs(FuncTable::standard())
    }

    /// An empty set with the given function table.
    pub fn with_funcs(funcs: FuncTable) -> TemplateSet {
        TemplateSet {
            ns: Namespace {
                local: HashMap::new(),
                parent: None,
            },
            funcs,
            counts: RefCell::new(HashMap::new()),
            step_limit: None,
            lookup: None,
        }
    }

    /// Parses file `name` (its top-level template and its `define`s/`block`s)
    /// into the set; definitions replace earlier ones of the same name
    /// unless the new one is empty (Go's `AddParseTree`).
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), TemplateError> {
        self.parse_shared(name, &std::rc::Rc::from(text))
    }

    /// [`TemplateSet::parse`] of text already held in an `Rc` (not copied).
    pub fn parse_shared(
        &mut self,
        name: &str,
        text: &std::rc::Rc<str>,
    ) -> Result<(), TemplateError> {
        let funcs = &self.funcs;
        let trees = parse::parse_shared(name, text, &|n| funcs.has(n));
        self.add_parsed(name, trees)
    }

    /// Adds file `name` as parsed elsewhere (with this set's functions), as
    /// [`TemplateSet::parse`] would.
    pub fn add_parsed(
        &mut self,
        name: &str,
        trees: Result<HashMap<std::rc::Rc<str>, std::rc::Rc<parse::Tree>>, parse::ParseError>,
    ) -> Result<(), TemplateError> {
        let trees = trees.map_err(|e| TemplateError::Parse {
            file: name.to_string(),
            go: e.0,
        })?;
        for (tname, tree) in trees {
            if parse::is_empty_list(&tree.root) && self.ns.local.contains_key(&tname) {
                continue;
            }
            self.ns.local.insert(tname, tree);
        }
        Ok(())
    }

    /// The set's function table.
    pub fn funcs(&self) -> &FuncTable {
        &self.funcs
    }

    /// Bounds each execution to `steps` walked nodes (Helm has no such
    /// bound; for untrusted input such as fuzzing). Exceeding it is an error.
    pub fn set_step_limit(&mut self, steps: Option<u64>) {
        self.step_limit = steps;
    }

    /// The cluster `lookup` reads; `None` (the default) makes every
    /// lookup an empty map, as `helm template` does.
    pub fn set_lookup(&mut self, cluster: Option<std::sync::Arc<dyn Lookup>>) {
        self.lookup = cluster;
    }

    /// Whether a template of that name exists.
    pub fn has_template(&self, name: &str) -> bool {
        self.ns.local.contains_key(name)
    }

    /// Executes template `name` with `data`, as Helm's engine does for each
    /// file: the output with every `<no value>` removed.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, TemplateError> {
        self.execute_raw(name, data).map(|s| {
            if s.contains("<no value>") {
                s.replace("<no value>", "")
            } else {
                s
            }
        })
    }

    /// Executes template `name` with `data`, keeping Go's `<no value>` marks.
    pub fn execute_raw(&self, name: &str, data: &Value) -> Result<String, TemplateError> {
        let depth = Cell::new(0);
        let steps = Cell::new(self.step_limit.unwrap_or(u64::MAX));
        let env = Env {
            ns: &self.ns,
            funcs: &self.funcs,
            counts: &self.counts,
            depth: &depth,
            steps: &steps,
            lookup: self.lookup.as_deref(),
        };
        exec::execute_named(&env, name, data).map_err(|err| TemplateError::Exec {
            file: name.to_string(),
            err,
        })
    }
}

#[cfg(test)]
mod tests;
