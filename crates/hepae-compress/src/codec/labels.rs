//! Label columns (`event`, `file_index`) as run lengths, and the event
//! starts they define.

use super::bits::{put_varint, unzigzag, zigzag, Reader};
use crate::{CompressError, Result};

/// Appends the runs of `v`: (value change, run length) pairs.
pub fn write_runs(v: &[i64], out: &mut Vec<u8>) {
    let mut prev = 0i64;
    let mut i = 0;
    while i < v.len() {
        let mut j = i + 1;
        while j < v.len() && v[j] == v[i] {
            j += 1;
        }
        put_varint(out, zigzag(v[i].wrapping_sub(prev)));
        put_varint(out, (j - i) as u64);
        prev = v[i];
        i = j;
    }
}

/// Reads `rows` values written by [`write_runs`].
pub fn read_runs(r: &mut Reader, rows: usize) -> Result<Vec<i64>> {
    let mut out = Vec::with_capacity(rows);
    let mut prev = 0i64;
    while out.len() < rows {
        let v = prev.wrapping_add(unzigzag(r.varint()?));
        let n = r.varint()? as usize;
        if n == 0 || n > rows - out.len() {
            return Err(CompressError::Artifact(format!(
                "labels: a run of {n} rows overruns the table's {rows}"
            )));
        }
        out.extend(std::iter::repeat_n(v, n));
        prev = v;
    }
    Ok(out)
}

/// Per row of `rows`: true where a row starts an event (a label changes),
/// and at the first row of every block.
pub fn event_starts(labels: &[Vec<i64>], rows: usize, block_rows: usize) -> Vec<bool> {
    (0..rows)
        .map(|i| i % block_rows == 0 || labels.iter().any(|l| l[i] != l[i - 1]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_round_trip_and_mark_event_starts() {
        let ev = vec![0, 0, 0, 1, 1, 5, 5, 5, 5, -3];
        let mut b = Vec::new();
        write_runs(&ev, &mut b);
        assert_eq!(read_runs(&mut Reader::new(&b, "l"), ev.len()).unwrap(), ev);
        let f = event_starts(std::slice::from_ref(&ev), ev.len(), 4);
        assert_eq!(
            f,
            [true, false, false, true, true, true, false, false, true, true]
        );
        assert!(read_runs(&mut Reader::new(&b[..b.len() - 1], "l"), ev.len()).is_err());
        assert!(read_runs(&mut Reader::new(&b, "l"), 2)
            .unwrap_err()
            .to_string()
            .contains("overruns"));
    }
}
