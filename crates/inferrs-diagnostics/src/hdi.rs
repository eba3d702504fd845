//! Highest density interval of the pooled draws (ArviZ's `hdi`, unimodal, not circular).

use crate::quantile::sorted;
use crate::{Chains, DiagnosticsError};

/// ArviZ's default interval probability (`rcParams["stats.ci_prob"]`), giving `hdi_3%` and
/// `hdi_97%`.
pub const DEFAULT_HDI_PROB: f64 = 0.94;

/// The narrowest interval `[x_(i), x_(i+k)]` of the sorted pooled draws with
/// `k = floor(prob * S)`, `S` the total number of draws; the first such interval when several
/// are equally narrow (ArviZ's `_hdi`).
///
/// Errors with [`DiagnosticsError::BadProb`] if `prob` is not in `(0, 1]` or `k = S` (no
/// interval: ArviZ raises "Too few elements for interval calculation").
pub fn hdi(chains: &Chains, prob: f64) -> Result<(f64, f64), DiagnosticsError> {
    let s = sorted(chains.as_flat());
    let n = s.len();
    let bad = DiagnosticsError::BadProb { prob, draws: n };
    if !(prob > 0.0 && prob <= 1.0) {
        return Err(bad);
    }
    let k = (prob * n as f64).floor() as usize;
    if k >= n {
        return Err(bad);
    }
    let mut best = 0;
    let mut best_width = f64::INFINITY;
    for i in 0..n - k {
        let w = s[i + k] - s[i];
        if w < best_width {
            best_width = w;
            best = i;
        }
    }
    Ok((s[best], s[best + k]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowest_window() {
        // 10 draws, prob 0.5: k = 5, windows of 6 order statistics.
        let c = Chains::new(&[
            vec![0.0, 1.0, 2.0, 2.1, 2.2],
            vec![2.3, 2.4, 2.5, 9.0, 10.0],
        ])
        .unwrap();
        assert_eq!(hdi(&c, 0.5).unwrap(), (2.0, 2.5));
        assert!(matches!(
            hdi(&c, 1.0),
            Err(DiagnosticsError::BadProb { .. })
        ));
        assert!(matches!(
            hdi(&c, 0.0),
            Err(DiagnosticsError::BadProb { .. })
        ));
        assert!(matches!(
            hdi(&c, f64::NAN),
            Err(DiagnosticsError::BadProb { .. })
        ));
    }
}
