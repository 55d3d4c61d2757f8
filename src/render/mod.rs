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
    std::thread::Builder::new()
        .name("render".into())
        .stack_size(RENDER_STACK)
        .spawn(job)
}
