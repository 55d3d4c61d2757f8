//! Growing the stack on demand for the engine's recursive walks (parse and
//! execution), so deep templates fail on the engine's depth limits instead
//! of overflowing.

/// Runs `f` with at least a red zone of stack left, growing the stack on
/// the heap when needed (deep template recursion must not overflow).
pub fn grow<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(256 * 1024, 8 * 1024 * 1024, f)
}
