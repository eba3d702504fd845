//! Bayesian logistic regression recovering simulated weights (issue 3, part 7).
//!
//! Simulates `N` rows with `x ~ N(0, I_3)` and `y ~ Bernoulli(logits = x w)` for the true
//! weights `w = [1.5, -2.0, 0.5]`, puts the prior `w ~ N(0, I_3)` on the weights and fits the
//! posterior with the mean-field automatic guide `AutoNormal`. Prints the posterior mean and
//! standard deviation of every weight beside the true one.
//!
//! ```text
//! cargo run --release --example logistic_regression -- --epochs 1500 --seed 0
//! ```

use clap::Parser;
use inferrs::prelude::*;
use rand::SeedableRng;
use rand_distr::{Bernoulli as RBernoulli, Distribution as _, StandardNormal};

/// The weights that generate the data.
pub const TRUE_W: [f64; 3] = [1.5, -2.0, 0.5];

/// Options of a run.
#[derive(Clone, Debug, Parser)]
#[command(about = "Bayesian logistic regression with inferrs: recover simulated weights")]
pub struct Options {
    /// Number of simulated rows.
    #[arg(long, default_value_t = 500)]
    pub rows: usize,
    /// Epochs of the fit (full batch).
    #[arg(long, default_value_t = 1500)]
    pub epochs: usize,
    /// Initial learning rate of Adam (cosine decay to 1% of it).
    #[arg(long, default_value_t = 0.05)]
    pub lr: f64,
    /// Draws of the guide per epoch in the ELBO estimate.
    #[arg(long, default_value_t = 4)]
    pub particles: usize,
    /// Posterior draws for the summaries.
    #[arg(long, default_value_t = 4000)]
    pub draws: usize,
    /// Seed of the simulated data.
    #[arg(long, default_value_t = 0)]
    pub data_seed: u64,
    /// Seed of the fit and of the posterior draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Hide progress bars and loss lines.
    #[arg(long)]
    pub quiet: bool,
}

/// What a run measured.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The true weights.
    pub true_w: [f64; 3],
    /// Posterior mean of each weight (over the draws of the fitted guide).
    pub mean: Vec<f64>,
    /// Posterior standard deviation of each weight.
    pub sd: Vec<f64>,
    /// 5% posterior quantile of each weight.
    pub q05: Vec<f64>,
    /// 95% posterior quantile of each weight.
    pub q95: Vec<f64>,
    /// The loss (negative ELBO, summed over rows) of every epoch.
    pub losses: Vec<f64>,
    /// Wall-clock seconds of the fit.
    pub fit_seconds: f64,
}

/// The simulated data: `x` `[rows, 3]` standard normal and `y` in `{0, 1}` with
/// `P(y = 1) = sigmoid(x . TRUE_W)`, from `seed`.
pub fn simulate(rows: usize, seed: u64) -> (Vec<[f64; 3]>, Vec<f64>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(rows);
    let mut y = Vec::with_capacity(rows);
    for _ in 0..rows {
        let row: [f64; 3] = std::array::from_fn(|_| StandardNormal.sample(&mut rng));
        let logit: f64 = row.iter().zip(TRUE_W).map(|(a, b)| a * b).sum();
        let p = 1.0 / (1.0 + (-logit).exp());
        // `p` is in [0, 1] for every finite logit, so the Bernoulli always builds.
        let draw = RBernoulli::new(p).is_ok_and(|b| b.sample(&mut rng));
        x.push(row);
        y.push(if draw { 1.0 } else { 0.0 });
    }
    (x, y)
}

/// Simulates the data, fits the posterior of the weights with `AutoNormal` and summarises it.
///
/// # Errors
/// Any error of the fit or of the posterior query (an invalid option, a non-finite loss).
pub fn run(opts: &Options) -> Result<Outcome, Error> {
    let device = Device::default();
    device.seed(opts.seed);
    let (x, y) = simulate(opts.rows, opts.data_seed);
    let train = Data::new().with("x", x)?.with("y", y)?;
    let mut model = probmodel! {
        w ~ Normal(vec![0.0; 3], 1.0);                 // global: [1, 3]
        datamodel {
            x ~ Normal(vec![0.0; 3], 1.0);             // observed: [N, 3]
            y ~ Bernoulli(x.matmul(w.transpose()));    // logits [N, 1]
        }
    };
    let report = model.fit(
        &train,
        VI::new(opts.epochs)
            .lr(opts.lr)
            .particles(opts.particles)
            .guide(AutoNormal::default())
            .seed(opts.seed)
            .quiet(opts.quiet),
    )?;
    let draws = model.posterior(["w"])?.sample_n(opts.draws)?;
    let summary = draws["w"].summary();
    Ok(Outcome {
        true_w: TRUE_W,
        mean: summary.mean,
        sd: summary.sd,
        q05: summary.q05,
        q95: summary.q95,
        losses: report.losses,
        fit_seconds: report.seconds,
    })
}

fn main() {
    let opts = Options::parse();
    match run(&opts) {
        Ok(o) => {
            println!(
                "{:>6} {:>8} {:>10} {:>8} {:>10} {:>10}",
                "weight", "true", "mean", "sd", "5%", "95%"
            );
            for i in 0..3 {
                println!(
                    "{:>6} {:>8.3} {:>10.4} {:>8.4} {:>10.4} {:>10.4}",
                    format!("w[{i}]"),
                    o.true_w[i],
                    o.mean[i],
                    o.sd[i],
                    o.q05[i],
                    o.q95[i]
                );
            }
            let last = o.losses.last().copied().unwrap_or(f64::NAN);
            println!(
                "fit: {} epochs in {:.2} s, final loss {last:.2}",
                o.losses.len(),
                o.fit_seconds
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
