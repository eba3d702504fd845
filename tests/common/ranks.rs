//! What the data-parallel tests share (tests/distributed.rs, tests/mpi.rs): ranks as threads,
//! the regression's data and closed form, and its fitted guide.

use std::sync::Arc;

use inferrs::distributed::{LocalGroup, LocalRank};
use inferrs::prelude::*;
use inferrs::{DataSource, Error, FitReport};

use super::linear_regression::{self, conjugate, data};

pub fn near(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: {got} is not within {tol} of {want}"
    );
}

/// Runs `f` on each of `n` ranks, each in its own thread; their results in rank order.
pub fn on_ranks<T: Send>(n: usize, f: impl Fn(Arc<LocalRank>) -> T + Sync) -> Vec<T> {
    let ranks = LocalGroup::ranks(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = ranks
            .into_iter()
            .map(|rank| {
                let f = &f;
                s.spawn(move || f(Arc::new(rank)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a rank's thread panicked"))
            .collect()
    })
}

/// The AutoNormal location and scale of `w` and `b` of a fitted regression.
pub fn loc_scale<P, F>(model: &inferrs::Model<P, F>) -> [(f32, f32); 2]
where
    P: burn::module::Module,
    F: Fn(&P, &mut inferrs::runtime::Ctx<'_>) -> Result<(), Error>,
{
    let auto = model
        .guide()
        .expect("a fitted guide")
        .as_any()
        .downcast_ref::<AutoNormal>()
        .expect("AutoNormal");
    ["w", "b"].map(|v| {
        let (loc, scale) = auto.loc_scale(v).expect("w and b are latent");
        (loc[0], scale[0])
    })
}

pub fn regression_data() -> (Data, linear_regression::Conjugate) {
    let (x, y) = data(2);
    let post = conjugate(&x, &y);
    let data = Data::new().with("x", &x).unwrap().with("y", &y).unwrap();
    (data, post)
}

/// `f(model)` on each rank of `ranks`, after a fit of the regression by `vi` there.
pub fn fit_regression(
    ranks: usize,
    vi: impl Fn() -> VI + Sync,
) -> Vec<(FitReport, [(f32, f32); 2])> {
    let (data, _) = regression_data();
    on_ranks(ranks, |rank| {
        let mut model = regression!();
        let report = model.fit(&data, vi().distributed(rank)).unwrap();
        (report, loc_scale(&model))
    })
}

/// Writes the regression's rows as CSV to `path`, with the value of `y` in row 61 (rank 1's
/// of two) replaced by `abc`.
pub fn write_csv_with_a_bad_row(path: &std::path::Path) {
    let (x, y) = data(2);
    let mut text = String::from("x,y\n");
    for (i, (x, y)) in x.iter().zip(&y).enumerate() {
        text.push_str(&if i == 61 {
            format!("{x},abc\n")
        } else {
            format!("{x},{y}\n")
        });
    }
    std::fs::write(path, text).unwrap();
}

/// The fitted guide of the regression is the conjugate posterior's mean-field optimum: means
/// within 0.03, sds `1 / sqrt(P_ii)` within 10% (the full-batch tolerances).
pub fn assert_conjugate(fitted: &[(f32, f32); 2], post: &linear_regression::Conjugate, what: &str) {
    for (i, &(loc, scale)) in fitted.iter().enumerate() {
        near(
            f64::from(loc),
            post.mean[i],
            0.03,
            &format!("{what}: posterior mean {i}"),
        );
        near(
            f64::from(scale) * post.precision[i][i].sqrt(),
            1.0,
            0.1,
            &format!("{what}: q sd {i} / 1/sqrt(P_ii)"),
        );
    }
}

/// How rank 1's [`StopsAtEpoch3`] stops.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    /// Its thread panics (a `LocalGroup` rank that dies).
    Panics,
    /// Its process exits with code 3 (an MPI rank that dies).
    Exits,
}

/// In-memory data whose rank-1 shard stops, as `how` says, when its third epoch is asked
/// for: a rank that dies mid-fit.
pub struct StopsAtEpoch3 {
    data: Data,
    epochs: usize,
    stops: bool,
    how: Stop,
}

impl StopsAtEpoch3 {
    /// `data`, whose rank-1 shard stops as `how` says.
    pub fn new(data: Data, how: Stop) -> Self {
        Self {
            data,
            epochs: 0,
            stops: false,
            how,
        }
    }
}

impl DataSource for StopsAtEpoch3 {
    fn names(&self) -> Vec<String> {
        self.data.names().map(str::to_string).collect()
    }

    fn rows(&self) -> usize {
        self.data.rows().unwrap_or(0)
    }

    fn shard(&self, rank: usize, ranks: usize) -> Result<Box<dyn DataSource>, Error> {
        let shard = self.data.shard(rank, ranks)?;
        Ok(Box::new(Self {
            data: shard.in_memory().cloned().expect("an in-memory shard"),
            epochs: 0,
            stops: rank == 1,
            how: self.how,
        }))
    }

    fn epoch<'s>(
        &'s mut self,
        size: usize,
        shuffle: Option<&mut inferrs::distributions::Rng>,
    ) -> Result<inferrs::Batches<'s>, Error> {
        self.epochs += 1;
        if self.stops && self.epochs == 3 {
            match self.how {
                Stop::Panics => panic!("rank 1 dies in its third epoch"),
                Stop::Exits => std::process::exit(3),
            }
        }
        self.data.epoch(size, shuffle)
    }
}
