//! Log-normal distributions.

use burn::tensor::{Device, Tensor};
use rand_distr::{Distribution as _, StandardNormal};

use super::expm1;
use crate::math::gaussian_log_density;
use crate::shared::{assert_rows, batch_shape, host_noise, restrict_positive, sum_event_masked};
use crate::{DistError, Distribution, Rng, Support};

const NAME: &str = "LogNormal";

loc_scale_family! {
    /// Independent log-normal distributions: `exp(X)` with `X ~ N(loc, scale^2)`, one per element
    /// of a value `[rows, event]`.
    ///
    /// The log density of a value `<= 0` is `-inf`. Mean `exp(loc + scale^2 / 2)`, variance
    /// `(exp(scale^2) - 1) exp(2 loc + scale^2)` (with an accurate `exp(s) - 1` for small scales).
    /// Sampling is reparameterised: `exp(loc + scale * eps)`, `eps ~ N(0, 1)` drawn on the host.
    pub struct LogNormal(NAME);

    /// Builds a log-normal distribution (TensorFlow Probability's `LogNormal(loc, scale)`).
    ///
    /// # Arguments
    ///
    /// * `loc` - the mean of the logarithm; a constant must be finite.
    /// * `scale` - the standard deviation of the logarithm; a constant must be positive and
    ///   finite. Tensors are not checked (keep them positive, e.g. with `softplus`).
    ///
    /// # Shapes
    ///
    /// * `loc`: `[r1, c1]`, `scale`: `[r2, c2]`, broadcastable (equal or 1 in each dimension).
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with the offending constant.
    /// * [`DistError::Shape`] when the shapes do not broadcast or a vector is empty.
    pub fn new;

    /// The mean of the logarithm.
    pub fn loc;

    /// The standard deviation of the logarithm.
    pub fn scale;
}

impl Distribution for LogNormal {
    batch_shape!(NAME);

    /// `sum_cols(log N(ln value; loc, scale) - ln value)` where `value > 0`, `-inf` elsewhere.
    ///
    /// Non-positive values are replaced by 1 before the logarithm and then masked, so they
    /// give `-inf` with zero (not NaN) gradients.
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let (value, outside) = restrict_positive(NAME, value, self.rows, self.cols);
        let log_value = value.log();
        let lp = gaussian_log_density(log_value.clone(), &self.params.loc, &self.params.scale)
            - log_value;
        sum_event_masked(lp, outside)
    }

    /// `exp(loc + scale * eps)`, `eps ~ N(0, 1)` drawn on the host (row-major).
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(NAME, self.rows, rows);
        let noise = host_noise(rows, self.cols, device, rng, |rng| {
            StandardNormal.sample(rng)
        });
        self.params.affine(noise).exp()
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn support(&self) -> Support {
        Support::Positive
    }

    /// `exp(loc + scale^2 / 2)`.
    fn mean(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        let loc = self.params.loc.to_tensor_as(device, shape);
        let scale = self.params.scale.to_tensor_as(device, shape);
        (loc + scale.square().mul_scalar(0.5)).exp()
    }

    /// `expm1(scale^2) exp(2 loc + scale^2)`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        let loc = self.params.loc.to_tensor_as(device, shape);
        let s2 = self.params.scale.to_tensor_as(device, shape).square();
        expm1(s2.clone()) * (loc.mul_scalar(2.0) + s2).exp()
    }
}
