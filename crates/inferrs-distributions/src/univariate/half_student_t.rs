//! Half-Student's t distributions.

use burn::tensor::{Device, Tensor};

use super::student_t::{
    lgamma_half_ratio, lgamma_half_ratio_tensor, standard_log_density, standard_noise,
};
use crate::math::HALF_LN_2PI;
use crate::param::{Wording, broadcast_params, check_positive};
use crate::shared::{
    assert_rows, batch_shape, div_param, expand_to, expand_value, map_param, mul_param,
    sub_ln_param, sum_event_masked,
};
use crate::{DistError, Distribution, Param, Rng, Support};

const NAME: &str = "HalfStudentT";

/// `sqrt(2 / pi)`.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;

/// Independent half-Student's t distributions: `|X|` with `X ~ StudentT(df, 0, scale)`, one per
/// element of a value `[rows, event]` (a prior on scales with heavier tails than
/// [`HalfNormal`](crate::HalfNormal); `df = 1` is [`HalfCauchy`](crate::HalfCauchy)).
///
/// Density `2 Gamma((df + 1) / 2) / (Gamma(df / 2) sqrt(df pi) scale)
/// (1 + (x / scale)^2 / df)^(-(df + 1) / 2)` for `x >= 0`; the log density of a negative value
/// is `-inf`.
///
/// Mean `2 scale sqrt(df / pi) Gamma((df + 1) / 2) / (Gamma(df / 2) (df - 1))` for `df > 1`,
/// `inf` for `df <= 1`; variance
/// `scale^2 (df / (df - 2) - 4 df / (pi (df - 1)^2) (Gamma((df + 1) / 2) / Gamma(df / 2))^2)`
/// for `df > 2`, `inf` for `df <= 2` (the second moment is infinite).
///
/// The normalising constant and the gamma ratio of the moments use the log-gamma ratio of
/// [`StudentT`](crate::StudentT), written from tensor ops for a tensor `df`: the log density
/// and the moments are differentiable in the value, `scale` and a tensor `df`.
///
/// Sampling is reparameterised in `scale`: `scale * |t|` with `t ~ t_df` drawn on the host
/// (`rand_distr::StudentT`). A tensor `df` is read back to the host for that (a device
/// synchronisation) and gets no gradient from [`Distribution::sample`].
#[derive(Clone, Debug)]
pub struct HalfStudentT {
    df: Param,
    scale: Param,
    rows: usize,
    cols: usize,
}

impl HalfStudentT {
    /// Builds a half-Student's t distribution (TensorFlow Probability's
    /// `HalfStudentT(df, 0, scale)`).
    ///
    /// # Arguments
    ///
    /// * `df` - degrees of freedom; a constant must be positive and finite. A tensor is not
    ///   checked (keep it positive, e.g. with `softplus`) and gets no gradient from `sample`.
    /// * `scale` - the scale of the underlying Student's t; a constant must be positive and
    ///   finite. Tensors are not checked.
    ///
    /// # Shapes
    ///
    /// * `df`, `scale`: `[r_i, c_i]`, broadcastable (equal or 1 in each dimension).
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with the offending constant.
    /// * [`DistError::Shape`] when the shapes do not broadcast or a vector is empty.
    pub fn new(df: impl Into<Param>, scale: impl Into<Param>) -> Result<Self, DistError> {
        let (df, scale) = (df.into(), scale.into());
        let [rows, cols] =
            broadcast_params(NAME, &[("df", &df), ("scale", &scale)], Wording::Trailing)?;
        check_positive(NAME, "df", &df)?;
        check_positive(NAME, "scale", &scale)?;
        Ok(Self {
            df,
            scale,
            rows,
            cols,
        })
    }

    /// The degrees of freedom.
    pub fn df(&self) -> &Param {
        &self.df
    }

    /// The scale.
    pub fn scale(&self) -> &Param {
        &self.scale
    }

    /// [`Distribution::log_prob`] in composed burn ops: the reference the fused kernel is
    /// tested against, and the path of other backends and of a tensor `df`.
    ///
    /// * `value`: `[rows, cols]`, broadcast with the parameters; returns `[rows]`.
    pub fn log_prob_composed(&self, value: Tensor<2>) -> Tensor<1> {
        let value = expand_value(NAME, value, self.rows, self.cols);
        let outside = value.clone().lower_elem(0.0);
        let z2 = div_param(value, &self.scale).square();
        let lp = sub_ln_param(standard_log_density(&self.df, z2), &self.scale)
            .add_scalar(std::f64::consts::LN_2);
        sum_event_masked(lp, outside)
    }
}

impl Distribution for HalfStudentT {
    batch_shape!(NAME);

    /// `sum_cols(ln 2 + c(df) - ln(scale) - (df + 1) / 2 * log1p(z^2 / df))` where
    /// `value >= 0`, `-inf` elsewhere, with `z = value / scale` and the Student's t constant
    /// `c(df) = ln Gamma((df + 1) / 2) - ln Gamma(df / 2) - ln(df pi) / 2`. On burn's `flex`
    /// backend with a constant `df`, one fused op (one autodiff node, analytic gradients,
    /// `inferrs-kernels/src/density.rs`); otherwise [`HalfStudentT::log_prob_composed`].
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let device = value.device();
        if let Param::Scalar(df) = self.df
            && crate::fused_kernels_available(&device)
        {
            let scale = self.scale.to_tensor(&device);
            let norm = std::f64::consts::LN_2 + lgamma_half_ratio(df / 2.0) - HALF_LN_2PI;
            if let Some(lp) = inferrs_kernels::half_student_t_log_prob(&value, &scale, df, norm) {
                return lp;
            }
        }
        self.log_prob_composed(value)
    }

    /// `scale * |t|`, `t ~ t_df` drawn on the host (row-major). A tensor `df` is read back (no
    /// gradient flows to it); an element whose `df` is not positive gives NaN.
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(NAME, self.rows, rows);
        let noise = standard_noise(&self.df, rows, self.cols, device, rng, f64::abs);
        mul_param(noise, &self.scale)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    /// `scale m(df)` where `df > 1`, `inf` where `df <= 1`, with the mean of `|t_df|`
    /// `m(df) = 2 sqrt(df / pi) Gamma((df + 1) / 2) / (Gamma(df / 2) (df - 1))`, evaluated as
    /// `sqrt(2 / pi) df exp(g(df / 2)) / (df - 1)` with the log-gamma ratio
    /// `g(b) = ln Gamma(b + 1/2) - ln Gamma(b) - ln(b) / 2` (which tends to HalfNormal's
    /// `sqrt(2 / pi)` as `df` grows).
    fn mean(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        let infinite = self.df.to_tensor_as(device, shape).lower_equal_elem(1.0);
        // A placeholder df of 3 where the mean is infinite keeps the gradients finite.
        let factor = map_param(
            &self.df,
            device,
            |df| if df > 1.0 { abs_mean(df) } else { 0.0 },
            |df| abs_mean_tensor(df.clone().mask_fill(df.lower_equal_elem(1.0), 3.0)),
        );
        (self.scale.to_tensor_as(device, shape) * expand_to(factor, shape))
            .mask_fill(infinite, f32::INFINITY)
    }

    /// `scale^2 (df / (df - 2) - m(df)^2)` where `df > 2` (`m` as in
    /// [`mean`](Distribution::mean)), `inf` where `df <= 2`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        let infinite = self.df.to_tensor_as(device, shape).lower_equal_elem(2.0);
        // A placeholder df of 3 where the variance is infinite keeps the gradients finite.
        let factor = map_param(
            &self.df,
            device,
            |df| {
                if df > 2.0 {
                    df / (df - 2.0) - abs_mean(df).powi(2)
                } else {
                    0.0
                }
            },
            |df| {
                let safe = df.clone().mask_fill(df.lower_equal_elem(2.0), 3.0);
                safe.clone() / safe.clone().sub_scalar(2.0) - abs_mean_tensor(safe).square()
            },
        );
        (self.scale.to_tensor_as(device, shape).square() * expand_to(factor, shape))
            .mask_fill(infinite, f32::INFINITY)
    }
}

crate::shared::from_args_pair!(HalfStudentT(df: D, scale: S));

/// The mean of `|t|`, `t ~ t_df`, for `df > 1`: `sqrt(2 / pi) df exp(g(df / 2)) / (df - 1)`,
/// in `f64`.
fn abs_mean(df: f64) -> f64 {
    SQRT_2_OVER_PI * df * lgamma_half_ratio(df / 2.0).exp() / (df - 1.0)
}

/// [`abs_mean`] elementwise with tensor ops (differentiable in `df`).
///
/// # Shapes
///
/// * `df`: any `[rows, cols]`, every element `> 1`; returns the same shape.
fn abs_mean_tensor(df: Tensor<2>) -> Tensor<2> {
    let ratio = lgamma_half_ratio_tensor(df.clone().mul_scalar(0.5)).exp();
    (df.clone() * ratio / df.sub_scalar(1.0)).mul_scalar(SQRT_2_OVER_PI)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(df, E|t_df|)` computed with mpmath at 40 digits (rounded to the nearest f64) from
    /// `2 sqrt(df / pi) Gamma((df + 1) / 2) / (Gamma(df / 2) (df - 1))` (at `df` as an `f64`).
    const MPMATH: [(f64, f64); 7] = [
        (1.01, 64.421_877_795_770_48),
        (1.5, 2.044_409_887_732_162),
        (2.0, std::f64::consts::SQRT_2),
        (3.0, 1.102_657_790_843_584_2),
        (7.5, 0.890_540_158_995_161_1),
        (30.0, 0.818_549_348_056_754),
        (150.0, 0.801_901_883_146_944_8),
    ];

    #[test]
    fn abs_mean_matches_mpmath() {
        for (df, want) in MPMATH {
            let got = abs_mean(df);
            // `g` is accurate to the Stirling series' first omitted term at `x >= 8`, below
            // `7e-12` (see `lgamma_half_ratio`); `exp` carries it into a relative error of the
            // mean, plus a few f64 roundings.
            assert!(
                (got - want).abs() <= 1e-11 * want,
                "m({df}): got {got}, expected {want}"
            );
        }
        // df = 2 is exactly sqrt(2) (in MPMATH); df -> inf: the half-normal mean sqrt(2 / pi).
        assert!((abs_mean(1e12) - SQRT_2_OVER_PI).abs() < 1e-11);
    }
}
