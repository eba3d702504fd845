//! The Mixture Density Network of `examples/mdn` fitted on burn's wgpu device, and the same fit
//! on flex for comparison: both start from the same weights (drawn on flex from the seed, then
//! copied to the wgpu device), so their losses differ only by how the backends round.
//!
//! ```text
//! cargo run --release --features wgpu --example mdn_wgpu -- --epochs 200 --adapter default
//! ```
//!
//! `--adapter default` lets wgpu choose (a high-performance GPU first; on a machine whose only
//! adapter is a software one, such as Mesa's lavapipe, that one); `--adapter cpu` asks for a
//! software adapter explicitly. inferrs' fused kernels exist only on flex: on wgpu
//! `MixtureNet::forward` and `MixtureGaussian::log_prob` run as composed burn ops
//! (`inferrs_distributions::fused_kernels_available`), which burn's fusion may merge.
//!
//! Prints, per backend, the time of a short warm-up fit (wgpu compiles its shaders there), the
//! time per step of the measured fit, its first and last loss and the held-out NLL; then the
//! differences between the backends against `--tolerance`, and those of the mixture log
//! density alone (composed on wgpu, fused on flex) on fixed random parameters.

#[path = "mdn/toy.rs"]
mod toy;

use std::time::Instant;

use burn::module::Module;
use burn::tensor::{DeviceKind, TensorData};
use clap::{Parser, ValueEnum};
use inferrs::prelude::*;
use inferrs_distributions::{Distribution as _, fused_kernels_available};
use rand::{Rng as _, SeedableRng};

const HIDDEN: usize = 15;
const COMPONENTS: usize = 20;

/// The wgpu adapter to ask for (burn's `DeviceKind`).
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Adapter {
    /// wgpu's choice: a high-performance GPU first, else what there is.
    Default,
    /// The first discrete GPU.
    Discrete,
    /// The first integrated GPU.
    Integrated,
    /// The first virtual GPU.
    Virtual,
    /// A CPU adapter: a software rasteriser such as Mesa's lavapipe or llvmpipe.
    Cpu,
}

impl Adapter {
    fn kind(self) -> DeviceKind {
        match self {
            Self::Default => DeviceKind::DefaultDevice,
            Self::Discrete => DeviceKind::DiscreteGpu(0),
            Self::Integrated => DeviceKind::IntegratedGpu(0),
            Self::Virtual => DeviceKind::VirtualGpu(0),
            Self::Cpu => DeviceKind::Cpu,
        }
    }
}

#[derive(Parser, Debug)]
#[command(about = "The MDN fitted on burn's wgpu device, compared with the same fit on flex")]
struct Args {
    /// Epochs of each measured fit (full batch).
    #[arg(long, default_value_t = 200)]
    epochs: usize,
    /// Epochs of the warm-up fit before each measured one (not timed per step).
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Seed of the initial weights (drawn on flex, shared by both fits).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The wgpu adapter.
    #[arg(long, value_enum, default_value = "default")]
    adapter: Adapter,
    /// Largest accepted difference between the backends, in nats per row, of the last loss and
    /// of the held-out NLL.
    #[arg(long, default_value_t = 1e-2)]
    tolerance: f64,
    /// Skip the fit on flex (only the wgpu figures).
    #[arg(long)]
    no_flex: bool,
}

/// What one backend's fit measured.
struct Fit {
    warmup_seconds: f64,
    seconds_per_step: f64,
    first_loss: f64,
    last_loss: f64,
    heldout_nll: f64,
}

/// The MDN with the initial weights `net`, fitted on `device` after a warm-up fit.
fn fit(
    device: &Device,
    net: &MixtureNet,
    train: &Data,
    test: &Data,
    args: &Args,
) -> Result<Fit, Box<dyn std::error::Error>> {
    let mut warmup_seconds = 0.0;
    if args.warmup > 0 {
        let start = Instant::now();
        let mut model = datamodel! {
            nn = net.clone().to_device(device);
            x ~ Normal(0.0, 10.0);
            y ~ MixtureGaussian(nn(x));
        };
        model.fit(train, VI::new(args.warmup).seed(args.seed).quiet(true))?;
        warmup_seconds = start.elapsed().as_secs_f64();
    }
    let mut model = datamodel! {
        nn = net.clone().to_device(device);
        x ~ Normal(0.0, 10.0);
        y ~ MixtureGaussian(nn(x));
    };
    let report = model.fit(train, VI::new(args.epochs).seed(args.seed).quiet(true))?;
    let losses = report.losses_per_row();
    Ok(Fit {
        warmup_seconds,
        seconds_per_step: report.seconds / args.epochs as f64,
        first_loss: losses.first().copied().unwrap_or(f64::NAN),
        last_loss: report.final_loss_per_row(),
        heldout_nll: -model.log_prob(["y"], test)?.mean(),
    })
}

fn print_fit(name: &str, f: &Fit, epochs: usize, fused: bool) {
    println!(
        "{name:5} fused kernels {:3}  warm-up {:6.2} s  {:8.3} ms/step ({epochs} steps)  \
         loss/row first {:.6} last {:.6}  held-out NLL {:.6}",
        if fused { "on" } else { "off" },
        f.warmup_seconds,
        1e3 * f.seconds_per_step,
        f.first_loss,
        f.last_loss,
        f.heldout_nll,
    );
}

/// The mixture log density `[n]` of `y` under fixed random parameters `[n, K]` on `device`.
fn mixture_log_density(device: &Device, n: usize) -> Result<Vec<f32>, Box<dyn std::error::Error>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut random = |lo: f32, hi: f32, len: usize| -> Vec<f32> {
        (0..len).map(|_| rng.random_range(lo..hi)).collect()
    };
    let k = COMPONENTS;
    let t =
        |v: Vec<f32>, cols: usize| Tensor::<2>::from_data(TensorData::new(v, [n, cols]), device);
    let locs = t(random(-10.0, 10.0, n * k), k);
    let scales = t(random(0.1, 3.0, n * k), k);
    let logits = t(random(-3.0, 3.0, n * k), k);
    let y = t(random(-10.0, 10.0, n), 1);
    let lp = MixtureGaussian::new(locs, scales, logits)?.log_prob(y);
    Ok(lp.into_data().try_to_vec::<f32>()?)
}

fn main() {
    if let Err(e) = run(&Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let flex = Device::flex();
    // Acquired now rather than lazily (as `Device::wgpu` does), so that a missing adapter is an
    // error that names the adapters found, not a panic in the first tensor operation.
    let wgpu = Device::wgpu_options()
        .device_kind(args.adapter.kind())
        .init()
        .map_err(|e| format!("no wgpu adapter for --adapter {:?}: {e}", args.adapter))?;

    let (x_train, y_train) = toy::make_data(toy::N_TRAIN, toy::TRAIN_SEED);
    let (x_test, y_test) = toy::make_data(toy::N_TEST, toy::TEST_SEED);
    let train = Data::new().with("x", &x_train)?.with("y", &y_train)?;
    let test = Data::new().with("x", &x_test)?.with("y", &y_test)?;

    // The initial weights, drawn on flex: the backends' random streams differ, so each drawing
    // its own would compare two different fits. The parameters are lazy; a forward pass draws
    // them here, before `to_device` could move the drawing to the wgpu device.
    flex.seed(args.seed);
    let net = MixtureNet::new(&flex, HIDDEN, COMPONENTS);
    let _ = net.forward(Tensor::zeros([1, 1], &flex));

    println!(
        "MDN N={} K={COMPONENTS} hidden={HIDDEN}, {} epochs, seed {}, wgpu device {:?}",
        x_train.len(),
        args.epochs,
        args.seed,
        wgpu,
    );
    let on_wgpu = fit(&wgpu, &net, &train, &test, args)?;
    print_fit(
        "wgpu",
        &on_wgpu,
        args.epochs,
        fused_kernels_available(&wgpu),
    );
    if args.no_flex {
        return Ok(());
    }
    let on_flex = fit(&flex, &net, &train, &test, args)?;
    print_fit(
        "flex",
        &on_flex,
        args.epochs,
        fused_kernels_available(&flex),
    );

    let first = (on_wgpu.first_loss - on_flex.first_loss).abs();
    let last = (on_wgpu.last_loss - on_flex.last_loss).abs();
    let heldout = (on_wgpu.heldout_nll - on_flex.heldout_nll).abs();
    println!(
        "|wgpu - flex| loss/row first {first:.2e} last {last:.2e}, held-out NLL {heldout:.2e} \
         (tolerance {:.0e})",
        args.tolerance
    );
    println!(
        "time per step wgpu / flex = {:.2}",
        on_wgpu.seconds_per_step / on_flex.seconds_per_step
    );

    let n = x_train.len();
    let (lp_wgpu, lp_flex) = (
        mixture_log_density(&wgpu, n)?,
        mixture_log_density(&flex, n)?,
    );
    let max_diff = lp_wgpu
        .iter()
        .zip(&lp_flex)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!("mixture log density [{n}, {COMPONENTS}], max |wgpu - flex| = {max_diff:.2e}");

    if last > args.tolerance || heldout > args.tolerance {
        return Err(format!(
            "the backends disagree by more than {} nats per row",
            args.tolerance
        )
        .into());
    }
    Ok(())
}
