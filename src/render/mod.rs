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
/// thread (both busy at once), with [`RENDER_STACK`] of stack; the kernel
/// places it.
pub fn spawn_helper<T, F>(name: &str, job: F) -> std::io::Result<std::thread::JoinHandle<T>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    spawn_named(name, job)
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
