//! Benchmark: the MDN fit through inferrs against a hand-written plain-burn loop of the same
//! network, loss and optimiser, timed in the same run, alternating, and their ratio.
//!
//! ```text
//! cargo run --release --example bench_mdn -- --epochs 4000 --reps 3
//! ```
//! Prints the median seconds of each and `inferrs / plain` (the overhead of the library).

#[path = "mdn/toy.rs"]
mod toy;

use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::TensorData;
use burn::tensor::activation::log_softmax;
use clap::Parser;
use inferrs::prelude::*;

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
    /// Seed of the initial weights (the same for both).
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

const HIDDEN: usize = 15;
const COMPONENTS: usize = 20;
const HALF_LOG_2PI: f64 = 0.918_938_533_204_672_7;

/// The loop a burn user writes by hand: forward, mixture NLL, backward, Adam step.
fn plain_fit(device: &Device, seed: u64, x: &[f32], y: &[f32], epochs: usize) -> (f64, f64) {
    device.seed(seed);
    let mut net = MixtureNet::new(device, HIDDEN, COMPONENTS).train();
    let ad = device.clone().autodiff();
    let n = x.len();
    let x = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [n, 1]), &ad);
    let y = Tensor::<2>::from_data(TensorData::new(y.to_vec(), [n, 1]), &ad);
    let vi = VI::new(epochs);
    let mut optimizer = burn::optim::AdamConfig::new().with_epsilon(1e-8).init();
    let start = Instant::now();
    let mut last = 0.0;
    for epoch in 0..epochs {
        let (locs, scales, logits) = net.forward(x.clone());
        let z = (y.clone() - locs) / scales.clone();
        let lp = z.clone() * z * (-0.5) - scales.log() - HALF_LOG_2PI + log_softmax(logits, 1);
        let max = lp.clone().max_dim(1).detach();
        let loss = -((lp - max.clone()).exp().sum_dim(1).log() + max).sum();
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let device = Device::default();
    let (x, y) = toy::make_data(toy::N_TRAIN, toy::TRAIN_SEED);
    let data = Data::new().with("x", &x)?.with("y", &y)?;
    println!(
        "MDN N={} K={COMPONENTS} hidden={HIDDEN}, {} epochs, {} reps, device {:?}",
        x.len(),
        args.epochs,
        args.reps,
        device
    );
    let (mut ours, mut plain) = (Vec::new(), Vec::new());
    for rep in 0..args.reps {
        let (t, l) = inferrs_fit(&device, args.seed, &data, args.epochs);
        println!("rep {rep}: inferrs {t:7.2} s (final loss/row {l:.4})");
        ours.push(t);
        let (t, l) = plain_fit(&device, args.seed, &x, &y, args.epochs);
        println!("rep {rep}: plain   {t:7.2} s (final loss/row {l:.4})");
        plain.push(t);
    }
    let (a, b) = (median(ours), median(plain));
    println!(
        "median: inferrs {a:.2} s ({:.3} ms/step), plain burn {b:.2} s ({:.3} ms/step)",
        1e3 * a / args.epochs as f64,
        1e3 * b / args.epochs as f64
    );
    println!("inferrs / plain burn = {:.3}", a / b);
    Ok(())
}
