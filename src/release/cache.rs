//! The decoded-history cache: what a process knows of release records
//! without listing them again.
//!
//! It holds two things, keyed by release (storage namespace, release name):
//! - an *index* of every record Secret (labelled `owner=helm` or parked) in
//!   the namespaces a metadata-only watch covers: per revision, only its
//!   `resourceVersion` and the labels a rewrite keeps (`createdAt`,
//!   `owner`) — no data, no managed fields;
//! - the *decoded* records of the releases this process reads through it
//!   (the releases it manages), each with the `resourceVersion` it was
//!   decoded from. A decoded record is used only while the index shows the
//!   same `resourceVersion`; a record another writer changed (`helm
//!   rollback` by hand) is read and decoded again, one GET, and a record
//!   deleted leaves both.
//!
//! Memory: the index grows with the record Secrets in the watched
//! namespaces (a few dozen bytes each). Decoded records are kept only for
//! the releases this process reads, and whole only where decisions and
//! writes need the body: the latest revision, the deployed one and any
//! pending one. Every other revision (superseded, failed, parked) is kept
//! as its summary — status, dates, description, chart metadata, how its
//! hooks ran — without manifest, values, hook manifests or chart templates
//! and files ([`StoredRelease::slim`]); a rollback to it reads it whole
//! again. Whole records are kept decoded only for the
//! [`HOT_RELEASES`] releases read or written most lately; those of the
//! others are packed and decoded again on their next read. A packed
//! record is its JSON without the chart's templates, files, values and
//! schema, deflated, and those chart contents shared: releases of one chart
//! (a thousand tenants of one `scaffold`) hold one copy of it (`Charts`),
//! where each record Secret holds the whole chart again. So memory grows
//! with the number of releases by their compressed manifest and values.
//! rudder's own writes update the cache with
//! the answer's `resourceVersion`, and the watch's events with their own;
//! an event older than what is known is ignored.
//!
//! Until the watch has listed every record once ([`HistoryCache::set_synced`])
//! the cache answers nothing and readers list the Secrets themselves.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::record::{ChartFile, ChartRecord, Release, StoredRelease};

/// Releases whose whole records stay decoded; the others' are packed.
/// Twice the default concurrency: a reconciliation reads and writes its
/// release's records within one pass, and a release read again after
/// others is unpacked (gunzip and JSON parse of a few KiB) rather than
/// holding every decoded record — chart templates, values and manifest,
/// several times their packed size — for releases waiting their turn.
pub const HOT_RELEASES: usize = 16;

/// What is known of one record Secret without reading its data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordMeta {
    /// The Secret's `resourceVersion`.
    pub resource_version: String,
    /// The labels a rewrite of the record keeps (`createdAt`, `owner`).
    pub kept: BTreeMap<String, String>,
}

/// A [`RecordMeta`] as the index holds it: boxed strings and a boxed
/// slice instead of `String`s and a map, since the index holds one per
/// record Secret in the watched namespaces (helm's own included) and a
/// two-entry map costs a whole tree node.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Indexed {
    resource_version: Box<str>,
    kept: Box<[(Box<str>, Box<str>)]>,
}

impl From<RecordMeta> for Indexed {
    fn from(m: RecordMeta) -> Self {
        Indexed {
            resource_version: m.resource_version.into(),
            kept: m
                .kept
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

impl From<&Indexed> for RecordMeta {
    fn from(i: &Indexed) -> Self {
        RecordMeta {
            resource_version: i.resource_version.to_string(),
            kept: i
                .kept
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

/// The index's entries of one release, by revision.
type Versions = BTreeMap<i64, Indexed>;

/// A release: (storage namespace, release name).
type Key = (String, String);

/// A record the cache keeps.
#[derive(Clone)]
enum Kept {
    /// Decoded: whole, or its summary.
    Decoded(Box<StoredRelease>),
    /// A whole record of a release not read lately.
    Packed(Packed),
}

impl Kept {
    fn is_whole(&self) -> bool {
        match self {
            Kept::Decoded(s) => !s.slim,
            Kept::Packed(_) => true,
        }
    }
}

/// A whole record, packed: its JSON without the chart's contents,
/// deflated; the chart's contents, shared; the Secret's annotations and
/// parking.
#[derive(Clone)]
struct Packed {
    rest: Box<[u8]>,
    chart: Option<Arc<ChartContents>>,
    annotations: BTreeMap<String, String>,
    parked: bool,
}

/// The bulk of a stored chart, shared by the packed records of every
/// release of that chart.
#[derive(Clone, PartialEq, serde::Serialize)]
struct ChartContents {
    templates: Vec<ChartFile>,
    files: Vec<ChartFile>,
    values: Json,
    schema: Json,
}

impl ChartContents {
    /// Takes the contents out of `chart`, leaving it hollow.
    fn take(chart: &mut ChartRecord) -> Self {
        ChartContents {
            templates: std::mem::take(&mut chart.templates),
            files: std::mem::take(&mut chart.files),
            values: chart.values.take(),
            schema: chart.schema.take(),
        }
    }

    /// Moves the contents back into the hollow `chart`.
    fn put_back(self, chart: &mut ChartRecord) {
        chart.templates = self.templates;
        chart.files = self.files;
        chart.values = self.values;
        chart.schema = self.schema;
    }

    /// Copies the contents into the hollow `chart`.
    fn restore(&self, chart: &mut ChartRecord) {
        self.clone().put_back(chart);
    }

    /// What identifies these contents: the SHA-256 of their JSON
    /// (written into the hash, not into a buffer).
    fn digest(&self) -> [u8; 32] {
        struct Hashing(Sha256);
        impl Write for Hashing {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.update(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut h = Hashing(Sha256::new());
        // Cannot fail: the writer takes everything, and every map here has
        // string keys.
        let _ = serde_json::to_writer(&mut h, self);
        h.0.finalize().into()
    }
}

/// The chart contents packed records share, by digest.
#[derive(Default)]
struct Charts {
    by_digest: HashMap<[u8; 32], Arc<ChartContents>>,
    /// How many the last sweep left.
    swept: usize,
}

impl Charts {
    /// The shared copy of `contents`.
    fn share(&mut self, contents: ChartContents) -> Arc<ChartContents> {
        let digest = contents.digest();
        let shared = self
            .by_digest
            .entry(digest)
            .or_insert_with(|| Arc::new(contents))
            .clone();
        // Contents no record holds any more go once the map has doubled
        // since the last sweep: amortised over the packing.
        if self.by_digest.len() > 2 * self.swept.max(8) {
            self.by_digest.retain(|_, c| Arc::strong_count(c) > 1);
            self.swept = self.by_digest.len();
        }
        shared
    }
}

/// The compressor and decompressor of packed records, kept from one
/// record to the next: made anew for each, their buffers (a few hundred
/// KiB) were allocated and freed around every pack, and the allocator's
/// arenas kept tens of MiB of the holes between the packed records.
struct Zip {
    deflate: Compress,
    inflate: Decompress,
}

impl Default for Zip {
    fn default() -> Self {
        Zip {
            deflate: Compress::new(Compression::fast(), false),
            inflate: Decompress::new(false),
        }
    }
}

impl Zip {
    /// `input`, deflated (raw DEFLATE: the record never leaves the cache).
    fn pack(&mut self, input: &[u8]) -> Option<Box<[u8]>> {
        let c = &mut self.deflate;
        c.reset();
        let mut out = Vec::with_capacity(input.len() / 3 + 64);
        loop {
            let done = usize::try_from(c.total_in()).ok()?;
            let status = c
                .compress_vec(&input[done..], &mut out, FlushCompress::Finish)
                .ok()?;
            if status == Status::StreamEnd {
                return Some(out.into_boxed_slice());
            }
            out.reserve(out.capacity().max(64));
        }
    }

    /// `input` inflated (`None` if it is not whole DEFLATE data).
    fn unpack(&mut self, input: &[u8]) -> Option<Vec<u8>> {
        let d = &mut self.inflate;
        d.reset(false);
        let mut out = Vec::with_capacity(input.len() * 4);
        loop {
            let (read, written) = (d.total_in(), d.total_out());
            let done = usize::try_from(read).ok()?;
            let status = d
                .decompress_vec(&input[done..], &mut out, FlushDecompress::Finish)
                .ok()?;
            if status == Status::StreamEnd {
                return Some(out);
            }
            if out.len() == out.capacity() {
                out.reserve(out.capacity().max(64));
            } else if d.total_in() == read && d.total_out() == written {
                // No progress with room to write: the input is cut short.
                return None;
            }
        }
    }
}

/// `stored` packed, its chart's contents moved out of it and shared
/// through `charts` (no copy of the record is made). `None` if it cannot
/// be encoded: `stored` is then left as it was, and kept decoded.
fn pack(stored: &mut StoredRelease, charts: &mut Charts, zip: &mut Zip) -> Option<Packed> {
    let contents = stored.release.chart.as_mut().map(ChartContents::take);
    let rest = serde_json::to_vec(&stored.release)
        .ok()
        .and_then(|json| zip.pack(&json));
    let Some(rest) = rest else {
        if let (Some(chart), Some(c)) = (stored.release.chart.as_mut(), contents) {
            c.put_back(chart);
        }
        return None;
    };
    Some(Packed {
        rest,
        chart: contents.map(|c| charts.share(c)),
        annotations: std::mem::take(&mut stored.annotations),
        parked: stored.parked,
    })
}

/// The whole record `p` holds (`None` if it does not decode).
fn unpack(p: &Packed, zip: &mut Zip) -> Option<StoredRelease> {
    let json = zip.unpack(&p.rest)?;
    let mut release: Release = serde_json::from_slice(&json).ok()?;
    if let (Some(chart), Some(contents)) = (release.chart.as_mut(), &p.chart) {
        contents.restore(chart);
    }
    Some(StoredRelease {
        release,
        annotations: p.annotations.clone(),
        parked: p.parked,
        slim: false,
    })
}

#[derive(Default)]
struct State {
    synced: bool,
    index: HashMap<Key, Versions>,
    decoded: HashMap<Key, BTreeMap<i64, (String, Kept)>>,
    /// The index being rebuilt by a (re)list of the watch.
    relisting: Option<HashMap<Key, Versions>>,
    /// The releases whose whole records stay decoded, with when they were
    /// last read or written (`tick`).
    hot: HashMap<Key, u64>,
    tick: u64,
    /// Chart contents the packed records share.
    charts: Charts,
    zip: Zip,
}

impl State {
    /// Marks `k` read or written now; packs the whole records of the
    /// release read least lately when more than [`HOT_RELEASES`] are hot.
    fn touch(&mut self, k: &Key) {
        self.tick += 1;
        self.hot.insert(k.clone(), self.tick);
        if self.hot.len() <= HOT_RELEASES {
            return;
        }
        let Some(coldest) = self
            .hot
            .iter()
            .min_by_key(|(_, t)| **t)
            .map(|(k, _)| k.clone())
        else {
            return;
        };
        self.hot.remove(&coldest);
        for (_, (_, kept)) in self.decoded.get_mut(&coldest).into_iter().flatten() {
            if let Kept::Decoded(s) = kept
                && !s.slim
                && let Some(packed) = pack(s, &mut self.charts, &mut self.zip)
            {
                *kept = Kept::Packed(packed);
            }
        }
    }
}

/// The cache; one per process, shared by every reconciliation.
pub struct HistoryCache {
    /// The one namespace the watch covers (`None`: all).
    scope: Option<String>,
    state: Mutex<State>,
}

/// Whether `candidate` is at least as new as `known` (resourceVersions
/// compare as numbers when both are; otherwise the candidate wins).
fn not_older(candidate: &str, known: &str) -> bool {
    match (candidate.parse::<u64>(), known.parse::<u64>()) {
        (Ok(c), Ok(k)) => c >= k,
        _ => true,
    }
}

fn key(namespace: &str, release: &str) -> Key {
    (namespace.to_string(), release.to_string())
}

impl HistoryCache {
    /// An empty cache for a watch of `scope` (one namespace, or all).
    pub fn new(scope: Option<String>) -> Self {
        HistoryCache {
            scope,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data: use it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks the index complete (the watch listed every record) or not
    /// (the watch stopped).
    pub fn set_synced(&self, synced: bool) {
        let mut s = self.state();
        s.synced = synced;
        if !synced {
            s.index.clear();
            s.decoded.clear();
            s.hot.clear();
            s.relisting = None;
        }
    }

    /// The watch starts listing every record again.
    pub fn relist_started(&self) {
        self.state().relisting = Some(HashMap::new());
    }

    /// The watch listed every record: the new index replaces the old one;
    /// decoded records no longer in it go.
    pub fn relist_done(&self) {
        let mut s = self.state();
        let Some(fresh) = s.relisting.take() else {
            return;
        };
        s.index = fresh;
        let State {
            index,
            decoded,
            hot,
            ..
        } = &mut *s;
        decoded.retain(|k, versions| {
            let Some(known) = index.get(k) else {
                return false;
            };
            versions.retain(|v, _| known.contains_key(v));
            !versions.is_empty()
        });
        hot.retain(|k, _| decoded.contains_key(k));
        s.synced = true;
    }

    /// A record Secret seen by the watch (or written by this process).
    pub fn seen(&self, namespace: &str, release: &str, version: i64, meta: RecordMeta) {
        let mut s = self.state();
        let k = key(namespace, release);
        let meta = Indexed::from(meta);
        if let Some(relisting) = s.relisting.as_mut() {
            relisting
                .entry(k.clone())
                .or_default()
                .insert(version, meta.clone());
        }
        let entry = s.index.entry(k).or_default();
        match entry.get(&version) {
            Some(known) if !not_older(&meta.resource_version, &known.resource_version) => {}
            _ => {
                entry.insert(version, meta);
            }
        }
    }

    /// A record Secret deleted (seen by the watch, or deleted by this
    /// process).
    pub fn gone(&self, namespace: &str, release: &str, version: i64) {
        let mut s = self.state();
        let k = key(namespace, release);
        if let Some(relisting) = s.relisting.as_mut()
            && let Some(versions) = relisting.get_mut(&k)
        {
            versions.remove(&version);
        }
        if let Some(versions) = s.index.get_mut(&k) {
            versions.remove(&version);
            if versions.is_empty() {
                s.index.remove(&k);
            }
        }
        if let Some(versions) = s.decoded.get_mut(&k) {
            versions.remove(&version);
            if versions.is_empty() {
                s.decoded.remove(&k);
                s.hot.remove(&k);
            }
        }
    }

    /// The records of `release` in `namespace` as the index knows them
    /// (revision → meta), or `None` when the index cannot say (not synced,
    /// or the namespace is outside the watch).
    pub fn listing(&self, namespace: &str, release: &str) -> Option<BTreeMap<i64, RecordMeta>> {
        if self.scope.as_deref().is_some_and(|s| s != namespace) {
            return None;
        }
        let s = self.state();
        if !s.synced {
            return None;
        }
        Some(
            s.index
                .get(&key(namespace, release))
                .map(|versions| {
                    versions
                        .iter()
                        .map(|(v, i)| (*v, RecordMeta::from(i)))
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    /// Revision `version`, decoded from `resource_version`, if cached
    /// (a packed record is decoded again, and its release kept decoded).
    pub fn decoded(
        &self,
        namespace: &str,
        release: &str,
        version: i64,
        resource_version: &str,
    ) -> Option<StoredRelease> {
        let mut s = self.state();
        let k = key(namespace, release);
        let latest = s.index.get(&k).and_then(|v| v.keys().next_back().copied());
        let State { decoded, zip, .. } = &mut *s;
        let versions = decoded.get_mut(&k)?;
        let (rv, kept) = versions.get_mut(&version)?;
        if rv != resource_version {
            return None;
        }
        let stored = match kept {
            Kept::Decoded(st) => st.as_ref().clone(),
            Kept::Packed(p) => {
                let Some(st) = unpack(p, zip) else {
                    // Unreadable: forget it; the reader reads the Secret.
                    versions.remove(&version);
                    return None;
                };
                let form = latest.map_or_else(|| st.clone(), |l| kept_form(&st, l));
                *kept = Kept::Decoded(Box::new(form));
                st
            }
        };
        if !stored.slim {
            s.touch(&k);
        }
        Some(stored)
    }

    /// Keeps `stored`, decoded from (or written as) `meta`'s version:
    /// whole when needed, else its summary.
    pub fn remember(&self, namespace: &str, meta: RecordMeta, stored: &StoredRelease) {
        let (release, version) = (stored.release.name.clone(), stored.release.version);
        let rv = meta.resource_version.clone();
        self.seen(namespace, &release, version, meta);
        let mut s = self.state();
        let k = key(namespace, &release);
        let Some(known) = s.index.get(&k) else {
            return;
        };
        // Only what matches the index is worth keeping.
        if known.get(&version).map(|m| &*m.resource_version) != Some(rv.as_str()) {
            return;
        }
        let latest = known.keys().next_back().copied().unwrap_or(version);
        let whole = needed(stored, latest);
        let kept = kept_form(stored, latest);
        s.decoded
            .entry(k.clone())
            .or_default()
            .insert(version, (rv, Kept::Decoded(Box::new(kept))));
        if whole {
            s.touch(&k);
        }
    }

    /// Reduces the decoded records of `release` no longer needed whole (a
    /// newer revision came, the deployed one was superseded) to summaries.
    pub fn trim(&self, namespace: &str, release: &str) {
        let mut s = self.state();
        let k = key(namespace, release);
        let Some(latest) = s.index.get(&k).and_then(|v| v.keys().next_back().copied()) else {
            return;
        };
        if let Some(versions) = s.decoded.get_mut(&k) {
            for (_, kept) in versions.values_mut() {
                let Kept::Decoded(stored) = kept else {
                    // Packed records are trimmed when read again.
                    continue;
                };
                if !stored.slim && !needed(stored, latest) {
                    **stored = summary(stored);
                }
            }
        }
    }

    /// How many records are kept whole, decoded or packed (for tests).
    pub fn whole_len(&self) -> usize {
        self.state()
            .decoded
            .values()
            .flat_map(BTreeMap::values)
            .filter(|(_, k)| k.is_whole())
            .count()
    }

    /// How many whole records are packed (for tests).
    pub fn packed_len(&self) -> usize {
        self.state()
            .decoded
            .values()
            .flat_map(BTreeMap::values)
            .filter(|(_, k)| matches!(k, Kept::Packed(_)))
            .count()
    }

    /// How many chart contents the packed records share (for tests).
    pub fn shared_charts(&self) -> usize {
        let s = self.state();
        let held: std::collections::HashSet<*const ChartContents> = s
            .decoded
            .values()
            .flat_map(BTreeMap::values)
            .filter_map(|(_, k)| match k {
                Kept::Packed(p) => p.chart.as_ref().map(Arc::as_ptr),
                Kept::Decoded(_) => None,
            })
            .collect();
        held.len()
    }

    /// How many records are decoded (for tests and metrics).
    pub fn decoded_len(&self) -> usize {
        self.state().decoded.values().map(BTreeMap::len).sum()
    }
}

/// Whether decisions or writes need the body of `stored`, with `latest`
/// the newest revision: the latest, deployed and pending ones.
fn needed(stored: &StoredRelease, latest: i64) -> bool {
    let status = stored.release.status();
    stored.release.version >= latest || status == super::Status::Deployed || status.is_pending()
}

/// What of `stored` is kept decoded, with `latest` the newest revision:
/// all of it when [`needed`], else its [`summary`].
fn kept_form(stored: &StoredRelease, latest: i64) -> StoredRelease {
    if needed(stored, latest) {
        stored.clone()
    } else {
        summary(stored)
    }
}

/// `stored` without its body: what status reports and history decisions
/// read (status, dates, description, chart metadata, how hooks ran).
fn summary(stored: &StoredRelease) -> StoredRelease {
    let r = &stored.release;
    let chart = r.chart.as_ref().map(|c| {
        let mut c = c.clone();
        c.templates.clear();
        c.files.clear();
        c.values = serde_json::Value::Null;
        c.schema = serde_json::Value::Null;
        c
    });
    let hooks = r
        .hooks
        .iter()
        .map(|h| {
            let mut h = h.clone();
            h.manifest.clear();
            h
        })
        .collect();
    StoredRelease {
        release: Release {
            chart,
            config: Default::default(),
            manifest: String::new(),
            hooks,
            ..r.clone()
        },
        annotations: stored.annotations.clone(),
        parked: stored.parked,
        slim: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::memory::record;

    fn meta(rv: &str) -> RecordMeta {
        RecordMeta {
            resource_version: rv.into(),
            kept: BTreeMap::new(),
        }
    }

    #[test]
    fn answers_only_once_synced_and_within_its_namespace() {
        let c = HistoryCache::new(Some("a".into()));
        assert_eq!(c.listing("a", "app"), None);
        c.relist_started();
        c.seen("a", "app", 1, meta("10"));
        c.relist_done();
        assert_eq!(c.listing("a", "app").map(|l| l.len()), Some(1));
        assert_eq!(c.listing("a", "other"), Some(BTreeMap::new()));
        assert_eq!(c.listing("b", "app"), None);
    }

    #[test]
    fn the_index_gives_back_each_records_version_and_kept_labels() {
        let c = HistoryCache::new(None);
        c.relist_started();
        let labelled = RecordMeta {
            resource_version: "12".into(),
            kept: [
                ("createdAt".to_string(), "1765000000".to_string()),
                ("owner".to_string(), "helm".to_string()),
            ]
            .into(),
        };
        c.seen("a", "app", 1, meta("10"));
        c.seen("a", "app", 2, labelled.clone());
        c.relist_done();
        let listing = c.listing("a", "app").expect("synced");
        assert_eq!(listing.get(&1), Some(&meta("10")));
        assert_eq!(listing.get(&2), Some(&labelled));
    }

    #[test]
    fn a_decoded_record_is_used_only_at_its_resource_version() {
        let c = HistoryCache::new(None);
        c.set_synced(true);
        let r = record(1, "deployed");
        c.remember("a", meta("10"), &r);
        assert!(c.decoded("a", "app", 1, "10").is_some());
        // Another writer changed it (seen by the watch).
        c.seen("a", "app", 1, meta("12"));
        assert!(c.decoded("a", "app", 1, "12").is_none());
        // A late event older than what is known changes nothing.
        c.seen("a", "app", 1, meta("11"));
        assert_eq!(
            c.listing("a", "app").and_then(|l| l.get(&1).cloned()),
            Some(meta("12"))
        );
        c.gone("a", "app", 1);
        assert_eq!(c.listing("a", "app"), Some(BTreeMap::new()));
        assert_eq!(c.decoded_len(), 0);
    }

    #[test]
    fn only_the_latest_deployed_and_pending_revisions_are_kept_whole() {
        let c = HistoryCache::new(None);
        c.set_synced(true);
        let body = |v: i64, status: &str| {
            let mut r = record(v, status);
            r.release.manifest = format!("kind: ConfigMap # {v}");
            r
        };
        c.remember("a", meta("10"), &body(1, "superseded"));
        c.remember("a", meta("11"), &body(2, "deployed"));
        c.remember("a", meta("12"), &body(3, "failed"));
        // Revision 1 was the latest when kept; a read trims it.
        c.trim("a", "app");
        let one = c.decoded("a", "app", 1, "10").expect("revision 1");
        assert!(one.slim && one.release.manifest.is_empty());
        assert_eq!(one.release.status(), crate::release::Status::Superseded);
        assert!(!c.decoded("a", "app", 2, "11").expect("2").slim);
        assert!(!c.decoded("a", "app", 3, "12").expect("3").slim);
        // Revision 4 goes live: 2 is superseded, 3 no longer the latest.
        c.remember("a", meta("13"), &body(2, "superseded"));
        c.remember("a", meta("14"), &body(4, "deployed"));
        c.trim("a", "app");
        assert_eq!(c.whole_len(), 1);
        assert!(!c.decoded("a", "app", 4, "14").expect("4").slim);
    }

    #[test]
    fn whole_records_of_releases_not_read_lately_are_packed_and_read_back_equal() {
        let c = HistoryCache::new(None);
        c.set_synced(true);
        let body = |name: &str| {
            let mut r = record(1, "deployed");
            r.release.name = name.into();
            r.release.manifest = format!("kind: ConfigMap # {name}");
            r.annotations.insert("rudder.dev/x".into(), name.into());
            r
        };
        for i in 0..=HOT_RELEASES {
            c.remember("a", meta("10"), &body(&format!("app{i}")));
        }
        // The first one written is the coldest: packed, still whole.
        assert_eq!(c.packed_len(), 1);
        assert_eq!(c.whole_len(), HOT_RELEASES + 1);
        let back = c.decoded("a", "app0", 1, "10").expect("app0");
        assert!(!back.slim);
        assert_eq!(back.release, body("app0").release);
        assert_eq!(back.annotations, body("app0").annotations);
        // Read, it is hot again, and the next coldest (app1) is packed.
        assert_eq!(c.packed_len(), 1);
        assert!(c.decoded("a", "app1", 1, "10").is_some());
        assert_eq!(c.packed_len(), 1);
        // A packed record of another resource version is no answer.
        assert!(c.decoded("a", "app2", 1, "11").is_none());
    }

    #[test]
    fn packed_records_of_one_chart_share_its_contents() {
        let c = HistoryCache::new(None);
        c.set_synced(true);
        let stored = |name: &str, template: &str| {
            let mut r = record(1, "deployed");
            r.release.name = name.into();
            r.release.manifest = format!("kind: ConfigMap # {name}");
            let chart = r.release.chart.get_or_insert_with(Default::default);
            chart.templates = vec![ChartFile {
                name: "templates/cm.yaml".into(),
                data: template.into(),
                extra: Default::default(),
            }];
            chart.values = serde_json::json!({"replicas": 1});
            r
        };
        // Two releases of one chart and one of another, then enough
        // others to pack all three.
        let (one, other) = ("a2luZDogQ29uZmlnTWFw", "b3RoZXI=");
        c.remember("a", meta("10"), &stored("first", one));
        c.remember("a", meta("10"), &stored("second", one));
        c.remember("a", meta("10"), &stored("third", other));
        for i in 0..HOT_RELEASES {
            c.remember("a", meta("10"), &stored(&format!("hot{i}"), "aG90"));
        }
        assert_eq!(c.packed_len(), 3);
        assert_eq!(c.shared_charts(), 2);
        // Each comes back whole, equal to what was kept.
        for (name, template) in [("first", one), ("second", one), ("third", other)] {
            let back = c.decoded("a", name, 1, "10").expect(name);
            assert_eq!(back.release, stored(name, template).release, "{name}");
        }
    }

    #[test]
    fn the_reused_deflate_round_trips_and_refuses_cut_data() {
        let mut z = Zip::default();
        // Noise deflates poorly: the output outgrows its first guess.
        let noisy: Vec<u8> = (0u32..40_000)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let text = "kind: ConfigMap\n".repeat(2_000).into_bytes();
        for input in [&noisy, &text, &noisy] {
            let packed = z.pack(input).expect("deflated");
            assert_eq!(z.unpack(&packed).as_ref(), Some(input));
        }
        let packed = z.pack(&text).expect("deflated");
        assert_eq!(z.unpack(&packed[..packed.len() / 2]), None);
    }

    #[test]
    fn a_relist_drops_what_is_gone() {
        let c = HistoryCache::new(None);
        c.set_synced(true);
        c.remember("a", meta("10"), &record(1, "superseded"));
        c.remember("a", meta("11"), &record(2, "deployed"));
        assert_eq!(c.decoded_len(), 2);
        c.relist_started();
        c.seen("a", "app", 2, meta("11"));
        c.relist_done();
        assert_eq!(c.decoded_len(), 1);
        assert!(c.decoded("a", "app", 2, "11").is_some());
        c.set_synced(false);
        assert_eq!(c.listing("a", "app"), None);
        assert_eq!(c.decoded_len(), 0);
    }
}
