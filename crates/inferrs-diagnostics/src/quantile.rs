//! Sample quantiles: R's type 7 (linear interpolation between order statistics), which is what
//! ArviZ's `quantile` (`mquantiles(alphap=1, betap=1)`) and `np.median` compute.

/// The `p`-quantile of the already sorted, non-empty `sorted`, type 7: with `h = (n - 1) p`,
/// `x[floor(h)] + (h - floor(h)) (x[floor(h) + 1] - x[floor(h)])`.
pub(crate) fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 1 {
        return sorted[0];
    }
    // scipy's mquantiles: aleph = n p + m with m = alphap + p (1 - alphap - betap) = 1 - p;
    // k = floor(aleph) clipped to [1, n - 1]; gamma = aleph - k clipped to [0, 1].
    let aleph = n as f64 * p + (1.0 - p);
    let k = aleph.floor().clamp(1.0, (n - 1) as f64);
    let gamma = (aleph - k).clamp(0.0, 1.0);
    let k = k as usize;
    (1.0 - gamma) * sorted[k - 1] + gamma * sorted[k]
}

/// The `p`-quantile of `x` (not empty), type 7.
pub(crate) fn quantile(x: &[f64], p: f64) -> f64 {
    quantile_sorted(&sorted(x), p)
}

/// The median of `x` (not empty): the mean of the two middle values for an even length.
pub(crate) fn median(x: &[f64]) -> f64 {
    let s = sorted(x);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// A sorted copy of `x` (finite values).
pub(crate) fn sorted(x: &[f64]) -> Vec<f64> {
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_7_and_median() {
        let x = [3.0, 1.0, 4.0, 2.0, 5.0];
        assert_eq!(quantile(&x, 0.0), 1.0);
        assert_eq!(quantile(&x, 1.0), 5.0);
        assert_eq!(quantile(&x, 0.5), 3.0);
        assert!((quantile(&x, 0.05) - 1.2).abs() < 1e-12);
        assert!((quantile(&x, 0.95) - 4.8).abs() < 1e-12);
        assert_eq!(median(&x), 3.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
