//! Half-Cauchy distributions.

use burn::tensor::{Device, Tensor};
use rand_distr::Distribution as _;

use crate::shared::{
    assert_rows, batch_shape, div_param, expand_value, host_noise, mul_param, sub_ln_param,
    sum_event_masked,
};
use crate::{DistError, Distribution, Rng, Support};

const NAME: &str = "HalfCauchy";

positive_family! {
    /// Independent half-Cauchy distributions: `|X|` with `X ~ Cauchy(0, scale)`, one per
    /// element of a value `[rows, event]` (a common prior on scales, e.g. `tau ~ HalfCauchy(5)`
    /// in the eight schools model).
    ///
    /// Density `2 / (pi scale (1 + (x / scale)^2))` for `x >= 0`; the log density of a negative
    /// value is `-inf`. The mean and the variance are infinite: [`Distribution::mean`] and
    /// [`Distribution::variance`] are `inf`. Sampling is reparameterised: `scale * |c|` with a
    /// standard Cauchy `c` drawn on the host (`rand_distr::Cauchy`).
    pub struct HalfCauchy(NAME);

    /// Builds a half-Cauchy distribution (TensorFlow Probability's `HalfCauchy(0, scale)`,
    /// NumPyro's `HalfCauchy(scale)`).
    ///
    /// # Arguments
    ///
    /// * `scale` - the scale of the underlying Cauchy (the median of the half-Cauchy); a
    ///   constant must be positive and finite. Tensors are not checked (keep them positive,
    ///   e.g. with `softplus`).
    ///
    /// # Shapes
    ///
    /// * `scale`: `[rows, cols]`; the event size is `cols`.
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with the offending constant.
    /// * [`DistError::Shape`] when `scale` is an empty vector.
    pub fn new(scale: S);

    /// The scale parameter.
    pub fn scale;
}

impl HalfCauchy {
    /// [`Distribution::log_prob`] in composed burn ops: the reference the fused kernel is
    /// tested against, and the path of other backends.
    ///
    /// * `value`: `[rows, cols]`, broadcast with the parameters; returns `[rows]`.
    pub fn log_prob_composed(&self, value: Tensor<2>) -> Tensor<1> {
        let value = expand_value(NAME, value, self.rows, self.cols);
        let outside = value.clone().lower_elem(0.0);
        let z = div_param(value, &self.scale);
        let lp = sub_ln_param(z.square().log1p().neg(), &self.scale)
            .add_scalar(std::f64::consts::LN_2 - std::f64::consts::PI.ln());
        sum_event_masked(lp, outside)
    }
}

impl Distribution for HalfCauchy {
    batch_shape!(NAME);

    /// `sum_cols(ln 2 - ln(pi) - ln(scale) - log1p((value / scale)^2))` where `value >= 0`,
    /// `-inf` elsewhere. On burn's `flex` backend one fused op (one autodiff node, analytic
    /// gradients: the half-Student's t kernel at `df = 1`, `inferrs-kernels/src/density.rs`);
    /// otherwise [`HalfCauchy::log_prob_composed`].
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let device = value.device();
        if crate::fused_kernels_available(&device) {
            let scale = self.scale.to_tensor(&device);
            let norm = std::f64::consts::LN_2 - std::f64::consts::PI.ln();
            if let Some(lp) = inferrs_kernels::half_student_t_log_prob(&value, &scale, 1.0, norm) {
                return lp;
            }
        }
        self.log_prob_composed(value)
    }

    /// `scale * |c|`, `c ~ Cauchy(0, 1)` drawn on the host (row-major).
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(NAME, self.rows, rows);
        let standard = rand_distr::Cauchy::new(0.0, 1.0).expect("standard Cauchy");
        let noise = host_noise(rows, self.cols, device, rng, |rng| {
            let c: f64 = standard.sample(rng);
            c.abs()
        });
        mul_param(noise, &self.scale)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    /// `inf`: the mean of a half-Cauchy distribution is infinite.
    fn mean(&self, device: &Device) -> Tensor<2> {
        Tensor::<2>::full([self.rows, self.cols], f32::INFINITY, device)
    }

    /// `inf`: the second moment of a half-Cauchy distribution is infinite.
    fn variance(&self, device: &Device) -> Tensor<2> {
        Tensor::<2>::full([self.rows, self.cols], f32::INFINITY, device)
    }
}
