//! The custom resources, group `helm.rudder.dev`, version `v1alpha1`:
//! HelmRepository and HelmRelease.
