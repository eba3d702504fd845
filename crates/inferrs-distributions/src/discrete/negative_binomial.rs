//! Independent negative binomial counts (TFP's convention).

use burn::tensor::{Device, Tensor};
use rand_distr::Distribution as _;

use super::{counts, poisson_draw, xlogy};
use crate::param::{HostParam, positive_finite};
use crate::shared::{assert_rows, batch_shape, expand_to, host_tensor, sum_event_masked};
use crate::special::lgamma;
use crate::{DistError, Distribution, Probs, Rng, Support};

const NAME: &str = "NegativeBinomial";

logits_or_probs_family! {
    /// Independent negative binomial counts, one per element of a value `[rows, event]`, in
    /// TensorFlow Probability's convention (`NegativeBinomial(total_count, logits, probs)`): the
    /// number of successes `k` before the `f`-th failure in Bernoulli trials with success
    /// probability `p = sigmoid(logits)` or given as probabilities, `f = total_count`:
    ///
    /// `P(k) = Gamma(k + f) / (k! Gamma(f)) p^k (1 - p)^f`, `k = 0, 1, 2, ...`
    ///
    /// Mean `f p / (1 - p)` (`f exp(logits)`), variance `f p / (1 - p)^2`. Note that `p` is the
    /// probability of the counted outcome: other libraries (statrs, scipy's `nbinom`, Wikipedia's
    /// first form) count failures before the `f`-th success and name the other probability `p`.
    /// As in TFP, `f` may be any positive real number (a Gamma-Poisson mixture).
    ///
    /// The log mass is `lgamma(k + f) - lgamma(k + 1) - lgamma(f) + k log(p) + f log(1 - p)`, with
    /// `0 log(0) = 0`; a value that is negative or not a whole number has log mass `-inf`. It is
    /// differentiable in tensor logits or probabilities and in a tensor `total_count`.
    ///
    /// Not reparameterised: [`sample`](Distribution::sample) draws on the host and is detached.
    pub struct NegativeBinomial(NAME) { total_count where positive_finite, "must be positive and finite" }

    /// Builds a negative binomial distribution from the number of failures and logits.
    ///
    /// # Arguments
    ///
    /// * `total_count` - the number of failures `f` that stops the trials; a constant must be
    ///   positive and finite (whole numbers are the usual case; any positive value is valid).
    ///   Tensors are not checked.
    /// * `logits` - log-odds of success (the counted outcome); a constant must be finite.
    ///
    /// # Shapes
    ///
    /// * `total_count`: `[r1, c1]`, `logits`: `[r2, c2]`, broadcastable (equal or 1 in each
    ///   dimension).
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with the offending constant.
    /// * [`DistError::Shape`] when the shapes do not broadcast or a vector is empty.
    pub fn new;

    /// Builds a negative binomial distribution from the number of failures and success
    /// probabilities.
    ///
    /// # Arguments
    ///
    /// * `total_count` - as in [`NegativeBinomial::new`].
    /// * `probs` - success probabilities; a constant must lie in `[0, 1)` (with `p = 1` the
    ///   trials never stop).
    ///
    /// # Shapes
    ///
    /// As [`NegativeBinomial::new`].
    ///
    /// # Errors
    ///
    /// As [`NegativeBinomial::new`].
    pub fn from_probs where |p| (0.0..1.0).contains(&p), "must lie in [0, 1)";

    /// The number of failures that stops the trials.
    pub fn total_count;
}

impl Distribution for NegativeBinomial {
    batch_shape!(NAME);

    /// `sum_cols(lgamma(k + f) - lgamma(k + 1) - lgamma(f) + k log(p) + f log(1 - p))`;
    /// `-inf` where `k` is not a count.
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let device = value.device();
        let (k, invalid) = counts(NAME, value, self.rows, self.cols);
        let shape = k.dims();
        let f = self.total_count.to_tensor_as(&device, shape);
        let log_coef =
            lgamma(k.clone() + f.clone()) - lgamma(k.clone().add_scalar(1.0)) - lgamma(f.clone());
        let (log_p, log_q) = self.odds.log_pq(&device, shape);
        let lp = log_coef + xlogy(k, log_p) + xlogy(f, log_q);
        sum_event_masked(lp, invalid)
    }

    /// Per element, the Gamma-Poisson mixture: `rate ~ Gamma(shape = f, scale = p / (1 - p))`
    /// then `k ~ Poisson(rate)`, both from `rand_distr` (0 where `p = 0`); NaN where tensor
    /// parameters are out of range or the rate exceeds `rand_distr::Poisson::MAX_LAMBDA`.
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(NAME, self.rows, rows);
        let f = HostParam::new(&self.total_count);
        let odds = self.odds.host_odds();
        host_tensor(rows, self.cols, device, |r, c| {
            let odds = odds.get(r, c);
            if odds == 0.0 {
                return 0.0;
            }
            let Ok(gamma) = rand_distr::Gamma::new(f.get(r, c), odds) else {
                return f64::NAN;
            };
            poisson_draw(gamma.sample(rng), rng)
        })
    }

    fn has_rsample(&self) -> bool {
        false
    }

    fn support(&self) -> Support {
        Support::NonNegativeInteger
    }

    /// `f p / (1 - p)`, computed as `f exp(log(p) - log(1 - p))`.
    fn mean(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        let odds = (self.odds.log_p(device) - self.odds.log_q(device)).exp();
        self.total_count.to_tensor_as(device, shape) * expand_to(odds, shape)
    }

    /// `f p / (1 - p)^2`, computed as `f exp(log(p) - 2 log(1 - p))`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        let ratio = (self.odds.log_p(device) - self.odds.log_q(device).mul_scalar(2.0)).exp();
        self.total_count.to_tensor_as(device, shape) * expand_to(ratio, shape)
    }
}
