//! Independent Poisson counts.

use burn::tensor::{Device, Tensor};

use super::{counts, poisson_draw, safe_log, xlogy};
use crate::param::{HostParam, check_param};
use crate::shared::{assert_rows, expand_to, host_tensor, map_param, sum_event_masked};
use crate::special::lgamma;
use crate::{DistError, Distribution, FromArgs, Param, Rng, Support};

const NAME: &str = "Poisson";

/// Independent Poisson counts, one per element of a value `[rows, event]` (TFP's
/// `Poisson(rate)`):
///
/// `P(k) = rate^k exp(-rate) / k!`, `k = 0, 1, 2, ...`
///
/// The log mass is `k log(rate) - rate - lgamma(k + 1)`, with `0 log(0) = 0` (a rate of 0 puts
/// all its mass on 0); a value that is negative or not a whole number has log mass `-inf`. It
/// is differentiable in a tensor `rate`. The event size is the rate's number of columns.
///
/// Not reparameterised: [`sample`](Distribution::sample) draws on the host and is detached.
#[derive(Clone, Debug)]
pub struct Poisson {
    rate: Param,
}

impl Poisson {
    /// Builds a Poisson distribution.
    ///
    /// # Arguments
    ///
    /// * `rate` - the mean; a constant must be non-negative and finite (as TFP, 0 is allowed).
    ///   Tensors are not checked (keep them positive, e.g. with `exp` or `softplus`).
    ///
    /// # Shapes
    ///
    /// * `rate`: `[rows, cols]` (a constant: `[1, 1]` or `[1, K]`).
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with a negative or non-finite constant.
    /// * [`DistError::Shape`] for an empty vector.
    pub fn new(rate: impl Into<Param>) -> Result<Self, DistError> {
        let rate = rate.into();
        check_param(
            NAME,
            "rate",
            &rate,
            |r| r >= 0.0 && r.is_finite(),
            "must be non-negative and finite",
        )?;
        Ok(Self { rate })
    }

    /// The rate (mean) parameter.
    pub fn rate(&self) -> &Param {
        &self.rate
    }

    /// `log(rate)` in the rate's own shape (`-inf` at 0).
    fn log_rate(&self, device: &Device) -> Tensor<2> {
        map_param(&self.rate, device, f64::ln, safe_log)
    }
}

impl Poisson {
    /// [`Distribution::log_prob`] in composed burn ops: the reference the fused kernel is
    /// tested against, and the version used for constant rates and backends other than
    /// flex.
    ///
    /// # Shapes
    ///
    /// * `value`: `[rows, cols]`, broadcast with the rate; returns `[rows]`.
    pub fn log_prob_composed(&self, value: Tensor<2>) -> Tensor<1> {
        let device = value.device();
        let [rows, cols] = self.rate.shape();
        let (k, invalid) = counts(NAME, value, rows, cols);
        let shape = k.dims();
        let log_rate = expand_to(self.log_rate(&device), shape);
        let rate = self.rate.to_tensor_as(&device, shape);
        let lp = xlogy(k.clone(), log_rate) - rate - lgamma(k.add_scalar(1.0));
        sum_event_masked(lp, invalid)
    }
}

impl Distribution for Poisson {
    fn name(&self) -> &'static str {
        NAME
    }

    fn event_size(&self) -> usize {
        self.rate.cols()
    }

    fn batch_rows(&self) -> usize {
        self.rate.rows()
    }

    /// `sum_cols(k log(rate) - rate - lgamma(k + 1))`; `-inf` where `k` is not a count.
    ///
    /// For a tensor rate on burn's `flex` backend one fused op (one autodiff node with the
    /// analytic gradient `k / rate - 1`, `inferrs-kernels/src/density.rs`), in place of about twenty;
    /// otherwise [`Poisson::log_prob_composed`].
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        if let Param::Tensor(rate) = &self.rate
            && let Some(lp) = inferrs_kernels::poisson_log_prob(&value, rate)
        {
            return lp;
        }
        self.log_prob_composed(value)
    }

    fn constant_parameters(&self) -> bool {
        self.rate.is_constant()
    }

    /// One `rand_distr::Poisson` draw per element (0 for a rate of 0); NaN where a tensor rate
    /// is negative, not finite or above `rand_distr::Poisson::MAX_LAMBDA` (`1.8e19`).
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(NAME, self.batch_rows(), rows);
        let rate = HostParam::new(&self.rate);
        host_tensor(rows, self.event_size(), device, |r, c| {
            poisson_draw(rate.get(r, c), rng)
        })
    }

    fn has_rsample(&self) -> bool {
        false
    }

    fn support(&self) -> Support {
        Support::NonNegativeInteger
    }

    /// `rate`.
    fn mean(&self, device: &Device) -> Tensor<2> {
        self.rate.to_tensor(device)
    }

    /// `rate`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        self.rate.to_tensor(device)
    }
}

impl<R: Into<Param>> FromArgs<(R,)> for Poisson {
    /// `Poisson(rate)`, also a network's output `Poisson(nn(x))`.
    fn from_args((rate,): (R,)) -> Result<Self, DistError> {
        Poisson::new(rate)
    }
}
