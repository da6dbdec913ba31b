//! The ROOT file container: header, directories and keys.

use crate::compress;
use crate::cursor::{Cursor, DResult};
use crate::error::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};

/// One entry of a directory: a named, cycled object stored in the file.
#[derive(Debug, Clone)]
pub struct Key {
    /// Path from the top directory, `dir/sub/name` (no cycle).
    pub path: String,
    /// Object name.
    pub name: String,
    /// Cycle number (ROOT's object version within a directory).
    pub cycle: i16,
    /// Class of the stored object, e.g. `TTree`.
    pub class_name: String,
    /// Object title.
    pub title: String,
    pub(crate) seek_key: i64,
    pub(crate) nbytes: i32,
    pub(crate) objlen: i32,
    pub(crate) keylen: i16,
}

/// An open ROOT file, memory-mapped; the decoded key list of every directory.
pub struct RootFile {
    path: PathBuf,
    data: memmap2::Mmap,
    /// ROOT version that wrote the file, e.g. 62400.
    pub version: i32,
    /// The file's default compression setting (algorithm * 100 + level).
    pub compression: i32,
    keys: Vec<Key>,
}

pub(crate) struct KeyHeader {
    pub nbytes: i32,
    pub objlen: i32,
    pub keylen: i16,
    pub cycle: i16,
    pub seek_key: i64,
    pub class_name: String,
    pub name: String,
    pub title: String,
}

pub(crate) fn read_key_header(c: &mut Cursor) -> DResult<KeyHeader> {
    let nbytes = c.i32()?;
    let version = c.i16()?;
    let objlen = c.i32()?;
    let _datime = c.u32()?;
    let keylen = c.i16()?;
    let cycle = c.i16()?;
    let (seek_key, _seek_pdir) = if version > 1000 {
        (c.i64()?, c.i64()?)
    } else {
        (c.i32()? as i64, c.i32()? as i64)
    };
    let class_name = c.tstring()?;
    let name = c.tstring()?;
    let title = c.tstring()?;
    Ok(KeyHeader {
        nbytes,
        objlen,
        keylen,
        cycle,
        seek_key,
        class_name,
        name,
        title,
    })
}

impl RootFile {
    /// Opens and validates a ROOT file and reads all of its directories' keys.
    pub fn open(path: impl AsRef<Path>) -> Result<RootFile> {
        let path = path.as_ref();
        let f = std::fs::File::open(path)
            .map_err(|e| Error::new(ErrorKind::Io, path, format!("cannot open: {e}")))?;
        // SAFETY: the file is opened read-only; a concurrent writer could change
        // bytes under us, which only makes decoding fail, never memory-unsafe reads
        // beyond the mapping (all access is bounds-checked against its length).
        let data = unsafe { memmap2::Mmap::map(&f) }
            .map_err(|e| Error::new(ErrorKind::Io, path, format!("cannot map: {e}")))?;
        let mut file = RootFile {
            path: path.to_path_buf(),
            data,
            version: 0,
            compression: 0,
            keys: Vec::new(),
        };
        file.read_header()?;
        Ok(file)
    }

    fn read_header(&mut self) -> Result<()> {
        let len = self.data.len();
        if len < 4 || &self.data[..4] != b"root" {
            return Err(Error::new(
                ErrorKind::NotRoot,
                &self.path,
                "not a ROOT file (no 'root' magic at the start)",
            ));
        }
        let parsed: DResult<_> = (|| {
            let mut c = Cursor::at(&self.data, 4);
            let version = c.i32()?;
            let begin = c.i32()? as i64;
            let big = version >= 1_000_000;
            let end = if big { c.i64()? } else { c.i32()? as i64 };
            let _seek_free = if big { c.i64()? } else { c.i32()? as i64 };
            let _nbytes_free = c.i32()?;
            let _nfree = c.i32()?;
            let nbytes_name = c.i32()? as i64;
            let _units = c.u8()?;
            let compression = c.i32()?;
            Ok((version % 1_000_000, begin, end, nbytes_name, compression))
        })();
        let (version, begin, end, nbytes_name, compression) = parsed.map_err(|e| {
            Error::new(
                ErrorKind::Truncated,
                &self.path,
                format!("file header: {e}"),
            )
        })?;
        self.version = version;
        self.compression = compression;
        if end as usize > len {
            return Err(Error::new(
                ErrorKind::Truncated,
                &self.path,
                format!("file is truncated: it has {len} bytes but its header says it ends at byte {end}"),
            ));
        }
        let keys = self.read_directory((begin + nbytes_name) as usize, "")?;
        self.keys = keys;
        Ok(())
    }

    /// Reads the TDirectory record at `pos` and its key list, recursing into subdirectories.
    fn read_directory(&self, pos: usize, prefix: &str) -> Result<Vec<Key>> {
        let where_ = if prefix.is_empty() {
            "top directory".to_string()
        } else {
            format!("directory {prefix}")
        };
        let malformed = |e: crate::cursor::DecodeError| {
            Error::new(ErrorKind::Malformed, &self.path, e.0).at(where_.clone())
        };
        let mut c = Cursor::at(&self.data, pos);
        let seek_keys = (|| -> DResult<i64> {
            let version = c.i16()?;
            let _ctime = c.u32()?;
            let _mtime = c.u32()?;
            let _nbytes_keys = c.i32()?;
            let _nbytes_name = c.i32()?;
            let big = version > 1000;
            let rd = |c: &mut Cursor| -> DResult<i64> {
                if big {
                    c.i64()
                } else {
                    Ok(c.i32()? as i64)
                }
            };
            let _seek_dir = rd(&mut c)?;
            let _seek_parent = rd(&mut c)?;
            rd(&mut c)
        })()
        .map_err(malformed)?;
        if seek_keys <= 0 || seek_keys as usize >= self.data.len() {
            return Err(Error::new(
                ErrorKind::Truncated,
                &self.path,
                format!("key list at byte {seek_keys} is outside the file"),
            )
            .at(where_));
        }
        let mut c = Cursor::at(&self.data, seek_keys as usize);
        let headers = (|| -> DResult<Vec<KeyHeader>> {
            let list_key = read_key_header(&mut c)?;
            c.seek(seek_keys as usize + list_key.keylen as usize)?;
            let n = c.i32()?;
            if n < 0 {
                return crate::cursor::derr(format!("negative key count {n}"));
            }
            (0..n).map(|_| read_key_header(&mut c)).collect()
        })()
        .map_err(malformed)?;
        let mut out = Vec::new();
        for h in headers {
            let path = if prefix.is_empty() {
                h.name.clone()
            } else {
                format!("{prefix}/{}", h.name)
            };
            let is_dir = h.class_name == "TDirectoryFile" || h.class_name == "TDirectory";
            let key = Key {
                path: path.clone(),
                name: h.name,
                cycle: h.cycle,
                class_name: h.class_name,
                title: h.title,
                seek_key: h.seek_key,
                nbytes: h.nbytes,
                objlen: h.objlen,
                keylen: h.keylen,
            };
            out.push(key.clone());
            if is_dir {
                let sub =
                    self.read_directory((key.seek_key + key.keylen as i64) as usize, &path)?;
                out.extend(sub);
            }
        }
        Ok(out)
    }

    /// Path of the file on disk.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size of the file in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True for an empty mapping (never for a valid ROOT file).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// All keys of all directories, in file order.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// Keys of trees, highest cycle of each path only.
    pub fn tree_keys(&self) -> Vec<&Key> {
        let mut best: Vec<&Key> = Vec::new();
        for k in &self.keys {
            if !is_tree_class(&k.class_name) {
                continue;
            }
            match best.iter_mut().find(|b| b.path == k.path) {
                Some(b) if b.cycle < k.cycle => *b = k,
                Some(_) => {}
                None => best.push(k),
            }
        }
        best
    }

    /// Finds a tree key by `name`, `dir/name` or `name;cycle`.
    pub fn find_tree_key(&self, name: &str) -> Result<&Key> {
        let (base, cycle) = match name.rsplit_once(';') {
            Some((b, c)) => (b, c.parse::<i16>().ok()),
            None => (name, None),
        };
        let base = base.trim_start_matches('/');
        let found = match cycle {
            Some(cy) => self
                .keys
                .iter()
                .find(|k| k.path == base && k.cycle == cy && is_tree_class(&k.class_name)),
            None => self.tree_keys().into_iter().find(|k| k.path == base),
        };
        found.ok_or_else(|| {
            if let Some(k) = self.keys.iter().find(|k| k.path == base) {
                return Error::new(
                    ErrorKind::Unsupported,
                    &self.path,
                    format!("'{name}' is a {}, not a TTree", k.class_name),
                );
            }
            let avail: Vec<String> = self.tree_keys().iter().map(|k| k.path.clone()).collect();
            Error::new(
                ErrorKind::TreeNotFound,
                &self.path,
                format!(
                    "no tree named '{name}' (trees in this file: {})",
                    if avail.is_empty() {
                        "none".to_string()
                    } else {
                        avail.join(", ")
                    }
                ),
            )
        })
    }

    /// Raw bytes of the file at `[pos, pos+len)`, or a truncation error naming `what`.
    pub(crate) fn slice(&self, pos: i64, len: usize, what: &str) -> Result<&[u8]> {
        let found = u64::try_from(pos).ok().and_then(|p| self.bytes(p, len));
        match found {
            Some(b) => Ok(b),
            None => Err(Error::new(
                ErrorKind::Truncated,
                &self.path,
                format!(
                    "{what} at bytes {pos}..{} lies beyond the end of the file ({} bytes): truncated or damaged file",
                    pos.saturating_add(len as i64),
                    self.data.len()
                ),
            )),
        }
    }

    /// Raw bytes at `[pos, pos+len)`, `None` past the end of the file.
    pub(crate) fn bytes(&self, pos: u64, len: usize) -> Option<&[u8]> {
        let s = usize::try_from(pos).ok()?;
        self.data.get(s..s.checked_add(len)?)
    }

    /// Decompressed payload of the object behind `key`.
    pub(crate) fn read_object(&self, key: &Key) -> Result<Vec<u8>> {
        let what = format!("{} '{}'", key.class_name, key.path);
        let clen = (key.nbytes - key.keylen as i32).max(0) as usize;
        let raw = self.slice(key.seek_key + key.keylen as i64, clen, &what)?;
        compress::decompress(raw, key.objlen.max(0) as usize)
            .map_err(|e| Error::new(ErrorKind::Malformed, &self.path, e.0).at(what))
    }
}

fn is_tree_class(c: &str) -> bool {
    matches!(
        c,
        "TTree" | "TNtuple" | "TNtupleD" | crate::rntuple::ANCHOR_CLASS
    )
}
