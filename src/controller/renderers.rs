//! The operator's render threads, and the loaded charts they keep.
//!
//! A chart is `Rc`-based, so it lives on one thread. Each render thread
//! (a big stack: a chart recursing to the engine's limits must fail, not
//! crash rudder) keeps the charts it loaded, by the digests of the archive
//! and its fetched dependencies, and every render of the same chart goes
//! to the same thread: an upgrade storm over many releases of one chart
//! unpacks and loads it once, and parses each template file once (the
//! thread's parse cache, [`crate::render::execute`], keys parsed files by
//! their shared text). A render takes a fresh copy of the cached
//! chart (files are shared, values are copied, since coalescing writes into
//! them). Threads start on first use.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, OnceLock, mpsc};

use prometheus::IntCounter;

use serde_json::{Map as JsonMap, Value as Json};

use super::release_failure::Failure;
use super::sources::{PulledChart, load_pulled};
use crate::action::RenderOptions;
use crate::chart::Chart;
use crate::release::build::{Built, build};

/// Charts each render thread keeps (least recently used dropped first).
const CHARTS_PER_THREAD: usize = 16;

/// One render request.
struct Job {
    /// [`PulledChart::digests`] of `pulled`: the cache key.
    key: String,
    pulled: PulledChart,
    config: JsonMap<String, Json>,
    opts: RenderOptions,
    reply: tokio::sync::oneshot::Sender<Result<Built, Failure>>,
}

/// Render threads with their chart caches.
pub struct Renderers {
    threads: usize,
    senders: OnceLock<Result<Vec<Mutex<mpsc::Sender<Job>>>, String>>,
    loads: IntCounter,
    parses: IntCounter,
}

impl Renderers {
    /// `threads` render threads (at least one), started on first use;
    /// `loads` counts charts loaded from their archives and `parses`
    /// template files parsed (cache misses both).
    pub fn new(threads: usize, loads: IntCounter, parses: IntCounter) -> Renderers {
        Renderers {
            threads: threads.max(1),
            senders: OnceLock::new(),
            loads,
            parses,
        }
    }

    /// One thread per CPU, at most four.
    pub fn for_this_machine(loads: IntCounter, parses: IntCounter) -> Renderers {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Renderers::new(cpus.min(4), loads, parses)
    }

    /// How many template files the render threads parsed.
    pub fn parses(&self) -> u64 {
        self.parses.get()
    }

    /// How many times a chart was loaded from its archive (cache misses).
    pub fn loads(&self) -> u64 {
        self.loads.get()
    }

    /// Renders `pulled` with `config` as `helm install`/`upgrade` would.
    pub async fn build(
        &self,
        pulled: PulledChart,
        config: JsonMap<String, Json>,
        opts: RenderOptions,
    ) -> Result<Built, Failure> {
        let senders = self
            .senders
            .get_or_init(|| self.start())
            .as_ref()
            .map_err(|e| Failure::RenderThread(format!("cannot start render thread: {e}")))?;
        let key = pulled.digests();
        let (reply, rx) = tokio::sync::oneshot::channel();
        let sent = senders[shard(&key, senders.len())]
            .lock()
            .map_err(|_| ())
            .and_then(|tx| {
                tx.send(Job {
                    key,
                    pulled,
                    config,
                    opts,
                    reply,
                })
                .map_err(|_| ())
            });
        if sent.is_err() {
            return Err(Failure::RenderThread(
                "rendering template failed: render thread stopped".into(),
            ));
        }
        rx.await.map_err(|_| {
            Failure::RenderThread("rendering template failed: render thread panicked".into())
        })?
    }

    fn start(&self) -> Result<Vec<Mutex<mpsc::Sender<Job>>>, String> {
        (0..self.threads)
            .map(|_| {
                let (tx, rx) = mpsc::channel::<Job>();
                let (loads, parses) = (self.loads.clone(), self.parses.clone());
                crate::render::spawn_render(move || serve(rx, &loads, &parses))
                    .map(|_| Mutex::new(tx))
                    .map_err(|e| e.to_string())
            })
            .collect()
    }
}

/// A render thread's life: take jobs until every sender is gone. A job
/// that panics is answered by its dropped reply; the thread goes on.
fn serve(rx: mpsc::Receiver<Job>, loads: &IntCounter, parses: &IntCounter) {
    use crate::render::execute::parses_on_this_thread;
    let mut cache: VecDeque<(String, Chart)> = VecDeque::new();
    for job in rx {
        let before = parses_on_this_thread();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let chart = cached(&mut cache, &job.key, &job.pulled, loads)?;
            build(chart, &job.config, &job.opts).map_err(Failure::Build)
        }));
        parses.inc_by(parses_on_this_thread() - before);
        if let Ok(result) = result {
            // The receiver is gone only if the reconciliation was dropped.
            let _ = job.reply.send(result);
        }
    }
}

/// A fresh copy of the chart of `pulled` (cached as `key`), loaded on a miss.
fn cached(
    cache: &mut VecDeque<(String, Chart)>,
    key: &str,
    pulled: &PulledChart,
    loads: &IntCounter,
) -> Result<Chart, Failure> {
    if let Some(i) = cache.iter().position(|(k, _)| k == key) {
        let hit = cache
            .remove(i)
            .ok_or_else(|| Failure::RenderThread("chart cache".into()))?;
        let copy = fresh_copy(&hit.1);
        cache.push_front(hit);
        return Ok(copy);
    }
    let chart = load_pulled(pulled).map_err(Failure::Load)?;
    loads.inc();
    let copy = fresh_copy(&chart);
    cache.push_front((key.to_string(), chart));
    cache.truncate(CHARTS_PER_THREAD);
    Ok(copy)
}

/// A chart whose values (and its subcharts') are its own: rendering
/// coalesces user values into them.
fn fresh_copy(chart: &Chart) -> Chart {
    let mut c = chart.clone();
    c.values = chart.values.deep_copy();
    c.dependencies = chart.dependencies.iter().map(fresh_copy).collect();
    c
}

fn shard(key: &str, n: usize) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() % n.max(1) as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc as StdArc;

    fn counter() -> IntCounter {
        IntCounter::new("n", "test").expect("counter")
    }

    fn scaffold() -> PulledChart {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/charts/index/scaffold-0.1.0.tgz");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        PulledChart {
            name: "scaffold".into(),
            version: "0.1.0".into(),
            app_version: None,
            digest: crate::controller::sources::digest_of(&bytes),
            archive: StdArc::from(bytes.as_slice()),
            dependencies: Vec::new(),
            source_revision: None,
        }
    }

    fn opts(release: &str) -> RenderOptions {
        RenderOptions {
            release_name: release.into(),
            namespace: "ns".into(),
            revision: 2,
            is_upgrade: true,
            ..Default::default()
        }
    }

    /// Fifty releases of one chart, each with its own values: one load,
    /// each template file parsed once, and no render sees another's values.
    #[tokio::test]
    async fn an_upgrade_storm_loads_and_parses_a_chart_once() {
        let renderers = Renderers::new(2, counter(), counter());
        let pulled = scaffold();
        let mut first_parses = 0;
        for i in 0..50 {
            let mut config = JsonMap::new();
            config.insert("replicaCount".into(), Json::from(i + 1));
            let built = renderers
                .build(pulled.clone(), config, opts(&format!("r{i}")))
                .await
                .expect("renders");
            assert!(
                built.manifest.contains(&format!("replicas: {}", i + 1)),
                "release {i} sees its own values"
            );
            assert!(
                built.manifest.contains(&format!("r{i}-scaffold")),
                "release {i}"
            );
            if i == 0 {
                first_parses = renderers.parses();
            }
        }
        assert_eq!(renderers.loads(), 1);
        assert!(first_parses >= 5, "scaffold's files: {first_parses}");
        assert_eq!(renderers.parses(), first_parses, "parsed again");
    }

    #[tokio::test]
    async fn a_bad_archive_is_a_load_failure_and_the_thread_goes_on() {
        let renderers = Renderers::new(1, counter(), counter());
        let mut bad = scaffold();
        bad.archive = StdArc::from(&b"not a tarball"[..]);
        bad.digest = "sha256:bad".into();
        let err = renderers
            .build(bad, JsonMap::new(), opts("x"))
            .await
            .expect_err("not a chart");
        assert!(matches!(err, Failure::Load(_)), "{err}");
        renderers
            .build(scaffold(), JsonMap::new(), opts("x"))
            .await
            .expect("the thread still renders");
        assert_eq!(renderers.loads(), 1);
    }
}
