//! Manifests after rendering: splitting documents, reading heads, Helm v4's
//! install order by kind, hooks by weight, and `helm template`'s output format.
