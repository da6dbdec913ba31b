//! ROOT compressed records: a sequence of blocks, each with a 9-byte header
//! (2-byte algorithm tag, method byte, 3-byte little-endian compressed and
//! uncompressed sizes). ZL = zlib, XZ = lzma/xz, L4 = lz4 (+8-byte checksum),
//! ZS = zstd.

use crate::cursor::{derr, DResult};

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
    let mut out = Vec::new();
    decompress_into(src, expected, &mut out)?;
    Ok(out)
}

/// [`decompress`] into `buf`, which ends up `expected` bytes long. A buffer
/// reused from record to record is only zero-filled where it grows.
pub fn decompress_into(src: &[u8], expected: usize, buf: &mut Vec<u8>) -> DResult<()> {
    if src.len() == expected {
        buf.clear();
        buf.extend_from_slice(src);
        return Ok(());
    }
    if buf.len() < expected {
        buf.resize(expected, 0);
    }
    buf.truncate(expected);
    decompress_to_slice(src, buf)
}

/// Decompresses `src` into all of `buf` (the record's uncompressed size);
/// a record of that size as it is is stored uncompressed.
pub fn decompress_to_slice(src: &[u8], buf: &mut [u8]) -> DResult<()> {
    let expected = buf.len();
    if src.len() == expected {
        buf.copy_from_slice(src);
        return Ok(());
    }
    let mut filled = 0usize;
    let mut pos = 0usize;
    while filled < expected {
        if pos + 9 > src.len() {
            return derr(format!(
                "compressed record ends after {filled} of {expected} bytes"
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
        if filled + usize_ > expected {
            return derr(format!(
                "blocks hold more than the {expected} bytes of the record"
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
        let n = decode_block(codec, body, &mut buf[filled..filled + usize_])
            .map_err(|e| crate::cursor::DecodeError(format!("{} block: {}", codec.name(), e.0)))?;
        if n != usize_ {
            return derr(format!(
                "{} block gave {n} bytes, header says {usize_}",
                codec.name()
            ));
        }
        filled += n;
        pos = body_end;
    }
    Ok(())
}

/// Decodes one block into `out` (its size from the block header); returns
/// the bytes written.
fn decode_block(codec: Codec, body: &[u8], out: &mut [u8]) -> DResult<usize> {
    let err = |e: &dyn std::fmt::Display| crate::cursor::DecodeError(e.to_string());
    match codec {
        // libdeflate decodes whole buffers of known size about twice as fast as zlib.
        Codec::Zlib => libdeflater::Decompressor::new()
            .zlib_decompress(body, out)
            .map_err(|e| crate::cursor::DecodeError(format!("zlib: {e}"))),
        Codec::Lzma => {
            let mut r = std::io::BufReader::new(body);
            let mut tmp = Vec::with_capacity(out.len());
            lzma_rs::xz_decompress(&mut r, &mut tmp)
                .map_err(|e| crate::cursor::DecodeError(format!("{e:?}")))?;
            if tmp.len() > out.len() {
                return derr(format!(
                    "gave {} bytes, header says {}",
                    tmp.len(),
                    out.len()
                ));
            }
            out[..tmp.len()].copy_from_slice(&tmp);
            Ok(tmp.len())
        }
        Codec::Lz4 => {
            // 8-byte xxhash64 of the compressed payload precedes the lz4 block.
            if body.len() < 8 {
                return derr("lz4 block shorter than its checksum");
            }
            lz4_flex::block::decompress_into(&body[8..], out).map_err(|e| err(&e))
        }
        Codec::Zstd => zstd::bulk::decompress_to_buffer(body, out).map_err(|e| err(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(tag: &[u8; 2], body: &[u8], usize_: usize) -> Vec<u8> {
        let c = body.len();
        let mut h = vec![tag[0], tag[1], 0];
        h.extend_from_slice(&[c as u8, (c >> 8) as u8, (c >> 16) as u8]);
        h.extend_from_slice(&[usize_ as u8, (usize_ >> 8) as u8, (usize_ >> 16) as u8]);
        h.extend_from_slice(body);
        h
    }

    fn payload() -> Vec<u8> {
        (0..5000u32)
            .flat_map(|i| ((i % 97) as f32).to_be_bytes())
            .collect()
    }

    #[test]
    fn every_codec_round_trips_in_multiple_blocks() {
        let data = payload();
        let (a, b) = data.split_at(7000);
        let encode = |codec: &str, part: &[u8]| -> Vec<u8> {
            match codec {
                "ZL" => {
                    let mut c =
                        libdeflater::Compressor::new(libdeflater::CompressionLvl::default());
                    let mut out = vec![0; c.zlib_compress_bound(part.len())];
                    let n = c.zlib_compress(part, &mut out).unwrap();
                    block(b"ZL", &out[..n], part.len())
                }
                "ZS" => block(b"ZS", &zstd::bulk::compress(part, 3).unwrap(), part.len()),
                "L4" => {
                    let mut body = vec![0u8; 8]; // checksum slot
                    body.extend(lz4_flex::block::compress(part));
                    block(b"L4", &body, part.len())
                }
                "XZ" => {
                    let mut out = Vec::new();
                    lzma_rs::xz_compress(&mut std::io::Cursor::new(part), &mut out).unwrap();
                    block(b"XZ", &out, part.len())
                }
                _ => unreachable!(),
            }
        };
        for codec in ["ZL", "ZS", "L4", "XZ"] {
            let mut rec = encode(codec, a);
            rec.extend(encode(codec, b));
            assert_eq!(decompress(&rec, data.len()).unwrap(), data, "{codec}");
        }
    }

    #[test]
    fn damage_is_reported_not_ignored() {
        let data = payload();
        let good = block(b"ZS", &zstd::bulk::compress(&data, 3).unwrap(), data.len());
        // Truncated record.
        assert!(decompress(&good[..good.len() / 2], data.len()).is_err());
        // Unknown algorithm tag.
        let mut bad = good.clone();
        bad[0] = b'Q';
        assert!(decompress(&bad, data.len())
            .unwrap_err()
            .0
            .contains("unknown compression"));
        // Corrupted payload.
        let mut bad = good.clone();
        for x in bad[20..60].iter_mut() {
            *x ^= 0x5a;
        }
        assert!(decompress(&bad, data.len()).is_err());
        // Header sizes disagree with the expected length.
        assert!(decompress(&good, data.len() + 10).is_err());
        assert_eq!(describe_setting(505), "zstd level 5");
        assert_eq!(describe_setting(0), "uncompressed");
    }
}
