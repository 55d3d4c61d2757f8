//! Leader election through a `coordination.k8s.io/v1` Lease, with client-go's
//! rules: a lease is taken over only after its holder failed to renew it for
//! `leaseDurationSeconds` as timed on *this* process's clock (from when the
//! record was last seen to change), every write is guarded by the Lease's
//! `resourceVersion` (a lost race is a 409 Conflict, never a double leader),
//! and a clean shutdown releases the lease so a standby takes over at once.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio_util::sync::CancellationToken;

/// Timing and identity of one election participant.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// This process's identity, written to `holderIdentity`.
    pub identity: String,
    /// How long a lease is valid after its last renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up leading.
    pub renew_deadline: Duration,
    /// Pause between acquire or renew attempts.
    pub retry_period: Duration,
}

/// A failed call to the API server while electing.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// Reading or writing the Lease failed.
    #[error("lease {namespace}/{name}: {source}")]
    Api {
        /// Lease namespace.
        namespace: String,
        /// Lease name.
        name: String,
        /// The client error.
        source: kube::Error,
    },
}

/// Why [`LeaderElector::lead`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadOutcome {
    /// Shutdown was requested while leading.
    Shutdown,
    /// The lease could not be renewed within the deadline, or another
    /// holder took it.
    Lost,
}

/// The lease record as last seen, and when this process saw it change.
#[derive(Debug, Clone, PartialEq)]
struct Observed {
    holder: Option<String>,
    renew_time: Option<Timestamp>,
    resource_version: Option<String>,
    duration: Duration,
    seen_at: Instant,
}

/// One participant in the election for a Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
    observed: Option<Observed>,
}

impl LeaderElector {
    /// A participant using `client` and `config`.
    pub fn new(client: Client, config: LeaseConfig) -> Self {
        let api = Api::namespaced(client, &config.namespace);
        Self {
            api,
            config,
            observed: None,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &LeaseConfig {
        &self.config
    }

    /// The identity currently recorded as holder, as last observed.
    pub fn observed_holder(&self) -> Option<&str> {
        self.observed.as_ref().and_then(|o| o.holder.as_deref())
    }

    fn api_error(&self, source: kube::Error) -> LeaderError {
        LeaderError::Api {
            namespace: self.config.namespace.clone(),
            name: self.config.name.clone(),
            source,
        }
    }

    /// One acquire-or-renew attempt. `Ok(true)`: this process holds the
    /// lease now. `Ok(false)`: someone else holds a valid lease, or won a
    /// race for it.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, LeaderError> {
        let now = Timestamp::now();
        let Some(lease) = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| self.api_error(e))?
        else {
            return self.create(now).await;
        };
        let spec = lease.spec.clone().unwrap_or_default();
        self.observe(&lease, &spec);
        let mine = spec.holder_identity.as_deref() == Some(self.config.identity.as_str());
        if !mine && self.held_by_other() {
            return Ok(false);
        }
        let new_spec = next_spec(&spec, &self.config, mine, now);
        self.replace(lease.metadata, new_spec).await
    }

    /// Records `lease` as observed, restarting the expiry clock when the
    /// record changed since the last look.
    fn observe(&mut self, lease: &Lease, spec: &LeaseSpec) {
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let renew_time = spec.renew_time.as_ref().map(|t| t.0);
        let resource_version = lease.metadata.resource_version.clone();
        let seconds = spec.lease_duration_seconds.unwrap_or(0).max(0);
        let duration = Duration::from_secs(u64::try_from(seconds).unwrap_or(0));
        let changed = self.observed.as_ref().is_none_or(|o| {
            o.holder != holder
                || o.renew_time != renew_time
                || o.resource_version != resource_version
        });
        if changed {
            self.observed = Some(Observed {
                holder,
                renew_time,
                resource_version,
                duration,
                seen_at: Instant::now(),
            });
        }
    }

    /// Whether the observed record names a holder whose lease has not run
    /// out on our clock.
    fn held_by_other(&self) -> bool {
        self.observed
            .as_ref()
            .is_some_and(|o| o.holder.is_some() && o.seen_at.elapsed() < o.duration)
    }

    async fn create(&mut self, now: Timestamp) -> Result<bool, LeaderError> {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.config.name.clone()),
                namespace: Some(self.config.namespace.clone()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.config.identity.clone()),
                lease_duration_seconds: Some(duration_seconds(self.config.lease_duration)),
                acquire_time: Some(MicroTime(now)),
                renew_time: Some(MicroTime(now)),
                lease_transitions: Some(0),
                ..Default::default()
            }),
        };
        match self.api.create(&PostParams::default(), &lease).await {
            Ok(created) => {
                self.observe_own(&created);
                Ok(true)
            }
            Err(e) if is_status(&e, 409) => Ok(false),
            Err(e) => Err(self.api_error(e)),
        }
    }

    /// Writes `spec` over the Lease whose metadata (with its
    /// `resourceVersion`) we read; a concurrent writer makes this a 409.
    async fn replace(
        &mut self,
        metadata: ObjectMeta,
        spec: LeaseSpec,
    ) -> Result<bool, LeaderError> {
        let lease = Lease {
            metadata,
            spec: Some(spec),
        };
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(updated) => {
                self.observe_own(&updated);
                Ok(true)
            }
            Err(e) if is_status(&e, 409) => Ok(false),
            Err(e) => Err(self.api_error(e)),
        }
    }

    fn observe_own(&mut self, lease: &Lease) {
        let spec = lease.spec.clone().unwrap_or_default();
        self.observed = None;
        self.observe(lease, &spec);
    }

    /// Tries every `retry_period` until this process holds the lease or
    /// `shutdown` fires. `on_standby` is called after the first attempt that
    /// found the lease held elsewhere. Returns false on shutdown.
    pub async fn acquire(
        &mut self,
        shutdown: &CancellationToken,
        mut on_standby: impl FnMut(&str),
    ) -> bool {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => return true,
                Ok(false) => on_standby(self.observed_holder().unwrap_or("")),
                Err(e) => tracing::warn!(error = %e, "leader election attempt failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return false,
                () = tokio::time::sleep(self.config.retry_period) => {}
            }
        }
    }

    /// Renews the held lease every `retry_period` until `shutdown` fires or
    /// renewal fails for longer than `renew_deadline` (or another holder
    /// shows up).
    pub async fn lead(&mut self, shutdown: &CancellationToken) -> LeadOutcome {
        let mut last_renew = Instant::now();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return LeadOutcome::Shutdown,
                () = tokio::time::sleep(self.config.retry_period) => {}
            }
            let attempt =
                tokio::time::timeout(self.config.renew_deadline, self.try_acquire_or_renew());
            match attempt.await {
                Ok(Ok(true)) => last_renew = Instant::now(),
                // A conflict on our own renewal (someone else wrote the
                // Lease, e.g. an annotation) is retried until the deadline;
                // only another holder ends leadership at once.
                Ok(Ok(false)) if self.observed_holder() == Some(self.config.identity.as_str()) => {
                    tracing::warn!("renewing the lease hit a write conflict; retrying");
                }
                Ok(Ok(false)) => {
                    tracing::warn!(
                        holder = self.observed_holder().unwrap_or(""),
                        "lease taken by another holder"
                    );
                    return LeadOutcome::Lost;
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "renewing the lease failed"),
                Err(_) => tracing::warn!("renewing the lease timed out"),
            }
            if last_renew.elapsed() >= self.config.renew_deadline {
                return LeadOutcome::Lost;
            }
        }
    }

    /// Gives the lease up if this process holds it: clears the holder and
    /// shortens the duration to one second, so a standby takes over at its
    /// next attempt.
    pub async fn release(&mut self) -> Result<bool, LeaderError> {
        let Some(lease) = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| self.api_error(e))?
        else {
            return Ok(false);
        };
        let spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(false);
        }
        let now = MicroTime(Timestamp::now());
        let released = LeaseSpec {
            holder_identity: None,
            lease_duration_seconds: Some(1),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            lease_transitions: spec.lease_transitions,
            ..Default::default()
        };
        self.replace(lease.metadata, released).await
    }
}

/// The record this process writes when it renews (`mine`) or takes over
/// `current`: a takeover sets a new acquire time and counts a transition.
fn next_spec(current: &LeaseSpec, config: &LeaseConfig, mine: bool, now: Timestamp) -> LeaseSpec {
    let transitions = current.lease_transitions.unwrap_or(0);
    LeaseSpec {
        holder_identity: Some(config.identity.clone()),
        lease_duration_seconds: Some(duration_seconds(config.lease_duration)),
        acquire_time: if mine {
            current.acquire_time.clone()
        } else {
            Some(MicroTime(now))
        },
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(if mine { transitions } else { transitions + 1 }),
        ..Default::default()
    }
}

fn duration_seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs().max(1)).unwrap_or(i32::MAX)
}

fn is_status(err: &kube::Error, code: u16) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == code)
}

/// This process's identity: `<hostname>_<pid>`.
pub fn default_identity() -> String {
    let host = hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".to_string());
    format!("{host}_{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_seconds_round_down_but_never_to_zero() {
        assert_eq!(duration_seconds(Duration::from_millis(15_900)), 15);
        assert_eq!(duration_seconds(Duration::from_millis(200)), 1);
    }

    fn config() -> LeaseConfig {
        LeaseConfig {
            namespace: "ns".into(),
            name: "lease".into(),
            identity: "me".into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    #[test]
    fn renewal_keeps_acquire_time_and_transitions() {
        let then = MicroTime(Timestamp::UNIX_EPOCH);
        let current = LeaseSpec {
            holder_identity: Some("me".into()),
            acquire_time: Some(then.clone()),
            lease_transitions: Some(4),
            ..Default::default()
        };
        let now = Timestamp::now();
        let next = next_spec(&current, &config(), true, now);
        assert_eq!(next.acquire_time, Some(then));
        assert_eq!(next.renew_time, Some(MicroTime(now)));
        assert_eq!(next.lease_transitions, Some(4));
        assert_eq!(next.lease_duration_seconds, Some(15));
    }

    #[test]
    fn takeover_sets_holder_acquire_time_and_counts_a_transition() {
        let current = LeaseSpec {
            holder_identity: Some("other".into()),
            acquire_time: Some(MicroTime(Timestamp::UNIX_EPOCH)),
            lease_transitions: Some(4),
            ..Default::default()
        };
        let now = Timestamp::now();
        let next = next_spec(&current, &config(), false, now);
        assert_eq!(next.holder_identity.as_deref(), Some("me"));
        assert_eq!(next.acquire_time, Some(MicroTime(now)));
        assert_eq!(next.lease_transitions, Some(5));
    }

    #[test]
    fn identity_has_host_and_pid() {
        let id = default_identity();
        assert!(id.ends_with(&format!("_{}", std::process::id())), "{id}");
    }
}
