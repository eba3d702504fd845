//! Sample mean and variance, computed as numpy does (two passes).

/// The mean of `x` (`x` not empty).
pub(crate) fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The variance of `x` with `ddof` degrees of freedom removed from the divisor (`np.var`).
pub(crate) fn var(x: &[f64], ddof: usize) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - ddof) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(mean(&x), 2.5);
        assert_eq!(var(&x, 0), 1.25);
        assert!((var(&x, 1) - 5.0 / 3.0).abs() < 1e-15);
    }
}
