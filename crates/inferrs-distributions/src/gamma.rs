//! The gamma family: [`Gamma`], [`InverseGamma`], [`Beta`] and [`Dirichlet`]; their normalisers
//! use the log-gamma function of [`special`](crate::special).
//!
//! Parameter names and order follow TensorFlow Probability. Sampling is done on the host with
//! `rand_distr` from the caller's [`Rng`] and is not reparameterised (the draws are detached);
//! densities are differentiable in the value and in tensor parameters.

use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng as _;
use rand_distr::Distribution as _;

use crate::param::{HostParam, Wording, broadcast_params, check_positive, positive_finite};
use crate::shared::{
    assert_event_columns, assert_rows, batch_shape, check_value_exact, from_args_pair, host_tensor,
    map_param, mul_offset_param, mul_param, restrict, restrict_positive, sum_event_masked,
};
use crate::special::{lgamma, ln_gamma};
use crate::{DistError, Distribution, FromArgs, Param, Rng, Support};

// ---------------------------------------------------------------------------------------------
// Helpers shared by the families of this module.

/// Declares a distribution of two positive parameters (Gamma, InverseGamma, Beta): the struct,
/// `new` (each parameter has columns and positive, finite constants, checked in order; then
/// the shapes broadcast), the accessors, and `FromArgs` from `Family(a, b)` and from a
/// network's pair. The family writes the docs and its `impl Distribution`.
macro_rules! positive_pair_family {
    (
        $(#[$doc:meta])*
        pub struct $family:ident($name:expr);

        $(#[$new_doc:meta])*
        pub fn new($a:ident: $A:ident, $b:ident: $B:ident);

        $(#[$a_doc:meta])*
        pub fn $a_getter:ident;

        $(#[$b_doc:meta])*
        pub fn $b_getter:ident;
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $family {
            $a: Param,
            $b: Param,
            rows: usize,
            cols: usize,
        }

        impl $family {
            $(#[$new_doc])*
            pub fn new($a: impl Into<Param>, $b: impl Into<Param>) -> Result<Self, DistError> {
                let ($a, $b) = ($a.into(), $b.into());
                check_positive($name, stringify!($a), &$a)?;
                check_positive($name, stringify!($b), &$b)?;
                let [rows, cols] = broadcast_params(
                    $name,
                    &[(stringify!($a), &$a), (stringify!($b), &$b)],
                    Wording::Inline,
                )?;
                Ok(Self { $a, $b, rows, cols })
            }

            $(#[$a_doc])*
            pub fn $a_getter(&self) -> &Param {
                &self.$a
            }

            $(#[$b_doc])*
            pub fn $b_getter(&self) -> &Param {
                &self.$b
            }
        }

        from_args_pair!($family($a: $A, $b: $B));
    };
}

/// `ln Gamma(p)` as a tensor: computed in `f64` on the host for constants, with [`lgamma`] for
/// a tensor.
fn lgamma_param(p: &Param, device: &Device) -> Tensor<2> {
    map_param(p, device, ln_gamma, lgamma)
}

/// `alpha ln(beta) - ln Gamma(alpha)`, the log normaliser of Gamma (`beta` the rate) and of
/// InverseGamma (`beta` the scale), in the parameters' broadcast shape.
fn gamma_normaliser(alpha: &Param, beta: &Param, device: &Device) -> Tensor<2> {
    mul_param(beta.to_tensor(device).log(), alpha) - lgamma_param(alpha, device)
}

/// Host draws `[rows, cols]` of `combine(g, beta)` per element with `g ~ Gamma(alpha, 1)`
/// (Gamma: `g / rate`; InverseGamma: `scale / g`), tensor parameters read back, kept at least
/// the smallest normal `f32`; NaN (drawing nothing) where `beta` is not positive and finite.
fn gamma_draws(
    alpha: &Param,
    beta: &Param,
    [rows, cols]: [usize; 2],
    device: &Device,
    rng: &mut Rng,
    combine: impl Fn(f64, f64) -> f64,
) -> Tensor<2> {
    let alpha = HostParam::new(alpha);
    let beta = HostParam::new(beta);
    host_tensor(rows, cols, device, |r, c| {
        let beta = beta.get(r, c);
        if positive_finite(beta) {
            positive_f32(combine(standard_gamma(alpha.get(r, c), rng), beta)).into()
        } else {
            f64::NAN
        }
    })
}

/// `f(a, b)` per column in `f64` when both parameters are constants (a row of `cols` values),
/// or `None`.
fn host_pair(a: &Param, b: &Param, cols: usize, f: impl Fn(f64, f64) -> f64) -> Option<Param> {
    let (a, b) = (a.constants()?, b.constants()?);
    let at = |v: &[f64], j: usize| if v.len() == 1 { v[0] } else { v[j] };
    Some(Param::Vector(
        (0..cols).map(|j| f(at(a, j), at(b, j))).collect(),
    ))
}

/// One `Gamma(shape, 1)` draw in `f64`, or NaN (drawing nothing) for a shape that is not
/// positive and finite.
fn standard_gamma(shape: f64, rng: &mut Rng) -> f64 {
    match rand_distr::Gamma::new(shape, 1.0) {
        Ok(g) if positive_finite(shape) => g.sample(rng),
        _ => f64::NAN,
    }
}

/// Rounds a positive draw to `f32`, keeping it at least the smallest normal `f32` (as
/// TensorFlow Probability does) so that it stays inside the open support `(0, inf)` when a
/// small concentration makes it underflow.
fn positive_f32(x: f64) -> f32 {
    if x.is_nan() {
        f32::NAN
    } else {
        (x as f32).clamp(f32::MIN_POSITIVE, f32::MAX)
    }
}

/// Largest `f32` below one.
const ONE_MINUS_EPS: f32 = 1.0 - f32::EPSILON / 2.0;

// ---------------------------------------------------------------------------------------------
// Gamma.

const GAMMA: &str = "Gamma";

positive_pair_family! {
    /// Independent Gamma distributions with shape `concentration` (alpha) and inverse scale
    /// `rate` (beta), one per element of a value `[rows, event]`:
    /// `p(x) = beta^alpha x^(alpha - 1) exp(-beta x) / Gamma(alpha)` for `x > 0`.
    ///
    /// The parameters broadcast against each other (and the value) over rows and columns; the
    /// event size is their broadcast number of columns. Mean `alpha / beta`, variance
    /// `alpha / beta^2`. Sampling is not reparameterised.
    pub struct Gamma(GAMMA);

    /// Builds a Gamma distribution (TensorFlow Probability's `Gamma(concentration, rate)`).
    ///
    /// # Arguments
    ///
    /// * `concentration` - the shape alpha; a constant must be positive and finite.
    /// * `rate` - the inverse scale beta; a constant must be positive and finite. Tensors are
    ///   not checked (keep them positive, e.g. with `softplus`).
    ///
    /// # Shapes
    ///
    /// * `concentration`: `[r1, c1]`, `rate`: `[r2, c2]`, broadcastable.
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with the offending constant.
    /// * [`DistError::Shape`] when the shapes do not broadcast or a vector is empty.
    pub fn new(concentration: C, rate: R);

    /// The shape parameter alpha.
    pub fn concentration;

    /// The inverse-scale parameter beta.
    pub fn rate;
}

impl Gamma {
    /// [`Distribution::log_prob`] in composed burn ops: the reference the fused kernel is
    /// tested against, and the version used for constant parameters and backends other than
    /// flex.
    ///
    /// # Shapes
    ///
    /// * `value`: `[rows, cols]`, broadcast with the parameters; returns `[rows]`.
    pub fn log_prob_composed(&self, value: Tensor<2>) -> Tensor<1> {
        let (x, outside) = restrict_positive(GAMMA, value, self.rows, self.cols);
        let normaliser = gamma_normaliser(&self.concentration, &self.rate, &x.device());
        let unnormalised =
            mul_offset_param(x.clone().log(), &self.concentration, -1.0) - mul_param(x, &self.rate);
        sum_event_masked(unnormalised + normaliser, outside)
    }
}

impl Distribution for Gamma {
    batch_shape!(GAMMA);

    /// `sum_cols((alpha - 1) ln x - beta x + alpha ln beta - ln Gamma(alpha))`; `-inf` for
    /// `x <= 0`. `ln Gamma` of a constant is computed in `f64`, of a tensor with an `f32`
    /// Stirling series (see the crate's tensor `lgamma`).
    ///
    /// With a tensor parameter on burn's `flex` backend one fused op (one autodiff node with
    /// the analytic partials, `inferrs-kernels/src/density.rs`; a constant parameter's `ln Gamma` then comes
    /// from the same `f32` series); otherwise [`Gamma::log_prob_composed`].
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        if !self.constant_parameters() {
            let device = value.device();
            let (a, b) = (
                self.concentration.to_tensor(&device),
                self.rate.to_tensor(&device),
            );
            if let Some(lp) = inferrs_kernels::gamma_log_prob(&value, &a, &b) {
                return lp;
            }
        }
        self.log_prob_composed(value)
    }

    fn constant_parameters(&self) -> bool {
        self.concentration.is_constant() && self.rate.is_constant()
    }

    /// Draws `Gamma(alpha, 1) / beta` per element on the host with `rand_distr` (tensor
    /// parameters are read back); the result is detached. Draws that underflow are kept at the
    /// smallest normal `f32`; an element with a non-positive tensor parameter gives NaN.
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(GAMMA, self.rows, rows);
        gamma_draws(
            &self.concentration,
            &self.rate,
            [rows, self.cols],
            device,
            rng,
            |g, rate| g / rate,
        )
    }

    fn has_rsample(&self) -> bool {
        false
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    /// `alpha / beta`.
    fn mean(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        self.concentration.to_tensor_as(device, shape) / self.rate.to_tensor_as(device, shape)
    }

    /// `alpha / beta^2`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        self.concentration.to_tensor_as(device, shape)
            / self.rate.to_tensor_as(device, shape).square()
    }
}

// ---------------------------------------------------------------------------------------------
// InverseGamma.

const INVERSE_GAMMA: &str = "InverseGamma";

positive_pair_family! {
    /// Independent inverse-gamma distributions with shape `concentration` (alpha) and `scale`
    /// (beta), one per element of a value `[rows, event]`: `1 / x` is `Gamma(alpha, rate = beta)`,
    /// `p(x) = beta^alpha x^(-alpha - 1) exp(-beta / x) / Gamma(alpha)` for `x > 0`.
    ///
    /// The parameters broadcast as for [`Gamma`]. Mean `beta / (alpha - 1)` for `alpha > 1`,
    /// variance `beta^2 / ((alpha - 1)^2 (alpha - 2))` for `alpha > 2` (see
    /// [`Distribution::mean`] for the other cases). Sampling is not reparameterised.
    pub struct InverseGamma(INVERSE_GAMMA);

    /// Builds an inverse-gamma distribution (TensorFlow Probability's
    /// `InverseGamma(concentration, scale)`).
    ///
    /// # Arguments
    ///
    /// * `concentration` - the shape alpha; a constant must be positive and finite.
    /// * `scale` - the scale beta; a constant must be positive and finite. Tensors are not
    ///   checked.
    ///
    /// # Shapes
    ///
    /// * `concentration`: `[r1, c1]`, `scale`: `[r2, c2]`, broadcastable.
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with the offending constant.
    /// * [`DistError::Shape`] when the shapes do not broadcast or a vector is empty.
    pub fn new(concentration: C, scale: S);

    /// The shape parameter alpha.
    pub fn concentration;

    /// The scale parameter beta.
    pub fn scale;
}

impl Distribution for InverseGamma {
    batch_shape!(INVERSE_GAMMA);

    /// `sum_cols(-(alpha + 1) ln x - beta / x + alpha ln beta - ln Gamma(alpha))`; `-inf` for
    /// `x <= 0`.
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let (x, outside) = restrict_positive(INVERSE_GAMMA, value, self.rows, self.cols);
        let normaliser = gamma_normaliser(&self.concentration, &self.scale, &x.device());
        let unnormalised = mul_offset_param(x.clone().log(), &self.concentration, 1.0).neg()
            - mul_param(x.recip(), &self.scale);
        sum_event_masked(unnormalised + normaliser, outside)
    }

    /// Draws `beta / Gamma(alpha, 1)` per element on the host with `rand_distr`; the result is
    /// detached and kept inside `[smallest normal f32, f32::MAX]`; an element with a
    /// non-positive tensor parameter gives NaN.
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(INVERSE_GAMMA, self.rows, rows);
        gamma_draws(
            &self.concentration,
            &self.scale,
            [rows, self.cols],
            device,
            rng,
            |g, scale| scale / g,
        )
    }

    fn has_rsample(&self) -> bool {
        false
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    /// `beta / (alpha - 1)` where `alpha > 1`; NaN where `alpha <= 1` (as in TensorFlow
    /// Probability).
    fn mean(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        let alpha = self.concentration.to_tensor_as(device, shape);
        let undefined = alpha.clone().lower_equal_elem(1.0);
        // A safe denominator where the mean is undefined keeps the gradients free of NaN.
        let alpha = alpha.mask_fill(undefined.clone(), 2.0);
        (self.scale.to_tensor_as(device, shape) / alpha.sub_scalar(1.0))
            .mask_fill(undefined, f32::NAN)
    }

    /// `beta^2 / ((alpha - 1)^2 (alpha - 2))` where `alpha > 2`; `inf` where
    /// `1 < alpha <= 2`; NaN where `alpha <= 1`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        let alpha = self.concentration.to_tensor_as(device, shape);
        let infinite = alpha.clone().lower_equal_elem(2.0);
        let undefined = alpha.clone().lower_equal_elem(1.0);
        let alpha = alpha.mask_fill(infinite.clone(), 3.0);
        let denominator = alpha.clone().sub_scalar(1.0).square() * alpha.sub_scalar(2.0);
        (self.scale.to_tensor_as(device, shape).square() / denominator)
            .mask_fill(infinite, f32::INFINITY)
            .mask_fill(undefined, f32::NAN)
    }
}

// ---------------------------------------------------------------------------------------------
// Beta.

const BETA: &str = "Beta";

positive_pair_family! {
    /// Independent Beta distributions on `(0, 1)`, one per element of a value `[rows, event]`:
    /// `p(x) = x^(a - 1) (1 - x)^(b - 1) / B(a, b)` with `a = concentration1` and
    /// `b = concentration0`.
    ///
    /// The parameters broadcast as for [`Gamma`]. Mean `a / (a + b)`, variance
    /// `a b / ((a + b)^2 (a + b + 1))`. Sampling is not reparameterised.
    pub struct Beta(BETA);

    /// Builds a Beta distribution (TensorFlow Probability's
    /// `Beta(concentration1, concentration0)`).
    ///
    /// # Arguments
    ///
    /// * `concentration1` - `a`, the exponent of `x` plus one (pseudo-count of ones); a
    ///   constant must be positive and finite.
    /// * `concentration0` - `b`, the exponent of `1 - x` plus one (pseudo-count of zeros); a
    ///   constant must be positive and finite. Tensors are not checked.
    ///
    /// # Shapes
    ///
    /// * `concentration1`: `[r1, c1]`, `concentration0`: `[r2, c2]`, broadcastable.
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with the offending constant.
    /// * [`DistError::Shape`] when the shapes do not broadcast or a vector is empty.
    pub fn new(concentration1: A, concentration0: B);

    /// The concentration `a` of the ones (exponent of `x`).
    pub fn concentration1;

    /// The concentration `b` of the zeros (exponent of `1 - x`).
    pub fn concentration0;
}

impl Distribution for Beta {
    batch_shape!(BETA);

    /// `sum_cols((a - 1) ln x + (b - 1) log1p(-x) - ln B(a, b))`; `-inf` outside `(0, 1)`.
    /// `ln B(a, b) = ln Gamma(a) + ln Gamma(b) - ln Gamma(a + b)` is computed in `f64` when both
    /// concentrations are constants.
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let (x, outside) = restrict(
            BETA,
            value,
            self.rows,
            self.cols,
            |v| {
                v.clone()
                    .lower_equal_elem(0.0)
                    .bool_or(v.greater_equal_elem(1.0))
            },
            0.5,
        );
        let device = x.device();
        let term1 = mul_offset_param(x.clone().log(), &self.concentration1, -1.0);
        let term0 = mul_offset_param(x.neg().log1p(), &self.concentration0, -1.0);
        let log_beta = match host_pair(
            &self.concentration1,
            &self.concentration0,
            self.cols,
            |a, b| ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b),
        ) {
            Some(p) => p.to_tensor(&device),
            None => {
                let sum =
                    self.concentration1.to_tensor(&device) + self.concentration0.to_tensor(&device);
                lgamma_param(&self.concentration1, &device)
                    + lgamma_param(&self.concentration0, &device)
                    - lgamma(sum)
            }
        };
        sum_event_masked(term1 + term0 - log_beta, outside)
    }

    /// Draws per element on the host with `rand_distr::Beta`; the result is detached and
    /// kept inside the open interval `(0, 1)` in `f32` (a draw that rounds to 0 or 1 becomes
    /// the smallest normal `f32` or the largest `f32` below 1).
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(BETA, self.rows, rows);
        let a = HostParam::new(&self.concentration1);
        let b = HostParam::new(&self.concentration0);
        host_tensor(rows, self.cols, device, |r, c| match rand_distr::Beta::new(
            a.get(r, c),
            b.get(r, c),
        ) {
            Ok(beta) => {
                let x: f64 = beta.sample(rng);
                (x as f32).clamp(f32::MIN_POSITIVE, ONE_MINUS_EPS).into()
            }
            Err(_) => f64::NAN,
        })
    }

    fn has_rsample(&self) -> bool {
        false
    }

    fn support(&self) -> Support {
        Support::UnitInterval
    }

    /// `a / (a + b)`.
    fn mean(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        let a = self.concentration1.to_tensor_as(device, shape);
        let b = self.concentration0.to_tensor_as(device, shape);
        a.clone() / (a + b)
    }

    /// `a b / ((a + b)^2 (a + b + 1))`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        let a = self.concentration1.to_tensor_as(device, shape);
        let b = self.concentration0.to_tensor_as(device, shape);
        let total = a.clone() + b.clone();
        a * b / (total.clone().square() * total.add_scalar(1.0))
    }
}

// ---------------------------------------------------------------------------------------------
// Dirichlet.

const DIRICHLET: &str = "Dirichlet";

/// Dirichlet distributions over the probability simplex of `K >= 2` categories, one per row:
/// `p(x) = Gamma(alpha_0) / prod_k Gamma(alpha_k) prod_k x_k^(alpha_k - 1)`,
/// `alpha_0 = sum_k alpha_k`.
///
/// The value is a row of `K` columns (the event); `concentration` is a tensor `[rows, K]` (one
/// row broadcasts over rows) or a constant vector of `K` values. Mean `alpha / alpha_0`,
/// variance `alpha (alpha_0 - alpha) / (alpha_0^2 (alpha_0 + 1))`. Sampling is not
/// reparameterised.
#[derive(Clone, Debug)]
pub struct Dirichlet {
    concentration: Param,
    rows: usize,
    k: usize,
}

impl Dirichlet {
    /// Builds a Dirichlet distribution (TensorFlow Probability's `Dirichlet(concentration)`).
    ///
    /// # Arguments
    ///
    /// * `concentration` - alpha, one positive entry per category; constants must be positive
    ///   and finite. Tensors are not checked.
    ///
    /// # Shapes
    ///
    /// * `concentration`: `[rows or 1, K]` with `K >= 2`.
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with the offending constant.
    /// * [`DistError::Shape`] when `concentration` has fewer than two columns (a scalar does
    ///   not say how many categories there are).
    pub fn new(concentration: impl Into<Param>) -> Result<Self, DistError> {
        let concentration = concentration.into();
        check_positive(DIRICHLET, "concentration", &concentration)?;
        let [rows, k] = concentration.shape();
        if k < 2 {
            return Err(DistError::Shape {
                dist: DIRICHLET,
                detail: format!(
                    "parameter `concentration` has shape [{rows}, {k}]: it needs one column \
                     per category, at least 2"
                ),
            });
        }
        Ok(Self {
            concentration,
            rows,
            k,
        })
    }

    /// The concentration alpha.
    pub fn concentration(&self) -> &Param {
        &self.concentration
    }

    /// Number of categories `K`.
    pub fn num_categories(&self) -> usize {
        self.k
    }
}

impl Distribution for Dirichlet {
    batch_shape!(DIRICHLET; rows, k);

    /// `sum_k (alpha_k - 1) ln x_k + ln Gamma(alpha_0) - sum_k ln Gamma(alpha_k)` per row;
    /// `-inf` for a row with an entry `<= 0`. As in TensorFlow Probability, the row is assumed
    /// to sum to one and this is not checked. The normaliser is computed in `f64` for constant
    /// concentrations.
    ///
    /// Panics unless `value` has `K` columns.
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        assert_event_columns(DIRICHLET, &value, self.k);
        let (x, outside) = restrict_positive(DIRICHLET, value, self.rows, self.k);
        let device = x.device();
        let outside = outside.any_dim(1);
        let alpha = self.concentration.to_tensor(&device);
        let unnormalised = (x.log() * alpha.clone().sub_scalar(1.0)).sum_dim(1);
        let normaliser = match self.concentration.constants() {
            Some(a) => {
                let total: f64 = a.iter().sum();
                let norm = ln_gamma(total) - a.iter().map(|&x| ln_gamma(x)).sum::<f64>();
                unnormalised.add_scalar(norm)
            }
            None => unnormalised + lgamma(alpha.clone().sum_dim(1)) - lgamma(alpha).sum_dim(1),
        };
        normaliser
            .mask_fill(outside, f32::NEG_INFINITY)
            .squeeze_dim::<1>(1)
    }

    /// Draws each row as normalised `Gamma(alpha_k, 1)` variables on the host (`rand_distr`),
    /// in log space: for `alpha_k < 1`, `ln G = ln Gamma(alpha_k + 1, 1) + ln(U) / alpha_k`
    /// with `U` uniform on `(0, 1]`, so that small concentrations do not underflow to a row of
    /// zeros. Entries are kept at least the smallest normal `f32`; the result is detached. A
    /// row with a non-positive tensor concentration gives NaN.
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(DIRICHLET, self.rows, rows);
        let alpha = HostParam::new(&self.concentration);
        let k = self.k;
        let mut out = Vec::with_capacity(rows * k);
        let mut log_g = vec![0.0f64; k];
        for r in 0..rows {
            for (j, lg) in log_g.iter_mut().enumerate() {
                let a = alpha.get(r, j);
                *lg = if !positive_finite(a) {
                    f64::NAN
                } else if a < 1.0 {
                    let u: f64 = 1.0 - rng.random::<f64>();
                    standard_gamma(a + 1.0, rng).ln() + u.ln() / a
                } else {
                    standard_gamma(a, rng).ln()
                };
            }
            let max = log_g.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = log_g.iter().map(|lg| (lg - max).exp()).sum();
            out.extend(
                log_g
                    .iter()
                    .map(|lg| positive_f32((lg - max).exp() / total)),
            );
        }
        Tensor::<2>::from_data(TensorData::new(out, [rows, k]), device)
    }

    fn has_rsample(&self) -> bool {
        false
    }

    fn support(&self) -> Support {
        Support::Simplex
    }

    /// `alpha / alpha_0`.
    fn mean(&self, device: &Device) -> Tensor<2> {
        let alpha = self.concentration.to_tensor_as(device, [self.rows, self.k]);
        alpha.clone() / alpha.sum_dim(1)
    }

    /// `alpha (alpha_0 - alpha) / (alpha_0^2 (alpha_0 + 1))`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        let alpha = self.concentration.to_tensor_as(device, [self.rows, self.k]);
        let total = alpha.clone().sum_dim(1);
        alpha.clone() * (total.clone() - alpha) / (total.clone().square() * total.add_scalar(1.0))
    }

    /// The value must have exactly `K` columns (its rows broadcast as usual).
    fn check_value(&self, shape: [usize; 2]) -> Result<(), DistError> {
        check_value_exact(DIRICHLET, shape, self.rows, self.k)
    }
}

impl<C: Into<Param>> FromArgs<(C,)> for Dirichlet {
    /// `Dirichlet(concentration)`, also `Dirichlet(nn(x))` with a network returning the
    /// concentration tensor.
    fn from_args((concentration,): (C,)) -> Result<Self, DistError> {
        Dirichlet::new(concentration)
    }
}
