//! Exported parameter tensors and their safetensors files (F32, row-major).

use crate::error::{ModelError, Result};
use std::collections::HashMap;
use std::path::Path;

/// One exported parameter tensor (row-major `f32`).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// Parameter name, e.g. `decoder.0.weight`.
    pub name: String,
    /// Shape: `[out, in]` for weights, `[out]` for biases.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f32>,
}

/// The safetensors bytes of `tensors`, every one as F32, with `meta` as the
/// file's description.
pub fn safetensors_bytes(
    tensors: &[NamedTensor],
    meta: HashMap<String, String>,
) -> std::result::Result<Vec<u8>, safetensors::SafeTensorError> {
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                t.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                t.shape.clone(),
            )
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(n, b, s)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .map(|v| (n.clone(), v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    safetensors::tensor::serialize(views, Some(meta))
}

/// Reads a safetensors file whose tensors are all F32.
pub fn read_safetensors(path: &Path) -> Result<Vec<NamedTensor>> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|source| {
        ModelError::SafeTensors {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let mut out = Vec::new();
    for name in st.names() {
        let t = st.tensor(name).map_err(|source| ModelError::SafeTensors {
            path: path.to_path_buf(),
            source,
        })?;
        if t.dtype() != safetensors::Dtype::F32 {
            return Err(ModelError::invalid(
                path.display(),
                format!("tensor '{name}' is {:?}, expected F32", t.dtype()),
            ));
        }
        out.push(NamedTensor {
            name: name.to_string(),
            shape: t.shape().to_vec(),
            data: t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        });
    }
    Ok(out)
}
