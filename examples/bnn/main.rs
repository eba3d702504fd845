//! A Bayesian neural network for regression, as InferPy's BNN tutorial (issue 3, part 7),
//! written as a Bayesian module (issue 10, part 5): a burn network `D -> H (tanh) -> 1`
//! (`D = 2` inputs, `H` from `--hidden`), lifted with `Model::lift` so that every weight and
//! bias is a global latent variable with an `N(0, 1)` prior (`nn.fc1.weight`, `nn.fc1.bias`,
//! `nn.fc2.weight`, `nn.fc2.bias`), the likelihood `y ~ N(nn(x), NOISE)` with the noise known,
//! and the mean-field automatic guide `AutoNormal` covering every weight.
//!
//! The data are `y = sin(x1) + 0.5 x2 + N(0, NOISE^2)` with `x1` uniform on two intervals
//! separated by a gap and `x2` uniform on `[-1, 1]`, so the posterior-predictive band is narrow
//! on the data and widens in the gap, where the data say nothing. The run plots the slice
//! `x2 = 0` (the data as `y - 0.5 x2`, the predictive mean and the 90% band) to
//! `OUT/bnn.png`.
//!
//! ```text
//! cargo run --release --example bnn -- --epochs 4000 --seed 0 --out out/bnn
//! ```

mod plots;

use std::path::PathBuf;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::tanh;
use clap::Parser;
use inferrs::prelude::*;
use rand::{Rng as _, SeedableRng};
use rand_distr::{Distribution as _, Normal as RNormal};

/// Standard deviation of the observation noise (known to the model).
pub const NOISE: f64 = 0.1;
/// Inputs of the network, `x = (x1, x2)`.
pub const INPUTS: usize = 2;
/// The two intervals of the training inputs' `x1`; the gap between them has no data.
pub const INTERVALS: [(f64, f64); 2] = [(-5.0, -2.0), (2.0, 5.0)];
/// The interval of the inputs' `x2`.
pub const X2: (f64, f64) = (-1.0, 1.0);
/// The effect of `x2` in the truth, `sin(x1) + SLOPE2 x2`.
pub const SLOPE2: f64 = 0.5;
/// The interval of `x1` on the prediction grid (at `x2 = 0`).
pub const GRID: (f64, f64) = (-7.0, 7.0);
/// Points of the prediction grid.
pub const GRID_POINTS: usize = 141;

/// Options of a run.
#[derive(Clone, Debug, Parser)]
#[command(about = "A Bayesian neural network (InferPy's tutorial) fitted with inferrs")]
pub struct Options {
    /// Hidden units of the network.
    #[arg(long, default_value_t = 20)]
    pub hidden: usize,
    /// Initial standard deviation of every Normal of the guide.
    #[arg(long, default_value_t = 0.1)]
    pub init_scale: f64,
    /// Training points (half in each interval).
    #[arg(long, default_value_t = 100)]
    pub rows: usize,
    /// Held-out points from the same intervals, for the coverage of the band.
    #[arg(long, default_value_t = 400)]
    pub heldout: usize,
    /// Epochs of the fit (full batch).
    #[arg(long, default_value_t = 4000)]
    pub epochs: usize,
    /// Initial learning rate of Adam (cosine decay to 1% of it).
    #[arg(long, default_value_t = 0.05)]
    pub lr: f64,
    /// Draws of the guide per epoch in the ELBO estimate.
    #[arg(long, default_value_t = 1)]
    pub particles: usize,
    /// Posterior-predictive draws for the mean and the band.
    #[arg(long, default_value_t = 200)]
    pub draws: usize,
    /// Seed of the simulated data.
    #[arg(long, default_value_t = 0)]
    pub data_seed: u64,
    /// Seed of the fit and of the predictive draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where `bnn.png` goes.
    #[arg(long, default_value = "out/bnn")]
    pub out: PathBuf,
    /// Hide progress bars and loss lines.
    #[arg(long)]
    pub quiet: bool,
}

/// The posterior-predictive distribution of `y` at some inputs, from the draws.
#[derive(Clone, Debug, Default)]
pub struct Band {
    /// The inputs `(x1, x2)`.
    pub x: Vec<[f64; INPUTS]>,
    /// The mean of the draws at each input.
    pub mean: Vec<f64>,
    /// Their 5% quantile.
    pub lo: Vec<f64>,
    /// Their 95% quantile.
    pub hi: Vec<f64>,
}

/// What a run measured.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Training inputs.
    pub x_train: Vec<[f64; INPUTS]>,
    /// Training targets.
    pub y_train: Vec<f64>,
    /// Held-out inputs (same intervals, fresh noise).
    pub x_heldout: Vec<[f64; INPUTS]>,
    /// Held-out targets.
    pub y_heldout: Vec<f64>,
    /// The predictive distribution on the grid over [`GRID`] at `x2 = 0`.
    pub grid: Band,
    /// The predictive distribution at the training inputs.
    pub train: Band,
    /// The predictive distribution at the held-out inputs.
    pub heldout: Band,
    /// The loss (negative ELBO, summed over rows) of every epoch.
    pub losses: Vec<f64>,
    /// Wall-clock seconds of the fit.
    pub fit_seconds: f64,
}

/// The network `D -> H (tanh) -> 1`, a plain burn module: lifted, its tensors are the
/// latent variables.
#[derive(Module, Debug)]
pub struct Mlp {
    fc1: Linear,
    fc2: Linear,
}

impl Mlp {
    /// A network with `inputs` inputs and `hidden` tanh units (burn's initialisation: its
    /// values only give the shapes once lifted).
    pub fn new(device: &Device, inputs: usize, hidden: usize) -> Self {
        Self {
            fc1: LinearConfig::new(inputs, hidden).init(device),
            fc2: LinearConfig::new(hidden, 1).init(device),
        }
    }

    /// `tanh(x W1 + b1) W2 + b2`.
    ///
    /// # Shapes
    /// * `x`: `[n, inputs]`
    /// * returns: `[n, 1]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.fc2.forward(tanh(self.fc1.forward(x)))
    }
}

/// The function that generates the data, `sin(x1) + SLOPE2 x2`.
pub fn truth(x: [f64; INPUTS]) -> f64 {
    x[0].sin() + SLOPE2 * x[1]
}

/// `rows` points `(x, truth(x) + N(0, NOISE^2))`, `x1` uniform on [`INTERVALS`] (alternating
/// between them) and `x2` uniform on [`X2`], from `seed`.
pub fn simulate(rows: usize, seed: u64) -> (Vec<[f64; INPUTS]>, Vec<f64>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // NOISE is positive and finite, so the Normal builds.
    let noise = RNormal::new(0.0, NOISE).unwrap_or_else(|_| unreachable!());
    let x: Vec<[f64; INPUTS]> = (0..rows)
        .map(|i| {
            let (a, b) = INTERVALS[i % 2];
            [rng.random_range(a..b), rng.random_range(X2.0..X2.1)]
        })
        .collect();
    let y = x
        .iter()
        .map(|&x| truth(x) + noise.sample(&mut rng))
        .collect();
    (x, y)
}

/// Whether `x1` lies in the gap between the two training intervals.
pub fn in_gap(x: f64) -> bool {
    x > INTERVALS[0].1 && x < INTERVALS[1].0
}

/// Whether `x1` lies in one of the training intervals.
pub fn on_data(x: f64) -> bool {
    INTERVALS.iter().any(|&(a, b)| (a..=b).contains(&x))
}

/// Simulates the data, fits the lifted network's posterior with `AutoNormal` and draws the
/// posterior-predictive distribution on a grid, the training and the held-out inputs.
///
/// # Errors
/// Any error of the fit or of the queries.
pub fn run(opts: &Options) -> Result<Outcome, Error> {
    let device = Device::default();
    device.seed(opts.seed);
    let (x_train, y_train) = simulate(opts.rows, opts.data_seed);
    let (x_heldout, y_heldout) = simulate(opts.heldout, opts.data_seed.wrapping_add(1));
    let train = Data::new()
        .with("x", x_train.clone())?
        .with("y", &y_train)?;
    let mut model = datamodel! {
        nn = Mlp::new(&device, INPUTS, opts.hidden);
        input x;
        y ~ Normal(nn(x), NOISE);
    }
    .lift("nn", Normal::new(0.0, 1.0))?; // every weight and bias ~ N(0, 1)
    let report = model.fit(
        &train,
        VI::new(opts.epochs)
            .lr(opts.lr)
            .particles(opts.particles)
            .guide(AutoNormal::default().init_scale(opts.init_scale))
            .seed(opts.seed)
            .quiet(opts.quiet),
    )?;
    let grid_x: Vec<[f64; INPUTS]> = (0..GRID_POINTS)
        .map(|i| {
            let x1 = GRID.0 + (GRID.1 - GRID.0) * i as f64 / (GRID_POINTS - 1) as f64;
            [x1, 0.0]
        })
        .collect();
    let band = |x: &[[f64; INPUTS]]| -> Result<Band, Error> {
        let inputs = Data::new().with("x", x.to_vec())?;
        let draws = model
            .posterior_predictive(["y"], &inputs)?
            .sample_n(opts.draws)?;
        let y = &draws["y"];
        Ok(Band {
            x: x.to_vec(),
            mean: y.mean(),
            lo: y.quantile(0.05),
            hi: y.quantile(0.95),
        })
    };
    let grid = band(&grid_x)?;
    let train_band = band(&x_train)?;
    let heldout = band(&x_heldout)?;
    Ok(Outcome {
        x_train,
        y_train,
        x_heldout,
        y_heldout,
        grid,
        train: train_band,
        heldout,
        losses: report.losses,
        fit_seconds: report.seconds,
    })
}

/// The figures of a run: the RMSE of the predictive mean against the truth on the training
/// inputs, the fraction of held-out points inside the 90% band, and the mean band width in the
/// gap and on the data (on the grid, at `x2 = 0`).
#[derive(Clone, Copy, Debug)]
pub struct Figures {
    /// Root mean square of `mean(x) - truth(x)` over the training inputs.
    pub rmse_train: f64,
    /// Fraction of held-out points with `lo <= y <= hi`.
    pub coverage: f64,
    /// Mean width `hi - lo` over the grid points in the gap.
    pub width_gap: f64,
    /// Mean width over the grid points in the training intervals.
    pub width_data: f64,
}

impl Outcome {
    /// The figures of the run.
    pub fn figures(&self) -> Figures {
        let n = self.x_train.len().max(1) as f64;
        let rmse_train = (self
            .train
            .x
            .iter()
            .zip(&self.train.mean)
            .map(|(&x, m)| (m - truth(x)).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        let inside = self
            .y_heldout
            .iter()
            .zip(self.heldout.lo.iter().zip(&self.heldout.hi))
            .filter(|(y, (lo, hi))| (*lo..=*hi).contains(y))
            .count();
        let coverage = inside as f64 / self.y_heldout.len().max(1) as f64;
        let mean_width = |keep: fn(f64) -> bool| {
            let widths: Vec<f64> = (0..self.grid.x.len())
                .filter(|&i| keep(self.grid.x[i][0]))
                .map(|i| self.grid.hi[i] - self.grid.lo[i])
                .collect();
            widths.iter().sum::<f64>() / widths.len().max(1) as f64
        };
        Figures {
            rmse_train,
            coverage,
            width_gap: mean_width(in_gap),
            width_data: mean_width(on_data),
        }
    }

    /// Draws the slice `x2 = 0` to `path` (PNG): the data as `y - SLOPE2 x2` (the truth is
    /// additive, so these scatter around `sin(x1)`), the predictive mean, the 90% band and
    /// `sin(x1)`.
    ///
    /// # Errors
    /// On I/O or drawing failure.
    pub fn plot(&self, path: impl AsRef<std::path::Path>) -> plots::PlotResult {
        let x1: Vec<f64> = self.x_train.iter().map(|x| x[0]).collect();
        let adjusted: Vec<f64> = self
            .x_train
            .iter()
            .zip(&self.y_train)
            .map(|(x, y)| y - SLOPE2 * x[1])
            .collect();
        plots::predictive_band(
            path,
            "Bayesian neural network (a lifted 2 -> H -> 1 MLP): posterior predictive at x2 = 0",
            (&x1, &adjusted),
            &self.grid,
            f64::sin,
            INTERVALS[0].1..INTERVALS[1].0,
        )
    }
}

fn main() {
    let opts = Options::parse();
    let outcome = match run(&opts) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let png = opts.out.join("bnn.png");
    if let Err(e) = std::fs::create_dir_all(&opts.out)
        .map_err(Into::into)
        .and_then(|()| outcome.plot(&png))
    {
        eprintln!("error: writing {}: {e}", png.display());
        std::process::exit(1);
    }
    let f = outcome.figures();
    println!(
        "RMSE of the predictive mean against the truth on the training x  {:.4}",
        f.rmse_train
    );
    println!(
        "held-out points inside the 90% band                              {:.1}%",
        100.0 * f.coverage
    );
    println!(
        "mean band width at x2 = 0: gap {:.3}, on the data {:.3} (ratio {:.2})",
        f.width_gap,
        f.width_data,
        f.width_gap / f.width_data
    );
    println!(
        "fit: {} epochs in {:.2} s; wrote {}",
        outcome.losses.len(),
        outcome.fit_seconds,
        png.display()
    );
}
