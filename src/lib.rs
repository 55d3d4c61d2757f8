//! rudder: a Kubernetes operator that makes Helm releases declarative.
//!
//! Modules follow the data's path: [`api`] (CRD types) → [`repo`] (chart
//! repositories) → [`chart`] (loading, dependencies, values) → [`render`]
//! (Go-template and Tera engines, Helm/Sprig functions, manifest ordering) →
//! [`release`] (revision records in Helm's storage format) → [`apply`]
//! (server-side apply, prune, wait, hooks) → [`controller`] (reconcilers,
//! status, events, metrics). `render` and `chart` never talk to the cluster.

pub mod api;
pub mod apply;
pub mod chart;
pub mod cli;
pub mod controller;
pub mod release;
pub mod render;
pub mod repo;
