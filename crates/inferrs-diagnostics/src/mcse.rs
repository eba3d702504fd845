//! Monte Carlo standard errors of the mean and of the sd (ArviZ's `mcse(method="mean")` and
//! `mcse(method="sd")`).

use crate::Chains;
use crate::chains::Matrix;
use crate::ess::{ess_matrix, ess_mean};
use crate::moments::{mean, var};

/// MCSE of the posterior mean: `sd / sqrt(ess_mean)`, with `sd` the standard deviation of all
/// draws (ddof 1) and [`ess_mean`] the ESS of the (not rank-normalised) split chains.
pub fn mcse_mean(chains: &Chains) -> f64 {
    var(chains.as_flat(), 1).sqrt() / ess_mean(chains).sqrt()
}

/// MCSE of the posterior sd, by the delta method as ArviZ 0.23 computes it: with
/// `s = (x - mean)^2` over all draws, `E = mean(s)`, and `ess` the ESS of `s` on split chains,
/// `sqrt((mean(s^2) - E^2) / ess / E / 4)`.
pub fn mcse_sd(chains: &Chains) -> f64 {
    let mu = mean(chains.as_flat());
    let sims_c2: Matrix = chains.map(|v| (v - mu) * (v - mu));
    let ess = ess_matrix(&sims_c2.split());
    let evar = mean(&sims_c2.data);
    let sq: Vec<f64> = sims_c2.data.iter().map(|v| v * v).collect();
    let varvar = (mean(&sq) - evar * evar) / ess;
    (varvar / evar / 4.0).sqrt()
}
