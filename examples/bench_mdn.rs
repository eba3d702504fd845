//! Benchmark of the MDN fit (N = 5000, K = 20, MLP 1 -> 15 -> 15, full-batch Adam): inferrs'
//! `fit` against hand-written burn loops of the same network, loss and optimiser, all timed in
//! the same run, alternating, with medians and ratios.
//!
//! ```text
//! cargo run --release --example bench_mdn -- --epochs 1000 --reps 3
//! ```
//!
//! * `inferrs`: `model.fit` of the `datamodel!` MDN (fused kernels where available).
//! * `plain burn`: the loop a burn user writes: the network with burn's `softplus`, the
//!   mixture NLL in composed tensor ops (the baseline).
//! * `loop fused`: the loop with `MixtureNet::forward` and `MixtureGaussian::log_prob` (on
//!   flex the network and the likelihood run as one fused op).
//! * `loop burn net`: the loop with `MixtureNet::forward_composed` (the same network on burn's
//!   ops, three head tensors, with the fused softplus) and the fused likelihood: the network
//!   kernel's share.
//! * `loop unfused`: `loop burn net` with `MixtureGaussian::log_prob_composed` (composed
//!   ops): the likelihood kernel's share.
//! * `likelihood fused` / `unfused`: the NLL alone, forward and backward, on fixed random
//!   `[N, K]` parameters.
//!
//! Every loop starts from the same initial weights for a seed. Prints ms per step, the
//! projected 4000-step time, the spread of the reps and the ratios.

#[path = "mdn/toy.rs"]
mod toy;

use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::TensorData;
use burn::tensor::activation::log_softmax;
use clap::Parser;
use inferrs::prelude::*;
use inferrs_distributions::{Distribution as _, MixtureParams, fused_kernels_available};
use rand::{Rng as _, SeedableRng};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
struct Args {
    /// Full-batch epochs per fit.
    #[arg(long, default_value_t = 4000)]
    epochs: usize,
    /// Fits of each kind (alternating); medians are reported.
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Seed of the initial weights (the same for all).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Forward and backward passes per rep of the likelihood-only measurement.
    #[arg(long, default_value_t = 200)]
    likelihood_calls: usize,
    /// Only the likelihood measurement, fused or unfused (`fused`, `unfused`, `both`).
    #[arg(long)]
    likelihood_only: Option<String>,
    /// Only this fit, by its name in the output (e.g. "loop fused"; for profiling).
    #[arg(long)]
    only: Option<String>,
}

fn glorot(device: &Device, i: usize, o: usize) -> burn::nn::Linear {
    let mut l = burn::nn::LinearConfig::new(i, o)
        .with_initializer(burn::nn::Initializer::XavierUniform { gain: 1.0 })
        .init(device);
    l.bias = Some(burn::module::Param::from_tensor(Tensor::zeros([o], device)));
    l
}

/// The network as a burn user writes it: `MixtureNet`'s layers (the same initial weights for
/// a seed) with burn's composed `softplus`.
#[derive(Module, Debug)]
struct PlainNet {
    hidden1: burn::nn::Linear,
    hidden2: burn::nn::Linear,
    locs: burn::nn::Linear,
    scales: burn::nn::Linear,
    logits: burn::nn::Linear,
}

/// A network giving the mixture parameters (locations, scales, logits), each `[n, K]`.
trait Heads: Module + Sized {
    fn create(device: &Device) -> Self;
    fn heads(&self, x: Tensor<2>) -> MixtureParams;
}

impl Heads for MixtureNet {
    fn create(device: &Device) -> Self {
        MixtureNet::new(device, HIDDEN, COMPONENTS)
    }
    fn heads(&self, x: Tensor<2>) -> MixtureParams {
        self.forward(x)
    }
}

/// `MixtureNet` evaluated on burn's ops (`forward_composed`).
#[derive(Module, Debug)]
struct ComposedNet {
    net: MixtureNet,
}

impl Heads for ComposedNet {
    fn create(device: &Device) -> Self {
        Self {
            net: MixtureNet::new(device, HIDDEN, COMPONENTS),
        }
    }
    fn heads(&self, x: Tensor<2>) -> MixtureParams {
        self.net.forward_composed(x)
    }
}

impl Heads for PlainNet {
    fn create(device: &Device) -> Self {
        Self {
            hidden1: glorot(device, 1, HIDDEN),
            hidden2: glorot(device, HIDDEN, HIDDEN),
            locs: glorot(device, HIDDEN, COMPONENTS),
            scales: glorot(device, HIDDEN, COMPONENTS),
            logits: glorot(device, HIDDEN, COMPONENTS),
        }
    }
    fn heads(&self, x: Tensor<2>) -> MixtureParams {
        use burn::tensor::activation::{relu, softplus};
        let h = relu(self.hidden1.forward(x));
        let h = relu(self.hidden2.forward(h));
        let scales = softplus(self.scales.forward(h.clone()), 1.0) + inferrs::nn::MIN_SCALE;
        MixtureParams::new(self.locs.forward(h.clone()), scales, self.logits.forward(h))
    }
}

const HIDDEN: usize = 15;
const COMPONENTS: usize = 20;
const HALF_LOG_2PI: f64 = 0.918_938_533_204_672_7;

/// How a hand-written loop computes the mixture log density `[n]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Nll {
    /// Composed burn ops written inline (what a burn user writes).
    Plain,
    /// `MixtureGaussian::log_prob` (the fused kernel where available).
    Fused,
    /// `MixtureGaussian::log_prob_composed`.
    Composed,
}

fn log_density(nll: Nll, params: MixtureParams, y: &Tensor<2>) -> Tensor<1> {
    match nll {
        Nll::Plain => {
            let (locs, scales, logits) = params.into_parts();
            let z = (y.clone() - locs) / scales.clone();
            let lp = z.clone() * z * (-0.5) - scales.log() - HALF_LOG_2PI + log_softmax(logits, 1);
            let max = lp.clone().max_dim(1).detach();
            ((lp - max.clone()).exp().sum_dim(1).log() + max).squeeze_dim::<1>(1)
        }
        Nll::Fused => MixtureGaussian::from_params(params)
            .expect("tensor parameters")
            .log_prob(y.clone()),
        Nll::Composed => MixtureGaussian::from_params(params)
            .expect("tensor parameters")
            .log_prob_composed(y.clone()),
    }
}

/// The loop a burn user writes by hand: forward, mixture NLL, backward, Adam step. Returns
/// the seconds and the last loss per row.
fn loop_fit<M: Heads>(
    device: &Device,
    seed: u64,
    x: &[f32],
    y: &[f32],
    epochs: usize,
    nll: Nll,
) -> (f64, f64) {
    device.seed(seed);
    let mut net = M::create(device).train();
    let ad = device.clone().autodiff();
    let n = x.len();
    let x = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [n, 1]), &ad);
    let y = Tensor::<2>::from_data(TensorData::new(y.to_vec(), [n, 1]), &ad);
    let vi = VI::new(epochs);
    let mut optimizer = burn::optim::AdamConfig::new().with_epsilon(1e-8).init();
    let start = Instant::now();
    let mut last = 0.0;
    for epoch in 0..epochs {
        let loss = -log_density(nll, net.heads(x.clone()), &y).sum();
        last = f64::from(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optimizer.step(vi.learning_rate_at(epoch), net, grads);
    }
    (start.elapsed().as_secs_f64(), last / n as f64)
}

fn inferrs_fit(device: &Device, seed: u64, data: &Data, epochs: usize) -> (f64, f64) {
    device.seed(seed);
    let mut model = datamodel! {
        nn = MixtureNet::new(device, HIDDEN, COMPONENTS);
        x ~ Normal(0.0, 10.0);
        y ~ MixtureGaussian(nn(x));
    };
    let report = model
        .fit(data, VI::new(epochs).quiet(true))
        .expect("the benchmark fit succeeds");
    (report.seconds, report.final_loss_per_row())
}

/// One fit of the kind named in [`FITS`].
fn fit(
    kind: usize,
    device: &Device,
    seed: u64,
    data: &Data,
    xy: (&[f32], &[f32]),
    epochs: usize,
) -> (f64, f64) {
    let (x, y) = xy;
    match kind {
        0 => inferrs_fit(device, seed, data, epochs),
        1 => loop_fit::<PlainNet>(device, seed, x, y, epochs, Nll::Plain),
        2 => loop_fit::<MixtureNet>(device, seed, x, y, epochs, Nll::Fused),
        3 => loop_fit::<ComposedNet>(device, seed, x, y, epochs, Nll::Fused),
        _ => loop_fit::<ComposedNet>(device, seed, x, y, epochs, Nll::Composed),
    }
}

/// The fits, in the order they alternate.
const FITS: [&str; 5] = [
    "inferrs",
    "plain burn",
    "loop fused",
    "loop burn net",
    "loop unfused",
];

/// Seconds per forward + backward pass of the NLL alone on random `[n, K]` leaf parameters.
fn likelihood_only(device: &Device, n: usize, calls: usize, nll: Nll) -> f64 {
    let ad = device.clone().autodiff();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut random = |lo: f32, hi: f32, len: usize| -> Vec<f32> {
        (0..len).map(|_| rng.random_range(lo..hi)).collect()
    };
    let k = COMPONENTS;
    let t = |v: Vec<f32>, cols: usize| Tensor::<2>::from_data(TensorData::new(v, [n, cols]), &ad);
    let locs = t(random(-10.0, 10.0, n * k), k).require_grad();
    let scales = t(random(0.1, 3.0, n * k), k).require_grad();
    let logits = t(random(-3.0, 3.0, n * k), k).require_grad();
    let y = t(random(-10.0, 10.0, n), 1);
    let start = Instant::now();
    for _ in 0..calls {
        let params = MixtureParams::new(locs.clone(), scales.clone(), logits.clone());
        let loss = -log_density(nll, params, &y).sum();
        let grads = loss.backward();
        // Read one gradient back so the work cannot be deferred.
        let g = locs.grad(&grads).expect("gradient");
        let _ = g.slice([0..1, 0..1]).into_scalar::<f32>();
    }
    start.elapsed().as_secs_f64() / calls as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `min..max` of the reps relative to their median, in percent.
fn spread(v: &[f64]) -> String {
    let m = median(v.to_vec());
    let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    format!(
        "{:+.0}%..{:+.0}%",
        100.0 * (lo / m - 1.0),
        100.0 * (hi / m - 1.0)
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let device = Device::default();
    let (x, y) = toy::make_data(toy::N_TRAIN, toy::TRAIN_SEED);
    let data = Data::new().with("x", &x)?.with("y", &y)?;
    println!(
        "MDN N={} K={COMPONENTS} hidden={HIDDEN}, {} epochs, {} reps, device {:?}, fused \
         kernels {}",
        x.len(),
        args.epochs,
        args.reps,
        device,
        if fused_kernels_available(&device) {
            "on"
        } else {
            "off"
        },
    );
    if let Some(which) = &args.likelihood_only {
        for (name, nll) in [("fused", Nll::Fused), ("unfused", Nll::Composed)] {
            if which == name || which == "both" {
                let t: Vec<f64> = (0..args.reps)
                    .map(|_| likelihood_only(&device, x.len(), args.likelihood_calls, nll))
                    .collect();
                println!(
                    "likelihood {name}: {:.3} ms/call ({})",
                    1e3 * median(t.clone()),
                    spread(&t)
                );
            }
        }
        return Ok(());
    }
    let only = match &args.only {
        Some(name) => Some(
            FITS.iter()
                .position(|f| f == name)
                .ok_or_else(|| format!("--only: one of {FITS:?}"))?,
        ),
        None => None,
    };
    let mut secs: Vec<Vec<f64>> = vec![Vec::new(); FITS.len()];
    for rep in 0..args.reps {
        for (i, name) in FITS.iter().enumerate() {
            if only.is_some_and(|o| o != i) {
                continue;
            }
            let (t, l) = fit(i, &device, args.seed, &data, (&x, &y), args.epochs);
            println!("rep {rep}: {name:12} {t:7.2} s (final loss/row {l:.4})");
            secs[i].push(t);
        }
    }
    if let Some(i) = only {
        let per_step = median(secs[i].clone()) / args.epochs as f64;
        println!(
            "{}: {:.3} ms/step ({})",
            FITS[i],
            1e3 * per_step,
            spread(&secs[i])
        );
        return Ok(());
    }
    let mut lik: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..args.reps {
        for (i, nll) in [Nll::Fused, Nll::Composed].into_iter().enumerate() {
            lik[i].push(likelihood_only(
                &device,
                x.len(),
                args.likelihood_calls,
                nll,
            ));
        }
    }
    println!(
        "\nmedians over {} reps (spread min..max around the median):",
        args.reps
    );
    let med: Vec<f64> = secs.iter().map(|v| median(v.clone())).collect();
    for (i, name) in FITS.iter().enumerate() {
        let per_step = med[i] / args.epochs as f64;
        println!(
            "  {name:18} {:7.3} ms/step, 4000 steps {:6.2} s   ({})",
            1e3 * per_step,
            4000.0 * per_step,
            spread(&secs[i])
        );
    }
    for (i, name) in ["likelihood fused", "likelihood unfused"]
        .iter()
        .enumerate()
    {
        println!(
            "  {name:18} {:7.3} ms/call (forward + backward, [{}, {COMPONENTS}])   ({})",
            1e3 * median(lik[i].clone()),
            x.len(),
            spread(&lik[i])
        );
    }
    println!("ratios (same run):");
    println!("  inferrs / plain burn           = {:.3}", med[0] / med[1]);
    println!("  loop fused / plain burn        = {:.3}", med[2] / med[1]);
    println!("  loop fused / loop burn net     = {:.3}", med[2] / med[3]);
    println!("  loop burn net / loop unfused   = {:.3}", med[3] / med[4]);
    println!("  inferrs / loop fused           = {:.3}", med[0] / med[2]);
    println!(
        "  likelihood fused / unfused     = {:.3}",
        median(lik[0].clone()) / median(lik[1].clone())
    );
    Ok(())
}
