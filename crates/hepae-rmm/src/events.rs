//! The per-event labels of an RMM table the anomaly stage reads: feature
//! columns, process, signal flag, weights, MET and carried quantities.

use crate::anomaly::AnomalyOptions;
use arrow_array::cast::AsArray;
use arrow_array::RecordBatch;

/// Per-event labels of an RMM table and the names of its feature columns.
pub(crate) struct Events {
    /// Feature columns: every numeric column but the labels, the weight
    /// and the carried quantities.
    pub(crate) features: Vec<String>,
    /// Process of each event.
    pub(crate) process: Vec<String>,
    /// Whether each event is signal.
    pub(crate) signal: Vec<bool>,
    /// Event weights (1 without a weight column).
    pub(crate) weights: Vec<f64>,
    /// Whether the table has event weights (else every weight is 1).
    pub(crate) weighted: bool,
    /// Event quantities carried beside the cells (`q_...` columns).
    pub(crate) carried: Vec<(String, Vec<f64>)>,
    /// MET in GeV, from the `met` cell and the table's sqrt(s) (RMM tables).
    pub(crate) met: Option<Vec<f64>>,
}

/// MET in GeV of an RMM table: its `met` cell (MET / sqrt(s)) times the
/// sqrt(s) recorded in the `hepae.rmm` metadata.
fn met_gev(table: &RecordBatch) -> Option<Vec<f64>> {
    let schema = table.schema();
    let cfg: crate::RmmConfig = serde_json::from_str(schema.metadata().get("hepae.rmm")?).ok()?;
    let met = hepae_table::numeric_f64(table.column_by_name("met")?)?;
    Some(met.into_iter().map(|m| m * cfg.sqrt_s).collect())
}

impl Events {
    /// Labels, weights, carried quantities and feature names of `table`.
    pub(crate) fn of(table: &RecordBatch, opts: &AnomalyOptions) -> crate::Result<Events> {
        let meta_cols = ["event", "process", "is_signal", "file_index", "weight"];
        let features: Vec<String> = table
            .schema()
            .fields()
            .iter()
            .filter(|f| {
                !meta_cols.contains(&f.name().as_str())
                    && !f.name().starts_with(crate::select::CARRIED_PREFIX)
                    && Some(f.name()) != opts.weight_column.as_ref()
            })
            .filter(|f| f.data_type().is_numeric())
            .map(|f| f.name().clone())
            .collect();
        let process: Vec<String> = table
            .column_by_name("process")
            .ok_or("table has no 'process' column")?
            .as_string::<i32>()
            .iter()
            .map(|s| s.unwrap_or("").to_string())
            .collect();
        let signal: Vec<bool> = table
            .column_by_name("is_signal")
            .ok_or("table has no 'is_signal' column")?
            .as_boolean()
            .iter()
            .map(|b| b.unwrap_or(false))
            .collect();
        let column = opts
            .weight_column
            .clone()
            .or_else(|| table.column_by_name("weight").map(|_| "weight".to_string()));
        let weights: Vec<f64> = match &column {
            Some(c) => {
                let m = hepae_table::from_batch(table, std::slice::from_ref(c))?;
                m.values.iter().map(|v| *v as f64).collect()
            }
            None => vec![1.0; table.num_rows()],
        };
        Ok(Events {
            features,
            process,
            signal,
            weights,
            weighted: column.is_some(),
            carried: carried(table),
            met: met_gev(table),
        })
    }
}

/// The `q_...` columns of an RMM table, by name without the prefix.
fn carried(table: &RecordBatch) -> Vec<(String, Vec<f64>)> {
    let schema = table.schema();
    schema
        .fields()
        .iter()
        .filter_map(|f| {
            let name = f.name().strip_prefix(crate::select::CARRIED_PREFIX)?;
            let v = hepae_table::numeric_f64(table.column_by_name(f.name())?)?;
            Some((name.to_string(), v))
        })
        .collect()
}
