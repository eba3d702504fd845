//! The Mixture Density Network of InferPy's tutorial (Bishop 1994) on David Ha's toy inverse
//! problem: `y ~ U(-10.5, 10.5)`, `x = 7 sin(0.75 y) + 0.5 y + N(0, 1)`; predict `y` from `x`.
//!
//! A plain regression network (squared error) predicts the conditional mean and misses every
//! branch; the MDN learns the whole conditional density. The held-out negative log-likelihood is
//! printed beside the Bayes-optimal one (the true p(y | x), integrated numerically).
//!
//! ```text
//! cargo run --release --example mdn -- --epochs 4000 --seed 0 --out out/mdn
//! ```

mod diagnose;
mod plots;
mod toy;

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::TensorData;
use burn::tensor::activation::relu;
use clap::Parser;
use inferrs::prelude::*;
use serde::Serialize;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A plain regression network `1 -> 15 -> 15 -> 1`: fitted with a Normal likelihood of fixed
/// scale, maximum likelihood is least squares.
#[derive(Module, Debug)]
pub struct RegressionNet {
    hidden1: Linear,
    hidden2: Linear,
    out: Linear,
}

impl RegressionNet {
    /// A network with `hidden` units per hidden layer.
    pub fn new(device: &Device, hidden: usize) -> Self {
        Self {
            hidden1: LinearConfig::new(1, hidden).init(device),
            hidden2: LinearConfig::new(hidden, hidden).init(device),
            out: LinearConfig::new(hidden, 1).init(device),
        }
    }

    /// The predicted mean of y.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.out
            .forward(relu(self.hidden2.forward(relu(self.hidden1.forward(x)))))
    }
}

/// Options of a run.
#[derive(Clone, Debug, Parser)]
#[command(about = "The Mixture Density Network of InferPy's tutorial, fitted with inferrs")]
pub struct Options {
    /// Epochs of the MDN fit (full batch).
    #[arg(long, default_value_t = 4000)]
    pub epochs: usize,
    /// Seed of the weights' initialisation and of every draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where the PNGs and summary.json go.
    #[arg(long, default_value = "out/mdn")]
    pub out: PathBuf,
    /// Hide progress bars and loss lines.
    #[arg(long)]
    pub quiet: bool,
    /// Initial learning rate of Adam (inferrs' default when not given).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Units in each hidden layer of the MDN's `MixtureNet`.
    #[arg(long, default_value_t = 15)]
    pub hidden: usize,
    /// Mixture components of the MDN.
    #[arg(long, default_value_t = 20)]
    pub components: usize,
    /// Print why a fit may be stuck: dead units, unused components, the excess by band of y.
    #[arg(long)]
    pub diagnose: bool,
    /// Fit and score other draws of the same toy problem: a JSON object with the arrays
    /// `x_train`, `y_train`, `x_test` and `y_test` (for example the peers' numpy draws, so that
    /// an excess can be set beside theirs on the same points). The example's own draws when
    /// not given.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Write the points the run uses to this file (the JSON `--data` reads) and stop.
    #[arg(long)]
    pub write_data: Option<PathBuf>,
}

/// Writes the points of a run to `path`, as the JSON `--data` reads.
fn write_points(opts: &Options, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let [x_train, y_train, x_test, y_test] = points(opts)?;
    let file = serde_json::json!({
        "x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test,
    });
    std::fs::write(path, file.to_string())?;
    Ok(())
}

/// The training and held-out points: `opts.data`'s, or the example's own draws.
fn points(opts: &Options) -> Result<[Vec<f32>; 4], Box<dyn std::error::Error>> {
    let Some(path) = &opts.data else {
        let (x_train, y_train) = toy::make_data(toy::N_TRAIN, toy::TRAIN_SEED);
        let (x_test, y_test) = toy::make_data(toy::N_TEST, toy::TEST_SEED);
        return Ok([x_train, y_train, x_test, y_test]);
    };
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let column = |name: &str| -> Result<Vec<f32>, String> {
        file[name]
            .as_array()
            .ok_or_else(|| format!("{}: no array `{name}`", path.display()))?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_f64().map(|v| v as f32).ok_or_else(|| {
                    format!("{}: `{name}` row {i} is not a number: {v}", path.display())
                })
            })
            .collect()
    };
    Ok([
        column("x_train")?,
        column("y_train")?,
        column("x_test")?,
        column("y_test")?,
    ])
}

/// What a run measured (written to `summary.json`).
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Mean negative log-likelihood of y given x on 5000 held-out points.
    pub heldout_nll: f64,
    /// The same for the true conditional density (the floor no model can beat on average).
    pub bayes_nll: f64,
    /// `heldout_nll - bayes_nll`.
    pub excess_nll: f64,
    /// The part of `excess_nll` from held-out points with `|y| > 9.5`, near the hard edges of the
    /// true density at `±10.5`, which a Gaussian mixture can only round off.
    pub excess_edges: f64,
    /// The part of `excess_nll` from the other held-out points.
    pub excess_interior: f64,
    /// Mean NLL of y given x on the training points.
    pub train_nll: f64,
    /// Mean NLL of the regression network's Normal(mean, 1) on the held-out points.
    pub regression_heldout_nll: f64,
    /// Wall-clock seconds of the MDN fit.
    pub fit_seconds: f64,
    /// Epochs of the MDN fit.
    pub epochs: usize,
    /// The seed.
    pub seed: u64,
    /// The initial learning rate of the MDN fit.
    pub lr: f64,
    /// Number of training points.
    pub n_train: usize,
    /// Number of held-out points.
    pub n_test: usize,
    /// Hidden units per layer of the MDN's network.
    pub hidden: usize,
    /// Mixture components.
    pub components: usize,
    /// The last loss of the fit per row (negative ELBO / N, including the model's `x` term).
    pub final_loss_per_row: f64,
}

/// Hidden units of the regression network.
const HIDDEN: usize = 15;
/// `|y|` beyond which a held-out point counts as near the edges of the prior's support.
const EDGE: f32 = 9.5;

/// Runs the tutorial: data, the regression net that fails, the MDN, its evaluation and plots.
pub fn run(opts: &Options) -> Result<Summary, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&opts.out)?;
    let device = Device::default();
    device.seed(opts.seed);

    let [x_train, y_train, x_test, y_test] = points(opts)?;
    let train = Data::new().with("x", &x_train)?.with("y", &y_train)?;
    let test = Data::new().with("x", &x_test)?.with("y", &y_test)?;

    // 1. The plain regression network: least squares predicts E[y | x] and misses the branches.
    let mut regression = datamodel! {
        net = RegressionNet::new(&device, HIDDEN);
        x ~ Normal(0.0, 10.0);
        y ~ Normal(net(x), 1.0);
    };
    regression.fit(
        &train,
        VI::new(opts.epochs.min(1000))
            .seed(opts.seed)
            .quiet(opts.quiet),
    )?;
    let regression_heldout_nll = -regression.log_prob(["y"], &test)?.mean();
    let grid: Vec<f32> = (0..=200).map(|i| -15.0 + 30.0 * i as f32 / 200.0).collect();
    let grid_x = Tensor::<2>::from_data(TensorData::new(grid.clone(), [grid.len(), 1]), &device);
    let means = regression
        .params()
        .net
        .forward(grid_x)
        .into_data()
        .try_to_vec::<f32>()?;
    let curve: Vec<(f32, f32)> = grid.iter().copied().zip(means).collect();
    plots::scatter_with_curve(
        opts.out.join("regression.png"),
        "Least-squares regression predicts the mean and fails",
        &x_train,
        &y_train,
        &curve,
        "regression net",
    )?;

    // 2. The Mixture Density Network.
    let mut model = datamodel! {
        nn = MixtureNet::new(&device, opts.hidden, opts.components);
        x ~ Normal(0.0, 10.0);
        y ~ MixtureGaussian(nn(x));
    };
    let mut vi = VI::new(opts.epochs).seed(opts.seed).quiet(opts.quiet);
    if let Some(lr) = opts.lr {
        vi = vi.lr(lr);
    }
    let lr = vi.learning_rate();
    let report = model.fit(&train, vi)?;
    std::fs::write(opts.out.join("model.dot"), model.graph().to_dot())?;
    let heldout_points = model.log_prob(["y"], &test)?.per_row();
    let heldout_nll = -toy::mean(&heldout_points);
    let train_nll = -model.log_prob(["y"], &train)?.mean();
    let (bayes_points, _) = toy::bayes_nll_points(&x_test, &y_test);
    let bayes_nll = toy::mean(&bayes_points);
    // Where the excess sits: near the hard edges of the true density (|y| > 9.5) or inside.
    let (mut excess_edges, mut excess_interior) = (0.0, 0.0);
    for ((lp, bayes), y) in heldout_points.iter().zip(&bayes_points).zip(&y_test) {
        let excess = (-lp - bayes) / y_test.len() as f64;
        if y.abs() > EDGE {
            excess_edges += excess;
        } else {
            excess_interior += excess;
        }
    }

    if opts.diagnose {
        let excess: Vec<f64> = heldout_points
            .iter()
            .zip(&bayes_points)
            .map(|(lp, bayes)| -lp - bayes)
            .collect();
        diagnose::print(&device, &model.params().nn, &x_train, &y_test, &excess);
    }

    // 3. Plots: samples, mixture densities, loss curve.
    let test_x_only = Data::new().with("x", &x_test)?;
    let draws = model.posterior_predictive(["y"], &test_x_only)?.sample()?;
    plots::scatter_two(
        opts.out.join("samples.png"),
        "MDN: held-out data and posterior-predictive samples",
        (&x_test, &y_test, "held-out data"),
        (&x_test, draws["y"].as_slice(), "samples from the MDN"),
    )?;
    let panels = density_panels(&device, &model.params().nn, &[-10.0, -5.0, 0.0, 5.0, 10.0])?;
    plots::mixture_densities(
        opts.out.join("densities.png"),
        "p(y | x): the MDN (solid), its components (thin), the truth (dashed)",
        &panels,
    )?;
    plots::loss_curve(
        opts.out.join("loss.png"),
        "MDN fit: loss per row",
        &report.losses_per_row(),
        "negative ELBO / N",
    )?;

    let summary = Summary {
        heldout_nll,
        bayes_nll,
        excess_nll: heldout_nll - bayes_nll,
        excess_edges,
        excess_interior,
        train_nll,
        regression_heldout_nll,
        fit_seconds: report.seconds,
        epochs: opts.epochs,
        seed: opts.seed,
        lr,
        n_train: x_train.len(),
        n_test: x_test.len(),
        hidden: opts.hidden,
        components: opts.components,
        final_loss_per_row: report.final_loss_per_row(),
    };
    std::fs::write(
        opts.out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    Ok(summary)
}

/// The fitted mixture at a few inputs `xs`, with the true density, for the density plot.
fn density_panels(
    device: &Device,
    nn: &MixtureNet,
    xs: &[f32],
) -> Result<Vec<plots::Panel>, Box<dyn std::error::Error>> {
    let ys: Vec<f64> = (0..=400)
        .map(|i| -12.0 + 24.0 * f64::from(i) / 400.0)
        .collect();
    let x = Tensor::<2>::from_data(TensorData::new(xs.to_vec(), [xs.len(), 1]), device);
    let (locs, scales, logits) = nn.forward(x).into_parts();
    let k = locs.dims()[1];
    let weights = burn::tensor::activation::softmax(logits, 1)
        .into_data()
        .try_to_vec::<f32>()?;
    let locs = locs.into_data().try_to_vec::<f32>()?;
    let scales = scales.into_data().try_to_vec::<f32>()?;
    let mut panels = Vec::new();
    for (r, &x) in xs.iter().enumerate() {
        let components: Vec<Vec<f64>> = (0..k)
            .map(|c| {
                let (w, m, s) = (
                    f64::from(weights[r * k + c]),
                    f64::from(locs[r * k + c]),
                    f64::from(scales[r * k + c]),
                );
                ys.iter()
                    .map(|&y| {
                        let z = (y - m) / s;
                        w * (-0.5 * z * z).exp() / (s * (2.0 * std::f64::consts::PI).sqrt())
                    })
                    .collect()
            })
            .collect();
        let model_density = (0..ys.len())
            .map(|i| components.iter().map(|c| c[i]).sum())
            .collect();
        panels.push(plots::Panel {
            x,
            true_density: toy::true_density_grid(f64::from(x), &ys),
            ys: ys.clone(),
            model_density,
            components,
        });
    }
    Ok(panels)
}

fn main() {
    let opts = Options::parse();
    if let Some(path) = &opts.write_data {
        if let Err(e) = write_points(&opts, path) {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
        return;
    }
    match run(&opts) {
        Ok(s) => {
            println!("held-out NLL     {:.4}", s.heldout_nll);
            println!("Bayes-optimal    {:.4}", s.bayes_nll);
            println!(
                "excess           {:.4} nats per point ({:.4} from |y| > {EDGE}, {:.4} inside)",
                s.excess_nll, s.excess_edges, s.excess_interior
            );
            println!("train NLL        {:.4}", s.train_nll);
            println!(
                "regression NLL   {:.4} (Normal(mean, 1): the mean misses the branches)",
                s.regression_heldout_nll
            );
            println!(
                "fit              {:.1} s for {} epochs",
                s.fit_seconds, s.epochs
            );
            println!("wrote {}", Path::new(&opts.out).display());
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
