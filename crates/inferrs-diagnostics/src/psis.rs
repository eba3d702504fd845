//! Pareto-smoothed importance sampling (PSIS) of one vector of log importance weights, and its
//! Pareto shape diagnostic k-hat, as ArviZ 0.23's `psislw` computes them (`psislw`, `_psislw`,
//! `_gpdfit`, `_gpinv` in `arviz/stats/stats.py`), after Vehtari, Simpson, Gelman, Yao and Gabry
//! (2024), "Pareto smoothed importance sampling", JMLR 25(72).
//!
//! The `M = ceil(min(0.2 S, 3 sqrt(S / reff)))` largest weights are replaced by the expected
//! order statistics of a generalized Pareto distribution fitted to them (Zhang and Stephens 2009,
//! with ArviZ's weakly informative prior on the shape), truncated at the largest raw weight, and
//! all weights are normalised. The fitted shape is k-hat: how heavy the tail of the weights is.

use crate::DiagnosticsError;

/// The fewest log-weights accepted (ArviZ's `psislw` fails with an index error on one). With
/// fewer than 25 the tail holds at most 4 weights, too few for the fit: k-hat is then `+inf` and
/// the weights are only normalised, as in ArviZ.
pub const PSIS_MIN_DRAWS: usize = 2;

/// Below this k-hat the weights have finite variance and the PSIS estimate converges quickly
/// (Vehtari et al. 2024, section 3: "good").
pub const K_HAT_GOOD: f64 = 0.5;

/// Above this k-hat the importance-sampling estimate is unreliable (Yao, Vehtari, Simpson,
/// Gelman 2018, "Yes, but did it work?: evaluating variational inference"; Vehtari et al. 2024):
/// used to check a variational approximation, the approximation fits the target poorly. Between
/// [`K_HAT_GOOD`] and this value the variance of the raw weights is infinite but PSIS still
/// converges at a usable rate. Vehtari et al. (2024) lower the threshold for small `S` to
/// `1 - 1 / log10(S)`: see [`k_hat_threshold`].
pub const K_HAT_WARN: f64 = 0.7;

/// The sample-size dependent threshold of Vehtari et al. (2024), `min(1 - 1 / log10(S), 0.7)`
/// (as ArviZ's `loo` uses for its warning): k-hat above it means the PSIS estimate from `s`
/// draws is unreliable. Below `S = 10` it is negative or `-inf` (no estimate is reliable).
pub fn k_hat_threshold(s: usize) -> f64 {
    (1.0 - 1.0 / (s as f64).log10()).min(K_HAT_WARN)
}

/// The log of the smallest positive normal `f64` (ArviZ's `cutoffmin =
/// log(np.finfo(float).tiny)`): the tail never starts below it.
const CUTOFF_MIN: f64 = -708.396_418_532_264_1;

/// Prior of the generalized-Pareto fit (ArviZ's `_gpdfit`): `prior_bs` scales the grid of `b`
/// values, and the shape is pulled towards 0.5 as if by `prior_k` pseudo-observations.
const PRIOR_BS: f64 = 3.0;
const PRIOR_K: f64 = 10.0;

/// The result of [`psis`]: smoothed log-weights and the Pareto shape estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Psis {
    /// The smoothed, truncated log-weights, in the input order, normalised so that they
    /// log-sum-exp to 0 (ArviZ's `psislw(..., normalize=True)`). A `-inf` input stays `-inf`.
    pub log_weights: Vec<f64>,
    /// The estimated shape of the generalized Pareto distribution fitted to the tail (ArviZ's
    /// `pareto_shape`). `+inf` when the tail holds 4 weights or fewer (no fit, no smoothing, as
    /// ArviZ returns it: e.g. fewer than 25 weights, or all equal). Compare it with
    /// [`K_HAT_GOOD`] and [`K_HAT_WARN`].
    pub k_hat: f64,
    /// How many weights formed the tail: those strictly above the `(M + 1)`-th largest (at most
    /// `M = ceil(min(0.2 S, 3 sqrt(S / reff)))`, fewer with ties).
    pub tail_len: usize,
}

impl Psis {
    /// Whether k-hat is at most [`K_HAT_WARN`] (0.7), so the importance-sampling estimate can be
    /// trusted. False for an infinite k-hat (no fit).
    pub fn reliable(&self) -> bool {
        self.k_hat <= K_HAT_WARN
    }
}

/// Pareto-smoothed importance sampling with relative efficiency 1 (independent draws): ArviZ's
/// `az.psislw(log_weights, reff=1.0)`. See [`psis_with_reff`].
///
/// ```
/// use inferrs_diagnostics::psis;
/// // Equal weights: no tail to fit (k-hat is +inf, as ArviZ returns it), each weight 1/S.
/// let p = psis(&[0.3; 100])?;
/// assert!(p.k_hat.is_infinite());
/// assert!(p.log_weights.iter().all(|&w| (w + 100f64.ln()).abs() < 1e-12));
/// # Ok::<(), inferrs_diagnostics::DiagnosticsError>(())
/// ```
pub fn psis(log_weights: &[f64]) -> Result<Psis, DiagnosticsError> {
    psis_with_reff(log_weights, 1.0)
}

/// Pareto-smoothed importance sampling of `S` log importance weights from draws of relative
/// efficiency `reff` (ESS / S; 1 for independent draws, as from a variational approximation):
/// ArviZ's `az.psislw(log_weights, reff)`.
///
/// The input is accepted if it has at least [`PSIS_MIN_DRAWS`] values, each finite or `-inf` (a
/// zero weight: it is never in the tail and stays `-inf`), not all `-inf`; `reff` must be finite
/// and positive. Otherwise a [`DiagnosticsError`] says which check failed (ArviZ would return
/// NaN for NaN, `+inf` or all-`-inf` input).
///
/// Ties among the tail weights are ordered by index (ArviZ's unstable `argsort` may order them
/// otherwise, giving tied weights each other's smoothed values).
pub fn psis_with_reff(log_weights: &[f64], reff: f64) -> Result<Psis, DiagnosticsError> {
    let s = log_weights.len();
    if s < PSIS_MIN_DRAWS {
        return Err(DiagnosticsError::TooFewWeights { len: s });
    }
    if let Some((index, &value)) = log_weights
        .iter()
        .enumerate()
        .find(|(_, v)| v.is_nan() || *v == &f64::INFINITY)
    {
        return Err(DiagnosticsError::BadLogWeight { index, value });
    }
    if !(reff.is_finite() && reff > 0.0) {
        return Err(DiagnosticsError::BadReff { reff });
    }
    let max = log_weights
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return Err(DiagnosticsError::AllWeightsZero { len: s });
    }

    let n = s as f64;
    // M; at most ceil(S / 5), so M + 1 <= S for S >= 2.
    let m = (n / 5.0).min(3.0 * (n / reff).sqrt()).ceil() as usize;
    let mut x: Vec<f64> = log_weights.iter().map(|v| v - max).collect();
    let mut sorted = x.clone();
    sorted.sort_by(f64::total_cmp);
    let cutoff = sorted[s - m - 1].max(CUTOFF_MIN);
    let exp_cutoff = cutoff.exp();

    let mut tail: Vec<usize> = (0..s).filter(|&i| x[i] > cutoff).collect();
    let tail_len = tail.len();
    let k_hat = if tail_len <= 4 {
        f64::INFINITY
    } else {
        // Stable: ties stay in index order.
        tail.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
        let excess: Vec<f64> = tail.iter().map(|&i| x[i].exp() - exp_cutoff).collect();
        let (k, sigma) = gpd_fit(&excess);
        if k.is_finite() {
            let len = tail_len as f64;
            for (j, &i) in tail.iter().enumerate() {
                let p = (j as f64 + 0.5) / len;
                x[i] = (gpd_inv(p, k, sigma) + exp_cutoff).ln();
            }
            // Truncate at the largest raw weight (0 after the shift).
            for v in &mut x {
                if *v > 0.0 {
                    *v = 0.0;
                }
            }
        }
        k
    };

    let lse = log_sum_exp(&x);
    for v in &mut x {
        *v -= lse;
    }
    Ok(Psis {
        log_weights: x,
        k_hat,
        tail_len,
    })
}

/// `log(sum(exp(x)))`, shifted by the maximum (ArviZ's `_logsumexp`); `-inf` entries add 0.
fn log_sum_exp(x: &[f64]) -> f64 {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    max + x.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

fn mean(v: impl Iterator<Item = f64>, n: usize) -> f64 {
    v.sum::<f64>() / n as f64
}

/// Empirical-Bayes fit of a generalized Pareto distribution (location 0) to the sorted positive
/// `ary` (Zhang and Stephens 2009, as ArviZ's `_gpdfit`): returns `(k, sigma)`, `k` already
/// pulled towards 0.5 by the prior (`(n k + 10 * 0.5) / (n + 10)`), `sigma` from the unadjusted
/// `k`.
fn gpd_fit(ary: &[f64]) -> (f64, f64) {
    let n = ary.len();
    let nf = n as f64;
    let m_est = 30 + nf.sqrt() as usize;
    let quartile = ary[(nf / 4.0 + 0.5) as usize - 1];
    let last = ary[n - 1];
    let b_grid: Vec<f64> = (1..=m_est)
        .map(|i| {
            let b = 1.0 - (m_est as f64 / (i as f64 - 0.5)).sqrt();
            b / (PRIOR_BS * quartile) + 1.0 / last
        })
        .collect();
    let k_grid: Vec<f64> = b_grid
        .iter()
        .map(|&b| mean(ary.iter().map(|&a| (-b * a).ln_1p()), n))
        .collect();
    let len_scale: Vec<f64> = b_grid
        .iter()
        .zip(&k_grid)
        .map(|(&b, &k)| nf * ((-(b / k)).ln() - k - 1.0))
        .collect();
    // weight_i = 1 / sum_j exp(l_j - l_i), dropping the negligible ones.
    let kept: Vec<(f64, f64)> = len_scale
        .iter()
        .zip(&b_grid)
        .map(|(&li, &b)| {
            let w = 1.0 / len_scale.iter().map(|&lj| (lj - li).exp()).sum::<f64>();
            (w, b)
        })
        .filter(|&(w, _)| w >= 10.0 * f64::EPSILON)
        .collect();
    let total: f64 = kept.iter().map(|&(w, _)| w).sum();
    let b_post: f64 = kept.iter().map(|&(w, b)| b * (w / total)).sum();
    let k_post = mean(ary.iter().map(|&a| (-b_post * a).ln_1p()), n);
    let sigma = -k_post / b_post;
    let k_post = (nf * k_post + PRIOR_K * 0.5) / (nf + PRIOR_K);
    (k_post, sigma)
}

/// Quantile function of the generalized Pareto distribution (location 0) at `p` in `(0, 1)`
/// (ArviZ's `_gpinv`); NaN if `sigma <= 0`.
fn gpd_inv(p: f64, k: f64, sigma: f64) -> f64 {
    if sigma <= 0.0 {
        return f64::NAN;
    }
    let x = if k.abs() < f64::EPSILON {
        -(-p).ln_1p()
    } else {
        (-k * (-p).ln_1p()).exp_m1() / k
    };
    x * sigma
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoff_min_is_log_tiny() {
        assert_eq!(CUTOFF_MIN, f64::MIN_POSITIVE.ln());
    }

    #[test]
    fn equal_weights_are_degenerate() {
        let p = psis(&[-2.5; 1000]).unwrap();
        assert_eq!(p.k_hat, f64::INFINITY);
        assert_eq!(p.tail_len, 0);
        assert!(!p.reliable());
        let want = -(1000f64).ln();
        for w in p.log_weights {
            assert!((w - want).abs() < 1e-12, "{w}");
        }
    }

    #[test]
    fn short_input_is_only_normalised() {
        // S = 20: M = ceil(min(4, 3 sqrt(20))) = 4, a tail of 4 is too short to fit.
        let lw: Vec<f64> = (0..20).map(f64::from).collect();
        let p = psis(&lw).unwrap();
        assert_eq!(p.k_hat, f64::INFINITY);
        assert_eq!(p.tail_len, 4);
        let lse = (0..20).map(|i| f64::from(i).exp()).sum::<f64>().ln();
        for (got, raw) in p.log_weights.iter().zip(&lw) {
            assert!((got - (raw - lse)).abs() < 1e-12);
        }
    }

    #[test]
    fn tail_length() {
        // Distinct values: the tail is M = ceil(min(0.2 S, 3 sqrt(S / reff))).
        let lw: Vec<f64> = (0..1000).map(|i| (f64::from(i) * 0.731).sin()).collect();
        assert_eq!(psis(&lw).unwrap().tail_len, 95); // 3 sqrt(1000) = 94.9
        assert_eq!(psis_with_reff(&lw, 0.6).unwrap().tail_len, 123); // 3 sqrt(1666.7) = 122.5
        assert_eq!(psis(&lw[..100]).unwrap().tail_len, 20); // 0.2 S
    }

    #[test]
    fn pareto_tail_gives_its_shape() {
        // Weights at the quantiles of a generalized Pareto with k = 0.5, sigma = 1.
        let s = 4000;
        let lw: Vec<f64> = (0..s)
            .map(|i| {
                let p = (i as f64 + 0.5) / s as f64;
                gpd_inv(p, 0.5, 1.0).ln()
            })
            .collect();
        let p = psis(&lw).unwrap();
        assert!((p.k_hat - 0.5).abs() < 0.1, "{}", p.k_hat);
        // Normalised, and no weight above the largest raw one.
        assert!(log_sum_exp(&p.log_weights).abs() < 1e-12);
        let raw_max = lw[s - 1] - log_sum_exp(&lw);
        assert!(p.log_weights.iter().all(|&w| w <= raw_max + 1e-12));
    }

    #[test]
    fn shift_invariant_and_neg_inf_kept() {
        let mut lw: Vec<f64> = (0..500).map(|i| (f64::from(i) * 1.3).cos() * 3.0).collect();
        lw[7] = f64::NEG_INFINITY;
        let a = psis(&lw).unwrap();
        let shifted: Vec<f64> = lw.iter().map(|v| v + 100.0).collect();
        let b = psis(&shifted).unwrap();
        assert!((a.k_hat - b.k_hat).abs() < 1e-9);
        assert_eq!(a.log_weights[7], f64::NEG_INFINITY);
        for (x, y) in a.log_weights.iter().zip(&b.log_weights) {
            assert!(x == y || (x - y).abs() < 1e-9, "{x} {y}");
        }
    }

    #[test]
    fn gpd_inv_closed_forms() {
        // k = 0: exponential; k = 1: p / (1 - p).
        assert!((gpd_inv(0.5, 0.0, 2.0) - 2.0 * 2f64.ln()).abs() < 1e-15);
        assert!((gpd_inv(0.75, 1.0, 1.0) - 3.0).abs() < 1e-12);
        assert!(gpd_inv(0.5, 0.3, 0.0).is_nan());
    }

    #[test]
    fn thresholds() {
        assert_eq!(k_hat_threshold(100), 0.5);
        assert_eq!(k_hat_threshold(4000), K_HAT_WARN);
        assert_eq!(k_hat_threshold(1), f64::NEG_INFINITY);
    }

    #[test]
    fn bad_input() {
        use DiagnosticsError::*;
        assert_eq!(psis(&[]), Err(TooFewWeights { len: 0 }));
        assert_eq!(psis(&[1.0]), Err(TooFewWeights { len: 1 }));
        assert!(matches!(
            psis(&[0.0, f64::NAN, 1.0]),
            Err(BadLogWeight { index: 1, .. })
        ));
        assert_eq!(
            psis(&[0.0, 1.0, f64::INFINITY]),
            Err(BadLogWeight {
                index: 2,
                value: f64::INFINITY
            })
        );
        assert_eq!(
            psis(&[f64::NEG_INFINITY; 3]),
            Err(AllWeightsZero { len: 3 })
        );
        for reff in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                psis_with_reff(&[0.0, 1.0], reff),
                Err(BadReff { .. })
            ));
        }
        assert!(psis(&[0.0, f64::NEG_INFINITY]).is_ok());
    }
}
