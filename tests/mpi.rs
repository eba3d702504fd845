//! Data-parallel SVI over MPI (feature `mpi`; CI installs Open MPI): each test launches
//! `mpirun -n 2` on this test binary, whose ignored `child_*` tests are the ranks' program.
//!
//! ```text
//! cargo test --release --features mpi --test mpi -- --nocapture
//! ```

#[macro_use]
#[path = "common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "../examples/linear_regression.rs"]
mod linear_regression;
#[allow(dead_code)]
#[path = "common/ranks.rs"]
mod ranks;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use inferrs::Error;
use inferrs::distributed::{Collective, Mpi};
use inferrs::prelude::*;
use ranks::{
    Stop, StopsAtEpoch3, assert_conjugate, loc_scale, near, on_ranks, regression_data,
    write_csv_with_a_bad_row,
};

/// Set in the ranks' environment: the `child_*` tests run only under `mpirun`.
const CHILD: &str = "INFERRS_MPI_CHILD";

/// `mpirun -n ranks` on this binary's test `test`; its exit success, output and wall time.
/// Fails the test if the job does not end within `limit`.
fn mpirun(test: &str, ranks: usize, limit: Duration) -> (bool, String, Duration) {
    let exe = std::env::current_exe().expect("the test binary");
    let dir = std::env::temp_dir().join(format!("inferrs-mpi-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    let start = Instant::now();
    let mut child = Command::new("mpirun")
        .args([
            "--allow-run-as-root",
            "--oversubscribe",
            "-n",
            &ranks.to_string(),
        ])
        .args(["-x", &format!("{CHILD}=1")])
        .arg(&exe)
        .args([
            "--ignored",
            "--exact",
            test,
            "--nocapture",
            "--test-threads=1",
        ])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("mpirun (Open MPI's openmpi-bin) on the PATH");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            child.kill().ok();
            panic!("mpirun -n {ranks} {test} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = std::fs::read_to_string(&out).unwrap() + &std::fs::read_to_string(&err).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    println!("---- mpirun -n {ranks} {test} ----\n{output}");
    (status.success(), output, start.elapsed())
}

/// Two processes fit the conjugate linear regression on their shards (rows 0, 2, ... and
/// 1, 3, ...): the checks of `child_fits` hold on both ranks.
#[test]
fn two_ranks_over_mpi_fit_the_regression() {
    let (ok, output, _) = mpirun("child_fits", 2, Duration::from_secs(600));
    assert!(ok, "the ranks failed:\n{output}");
    for r in 0..2 {
        assert!(
            output.contains(&format!("rank {r}: every check held")),
            "{output}"
        );
    }
}

/// A rank that dies mid-fit (rank 1 exits in its third epoch) ends the job within a bounded
/// time: Open MPI's launcher stops the other rank and names the one that died, and exits with
/// an error. Rank 0 never reports a finished fit.
#[test]
fn a_rank_that_dies_ends_the_job_and_is_named() {
    let (ok, output, took) = mpirun("child_dies", 2, Duration::from_secs(120));
    assert!(!ok, "the job reported success:\n{output}");
    println!("the job ended {took:.2?} after mpirun started it");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(!output.contains("rank 0: fit finished"), "{output}");
    // Open MPI names the process as [[job, 1], rank] with its exit code.
    assert!(
        output.contains("],1]") && output.contains("Exit code:    3"),
        "{output}"
    );
}

/// Fits one step at a time (a fit of one epoch, resumed), the guide's parameters after each;
/// `over` puts each fit on its ranks.
fn steps(n: usize, data: &Data, over: &dyn Fn(VI) -> VI) -> Result<Vec<[(f32, f32); 2]>, Error> {
    let mut model = regression!();
    let mut after = Vec::new();
    for step in 0..n {
        let vi = VI::new(1)
            .lr(0.05)
            .schedule(inferrs::Schedule::Constant)
            .seed(4)
            .quiet(true);
        let vi = if step == 0 {
            vi.guide(AutoNormal::default())
        } else {
            vi.resume()
        };
        model.fit(data, over(vi))?;
        after.push(loc_scale(&model));
    }
    Ok(after)
}

/// The ranks' program of `two_ranks_over_mpi_fit_the_regression`.
///
/// 1. 25 full-batch steps, one at a time: after every step the guide is bit for bit the one
///    of two thread ranks in one process that sum the same two shards' gradients in the same
///    order, and within 1e-6 of one process on all rows (whose sums go in another order).
/// 2. 1500 full-batch epochs, and 800 epochs in batches of 10: the conjugate posterior's
///    mean-field optimum (means within 0.03, sds within 10%), the same bits on both ranks.
/// 3. A value of rank 1's rows that is not a number stops both ranks: rank 1 with the data
///    error, rank 0 with an error naming rank 1.
#[test]
#[ignore = "a rank of an MPI job: run by the tests above under mpirun"]
fn child_fits() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let mpi = Mpi::init().unwrap();
    let world = mpi.world();
    let rank = world.rank();
    assert_eq!(world.size(), 2, "two ranks");
    let (rows, post) = regression_data();

    let over_mpi = steps(25, &rows, &|vi: VI| {
        vi.distributed(world.clone().timeout(Duration::from_secs(120)))
            .check_every(1)
    })
    .unwrap();
    let threads = on_ranks(2, |local| {
        steps(25, &rows, &|vi: VI| {
            vi.distributed(local.clone()).check_every(1)
        })
        .unwrap()
    });
    let alone = steps(25, &rows, &|vi: VI| vi).unwrap();
    assert_eq!(
        over_mpi, threads[rank],
        "MPI and threads give the same bits at every step"
    );
    for (step, (a, b)) in alone.iter().zip(&over_mpi).enumerate() {
        for ((l1, s1), (l2, s2)) in a.iter().zip(b) {
            near(
                f64::from(*l2),
                f64::from(*l1),
                1e-6,
                &format!("step {step}: location"),
            );
            near(
                f64::from(*s2),
                f64::from(*s1),
                1e-6,
                &format!("step {step}: scale"),
            );
        }
    }
    println!(
        "rank {rank}: 25 steps equal the thread ranks' bit for bit, one process's within 1e-6"
    );

    for (what, vi) in [
        ("full batch", VI::new(1500).lr(0.05)),
        ("batches of 10", VI::new(800).lr(0.02).batch_size(10)),
    ] {
        let mut model = regression!();
        let vi = vi.guide(AutoNormal::default()).seed(4).quiet(true);
        let report = model.fit(&rows, vi.distributed(world.clone())).unwrap();
        assert_eq!((report.rows, report.ranks), (100, 2));
        let fitted = loc_scale(&model);
        assert_conjugate(&fitted, &post, what);
        println!(
            "rank {rank}: {what}: w {:.4} (exact {:.4}), b {:.4} (exact {:.4}) in {:.2} s",
            fitted[0].0, post.mean[0], fitted[1].0, post.mean[1], report.seconds
        );
    }

    let path = std::env::temp_dir().join(format!(
        "inferrs-mpi-rows-{rank}-{}.csv",
        std::process::id()
    ));
    write_csv_with_a_bad_row(&path);
    let mut source = inferrs::CsvSource::open(&path).unwrap().shuffle_buffer(4);
    let mut model = regression!();
    let vi = VI::new(50)
        .batch_size(5)
        .guide(AutoNormal::default())
        .quiet(true);
    let result = model.fit_source(&mut source, vi.distributed(world.clone()));
    std::fs::remove_file(&path).ok();
    match (rank, &result) {
        (1, Err(Error::Data { reason, .. })) => assert!(reason.contains("row 61"), "{reason}"),
        (
            0,
            Err(Error::RankFailed {
                rank: 1,
                epoch: 1,
                reason,
            }),
        ) => {
            assert!(reason.contains("abc"), "{reason}");
        }
        _ => panic!("rank {rank}: {result:?}"),
    }
    println!(
        "rank {rank}: a failed rank stops both: {}",
        result.unwrap_err()
    );
    println!("rank {rank}: every check held");
    drop(mpi);
}

/// The ranks' program of `a_rank_that_dies_ends_the_job_and_is_named`.
#[test]
#[ignore = "a rank of an MPI job: run by the tests above under mpirun"]
fn child_dies() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let mpi = Mpi::init().unwrap();
    let world = mpi.world();
    let (data, _) = regression_data();
    let mut source = StopsAtEpoch3::new(data, Stop::Exits);
    let mut model = regression!();
    let vi = VI::new(200)
        .batch_size(10)
        .guide(AutoNormal::default())
        .quiet(true);
    let result = model.fit_source(&mut source, vi.distributed(world.clone()));
    println!("rank {}: fit finished: {result:?}", world.rank());
    drop(mpi);
}
