//! # hepae-root
//!
//! A columnar reader for ROOT `TTree`s. It parses the file header, directory
//! keys and the streamed `TTree` record (branches, leaves, embedded baskets)
//! itself, then decompresses baskets (zlib, lzma, lz4, zstd) in parallel and
//! decodes big-endian values straight into typed column buffers.
//!
//! ```no_run
//! let file = hepae_root::RootFile::open("nano.root")?;
//! let tree = file.tree("Events")?;
//! let pt = file.read_branch(&tree, tree.branch("Jet_pt").unwrap())?;
//! println!("{} events, {} jets", pt.entries(), pt.values.len());
//! # Ok::<(), hepae_root::Error>(())
//! ```

#![warn(missing_docs)]

mod compress;
mod cursor;
mod decode;
mod error;
mod file;
mod read;
mod rntuple;
mod streamed;
mod tree;
mod types;

pub use compress::describe_setting;
pub use error::{Error, ErrorKind, Result};
pub use file::{Key, RootFile};
pub use read::Column;
pub use rntuple::rntuple_file;
pub use tree::{Branch, Interpretation, Layout, Tree};
pub use types::{kept_runs, DType, Values};
