//! Binary-classification metrics: precision, recall, F1 and false-positive rate at a threshold,
//! and the best recall reachable under a false-positive budget.

use std::fmt;

use serde::Serialize;

/// Confusion counts and the metrics derived from them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Metrics {
    pub threshold: f32,
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub fpr: f64,
}

impl Metrics {
    /// Metrics of `scored` (score, is-positive) when `score >= threshold` predicts positive.
    pub fn at(scored: &[(f32, bool)], threshold: f32) -> Metrics {
        let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
        for &(s, y) in scored {
            match (s >= threshold, y) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, false) => tn += 1,
                (false, true) => fn_ += 1,
            }
        }
        Metrics::from_counts(threshold, tp, fp, tn, fn_)
    }

    /// Metrics from confusion counts.
    pub fn from_counts(threshold: f32, tp: usize, fp: usize, tn: usize, fn_: usize) -> Metrics {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Metrics {
            threshold,
            tp,
            fp,
            tn,
            fn_,
            precision,
            recall,
            f1,
            fpr: ratio(fp, fp + tn),
        }
    }

    /// The lowest threshold whose false-positive rate is at most `max_fpr` (so the highest
    /// recall within that budget).
    pub fn best_recall_at_fpr(scored: &[(f32, bool)], max_fpr: f64) -> Metrics {
        let mut thresholds: Vec<f32> = scored.iter().map(|(s, _)| *s).collect();
        thresholds.sort_by(|a, b| b.total_cmp(a));
        thresholds.dedup();
        let mut best = Metrics::at(scored, f32::INFINITY);
        for t in thresholds {
            let m = Metrics::at(scored, t);
            if m.fpr > max_fpr {
                break;
            }
            best = m;
        }
        best
    }
}

/// One line of the evaluation table.
#[derive(Debug, Clone, Serialize)]
pub struct EvalRow {
    /// What was measured, e.g. `text-spam@1` or `engine (policy default@1)`.
    pub system: String,
    /// The task, e.g. `spam vs ham (SMS test split)`.
    pub task: String,
    /// How the threshold was chosen.
    pub operating_point: String,
    pub metrics: Metrics,
}

impl EvalRow {
    /// The table header matching [`EvalRow`]'s `Display`.
    pub fn header() -> String {
        format!(
            "{:<34} {:<40} {:<22} {:>9} {:>7} {:>7} {:>7} {:>7} {:>6}",
            "system", "task", "operating point", "threshold", "prec", "recall", "F1", "FPR", "n"
        )
    }
}

impl fmt::Display for EvalRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.metrics;
        write!(
            f,
            "{:<34} {:<40} {:<22} {:>9.3} {:>7.3} {:>7.3} {:>7.3} {:>7.4} {:>6}",
            self.system,
            self.task,
            self.operating_point,
            m.threshold,
            m.precision,
            m.recall,
            m.f1,
            m.fpr,
            m.tp + m.fp + m.tn + m.fn_
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_arithmetic_on_a_hand_example() {
        let scored = [
            (0.9, true),
            (0.8, false),
            (0.7, true),
            (0.2, true),
            (0.1, false),
            (0.05, false),
        ];
        let m = Metrics::at(&scored, 0.5);
        assert_eq!((m.tp, m.fp, m.tn, m.fn_), (2, 1, 2, 1));
        assert!((m.precision - 2.0 / 3.0).abs() < 1e-9);
        assert!((m.recall - 2.0 / 3.0).abs() < 1e-9);
        assert!((m.fpr - 1.0 / 3.0).abs() < 1e-9);
        let zero_fp = Metrics::best_recall_at_fpr(&scored, 0.0);
        assert_eq!((zero_fp.tp, zero_fp.fp), (1, 0));
    }
}
