//! Categorical distributions over class indices.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor};
use rand::distr::weighted::WeightedIndex;
use rand_distr::Distribution as _;

use super::odds::Odds;
use super::safe_log;
use crate::param::broadcast_dim;
use crate::shared::{assert_rows, expand_to, host_tensor, map_param};
use crate::{DistError, Distribution, Param, Probs, Rng, Support};

const NAME: &str = "Categorical";

logits_or_probs_family! {
    /// A categorical distribution over the class indices `{0, ..., K - 1}` per row, with
    /// probabilities `softmax(logits)` or given as probabilities (TFP's
    /// `Categorical(logits, probs)`).
    ///
    /// The parameters are `[rows, K]` (one row broadcasts over rows; a constant vector of `K`
    /// values is `[1, K]`). A value is the class index, a whole number stored as `f32`, in one
    /// column: `[rows, 1]`.
    ///
    /// The log mass of class `k` is `log_softmax(logits)_k` (probabilities: `log(probs)`
    /// normalised again per row, `log(0) = -inf` with a zero gradient); an index that is not a
    /// whole number in `{0, ..., K - 1}` has log mass `-inf`. Differentiable in tensor logits or
    /// probabilities.
    ///
    /// [`mean`](Distribution::mean) and [`variance`](Distribution::variance) are those of the
    /// index read as a number: `sum_k k p_k` and `sum_k p_k (k - mean)^2`, `[rows, 1]`.
    ///
    /// Not reparameterised: [`sample`](Distribution::sample) draws on the host and is detached.
    pub struct Categorical(NAME);

    /// Builds a categorical distribution from logits (unnormalised log probabilities).
    ///
    /// # Arguments
    ///
    /// * `logits` - one row of `K` logits per distribution; constants must be finite.
    ///
    /// # Shapes
    ///
    /// * `logits`: `[rows, K]` (a constant vector: `[1, K]`).
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with a non-finite constant.
    /// * [`DistError::Shape`] for an empty vector.
    pub fn new;

    /// Builds a categorical distribution from class probabilities.
    ///
    /// # Arguments
    ///
    /// * `probs` - one row of `K` probabilities per distribution; constants must be
    ///   non-negative, finite and sum to 1 within `1e-6`. Tensor rows are normalised again by
    ///   the log mass (not checked).
    ///
    /// # Shapes
    ///
    /// * `probs`: `[rows, K]` (a constant vector: `[1, K]`).
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with a negative or non-finite constant, or with the
    ///   sum of constants that do not sum to 1.
    /// * [`DistError::Shape`] for an empty vector.
    pub fn from_probs where
        |p| p >= 0.0 && p.is_finite(),
        "must be non-negative and finite",
        then check_sum;
}

/// Constant probabilities must sum to 1 within `1e-6`; tensors are not read.
fn check_sum(probs: &Param) -> Result<(), DistError> {
    if let Some(values) = probs.constants() {
        let sum: f64 = values.iter().sum();
        if (sum - 1.0).abs() > 1e-6 {
            return Err(DistError::InvalidParameter {
                dist: NAME,
                param: "probs",
                value: sum,
                reason: "must sum to 1 (within 1e-6); the value is the sum",
            });
        }
    }
    Ok(())
}

impl Categorical {
    /// Number of classes `K`.
    pub fn num_classes(&self) -> usize {
        self.param().cols()
    }

    fn param(&self) -> &Param {
        self.odds.param()
    }

    /// The normalised log probabilities `log_softmax(logits)` (or normalised `log(probs)`).
    ///
    /// Differentiable with respect to tensor logits or probabilities.
    ///
    /// # Arguments
    ///
    /// * `device` - where constant parameters are created.
    ///
    /// # Shapes
    ///
    /// * returns: `[rows or 1, K]` (the parameter's own rows).
    pub fn log_probs(&self, device: &Device) -> Tensor<2> {
        let logits = match &self.odds {
            Odds::Logits(p) => p.to_tensor(device),
            Odds::Probs(p) => map_param(p, device, f64::ln, safe_log),
        };
        log_softmax(logits, 1)
    }

    /// [`Distribution::log_prob`] in composed burn ops: the reference the fused kernel is
    /// tested against, and the version used for probabilities, constants and backends other
    /// than flex.
    ///
    /// # Shapes
    ///
    /// * `value`: `[rows, 1]`, broadcast with the parameter's rows; returns `[rows]`.
    pub fn log_prob_composed(&self, value: Tensor<2>) -> Tensor<1> {
        let device = value.device();
        let [vr, vc] = value.dims();
        let [pr, k] = self.param().shape();
        assert!(
            vc == 1,
            "Categorical::log_prob: value of shape [{vr}, {vc}] must have one column"
        );
        let Some(rows) = broadcast_dim(pr, vr) else {
            panic!(
                "Categorical::log_prob: value of shape [{vr}, {vc}] does not broadcast with \
                 parameters of shape [{pr}, {k}]"
            );
        };
        let shape = [rows, k];
        // Selecting by comparison rather than `gather`: an index that is no class matches
        // nothing (no out-of-range read), and unselected `-inf` entries are replaced by 0
        // before the sum (no `0 * -inf`).
        let selected = expand_to(value, shape).equal(expand_to(self.classes(&device), shape));
        let matched = selected.clone().float().sum_dim(1).equal_elem(0.0);
        expand_to(self.log_probs(&device), shape)
            .mask_fill(selected.bool_not(), 0.0)
            .sum_dim(1)
            .mask_fill(matched, f32::NEG_INFINITY)
            .squeeze_dim::<1>(1)
    }

    /// The class indices `0, ..., K - 1` as a float row `[1, K]`.
    fn classes(&self, device: &Device) -> Tensor<2> {
        let k = self.num_classes();
        Tensor::<1, Int>::arange(0..k as i64, device)
            .float()
            .reshape([1, k])
    }
}

impl Distribution for Categorical {
    fn name(&self) -> &'static str {
        NAME
    }

    fn event_size(&self) -> usize {
        1
    }

    fn batch_rows(&self) -> usize {
        self.param().rows()
    }

    /// `log_softmax(logits)[k]` per row; `-inf` where `k` is not an index in `{0, ..., K - 1}`.
    ///
    /// Panics when `value` has more than one column.
    ///
    /// For tensor logits on burn's `flex` backend one fused op (one autodiff node with the
    /// analytic gradient `onehot(k) - softmax(logits)`, `inferrs-kernels/src/categorical.rs`); otherwise
    /// [`Categorical::log_prob_composed`].
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        if let Odds::Logits(Param::Tensor(logits)) = &self.odds
            && let [vr, 1] = value.dims()
            && broadcast_dim(logits.dims()[0], vr).is_some()
            && let Some(lp) = inferrs_kernels::categorical_logits_log_prob(&value, logits)
        {
            return lp;
        }
        self.log_prob_composed(value)
    }

    /// One `rand::distr::weighted::WeightedIndex` draw per row over the weights
    /// `exp(logits - max)` (or the probabilities); NaN for a row whose weights are all zero or
    /// not finite.
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        let [pr, k] = self.param().shape();
        assert_rows(NAME, pr, rows);
        let host = self.param().to_host();
        let logits = matches!(self.odds, Odds::Logits(_));
        let mut weights = vec![0.0f64; k];
        host_tensor(rows, 1, device, |r, _| {
            let row = &host[if pr == 1 { 0 } else { r * k }..][..k];
            if logits {
                let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                for (w, &l) in weights.iter_mut().zip(row) {
                    *w = (l - max).exp();
                }
            } else {
                weights.copy_from_slice(row);
            }
            match WeightedIndex::new(&weights) {
                Ok(d) => d.sample(rng) as f64,
                Err(_) => f64::NAN,
            }
        })
    }

    fn has_rsample(&self) -> bool {
        false
    }

    /// `IntegerInterval { 0, K - 1 }`.
    fn support(&self) -> Support {
        Support::IntegerInterval {
            low: 0,
            high: self.num_classes() as i64 - 1,
        }
    }

    /// `sum_k k p_k`, `[rows, 1]`.
    fn mean(&self, device: &Device) -> Tensor<2> {
        let p = self.log_probs(device).exp();
        let classes = expand_to(self.classes(device), p.dims());
        (p * classes).sum_dim(1)
    }

    /// `sum_k p_k (k - mean)^2`, `[rows, 1]` (the centred form is never negative).
    fn variance(&self, device: &Device) -> Tensor<2> {
        let p = self.log_probs(device).exp();
        let shape = p.dims();
        let classes = expand_to(self.classes(device), shape);
        let mean = expand_to((p.clone() * classes.clone()).sum_dim(1), shape);
        (p * (classes - mean).square()).sum_dim(1)
    }

    /// The value must have one column and rows broadcasting with the parameters'.
    fn check_value(&self, shape: [usize; 2]) -> Result<(), DistError> {
        let [rows, cols] = shape;
        let batch = self.batch_rows();
        if cols != 1 || broadcast_dim(batch, rows).is_none() {
            return Err(DistError::Shape {
                dist: NAME,
                detail: format!(
                    "value of shape [{rows}, {cols}] does not fit: expected [{batch} or 1, 1] \
                     (one class index per row)"
                ),
            });
        }
        Ok(())
    }
}
