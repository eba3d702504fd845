//! Milliseconds per SVI step of models a user writes (issue 11's suite, `docs/performance.md`),
//! one JSON line per model and size, for `scripts/bench_models.sh` to set beside NumPyro's.
//!
//! * `mdn_user_burn`: an MDN whose network is a user's own burn module, 1 -> 24 -> 24 tanh with
//!   a linear `[locs | scales | logits]` head (K = 10; softplus scales + 1e-3), written with
//!   burn's `tanh` and `softplus`, fitted by maximum likelihood (N = 5000);
//! * `mdn_user_fused`: the same module with `inferrs::nn::tanh` in place of burn's;
//! * `mdn_mlp`: the same network as `inferrs::nn::Mlp` (`MlpConfig::new(1, [24, 24], 30)`) and
//!   `softplus_with_floor`;
//! * `logreg`: Bayesian logistic regression, `w ~ N(0, 1)^20`, `b ~ N(0, 1)`,
//!   `y ~ Bernoulli(logits = x w + b)`, AutoNormal (N = 10^4 unless `--rows`);
//! * `bnn`: a Bayesian network 1 -> 32 tanh -> 1 with every weight latent (`w1`, `b1`, `w2`
//!   `[1, 32]`, `b2`, all `N(0, 1)`), `y ~ N(f(x), 0.1)`, AutoNormal (N = 500);
//! * `pca`: probabilistic PCA (D = 4, K = 2), `w ~ N(0, 1)^{K D}`, `z ~ N(0, I_K)` per row,
//!   `x ~ N(z W, 1)`, AutoNormal (N = 500);
//! * `schools`: eight schools, non-centred, AutoNormal.
//!
//! ```text
//! cargo run --release --example bench_models -- [--models mdn_user_burn,logreg] [--steps 500] [--reps 3] [--rows 10000]
//! ```
//!
//! Each figure is the median of `reps` fits of `steps` steps (each fit's own `FitReport`
//! seconds, which exclude building the model and the data), after one warm-up fit. Each line
//! says how the fit's gradients were computed (`FitReport::gradient`); with `NO_TAPE` set in
//! the environment every fit runs on burn's autodiff (`VI::tape(false)`), for comparison.

#[macro_use]
#[path = "eight_schools/schools.rs"]
mod schools;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{softplus, tanh};
use clap::Parser;
use inferrs::nn::{MlpConfig, tanh as fused_tanh};
use inferrs::prelude::*;
use inferrs::{Column, FitReport, distributions::softplus_with_floor};
use rand::{Rng as _, SeedableRng};
use rand_distr::StandardNormal;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Command-line options.
#[derive(Clone, Debug, Parser)]
struct Options {
    /// Comma-separated models (see the module docs), or `all`.
    #[arg(long, default_value = "all")]
    models: String,
    /// Steps per fit.
    #[arg(long, default_value_t = 500)]
    steps: usize,
    /// Timed fits per model (the median is printed).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Rows of the logistic regression (comma-separated for a scaling curve).
    #[arg(long, default_value = "10000")]
    rows: String,
}

const K: usize = 10;

/// The user's MDN network: two tanh layers and one linear head, burn's or inferrs' tanh.
#[derive(Module, Debug)]
struct UserNet {
    l1: Linear,
    l2: Linear,
    head: Linear,
    #[module(skip)]
    fused: bool,
}

impl UserNet {
    fn new(device: &Device, fused: bool) -> Self {
        Self {
            l1: LinearConfig::new(1, 24).init(device),
            l2: LinearConfig::new(24, 24).init(device),
            head: LinearConfig::new(24, 3 * K).init(device),
            fused,
        }
    }

    fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        let act = |h: Tensor<2>| if self.fused { fused_tanh(h) } else { tanh(h) };
        let h = act(self.l2.forward(act(self.l1.forward(x))));
        let out = self.head.forward(h);
        (
            out.clone().narrow(1, 0, K),
            softplus(out.clone().narrow(1, K, K), 1.0) + 1e-3,
            out.narrow(1, 2 * K, K),
        )
    }
}

/// The same network as an `Mlp`, with the library's fused softplus.
#[derive(Module, Debug)]
struct MlpNet {
    mlp: inferrs::nn::Mlp,
}

impl MlpNet {
    fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        let out = self.mlp.forward(x);
        (
            out.clone().narrow(1, 0, K),
            softplus_with_floor(out.clone().narrow(1, K, K), 1e-3),
            out.narrow(1, 2 * K, K),
        )
    }
}

/// David Ha's inverse problem, N rows: `y ~ U(-10.5, 10.5)`, `x = 7 sin(0.75 y) + 0.5 y +
/// N(0, 1)`; the MDN predicts `y` from `x`.
fn mdn_data(n: usize) -> Result<Data, Error> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let y: Vec<f32> = (0..n).map(|_| rng.random_range(-10.5..10.5f32)).collect();
    let x: Vec<f32> = y
        .iter()
        .map(|&y| {
            let e: f32 = rng.sample(StandardNormal);
            7.0 * (0.75 * y).sin() + 0.5 * y + e
        })
        .collect();
    Data::new().with("x", &x)?.with("y", &y)
}

fn logreg_data(n: usize) -> Result<Data, Error> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let w: Vec<f32> = (0..20).map(|_| rng.sample(StandardNormal)).collect();
    let mut x = Vec::with_capacity(n * 20);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let row: Vec<f32> = (0..20).map(|_| rng.sample(StandardNormal)).collect();
        let logit: f32 = row.iter().zip(&w).map(|(a, b)| a * b).sum::<f32>() + 0.5;
        y.push(f32::from(
            rng.random::<f32>() < 1.0 / (1.0 + (-logit).exp()),
        ));
        x.extend(row);
    }
    Data::new()
        .with("x", Column::new("x", x, n, 20)?)?
        .with("y", &y)
}

/// The BNN's data (as the NumPyro script's): `x` in `[-5, -2]` and `[2, 5]`, `y = sin(x) +
/// N(0, 0.1)`.
fn bnn_data(n: usize) -> Result<Data, Error> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let x: Vec<f32> = (0..n)
        .map(|i| if i % 2 == 0 { -5.0 } else { 2.0 } + 3.0 * rng.random::<f32>())
        .collect();
    let y: Vec<f32> = x
        .iter()
        .map(|&x| {
            let e: f32 = rng.sample(StandardNormal);
            x.sin() + 0.1 * e
        })
        .collect();
    Data::new().with("x", &x)?.with("y", &y)
}

const PCA_D: usize = 4;
const PCA_K: usize = 2;

/// PCA's data: `x = z W + N(0, I)`, `z ~ N(0, I_2)`, `W` as `examples/pca.rs`' `TRUE_W`.
fn pca_data(n: usize) -> Result<Data, Error> {
    const W: [[f32; PCA_D]; PCA_K] = [[2.0, 1.0, -1.5, 0.5], [-1.0, 2.5, 0.5, 1.5]];
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mut x = Vec::with_capacity(n * PCA_D);
    for _ in 0..n {
        let z: [f32; PCA_K] = [rng.sample(StandardNormal), rng.sample(StandardNormal)];
        for (w0, w1) in W[0].iter().zip(&W[1]) {
            let e: f32 = rng.sample(StandardNormal);
            x.push(z[0] * w0 + z[1] * w1 + e);
        }
    }
    Data::new().with("x", Column::new("x", x, n, PCA_D)?)
}

/// The median of `reps` timed fits (after one warm-up), in ms per step, and how the last
/// fit's gradients were computed.
fn time(
    reps: usize,
    mut fit: impl FnMut() -> Result<FitReport, Error>,
) -> Result<(f64, String), Error> {
    fit()?;
    let mut gradient = String::new();
    let mut ms: Vec<f64> = (0..reps)
        .map(|_| {
            fit().map(|r| {
                gradient = r.gradient.map_or_else(String::new, |g| g.to_string());
                1e3 * r.seconds / r.losses.len().max(1) as f64
            })
        })
        .collect::<Result<_, _>>()?;
    ms.sort_by(f64::total_cmp);
    Ok((ms[ms.len() / 2], gradient))
}

fn print(model: &str, rows: usize, (ms, gradient): (f64, String)) {
    let gradient = gradient.replace('"', "'");
    println!(
        "{{\"model\": \"{model}\", \"rows\": {rows}, \"ms_per_step\": {ms:.4}, \"gradient\": \"{gradient}\"}}"
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opts = Options::parse();
    let all = [
        "mdn_user_burn",
        "mdn_user_fused",
        "mdn_mlp",
        "logreg",
        "bnn",
        "pca",
        "schools",
    ];
    let models: Vec<&str> = if opts.models == "all" {
        all.to_vec()
    } else {
        opts.models.split(',').collect()
    };
    let device = Device::default();
    let vi = || {
        VI::new(opts.steps)
            .seed(0)
            .quiet(true)
            .tape(std::env::var("NO_TAPE").is_err())
    };
    for model in models {
        match model {
            "mdn_user_burn" | "mdn_user_fused" => {
                let data = mdn_data(5000)?;
                let fused = model == "mdn_user_fused";
                let ms = time(opts.reps, || {
                    let mut m = datamodel! {
                        nn = UserNet::new(&device, fused);
                        input x;
                        y ~ MixtureGaussian(nn(x));
                    };
                    m.fit(&data, vi())
                })?;
                print(model, 5000, ms);
            }
            "mdn_mlp" => {
                let data = mdn_data(5000)?;
                let ms = time(opts.reps, || {
                    let mut m = datamodel! {
                        nn = MlpNet { mlp: MlpConfig::new(1, [24, 24], 3 * K).init(&device) };
                        input x;
                        y ~ MixtureGaussian(nn(x));
                    };
                    m.fit(&data, vi())
                })?;
                print(model, 5000, ms);
            }
            "logreg" => {
                for rows in opts.rows.split(',') {
                    let rows: usize = rows.trim().parse()?;
                    let data = logreg_data(rows)?;
                    let ms = time(opts.reps, || {
                        let mut m = probmodel! {
                            w ~ Normal(vec![0.0; 20], 1.0);
                            b ~ Normal(0.0, 1.0);
                            datamodel {
                                input x;
                                y ~ Bernoulli(x.matmul(w.transpose()) + b);
                            }
                        };
                        m.fit(&data, vi().guide(AutoNormal::default()))
                    })?;
                    print(model, rows, ms);
                }
            }
            "bnn" => {
                const H: usize = 32;
                let data = bnn_data(500)?;
                let ms = time(opts.reps, || {
                    let mut m = probmodel! {
                        w1 ~ Normal(vec![0.0; H], 1.0);
                        b1 ~ Normal(vec![0.0; H], 1.0);
                        w2 ~ Normal(vec![0.0; H], 1.0);
                        b2 ~ Normal(0.0, 1.0);
                        datamodel {
                            input x;
                            y ~ Normal((fused_tanh(x.matmul(w1) + b1) * w2).sum_dim(1) + b2, 0.1);
                        }
                    };
                    m.fit(&data, vi().guide(AutoNormal::default()))
                })?;
                print(model, 500, ms);
            }
            "pca" => {
                let data = pca_data(500)?;
                let ms = time(opts.reps, || {
                    let mut m = probmodel! {
                        w ~ Normal(vec![0.0; PCA_K * PCA_D], 1.0);
                        datamodel {
                            z ~ Normal(vec![0.0; PCA_K], 1.0);
                            x ~ Normal(z.matmul(w.reshape([PCA_K, PCA_D])), 1.0);
                        }
                    };
                    m.fit(&data, vi().guide(AutoNormal::default()))
                })?;
                print(model, 500, ms);
            }
            "schools" => {
                let data = schools::data()?;
                let ms = time(opts.reps, || {
                    let mut m = noncentred!();
                    m.fit(&data, vi().guide(AutoNormal::default()))
                })?;
                print(model, 8, ms);
            }
            other => return Err(format!("unknown model {other}; known: {}", all.join(", ")).into()),
        }
    }
    Ok(())
}
