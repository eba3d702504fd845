//! [`BayesianDense`]: a dense layer whose weights are a mean-field Gaussian it holds itself,
//! drawn in a model run with one of three estimators ([`DenseNoise`]), with its closed-form
//! KL to an `N(0, prior_scale^2)` prior left in the run's trace for the ELBO.

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::{Device, Distribution as TensorDistribution, Tensor, TensorData};
use rand::Rng as _;

use crate::Error;
use crate::guide::{inverse_softplus, std_normal};
use crate::runtime::{LayerKl, add_kl, weights_once, with_stream};

/// The floor under the variance of a pre-activation in [`DenseNoise::Local`], so that a row
/// of zeros (a dead unit's output) has a finite gradient.
const MIN_VARIANCE: f64 = 1e-12;

/// How a [`BayesianDense`] layer turns its weights' distribution `q(W) = N(M, S^2)` into
/// outputs in a model run. All three give each row's output the same distribution; they
/// differ in how the rows of one run are correlated, which sets the variance of the ELBO's
/// gradient.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DenseNoise {
    /// One draw of the weights for the whole run, `W = M + S * E`, shared by every row (what
    /// a lifted layer with `AutoNormal` does). Its gradient noise does not average out over
    /// the rows of a batch.
    Shared,
    /// Flipout (Wen et al. 2018): one draw `S * E` per run, decorrelated row by row with
    /// random signs, `x M + ((x * s) (S * E)) * r` with `s`, `r` vectors of ±1 per row. Each
    /// row sees a weight draw from `q` of its own in distribution, at the cost of a second
    /// matrix product.
    Flipout,
    /// The local reparameterisation trick (Kingma, Salimans and Welling 2015), the default:
    /// each row's pre-activations are drawn from their exact Gaussian,
    /// `N(x M + m_b, x^2 S^2 + s_b^2)`, independently per row. The lowest variance of the three
    /// for a Gaussian `q`.
    #[default]
    Local,
}

/// The shape and the settings of a [`BayesianDense`] layer.
///
/// ```
/// use burn::tensor::Device;
/// use inferrs_vi::{BayesianDenseConfig, DenseNoise};
/// let device = Device::default();
/// let layer = BayesianDenseConfig::new(2, 32)
///     .prior_scale(1.0)
///     .noise(DenseNoise::Flipout)
///     .init(&device)
///     .unwrap();
/// assert_eq!(layer.shape(), [2, 32]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BayesianDenseConfig {
    input: usize,
    output: usize,
    bias: bool,
    prior_scale: f64,
    init_scale: f64,
    noise: DenseNoise,
}

impl BayesianDenseConfig {
    /// `input -> output`, with a bias, the prior `N(0, 1)` on every weight and bias, every
    /// standard deviation of `q` starting at 0.05 and [`DenseNoise::Local`].
    pub fn new(input: usize, output: usize) -> Self {
        Self {
            input,
            output,
            bias: true,
            prior_scale: 1.0,
            init_scale: 0.05,
            noise: DenseNoise::Local,
        }
    }

    /// Whether the layer has a (Bayesian) bias (default true).
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// The standard deviation of the prior `N(0, prior_scale^2)` of every weight and bias
    /// (default 1).
    pub fn prior_scale(mut self, scale: f64) -> Self {
        self.prior_scale = scale;
        self
    }

    /// The starting standard deviation of every weight's `q` (default 0.05; the locations
    /// start as burn's `Linear` weights do, Kaiming uniform).
    pub fn init_scale(mut self, scale: f64) -> Self {
        self.init_scale = scale;
        self
    }

    /// The estimator (default [`DenseNoise::Local`]).
    pub fn noise(mut self, noise: DenseNoise) -> Self {
        self.noise = noise;
        self
    }

    /// The layer on `device`. Its locations are drawn as burn's `Linear` weights are, from
    /// burn's stream on `device` (lazily: a fit initialises them from its seed).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when a size is 0 or a scale is not positive and finite.
    pub fn init(&self, device: &Device) -> Result<BayesianDense, Error> {
        let invalid = |reason: String| Error::InvalidOption {
            option: "BayesianDenseConfig",
            reason,
        };
        if self.input == 0 || self.output == 0 {
            return Err(invalid(format!(
                "the layer needs at least one input and one output, got {}x{}",
                self.input, self.output
            )));
        }
        for (name, value) in [
            ("prior_scale", self.prior_scale),
            ("init_scale", self.init_scale),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(invalid(format!(
                    "{name} must be positive and finite, got {value}"
                )));
            }
        }
        // burn's `Linear` initialiser, so that the means start as a plain layer does.
        let loc = Initializer::KaimingUniform {
            gain: 1.0 / 3f64.sqrt(),
            fan_out_only: false,
        };
        let raw = Initializer::Constant {
            value: inverse_softplus(self.init_scale),
        };
        let (i, o) = (self.input, self.output);
        Ok(BayesianDense {
            weight_loc: loc.init_with([i, o], Some(i), Some(o), device),
            weight_scale: raw.init([i, o], device),
            bias_loc: self
                .bias
                .then(|| loc.init_with([o], Some(i), Some(o), device)),
            bias_scale: self.bias.then(|| raw.init([o], device)),
            prior_scale: self.prior_scale,
            noise: self.noise,
        })
    }
}

/// A dense layer `x W + b` whose weights and bias are a mean-field Gaussian `q`, with the
/// prior `N(0, prior_scale^2)`: a Bayesian layer that is model and guide at once (as
/// TensorFlow Probability's `DenseFlipout` / `DenseLocalReparameterization`, the layers of
/// InferPy's `inf.layers`).
///
/// Put it in a model like any burn module (alone, or as a field of your own module): a fit
/// trains the locations and scales of `q` (they are the module's parameters) and the ELBO
/// subtracts the closed-form `KL(q || p)` that the layer leaves in the run's trace
/// ([`Trace::layer_kls`](crate::runtime::Trace::layer_kls)), once per run however often the
/// layer is called. In a model run the noise comes from the run's random stream, so a fit
/// and a query are reproducible from their seeds; `posterior_predictive` draws new noise per
/// draw, which is a draw of the weights from `q`.
///
/// Compared with a plain layer lifted by [`Model::lift`](crate::Model::lift) and covered by
/// `AutoNormal` (one weight draw per step, [`DenseNoise::Shared`]), [`DenseNoise::Local`]
/// and [`DenseNoise::Flipout`] give every row its own draw, so the gradient's noise
/// averages out over a batch (measured by `examples/dense_noise`). The weights are
/// not variables of the model: `posterior` does not know them, NUTS, PSIS and the Rényi
/// bound refuse the layer ([`Error::BayesianLayer`]), and [`BayesianDense::kl`] and
/// [`BayesianDense::scales`] read `q`.
///
/// Outside a model run (`layer.forward(x)` called directly), the noise comes from burn's
/// random stream on the device.
#[derive(Module, Debug)]
pub struct BayesianDense {
    /// The locations `M` of the weights, `[input, output]`.
    pub weight_loc: Param<Tensor<2>>,
    /// The weights' standard deviations before softplus, `[input, output]`.
    pub weight_scale: Param<Tensor<2>>,
    /// The locations of the bias, `[output]`.
    pub bias_loc: Option<Param<Tensor<1>>>,
    /// The bias's standard deviations before softplus, `[output]`.
    pub bias_scale: Option<Param<Tensor<1>>>,
    #[module(skip)]
    prior_scale: f64,
    #[module(skip)]
    noise: DenseNoise,
}

impl BayesianDense {
    /// `[input, output]`.
    pub fn shape(&self) -> [usize; 2] {
        self.weight_loc.val().dims()
    }

    /// The estimator the layer draws with.
    pub fn noise(&self) -> DenseNoise {
        self.noise
    }

    /// The same layer (the same parameters) drawing with `noise`.
    pub fn with_noise(mut self, noise: DenseNoise) -> Self {
        self.noise = noise;
        self
    }

    /// The standard deviation of the prior of every weight and bias.
    pub fn prior_scale(&self) -> f64 {
        self.prior_scale
    }

    /// The standard deviations of `q`: the weights' `[input, output]` and the bias's
    /// `[1, output]` (when the layer has one).
    pub fn scales(&self) -> (Tensor<2>, Option<Tensor<2>>) {
        (
            crate::softplus(self.weight_scale.val()),
            self.bias_scale
                .as_ref()
                .map(|s| crate::softplus(s.val().unsqueeze())),
        )
    }

    /// The locations of `q`: the weights' `[input, output]` and the bias's `[1, output]`.
    pub fn locations(&self) -> (Tensor<2>, Option<Tensor<2>>) {
        (
            self.weight_loc.val(),
            self.bias_loc.as_ref().map(|b| b.val().unsqueeze()),
        )
    }

    /// `KL(q || p)` summed over every weight and bias, in closed form, `[1]`.
    pub fn kl(&self) -> Tensor<1> {
        let (loc, bias_loc) = self.locations();
        let (scale, bias_scale) = self.scales();
        layer_kl((loc, scale), bias_loc.zip(bias_scale), self.prior_scale)
    }

    /// The output at the weights' means, `x M + m_b`: not a draw (for a plot of the mean
    /// network, or a check).
    ///
    /// # Shapes
    /// `x`: `[rows, input]`; returns `[rows, output]`.
    pub fn forward_mean(&self, x: Tensor<2>) -> Tensor<2> {
        let (loc, bias_loc) = self.locations();
        dense(x, loc, bias_loc)
    }

    /// A draw of the layer's output with its [`DenseNoise`]: each row's output is
    /// distributed as `x W + b` with `W, b ~ q`. Inside a model run the noise comes from the
    /// run's stream and the layer's KL joins the run's trace.
    ///
    /// # Shapes
    /// `x`: `[rows, input]`; returns `[rows, output]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let device = x.device();
        let [rows, input] = x.dims();
        let [_, output] = self.shape();
        let (loc, bias_loc) = self.locations();
        let (scale, bias_scale) = self.scales();
        // From the locations and scales already computed (no second softplus).
        add_kl(self.weight_loc.id, || LayerKl {
            layer: format!("BayesianDense {input}x{output}"),
            kl: layer_kl(
                (loc.clone(), scale.clone()),
                bias_loc.clone().zip(bias_scale.clone()),
                self.prior_scale,
            ),
        });
        match self.noise {
            DenseNoise::Local => {
                let mean = dense(x.clone(), loc, bias_loc);
                let var = dense(
                    x.powi_scalar(2),
                    scale.powi_scalar(2),
                    bias_scale.map(|s| s.powi_scalar(2)),
                );
                let eps = normal([rows, output], &device);
                mean + var.add_scalar(MIN_VARIANCE).sqrt() * eps
            }
            DenseNoise::Flipout => {
                let [e, e_bias] = self.run_draw(output, &device);
                let bias = shifted(bias_loc, bias_scale, e_bias);
                let mean = dense(x.clone(), loc, bias);
                let signs_in = signs([rows, input], &device);
                let signs_out = signs([rows, output], &device);
                mean + (x * signs_in).matmul(scale * e) * signs_out
            }
            DenseNoise::Shared => {
                let [e, e_bias] = self.run_draw(output, &device);
                let bias = shifted(bias_loc, bias_scale, e_bias);
                dense(x, loc + scale * e, bias)
            }
        }
    }

    /// The standard normals `E` (`[input, output]`) and `e_b` (`[1, output]`) of this run's
    /// weight draw: the same for every call of the layer in one run.
    fn run_draw(&self, output: usize, device: &Device) -> [Tensor<2>; 2] {
        let [input, _] = self.shape();
        let draw = |rng: &mut inferrs_distributions::Rng| {
            [
                std_normal([input, output], device, rng),
                std_normal([1, output], device, rng),
            ]
        };
        weights_once(self.weight_loc.id, draw)
            .unwrap_or_else(|| [normal([input, output], device), normal([1, output], device)])
    }
}

/// `x w + b` (the fused affine map on flex), `b` `[1, output]` when there is one.
fn dense(x: Tensor<2>, w: Tensor<2>, b: Option<Tensor<2>>) -> Tensor<2> {
    match b {
        Some(b) => inferrs_nn::affine(x, w, b),
        None => inferrs_nn::matmul(x, w),
    }
}

/// `loc + scale * e` for a bias that exists.
fn shifted(loc: Option<Tensor<2>>, scale: Option<Tensor<2>>, e: Tensor<2>) -> Option<Tensor<2>> {
    match (loc, scale) {
        (Some(m), Some(s)) => Some(m + s * e),
        _ => None,
    }
}

/// The KL of the weights `(M, S)` and of the bias `(m_b, s_b)` when there is one.
fn layer_kl(
    (loc, scale): (Tensor<2>, Tensor<2>),
    bias: Option<(Tensor<2>, Tensor<2>)>,
    prior: f64,
) -> Tensor<1> {
    let weights = normal_kl(loc, scale, prior);
    match bias {
        Some((m, s)) => weights + normal_kl(m, s, prior),
        None => weights,
    }
}

/// `sum KL(N(m, s^2) || N(0, prior^2))` over the elements:
/// `ln(prior / s) + (s^2 + m^2) / (2 prior^2) - 1/2` each. `Normal::kl_divergence` computes the
/// same for any two Normals, but expands the prior's location and scale into tensors of the
/// layer's shape (a `ln` and a square more per step); with a constant prior its terms fold
/// into the two scalars here.
fn normal_kl(m: Tensor<2>, s: Tensor<2>, prior: f64) -> Tensor<1> {
    let [r, c] = m.dims();
    let elements = (r * c) as f64;
    let per =
        (s.clone().powi_scalar(2) + m.powi_scalar(2)).div_scalar(2.0 * prior * prior) - s.log();
    per.sum().add_scalar(elements * (prior.ln() - 0.5))
}

/// Standard normals of `shape` from the run's stream, or burn's outside a run.
fn normal(shape: [usize; 2], device: &Device) -> Tensor<2> {
    with_stream(|rng| std_normal(shape, device, rng))
        .unwrap_or_else(|| Tensor::random(shape, TensorDistribution::Normal(0.0, 1.0), device))
}

/// Random signs (±1, each with probability 1/2) of `shape`, from the run's stream, or
/// burn's outside a run.
fn signs(shape: [usize; 2], device: &Device) -> Tensor<2> {
    let drawn = with_stream(|rng| {
        let values: Vec<f32> = (0..shape[0] * shape[1])
            .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
            .collect();
        Tensor::<2>::from_data(TensorData::new(values, shape), device)
    });
    drawn.unwrap_or_else(|| {
        Tensor::random(shape, TensorDistribution::Bernoulli(0.5), device)
            .mul_scalar(2.0)
            .sub_scalar(1.0)
    })
}
