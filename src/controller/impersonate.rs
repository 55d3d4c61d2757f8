//! `spec.serviceAccountName`: Appliers whose client impersonates a
//! service account (`system:serviceaccount:<namespace>:<name>`), made once
//! per account and cached. They share the main Applier's discovery cache
//! and write counter; release records, status and events stay written by
//! rudder's own client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::api_client::{ApiCounters, Pressure, counted};

use crate::apply::Applier;

/// Why no Applier could be made for a service account.
#[derive(Debug, thiserror::Error)]
pub enum ImpersonationError {
    /// The process was started without a kube configuration to derive from.
    #[error("cannot impersonate service account {user}: no client configuration")]
    NoConfig {
        /// The impersonated user name.
        user: String,
    },
    /// Building the client failed.
    #[error("cannot impersonate service account {user}: {message}")]
    Client {
        /// The impersonated user name.
        user: String,
        /// The client error.
        message: String,
    },
}

/// The user name Kubernetes gives service account `name` in `namespace`.
pub fn service_account_user(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// A cache of impersonating Appliers, keyed by user name.
pub struct Impersonation {
    config: Option<kube::Config>,
    counters: ApiCounters,
    pressure: Arc<Pressure>,
    appliers: Mutex<HashMap<String, Applier>>,
}

impl Impersonation {
    /// Impersonation derived from `config` (the controller's own).
    /// Requests of the impersonating clients are counted in `counters` and
    /// their push-backs noted in `pressure`, as the controller's own.
    pub fn new(
        config: Option<kube::Config>,
        counters: ApiCounters,
        pressure: Arc<Pressure>,
    ) -> Impersonation {
        Impersonation {
            config,
            counters,
            pressure,
            appliers: Mutex::new(HashMap::new()),
        }
    }

    /// The Applier acting as service account `namespace/name`, built from
    /// `base` (sharing its discovery and write counter) on first use.
    pub fn applier(
        &self,
        base: &Applier,
        namespace: &str,
        name: &str,
    ) -> Result<Applier, ImpersonationError> {
        let user = service_account_user(namespace, name);
        let config = self
            .config
            .clone()
            .ok_or_else(|| ImpersonationError::NoConfig { user: user.clone() })?;
        self.cached(String::new(), config, user, |c| base.with_client(c))
    }

    /// The Applier acting as service account `namespace/name` on the remote
    /// cluster `cluster` (configured by `config`), built from `base` (that
    /// cluster's Applier, sharing its discovery) on first use.
    pub fn applier_on(
        &self,
        cluster: &str,
        config: &kube::Config,
        base: &Applier,
        namespace: &str,
        name: &str,
    ) -> Result<Applier, ImpersonationError> {
        let user = service_account_user(namespace, name);
        self.cached(cluster.to_string(), config.clone(), user, |c| {
            base.with_client(c)
        })
    }

    /// The cached Applier of `user` on `cluster`, else one made by `make`
    /// from `config` impersonating `user`.
    fn cached(
        &self,
        cluster: String,
        mut config: kube::Config,
        user: String,
        make: impl FnOnce(kube::Client) -> Applier,
    ) -> Result<Applier, ImpersonationError> {
        let key = format!("{cluster} {user}");
        if let Some(a) = self.appliers.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(a);
        }
        // The API server adds the service-account groups itself when the
        // impersonated user is a service account and no groups are given.
        config.auth_info.impersonate = Some(user.clone());
        config.auth_info.impersonate_groups = None;
        let client = crate::controller::transport::client(config).map_err(|e| {
            ImpersonationError::Client {
                user: user.clone(),
                message: e.to_string(),
            }
        })?;
        let client = counted(client, self.counters.clone(), self.pressure.clone());
        let applier = make(client);
        if let Ok(mut m) = self.appliers.lock() {
            m.insert(key, applier.clone());
        }
        Ok(applier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_name_is_kubernetes_service_account_form() {
        assert_eq!(
            service_account_user("team-a", "deployer"),
            "system:serviceaccount:team-a:deployer"
        );
    }

    #[tokio::test]
    async fn appliers_need_a_config_and_are_cached() {
        let config = kube::Config::new("http://127.0.0.1:9".parse().expect("url"));
        let base = Applier::new(kube::Client::try_from(config.clone()).expect("client"));
        let counters = crate::controller::metrics::Metrics::new()
            .expect("metrics")
            .api_counters();
        let pressure = Arc::new(Pressure::default());
        let err = Impersonation::new(None, counters.clone(), pressure.clone())
            .applier(&base, "ns", "sa")
            .expect_err("no config");
        assert!(err.to_string().contains("no client configuration"), "{err}");
        let imp = Impersonation::new(Some(config), counters, pressure);
        imp.applier(&base, "ns", "sa").expect("applier");
        imp.applier(&base, "ns", "sa").expect("cached applier");
        assert_eq!(imp.appliers.lock().map(|m| m.len()).unwrap_or(0), 1);
    }
}
