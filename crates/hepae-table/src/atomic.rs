//! Writing beside the destination, then renaming into place, so that a
//! failed or killed run never leaves a half-written file or directory.

use crate::error::{Result, TableError};
use std::path::{Path, PathBuf};

pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Runs `write` on a temporary file beside `path` and renames it to `path`
/// on success; on failure the temporary file is removed, so no half-written
/// file is ever left under the final name.
pub fn write_file_atomic<E: std::error::Error + Send + Sync + 'static>(
    path: &Path,
    write: impl FnOnce(std::io::BufWriter<std::fs::File>) -> std::result::Result<(), E>,
) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| TableError::io(dir, e))?;
    }
    let tmp = tmp_path(path);
    let result = (|| -> Result<()> {
        let f = std::fs::File::create(&tmp).map_err(|e| TableError::io(&tmp, e))?;
        // Large writes: column chunks are copied in through this buffer, and
        // 8 KiB writes cost a system call each.
        write(std::io::BufWriter::with_capacity(1 << 20, f)).map_err(|e| TableError::Write {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    })();
    match result {
        Ok(()) => std::fs::rename(&tmp, path).map_err(|e| TableError::io(path, e)),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// A hidden sibling of `out` to build it in: `.NAME.tmp-PID`.
pub fn tmp_sibling(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    out.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Builds a directory with `fill` in a hidden sibling of `out`, then puts it
/// in place of `out` (an old `out` is removed first); on failure the
/// half-built directory is removed and `out` is left as it was. Callers
/// check beforehand whether an existing `out` may be replaced.
pub fn write_dir_atomic<T, E: From<TableError>>(
    out: &Path,
    fill: impl FnOnce(&Path) -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    let tmp = tmp_sibling(out);
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| TableError::io(&tmp, e))?;
    let value = match fill(&tmp) {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    let replace = || -> Result<()> {
        if out.exists() {
            std::fs::remove_dir_all(out).map_err(|e| TableError::io(out, e))?;
        }
        if let Some(p) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(p).map_err(|e| TableError::io(p, e))?;
        }
        std::fs::rename(&tmp, out).map_err(|e| TableError::io(out, e))
    };
    replace().inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&tmp);
    })?;
    Ok(value)
}

/// Writes `bytes` (an HTML page, a CSV file, weights) atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    write_file_atomic(path, |mut w| {
        w.write_all(bytes)?;
        w.flush()
    })
}

/// Writes pretty JSON atomically.
pub fn write_json_atomic(value: &impl serde::Serialize, path: &Path) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|source| TableError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    text.push('\n');
    write_bytes_atomic(path, text.as_bytes())
}
