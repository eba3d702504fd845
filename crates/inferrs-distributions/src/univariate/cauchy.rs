//! Cauchy distributions.

use burn::tensor::{Device, Tensor};
use rand_distr::Distribution as _;

use crate::shared::{assert_rows, batch_shape, expand_value, host_noise, sub_ln_param, sum_event};
use crate::{DistError, Distribution, Rng, Support};

const NAME: &str = "Cauchy";

loc_scale_family! {
    /// Independent Cauchy distributions, one per element of a value `[rows, event]`:
    /// density `1 / (pi scale (1 + z^2))`, `z = (x - loc) / scale`.
    ///
    /// The mean and variance do not exist: [`Distribution::mean`] and
    /// [`Distribution::variance`] are NaN. Sampling is reparameterised: `loc + scale * c` with a
    /// standard Cauchy `c` drawn on the host (`rand_distr::Cauchy`).
    pub struct Cauchy(NAME);

    /// Builds a Cauchy distribution (TensorFlow Probability's `Cauchy(loc, scale)`).
    ///
    /// # Arguments
    ///
    /// * `loc` - the median; a constant must be finite.
    /// * `scale` - the half width at half maximum; a constant must be positive and finite.
    ///   Tensors are not checked (keep them positive, e.g. with `softplus`).
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

    /// The median.
    pub fn loc;

    /// The scale (half width at half maximum).
    pub fn scale;
}

impl Cauchy {
    /// [`Distribution::log_prob`] in composed burn ops: the reference the fused kernel is
    /// tested against, and the path of other backends.
    ///
    /// * `value`: `[rows, cols]`, broadcast with the parameters; returns `[rows]`.
    pub fn log_prob_composed(&self, value: Tensor<2>) -> Tensor<1> {
        let value = expand_value(NAME, value, self.rows, self.cols);
        let z = self.params.standardize(value);
        let lp = sub_ln_param(z.square().log1p().neg(), &self.params.scale)
            .sub_scalar(std::f64::consts::PI.ln());
        sum_event(lp)
    }
}

impl Distribution for Cauchy {
    batch_shape!(NAME);

    /// `sum_cols(-ln(pi) - ln(scale) - log1p(z^2))`, `z = (value - loc) / scale`. On burn's
    /// `flex` backend one fused op (one autodiff node, analytic gradients: the Student's t
    /// kernel at `df = 1`, `inferrs-kernels/src/density.rs`); otherwise
    /// [`Cauchy::log_prob_composed`].
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let device = value.device();
        if crate::fused_kernels_available(&device) {
            let loc = self.params.loc.to_tensor(&device);
            let scale = self.params.scale.to_tensor(&device);
            let norm = -std::f64::consts::PI.ln();
            if let Some(lp) = inferrs_kernels::student_t_log_prob(&value, &loc, &scale, 1.0, norm) {
                return lp;
            }
        }
        self.log_prob_composed(value)
    }

    /// `loc + scale * c`, `c ~ Cauchy(0, 1)` drawn on the host (row-major).
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(NAME, self.rows, rows);
        let standard = rand_distr::Cauchy::new(0.0, 1.0).expect("standard Cauchy");
        let noise = host_noise(rows, self.cols, device, rng, |rng| standard.sample(rng));
        self.params.affine(noise)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn support(&self) -> Support {
        Support::Real
    }

    /// NaN: a Cauchy distribution has no mean.
    fn mean(&self, device: &Device) -> Tensor<2> {
        Tensor::<2>::full([self.rows, self.cols], f32::NAN, device)
    }

    /// NaN: a Cauchy distribution has no variance.
    fn variance(&self, device: &Device) -> Tensor<2> {
        Tensor::<2>::full([self.rows, self.cols], f32::NAN, device)
    }
}
