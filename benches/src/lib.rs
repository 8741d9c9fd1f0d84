//! Shared helpers for the criterion benches: a heap-allocation counter.
//!
//! Each bench binary installs the instrumented allocator with
//! [`install_counting_allocator!`] and measures one operation with
//! [`allocations`].
#![forbid(unsafe_code)]

pub use stats_alloc;

/// Installs `stats_alloc`'s instrumented system allocator as the global
/// allocator of the calling bench binary, in a static named `GLOBAL`.
#[macro_export]
macro_rules! install_counting_allocator {
    () => {
        #[global_allocator]
        static GLOBAL: &$crate::stats_alloc::StatsAlloc<::std::alloc::System> =
            &$crate::stats_alloc::INSTRUMENTED_SYSTEM;
    };
}

/// Heap allocations (plus reallocations) made while running `f` once, as seen
/// by the global `StatsAlloc` `alloc` (see [`install_counting_allocator!`]).
pub fn allocations<R>(
    alloc: &'static stats_alloc::StatsAlloc<std::alloc::System>,
    f: impl FnOnce() -> R,
) -> (R, usize) {
    let region = stats_alloc::Region::new(alloc);
    let r = f();
    let stats = region.change();
    (r, stats.allocations + stats.reallocations)
}
