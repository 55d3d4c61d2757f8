//! Helm charts in OCI registries (`oci://host[:port]/path/chart[:tag|@digest]`)
//! over the OCI distribution API: tags listed and chosen with Helm's rules
//! (strict semver tags, `_` read as `+`, newest match of the constraint, an
//! exact tag first), the manifest fetched and checked to be a Helm chart,
//! the chart layer downloaded with the size cap and verified against its
//! digest (and the manifest against a requested or pinned digest); with a
//! [`ChartCache`], a layer already held under its digest is not downloaded
//! again (only the manifest is asked for, as tags move). Anonymous access,
//! HTTP basic auth and the registry token flow (`WWW-Authenticate: Bearer`)
//! are supported; tokens are kept per repository.

use std::collections::HashMap;
use std::sync::Mutex;

use reqwest::header::{self, HeaderValue};
use reqwest::{Client, StatusCode};
use serde::Deserialize;

use super::cache::{BlobError, ChartCache, sha256_hex};
use super::fetch::{FetchError, FetchOptions, build_client, classify, read_limited};
use crate::godata::semver::{Constraints, Version};

/// Helm's chart config and layer media types.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
pub const CHART_LAYER_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
const LEGACY_CHART_LAYER_MEDIA_TYPE: &str = "application/tar+gzip";
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json";
const MANIFEST_LIMIT: u64 = 4 * 1024 * 1024;

/// Why an OCI chart could not be listed or pulled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OciError {
    #[error("invalid OCI reference {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{reference}: the registry refused the credentials: {reason}")]
    Unauthorized { reference: String, reason: String },
    #[error("{reference}: invalid manifest: {reason}")]
    InvalidManifest { reference: String, reason: String },
    #[error("{reference}: not a Helm chart (config media type {media_type:?})")]
    NotAChart {
        reference: String,
        media_type: String,
    },
    #[error("{reference}: the manifest has no chart layer")]
    NoChartLayer { reference: String },
    #[error("{reference}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        reference: String,
        expected: String,
        actual: String,
    },
    #[error("{reference}: the manifest of tag {tag} is {actual}, not the pinned digest {pinned}")]
    PinnedDigestMismatch {
        reference: String,
        tag: String,
        pinned: String,
        actual: String,
    },
    #[error("chart cache: {0}")]
    Cache(String),
    #[error(
        "{reference}: could not locate a version matching provided version string {constraint}"
    )]
    NoMatchingTag {
        reference: String,
        constraint: String,
    },
}

/// A parsed `oci://` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciReference {
    /// `host[:port]`.
    pub registry: String,
    /// `path/chart`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<hex>`.
    pub digest: Option<String>,
}

impl OciReference {
    /// Parses `oci://host[:port]/path/chart[:tag][@sha256:hex]`.
    pub fn parse(reference: &str) -> Result<OciReference, OciError> {
        let invalid = |reason: &str| OciError::InvalidReference {
            reference: reference.into(),
            reason: reason.into(),
        };
        let rest = reference
            .strip_prefix("oci://")
            .ok_or_else(|| invalid("it must start with oci://"))?;
        let (rest, digest) = match rest.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (rest, None),
        };
        if let Some(d) = &digest
            && !is_sha256_digest(d)
        {
            return Err(invalid("the digest must be sha256:<64 hex digits>"));
        }
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| invalid("it needs a repository path after the host"))?;
        let (repository, tag) = match path.rsplit_once('/') {
            Some((dir, last)) => match last.split_once(':') {
                Some((name, tag)) => (format!("{dir}/{name}"), Some(tag.to_string())),
                None => (path.to_string(), None),
            },
            None => match path.split_once(':') {
                Some((name, tag)) => (name.to_string(), Some(tag.to_string())),
                None => (path.to_string(), None),
            },
        };
        if registry.is_empty() || repository.is_empty() || repository.ends_with('/') {
            return Err(invalid("empty host or repository"));
        }
        let valid_repo = repository.split('/').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
        });
        if !valid_repo {
            return Err(invalid(
                "repository path components must be lowercase [a-z0-9._-]",
            ));
        }
        Ok(OciReference {
            registry: registry.into(),
            repository,
            tag,
            digest,
        })
    }

    /// `oci://registry/repository` without tag or digest.
    pub fn name(&self) -> String {
        format!("oci://{}/{}", self.registry, self.repository)
    }
}

fn is_sha256_digest(d: &str) -> bool {
    d.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// A pulled chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciChart {
    /// The tag pulled (Helm's `+` form of the version), if pulled by tag.
    pub tag: Option<String>,
    /// `sha256:<hex>` of the manifest.
    pub manifest_digest: String,
    /// `sha256:<hex>` of the chart archive (verified).
    pub chart_digest: String,
    pub bytes: Vec<u8>,
}

/// A chart manifest found by tag or digest.
struct Found {
    tag: Option<String>,
    manifest_digest: String,
    layer: Descriptor,
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: u64,
}

#[derive(Deserialize)]
struct Manifest {
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// A client for OCI registries.
#[derive(Debug)]
pub struct OciClient {
    http: Client,
    opts: FetchOptions,
    plain_http: bool,
    /// Authorization header per `registry/repository`, once obtained.
    auth: Mutex<HashMap<String, HeaderValue>>,
}

impl OciClient {
    /// A client; `plain_http` talks HTTP instead of HTTPS (Helm's
    /// `--plain-http`). Credentials from `opts.basic_auth`.
    pub fn new(opts: FetchOptions, plain_http: bool) -> Result<OciClient, OciError> {
        Ok(OciClient {
            http: build_client(&opts)?,
            opts,
            plain_http,
            auth: Mutex::new(HashMap::new()),
        })
    }

    fn base(&self, r: &OciReference) -> String {
        let scheme = if self.plain_http { "http" } else { "https" };
        format!("{scheme}://{}/v2/{}", r.registry, r.repository)
    }

    /// Helm's `Tags`: strict semver tags (`_` read as `+`), newest first,
    /// in their `+` form.
    pub async fn tags(&self, r: &OciReference) -> Result<Vec<String>, OciError> {
        let url = format!("{}/tags/list", self.base(r));
        let body = self.get(r, &url, None, MANIFEST_LIMIT).await?;
        let list: TagList =
            serde_json::from_slice(&body).map_err(|e| OciError::InvalidManifest {
                reference: r.name(),
                reason: format!("tag list: {e}"),
            })?;
        let mut versions: Vec<Version> = list
            .tags
            .unwrap_or_default()
            .iter()
            .filter_map(|t| strict_version(&t.replace('_', "+")))
            .collect();
        versions.sort_by(|a, b| b.compare(a));
        Ok(versions.iter().map(ToString::to_string).collect())
    }

    /// Helm's `GetTagMatchingVersionOrConstraint` over [`Self::tags`].
    pub async fn resolve_tag(
        &self,
        r: &OciReference,
        constraint: &str,
    ) -> Result<String, OciError> {
        let tags = self.tags(r).await?;
        pick_tag(&tags, constraint).map_err(|reason| match reason {
            Some(reason) => OciError::InvalidReference {
                reference: r.name(),
                reason,
            },
            None => OciError::NoMatchingTag {
                reference: r.name(),
                constraint: constraint.into(),
            },
        })
    }

    /// Pulls the chart at the reference's digest, else its tag, else the
    /// tag chosen by `constraint`.
    pub async fn pull(&self, r: &OciReference, constraint: &str) -> Result<OciChart, OciError> {
        let found = self.manifest(r, constraint).await?;
        let bytes = self.blob(r, &found.layer).await?;
        let actual = format!("sha256:{}", sha256_hex(&bytes));
        if actual != found.layer.digest {
            return Err(OciError::DigestMismatch {
                reference: r.name(),
                expected: found.layer.digest,
                actual,
            });
        }
        Ok(OciChart {
            tag: found.tag,
            manifest_digest: found.manifest_digest,
            chart_digest: actual,
            bytes,
        })
    }

    /// As [`Self::pull`], with the chart layer taken from `cache` when its
    /// digest is there (only the manifest is asked for), else downloaded,
    /// verified and stored. With `pin` (`sha256:<hex>`), the manifest
    /// must have that digest, checked before any layer is fetched.
    pub async fn pull_cached(
        &self,
        r: &OciReference,
        constraint: &str,
        pin: Option<&str>,
        cache: &ChartCache,
    ) -> Result<OciChart, OciError> {
        let found = self.manifest(r, constraint).await?;
        if let Some(pin) = pin
            && pin != found.manifest_digest
        {
            return Err(OciError::PinnedDigestMismatch {
                reference: r.name(),
                tag: found.tag.unwrap_or_default(),
                pinned: pin.into(),
                actual: found.manifest_digest,
            });
        }
        let hex = found.layer.digest.trim_start_matches("sha256:").to_string();
        let archive = cache
            .get_blob(&hex, || self.blob(r, &found.layer))
            .await
            .map_err(|e| match e {
                BlobError::Fetch(e) => e,
                BlobError::Cache(e) => OciError::Cache(e.to_string()),
                BlobError::Mismatch { expected, actual } => OciError::DigestMismatch {
                    reference: r.name(),
                    expected: format!("sha256:{expected}"),
                    actual: format!("sha256:{actual}"),
                },
            })?;
        Ok(OciChart {
            tag: found.tag,
            manifest_digest: found.manifest_digest,
            chart_digest: found.layer.digest,
            bytes: archive.bytes.as_ref().clone(),
        })
    }

    /// The manifest at the reference's digest, else its tag, else the tag
    /// chosen by `constraint`, checked to be a Helm chart's (and to have
    /// the reference's digest, if it names one).
    async fn manifest(&self, r: &OciReference, constraint: &str) -> Result<Found, OciError> {
        let (tag, target) = match (&r.digest, &r.tag) {
            (Some(d), _) => (r.tag.clone(), d.clone()),
            (None, Some(t)) => (Some(t.clone()), t.clone()),
            (None, None) => {
                let t = self.resolve_tag(r, constraint).await?;
                (Some(t.clone()), t.replace('+', "_"))
            }
        };
        let url = format!("{}/manifests/{target}", self.base(r));
        let raw = self
            .get(r, &url, Some(MANIFEST_ACCEPT), MANIFEST_LIMIT)
            .await?;
        let manifest_digest = format!("sha256:{}", sha256_hex(&raw));
        if let Some(d) = &r.digest
            && *d != manifest_digest
        {
            return Err(OciError::DigestMismatch {
                reference: format!("{}@{d}", r.name()),
                expected: d.clone(),
                actual: manifest_digest,
            });
        }
        let layer = chart_layer(r, &raw)?;
        Ok(Found {
            tag,
            manifest_digest,
            layer,
        })
    }

    /// The chart layer's bytes (size-capped; not yet verified).
    async fn blob(&self, r: &OciReference, layer: &Descriptor) -> Result<Vec<u8>, OciError> {
        let blob_url = format!("{}/blobs/{}", self.base(r), layer.digest);
        let limit = self.opts.archive_limit;
        if layer.size > limit {
            return Err(FetchError::TooLarge {
                url: blob_url,
                limit,
            }
            .into());
        }
        self.get(r, &blob_url, None, limit).await
    }

    /// GETs `path` below the repository (`manifests/<ref>`, `blobs/<digest>`)
    /// with its authorization, at most `limit` bytes.
    pub async fn get_in_repository(
        &self,
        r: &OciReference,
        path: &str,
        accept: Option<&str>,
        limit: u64,
    ) -> Result<Vec<u8>, OciError> {
        let url = format!("{}/{path}", self.base(r));
        self.get(r, &url, accept, limit).await
    }

    /// A GET with the repository's authorization, obtaining it on a 401.
    async fn get(
        &self,
        r: &OciReference,
        url: &str,
        accept: Option<&str>,
        limit: u64,
    ) -> Result<Vec<u8>, OciError> {
        let key = format!("{}/{}", r.registry, r.repository);
        let mut resp = self.send(url, accept, self.cached_auth(&key)).await?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            let challenge = header_str(&resp, header::WWW_AUTHENTICATE);
            let auth = self.authorize(r, &challenge).await?;
            if let Ok(mut m) = self.auth.lock() {
                m.insert(key, auth.clone());
            }
            resp = self.send(url, accept, Some(auth)).await?;
            if resp.status() == StatusCode::UNAUTHORIZED {
                return Err(OciError::Unauthorized {
                    reference: r.name(),
                    reason: format!("GET {url} answered 401 after authenticating"),
                });
            }
        }
        if !resp.status().is_success() {
            return Err(FetchError::Status {
                url: url.into(),
                status: resp.status().as_u16(),
            }
            .into());
        }
        Ok(read_limited(url, resp, limit, self.opts.timeout).await?)
    }

    fn cached_auth(&self, key: &str) -> Option<HeaderValue> {
        self.auth.lock().ok()?.get(key).cloned()
    }

    async fn send(
        &self,
        url: &str,
        accept: Option<&str>,
        auth: Option<HeaderValue>,
    ) -> Result<reqwest::Response, FetchError> {
        let mut req = self.http.get(url);
        if let Some(a) = accept {
            req = req.header(header::ACCEPT, a);
        }
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        req.send()
            .await
            .map_err(|e| classify(url, &e, self.opts.timeout))
    }

    /// Answers a `WWW-Authenticate` challenge: basic credentials, or a
    /// bearer token from the realm (with the credentials, if any).
    async fn authorize(&self, r: &OciReference, challenge: &str) -> Result<HeaderValue, OciError> {
        let unauthorized = |reason: String| OciError::Unauthorized {
            reference: r.name(),
            reason,
        };
        let (scheme, params) = parse_challenge(challenge);
        if scheme.eq_ignore_ascii_case("basic") {
            let auth = self
                .opts
                .basic_auth
                .as_ref()
                .ok_or_else(|| unauthorized("the registry requires credentials".into()))?;
            return basic_header(&auth.username, &auth.password).map_err(unauthorized);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(unauthorized(format!("unsupported challenge {challenge:?}")));
        }
        let realm = params
            .get("realm")
            .ok_or_else(|| unauthorized("bearer challenge without realm".into()))?;
        let scope = params
            .get("scope")
            .cloned()
            .unwrap_or_else(|| format!("repository:{}:pull", r.repository));
        let mut token_url = url::Url::parse(realm)
            .map_err(|e| unauthorized(format!("invalid token realm {realm:?}: {e}")))?;
        token_url.query_pairs_mut().append_pair("scope", &scope);
        if let Some(service) = params.get("service") {
            token_url.query_pairs_mut().append_pair("service", service);
        }
        let mut req = self.http.get(token_url);
        if let Some(auth) = &self.opts.basic_auth {
            req = req.basic_auth(&auth.username, Some(&auth.password));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| classify(realm, &e, self.opts.timeout))?;
        if !resp.status().is_success() {
            return Err(unauthorized(format!(
                "token request to {realm} answered {}",
                resp.status()
            )));
        }
        let body = read_limited(realm, resp, MANIFEST_LIMIT, self.opts.timeout).await?;
        let token: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| unauthorized(format!("token response: {e}")))?;
        let token = token
            .token
            .or(token.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("token response without a token".into()))?;
        HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| unauthorized(e.to_string()))
    }
}

fn header_str(resp: &reqwest::Response, name: header::HeaderName) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn basic_header(user: &str, pass: &str) -> Result<HeaderValue, String> {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    HeaderValue::from_str(&format!("Basic {encoded}")).map_err(|e| e.to_string())
}

/// `Bearer realm="x",service="y"` → ("Bearer", {realm: x, service: y}).
fn parse_challenge(h: &str) -> (String, HashMap<String, String>) {
    let h = h.trim();
    let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
    let mut params = HashMap::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let (value, remaining) = match after.strip_prefix('"') {
            Some(q) => match q.find('"') {
                Some(end) => (&q[..end], &q[end + 1..]),
                None => (q, ""),
            },
            None => match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            },
        };
        params.insert(key, value.to_string());
        rest = remaining.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
    }
    (scheme.to_string(), params)
}

/// Masterminds `StrictNewVersion`: `X.Y.Z[-pre][+meta]`, no `v`, no
/// leading zeros.
fn strict_version(s: &str) -> Option<Version> {
    let core = s.split(['-', '+']).next()?;
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = |p: &&str| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p.len() == 1 || !p.starts_with('0'))
    };
    if parts.len() != 3 || !parts.iter().all(numeric) {
        return None;
    }
    Version::parse(s).ok()
}

/// Helm's `GetTagMatchingVersionOrConstraint`; `Err(Some)` for a bad
/// constraint, `Err(None)` when nothing matches.
fn pick_tag(tags: &[String], constraint: &str) -> Result<String, Option<String>> {
    if !constraint.is_empty()
        && let Some(t) = tags.iter().find(|t| *t == constraint)
    {
        return Ok(t.clone());
    }
    let c = Constraints::parse(if constraint.is_empty() {
        "*"
    } else {
        constraint
    })
    .map_err(Some)?;
    tags.iter()
        .find(|t| Version::parse(t).is_ok_and(|v| c.check(&v)))
        .cloned()
        .ok_or(None)
}

/// The chart layer of a Helm chart manifest.
fn chart_layer(r: &OciReference, raw: &[u8]) -> Result<Descriptor, OciError> {
    let manifest: Manifest =
        serde_json::from_slice(raw).map_err(|e| OciError::InvalidManifest {
            reference: r.name(),
            reason: e.to_string(),
        })?;
    if manifest.config.media_type != CONFIG_MEDIA_TYPE {
        return Err(OciError::NotAChart {
            reference: r.name(),
            media_type: manifest.config.media_type,
        });
    }
    manifest
        .layers
        .into_iter()
        .find(|l| {
            (l.media_type == CHART_LAYER_MEDIA_TYPE
                || l.media_type == LEGACY_CHART_LAYER_MEDIA_TYPE)
                && is_sha256_digest(&l.digest)
        })
        .ok_or_else(|| OciError::NoChartLayer {
            reference: r.name(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        let r = OciReference::parse("oci://127.0.0.1:5000/charts/scaffold:0.1.0").expect("ref");
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "charts/scaffold");
        assert_eq!(r.tag.as_deref(), Some("0.1.0"));
        let d = format!("sha256:{}", "a".repeat(64));
        let r = OciReference::parse(&format!("oci://ghcr.io/x/y/z@{d}")).expect("digest ref");
        assert_eq!(
            (r.repository.as_str(), r.tag, r.digest),
            ("x/y/z", None, Some(d))
        );
        assert!(OciReference::parse("https://x/y").is_err());
        assert!(OciReference::parse("oci://host").is_err());
        assert!(OciReference::parse("oci://host/Upper").is_err());
        assert!(OciReference::parse("oci://host/a@sha256:zz").is_err());
    }

    #[test]
    fn picks_tags_like_helm() {
        let tags: Vec<String> = ["2.0.0-rc.1", "1.2.0", "1.1.0+build.1", "1.0.0"]
            .map(String::from)
            .to_vec();
        assert_eq!(pick_tag(&tags, ""), Ok("1.2.0".into()));
        assert_eq!(pick_tag(&tags, "~1.1"), Ok("1.1.0+build.1".into()));
        assert_eq!(pick_tag(&tags, "2.0.0-rc.1"), Ok("2.0.0-rc.1".into()));
        assert_eq!(pick_tag(&tags, "3.x"), Err(None));
        assert!(strict_version("v1.0.0").is_none() && strict_version("1.0").is_none());
        assert!(strict_version("01.0.0").is_none() && strict_version("1.0.0-rc.1").is_some());
    }

    #[test]
    fn parses_challenges() {
        let (s, p) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#,
        );
        assert_eq!(s, "Bearer");
        assert_eq!(p["realm"], "https://auth.example/token");
        assert_eq!(p["service"], "registry.example");
        assert_eq!(p["scope"], "repository:a/b:pull");
        let (s, p) = parse_challenge(r#"Basic realm="basic-realm""#);
        assert_eq!((s.as_str(), p["realm"].as_str()), ("Basic", "basic-realm"));
    }
}
