//! Data larger than memory (issue 10): a Bayesian logistic regression with 20 features fitted
//! by minibatch SVI from a Parquet file the benchmark writes itself, one epoch of batches of
//! 1024 at N = 1e5, 1e6 and 1e7 rows; and a posterior-predictive and `log_prob` query of the
//! headline MDN over 2e6 rows, in chunks against one run. Prints markdown tables of peak resident memory, rows per second,
//! and milliseconds per step.
//!
//! ```text
//! cargo run --release --features parquet --example bench_stream
//! cargo run --release --features parquet --example bench_stream -- --rows 100000,1000000
//! ```
//!
//! Each fit runs in a child process of its own (the binary calls itself with `--child`), so
//! that its peak resident set (`VmHWM` of `/proc/self/status`, Linux) is that fit's alone:
//! the binary, burn's runtime, one record batch of the file, the shuffle buffer
//! ([`DEFAULT_SHUFFLE_BUFFER`](inferrs::DEFAULT_SHUFFLE_BUFFER) rows) and one batch. The
//! query child resets the peak (`/proc/self/clear_refs`) after building its data, and gives
//! the peak over that baseline per row.
//!
//! The model: `w ~ N(0, 1)^20`, `b ~ N(0, 1)`, `y ~ Bernoulli(logits = x w + b)` with `x` an
//! input (not modelled), AutoNormal, Adam at lr 0.01, as `shared/peers/models/logreg.py`.
//! `scripts/bench_stream_numpyro.py` times NumPyro's minibatch step on batches of the same
//! size.

#[macro_use]
#[path = "logreg/data.rs"]
mod logreg;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use clap::Parser;
use inferrs::ParquetSource;
use inferrs::prelude::*;
use logreg::{D, WRITE_ROWS, block, file, truth};
use rand::SeedableRng;

/// Options of a run.
#[derive(Clone, Debug, Parser)]
#[command(about = "Streamed minibatch SVI from Parquet: memory flat in N, rows per second")]
struct Options {
    /// Row counts of the fits, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000,10000000")]
    rows: Vec<usize>,
    /// Rows per batch.
    #[arg(long, default_value_t = 1024)]
    batch: usize,
    /// Epochs per fit.
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// Rows of the query benchmark (0: none).
    #[arg(long, default_value_t = 2_000_000)]
    query_rows: usize,
    /// Where the Parquet files go (they are kept for later runs).
    #[arg(long, default_value = "out/bench_stream")]
    dir: PathBuf,
    /// Run one fit on this many rows and print its JSON line (what the parent calls).
    #[arg(long)]
    child: Option<usize>,
    /// Run the query benchmark on this many rows, chunked or not (what the parent calls).
    #[arg(long)]
    query_child: Option<usize>,
    /// With `--query-child`: one run over all rows (the behaviour before chunked queries).
    #[arg(long)]
    unchunked: bool,
    /// With `--child`: the same rows from memory (`Data`) instead of the file.
    #[arg(long)]
    memory: bool,
    /// With `--child`: only read the epochs' batches (the source's own cost), no fit.
    #[arg(long)]
    read_only: bool,
}

/// The rows of `a` then those of `b`.
fn concat(a: Data, b: Data) -> Result<Data, Error> {
    let mut out = Data::new();
    for name in a.names() {
        let (ca, cb) = (a.get(name), b.get(name));
        if let (Some(ca), Some(cb)) = (ca, cb) {
            let mut values = ca.values().to_vec();
            values.extend_from_slice(cb.values());
            let rows = ca.rows() + cb.rows();
            out.insert(name, inferrs::Column::new(name, values, rows, ca.cols())?)?;
        }
    }
    Ok(out)
}

/// Peak and current resident set of this process, in bytes (`/proc/self/status`).
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// One fit of the file of `rows` rows: a JSON line.
fn child(opts: &Options, rows: usize) -> Result<(), Error> {
    let path = opts.dir.join(format!("logreg_{rows}.parquet"));
    let mut source: Box<dyn DataSource> = if opts.memory {
        let mut data = block(0, rows.min(WRITE_ROWS))?;
        for start in (WRITE_ROWS..rows).step_by(WRITE_ROWS) {
            data = concat(data, block(start, WRITE_ROWS.min(rows - start))?)?;
        }
        Box::new(data)
    } else {
        Box::new(ParquetSource::open(&path)?)
    };
    if opts.read_only {
        let start = Instant::now();
        let mut shuffle = <inferrs::distributions::Rng as SeedableRng>::seed_from_u64(0);
        let mut seen = 0;
        for _ in 0..opts.epochs {
            for batch in source.epoch(opts.batch, Some(&mut shuffle))? {
                seen += batch?.indices.len();
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "{{\"rows\": {seen}, \"read_seconds\": {seconds:.3}, \"ns_per_row\": {:.1}}}",
            1e9 * seconds / seen as f64
        );
        return Ok(());
    }
    let mut model = logreg_model!();
    let start = Instant::now();
    let report = model.fit_source(
        &mut *source,
        VI::new(opts.epochs)
            .lr(0.01)
            .batch_size(opts.batch)
            .guide(AutoNormal::default())
            .seed(0)
            .quiet(true),
    )?;
    let seconds = start.elapsed().as_secs_f64();
    let steps = opts.epochs * rows.div_ceil(opts.batch);
    let w = model.posterior(["w"])?.sample_n(200)?["w"].mean();
    let (peak, _) = rss();
    let (tw, _) = truth();
    let err = w
        .iter()
        .zip(tw)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!(
        "{{\"rows\": {rows}, \"seconds\": {seconds:.3}, \"fit_seconds\": {:.3}, \"steps\": {steps}, \
         \"peak_rss\": {peak}, \"max_w_error\": {err:.4}, \"loss\": {:.2}}}",
        report.seconds,
        report.losses.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}

/// The query benchmark: the headline MDN (`MixtureNet` 1 -> 15 -> 15, K = 20, fitted for 200
/// epochs on 2000 rows of the toy problem) draws `y` at `rows` new `x` and scores them; the
/// peak memory over the baseline per row, for an answer of 8 bytes a row (`x` in, `y` out).
fn query_child(rows: usize, unchunked: bool) -> Result<(), Error> {
    let device = Device::default();
    device.seed(0);
    let mut model = datamodel! {
        nn = MixtureNet::new(&device, 15, 20);
        x ~ Normal(0.0, 10.0);
        y ~ MixtureGaussian(nn(x));
    };
    let y: Vec<f32> = (0..2000).map(|i| i as f32 / 1000.0 * 10.5 - 10.5).collect();
    let x: Vec<f32> = y
        .iter()
        .map(|&y| 7.0 * (0.75 * y).sin() + 0.5 * y)
        .collect();
    let train = Data::new().with("x", x)?.with("y", y)?;
    model.fit(&train, VI::new(200).seed(0).quiet(true))?;
    if unchunked {
        model.set_chunk_rows(usize::MAX);
    }
    let grid: Vec<f32> = (0..rows).map(|i| (i % 1000) as f32 / 50.0 - 10.0).collect();
    let data = Data::new().with("x", grid)?;
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (_, base) = rss();
    let start = Instant::now();
    let draw = model.posterior_predictive(["y"], &data)?.sample()?;
    let lp = model.log_prob(["y"], &data.clone().with("y", draw["y"].to_vec())?)?;
    let seconds = start.elapsed().as_secs_f64();
    let (peak, _) = rss();
    println!(
        "{{\"rows\": {rows}, \"chunked\": {}, \"seconds\": {seconds:.3}, \"peak_over_base\": {}, \
         \"bytes_per_row\": {:.1}, \"mean_log_prob\": {:.4}}}",
        !unchunked,
        peak.saturating_sub(base),
        peak.saturating_sub(base) as f64 / rows as f64,
        lp.mean()
    );
    Ok(())
}

/// Runs this binary with `args`; its JSON line.
fn spawn(args: &[String]) -> Result<String, Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe).args(args).output()?;
    if !out.status.success() {
        return Err(format!(
            "child {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn number(line: &str, key: &str) -> f64 {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get(key).and_then(serde_json::Value::as_f64))
        .unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opts = Options::parse();
    if let Some(rows) = opts.child {
        return Ok(child(&opts, rows)?);
    }
    if let Some(rows) = opts.query_child {
        return Ok(query_child(rows, opts.unchunked)?);
    }
    std::fs::create_dir_all(&opts.dir)?;
    let dir = opts.dir.display().to_string();
    println!("| N | file MB | peak RSS MB | vs first | fit s | rows/s | ms/step | max |w - w*| |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut first_peak = None;
    let child_args = |rows: usize, memory: bool| {
        let mut args = vec![
            "--child".to_string(),
            rows.to_string(),
            "--dir".into(),
            dir.clone(),
            "--batch".into(),
            opts.batch.to_string(),
            "--epochs".into(),
            opts.epochs.to_string(),
        ];
        if memory {
            args.push("--memory".into());
        }
        args
    };
    let mut rows_of = |label: String, line: &str, mb: Option<f64>| {
        let peak = number(line, "peak_rss") / 1e6;
        let fit = number(line, "fit_seconds");
        let steps = number(line, "steps");
        let rows = number(line, "rows");
        let vs = match mb {
            Some(_) => {
                let base = *first_peak.get_or_insert(peak);
                format!("{:+.1}%", 100.0 * (peak / base - 1.0))
            }
            None => "-".to_string(),
        };
        println!(
            "| {label} | {} | {peak:.1} | {vs} | {fit:.2} | {:.0} | {:.3} | {:.3} |",
            mb.map_or("-".to_string(), |mb| format!("{mb:.0}")),
            rows * opts.epochs as f64 / fit,
            1e3 * fit / steps,
            number(line, "max_w_error"),
        );
        eprintln!("{line}");
    };
    for &rows in &opts.rows {
        let start = Instant::now();
        let path = file(&opts.dir, rows)?;
        eprintln!(
            "file of {rows} rows ready in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        let mb = std::fs::metadata(&path)?.len() as f64 / 1e6;
        let line = spawn(&child_args(rows, false))?;
        rows_of(format!("{rows}, Parquet"), &line, Some(mb));
    }
    if let Some(&rows) = opts.rows.first() {
        let line = spawn(&child_args(rows, true))?;
        rows_of(format!("{rows}, in memory"), &line, None);
    }
    if opts.query_rows > 0 {
        println!();
        println!(
            "| query over {} rows | peak over baseline MB | bytes per row | s |",
            opts.query_rows
        );
        println!("|---|---:|---:|---:|");
        for unchunked in [true, false] {
            let mut args = vec!["--query-child".to_string(), opts.query_rows.to_string()];
            if unchunked {
                args.push("--unchunked".into());
            }
            let line = spawn(&args)?;
            println!(
                "| {} | {:.1} | {:.1} | {:.2} |",
                if unchunked {
                    "one run (before)"
                } else {
                    "in chunks"
                },
                number(&line, "peak_over_base") / 1e6,
                number(&line, "bytes_per_row"),
                number(&line, "seconds"),
            );
            eprintln!("{line}");
        }
    }
    Ok(())
}
