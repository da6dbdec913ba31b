//! `lzma-sys` API served by `liblzma-sys`: a build shim so that oxyroot (via
//! xz2) and burn (via liblzma) link one copy of liblzma.
#![no_std]
pub use liblzma_sys::*;
