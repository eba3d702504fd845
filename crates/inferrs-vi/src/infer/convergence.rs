//! Stopping a fit when the ELBO has stopped moving: Stan's ADVI rule on its relative change
//! ([`Convergence`], set with [`VI::converge`](crate::VI::converge)).

use serde::{Deserialize, Serialize};

/// Stan's ADVI stopping rule (`tol_rel_obj`, `eval_elbo`): every `every` epochs the fit
/// estimates the ELBO (here the mean of the last `every` epochs' losses, which every epoch
/// computes anyway, where Stan draws a separate estimate), takes its relative change since the
/// last check, `|(elbo - previous) / elbo|`, and keeps the last `window` changes. The fit stops
/// when their mean or their median falls below `rel_tol`.
///
/// `window` is Stan's circular buffer: `max(0.1 * epochs / every, 2)` changes. A stopped fit
/// has run fewer epochs than asked ([`FitReport::converged`](crate::FitReport::converged)
/// says when and by which statistic); the learning-rate schedule still runs over the epochs
/// asked, so a decaying rate has not decayed when the fit stops early.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Convergence {
    /// Epochs between two checks (Stan's `eval_elbo`, 100 by default).
    pub every: usize,
    /// The relative change below which the fit stops (Stan's `tol_rel_obj`, 0.01 by default).
    pub rel_tol: f64,
}

impl Default for Convergence {
    /// Stan's defaults: every 100 epochs, a relative tolerance of 0.01.
    fn default() -> Self {
        Self {
            every: 100,
            rel_tol: 0.01,
        }
    }
}

/// Which statistic of the recent relative changes fell below the tolerance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConvergedBy {
    /// The mean of the recent relative changes (Stan's "MEAN ELBO CONVERGED").
    Mean,
    /// Their median (Stan's "MEDIAN ELBO CONVERGED").
    Median,
}

/// When a fit stopped early, and why.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Converged {
    /// The epochs run (a multiple of [`Convergence::every`]).
    pub epoch: usize,
    /// The statistic that fell below the tolerance.
    pub by: ConvergedBy,
    /// Its value.
    pub change: f64,
}

/// The state of the rule over one fit.
#[derive(Debug)]
pub(crate) struct ConvergenceCheck {
    rule: Convergence,
    window: usize,
    previous: Option<f64>,
    changes: std::collections::VecDeque<f64>,
}

impl ConvergenceCheck {
    /// The rule for a fit of `epochs` epochs.
    pub(crate) fn new(rule: Convergence, epochs: usize) -> Self {
        let window = ((0.1 * epochs as f64 / rule.every as f64) as usize).max(2);
        Self {
            rule,
            window,
            previous: None,
            changes: std::collections::VecDeque::with_capacity(window),
        }
    }

    /// After each epoch, with the losses so far: whether the fit stops now.
    pub(crate) fn observe(&mut self, losses: &[f64]) -> Option<Converged> {
        let done = losses.len();
        if done == 0 || !done.is_multiple_of(self.rule.every) {
            return None;
        }
        let recent = &losses[done - self.rule.every..];
        let elbo = -recent.iter().sum::<f64>() / recent.len() as f64;
        let previous = self.previous.replace(elbo)?;
        let change = ((elbo - previous) / elbo).abs();
        if self.changes.len() == self.window {
            self.changes.pop_front();
        }
        self.changes.push_back(if change.is_nan() {
            f64::INFINITY
        } else {
            change
        });
        let mean = self.changes.iter().sum::<f64>() / self.changes.len() as f64;
        let mut sorted: Vec<f64> = self.changes.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
        };
        let stop = |by, change| Converged {
            epoch: done,
            by,
            change,
        };
        if mean < self.rule.rel_tol {
            Some(stop(ConvergedBy::Mean, mean))
        } else if median < self.rule.rel_tol {
            Some(stop(ConvergedBy::Median, median))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Losses that are constant over each block of 10 epochs: block `b` has loss `L_b`, so
    /// the ELBO at check `b` is `-L_b` and the relative changes are closed forms.
    fn blocks(values: &[f64]) -> Vec<f64> {
        values.iter().flat_map(|&v| [v; 10]).collect()
    }

    #[test]
    fn stops_when_the_mean_or_median_relative_change_is_small() {
        // 200 epochs at every 10: window max(0.1 * 200 / 10, 2) = 2.
        let rule = Convergence {
            every: 10,
            rel_tol: 0.01,
        };
        // ELBO -100, -50, -49.9, -49.89: changes 1.0, 0.002004, 0.0002004.
        let losses = blocks(&[100.0, 50.0, 49.9, 49.89]);
        let mut check = ConvergenceCheck::new(rule, 200);
        let mut stopped = None;
        for done in 1..=losses.len() {
            if let Some(c) = check.observe(&losses[..done]) {
                stopped = Some(c);
                break;
            }
        }
        // At epoch 30 the window holds 1.0 and 0.1/49.9: mean 0.501, median 0.501 (two
        // values): no stop. At epoch 40 it holds 0.1/49.9 and 0.01/49.89: mean 0.0011.
        let c = stopped.expect("stops");
        assert_eq!(c.epoch, 40);
        assert_eq!(c.by, ConvergedBy::Mean);
        let expected = 0.5 * (0.1 / 49.9 + 0.01 / 49.89);
        assert!((c.change - expected).abs() < 1e-12, "{}", c.change);
    }

    #[test]
    fn the_median_stops_what_an_outlier_keeps_the_mean_from_stopping() {
        // 600 epochs at every 10: window 6. Changes: small, small, one large, small...
        let rule = Convergence {
            every: 10,
            rel_tol: 0.01,
        };
        let losses = blocks(&[100.0, 100.1, 100.2, 150.0, 150.1, 150.2]);
        let mut check = ConvergenceCheck::new(rule, 600);
        let results: Vec<_> = (1..=losses.len())
            .filter_map(|d| check.observe(&losses[..d]))
            .collect();
        // Epoch 20: one change 0.1/100.1 < 0.01, mean stops at once.
        assert_eq!(results[0].epoch, 20);
        assert_eq!(results[0].by, ConvergedBy::Mean);
        // Later, with the jump to 150 (change 0.333) in the window, the mean is above the
        // tolerance but the median of (0.000999, 0.000998, 0.333, 0.000667, 0.000666) is not.
        let late = results.iter().find(|c| c.epoch == 60).expect("epoch 60");
        assert_eq!(late.by, ConvergedBy::Median);
    }

    #[test]
    fn a_non_finite_estimate_never_counts_as_converged() {
        let rule = Convergence {
            every: 10,
            rel_tol: 0.5,
        };
        let losses = blocks(&[0.0, 0.0, 0.0]);
        let mut check = ConvergenceCheck::new(rule, 30);
        assert!((1..=30).all(|d| check.observe(&losses[..d]).is_none()));
    }
}
