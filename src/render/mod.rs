//! Rendering charts exactly as Helm v4 does: our own Go text/template engine
//! ([`gotmpl`]), Sprig and Helm functions ([`sprig`], [`helmfuncs`]), the
//! Tera engine for `engine: tera` charts ([`tera`]) and manifest
//! splitting/ordering ([`manifest`]), over Go's data model
//! ([`crate::godata`]). Nothing here talks to the cluster: `lookup` reads
//! it through the [`lookup::Lookup`] the caller hands in.

pub mod context;
pub mod execute;
pub mod funcs;
pub mod gotmpl;
mod headscan;
pub mod helmfuncs;
pub mod job;
pub mod lookup;
pub mod manifest;
pub mod parse_ahead;
pub mod sprig;
pub mod tera;

/// Stack size of a render thread. Rendering is recursive (nested
/// `include`/`tpl`/`template` calls, deep values), and a chart may recurse
/// up to the engine's depth limits: a render thread gets a stack large enough
/// for those limits to fail cleanly instead of overflowing. Only the pages
/// used are committed.
pub const RENDER_STACK: usize = 256 * 1024 * 1024;

/// Runs `job` on a new thread with [`RENDER_STACK`] of stack and returns its
/// handle. Values are `Rc`-based, so a whole render (load, coalesce,
/// execute) belongs on one thread; the result must be `Send`.
pub fn spawn_render<T, F>(job: F) -> std::io::Result<std::thread::JoinHandle<T>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    spawn_named("render", job)
}

/// A thread named `name` with [`RENDER_STACK`] of stack, running `job`.
fn spawn_named<T, F>(name: &str, job: F) -> std::io::Result<std::thread::JoinHandle<T>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    std::thread::Builder::new()
        .name(name.into())
        .stack_size(RENDER_STACK)
        .spawn(job)
}

/// Spawns `job` on a helper thread that is to run beside the calling
/// thread (both busy at once), with [`RENDER_STACK`] of stack.
///
/// Linux queues a new thread on its parent's CPU. Either it waits there
/// while the parent stays busy, until another CPU pulls it at its next
/// balancing tick (the head reader measured 1.5–3 ms late, longer than the
/// work it was to take over), or it runs first and the parent waits (the
/// template parser's caller measured 0.7 ms late). So the helper is kept
/// off the caller's CPU twice over: the caller confines it right after the
/// spawn (in case it has not run yet), and the helper confines itself as
/// its first act (in case it ran first). It stays there for its life,
/// which is one render.
pub fn spawn_helper<T, F>(name: &str, job: F) -> std::io::Result<std::thread::JoinHandle<T>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let others = if PLACE_HELPERS.load(std::sync::atomic::Ordering::Relaxed) {
        OtherCpus::of_caller()
    } else {
        None
    };
    let handle = spawn_named(name, move || {
        if let Some(cpus) = &others {
            cpus.confine_self();
        }
        job()
    })?;
    if let Some(cpus) = &others {
        cpus.confine(&handle);
    }
    Ok(handle)
}

/// Whether helper threads are kept off their caller's CPU: set by the
/// one-shot `rudder template` only; the operator leaves thread placement to
/// the kernel.
static PLACE_HELPERS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Keeps helper threads off their caller's CPU from now on (see
/// [`spawn_helper`]); for one-shot processes only.
pub fn place_helpers_off_caller() {
    PLACE_HELPERS.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// The CPUs the calling thread may use, less the one it runs on.
#[derive(Clone, Copy)]
struct OtherCpus(#[cfg(all(target_os = "linux", target_env = "gnu"))] libc::cpu_set_t);

#[cfg(all(target_os = "linux", target_env = "gnu"))]
impl OtherCpus {
    const SIZE: usize = std::mem::size_of::<libc::cpu_set_t>();

    /// `None` when that set is empty or the calls fail (a helper then
    /// merely starts later).
    fn of_caller() -> Option<OtherCpus> {
        // SAFETY: `cpu_set_t` is plain data (all-zero is the empty set);
        // each call gets a pointer to a live set of `SIZE` bytes, and the
        // CPU index passed to `CPU_CLR` comes from the kernel and is
        // checked against the set's capacity.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, Self::SIZE, &mut set) != 0 {
                return None;
            }
            let current = usize::try_from(libc::sched_getcpu()).ok()?;
            if current >= 8 * Self::SIZE {
                return None;
            }
            libc::CPU_CLR(current, &mut set);
            (libc::CPU_COUNT(&set) > 0).then_some(OtherCpus(set))
        }
    }

    /// Restricts the calling thread to these CPUs (best effort).
    fn confine_self(&self) {
        // SAFETY: a pointer to a live set of `SIZE` bytes; 0 is this thread.
        unsafe {
            libc::sched_setaffinity(0, Self::SIZE, &self.0);
        }
    }

    /// Restricts `thread` to these CPUs (best effort).
    fn confine<T>(&self, thread: &std::thread::JoinHandle<T>) {
        use std::os::unix::thread::JoinHandleExt;
        // SAFETY: a pointer to a live set of `SIZE` bytes; `as_pthread_t`
        // names a thread that has not been joined (the handle is
        // borrowed), so the id is valid.
        unsafe {
            libc::pthread_setaffinity_np(thread.as_pthread_t(), Self::SIZE, &self.0);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
impl OtherCpus {
    fn of_caller() -> Option<OtherCpus> {
        None
    }

    fn confine_self(&self) {}

    fn confine<T>(&self, _thread: &std::thread::JoinHandle<T>) {}
}

/// Helm's `TemplateName` (`--name-template`): the text run as a Go
/// template with Sprig's functions and no data.
pub fn name_template(text: &str) -> Result<String, String> {
    let funcs = gotmpl::FuncTable::from_specs(sprig::functions());
    let mut set = gotmpl::TemplateSet::with_funcs(funcs);
    set.parse("name-template", text)
        .map_err(|e| e.to_string())?;
    set.execute_raw("name-template", &crate::godata::value::Value::Nil)
        .map_err(|e| e.to_string())
}
