//! Probability distributions over [burn](https://burn.dev) tensors for **inferrs**.
//!
//! Every distribution works on batches of rows: a value has shape `[rows, event]`, its log
//! density has shape `[rows]` (summed over the event), and parameters are [`Param`]s that are
//! either host constants (validated when the distribution is built) or tensors `[rows, cols]`
//! (one row broadcasts over all rows). Log densities are differentiable in the value and in
//! tensor parameters on an autodiff device.
//!
//! * [`Normal`]: independent Gaussians, reparameterised sampling.
//! * [`MixtureGaussian`]: a mixture of `K` univariate Gaussians per row (a mixture density
//!   network output), evaluated with a stable log-sum-exp.
//!
//! Sampling draws its noise on the host from a caller-seeded [`Rng`], so a seed gives
//! bit-identical samples on every backend, and moves it to the requested device.
//!
//! ```
//! use burn::tensor::{Device, Tensor, TensorData};
//! use inferrs_distributions::{Distribution, Normal};
//!
//! let device = Device::flex();
//! let normal = Normal::new(0.0, 2.0).unwrap();
//! let value = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 2.0], [2, 1]), &device);
//! let log_prob = normal.log_prob(value); // [2]
//! assert_eq!(log_prob.dims(), [2]);
//! ```

mod bijector;
mod data_init;
mod deterministic;
mod discrete;
mod error;
mod gamma;
mod kl;
mod math;
mod mixture;
mod mixture_source;
mod multivariate;
mod normal;
mod param;
mod reparam;
mod shared;
mod special;
mod support;
mod univariate;

pub use bijector::Bijector;
pub use data_init::ParamInit;
pub use deterministic::Deterministic;
pub use discrete::{Bernoulli, Binomial, Categorical, Geometric, NegativeBinomial, Poisson};
pub use error::DistError;
pub use gamma::{Beta, Dirichlet, Gamma, InverseGamma};
pub use inferrs_kernels::{fused_kernels_available, softplus_with_floor};
pub use kl::{AsAny, Kl, kl_divergence};
pub use math::logsumexp;
pub use mixture::{MixtureGaussian, MixtureParams, Probs};
pub use mixture_source::MixtureSource;
pub use multivariate::{MultivariateNormalDiag, MultivariateNormalTriL, ScaleTril};
pub use normal::Normal;
pub use param::Param;
pub use reparam::{normal_draw_through, normal_draw_through_composed};
pub use support::Support;
pub use univariate::{
    Cauchy, Exponential, HalfCauchy, HalfNormal, HalfStudentT, Laplace, LogNormal, Logistic,
    StudentT, Uniform,
};

use burn::tensor::{Device, Tensor};

/// The random number generator used by every `sample`: seeded by the caller, so a seed
/// reproduces the same draws bit for bit.
pub type Rng = rand::rngs::StdRng;

/// A batch of probability distributions over rows of values.
pub trait Distribution: std::fmt::Debug + AsAny {
    /// Name of the family, e.g. `"Normal"`.
    fn name(&self) -> &'static str;

    /// Columns of one value.
    ///
    /// # Returns
    ///
    /// For [`Normal`] the broadcast columns of its parameters (usually 1); for
    /// [`MixtureGaussian`] 1.
    fn event_size(&self) -> usize;

    /// Rows implied by the parameters (1 when every parameter broadcasts over rows).
    fn batch_rows(&self) -> usize;

    /// Log density of `value`, summed over the event.
    ///
    /// Differentiable with respect to `value` and to tensor parameters. Constant parameters are
    /// created on `value`'s device.
    ///
    /// # Arguments
    ///
    /// * `value` - the points to evaluate; its rows broadcast with [`batch_rows`].
    ///
    /// # Shapes
    ///
    /// * `value`: `[rows, event]`
    /// * returns: `[rows]` (`rows` broadcast with [`batch_rows`])
    ///
    /// # Panics
    ///
    /// When `value`'s shape does not broadcast with the parameters; check it first with
    /// [`check_value`](Distribution::check_value) when it comes from user input.
    ///
    /// [`batch_rows`]: Distribution::batch_rows
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1>;

    /// One draw per row.
    ///
    /// The noise is drawn on the host from `rng` (bit-reproducible for a seed) and moved to
    /// `device`.
    ///
    /// # Arguments
    ///
    /// * `rows` - number of draws; must equal [`batch_rows`] unless [`batch_rows`] is 1.
    /// * `device` - where the sample is created.
    /// * `rng` - the caller's seeded generator.
    ///
    /// # Shapes
    ///
    /// * returns: `[rows, event]`
    ///
    /// # Panics
    ///
    /// When `rows` differs from a [`batch_rows`] other than 1 (see
    /// [`check_rows`](Distribution::check_rows)).
    ///
    /// [`batch_rows`]: Distribution::batch_rows
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2>;

    /// True when [`sample`](Distribution::sample) is reparameterised (differentiable with
    /// respect to tensor parameters).
    fn has_rsample(&self) -> bool;

    /// Whether every parameter is a host constant ([`Param::Scalar`] or [`Param::Vector`]),
    /// so that the log density of a constant value is the same at every step of a fit (which
    /// then computes it once). Families that do not say return `false` (scored every step).
    fn constant_parameters(&self) -> bool {
        false
    }

    /// The set of values with positive density.
    fn support(&self) -> Support;

    /// The mean, per row and event element.
    ///
    /// Differentiable in tensor parameters. Where the mean does not exist (a Cauchy, a
    /// Student t with `df <= 1`) the entries are NaN; where it is infinite (a half-Cauchy, a
    /// half-Student t with `df <= 1`) they are `inf`.
    ///
    /// # Shapes
    ///
    /// * returns: `[batch_rows, event]`
    fn mean(&self, device: &Device) -> Tensor<2>;

    /// The variance, per row and event element (the diagonal of the covariance for
    /// multivariate distributions).
    ///
    /// Differentiable in tensor parameters. Where it does not exist (a Cauchy) the entries are
    /// NaN; where it is infinite (a Student t with `1 < df <= 2`) they are `inf`.
    ///
    /// # Shapes
    ///
    /// * returns: `[batch_rows, event]`
    fn variance(&self, device: &Device) -> Tensor<2>;

    /// Checks that a value of shape `[rows, cols]` can be passed to
    /// [`log_prob`](Distribution::log_prob).
    ///
    /// # Arguments
    ///
    /// * `shape` - the value's `[rows, cols]`.
    ///
    /// # Errors
    ///
    /// [`DistError::Shape`] when the rows do not broadcast with
    /// [`batch_rows`](Distribution::batch_rows) or the columns with
    /// [`event_size`](Distribution::event_size).
    fn check_value(&self, shape: [usize; 2]) -> Result<(), DistError> {
        let [rows, cols] = shape;
        if param::broadcast_dim(self.batch_rows(), rows).is_none()
            || param::broadcast_dim(self.event_size(), cols).is_none()
        {
            return Err(DistError::Shape {
                dist: self.name(),
                detail: format!(
                    "value of shape [{rows}, {cols}] does not broadcast with parameters of \
                     shape [{}, {}]",
                    self.batch_rows(),
                    self.event_size()
                ),
            });
        }
        Ok(())
    }

    /// Starting values, chosen from the observed `value`, for the parameters of the burn
    /// modules this distribution's parameters were computed by. A fit asks an observed site
    /// once, before its first step, when the model's networks are freshly initialised, and
    /// writes the values in ([`ParamInit`]). None by default; a [`MixtureGaussian`]
    /// whose parameters a network left unevaluated ([`MixtureSource`]) gives the network's
    /// (`inferrs::nn::MixtureNet` places its components at quantiles of `value`).
    ///
    /// # Shapes
    ///
    /// * `value`: `[rows, event]`, as for [`log_prob`](Distribution::log_prob).
    fn data_init(&self, value: &Tensor<2>) -> Vec<ParamInit> {
        let _ = value;
        Vec::new()
    }

    /// Checks that `rows` draws can be requested from [`sample`](Distribution::sample).
    ///
    /// # Errors
    ///
    /// [`DistError::Shape`] when `rows` differs from a
    /// [`batch_rows`](Distribution::batch_rows) other than 1.
    fn check_rows(&self, rows: usize) -> Result<(), DistError> {
        let batch = self.batch_rows();
        if batch != 1 && batch != rows {
            return Err(DistError::Shape {
                dist: self.name(),
                detail: format!("cannot draw {rows} rows from parameters with {batch} rows"),
            });
        }
        Ok(())
    }
}

/// How the `datamodel!` macro builds a distribution from the arguments written in
/// `Dist(a, b, ...)`: it expands to `<Dist as FromArgs<_>>::from_args((a, b, ...,))`.
///
/// Implemented for [`Normal`] with `(loc, scale)` and for [`MixtureGaussian`] with
/// `(locs, scales, logits)`, `(locs, scales, Probs(probs))`, those triples wrapped in a
/// 1-tuple, and a 1-tuple of [`MixtureParams`] (a network's output, `MixtureGaussian(nn(x))`).
pub trait FromArgs<A>: Sized {
    /// Builds the distribution.
    ///
    /// # Arguments
    ///
    /// * `args` - the tuple of arguments written in the model.
    ///
    /// # Errors
    ///
    /// The constructor's [`DistError`] for invalid constants or incompatible shapes.
    fn from_args(args: A) -> Result<Self, DistError>;
}
