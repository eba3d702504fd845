//! Logistic distributions.

use burn::tensor::{Device, Tensor};
use rand_distr::{Distribution as _, Open01};

use crate::shared::{assert_rows, batch_shape, expand_value, host_noise, sub_ln_param, sum_event};
use crate::{DistError, Distribution, Rng, Support};

const NAME: &str = "Logistic";

loc_scale_family! {
    /// Independent logistic distributions, one per element of a value `[rows, event]`:
    /// density `exp(-z) / (scale (1 + exp(-z))^2)`, `z = (x - loc) / scale`.
    ///
    /// Mean `loc`, variance `scale^2 pi^2 / 3`. Sampling is reparameterised: `loc + scale * l`
    /// with `l = ln(u) - ln(1 - u)`, `u ~ U(0, 1)` (open) drawn on the host.
    pub struct Logistic(NAME);

    /// Builds a logistic distribution (TensorFlow Probability's `Logistic(loc, scale)`).
    ///
    /// # Arguments
    ///
    /// * `loc` - the mean; a constant must be finite.
    /// * `scale` - the scale; a constant must be positive and finite. Tensors are not checked
    ///   (keep them positive, e.g. with `softplus`).
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

    /// The mean.
    pub fn loc;

    /// The scale.
    pub fn scale;
}

impl Distribution for Logistic {
    batch_shape!(NAME);

    /// `sum_cols(-|z| - 2 log1p(exp(-|z|)) - ln(scale))`, `z = (value - loc) / scale`.
    ///
    /// The density is symmetric in `z`; writing it in `|z|` keeps `exp` from overflowing in
    /// either tail (the naive `-z - 2 ln(1 + exp(-z))` overflows for `z < -88` in `f32`).
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let value = expand_value(NAME, value, self.rows, self.cols);
        let abs_z = self.params.standardize(value).abs();
        let body = abs_z.clone().neg() - abs_z.neg().exp().log1p().mul_scalar(2.0);
        let lp = sub_ln_param(body, &self.params.scale);
        sum_event(lp)
    }

    /// `loc + scale * (ln u - ln(1 - u))`, `u ~ U(0, 1)` open, drawn on the host (row-major).
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(NAME, self.rows, rows);
        let noise = host_noise(rows, self.cols, device, rng, |rng| {
            let u: f64 = Open01.sample(rng);
            u.ln() - (-u).ln_1p()
        });
        self.params.affine(noise)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn support(&self) -> Support {
        Support::Real
    }

    /// `loc`.
    fn mean(&self, device: &Device) -> Tensor<2> {
        self.params.loc.to_tensor_as(device, [self.rows, self.cols])
    }

    /// `scale^2 pi^2 / 3`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        let pi = std::f64::consts::PI;
        self.params
            .scale
            .to_tensor_as(device, [self.rows, self.cols])
            .square()
            .mul_scalar(pi * pi / 3.0)
    }
}
