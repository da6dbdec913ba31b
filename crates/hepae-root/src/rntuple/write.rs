//! Writing a flat table as an RNTuple (format 1.0) in a new ROOT file: one
//! leaf field per column, split-encoded (zigzag for signed integers) zstd
//! pages with XXH3 checksums, one cluster, and the ROOT file around it
//! (header, top directory, RBlob keys, the `ROOT::RNTuple` anchor key, an
//! empty streamer list, the key list and the free-segment record).

use crate::types::{DType, Values};

/// Elements per page (ROOT's default cap is 1 MiB unzipped per page).
const PAGE_ELEMENTS: usize = 1 << 16;
/// ROOT's compression setting for zstd, level 5.
const ZSTD_505: u32 = 505;
/// Fixed key timestamps keep the output byte for byte reproducible.
const DATIME: u32 = (31 << 26) | (1 << 22) | (1 << 17);

/// One column's storage: RNTuple column type, bits and C++ type name.
fn storage(d: DType) -> (u16, u16, &'static str) {
    match d {
        DType::Bool => (0x00, 1, "bool"),
        DType::I8 => (0x03, 8, "std::int8_t"),
        DType::U8 => (0x04, 8, "std::uint8_t"),
        DType::I16 => (0x11, 16, "std::int16_t"),
        DType::U16 => (0x12, 16, "std::uint16_t"),
        DType::I32 => (0x13, 32, "std::int32_t"),
        DType::U32 => (0x14, 32, "std::uint32_t"),
        DType::I64 => (0x15, 64, "std::int64_t"),
        DType::U64 => (0x16, 64, "std::uint64_t"),
        DType::F32 => (0x18, 32, "float"),
        DType::F64 => (0x19, 64, "double"),
    }
}

/// Bytes of `n` little-endian values, split by byte position.
fn split<const N: usize>(v: impl ExactSizeIterator<Item = [u8; N]>) -> Vec<u8> {
    let n = v.len();
    let mut out = vec![0u8; n * N];
    for (i, b) in v.enumerate() {
        for (k, x) in b.iter().enumerate() {
            out[k * n + i] = *x;
        }
    }
    out
}

/// The uncompressed page of `v[range]`.
fn encode(v: &Values, r: std::ops::Range<usize>) -> Vec<u8> {
    macro_rules! zig {
        ($s:expr, $u:ty, $bits:expr) => {
            split(
                $s[r]
                    .iter()
                    .map(|&x| (((x << 1) ^ (x >> ($bits - 1))) as $u).to_le_bytes()),
            )
        };
    }
    match v {
        Values::Bool(s) => {
            let s = &s[r];
            let mut out = vec![0u8; s.len().div_ceil(8)];
            for (i, &b) in s.iter().enumerate() {
                out[i / 8] |= (b as u8) << (i % 8);
            }
            out
        }
        Values::I8(s) => s[r].iter().map(|&x| x as u8).collect(),
        Values::U8(s) => s[r].to_vec(),
        Values::I16(s) => zig!(s, u16, 16),
        Values::I32(s) => zig!(s, u32, 32),
        Values::I64(s) => zig!(s, u64, 64),
        Values::U16(s) => split(s[r].iter().map(|x| x.to_le_bytes())),
        Values::U32(s) => split(s[r].iter().map(|x| x.to_le_bytes())),
        Values::U64(s) => split(s[r].iter().map(|x| x.to_le_bytes())),
        Values::F32(s) => split(s[r].iter().map(|x| x.to_le_bytes())),
        Values::F64(s) => split(s[r].iter().map(|x| x.to_le_bytes())),
    }
}

/// ROOT's compressed-block framing around zstd; stored as it is when that
/// does not make it smaller.
fn zip(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in raw.chunks(0xff_ffff) {
        let body = zstd::bulk::compress(chunk, 5).expect("zstd compresses any input");
        out.extend_from_slice(b"ZS\x01");
        for n in [body.len(), chunk.len()] {
            out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        }
        out.extend_from_slice(&body);
    }
    if out.len() >= raw.len() {
        return raw.to_vec();
    }
    out
}

/// Little-endian envelope and frame building.
#[derive(Default)]
struct Buf(Vec<u8>);

impl Buf {
    fn u16(&mut self, x: u16) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn u32(&mut self, x: u32) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn u64(&mut self, x: u64) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }
    /// A record frame around what `f` writes.
    fn record(&mut self, f: impl FnOnce(&mut Buf)) {
        let start = self.0.len();
        self.u64(0);
        f(self);
        let size = (self.0.len() - start) as u64;
        self.0[start..start + 8].copy_from_slice(&size.to_le_bytes());
    }
    /// A list frame of `items` items around what `f` writes.
    fn list(&mut self, items: u32, f: impl FnOnce(&mut Buf)) {
        let start = self.0.len();
        self.u64(0);
        self.u32(items);
        f(self);
        let size = -((self.0.len() - start) as i64);
        self.0[start..start + 8].copy_from_slice(&size.to_le_bytes());
    }
    fn locator(&mut self, size: u64, offset: u64) {
        self.u32(size as u32);
        self.u64(offset);
    }
    /// The envelope: type and length word, payload, XXH3.
    fn envelope(self, kind: u16) -> Vec<u8> {
        let len = 8 + self.0.len() as u64 + 8;
        let mut out = Vec::with_capacity(len as usize);
        out.extend_from_slice(&((len << 16) | kind as u64).to_le_bytes());
        out.extend_from_slice(&self.0);
        let sum = xxhash_rust::xxh3::xxh3_64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }
}

/// The header envelope: one leaf field and one column per table column.
fn header(name: &str, columns: &[(String, Values)]) -> Vec<u8> {
    let mut b = Buf::default();
    b.u64(0);
    b.str(name);
    b.str("");
    b.str(concat!("hepae ", env!("CARGO_PKG_VERSION")));
    b.list(columns.len() as u32, |b| {
        for (i, (n, v)) in columns.iter().enumerate() {
            b.record(|b| {
                b.u32(0);
                b.u32(0);
                b.u32(i as u32);
                b.u16(0);
                b.u16(0);
                b.str(n);
                b.str(storage(v.dtype()).2);
                b.str("");
                b.str("");
            });
        }
    });
    b.list(columns.len() as u32, |b| {
        for (i, (_, v)) in columns.iter().enumerate() {
            let (kind, bits, _) = storage(v.dtype());
            b.record(|b| {
                b.u16(kind);
                b.u16(bits);
                b.u32(i as u32);
                b.u16(0);
                b.u16(0);
            });
        }
    });
    b.list(0, |_| {});
    b.list(0, |_| {});
    b.envelope(1)
}

/// The ROOT file being assembled: bytes from offset 0, keys as they go.
struct RootOut {
    bytes: Vec<u8>,
}

impl RootOut {
    /// Appends a key with its (uncompressed) payload; returns (key offset,
    /// payload offset).
    fn key(&mut self, class: &str, name: &str, title: &str, payload: &[u8]) -> (u64, u64) {
        let at = self.bytes.len() as u64;
        let h = key_header(at, class, name, title, payload.len());
        self.bytes.extend_from_slice(&h);
        self.bytes.extend_from_slice(payload);
        (at, at + h.len() as u64)
    }
}

fn tstring(out: &mut Vec<u8>, s: &str) {
    if s.len() < 255 {
        out.push(s.len() as u8);
    } else {
        out.push(255);
        out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
}

/// A TKey header (version 1004: 64-bit seeks), big-endian, for `nbytes`
/// of uncompressed payload.
fn key_header(at: u64, class: &str, name: &str, title: &str, nbytes: usize) -> Vec<u8> {
    let mut strings = Vec::new();
    for s in [class, name, title] {
        tstring(&mut strings, s);
    }
    let keylen = (4 + 2 + 4 + 4 + 2 + 2 + 8 + 8 + strings.len()) as i16;
    let mut h = Vec::with_capacity(keylen as usize);
    h.extend_from_slice(&(keylen as i32 + nbytes as i32).to_be_bytes());
    h.extend_from_slice(&1004i16.to_be_bytes());
    h.extend_from_slice(&(nbytes as i32).to_be_bytes());
    h.extend_from_slice(&DATIME.to_be_bytes());
    h.extend_from_slice(&keylen.to_be_bytes());
    h.extend_from_slice(&1i16.to_be_bytes());
    h.extend_from_slice(&(at as i64).to_be_bytes());
    h.extend_from_slice(&100i64.to_be_bytes());
    h.extend_from_slice(&strings);
    h
}

/// The bytes of a new ROOT file named `file_name` holding `columns` (equal
/// lengths) as RNTuple `name`; the caller writes them (atomically).
pub fn rntuple_file(
    file_name: &str,
    name: &str,
    columns: &[(String, Values)],
) -> std::result::Result<Vec<u8>, String> {
    let entries = columns.first().map_or(0, |c| c.1.len());
    if let Some((n, _)) = columns.iter().find(|c| c.1.len() != entries) {
        return Err(format!("column '{n}' has another length than the first"));
    }
    let bytes = build(name, columns, entries, file_name);
    if bytes.len() as u64 > i32::MAX as u64 {
        return Err(format!(
            "{} bytes: RNTuple output is limited to 2 GiB",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// The whole file's bytes.
fn build(name: &str, columns: &[(String, Values)], entries: usize, file_name: &str) -> Vec<u8> {
    let mut f = RootOut {
        bytes: vec![0u8; 100],
    };
    // The top directory's key and record; its fields are patched at the end.
    let mut named = Vec::new();
    tstring(&mut named, file_name);
    tstring(&mut named, "");
    let dir_len = named.len() + 60;
    let (_, dir_payload) = f.key("TFile", file_name, "", &vec![0u8; dir_len]);
    let hdr = header(name, columns);
    let header_sum = u64::from_le_bytes(hdr[hdr.len() - 8..].try_into().expect("8 bytes"));
    let (_, header_at) = f.key("RBlob", "", "", &hdr);
    // Pages, column by column, each with its checksum after it.
    let mut pages: Vec<Vec<(u64, u64, u64)>> = Vec::new();
    for (_, v) in columns {
        let mut col = Vec::new();
        for start in (0..entries).step_by(PAGE_ELEMENTS) {
            let r = start..(start + PAGE_ELEMENTS).min(entries);
            let n = r.len() as u64;
            let z = zip(&encode(v, r));
            let mut blob = z.clone();
            blob.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(&z).to_le_bytes());
            let (_, at) = f.key("RBlob", "", "", &blob);
            col.push((n, z.len() as u64, at));
        }
        pages.push(col);
    }
    let mut pl = Buf::default();
    pl.u64(header_sum);
    pl.list(1, |b| {
        b.record(|b| {
            b.u64(0);
            b.u64(entries as u64);
        })
    });
    pl.list(1, |b| {
        b.list(columns.len() as u32, |b| {
            for col in &pages {
                b.list(col.len() as u32, |b| {
                    for &(n, size, at) in col {
                        b.u32((-(n as i64)) as i32 as u32);
                        b.locator(size, at);
                    }
                    b.u64(0);
                    b.u32(ZSTD_505);
                });
            }
        })
    });
    let pl = pl.envelope(3);
    let (_, pl_at) = f.key("RBlob", "", "", &pl);
    let mut ft = Buf::default();
    ft.u64(0);
    ft.u64(header_sum);
    // An empty schema extension (its four lists, each empty).
    ft.record(|b| {
        for _ in 0..4 {
            b.list(0, |_| {});
        }
    });
    ft.list(1, |b| {
        b.record(|b| {
            b.u64(0);
            b.u64(entries as u64);
            b.u32(1);
            b.u64(pl.len() as u64);
            b.locator(pl.len() as u64, pl_at);
        })
    });
    let ft = ft.envelope(2);
    let (_, footer_at) = f.key("RBlob", "", "", &ft);
    let anchor = anchor(
        [header_at, hdr.len() as u64, hdr.len() as u64],
        [footer_at, ft.len() as u64, ft.len() as u64],
    );
    // The key list repeats the anchor's key header.
    let (anchor_key, anchor_payload) = f.key("ROOT::RNTuple", name, "", &anchor);
    let anchor_header = f.bytes[anchor_key as usize..anchor_payload as usize].to_vec();
    let streamers = empty_tlist();
    let (info_at, _) = f.key("TList", "StreamerInfo", "Doubly linked list", &streamers);
    let info_bytes = f.bytes.len() as u64 - info_at;
    let mut keys = 1i32.to_be_bytes().to_vec();
    keys.extend_from_slice(&anchor_header);
    let (keys_at, _) = f.key("TFile", file_name, "", &keys);
    let keys_bytes = f.bytes.len() as u64 - keys_at;
    let free_at = f.bytes.len() as u64;
    let mut free = 1001i16.to_be_bytes().to_vec();
    // The free segment runs from the end of the file (set below) onwards.
    free.extend_from_slice(&[0u8; 16]);
    f.key("TFile", file_name, "", &free);
    let end = f.bytes.len() as u64;
    let free_payload = end as usize - 16;
    f.bytes[free_payload..free_payload + 8].copy_from_slice(&(end as i64).to_be_bytes());
    f.bytes[free_payload + 8..].copy_from_slice(&2_000_000_000i64.to_be_bytes());
    let free_bytes = end - free_at;
    // The directory record and the file header, now that offsets are known.
    let mut d = named.clone();
    d.extend_from_slice(&1005i16.to_be_bytes());
    d.extend_from_slice(&DATIME.to_be_bytes());
    d.extend_from_slice(&DATIME.to_be_bytes());
    d.extend_from_slice(&(keys_bytes as i32).to_be_bytes());
    let nbytes_name = (dir_payload - 100) as i32 + named.len() as i32;
    d.extend_from_slice(&nbytes_name.to_be_bytes());
    d.extend_from_slice(&100i64.to_be_bytes());
    d.extend_from_slice(&0i64.to_be_bytes());
    d.extend_from_slice(&(keys_at as i64).to_be_bytes());
    d.extend_from_slice(&1u16.to_be_bytes());
    d.extend_from_slice(&[0u8; 16]);
    let p = dir_payload as usize;
    f.bytes[p..p + d.len()].copy_from_slice(&d);
    let mut h = b"root".to_vec();
    h.extend_from_slice(&63400i32.to_be_bytes());
    h.extend_from_slice(&100i32.to_be_bytes());
    h.extend_from_slice(&(end as i32).to_be_bytes());
    h.extend_from_slice(&(free_at as i32).to_be_bytes());
    h.extend_from_slice(&(free_bytes as i32).to_be_bytes());
    h.extend_from_slice(&1i32.to_be_bytes());
    h.extend_from_slice(&nbytes_name.to_be_bytes());
    h.push(4);
    h.extend_from_slice(&(ZSTD_505 as i32).to_be_bytes());
    h.extend_from_slice(&(info_at as i32).to_be_bytes());
    h.extend_from_slice(&(info_bytes as i32).to_be_bytes());
    h.extend_from_slice(&1u16.to_be_bytes());
    h.extend_from_slice(&[0u8; 16]);
    f.bytes[..h.len()].copy_from_slice(&h);
    f.bytes
}

/// The anchor object: class version 2, format 1.0.0.0, the envelope links,
/// the maximum key size, and the XXH3 of those fields; big-endian.
fn anchor(header: [u64; 3], footer: [u64; 3]) -> Vec<u8> {
    let mut fields = Vec::new();
    for v in [1u16, 0, 0, 0] {
        fields.extend_from_slice(&v.to_be_bytes());
    }
    for v in header.iter().chain(&footer).chain(&[1u64 << 30]) {
        fields.extend_from_slice(&v.to_be_bytes());
    }
    let sum = xxhash_rust::xxh3::xxh3_64(&fields);
    // The byte count covers the class version and the fields; the checksum
    // follows the streamed object, as ROOT writes it.
    let mut out = ((2 + fields.len()) as u32 | 0x4000_0000)
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(&2u16.to_be_bytes());
    out.extend_from_slice(&fields);
    out.extend_from_slice(&sum.to_be_bytes());
    out
}

/// A streamed TList with no entries.
fn empty_tlist() -> Vec<u8> {
    let mut body = 5u16.to_be_bytes().to_vec();
    body.extend_from_slice(&1u16.to_be_bytes());
    body.extend_from_slice(&0u32.to_be_bytes());
    body.extend_from_slice(&0x0300_0000u32.to_be_bytes());
    body.push(0);
    body.extend_from_slice(&0i32.to_be_bytes());
    let mut out = (body.len() as u32 | 0x4000_0000).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RootFile;

    /// Every type, several pages, negative integers: written, then read
    /// back by this crate's reader value for value.
    #[test]
    fn every_type_round_trips_through_the_reader() {
        let n = 150_000usize;
        let cols: Vec<(String, Values)> = vec![
            (
                "b".into(),
                Values::Bool((0..n).map(|i| i % 3 == 0).collect()),
            ),
            (
                "i8".into(),
                Values::I8((0..n).map(|i| (i % 251) as i8).collect()),
            ),
            (
                "u8".into(),
                Values::U8((0..n).map(|i| (i % 256) as u8).collect()),
            ),
            (
                "i16".into(),
                Values::I16((0..n).map(|i| (i as i16).wrapping_mul(7)).collect()),
            ),
            (
                "u16".into(),
                Values::U16((0..n).map(|i| i as u16).collect()),
            ),
            (
                "i32".into(),
                Values::I32((0..n).map(|i| i as i32 - 70_000).collect()),
            ),
            (
                "u32".into(),
                Values::U32(
                    (0..n)
                        .map(|i| (i as u32).wrapping_mul(2_654_435_761))
                        .collect(),
                ),
            ),
            (
                "i64".into(),
                Values::I64((0..n).map(|i| -(i as i64) * 1_000_003).collect()),
            ),
            (
                "u64".into(),
                Values::U64((0..n).map(|i| (i as u64) << 40).collect()),
            ),
            (
                "f32".into(),
                Values::F32((0..n).map(|i| (i as f32).sin() * 1e3).collect()),
            ),
            (
                "f64".into(),
                Values::F64((0..n).map(|i| (i as f64).sqrt() - 3.5).collect()),
            ),
        ];
        let dir = std::env::temp_dir().join(format!("hepae-rntuple-write-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("all.root");
        let bytes = rntuple_file("all.root", "Restored", &cols).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let file = RootFile::open(&path).unwrap();
        let tree = file.tree("Restored").unwrap();
        assert_eq!(tree.kind(), "RNTuple");
        assert_eq!(tree.entries, n as i64);
        for (name, v) in &cols {
            let b = tree.branch(name).unwrap();
            let col = file.read_branch(&tree, b).unwrap();
            assert!(col.offsets.is_none(), "{name}");
            assert_eq!(&col.values, v, "{name}");
        }
        // The same table gives the same bytes.
        assert!(rntuple_file("all.root", "Restored", &cols).unwrap() == bytes);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
