//! Chart repositories: index.yaml fetching and parsing, chart resolution by
//! semver constraint, verified downloads and the archive cache (HTTP, later OCI).
