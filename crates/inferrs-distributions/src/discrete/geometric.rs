//! Independent geometric counts (failures before the first success).

use burn::tensor::{Device, Tensor};
use rand::Rng as _;

use super::{counts, xlogy};
use crate::shared::{assert_rows, host_tensor, sum_event_masked};
use crate::{DistError, Distribution, Probs, Rng, Support};

const NAME: &str = "Geometric";

logits_or_probs_family! {
    /// Independent geometric counts, one per element of a value `[rows, event]`: the number of
    /// failures before the first success in Bernoulli trials with success probability
    /// `p = sigmoid(logits)` or given as probabilities (TFP's `Geometric(logits, probs)`):
    ///
    /// `P(k) = (1 - p)^k p`, `k = 0, 1, 2, ...`
    ///
    /// The log mass is `k log(1 - p) + log(p)`, with `0 log(0) = 0` (so `Probs(1.0)` gives 0 at
    /// 0); a value that is negative or not a whole number has log mass `-inf`. Mean `(1 - p) / p`,
    /// variance `(1 - p) / p^2`.
    ///
    /// Not reparameterised: [`sample`](Distribution::sample) draws on the host and is detached.
    pub struct Geometric(NAME);

    /// Builds a geometric distribution from logits, `p = sigmoid(logits)`.
    ///
    /// # Arguments
    ///
    /// * `logits` - log-odds of success; a constant must be finite.
    ///
    /// # Shapes
    ///
    /// * `logits`: `[rows, cols]` (a constant: `[1, 1]` or `[1, K]`).
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with a non-finite constant.
    /// * [`DistError::Shape`] for an empty vector.
    pub fn new;

    /// Builds a geometric distribution from success probabilities.
    ///
    /// # Arguments
    ///
    /// * `probs` - success probabilities; a constant must lie in `(0, 1]` (with `p = 0` no
    ///   success ever comes). Tensors are not checked.
    ///
    /// # Shapes
    ///
    /// * `probs`: `[rows, cols]` (a constant: `[1, 1]` or `[1, K]`).
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with a constant outside `(0, 1]` (or NaN).
    /// * [`DistError::Shape`] for an empty vector.
    pub fn from_probs where |p| p > 0.0 && p <= 1.0, "must lie in (0, 1]";
}

impl Distribution for Geometric {
    fn name(&self) -> &'static str {
        NAME
    }

    fn event_size(&self) -> usize {
        self.odds.param().cols()
    }

    fn batch_rows(&self) -> usize {
        self.odds.param().rows()
    }

    /// `sum_cols(k log(1 - p) + log(p))`; `-inf` where `k` is not a count.
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let device = value.device();
        let [rows, cols] = self.odds.param().shape();
        let (k, invalid) = counts(NAME, value, rows, cols);
        let (log_p, log_q) = self.odds.log_pq(&device, k.dims());
        sum_event_masked(xlogy(k, log_q) + log_p, invalid)
    }

    /// One draw per element by inversion of the CDF (`floor(ln U / ln(1 - p))`); NaN where a tensor probability lies
    /// outside `(0, 1]` (or `p` rounds to 0 in f64, logits below about -745).
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(NAME, self.batch_rows(), rows);
        let p = self.odds.host_p();
        host_tensor(rows, self.event_size(), device, |r, c| {
            let p = p.get(r, c);
            // `rand_distr` accepts p = 0 (and returns u64::MAX); here it is out of range.
            if p <= 0.0 {
                return f64::NAN;
            }
            if p.is_nan() || p > 1.0 {
                return f64::NAN;
            }
            // Inversion, `floor(ln U / ln(1 - p))`: P(K >= k) = (1 - p)^k exactly. Unlike
            // `rand_distr::Geometric`, whose time grows without bound as p -> 0 (a logit of
            // -60 did not return in a minute), it costs one uniform draw for every p.
            let u: f64 = rng.sample(rand_distr::Open01);
            (u.ln() / (-p).ln_1p()).floor()
        })
    }

    fn has_rsample(&self) -> bool {
        false
    }

    fn support(&self) -> Support {
        Support::NonNegativeInteger
    }

    /// `(1 - p) / p`, computed as `exp(log(1 - p) - log(p))` (`exp(-logits)` for logits).
    fn mean(&self, device: &Device) -> Tensor<2> {
        (self.odds.log_q(device) - self.odds.log_p(device)).exp()
    }

    /// `(1 - p) / p^2`, computed as `exp(log(1 - p) - 2 log(p))`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        (self.odds.log_q(device) - self.odds.log_p(device).mul_scalar(2.0)).exp()
    }
}
