//! Parsing a chart tree's Go templates on a second thread while the
//! calling thread reads the user's values, processes dependencies and
//! coalesces values (`rudder template`).
//!
//! Parsing a file needs only its name and text (and the function table),
//! not the values. [`ParseAhead::start`] lends every Go template of the
//! loaded chart tree to a helper thread, largest first; when the caller is
//! ready to parse, [`ParseAhead::finish`] parses the files the helper has
//! not reached yet on the calling thread too, joins the helper and returns
//! every file's result. The driver uses a result only for a template it
//! queued with the same name and the very same text; anything else (an
//! aliased subchart, a disabled one) is parsed or skipped as before, so
//! the set of templates, their order and the errors are Helm's.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::chart::Chart;
use crate::render::gotmpl::FuncTable;
use crate::render::gotmpl::parse::{self, ParseError, Tree};

/// Template text below which parsing ahead does not pay for its thread
/// (starting it, and the helper's first page faults in an arena of its
/// own): scaffold-sized charts parse in a tenth of a millisecond.
pub const PARSE_AHEAD_BYTES: usize = 64 * 1024;

/// Template text above which parsing ahead is not done either. The helper
/// parses from a copy of each text (an `Rc` of its own for its trees to
/// point into), and its trees live in a second malloc arena: on argo-cd
/// (2.1 MB of templates) that was 1.5–1.8 MB more peak memory for 2% less
/// time, where execution, not parsing, is most of the run.
pub const PARSE_AHEAD_MAX_BYTES: usize = 256 * 1024;

/// One file's parse: its trees by template name, or Go's parse error.
pub type Trees = Result<HashMap<Rc<str>, Rc<Tree>>, ParseError>;

/// Every file parsed ahead, by template name: the text it was parsed from
/// (the chart's own `Rc`, to compare with a job's by address) and the
/// result.
pub type Parsed = HashMap<String, (Rc<str>, Trees)>;

/// A template's text lent to the helper thread.
struct LentText(*const str);

// SAFETY: the pointer is into an `Rc<str>` that `ParseAhead::texts` keeps
// alive until the helper has been joined (in `finish`, or in `drop` for a
// render that failed before parsing). Nobody writes to a `str` behind an `Rc`, and the
// helper only reads the bytes; it never touches the `Rc` or its counts.
unsafe impl Send for LentText {}
// SAFETY: as above; shared reads of immutable bytes.
unsafe impl Sync for LentText {}

/// A file's result from the helper thread.
struct FromHelper(usize, Trees);

// SAFETY: every `Rc` in a `FromHelper` (the trees, their names, and the
// helper's copy of the source text that the trees point into) was created
// by the helper while parsing that one file, and the helper keeps no clone
// of any of them (the parser's scratch stacks hold no nodes between
// parses). The whole graph moves to the joining thread at once, after the
// helper has finished (`join` orders every count update before it), so no
// count is ever touched by two threads.
unsafe impl Send for FromHelper {}

/// The files, shared by both threads.
struct Work {
    /// Template name and text, largest first (so the two threads finish
    /// close together).
    files: Vec<(String, LentText)>,
    /// The next file not yet claimed by either thread.
    next: AtomicUsize,
}

impl Work {
    /// Claims the next unparsed file.
    fn claim(&self) -> Option<usize> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.files.len()).then_some(i)
    }
}

/// Templates being parsed on a helper thread.
pub struct ParseAhead {
    work: Arc<Work>,
    /// The texts lent in `work`, by index.
    texts: Vec<Rc<str>>,
    worker: Option<std::thread::JoinHandle<Vec<FromHelper>>>,
}

impl ParseAhead {
    /// Starts parsing the Go templates of `chart` and of its vendored
    /// subcharts (named as the driver names them before aliases) on a
    /// helper thread; `None` when there is too little or too much to parse
    /// or no thread could be started.
    pub fn start(chart: &Chart) -> Option<ParseAhead> {
        let mut files = Vec::new();
        collect(chart, chart.name(), &mut files);
        let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
        if !(PARSE_AHEAD_BYTES..=PARSE_AHEAD_MAX_BYTES).contains(&bytes) {
            return None;
        }
        files.sort_by_key(|(_, text)| std::cmp::Reverse(text.len()));
        let (names, texts): (Vec<String>, Vec<Rc<str>>) = files.into_iter().unzip();
        let lent = names
            .into_iter()
            .zip(&texts)
            .map(|(name, text)| (name, LentText(Rc::as_ptr(text))))
            .collect();
        let work = Arc::new(Work {
            files: lent,
            next: AtomicUsize::new(0),
        });
        let shared = work.clone();
        let worker = crate::render::spawn_helper("parse", move || {
            let funcs = FuncTable::standard();
            let mut done = Vec::new();
            while let Some(i) = shared.claim() {
                let (name, text) = &shared.files[i];
                // SAFETY: see `LentText`; the text outlives this thread.
                let text: &str = unsafe { &*text.0 };
                done.push(FromHelper(i, parse::parse(name, text, &|n| funcs.has(n))));
            }
            done
        })
        .ok()?;
        Some(ParseAhead {
            work,
            texts,
            worker: Some(worker),
        })
    }

    /// Parses the files the helper has not claimed on this thread (with
    /// `funcs`), waits for the helper, and returns every file's result:
    /// none of the helper's if it panicked (the driver then parses those
    /// itself).
    pub fn finish(mut self, funcs: &FuncTable) -> Parsed {
        let mut results: Vec<Option<Trees>> = (0..self.texts.len()).map(|_| None).collect();
        while let Some(i) = self.work.claim() {
            let name = &self.work.files[i].0;
            results[i] = Some(parse::parse_shared(name, &self.texts[i], &|n| funcs.has(n)));
        }
        if let Some(Ok(theirs)) = self.worker.take().map(|w| w.join()) {
            for FromHelper(i, trees) in theirs {
                results[i] = Some(trees);
            }
        }
        let texts = std::mem::take(&mut self.texts);
        self.work
            .files
            .iter()
            .zip(texts)
            .zip(results)
            .filter_map(|(((name, _), text), trees)| Some((name.clone(), (text, trees?))))
            .collect()
    }
}

impl Drop for ParseAhead {
    /// Unfinished (the render failed before parsing): the helper stops
    /// after its current file and is joined before the texts it reads are
    /// freed.
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            self.work
                .next
                .store(self.work.files.len(), Ordering::Relaxed);
            // Its results (or panic) are dropped here, on this thread.
            let _ = worker.join();
        }
    }
}

/// The Go templates of `chart` (named under `path`) and of its subcharts.
fn collect(chart: &Chart, path: &str, out: &mut Vec<(String, Rc<str>)>) {
    for dep in &chart.dependencies {
        collect(dep, &format!("{path}/charts/{}", dep.name()), out);
    }
    if chart.metadata.engine == "tera" {
        return;
    }
    for t in chart.render_templates() {
        out.push((format!("{path}/{}", t.name), t.text()));
    }
}
