//! Exponential distributions.

use burn::tensor::{Device, Tensor};
use rand_distr::{Distribution as _, Exp1};

use crate::shared::{
    assert_rows, batch_shape, div_param, expand_value, host_noise, sum_event_masked,
};
use crate::{DistError, Distribution, Param, Rng, Support};

const NAME: &str = "Exponential";

positive_family! {
    /// Independent exponential distributions, one per element of a value `[rows, event]`:
    /// density `rate exp(-rate x)` for `x >= 0`; the log density of a negative value is `-inf`.
    ///
    /// Mean `1 / rate`, variance `1 / rate^2`. Sampling is reparameterised: `e / rate` with
    /// `e ~ Exp(1)` drawn on the host.
    pub struct Exponential(NAME);

    /// Builds an exponential distribution (TensorFlow Probability's `Exponential(rate)`).
    ///
    /// # Arguments
    ///
    /// * `rate` - the inverse mean; a constant must be positive and finite. Tensors are not
    ///   checked (keep them positive, e.g. with `softplus`).
    ///
    /// # Shapes
    ///
    /// * `rate`: `[rows, cols]`; the event size is `cols`.
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with the offending constant.
    /// * [`DistError::Shape`] when `rate` is an empty vector.
    pub fn new(rate: R);

    /// The rate (inverse mean).
    pub fn rate;
}

impl Distribution for Exponential {
    batch_shape!(NAME);

    /// `sum_cols(ln(rate) - rate * value)` where `value >= 0`, `-inf` elsewhere.
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let value = expand_value(NAME, value, self.rows, self.cols);
        let outside = value.clone().lower_elem(0.0);
        let lp = match &self.rate {
            Param::Scalar(r) => value.mul_scalar(-r).add_scalar(r.ln()),
            rate => {
                let rate = rate.to_tensor(&value.device());
                rate.clone().log() - rate * value
            }
        };
        sum_event_masked(lp, outside)
    }

    /// `e / rate`, `e ~ Exp(1)` drawn on the host (row-major).
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(NAME, self.rows, rows);
        let noise = host_noise(rows, self.cols, device, rng, |rng| Exp1.sample(rng));
        div_param(noise, &self.rate)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    /// `1 / rate`.
    fn mean(&self, device: &Device) -> Tensor<2> {
        self.rate
            .to_tensor_as(device, [self.rows, self.cols])
            .recip()
    }

    /// `1 / rate^2`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        self.rate
            .to_tensor_as(device, [self.rows, self.cols])
            .square()
            .recip()
    }
}
