//! What "ready" means for one object ([`Readiness`], which the kstatus
//! rules in `ready` and these expressions both answer), and health
//! expressions for kinds kstatus cannot read: per kind, CEL
//! expressions over the live object's top-level fields (`status`,
//! `metadata`, `spec`, …), as Flux's `healthCheckExprs`. `failed` is
//! checked first, then `current`; an expression that cannot be evaluated
//! yet (a status field not written) leaves the object in progress.

use cel_interpreter::{Context, Program, Value};
use serde_json::Value as Json;

/// Where an object stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Readiness {
    Ready,
    /// Not yet; the text says why.
    Pending(String),
    /// Will not get ready (a failed Job or Pod, a stalled rollout).
    Failed(String),
}

/// One kind's expressions, as the user wrote them.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthExpr {
    pub api_version: String,
    pub kind: String,
    pub current: String,
    pub failed: Option<String>,
}

/// Compiled expressions, by kind.
#[derive(Default)]
pub struct HealthRules {
    rules: Vec<Compiled>,
}

struct Compiled {
    api_version: String,
    kind: String,
    current: (String, Program),
    failed: Option<(String, Program)>,
}

/// An expression that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("health check for {kind} ({api_version}): expression {expr:?} does not compile: {message}")]
pub struct HealthExprError {
    pub api_version: String,
    pub kind: String,
    pub expr: String,
    pub message: String,
}

impl HealthRules {
    /// Compiles every expression; the first that does not compile is the
    /// error.
    pub fn compile(exprs: &[HealthExpr]) -> Result<HealthRules, HealthExprError> {
        let rules = exprs
            .iter()
            .map(|e| {
                let compile = |src: &str| {
                    Program::compile(src)
                        .map(|p| (src.to_string(), p))
                        .map_err(|err| HealthExprError {
                            api_version: e.api_version.clone(),
                            kind: e.kind.clone(),
                            expr: src.to_string(),
                            message: err.to_string(),
                        })
                };
                Ok(Compiled {
                    api_version: e.api_version.clone(),
                    kind: e.kind.clone(),
                    current: compile(&e.current)?,
                    failed: e.failed.as_deref().map(compile).transpose()?,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(HealthRules { rules })
    }

    /// The readiness of `live` when an expression covers its kind.
    pub fn readiness(&self, live: &Json) -> Option<Readiness> {
        let api_version = live.get("apiVersion").and_then(Json::as_str)?;
        let kind = live.get("kind").and_then(Json::as_str)?;
        let rule = self
            .rules
            .iter()
            .find(|r| r.api_version == api_version && r.kind == kind)?;
        Some(rule.judge(live))
    }
}

impl Compiled {
    fn judge(&self, live: &Json) -> Readiness {
        let mut ctx = Context::default();
        if let Some(fields) = live.as_object() {
            for (k, v) in fields {
                if let Err(e) = ctx.add_variable(k.as_str(), v.clone()) {
                    return Readiness::Pending(format!("reading field {k}: {e}"));
                }
            }
        }
        if let Some((src, p)) = &self.failed
            && let Ok(true) = holds(p, &ctx)
        {
            return Readiness::Failed(format!("health check failed: {src}"));
        }
        let (src, p) = &self.current;
        match holds(p, &ctx) {
            Ok(true) => Readiness::Ready,
            Ok(false) => Readiness::Pending(format!("health check {src} does not hold yet")),
            Err(why) => Readiness::Pending(format!("health check {src}: {why}")),
        }
    }
}

/// Whether a boolean expression holds (an error when it is not boolean or
/// cannot be evaluated).
fn holds(p: &Program, ctx: &Context) -> Result<bool, String> {
    match p.execute(ctx) {
        Ok(Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("gives {other:?}, not a bool")),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> HealthRules {
        HealthRules::compile(&[HealthExpr {
            api_version: "example.com/v1".into(),
            kind: "Widget".into(),
            current: "status.conditions.filter(c, c.type == 'Ready').all(c, c.status == 'True') || status.phase == 'Done'".into(),
            failed: Some("status.phase == 'Broken'".into()),
        }])
        .expect("compile")
    }

    fn widget(status: Json) -> Json {
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "status": status})
    }

    #[test]
    fn expressions_decide_ready_failed_and_pending() {
        let r = rules();
        let ready =
            widget(json!({"conditions": [{"type": "Ready", "status": "False"}], "phase": "Done"}));
        assert_eq!(r.readiness(&ready), Some(Readiness::Ready));
        let broken = widget(json!({"conditions": [], "phase": "Broken"}));
        assert!(matches!(r.readiness(&broken), Some(Readiness::Failed(_))));
        let waiting = widget(
            json!({"conditions": [{"type": "Ready", "status": "False"}], "phase": "Working"}),
        );
        assert!(matches!(r.readiness(&waiting), Some(Readiness::Pending(_))));
        // No status yet: the expressions cannot be evaluated, so it waits.
        let fresh = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {}});
        assert!(matches!(r.readiness(&fresh), Some(Readiness::Pending(_))));
        let other = json!({"apiVersion": "v1", "kind": "ConfigMap"});
        assert_eq!(r.readiness(&other), None);
    }

    #[test]
    fn a_bad_expression_is_refused_with_its_kind() {
        let err = HealthRules::compile(&[HealthExpr {
            api_version: "v1".into(),
            kind: "Thing".into(),
            current: "status.(".into(),
            failed: None,
        }])
        .err()
        .expect("error");
        assert!(err.to_string().contains("Thing"), "{err}");
    }
}
