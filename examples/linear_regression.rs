//! Bayesian linear regression, the latent-variable tutorial: a `probmodel!` with global
//! weights, a `qmodel!` matched to them by name, the posterior against the closed-form
//! conjugate one, and prior and posterior-predictive queries.
//!
//! ```text
//! cargo run --release --example linear_regression -- --seed 0
//! ```
//!
//! Data: `y = 1.5 x - 0.7 + N(0, 1)`, 100 rows. Priors `w, b ~ N(0, 1)`: the posterior is
//! Gaussian with precision `P = I + X^T X` and mean `P^-1 X^T y` (X has columns x and 1).

use clap::Parser;
use inferrs::prelude::*;
use inferrs::{Error, Summary};
use rand::SeedableRng;
use rand_distr::{Distribution as _, Normal as RNormal};

/// Command-line options of the example.
#[derive(Clone, Debug, Parser)]
pub struct Options {
    /// Seed of the data and of the fits.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Epochs of each fit.
    #[arg(long, default_value_t = 3000)]
    pub epochs: usize,
}

/// The closed-form posterior of `(w, b)`.
#[derive(Clone, Debug)]
pub struct Conjugate {
    /// Posterior means of `w` and `b`.
    pub mean: [f64; 2],
    /// Posterior covariance.
    pub cov: [[f64; 2]; 2],
    /// Posterior precision (the inverse of `cov`).
    pub precision: [[f64; 2]; 2],
}

/// What the example computes.
pub struct Outcome {
    /// The closed form.
    pub exact: Conjugate,
    /// The mean-field q-model's posterior draws of `w` and `b`.
    pub qmodel: (Summary, Summary),
    /// The full-rank automatic guide's posterior draws of `w` and `b`, and their correlation.
    pub full_rank: (Summary, Summary, f64),
    /// Posterior-predictive draws of `y` at x = -2, 0, 3.
    pub predictive: Summary,
}

/// 100 rows of `y = 1.5 x - 0.7 + N(0, 1)`, `x ~ N(0.5, 2^2)`.
pub fn data(seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let noise = RNormal::new(0.0, 1.0).unwrap();
    let xs = RNormal::new(0.5, 2.0).unwrap();
    let x: Vec<f32> = (0..100).map(|_| xs.sample(&mut rng) as f32).collect();
    let y: Vec<f32> = x
        .iter()
        .map(|&x| (1.5 * f64::from(x) - 0.7 + noise.sample(&mut rng)) as f32)
        .collect();
    (x, y)
}

/// The conjugate posterior of `(w, b)` for unit prior and noise variances.
pub fn conjugate(x: &[f32], y: &[f32]) -> Conjugate {
    let (mut sxx, mut sx, mut sxy, mut sy) = (0.0, 0.0, 0.0, 0.0);
    for (&x, &y) in x.iter().zip(y) {
        let (x, y) = (f64::from(x), f64::from(y));
        sxx += x * x;
        sx += x;
        sxy += x * y;
        sy += y;
    }
    let precision = [[1.0 + sxx, sx], [sx, 1.0 + x.len() as f64]];
    let det = precision[0][0] * precision[1][1] - sx * sx;
    let cov = [
        [precision[1][1] / det, -sx / det],
        [-sx / det, precision[0][0] / det],
    ];
    let mean = [
        cov[0][0] * sxy + cov[0][1] * sy,
        cov[1][0] * sxy + cov[1][1] * sy,
    ];
    Conjugate {
        mean,
        cov,
        precision,
    }
}

/// Fits the model twice (a mean-field q-model, then a full-rank automatic guide) and queries it.
pub fn run(opts: &Options) -> Result<Outcome, Error> {
    let (x, y) = data(opts.seed);
    let train = Data::new().with("x", &x)?.with("y", &y)?;
    let exact = conjugate(&x, &y);

    let model = || {
        probmodel! {
            w ~ Normal(0.0, 1.0);                 // global: one value shared by every row
            b ~ Normal(0.0, 1.0);
            datamodel {
                x ~ Normal(0.0, 10.0);            // local: one value per data row
                y ~ Normal(w * x + b, 1.0);
            }
        }
    };

    // The q-model of InferPy's tutorial: a Normal per weight, scales kept positive by softplus.
    let mut mean_field = model();
    let q = qmodel! {
        w_loc = Parameter(0.0);
        w_scale = Parameter(0.0);
        w ~ Normal(w_loc, softplus(w_scale));
        b ~ Normal(Parameter(0.0), softplus(Parameter(0.0)));
    };
    let vi = VI::new(opts.epochs)
        .lr(0.05)
        .qmodel(q)
        .seed(opts.seed)
        .quiet(true);
    mean_field.fit(&train, vi)?;
    let draws = mean_field.posterior(["w", "b"])?.sample_n(4000)?;
    let qmodel = (draws["w"].summary(), draws["b"].summary());

    // A full-rank Normal over (w, b): it also captures their correlation.
    let mut full = model();
    let vi = VI::new(opts.epochs)
        .lr(0.05)
        .particles(4)
        .guide(AutoMultivariateNormal::default())
        .seed(opts.seed)
        .quiet(true);
    full.fit(&train, vi)?;
    let draws = full.posterior(["w", "b"])?.sample_n(4000)?;
    let corr = correlation(draws["w"].as_slice(), draws["b"].as_slice());
    let full_rank = (draws["w"].summary(), draws["b"].summary(), corr);

    // New rows, any number of them.
    let test = Data::new().with("x", &[-2.0f32, 0.0, 3.0])?;
    let predictive = full.posterior_predictive(["y"], &test)?.sample_n(4000)?["y"].summary();
    Ok(Outcome {
        exact,
        qmodel,
        full_rank,
        predictive,
    })
}

/// Sample correlation of two equally long series.
pub fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let ma = a.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let mb = b.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&u, &v) in a.iter().zip(b) {
        let (u, v) = (f64::from(u) - ma, f64::from(v) - mb);
        sab += u * v;
        saa += u * u;
        sbb += v * v;
    }
    sab / (saa * sbb).sqrt()
}

#[allow(dead_code)]
fn main() -> Result<(), Error> {
    let opts = Options::parse();
    let out = run(&opts)?;
    let e = &out.exact;
    let (sw, sb) = (e.cov[0][0].sqrt(), e.cov[1][1].sqrt());
    let corr = e.cov[0][1] / (sw * sb);
    println!("posterior of (w, b)            w mean   w sd     b mean   b sd     corr");
    println!(
        "closed form (conjugate)       {:8.4} {:8.4} {:8.4} {:8.4} {:8.3}",
        e.mean[0], sw, e.mean[1], sb, corr
    );
    println!(
        "  its mean-field optimum      {:8.4} {:8.4} {:8.4} {:8.4}",
        e.mean[0],
        1.0 / e.precision[0][0].sqrt(),
        e.mean[1],
        1.0 / e.precision[1][1].sqrt()
    );
    let (w, b) = &out.qmodel;
    println!(
        "qmodel! (mean field)          {:8.4} {:8.4} {:8.4} {:8.4}",
        w.mean[0], w.sd[0], b.mean[0], b.sd[0]
    );
    let (w, b, c) = &out.full_rank;
    println!(
        "AutoMultivariateNormal        {:8.4} {:8.4} {:8.4} {:8.4} {:8.3}",
        w.mean[0], w.sd[0], b.mean[0], b.sd[0], c
    );
    println!(
        "\nposterior predictive of y at x = -2, 0, 3:\n{}",
        out.predictive
    );
    Ok(())
}
