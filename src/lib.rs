//! rudder: a Kubernetes operator that makes Helm releases declarative.
//!
//! Modules follow the data's path, each importing only those below it
//! (`tests/layers.rs` fails on an import that runs up, on a cluster client
//! below `release`, and on any import cycle):
//!
//! - [`godata`] — Go's data model: values, JSON, YAML 1.1, `fmt`, semver,
//!   globs. Imports nothing of the crate.
//! - [`chart`] — charts as data: loading, dependencies, values coalescing,
//!   `values.schema.json`.
//! - [`render`] — the Go-template and Tera engines, Sprig and Helm
//!   functions, manifest splitting and ordering: a prepared chart in, text
//!   out.
//! - [`action`] — Helm's prepare + render (what `helm template` does).
//! - [`repo`] — chart repositories: indexes, verified archives, OCI.
//! - [`api`] — the CRD types.
//! - [`release`] — revision records in Helm's storage format; [`apply`] —
//!   server-side apply, prune, wait, hooks.
//! - [`controller`] — the reconcilers, status, events, metrics; [`cli`] —
//!   the commands.
//!
//! `godata`, `chart`, `render`, `action` and `repo` never talk to the
//! cluster.

// No `unsafe` anywhere: memory safety is the compiler's to check.
#![forbid(unsafe_code)]

pub mod action;
pub mod api;
pub mod apply;
pub mod chart;
pub mod cli;
pub mod controller;
pub mod godata;
pub mod release;
pub mod render;
pub mod repo;
