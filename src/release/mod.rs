//! Release records: revisions stored as Secrets in Helm's own storage format
//! (`sh.helm.release.v1.<name>.v<N>`), status transitions and history pruning.
