//! Entropy coding: fixed-point frequency tables per context, and rANS
//! streams of four interleaved lanes whose symbols each name their model.
//!
//! Tables are made from counts with integer arithmetic only and stored in
//! the artifact, so both sides build the very same models. The coder is
//! 64-bit rANS with 32-bit words (Duda's asymmetric numeral systems, in
//! the layout of Giesen's `rans64`): symbol `j` of a stream goes to lane
//! `j mod 4`, and all lanes share one word stream. A single-state coder
//! (constriction's `AnsCoder`, used before format 4) decodes one symbol
//! per dependency chain of table loads; four lanes let the CPU overlap
//! four chains, about 2.5x faster on this machine.

use super::bits::{put_varint, Reader};
use crate::{CompressError, Result};

/// Bits of fixed-point precision of the probabilities.
const PRECISION: usize = 24;
const TOTAL: u64 = 1 << PRECISION;
/// Interleaved rANS lanes per stream.
pub const LANES: usize = 4;
/// Lower bound of a lane's state (states live in `[LOW, LOW << 32)`).
const LOW: u64 = 1 << 31;

/// The decoder's view of one context's probabilities: the symbol of a
/// quantile is found from a table of its top bits and a short scan,
/// instead of a binary search over the whole alphabet (the decoder's
/// hottest step).
#[derive(Debug, Clone)]
pub struct LookupModel {
    /// Cumulative probabilities, `cdf[0] = 0`, last `2^24`.
    cdf: Vec<u32>,
    /// Per bucket, the symbol holding its first quantile.
    start: Vec<u16>,
    /// Quantile bits below a bucket.
    shift: u32,
}

impl LookupModel {
    fn new(probs: &[u32], bucket_bits: u32) -> LookupModel {
        let mut cdf = Vec::with_capacity(probs.len() + 1);
        let mut acc = 0u32;
        cdf.push(0);
        for &p in probs {
            acc += p;
            cdf.push(acc);
        }
        let shift = PRECISION as u32 - bucket_bits;
        let mut start = Vec::with_capacity(1 << bucket_bits);
        let mut sym = 0usize;
        for b in 0..1u32 << bucket_bits {
            let q = b << shift;
            while cdf[sym + 1] <= q {
                sym += 1;
            }
            start.push(sym as u16);
        }
        LookupModel { cdf, start, shift }
    }

    /// Symbol, cumulative and probability of `quantile`.
    #[inline]
    fn find(&self, quantile: u32) -> (u32, u32, u32) {
        let mut s = self.start[(quantile >> self.shift) as usize] as usize;
        while self.cdf[s + 1] <= quantile {
            s += 1;
        }
        (s as u32, self.cdf[s], self.cdf[s + 1] - self.cdf[s])
    }
}

/// Bucket bits of the decoder's tables: about 16 buckets per symbol, so
/// the scan after the lookup rarely moves, but no more buckets than a
/// quarter of the rows decoded (building a table must not cost more than
/// decoding with it).
pub fn bucket_bits(alphabet: usize, rows: usize) -> u32 {
    let want = (alphabet.max(2) as u32 - 1).ilog2() + 1 + 4;
    let cap = (rows / 4).max(64).ilog2();
    want.min(cap).clamp(6, 16)
}

/// The encoder's view of one context: frequency and cumulative frequency
/// of each symbol.
#[derive(Debug, Clone)]
pub struct EncModel {
    freq: Vec<u32>,
    cum: Vec<u32>,
}

/// Probabilities of `alphabet` symbols in each context, summing to 2^24.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Per context, one probability per symbol (each at least 1).
    pub probs: Vec<Vec<u32>>,
}

impl Table {
    /// Quantises counts (per context, one per symbol): every symbol keeps
    /// a non-zero probability, the rounding remainder goes to the most
    /// frequent one.
    pub fn from_counts(counts: &[Vec<u64>]) -> Table {
        let probs = counts
            .iter()
            .map(|c| {
                let a = c.len() as u64;
                let n: u64 = c.iter().sum();
                let mut p: Vec<u32> = if n == 0 {
                    vec![(TOTAL / a) as u32; a as usize]
                } else {
                    c.iter()
                        .map(|&x| {
                            ((x as u128 * (TOTAL - a) as u128 / n as u128) as u64).max(1) as u32
                        })
                        .collect()
                };
                let sum: u64 = p.iter().map(|&x| x as u64).sum();
                let top = (0..p.len())
                    .max_by_key(|&i| (c.get(i).copied().unwrap_or(0), std::cmp::Reverse(i)))
                    .unwrap_or(0);
                p[top] += (TOTAL - sum) as u32;
                p
            })
            .collect();
        Table { probs }
    }

    /// Bits `counts` cost under this table.
    pub fn cost_bits(&self, counts: &[Vec<u64>]) -> f64 {
        let mut bits = 0.0;
        for (p, c) in self.probs.iter().zip(counts) {
            for (&pi, &ci) in p.iter().zip(c) {
                if ci > 0 {
                    bits += ci as f64 * (TOTAL as f64 / pi as f64).log2();
                }
            }
        }
        bits
    }

    /// Appends the table: contexts, alphabet size, then each probability.
    pub fn write(&self, out: &mut Vec<u8>) {
        put_varint(out, self.probs.len() as u64);
        put_varint(out, self.probs.first().map_or(0, |p| p.len()) as u64);
        for p in &self.probs {
            for &x in p {
                put_varint(out, x as u64);
            }
        }
    }

    /// Reads a table written by [`Table::write`], checking it sums right.
    pub fn read(r: &mut Reader) -> Result<Table> {
        let bad = |m: String| CompressError::Artifact(format!("entropy table: {m}"));
        let (ctx, a) = (r.varint()? as usize, r.varint()? as usize);
        if ctx > 64 || !(1..=1 << 16).contains(&a) {
            return Err(bad(format!("{ctx} contexts of {a} symbols")));
        }
        let mut probs = Vec::with_capacity(ctx);
        for i in 0..ctx {
            let p = (0..a)
                .map(|_| r.varint().map(|v| v as u32))
                .collect::<Result<Vec<u32>>>()?;
            let sum: u64 = p.iter().map(|&x| x as u64).sum();
            if sum != TOTAL || p.contains(&0) {
                return Err(bad(format!("context {i} does not sum to 2^24")));
            }
            probs.push(p);
        }
        Ok(Table { probs })
    }

    /// The decoder's models, one per context, with `bucket_bits` lookup bits.
    pub fn lookup_models(&self, bucket_bits: u32) -> Vec<LookupModel> {
        self.probs
            .iter()
            .map(|p| LookupModel::new(p, bucket_bits))
            .collect()
    }

    /// The encoder's models, one per context.
    pub fn models(&self) -> Vec<EncModel> {
        self.probs
            .iter()
            .map(|p| {
                let mut cum = Vec::with_capacity(p.len());
                let mut acc = 0u32;
                for &x in p {
                    cum.push(acc);
                    acc += x;
                }
                EncModel {
                    freq: p.clone(),
                    cum,
                }
            })
            .collect()
    }
}

/// Collects (model, symbol) pairs in decoding order; [`Encoder::finish`]
/// codes them (rANS encodes in reverse so the decoder reads forwards).
#[derive(Default)]
pub struct Encoder {
    items: Vec<(u16, u32)>,
}

impl Encoder {
    /// Queues `symbol` under model number `model`.
    pub fn push(&mut self, model: usize, symbol: u32) {
        self.items.push((model as u16, symbol));
    }

    /// The stream's bytes (little-endian 32-bit words): the lanes' final
    /// states, then the words in the order the decoder reads them.
    pub fn finish(self, models: &[EncModel]) -> Vec<u8> {
        let mut x = [LOW; LANES];
        let mut out: Vec<u32> = Vec::with_capacity(self.items.len() / 2 + 2 * LANES);
        // rANS is a stack: encode backwards so the decoder reads forwards.
        for (j, &(m, s)) in self.items.iter().enumerate().rev() {
            let l = j % LANES;
            let model = &models[m as usize];
            let (f, c) = (model.freq[s as usize] as u64, model.cum[s as usize] as u64);
            let mut v = x[l];
            if v >= ((LOW >> PRECISION) << 32) * f {
                out.push(v as u32);
                v >>= 32;
            }
            x[l] = ((v / f) << PRECISION) + v % f + c;
        }
        for l in (0..LANES).rev() {
            out.push(x[l] as u32);
            out.push((x[l] >> 32) as u32);
        }
        out.iter().rev().flat_map(|w| w.to_le_bytes()).collect()
    }
}

/// Reads symbols of a stream written by [`Encoder`].
pub struct Decoder {
    words: Vec<u32>,
    pos: usize,
    x: [u64; LANES],
    lane: usize,
}

impl Decoder {
    /// A decoder over a stream's bytes.
    pub fn new(bytes: &[u8], what: &str) -> Result<Decoder> {
        let corrupt = || CompressError::Artifact(format!("{what}: corrupt stream"));
        if !bytes.len().is_multiple_of(4) || bytes.len() < 8 * LANES {
            return Err(CompressError::Artifact(format!(
                "{what}: stream of {} bytes is not {LANES} lane states and whole 32-bit words",
                bytes.len()
            )));
        }
        let words: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let mut x = [0u64; LANES];
        for (l, s) in x.iter_mut().enumerate() {
            *s = ((words[2 * l] as u64) << 32) | words[2 * l + 1] as u64;
            if !(LOW..LOW << 32).contains(s) {
                return Err(corrupt());
            }
        }
        Ok(Decoder {
            words,
            pos: 2 * LANES,
            x,
            lane: 0,
        })
    }

    /// The next symbol under `model`.
    #[inline]
    pub fn symbol(&mut self, model: &LookupModel) -> u32 {
        let l = self.lane;
        self.lane = (l + 1) % LANES;
        let (s, x) = self.step(self.x[l], model);
        self.x[l] = x;
        s
    }

    /// One lane's decoding step from state `x`: the symbol and the next
    /// state, refilled from the word stream when it falls below [`LOW`].
    #[inline]
    fn step(&mut self, x: u64, model: &LookupModel) -> (u32, u64) {
        let q = (x & (TOTAL - 1)) as u32;
        let (s, c, f) = model.find(q);
        let mut v = f as u64 * (x >> PRECISION) + (q - c) as u64;
        if v < LOW {
            // A corrupt stream runs out of words; it decodes to wrong
            // symbols, which `finished` and the table checksum reject.
            let w = self.words.get(self.pos).copied().unwrap_or(0);
            self.pos += 1;
            v = (v << 32) | w as u64;
        }
        (s, v)
    }

    /// The next four symbols, one per lane, under `models` (the decoder
    /// must stand at lane 0): the lanes' states stay in registers, so the
    /// four chains overlap.
    #[inline]
    pub fn symbols4(&mut self, models: [&LookupModel; LANES]) -> [u32; LANES] {
        debug_assert_eq!(self.lane, 0);
        let mut out = [0u32; LANES];
        let mut x = self.x;
        for l in 0..LANES {
            (out[l], x[l]) = self.step(x[l], models[l]);
        }
        self.x = x;
        out
    }

    /// Whether the stream ended where the encoder began: every word read
    /// and every lane back at its initial state.
    pub fn finished(&self) -> bool {
        self.pos == self.words.len() && self.x.iter().all(|&x| x == LOW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_models_invert_the_cdf_like_a_search() {
        // A skewed table: one dominant symbol and a long tail of tiny ones.
        let mut counts = vec![vec![1u64; 3000]];
        counts[0][7] = 50_000_000;
        let t = Table::from_counts(&counts);
        let p = &t.probs[0];
        let cdf: Vec<u32> = std::iter::once(0)
            .chain(p.iter().scan(0u32, |a, &x| {
                *a += x;
                Some(*a)
            }))
            .collect();
        for bits in [6, 12, 16] {
            let m = &t.lookup_models(bits)[0];
            for q in (0..TOTAL as u32).step_by(997).chain([0, TOTAL as u32 - 1]) {
                let s = cdf.partition_point(|&c| c <= q) - 1;
                assert_eq!(m.find(q), (s as u32, cdf[s], p[s]), "{q} {bits}");
            }
        }
        assert_eq!(bucket_bits(3, 1 << 16), 6);
        assert_eq!(bucket_bits(4096, 1 << 16), 14);
        assert_eq!(bucket_bits(4096, 1 << 20), 16);
    }

    fn round_trip(msg: &[(usize, u32)], t: &Table) -> Vec<u8> {
        let mut e = Encoder::default();
        for &(m, s) in msg {
            e.push(m, s);
        }
        let stream = e.finish(&t.models());
        let lookup = t.lookup_models(10);
        let mut d = Decoder::new(&stream, "s").unwrap();
        for (j, &(m, s)) in msg.iter().enumerate() {
            assert_eq!(d.symbol(&lookup[m]), s, "symbol {j}");
        }
        assert!(d.finished());
        stream
    }

    #[test]
    fn four_lane_streams_round_trip_with_two_contexts() {
        let counts = vec![vec![50, 30, 0, 20], vec![1, 1, 1, 97]];
        let t = Table::from_counts(&counts);
        let mut bytes = Vec::new();
        t.write(&mut bytes);
        let t2 = Table::read(&mut Reader::new(&bytes, "t")).unwrap();
        assert_eq!(t, t2);
        for n in [0, 1, 3, 4, 5, 1000] {
            let msg: Vec<(usize, u32)> = (0..n).map(|i| (i % 2, (i * 7 % 4) as u32)).collect();
            let stream = round_trip(&msg, &t);
            if n == 0 {
                assert_eq!(stream.len(), 8 * LANES);
            }
        }
        // Near the entropy: 1000 symbols of a skewed table.
        let skew = Table::from_counts(&[vec![900, 50, 30, 20]]);
        let msg: Vec<(usize, u32)> = (0..1000)
            .map(|i| {
                (
                    0,
                    [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3][i % 20],
                )
            })
            .collect();
        let bytes = round_trip(&msg, &skew).len() - 8 * LANES;
        let mut counts = vec![vec![0u64; 4]];
        msg.iter().for_each(|&(_, s)| counts[0][s as usize] += 1);
        let ideal = skew.cost_bits(&counts) / 8.0;
        assert!((bytes as f64) < ideal * 1.02 + 16.0, "{bytes} vs {ideal}");
    }

    #[test]
    fn four_at_a_time_decodes_what_one_at_a_time_does() {
        let t = Table::from_counts(&[vec![5, 3, 2, 7, 1, 9], vec![1, 20, 3, 1, 1, 2]]);
        let msg: Vec<(usize, u32)> = (0..403).map(|i| (i % 3 % 2, (i * 5 % 6) as u32)).collect();
        let mut e = Encoder::default();
        msg.iter().for_each(|&(m, s)| e.push(m, s));
        let stream = e.finish(&t.models());
        let lookup = t.lookup_models(9);
        let mut d = Decoder::new(&stream, "s").unwrap();
        let mut got = Vec::new();
        let mut quads = msg.chunks_exact(LANES);
        for q in &mut quads {
            let m = |k: usize| &lookup[q[k].0];
            got.extend(d.symbols4([m(0), m(1), m(2), m(3)]));
        }
        for &(m, _) in quads.remainder() {
            got.push(d.symbol(&lookup[m]));
        }
        assert_eq!(got, msg.iter().map(|x| x.1).collect::<Vec<_>>());
        assert!(d.finished());
    }

    #[test]
    fn a_damaged_stream_does_not_finish_clean() {
        let t = Table::from_counts(&[vec![5, 3, 2, 7, 1, 9]]);
        let msg: Vec<(usize, u32)> = (0..500).map(|i| (0, (i * 5 % 6) as u32)).collect();
        let stream = round_trip(&msg, &t);
        let lookup = t.lookup_models(8);
        for at in [0, 9, 40, stream.len() / 2, stream.len() - 1] {
            let mut bad = stream.clone();
            bad[at] ^= 0x10;
            let Ok(mut d) = Decoder::new(&bad, "s") else {
                continue;
            };
            let same = msg.iter().all(|&(m, s)| d.symbol(&lookup[m]) == s);
            assert!(!(same && d.finished()), "flip at {at} went unseen");
        }
        assert!(Decoder::new(&stream[..stream.len() - 3], "s").is_err());
    }
}
