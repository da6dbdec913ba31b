//! How the latent space is stored: float32, float16, bfloat16, or 8/16-bit
//! codes on a per-dimension uniform grid.

use serde::{Deserialize, Serialize};

/// Floating-point type of the stored latent space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LatentDType {
    /// IEEE float32.
    #[default]
    F32,
    /// IEEE float16 (Parquet FLOAT16).
    F16,
    /// bfloat16 (stored as its uint16 bit pattern).
    Bf16,
    /// 8-bit codes spread evenly over each latent dimension's range (the
    /// decoder sees the dequantised values; residuals absorb the rest).
    Q8,
    /// 16-bit codes, as `q8`.
    Q16,
}

impl std::str::FromStr for LatentDType {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "f32" | "float32" => Ok(LatentDType::F32),
            "f16" | "float16" => Ok(LatentDType::F16),
            "bf16" | "bfloat16" => Ok(LatentDType::Bf16),
            "q8" => Ok(LatentDType::Q8),
            "q16" => Ok(LatentDType::Q16),
            _ => Err(format!(
                "unknown latent dtype '{s}' (f32, f16, bf16, q8, q16)"
            )),
        }
    }
}

impl LatentDType {
    /// Rounds a value to this float type and back, exactly as storage does.
    pub(crate) fn round_trip(self, v: f32) -> f32 {
        match self {
            LatentDType::F32 | LatentDType::Q8 | LatentDType::Q16 => v,
            LatentDType::F16 => half::f16::from_f32(v).to_f32(),
            LatentDType::Bf16 => half::bf16::from_f32(v).to_f32(),
        }
    }

    /// Largest code of a quantised type.
    pub(crate) fn max_code(self) -> Option<u32> {
        match self {
            LatentDType::Q8 => Some(u8::MAX as u32),
            LatentDType::Q16 => Some(u16::MAX as u32),
            _ => None,
        }
    }
}

/// The value of code `c` in a dimension quantised as `[lo, step]`: one f32
/// multiply and add, the same on every machine.
pub(crate) fn dequantise(c: u32, q: [f32; 2]) -> f32 {
    q[0] + c as f32 * q[1]
}

/// Per-dimension `[lo, step]` and the codes (column-major per dimension).
pub(crate) fn quantise(z: &[f32], width: usize, max_code: u32) -> (Vec<[f32; 2]>, Vec<Vec<u32>>) {
    let rows = z.len() / width.max(1);
    (0..width)
        .map(|k| {
            let col = (0..rows).map(|i| z[i * width + k]);
            let (lo, hi) = col
                .clone()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                });
            let lo = if lo.is_finite() { lo } else { 0.0 };
            let step = if hi > lo {
                (hi - lo) / max_code as f32
            } else {
                1.0
            };
            let codes = col
                .map(|v| (((v - lo) / step).round().max(0.0) as u32).min(max_code))
                .collect();
            ([lo, step], codes)
        })
        .unzip()
}
