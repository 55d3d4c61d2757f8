//! The `rudder` binary: everything lives in the library; see [`rudder::cli`].

fn main() -> std::process::ExitCode {
    let cli = rudder::cli::Cli::from_env();
    if let Some(arenas) = cli.command.malloc_arenas() {
        set_malloc_arenas(arenas);
    }
    if cli.command.huge_page_heap() {
        heap_on_huge_pages(HUGE_HEAP_RESERVE);
    }
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
/// render's lock. Only `rudder template` sets this; the long-running
/// operator keeps glibc's defaults.
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

/// The size of a transparent huge page on x86-64 and arm64 (4 KiB base pages).
const HUGE_PAGE: usize = 2 << 20;

/// Address space the heap reserves for huge pages: more than the largest
/// corpus chart's heap (argo-cd, ~12 MiB). Only the 2 MiB pages actually
/// touched become resident.
const HUGE_HEAP_RESERVE: usize = 32 << 20;

/// Puts the main thread's malloc heap on transparent huge pages.
///
/// Each first touch of a 4 KiB page costs a fault (1.45 µs on the VMs we
/// measure on); rendering nginx faulted ~620 times and argo-cd ~3,850.
/// glibc can do this itself (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`), but
/// only from the environment at start-up, so we arrange it here, once,
/// before the heap is used:
///
/// 1. `M_TOP_PAD` makes the next `brk` growth reserve `reserve` bytes
///    beyond what is asked, and the trim threshold keeps them (both are
///    address space: untouched pages cost nothing).
/// 2. One allocation carves the heap's top chunk up to 64 bytes below the
///    next 2 MiB boundary, which forces that growth. It is never freed and
///    never written beyond its header, so it costs no memory, and every
///    later allocation from the top chunk starts at the boundary. (malloc
///    writes the new top chunk's header just after it: below the boundary,
///    where a 4 KiB page has no effect on the huge pages above.)
/// 3. `madvise(MADV_HUGEPAGE)` on the aligned part of the grown heap, before
///    anything there is touched, so the first touch of each 2 MiB block maps
///    a whole huge page.
///
/// Measured (interleaved medians): nginx 6.1 -> 5.3 ms (faults 618 -> 163),
/// argo-cd 20.9 -> 16.4 ms (3,856 -> 670); peak RSS grows by the unused
/// part of the last huge page (nginx 8.8 -> 10.5 MB, argo-cd 17.1 ->
/// 21.1 MB). Where transparent huge pages are off (`never`) or the heap is
/// not where `brk` says (a failed `brk` falls back to `mmap`), the advice
/// is skipped or ignored and only address space is spent.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn heap_on_huge_pages(reserve: usize) {
    // Big enough for the carving allocation (at most 2 MiB + 4 KiB plus the
    // current top chunk, which is ~132 KiB at start-up) to come
    // from the heap rather than from its own mapping.
    const CARVE_MMAP_THRESHOLD: i32 = 4 << 20;
    // glibc's default, restored after the carving allocation.
    const DEFAULT_MMAP_THRESHOLD: i32 = 128 << 10;
    let reserve_i32 = i32::try_from(reserve).unwrap_or(i32::MAX);
    // SAFETY: `mallopt`, `sbrk(0)` and `mallinfo2` only read or set
    // allocator state; `madvise(MADV_HUGEPAGE)` only changes how the kernel
    // backs pages of our own heap, and is a hint that cannot invalidate
    // memory. This runs on the main thread before any other thread exists.
    // The carved block is deliberately leaked.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, reserve_i32);
        libc::mallopt(libc::M_TRIM_THRESHOLD, reserve_i32.saturating_mul(2));
        libc::mallopt(libc::M_MMAP_THRESHOLD, CARVE_MMAP_THRESHOLD);
        let end_before = libc::sbrk(0) as usize;
        // `keepcost` is the size of the top chunk, which ends at the break.
        let top_start = end_before.saturating_sub(libc::mallinfo2().keepcost);
        // The first 2 MiB boundary past the break: the carving allocation
        // must outgrow the top chunk to make malloc take the reserve.
        let boundary = (end_before + 4096).next_multiple_of(HUGE_PAGE);
        // The chunk spans top_start..boundary - 64 (8 bytes of header).
        let carve = boundary - 64 - top_start - 8;
        let carved = libc::malloc(carve);
        let end_after = libc::sbrk(0) as usize;
        libc::mallopt(libc::M_MMAP_THRESHOLD, DEFAULT_MMAP_THRESHOLD);
        let huge_end = end_after / HUGE_PAGE * HUGE_PAGE;
        let from_heap = carved as usize == top_start + 16 && end_after > end_before;
        if from_heap && huge_end > boundary {
            libc::madvise(
                boundary as *mut libc::c_void,
                huge_end - boundary,
                libc::MADV_HUGEPAGE,
            );
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn heap_on_huge_pages(_reserve: usize) {}
