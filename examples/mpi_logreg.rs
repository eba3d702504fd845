//! Data-parallel SVI over MPI (issue 14): the Bayesian logistic regression of the streamed
//! SVI benchmark (`bench_stream`: 20 features, AutoNormal, Adam at lr 0.01, batches of 1024
//! rows per rank), written to Parquet and fitted by 1, 2 and 4 ranks, each reading its own
//! row groups. Prints each fit's posterior summaries, rows per second and the speed-up over
//! one rank.
//!
//! ```text
//! cargo build --release --features mpi,parquet --example mpi_logreg
//! target/release/examples/mpi_logreg                 # launches mpirun -n 1, 2 and 4 itself
//! mpirun -n 4 target/release/examples/mpi_logreg     # one fit on 4 ranks
//! ```
//!
//! Run without `mpirun`, it is the launcher: it writes the file, then runs `mpirun -n k` on
//! itself for each `k` of `--ranks` (one thread per rank, `RAYON_NUM_THREADS=1`, so that `k`
//! ranks use `k` cores), `--reps` times alternating, and prints the table from rank 0's line
//! of each count's median fit. Started by `mpirun`,
//! it is a rank: rank 0 writes the file unless it exists, every rank waits for it, fits on
//! its shard, and rank 0 prints the summaries and a JSON line. docs/distributed.md has the
//! multi-host launch.

#[macro_use]
#[path = "logreg/data.rs"]
mod logreg;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use clap::Parser;
use inferrs::ParquetSource;
use inferrs::distributed::{Collective, Mpi};
use inferrs::prelude::*;
use logreg::{D, WRITE_ROWS, file, truth};

/// Options of a run.
#[derive(Clone, Debug, Parser)]
#[command(
    about = "Data-parallel SVI over MPI: a logistic regression from Parquet on 1, 2, 4 ranks"
)]
struct Options {
    /// Rows of the data (row groups of 65,536 rows: at least one per rank).
    #[arg(long, default_value_t = 1_048_576)]
    rows: usize,
    /// Rows per batch on each rank.
    #[arg(long, default_value_t = 1024)]
    batch: usize,
    /// Epochs of each fit.
    #[arg(long, default_value_t = 2)]
    epochs: usize,
    /// Fits per rank count (the launcher alternates them, and reports the median time).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Rank counts of the launcher, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    ranks: Vec<usize>,
    /// Where the Parquet file goes (kept for later runs).
    #[arg(long, default_value = "out/mpi_logreg")]
    dir: PathBuf,
}

/// Whether this process was started by an MPI launcher (Open MPI or a PMIx one).
fn under_mpirun() -> bool {
    ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

/// One rank's fit.
fn rank(opts: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let mpi = Mpi::init()?;
    let world = mpi.world();
    let path = opts.dir.join(format!("logreg_{}.parquet", opts.rows));
    if world.rank() == 0 {
        std::fs::create_dir_all(&opts.dir)?;
        file(&opts.dir, opts.rows)?;
    }
    world.barrier()?;
    let mut source = ParquetSource::open(&path)?;
    let mut model = logreg_model!();
    let start = Instant::now();
    let report = model.fit_source(
        &mut source,
        VI::new(opts.epochs)
            .lr(0.01)
            .batch_size(opts.batch)
            .guide(AutoNormal::default())
            .seed(0)
            .quiet(true)
            .distributed(world.clone()),
    )?;
    let seconds = start.elapsed().as_secs_f64();
    if world.rank() == 0 {
        let draws = model.posterior(["w", "b"])?.sample_n(1000)?;
        let (w, b) = (draws["w"].summary(), draws["b"].summary());
        let (tw, tb) = truth();
        let err = w
            .mean
            .iter()
            .zip(tw)
            .map(|(a, t)| (a - t).abs())
            .fold(0.0, f64::max);
        let ranks = world.size();
        println!("{ranks} ranks on {}:", mpi.host());
        println!("  b: mean {:.4}, sd {:.4} (true {tb})", b.mean[0], b.sd[0]);
        for (j, t) in tw.iter().enumerate() {
            println!(
                "  w[{j:2}]: mean {:+.4}, sd {:.4} (true {t:+.4})",
                w.mean[j], w.sd[j]
            );
        }
        println!(
            "{{\"ranks\": {ranks}, \"rows\": {}, \"epochs\": {}, \"seconds\": {seconds:.3}, \
             \"fit_seconds\": {:.3}, \"max_w_error\": {err:.4}, \"b\": {:.4}, \"loss\": {:.1}}}",
            report.rows,
            opts.epochs,
            report.seconds,
            b.mean[0],
            report.final_loss()
        );
    }
    drop(mpi);
    Ok(())
}

fn number(line: &str, key: &str) -> f64 {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get(key).and_then(serde_json::Value::as_f64))
        .unwrap_or(f64::NAN)
}

/// The launcher: the file, then one `mpirun` per rank count.
fn launch(opts: &Options) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&opts.dir)?;
    let start = Instant::now();
    file(&opts.dir, opts.rows)?;
    eprintln!(
        "file of {} rows ({} row groups) ready in {:.1} s",
        opts.rows,
        opts.rows.div_ceil(WRITE_ROWS),
        start.elapsed().as_secs_f64()
    );
    let exe = std::env::current_exe()?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    // Each rank count's JSON lines, the reps alternating between the counts so that the
    // machine's drifts fall on all of them.
    let mut lines: Vec<(usize, Vec<String>)> =
        opts.ranks.iter().map(|&k| (k, Vec::new())).collect();
    for rep in 0..opts.reps.max(1) {
        for (k, found) in &mut lines {
            let out = Command::new("mpirun")
                .args([
                    "--allow-run-as-root",
                    "--oversubscribe",
                    "-n",
                    &k.to_string(),
                ])
                .args(["-x", "RAYON_NUM_THREADS=1"])
                .arg(&exe)
                .args(["--rows", &opts.rows.to_string()])
                .args(["--batch", &opts.batch.to_string()])
                .args(["--epochs", &opts.epochs.to_string()])
                .arg("--dir")
                .arg(&opts.dir)
                .output()?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() {
                return Err(format!(
                    "mpirun -n {k} failed:\n{stdout}{}",
                    String::from_utf8_lossy(&out.stderr)
                )
                .into());
            }
            found.push(
                stdout
                    .lines()
                    .find(|l| l.starts_with('{'))
                    .ok_or("no JSON line from rank 0")?
                    .to_string(),
            );
            if rep == 0 {
                for l in stdout.lines().filter(|l| !l.starts_with('{')) {
                    println!("{l}");
                }
            }
        }
    }
    // The median fit of each count.
    let table: Vec<(usize, String)> = lines
        .into_iter()
        .map(|(k, mut found)| {
            found.sort_by(|a, b| number(a, "fit_seconds").total_cmp(&number(b, "fit_seconds")));
            (k, found[found.len() / 2].clone())
        })
        .collect();
    let base = table
        .iter()
        .find(|(k, _)| *k == 1)
        .map(|(_, l)| number(l, "fit_seconds"));
    println!(
        "\n{} rows, {} epochs, batches of {} rows per rank, one thread per rank, {cores} cores; \
         the median of {} fits\n",
        opts.rows,
        opts.epochs,
        opts.batch,
        opts.reps.max(1)
    );
    println!("| ranks | fit s | rows/s | speed-up over 1 rank | max |w - w*| | b | final loss |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (k, line) in &table {
        let fit = number(line, "fit_seconds");
        let over = if *k > cores { " (oversubscribed)" } else { "" };
        println!(
            "| {k}{over} | {fit:.2} | {:.0} | {} | {:.3} | {:.3} | {:.0} |",
            number(line, "rows") * opts.epochs as f64 / fit,
            base.map_or("-".to_string(), |b| format!("{:.2}", b / fit)),
            number(line, "max_w_error"),
            number(line, "b"),
            number(line, "loss"),
        );
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opts = Options::parse();
    if under_mpirun() {
        rank(&opts)
    } else {
        launch(&opts)
    }
}
