//! NUTS benchmark: ESS per second (the bulk ESS of the slowest parameter over the sampling
//! wall time, warm-up included) on eight schools and on a logistic regression with `N = 10^4`
//! rows and `D = 20` features. `scripts/bench_nuts.sh` runs it beside NumPyro's NUTS on the
//! same models and data (`scripts/bench_nuts_numpyro.py`) and prints the ratios.
//!
//! ```text
//! cargo run --release --example bench_nuts -- [--model schools|logreg|both] [--data logreg.json]
//!     [--gradient tape|autodiff|both]
//! ```
//!
//! One JSON line per model and gradient path (the log-joint's tape, the default of
//! `Model::sample`, and burn's autodiff, `Nuts::tape(false)`): `gradient`, `wall_s`,
//! `min_ess_bulk`, `slowest`, `ess_per_s`, `divergences`, `mean_num_steps`,
//! `gradients_after_warmup`.

use clap::Parser;
use inferrs::prelude::*;
use inferrs::{Error, Gradient, Samples};
use rand::SeedableRng;
use rand_distr::{Bernoulli as RBernoulli, Distribution as _, StandardNormal};

#[macro_use]
#[path = "eight_schools/schools.rs"]
mod schools;

// As every example and benchmark of the repository (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Command-line options.
#[derive(Clone, Debug, Parser)]
struct Options {
    /// Which model: `schools`, `logreg` or `both`.
    #[arg(long, default_value = "both")]
    model: String,
    /// Chains (each in a thread).
    #[arg(long, default_value_t = 4)]
    chains: usize,
    /// Warm-up draws per chain.
    #[arg(long, default_value_t = 1000)]
    warmup: usize,
    /// Draws per chain.
    #[arg(long, default_value_t = 1000)]
    draws: usize,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The logistic regression's data as written by `bench_nuts_numpyro.py --write-data`
    /// (`{"x": [[..20]..], "y": [..]}`); simulated here when not given.
    #[arg(long)]
    data: Option<String>,
    /// Which gradient: `tape` (the default of `Model::sample`), `autodiff`
    /// (`Nuts::tape(false)`) or `both`, one after the other.
    #[arg(long, default_value = "both")]
    gradient: String,
    /// Rows of the simulated logistic regression (without `--data`).
    #[arg(long, default_value_t = N)]
    rows: usize,
}

const D: usize = 20;
const N: usize = 10_000;

/// The logistic regression's features and labels.
type Rows = (Vec<[f32; D]>, Vec<f32>);

/// `n` rows of the logistic regression: `x ~ N(0, 1)^D`, `w ~ N(0, 1)^D`, `b = 0.5`,
/// `y ~ Bernoulli(sigmoid(x w + b))`.
fn simulate(n: usize) -> Rows {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let w: [f64; D] = std::array::from_fn(|_| StandardNormal.sample(&mut rng));
    (0..n)
        .map(|_| {
            let x: [f64; D] = std::array::from_fn(|_| StandardNormal.sample(&mut rng));
            let logit = 0.5 + x.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
            let y = RBernoulli::new(1.0 / (1.0 + (-logit).exp())).is_ok_and(|b| b.sample(&mut rng));
            (x.map(|v| v as f32), f32::from(u8::from(y)))
        })
        .unzip()
}

/// The rows of a JSON file of the NumPyro script.
fn read(path: &str) -> Result<Rows, Box<dyn std::error::Error>> {
    #[derive(serde::Deserialize)]
    struct File {
        x: Vec<[f32; D]>,
        y: Vec<f32>,
    }
    let rows: File = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    Ok((rows.x, rows.y))
}

/// The figures of one run, as one JSON line.
fn report(model: &str, samples: &Samples) -> Result<String, Error> {
    let gradient = match samples.gradient() {
        Gradient::Tape { .. } => "tape",
        Gradient::Rows { .. } => "row-blocked tape",
        Gradient::Autodiff { .. } => "autodiff",
    };
    let summary = samples.summary()?;
    let (slowest, ess) = summary
        .iter()
        .map(|(l, s)| (l.as_str(), s.ess_bulk))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or(("none", f64::NAN));
    let wall = samples.wall_time().as_secs_f64();
    let stats: Vec<_> = samples.stats().iter().flatten().collect();
    let steps = stats.iter().map(|s| s.steps as f64).sum::<f64>() / stats.len() as f64;
    // Gradients after warm-up (one per leapfrog step); warm-up's are about as many again.
    let gradients: u64 = stats.iter().map(|s| s.steps).sum();
    Ok(format!(
        "{{\"model\": \"{model}\", \"impl\": \"inferrs\", \"gradient\": \"{gradient}\", \
         \"wall_s\": {wall:.3}, \
         \"min_ess_bulk\": {ess:.1}, \"slowest\": \"{slowest}\", \"ess_per_s\": {:.1}, \
         \"divergences\": {}, \"mean_num_steps\": {steps:.2}, \"chains\": {}, \
         \"gradients_after_warmup\": {gradients}}}",
        ess / wall,
        samples.divergences(),
        samples.n_chains(),
    ))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opts = Options::parse();
    let tapes: &[bool] = match opts.gradient.as_str() {
        "tape" => &[true],
        "autodiff" => &[false],
        _ => &[true, false],
    };
    let nuts = |tape: bool| {
        Nuts::new()
            .chains(opts.chains)
            .warmup(opts.warmup)
            .draws(opts.draws)
            .seed(opts.seed)
            .tape(tape)
            .quiet()
    };
    if matches!(opts.model.as_str(), "schools" | "both") {
        let data = schools::data()?;
        for &tape in tapes {
            let mut model = noncentred!();
            let samples = model.sample(&data, nuts(tape))?;
            println!("{}", report("schools", &samples)?);
        }
    }
    if matches!(opts.model.as_str(), "logreg" | "both") {
        let (x, y) = match &opts.data {
            Some(path) => read(path)?,
            None => simulate(opts.rows),
        };
        let data = Data::new().with("x", x)?.with("y", y)?;
        for &tape in tapes {
            let mut model = probmodel! {
                w ~ Normal(vec![0.0; 20], 1.0);
                b ~ Normal(0.0, 1.0);
                datamodel {
                    input x;
                    y ~ Bernoulli(x.matmul(w.transpose()) + b);
                }
            };
            let samples = model.sample(&data, nuts(tape))?;
            println!("{}", report("logreg", &samples)?);
        }
    }
    Ok(())
}
