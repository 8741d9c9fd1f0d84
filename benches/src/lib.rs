//! Shared inputs and a counting allocator for the criterion benches.
#![forbid(unsafe_code)]
