//! Independent Bernoulli variables.

use burn::tensor::activation::log_sigmoid;
use burn::tensor::{Device, Tensor};
use rand_distr::Distribution as _;

use super::xlogy;
use crate::param::Param;
use crate::shared::{assert_rows, expand_to, host_tensor, restrict, sum_event_masked};
use crate::{DistError, Distribution, Probs, Rng, Support};

const NAME: &str = "Bernoulli";

logits_or_probs_family! {
    /// Independent Bernoulli variables, one per element of a value `[rows, event]`:
    /// `P(x = 1) = p`, `P(x = 0) = 1 - p`, with `p = sigmoid(logits)` or given as probabilities
    /// (TFP's `Bernoulli(logits, probs)`).
    ///
    /// The log mass is `x log(p) + (1 - x) log(1 - p)`, with `log(p) = log_sigmoid(logits)` and
    /// `log(1 - p) = log_sigmoid(-logits)` for logits (finite for every finite logit), and
    /// `0 log(0) = 0` for probabilities (so `Probs(1.0)` gives 0 at 1 and `-inf` at 0). A value
    /// other than 0 or 1 has log mass `-inf`. The event size is the parameter's number of columns.
    ///
    /// Not reparameterised: [`sample`](Distribution::sample) draws on the host and is detached.
    pub struct Bernoulli(NAME);

    /// Builds a Bernoulli distribution from logits, `p = sigmoid(logits)`.
    ///
    /// # Arguments
    ///
    /// * `logits` - log-odds `log(p / (1 - p))`; a constant must be finite.
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

    /// Builds a Bernoulli distribution from probabilities `p = P(x = 1)`.
    ///
    /// # Arguments
    ///
    /// * `probs` - probabilities; a constant must lie in `[0, 1]`. Tensors are not checked.
    ///
    /// # Shapes
    ///
    /// * `probs`: `[rows, cols]` (a constant: `[1, 1]` or `[1, K]`).
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with a constant outside `[0, 1]` (or NaN).
    /// * [`DistError::Shape`] for an empty vector.
    pub fn from_probs where |p| (0.0..=1.0).contains(&p), "must lie in [0, 1]";
}

impl Distribution for Bernoulli {
    fn name(&self) -> &'static str {
        NAME
    }

    fn event_size(&self) -> usize {
        self.odds.param().cols()
    }

    fn batch_rows(&self) -> usize {
        self.odds.param().rows()
    }

    /// `sum_cols(x log(p) + (1 - x) log(1 - p))`; `-inf` where `x` is not 0 or 1.
    ///
    /// For tensor logits on burn's `flex` backend one fused op (one autodiff node with the
    /// analytic gradient `x - sigmoid(logits)`, `inferrs-kernels/src/density.rs`); otherwise
    /// [`Bernoulli::log_prob_composed`].
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        if let Some(Param::Tensor(l)) = self.odds.as_logits()
            && let Some(lp) = inferrs_kernels::bernoulli_logits_log_prob(&value, l)
        {
            return lp;
        }
        self.log_prob_composed(value)
    }

    /// One `rand_distr::Bernoulli` draw per element (0.0 or 1.0); a tensor probability
    /// outside `[0, 1]` gives NaN.
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(NAME, self.batch_rows(), rows);
        let p = self.odds.host_p();
        host_tensor(
            rows,
            self.event_size(),
            device,
            |r, c| match rand_distr::Bernoulli::new(p.get(r, c)) {
                Ok(d) => f64::from(u8::from(d.sample(rng))),
                Err(_) => f64::NAN,
            },
        )
    }

    fn has_rsample(&self) -> bool {
        false
    }

    fn support(&self) -> Support {
        Support::Boolean
    }

    /// `p`.
    fn mean(&self, device: &Device) -> Tensor<2> {
        self.odds.log_p(device).exp()
    }

    /// `p (1 - p)`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        (self.odds.log_p(device) + self.odds.log_q(device)).exp()
    }
}

impl Bernoulli {
    /// [`Distribution::log_prob`] in composed burn ops: the reference the fused kernel is
    /// tested against, and the version used for probabilities, constants and backends other
    /// than flex.
    ///
    /// # Shapes
    ///
    /// * `value`: `[rows, cols]`, broadcast with the parameter; returns `[rows]`.
    pub fn log_prob_composed(&self, value: Tensor<2>) -> Tensor<1> {
        let device = value.device();
        let [rows, cols] = self.odds.param().shape();
        let not_binary = |x: Tensor<2>| {
            x.clone()
                .equal_elem(0.0)
                .bool_or(x.equal_elem(1.0))
                .bool_not()
        };
        let (x, invalid) = restrict(NAME, value, rows, cols, not_binary, 0.0);
        let lp = match self.odds.as_logits() {
            // For x in {0, 1}, x log sigmoid(l) + (1 - x) log sigmoid(-l) is
            // log sigmoid(l) - (1 - x) l: one log-sigmoid in place of two, and no xlogy
            // masks (the transcendental passes were 43% of a logistic regression's NUTS step).
            Some(Param::Tensor(l)) => {
                let l = expand_to(l.clone(), x.dims());
                log_sigmoid(l.clone()) - x.neg().add_scalar(1.0) * l
            }
            _ => {
                let (log_p, log_q) = self.odds.log_pq(&device, x.dims());
                xlogy(x.clone(), log_p) + xlogy(x.neg().add_scalar(1.0), log_q)
            }
        };
        sum_event_masked(lp, invalid)
    }
}
