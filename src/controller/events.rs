//! Kubernetes Events about rudder's objects: one publisher for both
//! reconcilers, reporting as controller `rudder`, notes cut to the API's
//! 1 KiB limit on a character boundary. A failed publish is logged, never
//! fatal to a reconcile.

use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource};

/// The reporting controller named on every event.
pub const REPORTER: &str = "rudder";

/// Longest note the events API accepts.
const NOTE_MAX: usize = 1000;

/// Publishes an event about `obj`.
pub async fn publish<K>(
    client: &Client,
    obj: &K,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) where
    K: Resource<DynamicType = ()>,
{
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: REPORTER.into(),
            instance: None,
        },
    );
    let event = Event {
        type_,
        reason: reason.into(),
        note: Some(truncate(note, NOTE_MAX)),
        action: action.into(),
        secondary: None,
    };
    if let Err(e) = recorder.publish(&event, &obj.object_ref(&())).await {
        tracing::warn!(error = %e, reason, "publishing an event failed");
    }
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("short".into(), 10), "short");
        // "é" is two bytes: a cut at 3 would split the second one.
        assert_eq!(truncate("éé".into(), 3), "é");
        assert_eq!(truncate("x".repeat(2000), NOTE_MAX).len(), NOTE_MAX);
    }
}
