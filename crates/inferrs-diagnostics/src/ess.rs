//! Effective sample size: bulk, tail and mean ESS (Vehtari et al. 2021; ArviZ's `_ess`,
//! `_ess_bulk`, `_ess_tail`, `_ess_mean`).

use crate::Chains;
use crate::autocov::autocov_with;
use crate::chains::Matrix;
use crate::moments::{mean, var};
use crate::quantile::quantile;
use crate::rank::z_scale;

/// The probabilities of the two quantiles whose indicator ESS makes the tail ESS.
pub const TAIL_PROBS: (f64, f64) = (0.05, 0.95);

/// ESS of the rows of `m` taken as chains (ArviZ's `_ess`): autocorrelations pooled over chains
/// with the multi-chain variance estimate, summed by Geyer's initial positive sequence made
/// monotone. `tau` is bounded below by `1 / log10(S)`, so ESS is at most `S log10(S)` for `S`
/// values in all. If all values are equal (to within 1e-15) the ESS is `S`.
pub(crate) fn ess_matrix(m: &Matrix) -> f64 {
    let size = m.data.len();
    let (lo, hi) = m
        .data
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    // np.finfo(float).resolution
    if hi - lo < 1e-15 {
        return size as f64;
    }
    let n_chain = m.n_rows;
    let n_draw = m.n_cols;
    let nf = n_draw as f64;
    let mut planner = rustfft::FftPlanner::new();
    let acov: Vec<Vec<f64>> = m.rows().map(|r| autocov_with(&mut planner, r)).collect();
    let mean_acov = |t: usize| acov.iter().map(|a| a[t]).sum::<f64>() / n_chain as f64;
    let chain_mean: Vec<f64> = m.rows().map(mean).collect();
    let mean_var = mean_acov(0) * nf / (nf - 1.0);
    let mut var_plus = mean_var * (nf - 1.0) / nf;
    if n_chain > 1 {
        var_plus += var(&chain_mean, 1);
    }

    let rho = |t: usize| 1.0 - (mean_var - mean_acov(t)) / var_plus;
    let mut rho_hat_t = vec![0.0; n_draw];
    let mut rho_hat_even = 1.0;
    rho_hat_t[0] = rho_hat_even;
    let mut rho_hat_odd = rho(1);
    rho_hat_t[1] = rho_hat_odd;

    // Geyer's initial positive sequence.
    let mut t = 1;
    while t + 3 < n_draw && rho_hat_even + rho_hat_odd > 0.0 {
        rho_hat_even = rho(t + 1);
        rho_hat_odd = rho(t + 2);
        if rho_hat_even + rho_hat_odd >= 0.0 {
            rho_hat_t[t + 1] = rho_hat_even;
            rho_hat_t[t + 2] = rho_hat_odd;
        }
        t += 2;
    }
    // t >= 1 here, so max_t >= -1; keep it signed as ArviZ does.
    let max_t = t as isize - 2;
    // Improve the estimate with the last positive even lag.
    if rho_hat_even > 0.0 {
        rho_hat_t[(max_t + 1) as usize] = rho_hat_even;
    }
    // Geyer's initial monotone sequence.
    let mut t = 1isize;
    while t <= max_t - 2 {
        let u = t as usize;
        if rho_hat_t[u + 1] + rho_hat_t[u + 2] > rho_hat_t[u - 1] + rho_hat_t[u] {
            rho_hat_t[u + 1] = (rho_hat_t[u - 1] + rho_hat_t[u]) / 2.0;
            rho_hat_t[u + 2] = rho_hat_t[u + 1];
        }
        t += 2;
    }

    let ess = (n_chain * n_draw) as f64;
    // np.sum(rho_hat_t[: max_t + 1]) + np.sum(rho_hat_t[max_t + 1 : max_t + 2]), with numpy's
    // slicing: a negative end counts from the back.
    let head_end = slice_end(max_t + 1, n_draw);
    let head: f64 = rho_hat_t[..head_end].iter().sum();
    let tail_start = slice_end(max_t + 1, n_draw);
    let tail_end = slice_end(max_t + 2, n_draw).max(tail_start);
    let tail: f64 = rho_hat_t[tail_start..tail_end].iter().sum();
    let tau_hat = (-1.0 + 2.0 * head + tail).max(1.0 / ess.log10());
    if rho_hat_t.iter().any(|r| r.is_nan()) {
        return f64::NAN;
    }
    ess / tau_hat
}

/// A numpy slice bound `i` over a length `n`: negative counts from the end, clipped to `0..=n`.
fn slice_end(i: isize, n: usize) -> usize {
    let n = n as isize;
    (if i < 0 { i + n } else { i }).clamp(0, n) as usize
}

/// Bulk ESS: the ESS of the rank-normalised split chains (ArviZ's `ess(method="bulk")`). It
/// measures how well the centre of the distribution is sampled and is defined even for
/// distributions without finite mean or variance.
pub fn ess_bulk(chains: &Chains) -> f64 {
    ess_matrix(&z_scale(&chains.matrix().split()))
}

/// Tail ESS: the smaller of the ESS of the indicators `draw <= q05` and `draw <= q95` on split
/// chains, `q05` and `q95` being the type-7 5% and 95% quantiles of all draws pooled (ArviZ's
/// `ess(method="tail")`, probabilities [`TAIL_PROBS`]).
pub fn ess_tail(chains: &Chains) -> f64 {
    let (lo, hi) = TAIL_PROBS;
    ess_quantile(chains, lo).min(ess_quantile(chains, hi))
}

/// ESS of the `prob` quantile: the ESS of the indicator `draw <= q_prob` on split chains
/// (ArviZ's `_ess_quantile`).
pub fn ess_quantile(chains: &Chains, prob: f64) -> f64 {
    let q = quantile(chains.as_flat(), prob);
    ess_matrix(&chains.map(|v| if v <= q { 1.0 } else { 0.0 }).split())
}

/// ESS of the mean: the ESS of the split chains, not rank-normalised (ArviZ's
/// `ess(method="mean")`), used for the MCSE of the mean.
pub fn ess_mean(chains: &Chains) -> f64 {
    ess_matrix(&chains.matrix().split())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_draws_have_full_ess() {
        let c = Chains::new(&[vec![2.0; 10], vec![2.0; 10]]).unwrap();
        assert_eq!(ess_mean(&c), 20.0);
    }

    #[test]
    fn perfectly_antithetic_draws_hit_the_cap() {
        // Alternating draws have rho_1 close to -1: tau falls to its floor 1 / log10(S).
        let x: Vec<f64> = (0..100)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let c = Chains::new(&[x.clone(), x]).unwrap();
        let s = 200.0f64;
        assert!((ess_mean(&c) - s * s.log10()).abs() < 1e-9);
    }

    #[test]
    fn numpy_slice_bounds() {
        assert_eq!(slice_end(-1, 10), 9);
        assert_eq!(slice_end(0, 10), 0);
        assert_eq!(slice_end(12, 10), 10);
    }
}
