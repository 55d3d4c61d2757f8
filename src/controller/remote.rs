//! `spec.kubeConfig`: Appliers for remote clusters, each made from the
//! kubeconfig in a Secret of the HelmRelease's namespace, checked once by
//! asking the cluster its version, and kept until the kubeconfig changes
//! (by its digest). The kubeconfig's content never appears in a message,
//! a log line or the status: errors name the Secret, the key and the
//! server only.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use sha2::{Digest, Sha256};

use crate::api::remote::KubeConfigReference;
use crate::apply::Applier;

/// Why a remote cluster cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The Secret or its key is missing.
    #[error("spec.kubeConfig: Secret {namespace}/{name} has no key {key:?}")]
    KeyMissing {
        namespace: String,
        name: String,
        key: String,
    },
    /// The Secret does not exist.
    #[error("spec.kubeConfig: Secret {namespace}/{name} not found")]
    NotFound { namespace: String, name: String },
    /// Reading the Secret failed.
    #[error("spec.kubeConfig: reading Secret {namespace}/{name}: {message}")]
    Read {
        namespace: String,
        name: String,
        message: String,
    },
    /// The key's content is not a usable kubeconfig.
    #[error(
        "spec.kubeConfig: key {key:?} of Secret {namespace}/{name} is not a usable kubeconfig ({why})"
    )]
    Invalid {
        namespace: String,
        name: String,
        key: String,
        /// What is wrong, without the content.
        why: String,
    },
    /// The cluster did not answer.
    #[error(
        "spec.kubeConfig: the cluster at {server} (kubeconfig in Secret {namespace}/{name}) cannot be reached: {message}"
    )]
    Unreachable {
        namespace: String,
        name: String,
        server: String,
        message: String,
    },
}

impl RemoteError {
    /// The condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            RemoteError::Unreachable { .. } => "RemoteClusterUnreachable",
            _ => "KubeConfigInvalid",
        }
    }
}

/// A remote cluster: its configuration (for impersonation) and Applier.
#[derive(Clone)]
pub struct Remote {
    /// A key naming the cluster (Secret and kubeconfig digest).
    pub key: String,
    /// The configuration built from the kubeconfig.
    pub config: kube::Config,
    /// The Applier acting there with the kubeconfig's own identity.
    pub applier: Applier,
}

/// Remote clusters by `namespace/secret/key`.
#[derive(Default)]
pub struct Remotes {
    clusters: Mutex<HashMap<String, (String, Remote)>>,
}

impl Remotes {
    /// The cluster `r` names for a HelmRelease in `namespace`; the Secret
    /// is read with `home` (rudder's own Applier, whose write counter the
    /// remote one shares) each time, the cluster
    /// asked for its version only when the kubeconfig is new.
    pub async fn cluster(
        &self,
        home: &Applier,
        namespace: &str,
        r: &KubeConfigReference,
    ) -> Result<Remote, RemoteError> {
        let text = read_kubeconfig(home.client(), namespace, r).await?;
        let digest = format!("{:x}", Sha256::digest(text.as_bytes()));
        let id = format!("{namespace}/{}/{}", r.secret_ref.name, r.secret_ref.key);
        if let Some((d, remote)) = self.clusters.lock().ok().and_then(|m| m.get(&id).cloned())
            && d == digest
        {
            return Ok(remote);
        }
        let remote = connect(home, namespace, r, &text, format!("{id}@{digest}")).await?;
        if let Ok(mut m) = self.clusters.lock() {
            m.insert(id, (digest, remote.clone()));
        }
        Ok(remote)
    }
}

async fn read_kubeconfig(
    home: &kube::Client,
    namespace: &str,
    r: &KubeConfigReference,
) -> Result<String, RemoteError> {
    let name = &r.secret_ref.name;
    let secret = Api::<Secret>::namespaced(home.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|e| RemoteError::Read {
            namespace: namespace.into(),
            name: name.clone(),
            message: e.to_string(),
        })?
        .ok_or_else(|| RemoteError::NotFound {
            namespace: namespace.into(),
            name: name.clone(),
        })?;
    let bytes = secret
        .data
        .and_then(|d| d.get(&r.secret_ref.key).map(|b| b.0.clone()))
        .ok_or_else(|| RemoteError::KeyMissing {
            namespace: namespace.into(),
            name: name.clone(),
            key: r.secret_ref.key.clone(),
        })?;
    String::from_utf8(bytes).map_err(|_| RemoteError::Invalid {
        namespace: namespace.into(),
        name: name.clone(),
        key: r.secret_ref.key.clone(),
        why: "not UTF-8 text".into(),
    })
}

/// Builds the client and checks that the cluster answers.
async fn connect(
    home: &Applier,
    namespace: &str,
    r: &KubeConfigReference,
    text: &str,
    key: String,
) -> Result<Remote, RemoteError> {
    let invalid = |why: &str| RemoteError::Invalid {
        namespace: namespace.into(),
        name: r.secret_ref.name.clone(),
        key: r.secret_ref.key.clone(),
        why: why.into(),
    };
    // The parsers' messages may quote the content: they are not passed on.
    let kubeconfig = Kubeconfig::from_yaml(text).map_err(|_| invalid("not kubeconfig YAML"))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|_| {
            invalid("its current context, cluster or user is missing or has unreadable credentials")
        })?;
    let server = config.cluster_url.to_string();
    let client = crate::controller::transport::client(config.clone())
        .map_err(|_| invalid("no client can be made from it (TLS settings)"))?;
    client
        .apiserver_version()
        .await
        .map_err(|e| RemoteError::Unreachable {
            namespace: namespace.into(),
            name: r.secret_ref.name.clone(),
            server,
            message: e.to_string(),
        })?;
    Ok(Remote {
        key,
        config,
        applier: home.for_cluster(client),
    })
}
