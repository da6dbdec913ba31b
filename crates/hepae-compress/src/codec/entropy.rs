//! Entropy coding: fixed-point frequency tables per context, and rANS
//! streams (constriction's `AnsCoder`) whose symbols each name their model.
//!
//! Tables are made from counts with integer arithmetic only and stored in
//! the artifact, so both sides build the very same models.

use super::bits::{put_varint, Reader};
use crate::{CompressError, Result};
use constriction::stream::model::{
    DecoderModel, DefaultContiguousCategoricalEntropyModel, EntropyModel,
};
use constriction::stream::stack::DefaultAnsCoder;
use constriction::stream::{Decode, Encode};
use std::num::NonZeroU32;

/// The model of one context.
pub type Model = DefaultContiguousCategoricalEntropyModel;

/// Bits of fixed-point precision of the probabilities (constriction's default).
const PRECISION: usize = 24;
const TOTAL: u64 = 1 << PRECISION;
/// Quantile buckets of a [`LookupModel`]: the top bits of a quantile.
const BUCKET_BITS: usize = 12;

/// The decoder's view of one context's probabilities: the same
/// distribution as its [`Model`], with the symbol of a quantile found from
/// a table of its top bits and a short scan, instead of a binary search
/// over the whole alphabet (the decoder's hottest step).
#[derive(Debug, Clone)]
pub struct LookupModel {
    /// Cumulative probabilities, `cdf[0] = 0`, last `2^24`.
    cdf: Vec<u32>,
    /// Per bucket, the symbol holding its first quantile.
    start: Vec<u16>,
}

impl LookupModel {
    fn new(probs: &[u32]) -> LookupModel {
        let mut cdf = Vec::with_capacity(probs.len() + 1);
        let mut acc = 0u32;
        cdf.push(0);
        for &p in probs {
            acc += p;
            cdf.push(acc);
        }
        let shift = PRECISION - BUCKET_BITS;
        let mut start = Vec::with_capacity(1 << BUCKET_BITS);
        let mut sym = 0usize;
        for b in 0..1u32 << BUCKET_BITS {
            let q = b << shift;
            while cdf[sym + 1] <= q {
                sym += 1;
            }
            start.push(sym as u16);
        }
        LookupModel { cdf, start }
    }
}

impl EntropyModel<PRECISION> for LookupModel {
    type Symbol = usize;
    type Probability = u32;
}

impl DecoderModel<PRECISION> for LookupModel {
    #[inline]
    fn quantile_function(&self, quantile: u32) -> (usize, u32, NonZeroU32) {
        let mut s = self.start[(quantile >> (PRECISION - BUCKET_BITS)) as usize] as usize;
        while self.cdf[s + 1] <= quantile {
            s += 1;
        }
        let p = NonZeroU32::new(self.cdf[s + 1] - self.cdf[s])
            .expect("tables hold no zero probability");
        (s, self.cdf[s], p)
    }
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

    /// The decoder's models, one per context.
    pub fn lookup_models(&self) -> Vec<LookupModel> {
        self.probs.iter().map(|p| LookupModel::new(p)).collect()
    }

    /// constriction models, one per context.
    pub fn models(&self) -> Result<Vec<Model>> {
        self.probs
            .iter()
            .map(|p| {
                Model::from_nonzero_fixed_point_probabilities(p.iter().copied(), false).map_err(
                    |()| CompressError::Artifact("entropy table: not a distribution".into()),
                )
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

    /// The stream's bytes (little-endian 32-bit words).
    pub fn finish(self, models: &[Model]) -> Vec<u8> {
        let mut coder = DefaultAnsCoder::new();
        for &(m, s) in self.items.iter().rev() {
            coder
                .encode_symbol(s as usize, models[m as usize].as_view())
                .expect("symbols lie in their model's support");
        }
        let words = coder.into_compressed().expect("in-memory stream");
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }
}

/// Reads symbols of a stream written by [`Encoder`].
pub struct Decoder {
    coder: DefaultAnsCoder,
}

impl Decoder {
    /// A decoder over a stream's bytes.
    pub fn new(bytes: &[u8], what: &str) -> Result<Decoder> {
        if !bytes.len().is_multiple_of(4) {
            return Err(CompressError::Artifact(format!(
                "{what}: stream of {} bytes is not whole 32-bit words",
                bytes.len()
            )));
        }
        let words: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let coder = DefaultAnsCoder::from_compressed(words)
            .map_err(|_| CompressError::Artifact(format!("{what}: corrupt stream")))?;
        Ok(Decoder { coder })
    }

    /// The next symbol under `model`.
    pub fn symbol(&mut self, model: &LookupModel) -> u32 {
        // A corrupt stream decodes to wrong symbols, which the table
        // checksum then rejects.
        self.coder.decode_symbol(model).map_or(0, |s| s as u32)
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
        let m = &t.lookup_models()[0];
        let c = &t.models().unwrap()[0];
        for q in (0..TOTAL as u32).step_by(997).chain([0, TOTAL as u32 - 1]) {
            assert_eq!(m.quantile_function(q), c.quantile_function(q), "{q}");
        }
    }

    #[test]
    fn streams_round_trip_with_two_contexts() {
        let counts = vec![vec![50, 30, 0, 20], vec![1, 1, 1, 97]];
        let t = Table::from_counts(&counts);
        let mut bytes = Vec::new();
        t.write(&mut bytes);
        let t2 = Table::read(&mut Reader::new(&bytes, "t")).unwrap();
        assert_eq!(t, t2);
        let models = t.models().unwrap();
        let lookup = t.lookup_models();
        let msg: Vec<(usize, u32)> = (0..1000).map(|i| (i % 2, (i * 7 % 4) as u32)).collect();
        let mut e = Encoder::default();
        for &(m, s) in &msg {
            e.push(m, s);
        }
        let stream = e.finish(&models);
        let mut d = Decoder::new(&stream, "s").unwrap();
        for &(m, s) in &msg {
            assert_eq!(d.symbol(&lookup[m]), s);
        }
    }
}
