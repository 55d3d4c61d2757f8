//! Rendering charts exactly as Helm v4 does: our own Go text/template engine
//! ([`gotmpl`]), Sprig and Helm functions ([`sprig`], [`helmfuncs`]), YAML and JSON
//! as Helm reads and writes them ([`yaml`], [`json`]), the Tera engine for
//! `engine: tera` charts ([`tera`]) and manifest splitting/ordering ([`manifest`]).
//! Nothing here talks to the cluster.

pub mod context;
pub mod driver;
pub mod funcs;
pub mod gofmt;
pub mod gotmpl;
mod headscan;
pub mod helmfuncs;
pub mod json;
pub mod manifest;
pub mod run;
pub mod sprig;
pub mod tera;
pub mod toml;
pub mod value;
pub mod yaml;
