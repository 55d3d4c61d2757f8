//! The status condition shared by both kinds, shaped like Kubernetes'
//! `metav1.Condition` so `kubectl wait --for=condition=Ready` works.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Condition type: the object is reconciled and its last reconciliation succeeded.
pub const READY: &str = "Ready";
/// Condition type (HelmRelease): the desired revision is installed.
pub const RELEASED: &str = "Released";
/// Condition type: a reconciliation is in progress.
pub const RECONCILING: &str = "Reconciling";
/// Condition type: reconciliation cannot make progress without a spec change.
pub const STALLED: &str = "Stalled";
/// Condition type (HelmRelease): the live revision's tests passed.
pub const TEST_SUCCESS: &str = "TestSuccess";
/// Condition type (HelmRelease): a failure was remediated (rolled back or
/// uninstalled).
pub const REMEDIATED: &str = "Remediated";
/// Condition type (HelmRelease): objects of the deployed revision were
/// changed or deleted by someone else (written by drift detection under
/// its own field manager).
pub const DRIFTED: &str = "Drifted";

/// One aspect of the object's current state.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Type of condition in CamelCase, e.g. `Ready`.
    #[schemars(length(min = 1, max = 316))]
    #[serde(rename = "type")]
    pub type_: String,
    /// Status of the condition: one of True, False, Unknown.
    pub status: ConditionStatus,
    /// Machine-readable CamelCase reason for the last transition.
    #[serde(default)]
    pub reason: String,
    /// Human-readable details about the last transition.
    #[serde(default)]
    pub message: String,
    /// When the condition last changed status (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: String,
    /// The `metadata.generation` this condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
}

/// Value of [`Condition::status`].
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// It is not known whether the condition holds.
    Unknown,
}
