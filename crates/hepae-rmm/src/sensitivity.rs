//! The Oslo thesis' sensitivity checks of an anomaly score, as report
//! sections: signals with their pT scaled up should stand out more, test
//! events whose matrix cells are shuffled should score differently, and a
//! background process left out of training should score higher.

use crate::anomaly::{roc, Roc};
use hepae_table::Matrix;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Suffix of the signal copies whose objects' pT (and MET) are scaled by k:
/// `PROCESS_pt_xK` (see [`crate::table::with_pt_scaled_signals`]).
pub const PT_SCALED: &str = "_pt_x";

/// AUC of one signal at one pT scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PtScaled {
    /// The signal process as given.
    pub signal: String,
    /// Scale of every object's pT and of MET (1: the sample itself).
    pub k: f64,
    /// AUC against the held-out background.
    pub auc: f64,
}

/// Scores of the held-out background before and after shuffling each
/// event's matrix cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shuffled {
    /// Median score of the held-out background events.
    pub median_score: f64,
    /// Median score of the same events with their cells shuffled.
    pub median_shuffled: f64,
    /// AUC of the shuffled events' scores against the originals' (0.5: no
    /// change in the distribution).
    pub auc: f64,
}

/// One background process left out of training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeftOut {
    /// The process.
    pub process: String,
    /// Its held-out events' (weighted) median score over the other held-out
    /// background's, with the nominal model (medians: a few events far out
    /// would rule a mean).
    pub ratio_nominal: f64,
    /// The same ratio with the model trained without it.
    pub ratio_left_out: f64,
    /// AUC of its held-out events against the other held-out background,
    /// with the model trained without it.
    pub auc_left_out: f64,
}

/// The checks that ran (`summary.json`'s `sensitivity`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sensitivity {
    /// AUC per signal and pT scale (when the table has scaled copies).
    pub pt_scaled: Vec<PtScaled>,
    /// Shuffled matrix cells.
    pub shuffled: Option<Shuffled>,
    /// Leave-one-process-out trainings (`anomaly.leave_one_out`).
    pub left_out: Vec<LeftOut>,
}

/// The pT-scale table from the ROCs: every signal with scaled copies, at
/// k = 1 and each k, in increasing k.
pub fn pt_scaled(rocs: &[Roc]) -> Vec<PtScaled> {
    let mut out = Vec::new();
    for base in rocs.iter().filter(|r| !r.signal.contains(PT_SCALED)) {
        let prefix = format!("{}{PT_SCALED}", base.signal);
        let mut copies: Vec<PtScaled> = rocs
            .iter()
            .filter_map(|r| {
                let k: f64 = r.signal.strip_prefix(&prefix)?.parse().ok()?;
                Some(PtScaled {
                    signal: base.signal.clone(),
                    k,
                    auc: r.auc,
                })
            })
            .collect();
        if copies.is_empty() {
            continue;
        }
        copies.sort_by(|a, b| a.k.total_cmp(&b.k));
        out.push(PtScaled {
            signal: base.signal.clone(),
            k: 1.0,
            auc: base.auc,
        });
        out.extend(copies);
    }
    out
}

/// The rows `rows` of `m` with each row's cells in a seeded random order.
fn shuffled_rows(m: &Matrix, rows: &[usize], seed: u64) -> Matrix {
    let n = m.cols();
    let mut values = Vec::with_capacity(rows.len() * n);
    for &r in rows {
        let mut row = m.values[r * n..(r + 1) * n].to_vec();
        // Fisher-Yates with a counter-based generator: the same on any machine.
        for j in (1..n).rev() {
            let k = (hepae_train::mix(seed ^ r as u64, j as u64) % (j as u64 + 1)) as usize;
            row.swap(j, k);
        }
        values.extend(row);
    }
    Matrix {
        names: m.names.clone(),
        dtypes: m.dtypes.clone(),
        values,
        rows: rows.len(),
    }
}

/// Scores the held-out rows `test` with their cells shuffled, against
/// their own scores `score`.
pub fn shuffled(
    m: &Matrix,
    test: &[usize],
    score: &[f64],
    model_dir: &Path,
    kind: crate::score::ScoreKind,
    seed: u64,
) -> crate::Result<Shuffled> {
    let sm = shuffled_rows(m, test, seed);
    let after = crate::score::scores(&sm, model_dir)?.chosen(kind)?;
    let before: Vec<f64> = test.iter().map(|&i| score[i]).collect();
    let unit = |v: &[f64]| v.iter().map(|&s| (s, 1.0)).collect::<Vec<_>>();
    Ok(Shuffled {
        median_score: weighted_median(&unit(&before)),
        median_shuffled: weighted_median(&unit(&after)),
        auc: roc(&unit(&before), &unit(&after)).0,
    })
}

/// The score below which half the weight lies.
fn weighted_median(v: &[(f64, f64)]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let half = v.iter().map(|x| x.1).sum::<f64>() / 2.0;
    let mut acc = 0.0;
    for (s, w) in &v {
        acc += w;
        if acc >= half {
            return *s;
        }
    }
    f64::NAN
}

/// Median score of the held-out events of `process` over the other
/// held-out background's (weighted), and the AUC of the first against the
/// second.
pub fn process_vs_rest(
    score: &[f64],
    process: &[String],
    test: &[bool],
    weight: &[f64],
    which: &str,
) -> (f64, f64) {
    let pick = |own: bool| -> Vec<(f64, f64)> {
        (0..score.len())
            .filter(|&i| test[i] && (process[i] == which) == own)
            .map(|i| (score[i], weight[i]))
            .collect()
    };
    let (p, rest) = (pick(true), pick(false));
    (
        weighted_median(&p) / weighted_median(&rest),
        roc(&rest, &p).0,
    )
}

/// Per background process with events in training and among the held-out
/// ones: retrains without it (`train(rows, model_dir)`), scores every
/// event, and compares how it scores against the rest of the held-out
/// background with and without it in training.
#[allow(clippy::too_many_arguments)]
pub fn left_out(
    m: &Matrix,
    train_rows: &[usize],
    test: &[bool],
    ev: (&[String], &[f64]),
    nominal: &[f64],
    kind: crate::score::ScoreKind,
    dir: &Path,
    train: &dyn Fn(&[usize], &Path) -> crate::Result<()>,
) -> crate::Result<Vec<LeftOut>> {
    let (process, weight) = ev;
    let mut names: Vec<&String> = train_rows.iter().map(|&i| &process[i]).collect();
    names.sort();
    names.dedup();
    if names.len() < 2 {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for p in names {
        if !(0..test.len()).any(|i| test[i] && &process[i] == p) {
            continue;
        }
        let rows: Vec<usize> = train_rows
            .iter()
            .copied()
            .filter(|&i| &process[i] != p)
            .collect();
        let model = dir.join(format!("without_{p}")).join("model");
        train(&rows, &model)?;
        let score = crate::score::scores(m, &model)?.chosen(kind)?;
        let (ratio_nominal, _) = process_vs_rest(nominal, process, test, weight, p);
        let (ratio_left_out, auc_left_out) = process_vs_rest(&score, process, test, weight, p);
        out.push(LeftOut {
            process: p.clone(),
            ratio_nominal,
            ratio_left_out,
            auc_left_out,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(signal: &str, auc: f64) -> Roc {
        Roc {
            signal: signal.into(),
            auc,
            points: Vec::new(),
        }
    }

    #[test]
    fn pt_scaled_copies_are_grouped_by_signal_in_increasing_k() {
        let rocs = [
            r("zp", 0.7),
            r("zp_pt_x3", 0.9),
            r("zp_pt_x1.5", 0.8),
            r("other", 0.6),
        ];
        let t = pt_scaled(&rocs);
        let got: Vec<(f64, f64)> = t.iter().map(|p| (p.k, p.auc)).collect();
        assert_eq!(got, [(1.0, 0.7), (1.5, 0.8), (3.0, 0.9)]);
        assert!(t.iter().all(|p| p.signal == "zp"));
    }

    #[test]
    fn shuffling_permutes_each_row() {
        let m = Matrix {
            names: (0..6).map(|i| i.to_string()).collect(),
            dtypes: vec!["float32".into(); 6],
            values: (0..12).map(|v| v as f32).collect(),
            rows: 2,
        };
        let s = shuffled_rows(&m, &[1, 0], 3);
        let mut a = s.values[..6].to_vec();
        assert_ne!(a, m.values[6..]);
        a.sort_by(f32::total_cmp);
        assert_eq!(a, m.values[6..]);
    }

    #[test]
    fn a_process_that_scores_higher_has_ratio_and_auc_above_one_half() {
        let score = [1.0, 1.0, 3.0, 3.0, 9.0, 300.0];
        let process: Vec<String> = ["a", "a", "b", "b", "b", "b"].map(String::from).to_vec();
        let test = [true, true, true, true, false, true];
        // b: 3, 3, 300 (median 3) against a's 1, 1; AUC 1.
        let (ratio, auc) = process_vs_rest(&score, &process, &test, &[1.0; 6], "b");
        assert_eq!((ratio, auc), (3.0, 1.0));
    }
}
