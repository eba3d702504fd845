//! Rank normalisation (Vehtari et al. 2021, eq. 14; ArviZ's `_z_scale`).

use statrs::distribution::{ContinuousCDF, Normal};

use crate::chains::Matrix;

/// Blom's fractional offset `c = 3/8` in the back-transformation of ranks.
const BLOM_OFFSET: f64 = 3.0 / 8.0;

/// Ranks of `x` from 1 to `n` over all values, ties given the average of their ranks
/// (`scipy.stats.rankdata(method="average")`).
pub(crate) fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        // Positions i..=j (0-based) share the rank ((i + 1) + (j + 1)) / 2.
        let r = 0.5 * ((i + 1) + (j + 1)) as f64;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

/// Replaces every value by `Phi^-1((r - 3/8) / (S - 3/4 + 1))`, where `r` is its average rank
/// among all `S` values of the matrix (all chains pooled) and `Phi^-1` the standard normal
/// inverse CDF. Shape is kept.
pub(crate) fn z_scale(m: &Matrix) -> Matrix {
    let size = m.data.len() as f64;
    let normal = Normal::standard();
    let data = average_ranks(&m.data)
        .into_iter()
        .map(|r| normal.inverse_cdf((r - BLOM_OFFSET) / (size - 2.0 * BLOM_OFFSET + 1.0)))
        .collect();
    Matrix {
        data,
        n_rows: m.n_rows,
        n_cols: m.n_cols,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_the_average_rank() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 3.0, 2.0, 3.0]),
            vec![4.0, 1.0, 4.0, 2.0, 4.0]
        );
        assert_eq!(average_ranks(&[0.5, 0.5]), vec![1.5, 1.5]);
    }

    #[test]
    fn z_scale_is_symmetric() {
        let m = Matrix {
            data: vec![10.0, -3.0, 7.0, 1.0],
            n_rows: 2,
            n_cols: 2,
        };
        let z = z_scale(&m);
        // Ranks 4, 1, 3, 2: the extreme pair and the middle pair are mirror images.
        assert!((z.data[0] + z.data[1]).abs() < 1e-12);
        assert!((z.data[2] + z.data[3]).abs() < 1e-12);
        assert!(z.data[0] > z.data[2] && z.data[2] > 0.0);
        // (4 - 3/8) / (4 + 1/4) = 0.852941..., whose normal quantile is 1.0491...
        let expected = Normal::standard().inverse_cdf(3.625 / 4.25);
        assert!((z.data[0] - expected).abs() < 1e-15);
    }
}
