//! Autocovariance of a chain at every lag, by FFT (ArviZ's `autocov`).

use rustfft::{FftPlanner, num_complex::Complex};

use crate::moments::mean;

/// The autocovariance `gamma_t = (1/n) sum_{i < n - t} (x_i - mean)(x_{i+t} - mean)` for every
/// lag `t` in `0..n` (biased: divided by `n`, not `n - t`). Computed by FFT on the centred chain
/// zero-padded to `2n`, so there is no wrap-around; O(n log n).
pub fn autocov(x: &[f64]) -> Vec<f64> {
    autocov_with(&mut FftPlanner::new(), x)
}

/// [`autocov`] with a caller's planner, so that chains of one length share their FFT plans.
pub(crate) fn autocov_with(planner: &mut FftPlanner<f64>, x: &[f64]) -> Vec<f64> {
    let n = x.len();
    if n == 0 {
        return Vec::new();
    }
    let m = 2 * n;
    let mu = mean(x);
    let mut buf: Vec<Complex<f64>> = x.iter().map(|&v| Complex::new(v - mu, 0.0)).collect();
    buf.resize(m, Complex::new(0.0, 0.0));
    planner.plan_fft_forward(m).process(&mut buf);
    for c in &mut buf {
        *c = Complex::new(c.norm_sqr(), 0.0);
    }
    planner.plan_fft_inverse(m).process(&mut buf);
    // rustfft does not normalise: divide by m for the inverse transform, and by n.
    let scale = 1.0 / (m as f64 * n as f64);
    buf[..n].iter().map(|c| c.re * scale).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(x: &[f64]) -> Vec<f64> {
        let n = x.len();
        let mu = mean(x);
        (0..n)
            .map(|t| {
                (0..n - t)
                    .map(|i| (x[i] - mu) * (x[i + t] - mu))
                    .sum::<f64>()
                    / n as f64
            })
            .collect()
    }

    #[test]
    fn matches_the_direct_sum() {
        let x: Vec<f64> = (0..37)
            .map(|i| ((i * 7919) % 101) as f64 / 10.0 - 3.0)
            .collect();
        for (a, b) in autocov(&x).iter().zip(direct(&x)) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}
