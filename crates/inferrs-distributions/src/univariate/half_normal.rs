//! Half-normal distributions.

use burn::tensor::{Device, Tensor};
use rand_distr::{Distribution as _, StandardNormal};

use crate::math::gaussian_log_density;
use crate::shared::{
    assert_rows, batch_shape, expand_value, host_noise, mul_param, sum_event_masked,
};
use crate::{DistError, Distribution, Param, Rng, Support};

const NAME: &str = "HalfNormal";

positive_family! {
    /// Independent half-normal distributions: `|X|` with `X ~ N(0, scale^2)`, one per element of
    /// a value `[rows, event]`.
    ///
    /// Density `2 / (scale sqrt(2 pi)) exp(-x^2 / (2 scale^2))` for `x >= 0`; the log density of a
    /// negative value is `-inf`. Mean `scale sqrt(2 / pi)`, variance `scale^2 (1 - 2 / pi)`.
    /// Sampling is reparameterised: `scale * |eps|`, `eps ~ N(0, 1)` drawn on the host.
    pub struct HalfNormal(NAME);

    /// Builds a half-normal distribution (TensorFlow Probability's `HalfNormal(scale)`).
    ///
    /// # Arguments
    ///
    /// * `scale` - the scale of the underlying Gaussian; a constant must be positive and
    ///   finite. Tensors are not checked (keep them positive, e.g. with `softplus`).
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

impl HalfNormal {
    /// [`Distribution::log_prob`] in composed burn ops: the reference the fused kernel is
    /// tested against, and the path of other backends.
    ///
    /// * `value`: `[rows, cols]`, broadcast with the parameters; returns `[rows]`.
    pub fn log_prob_composed(&self, value: Tensor<2>) -> Tensor<1> {
        let value = expand_value(NAME, value, self.rows, self.cols);
        let outside = value.clone().lower_elem(0.0);
        let lp = gaussian_log_density(value, &Param::Scalar(0.0), &self.scale)
            .add_scalar(std::f64::consts::LN_2);
        sum_event_masked(lp, outside)
    }
}

impl Distribution for HalfNormal {
    batch_shape!(NAME);

    /// `sum_cols(ln 2 + log N(value; 0, scale))` where `value >= 0`, `-inf` elsewhere. On
    /// burn's `flex` backend one fused op (one autodiff node, analytic gradients,
    /// `inferrs-kernels/src/density.rs`); otherwise [`HalfNormal::log_prob_composed`].
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let device = value.device();
        if crate::fused_kernels_available(&device) {
            let scale = self.scale.to_tensor(&device);
            if let Some(lp) = inferrs_kernels::half_normal_log_prob(&value, &scale) {
                return lp;
            }
        }
        self.log_prob_composed(value)
    }

    /// `scale * |eps|`, `eps ~ N(0, 1)` drawn on the host (row-major).
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(NAME, self.rows, rows);
        let noise = host_noise(rows, self.cols, device, rng, |rng| {
            let e: f64 = StandardNormal.sample(rng);
            e.abs()
        });
        mul_param(noise, &self.scale)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    /// `scale sqrt(2 / pi)`.
    fn mean(&self, device: &Device) -> Tensor<2> {
        self.scale
            .to_tensor_as(device, [self.rows, self.cols])
            .mul_scalar((2.0 / std::f64::consts::PI).sqrt())
    }

    /// `scale^2 (1 - 2 / pi)`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        self.scale
            .to_tensor_as(device, [self.rows, self.cols])
            .square()
            .mul_scalar(1.0 - 2.0 / std::f64::consts::PI)
    }
}
