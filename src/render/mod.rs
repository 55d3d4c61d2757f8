//! Rendering charts exactly as Helm v4 does: our own Go text/template engine
//! ([`gotmpl`]), Sprig and Helm functions ([`sprig`], [`helmfuncs`]), YAML and JSON
//! as Helm reads and writes them ([`yaml`], [`json`]), the Tera engine for
//! `engine: tera` charts ([`tera`]) and manifest splitting/ordering ([`manifest`]).
//! Nothing here talks to the cluster.

pub mod context;
pub mod driver;
pub mod funcs;
pub mod gofmt;
pub mod gotmpl;
mod headscan;
pub mod helmfuncs;
pub mod json;
pub mod manifest;
pub mod run;
pub mod sprig;
pub mod tera;
pub mod toml;
pub mod value;
pub mod yaml;

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
/// Linux queues a new thread on its parent's CPU; while the parent stays
/// busy the other CPUs stay idle and only pull the new thread at their next
/// balancing tick, so the helper measured 1.5–3 ms late, longer than the
/// work it was to take over. The helper is therefore moved to the other
/// CPUs the caller may use (when there are any) before it first runs, and
/// stays there for its life, which is one render.
pub fn spawn_helper<T, F>(name: &str, job: F) -> std::io::Result<std::thread::JoinHandle<T>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let handle = spawn_named(name, job)?;
    place_beside_caller(&handle);
    Ok(handle)
}

/// Restricts `thread` to the CPUs the calling thread may use, less the one
/// it runs on; leaves it as it is when that set would be empty or the
/// calls fail (the helper then merely starts later).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn place_beside_caller<T>(thread: &std::thread::JoinHandle<T>) {
    use std::os::unix::thread::JoinHandleExt;
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `cpu_set_t` is plain data (all-zero is the empty set); every
    // call gets a pointer to a live set of `size` bytes, the CPU index
    // passed to `CPU_CLR` comes from the kernel and is checked against the
    // set's capacity, and `as_pthread_t` names a thread that has not been
    // joined (the handle is borrowed), so the id is valid.
    unsafe {
        let mut others: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut others) != 0 {
            return;
        }
        let Ok(current) = usize::try_from(libc::sched_getcpu()) else {
            return;
        };
        if current >= 8 * size {
            return;
        }
        libc::CPU_CLR(current, &mut others);
        if libc::CPU_COUNT(&others) == 0 {
            return;
        }
        libc::pthread_setaffinity_np(thread.as_pthread_t(), size, &others);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn place_beside_caller<T>(_thread: &std::thread::JoinHandle<T>) {}
