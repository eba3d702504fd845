//! How the MDN fit scales with the number of rows `N` and of mixture components `K`: time per
//! step and peak heap memory of inferrs' `fit` (the `datamodel!` MDN of `examples/mdn` and
//! `bench_mdn`: `MixtureNet` with 15 hidden units, Adam at lr 0.01, full batch, the toy data of
//! `examples/mdn/toy.rs`), printed as markdown tables with the machine they ran on.
//!
//! ```text
//! cargo run --release --example bench_scaling                 # N = 1e3 .. 1e6, K = 5 .. 100
//! cargo run --release --example bench_scaling -- --quick      # N up to 1e5
//! cargo run --release --example bench_scaling -- --only-n 100000 --only-k 50
//! cargo run --release --example bench_scaling --features wgpu -- --wgpu
//! ```
//!
//! # Tables
//! 1. Time per step against `N` = 1e3, 1e4, 1e5, 1e6 at `K` = 20.
//! 2. Time per step against `K` = 5, 20, 50, 100 at `N` = 5000 and `N` = 1e5.
//! 3. Peak heap memory while fitting against `N`.
//! 4. The machine: CPU, cores, rayon threads, burn device, fused kernels, load average.
//!
//! # How a step is timed
//! The data are drawn and the model built before any clock starts. `fit` has a fixed cost per
//! call (uploading the data, one run of the model to find its latent variables, a new
//! optimiser) besides its steps, so one fit's time over its steps overstates a step. Each
//! configuration therefore runs
//! * a warm-up: a 2-step fit, then (when the chunk length `E` is over 2) an `E`-step fit.
//!   `E` is `--steps`, or by default the steps that take about `--chunk-seconds` (between 2
//!   and 500), estimated from the first warm-up fit and refined by the second (by `fit`'s own
//!   clock, `FitReport::seconds`);
//! * `--reps` pairs of fits of `E` and `2E` steps (the order alternating between pairs), each
//!   timed from outside with `Instant` around the whole `fit` call.
//!
//! A pair's time per step is `(t(2E) - t(E)) / E`: everything `fit` does per step (forward
//! pass, ELBO, reading the loss back, backward pass, Adam step) with its fixed cost cancelled
//! out. The table gives the median over the pairs and the spread of the pairs around it. As a
//! check it also gives the median of `FitReport::seconds / steps` over the same fits (`fit`'s
//! own clock, which runs around its loop only), and the median time of a fit outside that
//! clock (its fixed cost: `t - FitReport::seconds`). The fits continue from each other's
//! weights (each with a fresh Adam), which changes nothing in the work of a step.
//!
//! # How memory is counted
//! The global allocator is `cap::Cap` around mimalloc, which counts the bytes allocated and
//! keeps their maximum over the process's life. Peak heap while fitting is that maximum after
//! a configuration's fits minus the bytes allocated just before them (data and model built),
//! which is exact when the maximum rose during the fits. `cap` cannot reset its maximum, so a
//! configuration whose fits stay below an earlier configuration's peak has no figure: the `N`
//! sweep runs in increasing `N` for that reason, and table 3 lists the configurations that
//! could be measured. Only the host heap is counted: with `--wgpu` the tensors live on the GPU.
//! The counting (a few atomic operations per allocation) is part of every timing.

#[path = "mdn/toy.rs"]
mod toy;

use std::time::Instant;

use cap::Cap;
use clap::Parser;
use inferrs::prelude::*;
use inferrs_distributions::fused_kernels_available;

#[global_allocator]
static ALLOCATOR: Cap<mimalloc::MiMalloc> = Cap::new(mimalloc::MiMalloc, usize::MAX);

/// Hidden units per layer of `MixtureNet`.
const HIDDEN: usize = 15;
/// `K` of the `N` sweep (the MDN tutorial's).
const DEFAULT_K: usize = 20;
/// The first `N` of the `K` sweep (the MDN tutorial's).
const DEFAULT_N: usize = 5000;
/// The sweeps.
const NS: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
const KS: [usize; 4] = [5, 20, 50, 100];
/// The second `N` of the `K` sweep.
const LARGE_N: usize = 100_000;
/// Steps of the first warm-up fit (also the fewest steps of a timed chunk).
const WARMUP_STEPS: usize = 2;
/// The most steps of an adaptive chunk.
const MAX_STEPS: usize = 500;

#[derive(Parser, Debug)]
#[command(about = "Time per step and peak heap of the MDN fit against N and K")]
struct Args {
    /// Steps of a timed chunk `E` (each configuration fits `E` and `2E` steps `--reps` times,
    /// after a warm-up); by default chosen per configuration so that a chunk takes about
    /// `--chunk-seconds`.
    #[arg(long)]
    steps: Option<usize>,
    /// Target seconds of a timed chunk when `--steps` is not given.
    #[arg(long, default_value_t = 0.5)]
    chunk_seconds: f64,
    /// Pairs of timed fits (`E` and `2E` steps) per configuration; medians are reported.
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// `N` up to 1e5 only.
    #[arg(long)]
    quick: bool,
    /// Run one configuration with this `N` (with `K` from `--only-k`, or 20).
    #[arg(long)]
    only_n: Option<usize>,
    /// Run one configuration with this `K` (with `N` from `--only-n`, or 5000).
    #[arg(long)]
    only_k: Option<usize>,
    /// Seed of the initial weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Run on burn's wgpu device instead of the CPU.
    #[cfg(feature = "wgpu")]
    #[arg(long)]
    wgpu: bool,
}

/// What one configuration measured.
struct Measurement {
    n: usize,
    k: usize,
    /// Steps of a timed chunk.
    steps: usize,
    /// Seconds per step of each pair, `(t(2E) - t(E)) / E`.
    per_step: Vec<f64>,
    /// `FitReport::seconds / steps` of each timed fit.
    loop_per_step: Vec<f64>,
    /// Seconds of each timed fit outside `fit`'s own clock (start-up and wind-down).
    outside: Vec<f64>,
    /// Heap bytes allocated just before the fits.
    heap_before: usize,
    /// Peak heap bytes above `heap_before` during the fits, if the process's peak rose then.
    peak: Option<usize>,
}

/// Fits the MDN on `n` rows with `k` components and times its steps (see the module docs).
fn measure(
    device: &Device,
    args: &Args,
    n: usize,
    k: usize,
) -> Result<Measurement, Box<dyn std::error::Error>> {
    let (x, y) = toy::make_data(n, toy::TRAIN_SEED);
    let data = Data::new().with("x", &x)?.with("y", &y)?;
    device.seed(args.seed);
    let mut model = datamodel! {
        nn = MixtureNet::new(device, HIDDEN, k);
        x ~ Normal(0.0, 10.0);
        y ~ MixtureGaussian(nn(x));
    };
    let heap_before = ALLOCATOR.allocated();
    let peak_before = ALLOCATOR.max_allocated();
    // Wall seconds of the whole call and `fit`'s own seconds of its loop.
    let mut fit = |steps: usize| -> Result<(f64, f64), inferrs::Error> {
        let start = Instant::now();
        let report = model.fit(&data, VI::new(steps).lr(0.01).quiet(true))?;
        Ok((start.elapsed().as_secs_f64(), report.seconds))
    };

    // Warm-up; without `--steps`, each warm-up fit's own clock refines the chunk length.
    let chunk = |seconds: f64, steps: usize| {
        let per_step = (seconds / steps as f64).max(1e-6);
        ((args.chunk_seconds / per_step).ceil() as usize).clamp(WARMUP_STEPS, MAX_STEPS)
    };
    let (_, probe) = fit(WARMUP_STEPS)?;
    let mut steps = args.steps.unwrap_or_else(|| chunk(probe, WARMUP_STEPS));
    if steps > WARMUP_STEPS {
        let (_, warm) = fit(steps)?;
        if args.steps.is_none() {
            steps = chunk(warm, steps);
        }
    }
    let (mut per_step, mut loop_per_step, mut outside) = (Vec::new(), Vec::new(), Vec::new());
    for rep in 0..args.reps {
        let ((t1, l1), (t2, l2)) = if rep % 2 == 0 {
            let one = fit(steps)?;
            (one, fit(2 * steps)?)
        } else {
            let two = fit(2 * steps)?;
            (fit(steps)?, two)
        };
        per_step.push((t2 - t1) / steps as f64);
        outside.push(t1 - l1);
        outside.push(t2 - l2);
        loop_per_step.push(l1 / steps as f64);
        loop_per_step.push(l2 / (2 * steps) as f64);
    }
    let peak_after = ALLOCATOR.max_allocated();
    Ok(Measurement {
        n,
        k,
        steps,
        per_step,
        loop_per_step,
        outside,
        heap_before,
        peak: (peak_after > peak_before).then(|| peak_after - heap_before),
    })
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `min..max` of `v` relative to its median, in percent.
fn spread(v: &[f64]) -> String {
    let m = median(v);
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!(
        "{:+.0}%..{:+.0}%",
        100.0 * (lo / m - 1.0),
        100.0 * (hi / m - 1.0)
    )
}

/// A power of ten from 1000 up as `1e3`, other sizes as they are.
fn size(n: usize) -> String {
    if n >= 1000 && 10usize.pow(n.ilog10()) == n {
        format!("1e{}", n.ilog10())
    } else {
        n.to_string()
    }
}

fn mib(bytes: usize) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// The first `model name` of /proc/cpuinfo and the number of `processor` entries.
fn cpu() -> (String, usize) {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown".to_string(), |(_, m)| m.trim().to_string());
    let count = info.lines().filter(|l| l.starts_with("processor")).count();
    (model, count)
}

/// The 1, 5 and 15 minute load averages of /proc/loadavg.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|_| "unknown".to_string())
}

/// The device of the run: wgpu when asked, else the CPU backend the features select.
fn device(args: &Args) -> Device {
    #[cfg(feature = "wgpu")]
    if args.wgpu {
        return Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    }
    let _ = args;
    // With `wgpu` enabled too, `Device::default()` would pick wgpu: name flex explicitly.
    #[cfg(feature = "flex")]
    return Device::flex();
    #[cfg(not(feature = "flex"))]
    Device::default()
}

/// The configurations `(N, K)` to run, each once, in order (the `N` sweep in increasing `N`
/// first, so that its peak heap can be measured).
fn configurations(args: &Args) -> Vec<(usize, usize)> {
    if args.only_n.is_some() || args.only_k.is_some() {
        return vec![(
            args.only_n.unwrap_or(DEFAULT_N),
            args.only_k.unwrap_or(DEFAULT_K),
        )];
    }
    let max_n = if args.quick { LARGE_N } else { usize::MAX };
    let mut out: Vec<(usize, usize)> = NS
        .iter()
        .filter(|&&n| n <= max_n)
        .map(|&n| (n, DEFAULT_K))
        .collect();
    for n in [DEFAULT_N, LARGE_N] {
        for k in KS {
            if !out.contains(&(n, k)) {
                out.push((n, k));
            }
        }
    }
    out
}

/// A row of tables 1 and 2.
fn time_row(m: &Measurement) -> String {
    let per_step = median(&m.per_step);
    format!(
        "| {} | {} | {} | {:.3} | {} | {:.3} | {:.1} | {:.0} |",
        size(m.n),
        m.k,
        m.steps,
        1e3 * per_step,
        spread(&m.per_step),
        1e3 * median(&m.loop_per_step),
        1e3 * median(&m.outside),
        1e9 * per_step / m.n as f64,
    )
}

const TIME_HEADER: &str = "| N | K | steps E | ms/step | spread of the pairs | ms/step by fit's \
                           clock | ms per fit outside its loop | ns per row per step |\n\
                           |---:|---:|---:|---:|---|---:|---:|---:|";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.reps == 0 || args.steps == Some(0) {
        return Err("--reps and --steps must be at least 1".into());
    }
    let device = device(&args);
    let load_start = load_average();
    let started = Instant::now();
    let mut results: Vec<Measurement> = Vec::new();
    for (n, k) in configurations(&args) {
        let m = measure(&device, &args, n, k)?;
        eprintln!(
            "N={n} K={k}: {:.3} ms/step ({} pairs of {} and {} steps)",
            1e3 * median(&m.per_step),
            args.reps,
            m.steps,
            2 * m.steps
        );
        results.push(m);
    }
    let load_end = load_average();
    let (cpu_model, logical) = cpu();

    let command: Vec<String> = std::env::args().skip(1).collect();
    println!(
        "## MDN fit scaling (inferrs `fit`, MixtureNet hidden {HIDDEN}, Adam lr 0.01, full batch)\n"
    );
    println!(
        "`cargo run --release --example bench_scaling{}` ({:.0} s)\n",
        if command.is_empty() {
            String::new()
        } else {
            format!(" -- {}", command.join(" "))
        },
        started.elapsed().as_secs_f64()
    );
    let by_n: Vec<&Measurement> = NS
        .iter()
        .filter_map(|&n| results.iter().find(|m| m.n == n && m.k == DEFAULT_K))
        .collect();
    if !by_n.is_empty() {
        println!("### Time per step against N (K = {DEFAULT_K})\n\n{TIME_HEADER}");
        for m in &by_n {
            println!("{}", time_row(m));
        }
        println!();
    }
    for n in [DEFAULT_N, LARGE_N] {
        let by_k: Vec<&Measurement> = KS
            .iter()
            .filter_map(|&k| results.iter().find(|m| m.n == n && m.k == k))
            .collect();
        if by_k.len() > 1 {
            println!(
                "### Time per step against K (N = {})\n\n{TIME_HEADER}",
                size(n)
            );
            for m in &by_k {
                println!("{}", time_row(m));
            }
            println!();
        }
    }
    if results.len() == 1 && by_n.is_empty() {
        println!(
            "### Time per step\n\n{TIME_HEADER}\n{}\n",
            time_row(&results[0])
        );
    }
    println!(
        "### Peak heap while fitting (host heap above the bytes allocated before the fits; \
         configurations below an earlier peak left out)\n"
    );
    println!(
        "| N | K | heap before fit (MiB) | peak during fit, above before (MiB) | bytes per row |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for m in &results {
        if let Some(peak) = m.peak {
            println!(
                "| {} | {} | {} | {} | {:.0} |",
                size(m.n),
                m.k,
                mib(m.heap_before),
                mib(peak),
                peak as f64 / m.n as f64
            );
        }
    }
    println!("\n### Machine\n");
    println!("| | |\n|---|---|");
    println!("| CPU | {cpu_model} |");
    println!("| logical CPUs (/proc/cpuinfo) | {logical} |");
    println!(
        "| available parallelism | {} |",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| rayon threads | {} |", rayon::current_num_threads());
    println!("| burn device | {device:?} |");
    println!(
        "| fused kernels | {} |",
        if fused_kernels_available(&device) {
            "on"
        } else {
            "off"
        }
    );
    println!("| load average at start (1, 5, 15 min) | {load_start} |");
    println!("| load average at end | {load_end} |");
    println!(
        "| timing | median over {} pairs of fits of E and 2E steps of (t(2E) - t(E)) / E, \
         after a warm-up |",
        args.reps
    );
    println!("| heap counting | cap::Cap around mimalloc |");
    Ok(())
}
