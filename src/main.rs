//! The `rudder` binary: everything lives in the library; see [`rudder::cli`].

fn main() -> std::process::ExitCode {
    let cli = rudder::cli::Cli::from_env();
    if let Some(arenas) = cli.command.malloc_arenas() {
        set_malloc_arenas(arenas);
    }
    rudder::cli::dispatch(cli)
}

/// glibc gives every thread that allocates its own arena, grown by one
/// `mprotect` call per 128 KiB step: rendering argo-cd on a render thread
/// made about 1,300 of them. `rudder template` renders on the main thread
/// (whose arena grows with `brk`) and gets a second arena for its helper
/// thread (the head reader of a large chart), which then allocates without
/// waiting for the render's lock. Only `rudder template` sets this
/// (`mallopt` is glibc's public interface); the long-running operator keeps
/// glibc's defaults.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_malloc_arenas(arenas: i32) {
    // SAFETY: `mallopt` only sets an allocator parameter; it is called
    // before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_malloc_arenas(_arenas: i32) {}
