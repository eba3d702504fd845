//! Stan's stopping rule on the ELBO's relative change (`VI::converge`): a conjugate
//! Normal-Normal fit with many more epochs than it needs stops early, at a check, and its
//! posterior still matches the closed form; a fit without the rule runs every epoch; a rule
//! that makes no sense is refused. Fixed seeds; tolerances at each check.

use inferrs::prelude::*;
use inferrs::{ConvergedBy, Error};

#[macro_use]
mod common;
use common::normal_rows;

fn rows(n: usize, seed: u64) -> Vec<f32> {
    normal_rows(n, 3.0, seed)
}

fn vi(epochs: usize) -> VI {
    VI::new(epochs)
        .lr(0.05)
        .particles(8)
        .guide(AutoNormal::default())
        .seed(5)
        .quiet(true)
}

#[test]
fn a_fit_stops_when_the_elbo_stops_moving_and_matches_the_closed_form() -> Result<(), Error> {
    let y = rows(200, 21);
    // mu ~ N(0, 10^2), y_i ~ N(mu, 2^2): the posterior precision and mean.
    let precision = 1.0 / 100.0 + y.len() as f64 / 4.0;
    let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / 4.0 / precision;
    let sd = 1.0 / precision.sqrt();
    let data = Data::new().with("y", &y)?;
    let mut model = normal_normal!();
    let report = model.fit(&data, vi(20_000).converge(Convergence::default()))?;
    let stop = report.converged.expect("the rule stops the fit");
    assert!(stop.epoch < 20_000 && stop.epoch % 100 == 0, "{stop:?}");
    assert_eq!(report.losses.len(), stop.epoch, "one loss per epoch run");
    assert!(stop.change < 0.01, "{stop:?}");
    assert!(matches!(stop.by, ConvergedBy::Mean | ConvergedBy::Median));
    let draws = model.posterior(["mu"])?.sample_n(4000)?;
    let s = draws["mu"].summary();
    // The posterior sd is 0.14: the mean within 0.05, the sd within 10%.
    assert!((s.mean[0] - mean).abs() < 0.05, "{} vs {mean}", s.mean[0]);
    assert!((s.sd[0] / sd - 1.0).abs() < 0.1, "{} vs {sd}", s.sd[0]);
    Ok(())
}

#[test]
fn without_the_rule_every_epoch_runs() -> Result<(), Error> {
    let data = Data::new().with("y", rows(50, 3))?;
    let mut model = normal_normal!();
    let report = model.fit(&data, vi(300))?;
    assert_eq!(report.losses.len(), 300);
    assert!(report.converged.is_none());
    Ok(())
}

#[test]
fn a_rule_that_makes_no_sense_is_refused() {
    let data = Data::new().with("y", rows(10, 3)).unwrap();
    for rule in [
        Convergence {
            every: 0,
            rel_tol: 0.01,
        },
        Convergence {
            every: 100,
            rel_tol: -1.0,
        },
        Convergence {
            every: 100,
            rel_tol: f64::NAN,
        },
    ] {
        let mut model = normal_normal!();
        let err = model.fit(&data, vi(10).converge(rule)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidOption {
                    option: "converge",
                    ..
                }
            ),
            "{err}"
        );
    }
}
