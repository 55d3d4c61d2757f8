//! `values.schema.json` validation of the coalesced values of a chart and
//! its subcharts, with Helm's error listing (santhosh-tekuri/jsonschema v6
//! wording, as Helm v4 prints it):
//!
//! ```text
//! mychart:
//! - at '/port': got string, want integer
//! - at '': missing property 'name'
//! ```
//!
//! Whether values are valid is decided by a full JSON Schema
//! implementation (the `jsonschema` crate: draft-07, 2019-09 and 2020-12,
//! chosen by `$schema`, 2020-12 by default as in Helm v4; `format` is an
//! annotation, as there). The error text is Helm's, written by a walker
//! that knows santhosh-tekuri's wording for the keywords charts use:
//! `type`, `enum`, `const`, numeric and string bounds, `pattern`, `items`
//! (and draft-07 tuples), `prefixItems`, `contains`/`minContains`/
//! `maxContains`, `minItems`, `maxItems`, `uniqueItems`, `required`,
//! `dependentRequired`, `properties`, `patternProperties`,
//! `additionalProperties`, `propertyNames`, `minProperties`,
//! `maxProperties`, `allOf`/`anyOf`/`oneOf`/`not`, `if`/`then`/`else` and
//! local `$ref`s. A failure the walker cannot word is listed as the
//! validator reports it. A `$ref` that resolves nowhere fails as Helm's
//! compiler does.

use serde_json::Value as Json;

use super::Chart;
use crate::godata::value::Value;

/// One validation failure, possibly with causes (nested output).
#[derive(Debug, Clone)]
struct Failure {
    at: String,
    message: String,
    causes: Vec<Failure>,
}

/// Validates `values` against the schemas of `chart` and its subcharts; the
/// error is Helm's listing (chart name, then the failures).
pub fn validate(chart: &Chart, values: &Value) -> Result<(), String> {
    let mut out = String::new();
    if let Some(schema) = &chart.schema
        && let Err(e) = validate_single(values, schema)
    {
        out.push_str(&format!("{}:\n{e}", chart.name()));
    }
    for sub in &chart.dependencies {
        let raw = values
            .as_map()
            .and_then(|m| m.borrow().get(sub.name()).cloned());
        match raw {
            None | Some(Value::Nil) => {}
            Some(v @ Value::Map(..)) => {
                if let Err(e) = validate(sub, &v) {
                    out.push_str(&e);
                }
            }
            Some(other) => out.push_str(&format!(
                "{}:\ninvalid type for values: expected object (map), got {}\n",
                sub.name(),
                other.type_name()
            )),
        }
    }
    if out.is_empty() { Ok(()) } else { Err(out) }
}

/// Validates against one schema document; the error text lists failures.
pub fn validate_single(values: &Value, schema_bytes: &[u8]) -> Result<(), String> {
    let schema: Json = serde_json::from_slice(schema_bytes)
        .map_err(|e| format!("invalid values.schema.json: {e}"))?;
    if let Some(missing) = unresolved_ref(&schema, &schema, 0) {
        return Err(format!(
            "json-pointer in \"file:///values.schema.json{missing}\" not found"
        ));
    }
    let instance = to_json(values);
    let decider = jsonschema::options()
        .build(&schema)
        .map_err(|e| format!("{e}\n"))?;
    if decider.is_valid(&instance) {
        return Ok(());
    }
    let v = Validator { root: &schema };
    let mut failures = Vec::new();
    v.check(&schema, &instance, "", &mut failures, 0);
    let mut s = String::new();
    for f in &failures {
        write_failure(&mut s, f, 0);
    }
    if s.is_empty() {
        // A keyword the walker does not word: the validator's own text.
        for e in decider.iter_errors(&instance) {
            s.push_str(&format!("- at '{}': {e}\n", e.instance_path()));
        }
    }
    Err(s)
}

/// The first local `$ref` (`#...`) of `schema` that points nowhere in
/// `root`, as written.
fn unresolved_ref(root: &Json, schema: &Json, depth: usize) -> Option<String> {
    if depth > 256 {
        return None;
    }
    match schema {
        Json::Object(m) => {
            if let Some(Json::String(r)) = m.get("$ref")
                && r.starts_with('#')
                && (Validator { root }).resolve(r).is_none()
            {
                return Some(r.clone());
            }
            m.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "const" | "enum" | "default" | "examples"))
                .find_map(|(_, v)| unresolved_ref(root, v, depth + 1))
        }
        Json::Array(a) => a.iter().find_map(|v| unresolved_ref(root, v, depth + 1)),
        _ => None,
    }
}

fn write_failure(s: &mut String, f: &Failure, depth: usize) {
    s.push_str(&"  ".repeat(depth));
    s.push_str(&format!("- at '{}': {}\n", f.at, f.message));
    for c in &f.causes {
        write_failure(s, c, depth + 1);
    }
}

/// Values as JSON (numbers keep Go's float64/int distinction).
fn to_json(v: &Value) -> Json {
    match v {
        Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        Value::Str(s) => Json::String(s.to_string()),
        Value::Bytes(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
        Value::List(l) => Json::Array(l.items.iter().map(to_json).collect()),
        Value::Map(_, m) => Json::Object(
            m.borrow()
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        Value::Object(o) => Json::String(o.format()),
    }
}

fn type_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(n) => {
            if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0) {
                "integer"
            } else {
                "number"
            }
        }
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// The type a message names: santhosh-tekuri says `number` for every
/// number (helm: `got number, want string` for `3`), though `3` passes
/// `"type": "integer"`.
fn type_name(v: &Json) -> &'static str {
    match type_of(v) {
        "integer" => "number",
        t => t,
    }
}

fn type_matches(want: &str, v: &Json) -> bool {
    let got = type_of(v);
    got == want || (want == "number" && got == "integer")
}

/// santhosh-tekuri's quoting of values in messages.
fn show(v: &Json) -> String {
    match v {
        Json::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

fn num(v: &Json) -> Option<f64> {
    v.as_f64()
}

fn show_num(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

struct Validator<'a> {
    root: &'a Json,
}

impl<'a> Validator<'a> {
    fn resolve(&self, r: &str) -> Option<&'a Json> {
        let ptr = r.strip_prefix('#')?;
        if ptr.is_empty() {
            return Some(self.root);
        }
        self.root.pointer(
            &ptr.replace("~1", "\u{0}")
                .replace("%25", "%")
                .replace('\u{0}', "~1"),
        )
    }

    fn check(&self, schema: &'a Json, v: &Json, at: &str, out: &mut Vec<Failure>, depth: usize) {
        if depth > 64 {
            return;
        }
        let s = match schema {
            Json::Bool(true) => return,
            Json::Bool(false) => {
                out.push(leaf(at, "false schema".into()));
                return;
            }
            Json::Object(s) => s,
            _ => return,
        };
        let fail = |out: &mut Vec<Failure>, m: String| out.push(leaf(at, m));
        if let Some(Json::String(r)) = s.get("$ref")
            && let Some(target) = self.resolve(r)
        {
            self.check(target, v, at, out, depth + 1);
        }
        match s.get("type") {
            Some(Json::String(t)) if !type_matches(t, v) => {
                fail(out, format!("got {}, want {t}", type_name(v)));
                return;
            }
            Some(Json::Array(ts)) => {
                let names: Vec<&str> = ts.iter().filter_map(|t| t.as_str()).collect();
                if !names.iter().any(|t| type_matches(t, v)) {
                    fail(
                        out,
                        format!("got {}, want {}", type_name(v), names.join(" or ")),
                    );
                    return;
                }
            }
            _ => {}
        }
        if let Some(Json::Array(options)) = s.get("enum")
            && !options.iter().any(|o| json_eq(o, v))
        {
            let shown: Vec<String> = options.iter().map(show).collect();
            fail(out, format!("value must be one of {}", shown.join(", ")));
        }
        if let Some(c) = s.get("const")
            && !json_eq(c, v)
        {
            fail(out, format!("value must be {}", show(c)));
        }
        if let Some(x) = num(v) {
            self.check_number(s, x, at, out);
        }
        if let Json::String(text) = v {
            self.check_string(s, text, at, out);
        }
        if let Json::Array(items) = v {
            self.check_array(s, items, at, out, depth);
        }
        if let Json::Object(obj) = v {
            self.check_object(s, obj, at, out, depth);
        }
        self.check_combinators(s, v, at, out, depth);
    }

    fn check_number(
        &self,
        s: &serde_json::Map<String, Json>,
        x: f64,
        at: &str,
        out: &mut Vec<Failure>,
    ) {
        let bound = |k: &str| s.get(k).and_then(num);
        if let Some(m) = bound("minimum")
            && x < m
        {
            out.push(leaf(
                at,
                format!("minimum: got {}, want {}", show_num(x), show_num(m)),
            ));
        }
        if let Some(m) = bound("maximum")
            && x > m
        {
            out.push(leaf(
                at,
                format!("maximum: got {}, want {}", show_num(x), show_num(m)),
            ));
        }
        if let Some(m) = bound("exclusiveMinimum")
            && x <= m
        {
            out.push(leaf(
                at,
                format!(
                    "exclusiveMinimum: got {}, want {}",
                    show_num(x),
                    show_num(m)
                ),
            ));
        }
        if let Some(m) = bound("exclusiveMaximum")
            && x >= m
        {
            out.push(leaf(
                at,
                format!(
                    "exclusiveMaximum: got {}, want {}",
                    show_num(x),
                    show_num(m)
                ),
            ));
        }
        if let Some(m) = bound("multipleOf")
            && m != 0.0
            && (x / m).fract() != 0.0
        {
            out.push(leaf(
                at,
                format!("{} not multipleOf {}", show_num(x), show_num(m)),
            ));
        }
    }

    fn check_string(
        &self,
        s: &serde_json::Map<String, Json>,
        text: &str,
        at: &str,
        out: &mut Vec<Failure>,
    ) {
        let len = text.chars().count() as u64;
        if let Some(m) = s.get("minLength").and_then(Json::as_u64)
            && len < m
        {
            out.push(leaf(at, format!("minLength: got {len}, want {m}")));
        }
        if let Some(m) = s.get("maxLength").and_then(Json::as_u64)
            && len > m
        {
            out.push(leaf(at, format!("maxLength: got {len}, want {m}")));
        }
        if let Some(Json::String(p)) = s.get("pattern")
            && let Ok(re) = regex::Regex::new(p)
            && !re.is_match(text)
        {
            out.push(leaf(at, format!("'{text}' does not match pattern '{p}'")));
        }
    }

    fn check_array(
        &self,
        s: &serde_json::Map<String, Json>,
        items: &[Json],
        at: &str,
        out: &mut Vec<Failure>,
        depth: usize,
    ) {
        let n = items.len() as u64;
        if let Some(m) = s.get("minItems").and_then(Json::as_u64)
            && n < m
        {
            out.push(leaf(at, format!("minItems: got {n}, want {m}")));
        }
        if let Some(m) = s.get("maxItems").and_then(Json::as_u64)
            && n > m
        {
            out.push(leaf(at, format!("maxItems: got {n}, want {m}")));
        }
        if s.get("uniqueItems") == Some(&Json::Bool(true)) {
            'outer: for i in 0..items.len() {
                for j in i + 1..items.len() {
                    if json_eq(&items[i], &items[j]) {
                        out.push(leaf(at, format!("items at {i} and {j} are equal")));
                        break 'outer;
                    }
                }
            }
        }
        // Tuples: `prefixItems` (2020-12) or an `items` array (draft-07,
        // with `additionalItems`); `items` then covers the rest.
        let (prefix, rest) = match (s.get("prefixItems"), s.get("items")) {
            (Some(Json::Array(p)), rest) => (p.as_slice(), rest),
            (None, Some(Json::Array(p))) => (p.as_slice(), s.get("additionalItems")),
            (_, rest) => (&[][..], rest),
        };
        for (i, item) in items.iter().enumerate() {
            let schema = match prefix.get(i) {
                Some(p) => p,
                None => match rest {
                    Some(r) => r,
                    None => break,
                },
            };
            self.child(schema, item, &format!("{at}/{i}"), out, depth);
        }
        if let Some(c) = s.get("contains") {
            self.check_contains(s, c, items, at, out, depth);
        }
    }

    /// `contains` with `minContains`/`maxContains`.
    fn check_contains(
        &self,
        s: &serde_json::Map<String, Json>,
        contains: &'a Json,
        items: &[Json],
        at: &str,
        out: &mut Vec<Failure>,
        depth: usize,
    ) {
        let mut matched = Vec::new();
        let mut causes = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let mut f = Vec::new();
            self.child(contains, item, &format!("{at}/{i}"), &mut f, depth);
            if f.is_empty() {
                matched.push(i);
            } else {
                causes.extend(f);
            }
        }
        let min = s.get("minContains").and_then(Json::as_u64).unwrap_or(1) as usize;
        let max = s
            .get("maxContains")
            .and_then(Json::as_u64)
            .map(|m| m as usize);
        let shown = || {
            matched
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        if matched.is_empty() && min > 0 {
            let message = if s.contains_key("minContains") {
                format!("min {min} items required to match contains schema, but none matched")
            } else {
                "no items match contains schema".into()
            };
            out.push(Failure {
                at: at.into(),
                message,
                causes,
            });
        } else if matched.len() < min {
            out.push(Failure {
                at: at.into(),
                message: format!(
                    "min {min} items required to match contains schema, but matched {} items at {}",
                    matched.len(),
                    shown()
                ),
                causes,
            });
        } else if let Some(max) = max.filter(|m| matched.len() > *m) {
            out.push(leaf(
                at,
                format!(
                    "max {max} items required to match contains schema, but matched {} items at {}",
                    matched.len(),
                    shown()
                ),
            ));
        }
    }

    fn check_object(
        &self,
        s: &serde_json::Map<String, Json>,
        obj: &serde_json::Map<String, Json>,
        at: &str,
        out: &mut Vec<Failure>,
        depth: usize,
    ) {
        let n = obj.len() as u64;
        if let Some(m) = s.get("minProperties").and_then(Json::as_u64)
            && n < m
        {
            out.push(leaf(at, format!("minProperties: got {n}, want {m}")));
        }
        if let Some(m) = s.get("maxProperties").and_then(Json::as_u64)
            && n > m
        {
            out.push(leaf(at, format!("maxProperties: got {n}, want {m}")));
        }
        if let Some(names) = s.get("propertyNames") {
            for k in obj.keys() {
                let mut f = Vec::new();
                self.check(names, &Json::String(k.clone()), at, &mut f, depth + 1);
                if !f.is_empty() {
                    out.push(Failure {
                        at: at.into(),
                        message: format!("invalid propertyName '{k}'"),
                        causes: f,
                    });
                }
            }
        }
        self.check_dependent_required(s, obj, at, out);
        if let Some(Json::Array(req)) = s.get("required") {
            let missing: Vec<String> = req
                .iter()
                .filter_map(Json::as_str)
                .filter(|k| !obj.contains_key(*k))
                .map(|k| format!("'{k}'"))
                .collect();
            match missing.len() {
                0 => {}
                1 => out.push(leaf(at, format!("missing property {}", missing[0]))),
                _ => out.push(leaf(
                    at,
                    format!("missing properties {}", missing.join(", ")),
                )),
            }
        }
        let props = s.get("properties").and_then(Json::as_object);
        let pattern_props = s.get("patternProperties").and_then(Json::as_object);
        let mut additional = Vec::new();
        for (k, val) in obj {
            let mut matched = false;
            if let Some(ps) = props.and_then(|p| p.get(k)) {
                matched = true;
                self.child(ps, val, &format!("{at}/{}", escape(k)), out, depth);
            }
            for (pat, ps) in pattern_props.into_iter().flatten() {
                if regex::Regex::new(pat).is_ok_and(|re| re.is_match(k)) {
                    matched = true;
                    self.child(ps, val, &format!("{at}/{}", escape(k)), out, depth);
                }
            }
            if !matched {
                additional.push(k);
            }
        }
        match s.get("additionalProperties") {
            Some(Json::Bool(false)) if !additional.is_empty() => {
                let names: Vec<String> = additional.iter().map(|k| format!("'{k}'")).collect();
                out.push(leaf(
                    at,
                    format!("additional properties {} not allowed", names.join(", ")),
                ));
            }
            Some(extra @ Json::Object(_)) => {
                for k in additional {
                    self.child(extra, &obj[k], &format!("{at}/{}", escape(k)), out, depth);
                }
            }
            _ => {}
        }
    }

    /// `dependentRequired` (and draft-07's array form of `dependencies`).
    fn check_dependent_required(
        &self,
        s: &serde_json::Map<String, Json>,
        obj: &serde_json::Map<String, Json>,
        at: &str,
        out: &mut Vec<Failure>,
    ) {
        let rules = s
            .get("dependentRequired")
            .or_else(|| s.get("dependencies"))
            .and_then(Json::as_object);
        for (trigger, needed) in rules.into_iter().flatten() {
            let Json::Array(needed) = needed else {
                continue;
            };
            if !obj.contains_key(trigger) {
                continue;
            }
            let missing: Vec<String> = needed
                .iter()
                .filter_map(Json::as_str)
                .filter(|k| !obj.contains_key(*k))
                .map(|k| format!("'{k}'"))
                .collect();
            if !missing.is_empty() {
                out.push(leaf(
                    at,
                    format!(
                        "properties {} required, if '{trigger}' exists",
                        missing.join(", ")
                    ),
                ));
            }
        }
    }

    fn check_combinators(
        &self,
        s: &serde_json::Map<String, Json>,
        v: &Json,
        at: &str,
        out: &mut Vec<Failure>,
        depth: usize,
    ) {
        if let Some(Json::Array(all)) = s.get("allOf") {
            for sub in all {
                self.check(sub, v, at, out, depth + 1);
            }
        }
        if let Some(Json::Array(any)) = s.get("anyOf") {
            let mut causes = Vec::new();
            let ok = any.iter().any(|sub| {
                let mut f = Vec::new();
                self.check(sub, v, at, &mut f, depth + 1);
                let pass = f.is_empty();
                causes.extend(f);
                pass
            });
            if !ok {
                out.push(Failure {
                    at: at.into(),
                    message: "anyOf failed".into(),
                    causes,
                });
            }
        }
        if let Some(Json::Array(one)) = s.get("oneOf") {
            let mut causes = Vec::new();
            let passing: Vec<usize> = one
                .iter()
                .enumerate()
                .filter(|(_, sub)| {
                    let mut f = Vec::new();
                    self.check(sub, v, at, &mut f, depth + 1);
                    let pass = f.is_empty();
                    causes.extend(f);
                    pass
                })
                .map(|(i, _)| i)
                .collect();
            if passing.is_empty() {
                out.push(Failure {
                    at: at.into(),
                    message: "oneOf failed, none matched".into(),
                    causes,
                });
            } else if passing.len() > 1 {
                out.push(leaf(
                    at,
                    format!(
                        "oneOf failed, subschemas {} and {} matched",
                        passing[0], passing[1]
                    ),
                ));
            }
        }
        if let Some(cond) = s.get("if") {
            let mut f = Vec::new();
            self.check(cond, v, at, &mut f, depth + 1);
            let branch = if f.is_empty() {
                s.get("then")
            } else {
                s.get("else")
            };
            if let Some(b) = branch {
                self.check(b, v, at, out, depth + 1);
            }
        }
        if let Some(not) = s.get("not") {
            let mut f = Vec::new();
            self.check(not, v, at, &mut f, depth + 1);
            if f.is_empty() {
                out.push(leaf(at, "not failed".into()));
            }
        }
    }

    /// Validates a child location; several failures nest under
    /// "validation failed" as santhosh-tekuri prints them.
    fn child(&self, schema: &'a Json, v: &Json, at: &str, out: &mut Vec<Failure>, depth: usize) {
        let mut f = Vec::new();
        self.check(schema, v, at, &mut f, depth + 1);
        match f.len() {
            0 => {}
            1 => out.extend(f),
            _ => out.push(Failure {
                at: at.into(),
                message: "validation failed".into(),
                causes: f,
            }),
        }
    }
}

fn leaf(at: &str, message: String) -> Failure {
    Failure {
        at: at.into(),
        message,
        causes: Vec::new(),
    }
}

fn escape(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_failures_like_helm() {
        let schema = br#"{"type":"object","required":["name","port"],"properties":{"port":{"type":"integer","minimum":1},"mode":{"enum":["a","b"]},"obj":{"type":"object","additionalProperties":false,"properties":{"x":{"type":"string","pattern":"^a"}}}}}"#;
        let mut m = crate::godata::value::Map::new();
        m.insert("port".into(), Value::str("x"));
        m.insert("mode".into(), Value::str("c"));
        let mut o = crate::godata::value::Map::new();
        o.insert("x".into(), Value::str("b"));
        o.insert("y".into(), Value::Float(1.0));
        m.insert("obj".into(), Value::map(o));
        let err = validate_single(&Value::map(m), schema).unwrap_err();
        assert_eq!(
            err,
            "- at '': missing property 'name'\n- at '/mode': value must be one of 'a', 'b'\n- at '/obj': validation failed\n  - at '/obj/x': 'b' does not match pattern '^a'\n  - at '/obj': additional properties 'y' not allowed\n- at '/port': got string, want integer\n"
        );
    }
}
