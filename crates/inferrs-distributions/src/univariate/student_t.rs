//! Student's t distributions.

use burn::tensor::{Device, Tensor};
use rand_distr::Distribution as _;

use super::LocScale;
use crate::math::HALF_LN_2PI;
use crate::param::{HostParam, Wording, broadcast_params, check_positive, map_constant};
use crate::shared::{
    assert_rows, batch_shape, expand_value, host_noise, host_tensor, sub_ln_param, sum_event,
};
use crate::special::{stirling_series, stirling_series_tensor};
use crate::{DistError, Distribution, FromArgs, Param, Rng, Support};

const NAME: &str = "StudentT";

/// Shift of the argument before the Stirling series in [`lgamma_half_ratio`]: the series'
/// first omitted term, `1 / (1188 x^9)`, is below `7e-12` for `x >= 8`.
const SHIFT: usize = 8;

/// Independent Student's t distributions, one per element of a value `[rows, event]`: density
/// `Gamma((df + 1) / 2) / (Gamma(df / 2) sqrt(df pi) scale) (1 + z^2 / df)^(-(df + 1) / 2)`
/// with `z = (x - loc) / scale`.
///
/// Mean `loc` for `df > 1` (NaN otherwise); variance `scale^2 df / (df - 2)` for `df > 2`,
/// `inf` for `1 < df <= 2`, NaN for `df <= 1`.
///
/// The normalising constant uses a log-gamma ratio written from tensor ops (burn has no
/// `lgamma`), in a form that tends to the Gaussian's constant without cancellation as `df`
/// grows; the log density is differentiable in the value, `loc`, `scale` and a tensor `df`.
///
/// Sampling is reparameterised in `loc` and `scale`: `loc + scale * t` with `t ~ t_df` drawn on
/// the host (`rand_distr::StudentT`). A tensor `df` is read back to the host for that (a
/// device synchronisation) and gets no gradient from [`Distribution::sample`].
#[derive(Clone, Debug)]
pub struct StudentT {
    df: Param,
    params: LocScale,
    rows: usize,
    cols: usize,
}

impl StudentT {
    /// Builds a Student's t distribution (TensorFlow Probability's `StudentT(df, loc, scale)`).
    ///
    /// # Arguments
    ///
    /// * `df` - degrees of freedom; a constant must be positive and finite. A tensor is not
    ///   checked (keep it positive, e.g. with `softplus`) and gets no gradient from `sample`.
    /// * `loc` - the location (the mean where `df > 1`); a constant must be finite.
    /// * `scale` - the scale; a constant must be positive and finite. Tensors are not checked.
    ///
    /// # Shapes
    ///
    /// * `df`, `loc`, `scale`: `[r_i, c_i]`, broadcastable (equal or 1 in each dimension).
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with the offending constant.
    /// * [`DistError::Shape`] when the shapes do not broadcast or a vector is empty.
    pub fn new(
        df: impl Into<Param>,
        loc: impl Into<Param>,
        scale: impl Into<Param>,
    ) -> Result<Self, DistError> {
        let (df, loc, scale) = (df.into(), loc.into(), scale.into());
        let [rows, cols] = broadcast_params(
            NAME,
            &[("df", &df), ("loc", &loc), ("scale", &scale)],
            Wording::Trailing,
        )?;
        check_positive(NAME, "df", &df)?;
        let params = LocScale::new(NAME, loc, scale)?;
        Ok(Self {
            df,
            params,
            rows,
            cols,
        })
    }

    /// The degrees of freedom.
    pub fn df(&self) -> &Param {
        &self.df
    }

    /// The location.
    pub fn loc(&self) -> &Param {
        &self.params.loc
    }

    /// The scale.
    pub fn scale(&self) -> &Param {
        &self.params.scale
    }

    /// [`Distribution::log_prob`] in composed burn ops: the reference the fused kernel is
    /// tested against, and the version used for a tensor `df` and on backends other than flex.
    ///
    /// # Shapes
    ///
    /// * `value`: `[rows, cols]`, broadcast with the parameters; returns `[rows]`.
    pub fn log_prob_composed(&self, value: Tensor<2>) -> Tensor<1> {
        let value = expand_value(NAME, value, self.rows, self.cols);
        let z2 = self.params.standardize(value).square();
        sum_event(sub_ln_param(
            standard_log_density(&self.df, z2),
            &self.params.scale,
        ))
    }
}

impl Distribution for StudentT {
    batch_shape!(NAME);

    /// `sum_cols(c(df) - ln(scale) - (df + 1) / 2 * log1p(z^2 / df))`,
    /// `z = (value - loc) / scale`, with
    /// `c(df) = ln Gamma((df + 1) / 2) - ln Gamma(df / 2) - ln(df pi) / 2`
    /// evaluated as `g(df / 2) - ln(2 pi) / 2` with
    /// `g(b) = ln Gamma(b + 1/2) - ln Gamma(b) - ln(b) / 2` (on the host in `f64` for a
    /// constant `df`, with tensor ops for a tensor `df`).
    /// On burn's `flex` backend with a constant `df`, one fused op (one autodiff node,
    /// analytic gradients, `inferrs-kernels/src/density.rs`); otherwise [`StudentT::log_prob_composed`].
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let device = value.device();
        if let Param::Scalar(df) = self.df
            && crate::fused_kernels_available(&device)
        {
            let loc = self.params.loc.to_tensor(&device);
            let scale = self.params.scale.to_tensor(&device);
            let norm = lgamma_half_ratio(df / 2.0) - HALF_LN_2PI;
            if let Some(lp) = inferrs_kernels::student_t_log_prob(&value, &loc, &scale, df, norm) {
                return lp;
            }
        }
        self.log_prob_composed(value)
    }

    /// `loc + scale * t`, `t ~ t_df` drawn on the host (row-major). A tensor `df` is read
    /// back (no gradient flows to it); an element whose `df` is not positive gives NaN.
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(NAME, self.rows, rows);
        let noise = standard_noise(&self.df, rows, self.cols, device, rng, |t| t);
        self.params.affine(noise)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn constant_parameters(&self) -> bool {
        self.df.is_constant() && self.params.loc.is_constant() && self.params.scale.is_constant()
    }

    fn support(&self) -> Support {
        Support::Real
    }

    /// `loc` where `df > 1`, NaN elsewhere.
    fn mean(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        let undefined = self.df.to_tensor_as(device, shape).lower_equal_elem(1.0);
        self.params
            .loc
            .to_tensor_as(device, shape)
            .mask_fill(undefined, f32::NAN)
    }

    /// `scale^2 df / (df - 2)` where `df > 2`, `inf` where `1 < df <= 2`, NaN where `df <= 1`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        let df = self.df.to_tensor_as(device, shape);
        let infinite = df.clone().lower_equal_elem(2.0);
        let undefined = df.clone().lower_equal_elem(1.0);
        // A placeholder df of 3 where the ratio is not used keeps its gradient finite.
        let safe = df.mask_fill(infinite.clone(), 3.0);
        let ratio = safe.clone() / safe.sub_scalar(2.0);
        (self.params.scale.to_tensor_as(device, shape).square() * ratio)
            .mask_fill(infinite, f32::INFINITY)
            .mask_fill(undefined, f32::NAN)
    }
}

impl<D, L, S> FromArgs<(D, L, S)> for StudentT
where
    D: Into<Param>,
    L: Into<Param>,
    S: Into<Param>,
{
    /// `StudentT(df, loc, scale)`.
    fn from_args((df, loc, scale): (D, L, S)) -> Result<Self, DistError> {
        StudentT::new(df, loc, scale)
    }
}

impl<D, L, S> FromArgs<((D, L, S),)> for StudentT
where
    D: Into<Param>,
    L: Into<Param>,
    S: Into<Param>,
{
    /// A triple returned by a network: `StudentT(nn(x))`.
    fn from_args(((df, loc, scale),): ((D, L, S),)) -> Result<Self, DistError> {
        StudentT::new(df, loc, scale)
    }
}

/// Elementwise log density of a standard Student's t with `df` degrees of freedom at a squared
/// standardised value `z2`: `c(df) - (df + 1) / 2 * log1p(z2 / df)`, with
/// `c(df) = g(df / 2) - ln(2 pi) / 2` (see [`lgamma_half_ratio`]; on the host in `f64` for a
/// constant `df`, with tensor ops for a tensor `df`). The caller subtracts `ln(scale)`.
///
/// # Shapes
///
/// * `z2`: `[rows, cols]`, `df` broadcasting to it; returns `[rows, cols]`.
pub(crate) fn standard_log_density(df: &Param, z2: Tensor<2>) -> Tensor<2> {
    let device = z2.device();
    match df {
        Param::Scalar(df) => z2
            .div_scalar(*df)
            .log1p()
            .mul_scalar(-(df + 1.0) / 2.0)
            .add_scalar(lgamma_half_ratio(df / 2.0) - HALF_LN_2PI),
        df => {
            let norm = match map_constant(df, |d| lgamma_half_ratio(d / 2.0) - HALF_LN_2PI) {
                Some(constant) => constant.to_tensor(&device),
                None => lgamma_half_ratio_tensor(df.to_tensor(&device).mul_scalar(0.5))
                    .sub_scalar(HALF_LN_2PI),
            };
            let df = df.to_tensor(&device);
            (z2 / df.clone()).log1p() * df.add_scalar(1.0).mul_scalar(-0.5) + norm
        }
    }
}

/// Standard Student's t noise `[rows, cols]` with `df` degrees of freedom (broadcast), drawn
/// on the host (`rand_distr::StudentT`, row-major) with `map` applied to each draw. A tensor
/// `df` is read back (no gradient flows to it); an element whose `df` is not positive gives
/// NaN.
pub(crate) fn standard_noise(
    df: &Param,
    rows: usize,
    cols: usize,
    device: &Device,
    rng: &mut Rng,
    map: impl Fn(f64) -> f64,
) -> Tensor<2> {
    if let Param::Scalar(df) = df {
        let t = rand_distr::StudentT::new(*df).expect("df validated positive");
        host_noise(rows, cols, device, rng, |rng| map(t.sample(rng)))
    } else {
        let df = HostParam::new(df);
        host_tensor(rows, cols, device, |r, c| {
            match rand_distr::StudentT::new(df.get(r, c)) {
                Ok(t) => map(t.sample(rng)),
                Err(_) => f64::NAN,
            }
        })
    }
}

/// `g(b) = ln Gamma(b + 1/2) - ln Gamma(b) - ln(b) / 2` for `b > 0`, in `f64`.
///
/// With `x = b + 8` (the recurrence `Gamma(y + 1) = y Gamma(y)` applied eight times) and the
/// Stirling series at `x`, `r(x) = 1/(12 x) - 1/(360 x^3) + 1/(1260 x^5) - 1/(1680 x^7)` (four
/// terms of [`stirling_series`]):
/// `g(b) = x log1p(1/(2x)) - 1/2 + log1p(8/b) / 2 + r(x + 1/2) - r(x)
///        - sum_{k<8} log1p(1/(2 (b + k)))`.
/// Every term is small or computed without cancellation, so `g` keeps its accuracy as `b`
/// grows (where `g(b) -> -1/(8b)`), unlike a difference of two large log-gammas.
pub(crate) fn lgamma_half_ratio(b: f64) -> f64 {
    let shift = SHIFT as f64;
    let x = b + shift;
    let mut g = x * (0.5 / x).ln_1p() - 0.5
        + 0.5 * (shift / b).ln_1p()
        + (stirling_series(x + 0.5, 4) - stirling_series(x, 4));
    for k in 0..SHIFT {
        g -= (0.5 / (b + k as f64)).ln_1p();
    }
    g
}

/// [`lgamma_half_ratio`] elementwise with tensor ops (differentiable in `b`), with the series
/// of [`stirling_series_tensor`].
///
/// # Shapes
///
/// * `b`: any `[rows, cols]`; returns the same shape.
pub(crate) fn lgamma_half_ratio_tensor(b: Tensor<2>) -> Tensor<2> {
    let shift = SHIFT as f64;
    let x = b.clone().add_scalar(shift);
    let mut g = x.clone() * x.clone().recip().mul_scalar(0.5).log1p()
        + b.clone().recip().mul_scalar(shift).log1p().mul_scalar(0.5)
        + (stirling_series_tensor(x.clone().add_scalar(0.5)) - stirling_series_tensor(x));
    for k in 0..SHIFT {
        g = g - b
            .clone()
            .add_scalar(k as f64)
            .recip()
            .mul_scalar(0.5)
            .log1p();
    }
    g.sub_scalar(0.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;
    use statrs::function::gamma::ln_gamma;

    /// Points from tiny (df = 2e-3) to huge (df = 2e7) half degrees of freedom, on both sides
    /// of the shift.
    const BS: [f64; 12] = [
        1e-3, 0.02, 0.25, 0.5, 1.0, 2.5, 7.9, 8.0, 31.0, 500.0, 2e4, 1e7,
    ];

    fn reference(b: f64) -> f64 {
        ln_gamma(b + 0.5) - ln_gamma(b) - 0.5 * b.ln()
    }

    #[test]
    fn host_ratio_matches_statrs_ln_gamma() {
        for b in BS {
            let (got, want) = (lgamma_half_ratio(b), reference(b));
            // statrs' ln_gamma is accurate to ~1e-15 relative; its difference at b = 1e7
            // (ln_gamma ~ 1.5e8) carries ~3e-8 of rounding, hence the absolute term.
            assert!(
                (got - want).abs() <= 1e-10 * want.abs() + 5e-8,
                "g({b}): got {got}, expected {want}"
            );
        }
    }

    #[test]
    fn tensor_ratio_matches_statrs_ln_gamma() {
        let device = Device::flex();
        let data: Vec<f32> = BS.iter().map(|&b| b as f32).collect();
        let b = Tensor::<2>::from_data(TensorData::new(data, [1, BS.len()]), &device);
        let got: Vec<f32> = lgamma_half_ratio_tensor(b)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for (&g, &b) in got.iter().zip(&BS) {
            let want = reference(f64::from(b as f32));
            // f32 rounding of the largest terms, `log1p(1 / (2b))` and `log1p(8 / b) / 2`
            // (together about 11 at b = 1e-3), and of the O(1) rest: eight ulps of their sum.
            let scale = 1.0 + (0.5 / b).ln_1p() + 0.5 * (8.0 / b).ln_1p();
            assert!(
                (f64::from(g) - want).abs() <= 8.0 * f64::from(f32::EPSILON) * scale,
                "g({b}) in f32: got {g}, expected {want}"
            );
        }
    }
}
