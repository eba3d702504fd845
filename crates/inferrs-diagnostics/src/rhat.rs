//! Rank-normalised split R-hat (Vehtari et al. 2021, section 4.2; ArviZ's `rhat(method="rank")`).

use crate::Chains;
use crate::chains::Matrix;
use crate::moments::{mean, var};
use crate::quantile::median;
use crate::rank::z_scale;

/// The classic potential scale reduction of the rows of `m` taken as chains (ArviZ's `_rhat`):
/// `sqrt((B/W + n - 1) / n)`, with `W` the mean within-chain variance (ddof 1) and `B` `n` times
/// the variance of the chain means (ddof 1), `n` the draws per row.
pub(crate) fn rhat_matrix(m: &Matrix) -> f64 {
    let n = m.n_cols as f64;
    let chain_mean: Vec<f64> = m.rows().map(mean).collect();
    let chain_var: Vec<f64> = m.rows().map(|r| var(r, 1)).collect();
    let between = n * var(&chain_mean, 1);
    let within = mean(&chain_var);
    ((between / within + n - 1.0) / n).sqrt()
}

/// Split R-hat, rank-normalised and folded (ArviZ's default `rhat`, `method="rank"`): the larger
/// of the R-hat of the rank-normalised split chains (bulk) and of the rank-normalised split
/// chains folded about their median, `|x - median|` (tail).
///
/// Values near 1 mean the chains agree; this crate warns above [`RHAT_MAX`](crate::RHAT_MAX).
/// As in ArviZ, a single chain gives NaN (ArviZ asks for at least 2 chains), and so do draws
/// that are all equal (0/0).
pub fn rhat(chains: &Chains) -> f64 {
    if chains.n_chains() < 2 {
        return f64::NAN;
    }
    let split = chains.matrix().split();
    let bulk = rhat_matrix(&z_scale(&split));
    let med = median(&split.data);
    let folded = Matrix {
        data: split.data.iter().map(|v| (v - med).abs()).collect(),
        n_rows: split.n_rows,
        n_cols: split.n_cols,
    };
    let tail = rhat_matrix(&z_scale(&folded));
    bulk.max(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_chains_closed_form() {
        // Identical chains whose halves are also identical (a permutation pattern repeated):
        // every split chain has the same mean, so B = 0 and R-hat = sqrt((n - 1) / n).
        let half: Vec<f64> = vec![0.3, -1.2, 2.5, 0.7, -0.4];
        let chain: Vec<f64> = half.iter().chain(half.iter()).copied().collect();
        let c = Chains::new(&[chain.clone(), chain.clone(), chain]).unwrap();
        let n = 5.0f64;
        assert!((rhat(&c) - ((n - 1.0) / n).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn separated_chains_are_flagged() {
        let a: Vec<f64> = (0..100).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = a.iter().map(|v| v + 5.0).collect();
        let c = Chains::new(&[a, b]).unwrap();
        assert!(rhat(&c) > 1.5);
    }

    #[test]
    fn single_chain_is_nan() {
        let c = Chains::new(&[vec![1.0, 2.0, 3.0, 4.0]]).unwrap();
        assert!(rhat(&c).is_nan());
    }
}
