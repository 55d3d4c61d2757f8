//! The controller process: reconcilers for HelmRepository and HelmRelease,
//! leader election, status, events, health and metrics endpoints.
