//! Putting manifests on the cluster: server-side apply in Helm's kind order,
//! pruning objects a new revision no longer has, waiting, hooks.
