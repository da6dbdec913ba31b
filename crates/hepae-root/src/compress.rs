//! ROOT compressed records: a sequence of blocks, each with a 9-byte header
//! (2-byte algorithm tag, method byte, 3-byte little-endian compressed and
//! uncompressed sizes). ZL = zlib, XZ = lzma/xz, L4 = lz4 (+8-byte checksum),
//! ZS = zstd.

use crate::cursor::{derr, DResult};
use std::io::Read;

/// The codec of one compressed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// zlib (deflate with zlib header), ROOT algorithm 1.
    Zlib,
    /// LZMA (xz container), ROOT algorithm 2.
    Lzma,
    /// LZ4 block with xxhash64 checksum, ROOT algorithm 4.
    Lz4,
    /// Zstandard frame, ROOT algorithm 5.
    Zstd,
}

impl Codec {
    /// Human name as ROOT users know it.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Zlib => "zlib",
            Codec::Lzma => "lzma",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
        }
    }
}

/// Name of ROOT's compression setting `fCompress` (algorithm * 100 + level).
pub fn describe_setting(setting: i32) -> String {
    if setting <= 0 {
        return "uncompressed".into();
    }
    let (alg, level) = (setting / 100, setting % 100);
    let name = match alg {
        0 | 1 => "zlib",
        2 => "lzma",
        3 => "old ROOT",
        4 => "lz4",
        5 => "zstd",
        _ => "unknown",
    };
    format!("{name} level {level}")
}

/// Decompresses `src` into exactly `expected` bytes. When the sizes are
/// equal ROOT stored the record uncompressed.
pub fn decompress(src: &[u8], expected: usize) -> DResult<Vec<u8>> {
    if src.len() == expected {
        return Ok(src.to_vec());
    }
    let mut out = Vec::with_capacity(expected);
    let mut pos = 0usize;
    while out.len() < expected {
        if pos + 9 > src.len() {
            return derr(format!(
                "compressed record ends after {} of {expected} bytes",
                out.len()
            ));
        }
        let h = &src[pos..pos + 9];
        let csize = h[3] as usize | (h[4] as usize) << 8 | (h[5] as usize) << 16;
        let usize_ = h[6] as usize | (h[7] as usize) << 8 | (h[8] as usize) << 16;
        let body_start = pos + 9;
        let body_end = body_start + csize;
        if body_end > src.len() {
            return derr(format!(
                "compressed block of {csize} bytes at offset {pos} runs past the record ({} bytes)",
                src.len()
            ));
        }
        let body = &src[body_start..body_end];
        let codec = match &h[0..2] {
            b"ZL" => Codec::Zlib,
            b"XZ" => Codec::Lzma,
            b"L4" => Codec::Lz4,
            b"ZS" => Codec::Zstd,
            b"CS" => return derr("old ROOT 'CS' compression is not supported"),
            other => {
                return derr(format!(
                    "unknown compression tag {:?} at offset {pos}",
                    String::from_utf8_lossy(other)
                ))
            }
        };
        let before = out.len();
        decode_block(codec, body, usize_, &mut out)
            .map_err(|e| crate::cursor::DecodeError(format!("{} block: {}", codec.name(), e.0)))?;
        if out.len() - before != usize_ {
            return derr(format!(
                "{} block gave {} bytes, header says {usize_}",
                codec.name(),
                out.len() - before
            ));
        }
        pos = body_end;
    }
    if out.len() != expected {
        return derr(format!(
            "decompressed {} bytes, expected {expected}",
            out.len()
        ));
    }
    Ok(out)
}

fn decode_block(codec: Codec, body: &[u8], usize_: usize, out: &mut Vec<u8>) -> DResult<()> {
    match codec {
        Codec::Zlib => {
            let mut d = flate2::read::ZlibDecoder::new(body);
            let start = out.len();
            out.resize(start + usize_, 0);
            d.read_exact(&mut out[start..])
                .map_err(|e| crate::cursor::DecodeError(e.to_string()))?;
        }
        Codec::Lzma => {
            let mut r = std::io::BufReader::new(body);
            let mut tmp = Vec::with_capacity(usize_);
            lzma_rs::xz_decompress(&mut r, &mut tmp)
                .map_err(|e| crate::cursor::DecodeError(format!("{e:?}")))?;
            out.extend_from_slice(&tmp);
        }
        Codec::Lz4 => {
            // 8-byte xxhash64 of the compressed payload precedes the lz4 block.
            if body.len() < 8 {
                return derr("lz4 block shorter than its checksum");
            }
            let start = out.len();
            out.resize(start + usize_, 0);
            let n = lz4_flex::block::decompress_into(&body[8..], &mut out[start..])
                .map_err(|e| crate::cursor::DecodeError(e.to_string()))?;
            out.truncate(start + n);
        }
        Codec::Zstd => {
            let start = out.len();
            out.resize(start + usize_, 0);
            let n = zstd::bulk::decompress_to_buffer(body, &mut out[start..])
                .map_err(|e| crate::cursor::DecodeError(e.to_string()))?;
            out.truncate(start + n);
        }
    }
    Ok(())
}
