//! The `rudder` binary: everything lives in the library; see [`rudder::cli`].

fn main() -> std::process::ExitCode {
    two_malloc_arenas();
    rudder::cli::main()
}

/// glibc gives every thread that allocates its own arena, grown by one
/// `mprotect` call per 128 KiB step: rendering argo-cd on a render thread
/// of its own made about 1,300 of them. So `rudder template` renders on the
/// main thread (whose arena grows with `brk`), and glibc may make one more
/// arena, shared by every other thread: the head reader of a large chart
/// then allocates beside the render without waiting for its lock (argo-cd
/// 25.0 -> 23.0 ms median; with a single arena for both it measured no
/// faster than reading inline).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn two_malloc_arenas() {
    // SAFETY: `mallopt` only sets an allocator parameter; it is called
    // first thing in `main`, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn two_malloc_arenas() {}
