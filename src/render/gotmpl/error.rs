//! Template errors: Go's error chains (each layer's full `Error()` text and
//! the error it wraps) and Helm's rewriting of them into its final messages
//! (`engine.go`: `cleanupParseError`, `reformatExecErrorMsg`).

/// Where the text of a `fail`/`required` warning starts and ends in an
/// error chain (Helm's `warnWrap`).
pub const WARN_START: &str = "HELM_ERR_START";
pub const WARN_END: &str = "HELM_ERR_END";

/// One Go error with the error it wraps (`%w`), if any.
#[derive(Debug, Clone, PartialEq)]
pub struct GoError {
    /// The complete `Error()` text (includes the wrapped errors' texts).
    pub text: String,
    /// The wrapped error (`errors.Unwrap`).
    pub cause: Option<Box<GoError>>,
    /// Whether this is a `template.ExecError`.
    pub exec: bool,
}

/// A template failure, displayed with Helm's final wording.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    /// A syntax error while parsing file `file`.
    #[error("{}", helm_parse_message(file, go))]
    Parse { file: String, go: String },
    /// A failure while executing template `file`.
    #[error("{}", helm_exec_message(file, err))]
    Exec { file: String, err: GoError },
}

impl TemplateError {
    /// Go's own error text (what `text/template` returned, before Helm's rewriting).
    pub fn go_text(&self) -> &str {
        match self {
            TemplateError::Parse { go, .. } => go,
            TemplateError::Exec { err, .. } => &err.text,
        }
    }
}

/// Helm's `cleanupParseError`.
pub fn helm_parse_message(file: &str, go: &str) -> String {
    let tokens: Vec<&str> = go.split(": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({file}): {go}");
    }
    format!(
        "parse error at ({}): {}",
        tokens[1],
        tokens[tokens.len() - 1]
    )
}

/// Helm's `warnRegex` (`HELM_ERR_START((?s).*)HELM_ERR_END`).
fn warn_message(s: &str) -> Option<&str> {
    let start = s.find(WARN_START)? + WARN_START.len();
    let end = s.rfind(WARN_END)?;
    if end < start {
        return None;
    }
    Some(&s[start..end])
}

#[derive(PartialEq, Default)]
struct Traceable {
    location: String,
    message: String,
    executed_function: String,
}

impl Traceable {
    fn render(&self, out: &mut String) {
        if !self.location.is_empty() {
            out.push_str(&self.location);
            out.push_str("\n  ");
        }
        if !self.executed_function.is_empty() {
            out.push_str(&self.executed_function);
            out.push_str("\n    ");
        }
        if !self.message.is_empty() {
            out.push_str(&self.message);
            out.push('\n');
        }
    }
}

fn cut_template(msg: &str) -> &str {
    match msg.find(" template:") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// Helm's `parseTemplateExecErrorString`.
fn parse_traceable(s: &str) -> Option<Traceable> {
    let remainder = s.strip_prefix("template: ")?;
    if remainder.starts_with("no template ") {
        return Some(Traceable {
            message: s.to_string(),
            ..Default::default()
        });
    }
    if let Some(t) = parse_executing(remainder) {
        return Some(t);
    }
    let sep = remainder.rfind(": ")?;
    Some(Traceable {
        location: remainder[..sep].to_string(),
        message: cut_template(&remainder[sep + 2..]).to_string(),
        ..Default::default()
    })
}

fn parse_executing(remainder: &str) -> Option<Traceable> {
    let idx = remainder.find(": executing ")?;
    let template_name = &remainder[..idx];
    let after = &remainder[idx + ": executing ".len()..];
    let after = after.strip_prefix('"')?;
    let end_quote = after.find('"')?;
    let function_name = &after[..end_quote];
    let after_func = &after[end_quote + 1..];
    let after_at = after_func.strip_prefix(" at <")?;
    let end_loc = after_at.find(">: ")?;
    let location_name = &after_at[..end_loc];
    let err_msg = &after_at[end_loc + 3..];
    Some(Traceable {
        location: template_name.to_string(),
        message: cut_template(err_msg).to_string(),
        executed_function: format!("executing \"{function_name}\" at <{location_name}>:"),
    })
}

/// Helm's `reformatExecErrorMsg`.
pub fn helm_exec_message(file: &str, err: &GoError) -> String {
    if !err.exec {
        return err.text.clone();
    }
    let tokens: Vec<&str> = err.text.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return format!("execution error in ({file}): {}", err.text);
    }
    if let Some(msg) = warn_message(tokens[2]) {
        return format!("execution error at ({}): {msg}", tokens[1]);
    }
    let mut layers: Vec<Traceable> = vec![];
    let mut current = Some(err);
    while let Some(e) = current {
        match parse_traceable(&e.text) {
            Some(t) => {
                if layers.last() != Some(&t) {
                    layers.push(t);
                }
            }
            None => return err.text.clone(),
        }
        current = e.cause.as_deref();
    }
    let mut out = String::new();
    for l in &layers {
        l.render(&mut out);
    }
    out.trim().to_string()
}
