//! Bounds-checked little-endian reading of RNTuple envelopes and frames.

use crate::cursor::{derr, Cursor, DResult};

/// A read position in an envelope's payload: the TTree reader's bounds-
/// checked [`Cursor`], read little-endian.
pub(crate) struct Le<'a>(pub Cursor<'a>);

macro_rules! le_reader {
    ($name:ident, $t:ty) => {
        pub fn $name(&mut self) -> DResult<$t> {
            const N: usize = std::mem::size_of::<$t>();
            let b = self.bytes(N)?;
            Ok(<$t>::from_le_bytes(b.try_into().expect("length checked")))
        }
    };
}

/// A frame: where its payload ends, and its item count for list frames.
pub(crate) struct Frame {
    pub end: usize,
    pub items: Option<u32>,
}

impl<'a> Le<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Le(Cursor::at(buf, 0))
    }

    /// Position in the payload.
    pub fn pos(&self) -> usize {
        self.0.pos
    }

    pub fn bytes(&mut self, n: usize) -> DResult<&'a [u8]> {
        self.0.bytes(n)
    }

    le_reader!(u16, u16);
    le_reader!(u32, u32);
    le_reader!(i32, i32);
    le_reader!(u64, u64);
    le_reader!(i64, i64);
    le_reader!(f64, f64);

    /// A length-prefixed UTF-8 string.
    pub fn string(&mut self) -> DResult<String> {
        let n = self.u32()? as usize;
        let b = self.bytes(n)?;
        String::from_utf8(b.to_vec()).or_else(|_| derr("a string is not UTF-8"))
    }

    /// Feature flags: 64-bit words for as long as the sign bit says more follow.
    pub fn feature_flags(&mut self) -> DResult<Vec<u64>> {
        let mut out = vec![self.u64()?];
        while (*out.last().expect("one word") as i64) < 0 {
            out.push(self.u64()?);
        }
        Ok(out)
    }

    /// The preamble of a record or list frame.
    pub fn frame(&mut self) -> DResult<Frame> {
        let start = self.0.pos;
        let size = self.i64()?;
        let (len, items) = if size < 0 {
            (size.unsigned_abs(), Some(self.u32()?))
        } else {
            (size as u64, None)
        };
        let min = if items.is_some() { 12 } else { 8 };
        let end = (start as u64)
            .checked_add(len)
            .filter(|&e| len >= min && e <= self.0.buf.len() as u64);
        match end {
            Some(e) => Ok(Frame {
                end: e as usize,
                items,
            }),
            None => derr(format!(
                "a frame of {len} bytes at offset {start} does not fit the {}-byte envelope",
                self.0.buf.len()
            )),
        }
    }

    /// A list frame and its item count.
    pub fn list(&mut self, what: &str) -> DResult<Frame> {
        let f = self.frame()?;
        if f.items.is_none() {
            return derr(format!(
                "{what}: expected a list frame, found a record frame"
            ));
        }
        Ok(f)
    }

    /// A record frame.
    pub fn record(&mut self, what: &str) -> DResult<Frame> {
        let f = self.frame()?;
        if f.items.is_some() {
            return derr(format!(
                "{what}: expected a record frame, found a list frame"
            ));
        }
        Ok(f)
    }

    /// Moves to the end of a frame (its unread, newer-format tail is skipped).
    pub fn end(&mut self, f: &Frame) -> DResult<()> {
        if self.0.pos > f.end {
            return derr(format!(
                "a frame's contents run past its end at offset {}",
                f.end
            ));
        }
        self.0.pos = f.end;
        Ok(())
    }
}
