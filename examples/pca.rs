//! Probabilistic PCA, as InferPy's `pca` example (Tipping and Bishop 1999), fitted with
//! `AutoNormal` (issue 3, part 7).
//!
//! The model: weights `w ~ N(0, I_{k d})` (global, reshaped to `W` `[k, d]`), and per row a
//! latent `z ~ N(0, I_k)` and an observation `x ~ N(z W, I_d)`. The data are `N` rows drawn
//! from the same model with a known `W`. Only the subspace spanned by the rows of `W` is
//! identified (any rotation of `z` and `W` gives the same data distribution), so the run
//! reports how well the posterior mean of `W` spans the true subspace.
//!
//! ```text
//! cargo run --release --example pca -- --epochs 2000 --seed 0
//! ```

use clap::Parser;
use inferrs::prelude::*;
use rand::SeedableRng;
use rand_distr::{Distribution as _, StandardNormal};

/// Dimension of an observation.
pub const D: usize = 4;
/// Dimension of the latent space.
pub const K: usize = 2;
/// The loadings `W` `[K, D]` that generate the data (row-major).
pub const TRUE_W: [[f64; D]; K] = [[2.0, 1.0, -1.5, 0.5], [-1.0, 2.5, 0.5, 1.5]];

/// Options of a run.
#[derive(Clone, Debug, Parser)]
#[command(about = "Probabilistic PCA (InferPy's example) with inferrs and AutoNormal")]
pub struct Options {
    /// Number of simulated rows.
    #[arg(long, default_value_t = 500)]
    pub rows: usize,
    /// Epochs of the fit (full batch).
    #[arg(long, default_value_t = 2000)]
    pub epochs: usize,
    /// Initial learning rate of Adam (cosine decay to 1% of it).
    #[arg(long, default_value_t = 0.05)]
    pub lr: f64,
    /// Draws of the guide per epoch in the ELBO estimate.
    #[arg(long, default_value_t = 1)]
    pub particles: usize,
    /// Posterior draws of `w` for its mean.
    #[arg(long, default_value_t = 1000)]
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
    /// The posterior mean of `W` `[K, D]` (row-major, `K * D` values).
    pub w_mean: Vec<f64>,
    /// The relative residual `||W_true - W_true P||_F / ||W_true||_F` of the true rows projected
    /// onto the row space of the posterior mean (`P` the orthogonal projection onto it): 0 when
    /// the subspaces agree.
    pub residual: f64,
    /// The principal angles (degrees) between the true and the fitted subspaces, largest first.
    pub angles_deg: Vec<f64>,
    /// The loss (negative ELBO, summed over rows) of every epoch.
    pub losses: Vec<f64>,
    /// The number of rows.
    pub rows: usize,
    /// Wall-clock seconds of the fit.
    pub fit_seconds: f64,
}

/// `rows` observations `x = z W + e`, `z ~ N(0, I_K)`, `e ~ N(0, I_D)`, from `seed` (row-major
/// `[rows, D]`).
pub fn simulate(rows: usize, seed: u64) -> Vec<[f64; D]> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..rows)
        .map(|_| {
            let z: [f64; K] = std::array::from_fn(|_| StandardNormal.sample(&mut rng));
            std::array::from_fn(|j| {
                let e: f64 = StandardNormal.sample(&mut rng);
                (0..K).map(|i| z[i] * TRUE_W[i][j]).sum::<f64>() + e
            })
        })
        .collect()
}

/// An orthonormal basis of the span of `rows` (Gram-Schmidt, applied twice for accuracy);
/// rows that are numerically dependent on earlier ones are dropped.
pub fn orthonormal_basis(rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for r in rows {
        let mut v = r.clone();
        for _ in 0..2 {
            for b in &basis {
                let dot: f64 = v.iter().zip(b).map(|(a, c)| a * c).sum();
                for (vi, bi) in v.iter_mut().zip(b) {
                    *vi -= dot * bi;
                }
            }
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        let scale = r.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm > 1e-9 * scale.max(1e-300) {
            basis.push(v.into_iter().map(|a| a / norm).collect());
        }
    }
    basis
}

/// The relative residual `||A - A P||_F / ||A||_F` of the rows of `a` projected onto the span
/// of the rows of `b`, and the principal angles (degrees, largest first) between the two
/// spans (of equal dimension).
pub fn subspace_fit(a: &[Vec<f64>], b: &[Vec<f64>]) -> (f64, Vec<f64>) {
    let qb = orthonormal_basis(b);
    let (mut res, mut total) = (0.0, 0.0);
    for row in a {
        let mut r = row.clone();
        for q in &qb {
            let dot: f64 = row.iter().zip(q).map(|(x, y)| x * y).sum();
            for (ri, qi) in r.iter_mut().zip(q) {
                *ri -= dot * qi;
            }
        }
        res += r.iter().map(|x| x * x).sum::<f64>();
        total += row.iter().map(|x| x * x).sum::<f64>();
    }
    // Principal angles: the singular values of Qa Qb^T are their cosines. For two 2-d
    // subspaces M = Qa Qb^T is 2 x 2, whose singular values come from the eigenvalues of M M^T.
    let qa = orthonormal_basis(a);
    let m: Vec<Vec<f64>> = qa
        .iter()
        .map(|u| {
            qb.iter()
                .map(|v| u.iter().zip(v).map(|(x, y)| x * y).sum())
                .collect()
        })
        .collect();
    let angles = match (m.len(), m.first().map(Vec::len)) {
        (2, Some(2)) => {
            let g = [
                m[0][0] * m[0][0] + m[0][1] * m[0][1],
                m[0][0] * m[1][0] + m[0][1] * m[1][1],
                m[1][0] * m[1][0] + m[1][1] * m[1][1],
            ];
            let (tr, det) = (g[0] + g[2], g[0] * g[2] - g[1] * g[1]);
            let disc = (tr * tr / 4.0 - det).max(0.0).sqrt();
            let cos = [(tr / 2.0 - disc).max(0.0).sqrt(), (tr / 2.0 + disc).sqrt()];
            cos.iter().map(|c| c.min(1.0).acos().to_degrees()).collect()
        }
        (1, Some(1)) => vec![m[0][0].abs().min(1.0).acos().to_degrees()],
        _ => Vec::new(),
    };
    ((res / total).sqrt(), angles)
}

/// Simulates the data, fits the model with `AutoNormal` (one Normal per row for `z`) and
/// compares the posterior mean of `W` with the true subspace.
///
/// # Errors
/// Any error of the fit or of the posterior query.
pub fn run(opts: &Options) -> Result<Outcome, Error> {
    let device = Device::default();
    device.seed(opts.seed);
    let x = simulate(opts.rows, opts.data_seed);
    let train = Data::new().with("x", x)?;
    // InferPy's pca example, with w as one global vector of K * D weights.
    let mut model = probmodel! {
        w ~ Normal(vec![0.0; K * D], 1.0);                    // [1, K D]
        datamodel {
            z ~ Normal(vec![0.0; K], 1.0);                    // latent, [N, K]
            x ~ Normal(z.matmul(w.reshape([K, D])), 1.0);     // observed, [N, D]
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
    let w_mean = draws["w"].mean();
    let fitted: Vec<Vec<f64>> = w_mean.chunks(D).map(<[f64]>::to_vec).collect();
    let truth: Vec<Vec<f64>> = TRUE_W.iter().map(|r| r.to_vec()).collect();
    let (residual, angles_deg) = subspace_fit(&truth, &fitted);
    Ok(Outcome {
        w_mean,
        residual,
        angles_deg,
        losses: report.losses,
        rows: opts.rows,
        fit_seconds: report.seconds,
    })
}

fn main() {
    let opts = Options::parse();
    match run(&opts) {
        Ok(o) => {
            println!("posterior mean of W [{K}, {D}] (rows of the true W below):");
            for (fitted, truth) in o.w_mean.chunks(D).zip(TRUE_W) {
                println!("  fitted {fitted:>8.3?}\n  true   {truth:>8.3?}");
            }
            println!(
                "relative residual of the true rows off the fitted subspace {:.4}",
                o.residual
            );
            println!("principal angles (degrees) {:.2?}", o.angles_deg);
            let per_row = |l: Option<&f64>| l.map_or(f64::NAN, |l| l / o.rows as f64);
            println!(
                "loss per row: first epoch {:.3}, last {:.3}; fit {} epochs in {:.2} s",
                per_row(o.losses.first()),
                per_row(o.losses.last()),
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
