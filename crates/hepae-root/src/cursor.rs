//! Bounds-checked big-endian reading of ROOT's serialised records.

/// A decoding failure inside one record; the caller adds file and object context.
#[derive(Debug, Clone)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) type DResult<T> = std::result::Result<T, DecodeError>;

pub(crate) fn derr<T>(msg: impl Into<String>) -> DResult<T> {
    Err(DecodeError(msg.into()))
}

/// A read position in a byte slice. `origin` is what ROOT adds to in-buffer
/// positions when it records object references (the key length).
pub(crate) struct Cursor<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
    pub origin: i64,
}

macro_rules! be_reader {
    ($name:ident, $t:ty, $n:expr) => {
        pub fn $name(&mut self) -> DResult<$t> {
            let b = self.bytes($n)?;
            Ok(<$t>::from_be_bytes(b.try_into().expect("length checked")))
        }
    };
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8], origin: i64) -> Self {
        Cursor {
            buf,
            pos: 0,
            origin,
        }
    }

    pub fn at(buf: &'a [u8], pos: usize) -> Self {
        Cursor {
            buf,
            pos,
            origin: 0,
        }
    }

    pub fn bytes(&mut self, n: usize) -> DResult<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => derr(format!(
                "record ends early: wanted {n} bytes at offset {} of a {}-byte buffer",
                self.pos,
                self.buf.len()
            )),
        }
    }

    pub fn skip(&mut self, n: usize) -> DResult<()> {
        self.bytes(n).map(|_| ())
    }

    pub fn seek(&mut self, pos: usize) -> DResult<()> {
        if pos > self.buf.len() {
            return derr(format!(
                "seek to {pos} past the end of a {}-byte buffer",
                self.buf.len()
            ));
        }
        self.pos = pos;
        Ok(())
    }

    /// Position as ROOT counts it for references (buffer position + key length).
    pub fn displacement(&self) -> i64 {
        self.pos as i64 + self.origin
    }

    be_reader!(u8, u8, 1);
    be_reader!(i16, i16, 2);
    be_reader!(u16, u16, 2);
    be_reader!(i32, i32, 4);
    be_reader!(u32, u32, 4);
    be_reader!(i64, i64, 8);
    be_reader!(f64, f64, 8);

    pub fn bool(&mut self) -> DResult<bool> {
        Ok(self.u8()? != 0)
    }

    /// ROOT TString: one length byte, or 255 followed by a 4-byte length.
    pub fn tstring(&mut self) -> DResult<String> {
        let mut n = self.u8()? as usize;
        if n == 255 {
            n = self.u32()? as usize;
        }
        let b = self.bytes(n)?;
        Ok(String::from_utf8_lossy(b).into_owned())
    }

    /// NUL-terminated string (class names in object headers).
    pub fn cstring(&mut self) -> DResult<String> {
        let rest = &self.buf[self.pos..];
        match rest.iter().position(|&c| c == 0) {
            Some(i) => {
                let s = String::from_utf8_lossy(&rest[..i]).into_owned();
                self.pos += i + 1;
                Ok(s)
            }
            None => derr("unterminated class name"),
        }
    }

    /// Reads `bytecount | version` as written before every streamed class;
    /// returns (end position if a byte count is present, version).
    pub fn version_header(&mut self) -> DResult<(Option<usize>, i16)> {
        let start = self.pos;
        let first = self.u32()?;
        if first & 0x4000_0000 != 0 {
            let count = (first & !0x4000_0000) as usize;
            let version = self.i16()?;
            Ok((Some(start + 4 + count), version))
        } else {
            // No byte count: the first two bytes were the version.
            self.pos = start;
            let version = self.i16()?;
            Ok((None, version))
        }
    }

    /// Jump to the end announced by a byte count, when there was one.
    pub fn finish(&mut self, end: Option<usize>, what: &str) -> DResult<()> {
        if let Some(end) = end {
            if end > self.buf.len() {
                return derr(format!("{what}: byte count points past the record end"));
            }
            self.pos = end;
        }
        Ok(())
    }
}
