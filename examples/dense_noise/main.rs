//! Does drawing a Bayesian layer's weights per row lower the variance of the ELBO's gradient?
//! (issue 10, part 5: Flipout and the local reparameterisation trick).
//!
//! A network `2 -> H (tanh) -> 1` of two [`BayesianDense`] layers, the likelihood
//! `y ~ N(nn(x), NOISE)`, on `y = sin(x1) + 0.5 x2 + N(0, NOISE^2)` with `x` uniform on
//! `[-4, 4] x [-1, 1]`. The same parameters are measured with each [`DenseNoise`]:
//!
//! 1. **Gradient spread.** The network is fitted for a short while (local noise), then, at
//!    those parameters and on a fixed batch of `M` rows scaled to the `N` rows (`N / M`), the
//!    gradient of the negative ELBO (`TraceElbo`, one draw) with respect to each layer's
//!    weight locations is computed `--repeats` times with fresh noise. The table gives the
//!    variance per coordinate, averaged over the coordinates, and its ratio to
//!    [`DenseNoise::Shared`] (one weight draw for the batch, what a lifted layer with
//!    `AutoNormal` does). The batch is fixed, so the spread is the weight noise's alone.
//! 2. **Fits.** Minibatch SVI from the same start with each estimator, and the lifted plain
//!    network with `AutoNormal` for reference: the loss per row of the last epochs, the
//!    held-out log predictive density per point (`log_predictive`, 100 draws), and ms per step.
//!
//! ```text
//! cargo run --release --example dense_noise
//! ```

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::tanh;
use burn::tensor::{Device, Tensor, TensorData};
use clap::Parser;
use inferrs::guide::GuideTrace;
use inferrs::infer::{Elbo, Particle};
use inferrs::prelude::*;
use inferrs::runtime::{Ctx, Handler, Unfilled, Values};
use inferrs::{Error, LogProbs, distributions::Rng};
use rand::{Rng as _, SeedableRng};
use rand_distr::{Distribution as _, Normal as RNormal};

/// Standard deviation of the observation noise (known to the model).
pub const NOISE: f64 = 0.1;
/// Inputs of the network.
pub const INPUTS: usize = 2;
/// The estimators, in the order of the tables.
pub const ESTIMATORS: [DenseNoise; 3] =
    [DenseNoise::Shared, DenseNoise::Flipout, DenseNoise::Local];

/// The example's model, `y ~ N(nn(x), NOISE)` with the network `$net` (also `PlainNet`, to
/// be lifted), as `tests/bayesian_dense.rs` uses it too.
macro_rules! dense_model {
    ($net:expr) => {
        datamodel! {
            nn = $net;
            input x;
            y ~ Normal(nn(x), NOISE);
        }
    };
}

/// Options of a run.
#[derive(Clone, Debug, Parser)]
#[command(about = "Gradient variance of BayesianDense's estimators")]
pub struct Options {
    /// Training rows `N`.
    #[arg(long, default_value_t = 1000)]
    pub rows: usize,
    /// Hidden units.
    #[arg(long, default_value_t = 32)]
    pub hidden: usize,
    /// Batch sizes `M` of the gradient table.
    #[arg(long, value_delimiter = ',', default_values_t = vec![10, 100, 1000])]
    pub batches: Vec<usize>,
    /// Gradient draws per estimator and batch size.
    #[arg(long, default_value_t = 200)]
    pub repeats: usize,
    /// Epochs of the short fit that sets the parameters of the gradient table.
    #[arg(long, default_value_t = 50)]
    pub warm_epochs: usize,
    /// Epochs of each fit of the second table (0 skips it).
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// Batch size of those fits.
    #[arg(long, default_value_t = 50)]
    pub batch_size: usize,
    /// Seed of the data, the fits and the draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// The network `inputs -> hidden (tanh) -> 1` of two Bayesian layers.
#[derive(Module, Debug)]
pub struct Net {
    /// `inputs -> hidden`.
    pub l1: BayesianDense,
    /// `hidden -> 1`.
    pub l2: BayesianDense,
}

impl Net {
    /// The network with `N(0, 1)` priors, drawing with `noise`.
    ///
    /// # Errors
    /// As [`BayesianDenseConfig::init`].
    pub fn new(device: &Device, hidden: usize, noise: DenseNoise) -> Result<Self, Error> {
        Ok(Self {
            l1: BayesianDenseConfig::new(INPUTS, hidden)
                .noise(noise)
                .init(device)?,
            l2: BayesianDenseConfig::new(hidden, 1)
                .noise(noise)
                .init(device)?,
        })
    }

    /// The same parameters, drawing with `noise`.
    pub fn with_noise(self, noise: DenseNoise) -> Self {
        Self {
            l1: self.l1.with_noise(noise),
            l2: self.l2.with_noise(noise),
        }
    }

    /// A draw of the output, `[rows, 1]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.l2.forward(tanh(self.l1.forward(x)))
    }
}

/// The same network of plain layers, to be lifted.
#[derive(Module, Debug)]
pub struct PlainNet {
    l1: Linear,
    l2: Linear,
}

impl PlainNet {
    fn new(device: &Device, hidden: usize) -> Self {
        Self {
            l1: LinearConfig::new(INPUTS, hidden).init(device),
            l2: LinearConfig::new(hidden, 1).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.l2.forward(tanh(self.l1.forward(x)))
    }
}

/// `rows` points of the truth with noise, from `seed`.
pub fn simulate(rows: usize, seed: u64) -> (Vec<[f64; INPUTS]>, Vec<f64>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let noise = RNormal::new(0.0, NOISE).unwrap_or_else(|_| unreachable!());
    let x: Vec<[f64; INPUTS]> = (0..rows)
        .map(|_| [rng.random_range(-4.0..4.0), rng.random_range(-1.0..1.0)])
        .collect();
    let y = x
        .iter()
        .map(|x| x[0].sin() + 0.5 * x[1] + noise.sample(&mut rng))
        .collect();
    (x, y)
}

/// The spread of one estimator's gradient: per coordinate of each layer's weight
/// locations, the mean and the variance over the draws.
#[derive(Clone, Debug)]
pub struct Spread {
    /// Mean gradient per coordinate, `[layer][coordinate]`.
    pub mean: [Vec<f64>; 2],
    /// Variance per coordinate (unbiased), `[layer][coordinate]`.
    pub variance: [Vec<f64>; 2],
    /// Draws.
    pub draws: usize,
}

impl Spread {
    /// The variance averaged over the coordinates of `layer`.
    pub fn mean_variance(&self, layer: usize) -> f64 {
        let v = &self.variance[layer];
        v.iter().sum::<f64>() / v.len().max(1) as f64
    }
}

fn to_vec(t: Tensor<2>) -> Result<Vec<f64>, Error> {
    t.into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .map_err(|e| Error::Device(format!("{e:?}")))
}

/// `repeats` gradients of the negative ELBO (one draw, [`TraceElbo`]) with respect to the
/// weight locations of `net`'s two layers, on the batch `(x, y)` standing for `total` rows,
/// each with fresh noise from a stream of `seed`.
///
/// # Errors
/// The model's and the ELBO's errors.
pub fn gradient_spread(
    net: &Net,
    (x, y): (&Tensor<2>, &Tensor<2>),
    total: usize,
    repeats: usize,
    seed: u64,
) -> Result<Spread, Error> {
    // As a fit does: the parameters tracked, the data on the autodiff device.
    let net = net.clone().train();
    let (x, y) = (x.clone().autodiff(), y.clone().autodiff());
    let device = x.device();
    let rows = x.dims()[0];
    let data: Values = [("y".to_string(), y.clone())].into_iter().collect();
    let mut rng = Rng::seed_from_u64(seed);
    let mut draws: Vec<[Vec<f64>; 2]> = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let mut ctx = Ctx::new(rows, device.clone(), &mut rng, Unfilled::RequireGuide)
            .with(Handler::Condition(&data))
            .with(Handler::ScaleLocal(total as f64 / rows as f64));
        let mean = net.forward(x.clone());
        ctx.sample("y", Normal::new(mean, NOISE))?;
        let particle = Particle {
            model: ctx.into_trace(),
            guide: GuideTrace::new(),
        };
        let estimate = TraceElbo::default().estimate(vec![particle], None, &device)?;
        let grads = estimate.surrogate.neg().backward();
        let grad = |p: &BayesianDense| -> Result<Vec<f64>, Error> {
            let g = p
                .weight_loc
                .val()
                .grad(&grads)
                .ok_or_else(|| Error::Device("no gradient".into()))?;
            to_vec(g)
        };
        draws.push([grad(&net.l1)?, grad(&net.l2)?]);
    }
    let n = draws.len() as f64;
    let moments = |layer: usize| {
        let k = draws[0][layer].len();
        let mean: Vec<f64> = (0..k)
            .map(|j| draws.iter().map(|d| d[layer][j]).sum::<f64>() / n)
            .collect();
        let variance = (0..k)
            .map(|j| {
                draws
                    .iter()
                    .map(|d| (d[layer][j] - mean[j]).powi(2))
                    .sum::<f64>()
                    / (n - 1.0)
            })
            .collect();
        (mean, variance)
    };
    let (m1, v1) = moments(0);
    let (m2, v2) = moments(1);
    Ok(Spread {
        mean: [m1, m2],
        variance: [v1, v2],
        draws: draws.len(),
    })
}

/// The training data as tensors: `x` `[rows, 2]`, `y` `[rows, 1]`.
pub fn tensors(x: &[[f64; INPUTS]], y: &[f64], device: &Device) -> (Tensor<2>, Tensor<2>) {
    let flat: Vec<f32> = x.iter().flat_map(|r| r.map(|v| v as f32)).collect();
    let ys: Vec<f32> = y.iter().map(|&v| v as f32).collect();
    (
        Tensor::from_data(TensorData::new(flat, [x.len(), INPUTS]), device),
        Tensor::from_data(TensorData::new(ys, [y.len(), 1]), device),
    )
}

/// A model of `net`, fitted on `train` for `epochs` epochs of batches of `batch_size`.
///
/// # Errors
/// The fit's errors.
pub fn fitted(
    net: Net,
    train: &Data,
    epochs: usize,
    batch_size: usize,
    seed: u64,
) -> Result<(Net, FitReport), Error> {
    let mut model = dense_model!(net);
    let report = model.fit(
        train,
        VI::new(epochs)
            .batch_size(batch_size)
            .lr(0.01)
            .seed(seed)
            .quiet(true),
    )?;
    Ok((model.params().nn.clone(), report))
}

fn run(opts: &Options) -> Result<(), Error> {
    let device = Device::default();
    device.seed(opts.seed);
    let (x, y) = simulate(opts.rows, opts.seed);
    let (x_test, y_test) = simulate(1000, opts.seed.wrapping_add(1));
    let train = Data::new().with("x", x.clone())?.with("y", &y)?;
    let test = Data::new().with("x", x_test)?.with("y", &y_test)?;

    let start = Net::new(&device, opts.hidden, DenseNoise::Local)?;
    let (warm, _) = fitted(start.clone(), &train, opts.warm_epochs, 100, opts.seed)?;
    println!(
        "Gradient of the negative ELBO w.r.t. the weight locations: variance per coordinate \
         (mean over coordinates), {} draws on a fixed batch of M rows of N = {}, after {} \
         epochs of fit",
        opts.repeats, opts.rows, opts.warm_epochs
    );
    println!("| M | estimator | layer 1 | ratio to shared | layer 2 | ratio to shared |");
    println!("|---:|---|---:|---:|---:|---:|");
    for &m in &opts.batches {
        let m = m.min(opts.rows);
        let (xt, yt) = tensors(&x[..m], &y[..m], &device);
        let mut shared: Option<Spread> = None;
        for noise in ESTIMATORS {
            let net = warm.clone().with_noise(noise);
            let spread = gradient_spread(&net, (&xt, &yt), opts.rows, opts.repeats, opts.seed)?;
            let base = shared.get_or_insert_with(|| spread.clone());
            println!(
                "| {m} | {noise:?} | {:.4e} | {:.3} | {:.4e} | {:.3} |",
                spread.mean_variance(0),
                spread.mean_variance(0) / base.mean_variance(0),
                spread.mean_variance(1),
                spread.mean_variance(1) / base.mean_variance(1),
            );
        }
    }
    if opts.epochs == 0 {
        return Ok(());
    }
    println!(
        "\nFits from the same start: {} epochs, batch {}, Adam 0.01 (cosine decay); loss per \
         row = mean of the last 10% of epochs; held-out: 1000 points, log predictive density \
         per point over 100 draws",
        opts.epochs, opts.batch_size
    );
    println!("| estimator | loss per row | held-out log predictive | ms per step |");
    println!("|---|---:|---:|---:|");
    let steps = opts.epochs * opts.rows.div_ceil(opts.batch_size);
    let tail = |r: &FitReport| {
        let per_row = r.losses_per_row();
        let k = (per_row.len() / 10).max(1);
        per_row[per_row.len() - k..].iter().sum::<f64>() / k as f64
    };
    let held_out = |lp: LogProbs| -> f64 {
        let v = lp.get("y").unwrap_or(&[]);
        v.iter().map(|&l| f64::from(l)).sum::<f64>() / v.len().max(1) as f64
    };
    let vi = || {
        VI::new(opts.epochs)
            .batch_size(opts.batch_size)
            .lr(0.01)
            .seed(opts.seed)
            .quiet(true)
    };
    let row = |name: &str, report: &FitReport, lpd: f64| {
        println!(
            "| {name} | {:.4} | {lpd:.4} | {:.3} |",
            tail(report),
            report.seconds * 1e3 / steps as f64
        );
    };
    for noise in ESTIMATORS {
        let net = start.clone().with_noise(noise);
        let mut model = dense_model!(net);
        let report = model.fit(&train, vi())?;
        let lpd = held_out(model.log_predictive(["y"], &test, 100)?);
        row(&format!("{noise:?}"), &report, lpd);
    }
    let mut lifted =
        dense_model!(PlainNet::new(&device, opts.hidden)).lift("nn", Normal::new(0.0, 1.0))?;
    let report = lifted.fit(&train, vi().guide(AutoNormal::default().init_scale(0.05)))?;
    let lpd = held_out(lifted.log_predictive(["y"], &test, 100)?);
    row("lifted Linear + AutoNormal", &report, lpd);
    Ok(())
}

fn main() {
    let opts = Options::parse();
    if let Err(e) = run(&opts) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
