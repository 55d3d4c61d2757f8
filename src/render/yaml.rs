//! YAML as Helm reads and writes it: YAML 1.1 scalar resolution (`yes`/`on`/`y`
//! are booleans) into [`super::value::Value`] trees where every number is a
//! float64, and `toYaml` output identical to Helm's (sigs.k8s.io/yaml).
