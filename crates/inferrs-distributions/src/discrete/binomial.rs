//! Independent binomial counts.

use burn::tensor::{Device, Tensor};
use rand_distr::Distribution as _;

use super::{not_count, xlogy};
use crate::param::HostParam;
use crate::shared::{
    assert_rows, batch_shape, expand_to, expand_value, host_tensor, sum_event_masked,
};
use crate::special::lgamma;
use crate::{DistError, Distribution, Probs, Rng, Support};

const NAME: &str = "Binomial";

logits_or_probs_family! {
    /// Independent binomial counts, one per element of a value `[rows, event]`: the number of
    /// successes in `total_count` trials with success probability `p = sigmoid(logits)` or given
    /// as probabilities (TFP's `Binomial(total_count, logits, probs)`):
    ///
    /// `P(k) = C(n, k) p^k (1 - p)^(n - k)`, `k = 0, ..., n`, `n = total_count`.
    ///
    /// The log mass is `lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) + k log(p) +
    /// (n - k) log(1 - p)`, with `0 log(0) = 0`; a value that is negative, not a whole number or
    /// above `n` has log mass `-inf`. It is differentiable in tensor logits or probabilities and
    /// in a tensor `total_count`. `lgamma` is computed in `f32`, so the absolute error of the log
    /// mass grows like `1e-7 n ln n` (about `1e-4` at `n = 100`).
    ///
    /// Not reparameterised: [`sample`](Distribution::sample) draws on the host and is detached.
    pub struct Binomial(NAME) { total_count where |n| n >= 0.0 && n.is_finite() && n.fract() == 0.0, "must be a non-negative whole number" }

    /// Builds a binomial distribution from the number of trials and logits.
    ///
    /// # Arguments
    ///
    /// * `total_count` - number of trials `n`; a constant must be a non-negative whole number.
    ///   Tensors are not checked (sampling gives NaN where they are not such numbers).
    /// * `logits` - log-odds of success; a constant must be finite.
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

    /// Builds a binomial distribution from the number of trials and success probabilities.
    ///
    /// # Arguments
    ///
    /// * `total_count` - as in [`Binomial::new`].
    /// * `probs` - success probabilities; a constant must lie in `[0, 1]`.
    ///
    /// # Shapes
    ///
    /// As [`Binomial::new`].
    ///
    /// # Errors
    ///
    /// As [`Binomial::new`].
    pub fn from_probs where |p| (0.0..=1.0).contains(&p), "must lie in [0, 1]";

    /// The number of trials.
    pub fn total_count;
}

impl Distribution for Binomial {
    batch_shape!(NAME);

    /// `sum_cols(ln C(n, k) + k log(p) + (n - k) log(1 - p))`; `-inf` where `k` is not in
    /// `{0, ..., n}`.
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let device = value.device();
        let k = expand_value(NAME, value, self.rows, self.cols);
        let shape = k.dims();
        let n = self.total_count.to_tensor_as(&device, shape);
        let invalid = not_count(&k).bool_or(k.clone().greater(n.clone()));
        let k = k.mask_fill(invalid.clone(), 0.0);
        let rest = n.clone() - k.clone();
        let log_choose = lgamma(n.add_scalar(1.0))
            - lgamma(k.clone().add_scalar(1.0))
            - lgamma(rest.clone().add_scalar(1.0));
        let (log_p, log_q) = self.odds.log_pq(&device, shape);
        let lp = log_choose + xlogy(k, log_p) + xlogy(rest, log_q);
        sum_event_masked(lp, invalid)
    }

    /// One `rand_distr::Binomial` draw per element; NaN where a tensor `total_count` is not a
    /// non-negative whole number or a tensor probability lies outside `[0, 1]`.
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(NAME, self.rows, rows);
        let n = HostParam::new(&self.total_count);
        let p = self.odds.host_p();
        host_tensor(rows, self.cols, device, |r, c| {
            let n = n.get(r, c);
            if !(n >= 0.0 && n.fract() == 0.0 && n < u64::MAX as f64) {
                return f64::NAN;
            }
            match rand_distr::Binomial::new(n as u64, p.get(r, c)) {
                Ok(d) => d.sample(rng) as f64,
                Err(_) => f64::NAN,
            }
        })
    }

    fn has_rsample(&self) -> bool {
        false
    }

    /// `IntegerInterval { 0, n }` when `total_count` is a constant with one value (a scalar, or
    /// a vector of equal values); `Dependent` otherwise.
    fn support(&self) -> Support {
        match self.total_count.constants() {
            Some([first, rest @ ..]) if rest.iter().all(|n| n == first) => {
                Support::IntegerInterval {
                    low: 0,
                    high: *first as i64,
                }
            }
            _ => Support::Dependent,
        }
    }

    /// `n p`.
    fn mean(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        self.total_count.to_tensor_as(device, shape)
            * expand_to(self.odds.log_p(device).exp(), shape)
    }

    /// `n p (1 - p)`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        let pq = (self.odds.log_p(device) + self.odds.log_q(device)).exp();
        self.total_count.to_tensor_as(device, shape) * expand_to(pq, shape)
    }
}
