//! MCMC convergence diagnostics for the draws of one scalar variable, as ArviZ 0.23 computes
//! them (Vehtari, Gelman, Simpson, Carpenter, Bürkner 2021, "Rank-normalization, folding, and
//! localization: an improved R-hat for assessing convergence of MCMC", Bayesian Analysis).
//!
//! Draws are `chains x draws`, validated once into [`Chains`] (at least 1 chain, at least
//! [`MIN_DRAWS`] draws per chain, equal lengths, finite values). Then:
//!
//! - [`rhat`]: rank-normalised, folded split R-hat (ArviZ's `rhat(method="rank")`);
//! - [`ess_bulk`], [`ess_tail`] (and [`ess_mean`], [`ess_quantile`]): effective sample sizes;
//! - [`mcse_mean`], [`mcse_sd`]: Monte Carlo standard errors;
//! - [`hdi()`]: the highest density interval, 94% by default ([`DEFAULT_HDI_PROB`]);
//! - [`Summary`]: one `az.summary` row (mean, sd, hdi_3%, hdi_97%, mcse_mean, mcse_sd,
//!   ess_bulk, ess_tail, r_hat), and [`format_table`] for several named variables, with warnings
//!   when R-hat exceeds [`RHAT_MAX`] (1.01) or a bulk or tail ESS is below [`ESS_MIN`] (400:
//!   Vehtari et al.'s 100 per chain for 4 chains).
//!
//! Separately, for importance sampling (e.g. checking a variational approximation, Yao et al.
//! 2018), [`psis()`] and [`psis_with_reff`] smooth one vector of log importance weights by
//! Pareto-smoothed importance sampling (ArviZ's `psislw`; Vehtari et al. 2024) and return the
//! Pareto shape estimate k-hat: at most [`K_HAT_GOOD`] (0.5) is good, above [`K_HAT_WARN`]
//! (0.7) the estimate is unreliable ([`k_hat_threshold`] for the sample-size dependent bound).
//!
//! The test `tests/arviz.rs` checks every MCMC quantity against numbers computed by ArviZ itself
//! (`scripts/arviz_reference.py`) to 1e-6 relative, and `tests/psis.rs` checks PSIS against
//! `az.psislw` (`scripts/arviz_psis_reference.py`) to the same tolerance.
//!
//! ```
//! use inferrs_diagnostics::{Chains, Summary, rhat};
//! // Two chains stuck in different places: R-hat is far above 1.01.
//! let a: Vec<f64> = (0..200).map(|i| (i as f64 * 0.37).sin()).collect();
//! let b: Vec<f64> = a.iter().map(|v| v + 3.0).collect();
//! let chains = Chains::new(&[a, b])?;
//! assert!(rhat(&chains) > 1.5);
//! let s = Summary::new(&chains);
//! assert!(!s.warnings().is_empty());
//! # Ok::<(), inferrs_diagnostics::DiagnosticsError>(())
//! ```

mod autocov;
mod chains;
mod error;
mod ess;
mod hdi;
mod mcse;
mod moments;
mod psis;
mod quantile;
mod rank;
mod rhat;
mod summary;

pub use autocov::autocov;
pub use chains::Chains;
pub use error::DiagnosticsError;
pub use ess::{TAIL_PROBS, ess_bulk, ess_mean, ess_quantile, ess_tail};
pub use hdi::{DEFAULT_HDI_PROB, hdi};
pub use mcse::{mcse_mean, mcse_sd};
pub use psis::{
    K_HAT_GOOD, K_HAT_WARN, PSIS_MIN_DRAWS, Psis, k_hat_threshold, psis, psis_with_reff,
};
pub use rhat::rhat;
pub use summary::{ESS_MIN, RHAT_MAX, Summary, Warning, format_table};

/// The fewest draws per chain accepted (as ArviZ's `min_draws=4`).
pub const MIN_DRAWS: usize = 4;
