//! The `rudder` binary: everything lives in the library; see [`rudder::cli`].

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = rudder::cli::Cli::parse();
    set_malloc_arenas(cli.command.malloc_arenas());
    rudder::cli::dispatch(cli)
}

/// glibc gives every thread that allocates its own arena, grown by one
/// `mprotect` call per 128 KiB step: rendering argo-cd on a render thread
/// made about 1,300 of them. One arena measured ~5% less time and ~9% less
/// peak memory on that chart, at the price of one lock for every thread's
/// allocations; so the operator, which renders on render threads, keeps
/// one. `rudder template` renders on the main thread (whose arena grows
/// with `brk`) and gets a second arena for its helper thread (the head
/// reader of a large chart), which then allocates without waiting for the
/// render's lock: argo-cd 25.0 -> 23.0 ms median, where with a single arena
/// the helper measured no faster than reading inline.
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
