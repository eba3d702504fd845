//! The log-gamma function (burn 0.22 has no `lgamma`): [`lgamma`] on tensors, composed of
//! differentiable tensor ops, and [`ln_gamma`] on the host in `f64`, both built on the
//! Stirling series.
//!
//! Used by the gamma family (`Gamma`, `InverseGamma`, `Beta`, `Dirichlet`), by the discrete
//! families with a binomial coefficient (`Binomial`, `NegativeBinomial`, `Poisson`), and, for
//! its series, by Student's t log-gamma ratio.

use burn::tensor::Tensor;

use crate::math::HALF_LN_2PI;

/// Coefficients `B_2k / (2k (2k - 1))`, `k = 1..7`, of the Stirling series
/// `ln Gamma(z) - ((z - 1/2) ln z - z + ln(2 pi) / 2) = sum_k c_k z^(1 - 2k)`.
const STIRLING: [f64; 7] = [
    1.0 / 12.0,
    -1.0 / 360.0,
    1.0 / 1260.0,
    -1.0 / 1680.0,
    1.0 / 1188.0,
    -691.0 / 360_360.0,
    1.0 / 156.0,
];

/// The recurrence threshold of [`ln_gamma`]: smaller arguments are shifted up by 8.
const HOST_SHIFT: f64 = 8.0;

/// The first `terms` terms (at most 7) of the Stirling series at `z > 0`, in `f64`:
/// `1/(12 z) - 1/(360 z^3) + 1/(1260 z^5) - 1/(1680 z^7) + ...`.
///
/// The first omitted term bounds the truncation error: `1/(1188 z^9)` after four terms
/// (below `7e-12` for `z >= 8`), `1/(156 z^13)` after six.
///
/// # Panics
///
/// When `terms > 7`.
pub(crate) fn stirling_series(z: f64, terms: usize) -> f64 {
    let inv2 = 1.0 / (z * z);
    STIRLING[..terms]
        .iter()
        .rev()
        .fold(0.0, |acc, c| acc * inv2 + c)
        / z
}

/// The first four terms of the Stirling series,
/// `1/(12 z) - 1/(360 z^3) + 1/(1260 z^5) - 1/(1680 z^7)`, elementwise with tensor ops
/// (Horner in `1/z^2`; differentiable).
///
/// # Shapes
///
/// * `z`: any; returns the same shape.
pub(crate) fn stirling_series_tensor<const D: usize>(z: Tensor<D>) -> Tensor<D> {
    let inv = z.recip();
    let inv2 = inv.clone().square();
    inv2.clone()
        .mul_scalar(-1.0 / 1680.0)
        .add_scalar(1.0 / 1260.0)
        .mul(inv2.clone())
        .sub_scalar(1.0 / 360.0)
        .mul(inv2)
        .add_scalar(1.0 / 12.0)
        .mul(inv)
}

/// `ln Gamma(x)` elementwise for `x > 0`, composed of burn tensor ops and differentiable (its
/// gradient approximates the digamma function to about the same accuracy).
///
/// The recurrence `Gamma(x) = Gamma(x + 4) / (x (x + 1) (x + 2) (x + 3))` moves the argument to
/// `z = x + 4 >= 4`, where the four-term Stirling series ([`stirling_series_tensor`]) has a
/// truncation error below `1/(1188 z^9) < 4e-9`. The rest is `f32` rounding: within
/// `2e-6 + 5e-7 |ln Gamma(x)|`, about `1e-6` absolute for `x` up to 10 and `1e-6` relative
/// beyond (see the unit tests against `statrs`). `x = 0` gives `+inf`; `x < 0` is not
/// supported (NaN or wrong values), nor `x > 1e19`, where the product of the shift overflows.
///
/// # Shapes
///
/// * `x`: any; returns the same shape.
pub(crate) fn lgamma<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let z = x.clone().add_scalar(4.0);
    let series = stirling_series_tensor(z.clone());
    let stirling = z.clone().sub_scalar(0.5) * z.clone().log() - z + series;
    // Two logarithms of pairwise products: cheaper than four, and a product overflows only for
    // x > 1e19.
    let shift = (x.clone() * x.clone().add_scalar(1.0)).log()
        + (x.clone().add_scalar(2.0) * x.add_scalar(3.0)).log();
    stirling.add_scalar(HALF_LN_2PI) - shift
}

/// `ln Gamma(x)` in `f64` for `x > 0` (the host counterpart of [`lgamma`], used for constant
/// parameters): the recurrence to `z >= 8`, then the Stirling series to `z^-13` (truncation
/// below `1e-15`). `x = 0` gives `+inf`; negative or NaN `x` gives NaN.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::INFINITY;
    }
    let (z, correction) = if x < HOST_SHIFT {
        let prod: f64 = (0..HOST_SHIFT as usize).map(|k| x + k as f64).product();
        (x + HOST_SHIFT, prod.ln())
    } else {
        (x, 0.0)
    };
    (z - 0.5) * (z.ln() - 1.0) - 0.5 + HALF_LN_2PI + stirling_series(z, STIRLING.len()) - correction
}

#[cfg(test)]
mod tests {
    //! Both log-gamma functions against statrs (Lanczos, f64) over the range the families use:
    //! tiny arguments, both sides of the recurrence thresholds (4 on tensors, 8 on the host),
    //! the zeros at 1 and 2, and large arguments.

    use burn::tensor::{Device, Tensor, TensorData};
    use statrs::function::gamma::{digamma, ln_gamma as reference};

    use super::{lgamma, ln_gamma};
    use crate::shared::to_f64;

    const XS: [f64; 30] = [
        1e-6, 1e-3, 0.05, 0.1, 0.3, 0.5, 0.9, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.7, 5.0, 7.5, 7.999,
        8.0, 8.5, 10.0, 12.0, 31.2, 50.0, 100.0, 300.0, 1e3, 1e4, 1e5, 1e6, 3.3e6,
    ];

    fn column(values: &[f64], device: &Device) -> Tensor<2> {
        let data: Vec<f32> = values.iter().map(|&x| x as f32).collect();
        Tensor::<2>::from_data(TensorData::new(data, [values.len(), 1]), device)
    }

    /// The host version agrees with statrs to 1e-13 relative (both are ~1e-15 methods; the
    /// margin covers the cancellation near the zeros at 1 and 2).
    #[test]
    fn host_ln_gamma_matches_statrs() {
        for &x in &XS {
            let (got, want) = (ln_gamma(x), reference(x));
            assert!(
                (got - want).abs() <= 1e-13 * want.abs().max(1.0),
                "ln_gamma({x}) = {got}, statrs {want}"
            );
        }
        assert_eq!(ln_gamma(0.0), f64::INFINITY);
        assert!(ln_gamma(-1.0).is_nan());
        assert!(ln_gamma(f64::NAN).is_nan());
    }

    /// The f32 tensor version against statrs' f64 `ln_gamma` at the f32-rounded arguments,
    /// within the smaller of two error models:
    /// * `2e-6` absolute plus `5e-7` relative (about 4 f32 roundings of the result): the
    ///   composition subtracts terms of size up to `z ln z` (Stirling) and the shift's
    ///   logarithms, each rounded to f32;
    /// * `4 eps32 (|ln Gamma(x)| + x + 10)`: the Stirling sum has terms of size about
    ///   `|ln Gamma(x)| + x`, and the shifted ones for small `x` about 10.
    ///
    /// Measured on a dense grid from `1e-4` to `2e6`, the error stays below 0.8 of the first
    /// bound and 0.4 of the second.
    #[test]
    fn lgamma_matches_statrs() {
        let device = Device::flex();
        let got = to_f64(lgamma(column(&XS, &device)));
        for (&x, g) in XS.iter().zip(got) {
            let x32 = f64::from(x as f32);
            let want = reference(x32);
            let bound = (2e-6 + 5e-7 * want.abs())
                .min(4.0 * f64::from(f32::EPSILON) * (want.abs() + x32 + 10.0));
            assert!(
                (g - want).abs() <= bound,
                "lgamma({x32}) = {g}, statrs {want}, error {} > {bound}",
                (g - want).abs()
            );
        }
        assert_eq!(to_f64(lgamma(column(&[0.0], &device))), [f64::INFINITY]);
    }

    /// The autodiff gradient against statrs' digamma, within the smaller of `1e-6` absolute
    /// plus `1e-6` relative (about 8 f32 roundings) and `8 eps32 (|psi(x)| + 1/x + 10)`: the
    /// backward pass sums terms as large as `1 / x` (1000 at `x = 1e-3`) and `ln z`, each
    /// rounded to f32.
    #[test]
    fn lgamma_gradient_matches_digamma() {
        let device = Device::flex().autodiff();
        let x = column(&XS, &device).require_grad();
        let grads = lgamma(x.clone()).sum().backward();
        let got = to_f64(x.grad(&grads).unwrap());
        for (&x, g) in XS.iter().zip(got) {
            let x32 = f64::from(x as f32);
            let want = digamma(x32);
            let bound = (1e-6 + 1e-6 * want.abs())
                .min(8.0 * f64::from(f32::EPSILON) * (want.abs() + 1.0 / x32 + 10.0));
            assert!(
                (g - want).abs() <= bound,
                "d lgamma / dx at {x32} = {g}, digamma {want}, error {} > {bound}",
                (g - want).abs()
            );
        }
    }

    /// One function serves every rank: a `[n]` tensor gives the same values as `[n, 1]`.
    #[test]
    fn lgamma_is_rank_generic() {
        let device = Device::flex();
        let flat = Tensor::<1>::from_data(
            TensorData::new(XS.iter().map(|&x| x as f32).collect(), [XS.len()]),
            &device,
        );
        assert_eq!(to_f64(lgamma(flat)), to_f64(lgamma(column(&XS, &device))));
    }
}
