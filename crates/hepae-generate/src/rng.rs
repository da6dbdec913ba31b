//! A small seeded generator (SplitMix64 with Box-Muller normals): the
//! samples depend only on the seed, never on the thread count.

/// SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` and stream `k` (independent streams per purpose).
    pub fn new(seed: u64, k: u64) -> Rng {
        Rng(hepae_train::mix(seed, k))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Standard normal.
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// `rows x cols` normals of standard deviation `std`, row-major; each block
/// of rows draws from its own stream so that filling is parallel and
/// repeatable.
pub fn normals(seed: u64, stream: u64, rows: usize, cols: usize, std: f64) -> Vec<f32> {
    use rayon::prelude::*;
    const BLOCK: usize = 4096;
    let mut out = vec![0f32; rows * cols];
    out.par_chunks_mut(BLOCK * cols.max(1))
        .enumerate()
        .for_each(|(b, chunk)| {
            let mut rng = Rng::new(seed, (stream << 32) + b as u64);
            chunk
                .iter_mut()
                .for_each(|x| *x = (rng.normal() * std) as f32);
        });
    out
}
