//! Shared helpers for the example programs.
#![forbid(unsafe_code)]
