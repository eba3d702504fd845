//! Mixtures of univariate Gaussians (mixture density networks).

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng as _;
use rand_distr::{Distribution as _, StandardNormal};

use std::sync::{Arc, OnceLock};

use crate::MixtureSource;
use crate::math::{gaussian_log_density, logsumexp};
use crate::param::{broadcast_dim, check_constants, check_nonempty};
use crate::{DistError, Distribution, FromArgs, Param, ParamInit, Rng, Support};

const NAME: &str = "MixtureGaussian";

/// Marks mixture weights given as probabilities rather than logits in
/// [`FromArgs`]: `MixtureGaussian(locs, scales, Probs(probs))`.
#[derive(Clone, Debug)]
pub struct Probs<T>(pub T);

/// How the mixture weights were given.
#[derive(Clone, Debug)]
enum Weights {
    /// Unnormalised log weights.
    Logits(Param),
    /// Probabilities (normalised again by the density).
    Probs(Param),
}

/// A mixture of `K` univariate Gaussians per row:
/// `p(y) = sum_k pi_k N(y; loc_k, scale_k)`, `pi = softmax(logits)`.
///
/// Each parameter is a tensor `[rows, K]` (one row broadcasts over rows; one column broadcasts
/// over components) or a constant vector of `K` values (or a scalar). The value has one column.
///
/// The log density is computed as `logsumexp_k(log_softmax(logits) + log N(y; loc_k, scale_k))`
/// with the row maximum shifted out and detached, so it stays finite (and its gradients free of
/// NaN) when some weights underflow or when every component is far from the value. Sampling is
/// not reparameterised ([`Distribution::has_rsample`] is false): the component is drawn on the
/// host and the result is detached.
#[derive(Clone, Debug)]
pub struct MixtureGaussian {
    /// The parameters; for a deferred network, set when first needed.
    parts: OnceLock<Parts>,
    /// The network the parameters come from, when it has not been evaluated (a
    /// [`MixtureSource`]: `inferrs::nn::MixtureNet::forward` on flex).
    network: Option<Arc<dyn MixtureSource>>,
    /// The network and inputs the parameters were computed from, when evaluated already.
    origin: Option<Arc<dyn MixtureSource>>,
    rows: usize,
    k: usize,
    /// The `[rows, 3K]` tensor the parameters are column blocks of, when built from packed
    /// [`MixtureParams`] (the fused kernel then reads it in place).
    packed: Option<Tensor<2>>,
}

/// The locations, scales and weights of a [`MixtureGaussian`].
#[derive(Clone, Debug)]
struct Parts {
    locs: Param,
    scales: Param,
    weights: Weights,
}

/// The parameters of a [`MixtureGaussian`] with `K` components per row: locations, scales and
/// weight logits, either as three `[rows, K]` tensors or packed side by side in one `[rows,
/// 3K]` tensor (columns `0..K` the locations, `K..2K` the scales, `2K..3K` the logits).
///
/// A network that computes its three heads as one product can return the packed form: the
/// fused likelihood kernel then reads the three blocks in place and returns one `[rows, 3K]`
/// gradient, where three slices would each cost a zeroed `[rows, 3K]` gradient in the
/// backward pass.
///
/// A network can return a third form ([`MixtureParams::from_source`], a [`MixtureSource`]:
/// `inferrs::nn::MixtureNet::forward` on flex): the network's inputs and weights, not yet
/// evaluated. [`MixtureGaussian`]'s `log_prob` then runs
/// the network and the likelihood as one fused op; whatever else needs the parameters
/// ([`MixtureParams::into_parts`], sampling, the mean) evaluates the network when asked.
///
/// [`FromArgs`]: `MixtureGaussian(nn(x))` with a network returning `MixtureParams`.
#[derive(Clone, Debug)]
pub struct MixtureParams {
    repr: Repr,
    /// The network and inputs the parameters were computed from, when a network computed
    /// them: what [`Distribution::data_init`] reads.
    origin: Option<Arc<dyn MixtureSource>>,
}

#[derive(Clone, Debug)]
enum Repr {
    Parts(Box<[Tensor<2>; 3]>),
    Packed { packed: Box<Tensor<2>>, k: usize },
    Network(Arc<dyn MixtureSource>),
}

impl MixtureParams {
    /// Parameters from three `[rows, K]` tensors.
    pub fn new(locs: Tensor<2>, scales: Tensor<2>, logits: Tensor<2>) -> Self {
        Self {
            repr: Repr::Parts(Box::new([locs, scales, logits])),
            origin: None,
        }
    }

    /// Parameters packed side by side in one `[rows, 3K]` tensor: locations, scales, logits.
    ///
    /// # Errors
    ///
    /// [`DistError::Shape`] when the number of columns is not a positive multiple of 3.
    pub fn packed(packed: Tensor<2>) -> Result<Self, DistError> {
        let [rows, cols] = packed.dims();
        if cols == 0 || !cols.is_multiple_of(3) {
            return Err(DistError::Shape {
                dist: NAME,
                detail: format!(
                    "packed parameters of shape [{rows}, {cols}]: the columns must be 3 blocks \
                     of K > 0 (locations, scales, logits)"
                ),
            });
        }
        Ok(Self {
            repr: Repr::Packed {
                packed: Box::new(packed),
                k: cols / 3,
            },
            origin: None,
        })
    }

    /// A network's output left unevaluated: the mixture asks `source` for its fused log
    /// density, and evaluates it only when something else needs the parameters.
    pub fn from_source(source: Arc<dyn MixtureSource>) -> Self {
        Self {
            repr: Repr::Network(source),
            origin: None,
        }
    }

    /// The same parameters, remembering the network and inputs they were computed from (for
    /// [`MixtureSource::data_init`]).
    pub fn with_origin(mut self, source: Arc<dyn MixtureSource>) -> Self {
        self.origin = Some(source);
        self
    }

    /// The number of components `K`.
    pub fn num_components(&self) -> usize {
        match &self.repr {
            Repr::Parts(parts) => parts[0].dims()[1],
            Repr::Packed { k, .. } => *k,
            Repr::Network(net) => net.components(),
        }
    }

    /// The packed `[rows, 3K]` tensor, when the parameters are packed.
    pub fn as_packed(&self) -> Option<&Tensor<2>> {
        match &self.repr {
            Repr::Packed { packed, .. } => Some(packed.as_ref()),
            Repr::Parts(_) | Repr::Network(_) => None,
        }
    }

    /// Whether the parameters are a network's output not yet evaluated (see
    /// [`MixtureParams`]).
    pub fn is_deferred(&self) -> bool {
        matches!(self.repr, Repr::Network(_))
    }

    /// The three `[rows, K]` tensors `(locs, scales, logits)` (column slices of a packed
    /// tensor; a deferred network is evaluated).
    pub fn into_parts(self) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        match self.repr {
            Repr::Network(net) => net.parts().into_parts(),
            Repr::Parts(parts) => {
                let [l, s, w] = *parts;
                (l, s, w)
            }
            Repr::Packed { packed, k } => {
                let rows = packed.dims()[0];
                let block = |j: usize| packed.clone().slice([0..rows, j * k..(j + 1) * k]);
                (block(0), block(1), block(2))
            }
        }
    }
}

impl MixtureGaussian {
    /// Builds a mixture from component locations, scales and weight logits.
    ///
    /// # Arguments
    ///
    /// * `locs` - component means; constants must be finite.
    /// * `scales` - component standard deviations; constants must be positive and finite.
    /// * `logits` - unnormalised log weights (normalised with `log_softmax` per row);
    ///   constants must be finite.
    ///
    /// # Shapes
    ///
    /// Each of `locs`, `scales`, `logits`: `[rows or 1, K or 1]`; `K` and `rows` must agree
    /// across the parameters where they are not 1.
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] naming the parameter and the offending constant.
    /// * [`DistError::Shape`] when the numbers of components (columns) or rows differ, or a
    ///   vector is empty.
    pub fn new(
        locs: impl Into<Param>,
        scales: impl Into<Param>,
        logits: impl Into<Param>,
    ) -> Result<Self, DistError> {
        let logits = logits.into();
        check_nonempty(NAME, "logits", &logits)?;
        check_constants(NAME, "logits", &logits, f64::is_finite, "must be finite")?;
        Self::build(locs.into(), scales.into(), Weights::Logits(logits))
    }

    /// Builds a mixture from component locations, scales and weight probabilities.
    ///
    /// The log weights are `log(probs)` (a probability of 0 gives a weight of `-inf`, which
    /// contributes nothing and creates no NaN), normalised per row. For a tensor `probs`, the
    /// gradient with respect to a zero probability is 0.
    ///
    /// # Arguments
    ///
    /// * `locs` - component means; constants must be finite.
    /// * `scales` - component standard deviations; constants must be positive and finite.
    /// * `probs` - component probabilities; constants must be non-negative, finite and sum to
    ///   1 within `1e-6`.
    ///
    /// # Shapes
    ///
    /// As [`MixtureGaussian::new`].
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] naming the parameter and the offending value (for the
    ///   sum constraint: the sum).
    /// * [`DistError::Shape`] as [`MixtureGaussian::new`].
    pub fn from_probs(
        locs: impl Into<Param>,
        scales: impl Into<Param>,
        probs: impl Into<Param>,
    ) -> Result<Self, DistError> {
        let probs = probs.into();
        check_nonempty(NAME, "probs", &probs)?;
        check_constants(
            NAME,
            "probs",
            &probs,
            |p| p >= 0.0 && p.is_finite(),
            "must be non-negative and finite",
        )?;
        let mixture = Self::build(locs.into(), scales.into(), Weights::Probs(probs))?;
        if let Weights::Probs(probs) = &mixture.parts().weights
            && let Some(values) = probs.constants()
        {
            let sum = if values.len() == 1 {
                values[0] * mixture.k as f64
            } else {
                values.iter().sum::<f64>()
            };
            if (sum - 1.0).abs() > 1e-6 {
                return Err(DistError::InvalidParameter {
                    dist: NAME,
                    param: "probs",
                    value: sum,
                    reason: "must sum to 1 (within 1e-6); the value is the sum",
                });
            }
        }
        Ok(mixture)
    }

    fn build(locs: Param, scales: Param, weights: Weights) -> Result<Self, DistError> {
        check_nonempty(NAME, "locs", &locs)?;
        check_nonempty(NAME, "scales", &scales)?;
        check_constants(NAME, "locs", &locs, f64::is_finite, "must be finite")?;
        check_constants(
            NAME,
            "scales",
            &scales,
            |s| s > 0.0 && s.is_finite(),
            "must be positive and finite",
        )?;
        let (wname, wparam) = match &weights {
            Weights::Logits(p) => ("logits", p),
            Weights::Probs(p) => ("probs", p),
        };
        let shapes = [
            ("locs", locs.shape()),
            ("scales", scales.shape()),
            (wname, wparam.shape()),
        ];
        let describe = || {
            shapes
                .iter()
                .map(|(n, [r, c])| format!("`{n}` [{r}, {c}]"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let k = shapes
            .iter()
            .try_fold(1, |acc, (_, s)| broadcast_dim(acc, s[1]))
            .ok_or_else(|| DistError::Shape {
                dist: NAME,
                detail: format!(
                    "parameters have different numbers of components (columns): {}",
                    describe()
                ),
            })?;
        let rows = shapes
            .iter()
            .try_fold(1, |acc, (_, s)| broadcast_dim(acc, s[0]))
            .ok_or_else(|| DistError::Shape {
                dist: NAME,
                detail: format!("parameters have different numbers of rows: {}", describe()),
            })?;
        Ok(Self {
            parts: OnceLock::from(Parts {
                locs,
                scales,
                weights,
            }),
            network: None,
            origin: None,
            rows,
            k,
            packed: None,
        })
    }

    /// Builds a mixture from [`MixtureParams`] (three tensors, one packed tensor, or a
    /// network's output not yet evaluated).
    ///
    /// # Errors
    ///
    /// [`DistError::Shape`] as [`MixtureGaussian::new`].
    pub fn from_params(mut params: MixtureParams) -> Result<Self, DistError> {
        if let Repr::Network(net) = params.repr {
            return Ok(Self {
                parts: OnceLock::new(),
                rows: net.rows(),
                k: net.components(),
                network: Some(net),
                origin: None,
                packed: None,
            });
        }
        let packed = params.as_packed().cloned();
        let origin = params.origin.take();
        let (locs, scales, logits) = params.into_parts();
        let mut mixture = Self::new(locs, scales, logits)?;
        mixture.packed = packed;
        mixture.origin = origin;
        Ok(mixture)
    }

    /// The parameters, evaluating a deferred network the first time.
    fn parts(&self) -> &Parts {
        self.parts.get_or_init(|| {
            let net = self
                .network
                .as_ref()
                .expect("a mixture without parameters has a deferred network");
            let (locs, scales, logits) = net.parts().into_parts();
            Parts {
                locs: locs.into(),
                scales: scales.into(),
                weights: Weights::Logits(logits.into()),
            }
        })
    }

    /// The component means.
    pub fn locs(&self) -> &Param {
        &self.parts().locs
    }

    /// The component standard deviations.
    pub fn scales(&self) -> &Param {
        &self.parts().scales
    }

    /// The weight logits, when the mixture was built from logits.
    pub fn logits(&self) -> Option<&Param> {
        match &self.parts().weights {
            Weights::Logits(p) => Some(p),
            Weights::Probs(_) => None,
        }
    }

    /// The weight probabilities, when the mixture was built from probabilities.
    pub fn probs(&self) -> Option<&Param> {
        match &self.parts().weights {
            Weights::Probs(p) => Some(p),
            Weights::Logits(_) => None,
        }
    }

    /// Number of components `K`.
    pub fn num_components(&self) -> usize {
        self.k
    }

    /// The normalised log weights `log_softmax(logits)` (or normalised `log(probs)`).
    ///
    /// Differentiable with respect to tensor logits or probabilities.
    ///
    /// # Arguments
    ///
    /// * `device` - where constant weights are created.
    ///
    /// # Shapes
    ///
    /// * returns: `[rows or 1, K]` (the weights' own rows).
    pub fn log_weights(&self, device: &Device) -> Tensor<2> {
        let logits = match &self.parts().weights {
            Weights::Logits(p) => p.to_tensor(device),
            Weights::Probs(Param::Tensor(t)) => {
                // log(p) with log(0) = -inf and a zero (not NaN) gradient there: take the log of
                // 1 at non-positive entries and mask the result.
                let zero = t.clone().lower_equal_elem(0.0);
                t.clone()
                    .mask_fill(zero.clone(), 1.0)
                    .log()
                    .mask_fill(zero, f32::NEG_INFINITY)
            }
            Weights::Probs(p) => {
                Param::Vector(p.to_host().into_iter().map(f64::ln).collect()).to_tensor(device)
            }
        };
        let logits = if logits.dims()[1] == self.k {
            logits
        } else {
            logits.repeat_dim(1, self.k)
        };
        log_softmax(logits, 1)
    }

    /// The log density evaluated with composed burn tensor ops, on any backend:
    /// `logsumexp_k(log_softmax(logits)_k + log N(value; loc_k, scale_k))` per row, with the
    /// row maximum shifted out and detached.
    ///
    /// [`Distribution::log_prob`] calls a fused kernel instead where one applies; this version
    /// is the fallback, the reference the fused kernel is tested against, and the baseline of
    /// `examples/bench_mdn.rs`. Differentiable with respect to `value` and tensor parameters.
    ///
    /// # Arguments
    ///
    /// * `value` - the points to evaluate, one column.
    ///
    /// # Shapes
    ///
    /// * `value`: `[rows or 1, 1]` (rows broadcast with [`Distribution::batch_rows`])
    /// * returns: `[rows]`
    ///
    /// # Panics
    ///
    /// When `value` has more than one column or its rows do not broadcast with the
    /// parameters' (see [`Distribution::check_value`]).
    pub fn log_prob_composed(&self, value: Tensor<2>) -> Tensor<1> {
        let [rows, cols] = value.dims();
        assert!(
            cols == 1,
            "MixtureGaussian::log_prob_composed: value of shape [{rows}, {cols}] must have one \
             column"
        );
        let log_w = self.log_weights(&value.device());
        let parts = self.parts();
        let log_n = gaussian_log_density(value, &parts.locs, &parts.scales);
        logsumexp(log_w + log_n, 1).squeeze_dim::<1>(1)
    }

    /// Unnormalised log weights on the host, `[rows or 1, cols]`.
    fn host_log_weights(&self) -> HostParam {
        match &self.parts().weights {
            Weights::Logits(p) => HostParam::new(p),
            Weights::Probs(p) => {
                let mut h = HostParam::new(p);
                h.data.iter_mut().for_each(|x| *x = x.ln());
                h
            }
        }
    }
}

/// A parameter read back to the host, indexed with broadcasting.
struct HostParam {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl HostParam {
    fn new(p: &Param) -> Self {
        let [rows, cols] = p.shape();
        Self {
            rows,
            cols,
            data: p.to_host(),
        }
    }

    fn get(&self, r: usize, k: usize) -> f64 {
        let r = if self.rows == 1 { 0 } else { r };
        let k = if self.cols == 1 { 0 } else { k };
        self.data[r * self.cols + k]
    }
}

impl Distribution for MixtureGaussian {
    fn name(&self) -> &'static str {
        NAME
    }

    fn event_size(&self) -> usize {
        1
    }

    fn batch_rows(&self) -> usize {
        self.rows
    }

    /// [`MixtureSource::data_init`] when a network computed the parameters (for
    /// `inferrs::nn::MixtureNet`, components at quantiles of `value`); none otherwise.
    fn data_init(&self, value: &Tensor<2>) -> Vec<ParamInit> {
        match self.network.as_ref().or(self.origin.as_ref()) {
            Some(net) => net.data_init(value),
            None => Vec::new(),
        }
    }

    /// `logsumexp_k(log_softmax(logits)_k + log N(value; loc_k, scale_k))` per row.
    ///
    /// When the locations, scales and logits are all tensors, everything is `f32` and the
    /// device runs burn's `flex` backend ([`fused_kernels_available`]), one fused kernel
    /// computes the value and, on an autodiff device, the gradients in a single pass;
    /// otherwise (constants, probabilities, other backends) this is
    /// [`log_prob_composed`](MixtureGaussian::log_prob_composed). Both agree to f32 rounding.
    /// When the parameters are a network's output left
    /// unevaluated ([`MixtureParams::is_deferred`]), the network and the likelihood run as one
    /// fused op, and the network is not evaluated otherwise.
    ///
    /// Panics when `value` has more than one column (it would otherwise broadcast against the
    /// components silently).
    ///
    /// [`fused_kernels_available`]: crate::fused_kernels_available
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let [rows, cols] = value.dims();
        assert!(
            cols == 1,
            "MixtureGaussian::log_prob: value of shape [{rows}, {cols}] must have one column"
        );
        if let Some(net) = &self.network
            && let Some(log_prob) = net.fused_log_prob(&value)
        {
            return log_prob;
        }
        if let Some(packed) = &self.packed
            && let Some(log_prob) =
                inferrs_kernels::mixture_gaussian_log_prob_packed(&value, packed)
        {
            return log_prob;
        }
        let parts = self.parts();
        if let (Param::Tensor(locs), Param::Tensor(scales), Weights::Logits(Param::Tensor(logits))) =
            (&parts.locs, &parts.scales, &parts.weights)
            && let Some(log_prob) =
                inferrs_kernels::mixture_gaussian_log_prob(&value, locs, scales, logits)
        {
            return log_prob;
        }
        self.log_prob_composed(value)
    }

    /// Picks each row's component on the host by inverse CDF of its weights (one uniform per
    /// row from `rng`), then `loc + scale * eps` with `eps ~ N(0, 1)` (one normal per row).
    /// Tensor parameters are read back from their device; the result is detached. A row whose
    /// weights are all zero or not finite gives NaN.
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert!(
            self.rows == 1 || self.rows == rows,
            "MixtureGaussian::sample: cannot draw {rows} rows from parameters with {} rows",
            self.rows
        );
        let locs = HostParam::new(self.locs());
        let scales = HostParam::new(self.scales());
        let log_w = self.host_log_weights();
        let mut weights = vec![0.0f64; self.k];
        let mut out = Vec::with_capacity(rows);
        for r in 0..rows {
            let max = (0..self.k)
                .map(|j| log_w.get(r, j))
                .fold(f64::NEG_INFINITY, f64::max);
            for (j, w) in weights.iter_mut().enumerate() {
                *w = (log_w.get(r, j) - max).exp();
            }
            let total: f64 = weights.iter().sum();
            let u: f64 = rng.random::<f64>() * total;
            let eps: f64 = StandardNormal.sample(rng);
            let y = if total > 0.0 && total.is_finite() {
                let mut acc = 0.0;
                // Fallback for rounding at the top end: the last component with weight.
                let mut pick = weights.iter().rposition(|&w| w > 0.0).unwrap_or(0);
                for (j, &w) in weights.iter().enumerate() {
                    acc += w;
                    if u < acc {
                        pick = j;
                        break;
                    }
                }
                locs.get(r, pick) + scales.get(r, pick) * eps
            } else {
                f64::NAN
            };
            out.push(y as f32);
        }
        Tensor::<2>::from_data(TensorData::new(out, [rows, 1]), device)
    }

    fn has_rsample(&self) -> bool {
        false
    }

    fn support(&self) -> Support {
        Support::Real
    }

    /// `sum_k pi_k loc_k`.
    fn mean(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.k];
        let weights = self.log_weights(device).exp().expand(shape);
        (weights * self.locs().to_tensor_as(device, shape)).sum_dim(1)
    }

    /// `sum_k pi_k (scale_k^2 + loc_k^2) - mean^2`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.k];
        let weights = self.log_weights(device).exp().expand(shape);
        let locs = self.locs().to_tensor_as(device, shape);
        let scales = self.scales().to_tensor_as(device, shape);
        let mean = (weights.clone() * locs.clone()).sum_dim(1);
        let second = (weights * (scales.square() + locs.square())).sum_dim(1);
        second - mean.square()
    }

    fn check_value(&self, shape: [usize; 2]) -> Result<(), DistError> {
        let [rows, cols] = shape;
        if cols != 1 || broadcast_dim(self.rows, rows).is_none() {
            return Err(DistError::Shape {
                dist: NAME,
                detail: format!(
                    "value of shape [{rows}, {cols}] does not fit: expected [{} or 1, 1]",
                    self.rows
                ),
            });
        }
        Ok(())
    }
}

impl<L, S, W> FromArgs<(L, S, W)> for MixtureGaussian
where
    L: Into<Param>,
    S: Into<Param>,
    W: Into<Param>,
{
    /// `MixtureGaussian(locs, scales, logits)`.
    fn from_args((locs, scales, logits): (L, S, W)) -> Result<Self, DistError> {
        MixtureGaussian::new(locs, scales, logits)
    }
}

impl<L, S, W> FromArgs<((L, S, W),)> for MixtureGaussian
where
    L: Into<Param>,
    S: Into<Param>,
    W: Into<Param>,
{
    /// `MixtureGaussian(nn(x))` with a network returning `(locs, scales, logits)`.
    fn from_args(((locs, scales, logits),): ((L, S, W),)) -> Result<Self, DistError> {
        MixtureGaussian::new(locs, scales, logits)
    }
}

impl FromArgs<(MixtureParams,)> for MixtureGaussian {
    /// `MixtureGaussian(nn(x))` with a network returning [`MixtureParams`].
    fn from_args((params,): (MixtureParams,)) -> Result<Self, DistError> {
        MixtureGaussian::from_params(params)
    }
}

impl<L, S, W> FromArgs<(L, S, Probs<W>)> for MixtureGaussian
where
    L: Into<Param>,
    S: Into<Param>,
    W: Into<Param>,
{
    /// `MixtureGaussian(locs, scales, Probs(probs))`.
    fn from_args((locs, scales, Probs(probs)): (L, S, Probs<W>)) -> Result<Self, DistError> {
        MixtureGaussian::from_probs(locs, scales, probs)
    }
}

impl<L, S, W> FromArgs<((L, S, Probs<W>),)> for MixtureGaussian
where
    L: Into<Param>,
    S: Into<Param>,
    W: Into<Param>,
{
    /// `MixtureGaussian(nn(x))` with a network returning `(locs, scales, Probs(probs))`.
    fn from_args(((locs, scales, Probs(probs)),): ((L, S, Probs<W>),)) -> Result<Self, DistError> {
        MixtureGaussian::from_probs(locs, scales, probs)
    }
}
