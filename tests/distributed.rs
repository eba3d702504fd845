//! Data-parallel SVI (`VI::distributed`) over ranks that are threads of this process
//! (`LocalGroup`): the same loop, exchanges and shards as over MPI (tests/mpi.rs), without
//! an MPI library.

#[macro_use]
#[path = "common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "../examples/linear_regression.rs"]
mod linear_regression;
#[allow(dead_code)]
#[path = "common/ranks.rs"]
mod ranks;

use inferrs::distributed::{Collective, LocalGroup};
use inferrs::prelude::*;
use inferrs::{DataSource, Error, RenyiElbo};
use linear_regression::data;
use ranks::{
    Stop, StopsAtEpoch3, assert_conjugate, fit_regression, loc_scale, near, on_ranks,
    regression_data, write_csv_with_a_bad_row,
};

/// Two ranks on whole shards (50 rows each) take the steps of one process on all 100 rows:
/// every rank draws the global variables from the same stream, and the ranks' bounds add up
/// to the whole data's, so the only difference is the order of the gradient's sums (f32
/// within a rank, f64 across ranks). The loss of every epoch agrees within 1e-6 relative
/// (2.3e-7 seen), and the fitted guide within 1e-6 (2e-8 seen); it is the conjugate posterior's mean-field optimum
/// (means within 0.03, sds within 10%, the full-batch tolerances).
#[test]
fn two_ranks_fit_as_one_process_does() {
    let (data, post) = regression_data();
    let vi = || {
        VI::new(1500)
            .lr(0.05)
            .guide(AutoNormal::default())
            .seed(4)
            .quiet(true)
    };
    let mut alone = regression!();
    let single = alone.fit(&data, vi()).unwrap();
    let one = loc_scale(&alone);
    let ranks = fit_regression(2, || vi().check_every(1));
    let (report, fitted) = &ranks[0];
    assert_eq!(ranks[1].1, *fitted, "the ranks end with the same bits");
    assert_eq!(
        ranks[1].0.losses, report.losses,
        "and report the same losses"
    );
    assert_eq!((report.rows, report.ranks), (100, 2));
    for (e, (a, b)) in single.losses.iter().zip(&report.losses).enumerate() {
        assert!(
            (a - b).abs() <= 1e-6 * a.abs().max(1.0),
            "epoch {e}: one process's loss {a}, two ranks' {b}"
        );
    }
    for ((l1, s1), (l2, s2)) in one.iter().zip(fitted) {
        near(
            f64::from(*l2),
            f64::from(*l1),
            1e-6,
            "location, two ranks against one",
        );
        near(
            f64::from(*s2),
            f64::from(*s1),
            1e-6,
            "scale, two ranks against one",
        );
    }
    assert_conjugate(fitted, &post, "two ranks");
}

/// One rank is the plain fit, bit for bit: its plan is one shard, its local factor `N / M`
/// and its weight 1, and the ordered sum of one message is that message. On batches of 10
/// of the regression's 100 rows, the losses of every epoch and the fitted guide are the same
/// bits as the fit without `distributed`.
#[test]
fn one_rank_is_the_plain_fit_bit_for_bit() {
    let (data, _) = regression_data();
    let vi = || {
        VI::new(60)
            .lr(0.02)
            .batch_size(10)
            .guide(AutoNormal::default())
            .seed(4)
            .quiet(true)
    };
    let mut alone = regression!();
    let plain = alone.fit(&data, vi()).unwrap();
    let ranks = fit_regression(1, || vi().check_every(1));
    let (report, fitted) = &ranks[0];
    assert_eq!(report.losses, plain.losses);
    assert_eq!(*fitted, loc_scale(&alone));
    assert_eq!((report.rows, report.ranks), (100, 1));
}

/// Three ranks on uneven shards (34, 33 and 33 rows) in batches of 11: each epoch is the
/// longest shard's 4 steps, the last of rank 0's one row alone (which then stands for all
/// 100, with the global terms counted once). The ranks stay the same bits
/// (checked at every step) and reach the conjugate posterior's mean-field optimum within the
/// minibatch test's tolerances.
#[test]
fn uneven_shards_on_minibatches_match_the_conjugate_posterior() {
    let (_, post) = regression_data();
    let ranks = fit_regression(3, || {
        VI::new(800)
            .lr(0.02)
            .batch_size(11)
            .guide(AutoNormal::default())
            .seed(4)
            .quiet(true)
            .check_every(1)
    });
    let (report, fitted) = &ranks[0];
    assert_eq!((report.rows, report.ranks), (100, 3));
    for (r, (other, params)) in ranks.iter().enumerate() {
        assert_eq!(params, fitted, "rank {r}'s guide is rank 0's");
        assert_eq!(other.losses, report.losses);
    }
    assert_conjugate(fitted, &post, "three ranks");
}

/// A local latent variable's q lives on the rank of its rows: `mu ~ N(0, 10^2)`,
/// `z_i ~ N(mu, 1)`, `y_i ~ N(z_i, 0.5^2)`, 40 rows on 2 ranks in batches of 8. Rank `r`'s
/// guide has one q per row of its shard, and shard row `i` is data row `r + 2 i`; each reaches
/// the exact posterior mean `(E[mu | y] + 4 y_i) / 5` within 0.06, as in one process.
#[test]
fn local_latents_live_on_the_rank_of_their_rows() {
    let n = 40;
    let (y, mu_hat) = common::hierarchical_rows(n, 21);
    let data = Data::new().with("y", &y).unwrap();
    let locs = on_ranks(2, |rank| {
        let mut model = hierarchical!();
        let vi = VI::new(2500)
            .lr(0.02)
            .batch_size(8)
            .guide(AutoNormal::default())
            .seed(6)
            .quiet(true)
            .distributed(rank);
        model.fit(&data, vi).unwrap();
        let auto = model
            .guide()
            .unwrap()
            .as_any()
            .downcast_ref::<AutoNormal>()
            .unwrap();
        auto.loc_scale("z").unwrap().0
    });
    for (r, loc) in locs.iter().enumerate() {
        assert_eq!(loc.len(), n / 2, "rank {r} has one q per row of its shard");
        for (i, &l) in loc.iter().enumerate() {
            let yi = f64::from(y[r + 2 * i]);
            let want = (mu_hat + 4.0 * yi) / 5.0;
            near(
                f64::from(l),
                want,
                0.06,
                &format!("rank {r}, z of data row {}", r + 2 * i),
            );
        }
    }
}

/// A rank whose data fails mid-fit (a value of rank 1's rows that is not a number, read in
/// the first epoch's third batch) stops every rank at that step: rank 1 returns its own
/// error, naming the row, and rank 0 an error naming rank 1 and its reason. Neither model
/// keeps a half-fitted guide.
#[test]
fn a_rank_that_fails_stops_every_rank_and_is_named() {
    let dir = std::env::temp_dir().join(format!("inferrs-dp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rows.csv");
    write_csv_with_a_bad_row(&path);
    let results = on_ranks(2, |rank| {
        let mut source = inferrs::CsvSource::open(&path).unwrap().shuffle_buffer(4);
        let mut model = regression!();
        let vi = VI::new(50)
            .batch_size(5)
            .guide(AutoNormal::default())
            .quiet(true)
            .distributed(rank);
        let result = model.fit_source(&mut source, vi);
        (result, model.guide().is_none())
    });
    match &results[1].0 {
        Err(Error::Data { column, reason }) => {
            assert_eq!(column, "y");
            assert!(reason.contains("row 61"), "{reason}");
        }
        other => panic!("rank 1: {other:?}"),
    }
    match &results[0].0 {
        Err(Error::RankFailed {
            rank: 1,
            epoch: 1,
            reason,
        }) => {
            assert!(reason.contains("abc"), "{reason}");
        }
        other => panic!("rank 0: {other:?}"),
    }
    assert!(
        results.iter().all(|(_, no_guide)| *no_guide),
        "no guide is kept"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A rank that dies mid-fit (its thread panics, and its end of the group is dropped) makes
/// the other rank's fit return at once with an error naming it, not hang.
#[test]
fn a_rank_that_dies_is_named_by_the_others() {
    let (data, _) = regression_data();
    let ranks = LocalGroup::ranks(2);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = ranks
            .into_iter()
            .map(|rank| {
                let mut source = StopsAtEpoch3::new(data.clone(), Stop::Panics);
                s.spawn(move || {
                    let vi = VI::new(20)
                        .batch_size(10)
                        .guide(AutoNormal::default())
                        .quiet(true)
                        .distributed(rank);
                    regression!().fit_source(&mut source, vi)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    assert!(results[1].is_err(), "rank 1 died");
    match &results[0] {
        Ok(Err(Error::Collective { rank: 0, reason })) => {
            assert!(reason.contains("rank 1 left the group"), "{reason}");
        }
        other => panic!("rank 0: {other:?}"),
    }
}

/// What cannot be fitted on several ranks is an error on every rank, before any step: an
/// estimator that does not sum over rows, a rank without rows, ranks with different models.
#[test]
fn setups_that_cannot_be_shared_are_errors_on_every_rank() {
    let (rows, _) = regression_data();
    let renyi = on_ranks(2, |rank| {
        let mut model = regression!();
        let vi = VI::new(5)
            .guide(AutoNormal::default())
            .elbo(RenyiElbo::iwae(4))
            .quiet(true)
            .distributed(rank);
        model.fit(&rows, vi)
    });
    for r in &renyi {
        assert!(
            matches!(
                r,
                Err(Error::InvalidOption {
                    option: "distributed",
                    ..
                })
            ),
            "{r:?}"
        );
    }
    // Three rows on four ranks: rank 3 has none, and tells the others.
    let (x, y) = data(2);
    let small = Data::new()
        .with("x", &x[..3])
        .unwrap()
        .with("y", &y[..3])
        .unwrap();
    let empty = on_ranks(4, |rank| {
        let mut model = regression!();
        let vi = VI::new(5)
            .guide(AutoNormal::default())
            .quiet(true)
            .distributed(rank);
        model.fit(&small, vi)
    });
    assert!(
        matches!(
            &empty[3],
            Err(Error::InvalidOption {
                option: "distributed",
                ..
            })
        ),
        "{:?}",
        empty[3]
    );
    for r in &empty[..3] {
        assert!(
            matches!(
                r,
                Err(Error::RankFailed {
                    rank: 3,
                    epoch: 0,
                    ..
                })
            ),
            "{r:?}"
        );
    }
    // Rank 1 fits a model with another latent variable.
    let mismatch = on_ranks(2, |rank| {
        let vi = VI::new(5)
            .guide(AutoNormal::default())
            .quiet(true)
            .distributed(rank.clone());
        if rank.rank() == 0 {
            regression!().fit(&rows, vi)
        } else {
            let mut model = probmodel! {
                w ~ Normal(0.0, 1.0);
                b ~ Normal(0.0, 1.0);
                c ~ Normal(0.0, 1.0);
                datamodel {
                    x ~ Normal(0.0, 10.0);
                    y ~ Normal(w * x + b + c, 1.0);
                }
            };
            model.fit(&rows, vi)
        }
    });
    for r in &mismatch {
        assert!(
            matches!(r, Err(Error::Collective { reason, .. }) if reason.contains("same model")),
            "{r:?}"
        );
    }
}

/// A shard of data in memory or of a CSV file is the rows `rank, rank + ranks, ...`,
/// numbered from 0 in the shard.
#[test]
fn shards_are_every_ranks_th_row() {
    let x: Vec<f32> = (0..7).map(|i| i as f32).collect();
    let data = Data::new().with("x", &x).unwrap();
    let dir = std::env::temp_dir().join(format!("inferrs-shard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("x.csv");
    let text: String = std::iter::once("x\n".to_string())
        .chain(x.iter().map(|v| format!("{v}\n")))
        .collect();
    std::fs::write(&path, text).unwrap();
    let csv = inferrs::CsvSource::open(&path).unwrap();
    let sources: [&dyn DataSource; 2] = [&data, &csv];
    for source in sources {
        for (rank, want) in [
            (0, vec![0.0, 3.0, 6.0]),
            (1, vec![1.0, 4.0]),
            (2, vec![2.0, 5.0]),
        ] {
            let mut shard = source.shard(rank, 3).unwrap();
            assert_eq!(shard.rows(), want.len());
            let batches: Vec<_> = shard
                .epoch(10, None)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(batches.len(), 1);
            assert_eq!(batches[0].data.get("x").unwrap().values(), &want[..]);
            assert_eq!(batches[0].indices, (0..want.len()).collect::<Vec<_>>());
        }
        assert!(
            source.shard(7, 8).is_err(),
            "a shard without rows is an error"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
