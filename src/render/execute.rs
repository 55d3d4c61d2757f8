//! Executes the queued templates of a chart tree: Go templates through
//! [`crate::render::gotmpl`] (one template set, Helm's parse/execute order,
//! Helm's error clean-up) and `engine: tera` charts through
//! [`crate::render::tera`].
//!
//! Helm rewrites Go's template errors before printing them
//! (`cleanupParseError`, `reformatExecErrorMsg` in pkg/engine/engine.go);
//! [`cleanup_parse_error`] and [`reformat_exec_error`] reproduce that from
//! Go's error text, walking the chain of `error calling NAME: ...` wrappers
//! the way Helm walks `errors.Unwrap`.

use crate::godata::named;
use crate::godata::value::{Map, Value};
use crate::render::gotmpl::TemplateSet;
use crate::render::gotmpl::parse::{self, ParseError, Tree};
use crate::render::job::{RenderError, Teardown, TemplateJob};
use crate::render::lookup::Lookup;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// A file's parsed templates.
type Trees = HashMap<Rc<str>, Rc<Tree>>;

/// Parsed files kept by a rendering thread, keyed by the address of the
/// file's text and its name; the entry holds the text, so the address
/// stays its own. A chart kept loaded (the operator's render threads)
/// shares its template texts with every render of it, so each file is
/// parsed once; a text seen for the first time is parsed. Parse trees are
/// immutable and shared; the function table is the same for every set.
#[derive(Default)]
struct ParseCache {
    files: HashMap<(usize, String), (Rc<str>, Trees)>,
}

/// Files kept per thread; past this the cache starts over.
const PARSE_CACHE_FILES: usize = 8192;

thread_local! {
    static PARSED: RefCell<ParseCache> = RefCell::new(ParseCache::default());
    /// Files this thread parsed (cache hits do not count).
    static PARSES: Cell<u64> = const { Cell::new(0) };
}

/// How many template files the calling thread has parsed.
pub fn parses_on_this_thread() -> u64 {
    PARSES.with(Cell::get)
}

/// The trees of file `name` with `text`: from this thread's cache, else
/// parsed (and kept when the parse succeeded).
fn parse_cached(set: &TemplateSet, name: &str, text: &Rc<str>) -> Result<Trees, ParseError> {
    let key = (Rc::as_ptr(text) as *const u8 as usize, name.to_string());
    let hit = PARSED.with(|c| c.borrow().files.get(&key).map(|(_, t)| t.clone()));
    if let Some(trees) = hit {
        return Ok(trees);
    }
    PARSES.with(|p| p.set(p.get() + 1));
    let funcs = set.funcs();
    let trees = parse::parse_shared(name, text, &|n| funcs.has(n))?;
    PARSED.with(|c| {
        let mut c = c.borrow_mut();
        if c.files.len() >= PARSE_CACHE_FILES {
            c.files.clear();
        }
        c.files.insert(key, (text.clone(), trees.clone()));
    });
    Ok(trees)
}

/// Renders every job, handing each non-partial's output (template name,
/// text) to `sink` as soon as it is made; Go templates' `lookup` reads
/// `cluster` (none: empty maps, as `helm template`).
pub fn render_jobs(
    jobs: Vec<TemplateJob>,
    teardown: Teardown,
    cluster: Option<Arc<dyn Lookup>>,
    sink: &mut dyn FnMut(String, String),
) -> Result<(), RenderError> {
    let (tera_jobs, go_jobs): (Vec<&TemplateJob>, Vec<&TemplateJob>) =
        jobs.iter().partition(|j| j.tera);
    if !go_jobs.is_empty() {
        render_go(&go_jobs, teardown, cluster, sink)?;
    }
    if !tera_jobs.is_empty() {
        for (name, text) in crate::render::tera::render(&tera_jobs)? {
            sink(name, text);
        }
    }
    if teardown == Teardown::LeaveToExit {
        std::mem::forget(jobs);
        return Ok(());
    }
    // The contexts hold `.Values`, which may be nested thousands deep.
    for job in jobs {
        job.context.drop_deep();
    }
    Ok(())
}

/// Renders Go-template jobs as Helm's engine does: every file parsed into
/// one set in Helm's order, then every non-partial executed in that order
/// with `Template` set in its chart's shared context.
fn render_go(
    jobs: &[&TemplateJob],
    teardown: Teardown,
    cluster: Option<Arc<dyn Lookup>>,
    sink: &mut dyn FnMut(String, String),
) -> Result<(), RenderError> {
    let by_name: std::collections::HashMap<&str, &TemplateJob> =
        jobs.iter().map(|j| (j.name.as_str(), *j)).collect();
    let mut names: Vec<String> = by_name.keys().map(|n| n.to_string()).collect();
    crate::render::job::sort_template_names(&mut names);
    let mut set = TemplateSet::new();
    set.set_lookup(cluster);
    for n in &names {
        let trees = parse_cached(&set, n, &by_name[n.as_str()].text);
        set.add_parsed(n, trees)
            .map_err(|e| RenderError::Template(e.to_string()))?;
    }
    for n in names {
        if n.rsplit('/').next().is_some_and(|b| b.starts_with('_')) {
            continue;
        }
        let job = by_name[n.as_str()];
        if let Some(m) = job.context.as_map() {
            let mut t = Map::new();
            t.insert("Name".into(), Value::str(n.as_str()));
            t.insert("BasePath".into(), Value::str(job.base_path.as_str()));
            m.borrow_mut()
                .insert("Template".into(), named::new_values(t));
        }
        let text = set
            .execute(&n, &job.context)
            .map_err(|e| RenderError::Template(e.to_string()))?;
        sink(n, text);
    }
    if teardown == Teardown::LeaveToExit {
        std::mem::forget(set);
    }
    Ok(())
}

/// Helm's `cleanupParseError`.
pub fn cleanup_parse_error(filename: &str, msg: &str) -> String {
    let tokens: Vec<&str> = msg.split(": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({filename}): {msg}");
    }
    format!(
        "parse error at ({}): {}",
        tokens[1],
        tokens[tokens.len() - 1]
    )
}

/// One level of Helm's `TraceableError`.
#[derive(Debug, Clone, PartialEq, Default)]
struct Traceable {
    location: String,
    message: String,
    executed_function: String,
}

impl Traceable {
    fn render(&self) -> String {
        let mut s = String::new();
        if !self.location.is_empty() {
            s.push_str(&self.location);
            s.push_str("\n  ");
        }
        if !self.executed_function.is_empty() {
            s.push_str(&self.executed_function);
            s.push_str("\n    ");
        }
        if !self.message.is_empty() {
            s.push_str(&self.message);
            s.push('\n');
        }
        s
    }
}

fn cut_template(msg: &str) -> &str {
    match msg.find(" template:") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// Parses one error text; returns the level and the full (uncut) message
/// after the location, from which a wrapped error may continue.
fn parse_traceable(s: &str) -> Option<(Traceable, Option<&str>)> {
    let remainder = s.strip_prefix("template: ")?;
    if remainder.starts_with("no template ") {
        return Some((
            Traceable {
                message: s.to_string(),
                ..Default::default()
            },
            None,
        ));
    }
    if let Some(idx) = remainder.find(": executing ") {
        let template_name = &remainder[..idx];
        let after = &remainder[idx + ": executing ".len()..];
        if !after.starts_with('"') {
            return None;
        }
        let end_quote = after[1..].find('"')? + 1;
        let function_name = &after[1..end_quote];
        let after_func = &after[end_quote + 1..];
        let after_at = after_func.strip_prefix(" at <")?;
        let end_loc = after_at.find(">: ")?;
        let location_name = &after_at[..end_loc];
        let full_msg = &after_at[end_loc + 3..];
        return Some((
            Traceable {
                location: template_name.to_string(),
                message: cut_template(full_msg).to_string(),
                executed_function: format!("executing \"{function_name}\" at <{location_name}>:"),
            },
            Some(full_msg),
        ));
    }
    let sep = remainder.rfind(": ")?;
    Some((
        Traceable {
            location: remainder[..sep].to_string(),
            message: cut_template(&remainder[sep + 2..]).to_string(),
            ..Default::default()
        },
        None,
    ))
}

/// The error wrapped by Go's `error calling NAME: %w`, if `msg` is one.
fn wrapped(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("error calling ")?;
    let i = rest.find(": ")?;
    Some(&rest[i + 2..])
}

/// Extracts the text between Helm's `HELM_ERR_START`/`HELM_ERR_END`
/// markers (`fail`, `required`), greedy as Helm's regexp is.
fn warn_text(s: &str) -> Option<&str> {
    let start = s.find("HELM_ERR_START")? + "HELM_ERR_START".len();
    let end = s.rfind("HELM_ERR_END")?;
    (end >= start).then(|| &s[start..end])
}

/// Helm's `reformatExecErrorMsg` for a Go execution error text.
pub fn reformat_exec_error(filename: &str, msg: &str) -> String {
    let tokens: Vec<&str> = msg.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return format!("execution error in ({filename}): {msg}");
    }
    if let Some(w) = warn_text(tokens[2]) {
        return format!("execution error at ({}): {w}", tokens[1]);
    }
    let mut levels: Vec<Traceable> = Vec::new();
    let mut cur = msg;
    loop {
        let Some((tr, full)) = parse_traceable(cur) else {
            return msg.to_string();
        };
        if levels.last() != Some(&tr) {
            levels.push(tr);
        }
        match full.and_then(wrapped) {
            Some(inner) => cur = inner,
            None => break,
        }
    }
    let joined: String = levels.iter().map(Traceable::render).collect();
    joined.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_like_helm() {
        assert_eq!(
            cleanup_parse_error(
                "x",
                "template: undefined_function:1: function \"foo\" not defined"
            ),
            "parse error at (undefined_function:1): function \"foo\" not defined"
        );
    }

    #[test]
    fn required_and_fail_like_helm() {
        let msg = "template: missing_required_with_colons:1:2: executing \"missing_required_with_colons\" at <required \":this: message: has many: colons:\" .Values.doesNotExist>: error calling required: HELM_ERR_START:this: message: has many: colons:HELM_ERR_END";
        assert_eq!(
            reformat_exec_error("missing_required_with_colons", msg),
            "execution error at (missing_required_with_colons:1:2): :this: message: has many: colons:"
        );
    }

    #[test]
    fn nested_includes_make_a_stack() {
        let msg = "template: N/templates/svc.yaml:1:9: executing \"N/templates/svc.yaml\" at <include \"nested_helper.name\" .>: error calling include: template: N/templates/_helpers_1.tpl:1:39: executing \"nested_helper.name\" at <include \"common.names.get_name\" .>: error calling include: template: N/charts/common/templates/_helpers_2.tpl:1:49: executing \"common.names.get_name\" at <.Values.nonexistant.key>: nil pointer evaluating interface {}.key";
        let want = "N/templates/svc.yaml:1:9\n  executing \"N/templates/svc.yaml\" at <include \"nested_helper.name\" .>:\n    error calling include:\nN/templates/_helpers_1.tpl:1:39\n  executing \"nested_helper.name\" at <include \"common.names.get_name\" .>:\n    error calling include:\nN/charts/common/templates/_helpers_2.tpl:1:49\n  executing \"common.names.get_name\" at <.Values.nonexistant.key>:\n    nil pointer evaluating interface {}.key";
        assert_eq!(reformat_exec_error("N/templates/svc.yaml", msg), want);
    }

    #[test]
    fn no_template_error_ends_the_stack() {
        let msg = "template: multiline/templates/svc.yaml:1:9: executing \"multiline/templates/svc.yaml\" at <include \"nested_helper.name\" .>: error calling include: template: no template \"nested_helper.name\" associated with template \"gotpl\"";
        let want = "multiline/templates/svc.yaml:1:9\n  executing \"multiline/templates/svc.yaml\" at <include \"nested_helper.name\" .>:\n    error calling include:\ntemplate: no template \"nested_helper.name\" associated with template \"gotpl\"";
        assert_eq!(reformat_exec_error("x", msg), want);
    }

    #[test]
    fn plain_function_errors_stay_as_go_prints_them() {
        let msg = "template: c/templates/a.yaml:1:3: executing \"c/templates/a.yaml\" at <atoi>: error calling atoi: strconv.Atoi: parsing \"x\": invalid syntax";
        assert_eq!(reformat_exec_error("c/templates/a.yaml", msg), msg);
    }
}
