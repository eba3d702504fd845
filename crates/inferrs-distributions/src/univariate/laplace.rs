//! Laplace distributions.

use burn::tensor::{Device, Tensor};
use rand_distr::{Distribution as _, Exp1};

use crate::shared::{assert_rows, batch_shape, expand_value, host_noise, sub_ln_param, sum_event};
use crate::{DistError, Distribution, Rng, Support};

const NAME: &str = "Laplace";

loc_scale_family! {
    /// Independent Laplace (double exponential) distributions, one per element of a value
    /// `[rows, event]`: density `exp(-|x - loc| / scale) / (2 scale)`.
    ///
    /// Mean `loc`, variance `2 scale^2`. Sampling is reparameterised: `loc + scale * (e1 - e2)`
    /// with `e1, e2 ~ Exp(1)` drawn on the host (their difference is a standard Laplace).
    pub struct Laplace(NAME);

    /// Builds a Laplace distribution (TensorFlow Probability's `Laplace(loc, scale)`).
    ///
    /// # Arguments
    ///
    /// * `loc` - the mean (and median); a constant must be finite.
    /// * `scale` - the diversity; a constant must be positive and finite. Tensors are not
    ///   checked (keep them positive, e.g. with `softplus`).
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

    /// The scale (diversity).
    pub fn scale;
}

impl Distribution for Laplace {
    batch_shape!(NAME);

    /// `sum_cols(-|z| - ln(scale) - ln 2)`, `z = (value - loc) / scale`.
    ///
    /// At `value == loc` the gradient with respect to `value` and `loc` is 0 (the
    /// subgradient that burn's `abs` takes).
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let value = expand_value(NAME, value, self.rows, self.cols);
        let z = self.params.standardize(value);
        let lp = sub_ln_param(z.abs().neg(), &self.params.scale).sub_scalar(std::f64::consts::LN_2);
        sum_event(lp)
    }

    /// `loc + scale * (e1 - e2)`, `e1, e2 ~ Exp(1)` drawn on the host (row-major, `e1` first).
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(NAME, self.rows, rows);
        let noise = host_noise(rows, self.cols, device, rng, |rng| {
            let e1: f64 = Exp1.sample(rng);
            let e2: f64 = Exp1.sample(rng);
            e1 - e2
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

    /// `2 scale^2`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        self.params
            .scale
            .to_tensor_as(device, [self.rows, self.cols])
            .square()
            .mul_scalar(2.0)
    }
}
