//! The `rudder` binary: everything lives in the library; see [`rudder::cli`].

fn main() -> std::process::ExitCode {
    one_malloc_arena();
    rudder::cli::main()
}

/// glibc gives every thread that allocates its own arena, grown by one
/// `mprotect` call per 128 KiB step: rendering argo-cd on the render thread
/// made about 1,300 of them. One arena measured ~5% less time and ~9% less
/// peak memory on that chart. The price is one lock for every thread's
/// allocations, so rudder keeps allocation-heavy work on one thread: the
/// head reader runs beside the render thread only for large charts, and
/// template parsing is not split across threads (measured slower).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_malloc_arena() {
    // SAFETY: `mallopt` only sets an allocator parameter; it is called
    // first thing in `main`, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_malloc_arena() {}
