//! Byte-level helpers of the coded streams: zigzag, LEB128 varints, zstd,
//! and a cursor that names what it was reading when bytes run out.

use crate::{CompressError, Result};

/// Signed -> unsigned, small magnitudes to small numbers.
pub fn zigzag(r: i64) -> u64 {
    ((r << 1) ^ (r >> 63)) as u64
}

/// Inverse of [`zigzag`].
pub fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// Appends `v` as an LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// zstd at `level` (deterministic for a given library version; only the
/// encoder runs it, so the decoded bytes never depend on it).
pub fn zstd(bytes: &[u8], level: i32) -> Vec<u8> {
    zstd::bulk::compress(bytes, level).expect("zstd compresses in memory")
}

/// Decompresses a section of at most `limit` bytes.
pub fn unzstd(bytes: &[u8], limit: usize, what: &str) -> Result<Vec<u8>> {
    zstd::bulk::decompress(bytes, limit)
        .map_err(|e| CompressError::Artifact(format!("{what}: corrupt zstd section: {e}")))
}

/// Reads varints and raw bytes from a section.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    what: &'a str,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`; `what` names the section in errors.
    pub fn new(bytes: &'a [u8], what: &'a str) -> Reader<'a> {
        Reader { bytes, at: 0, what }
    }

    fn short(&self) -> CompressError {
        CompressError::Artifact(format!(
            "{}: truncated at byte {} of {}",
            self.what,
            self.at,
            self.bytes.len()
        ))
    }

    /// The next varint.
    pub fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.bytes.get(self.at).ok_or_else(|| self.short())?;
            self.at += 1;
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(CompressError::Artifact(format!(
            "{}: varint longer than 64 bits at byte {}",
            self.what, self.at
        )))
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).ok_or_else(|| self.short())?;
        let s = self.bytes.get(self.at..end).ok_or_else(|| self.short())?;
        self.at = end;
        Ok(s)
    }

    /// True when every byte was read.
    pub fn done(&self) -> bool {
        self.at == self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_zigzag_round_trip() {
        let vals = [0i64, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX];
        let mut out = Vec::new();
        for v in vals {
            put_varint(&mut out, zigzag(v));
        }
        let mut r = Reader::new(&out, "test");
        for v in vals {
            assert_eq!(unzigzag(r.varint().unwrap()), v);
        }
        assert!(r.done());
        assert!(r.varint().is_err());
    }
}
