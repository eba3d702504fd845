//! Where the automatic guides start ([`Init`], NumPyro's strategies): each strategy's
//! starting point, read off a fit of one step at a negligible learning rate, and the
//! errors of strategies that make no sense.

use inferrs::prelude::*;
use inferrs::{AutoDelta, Error};

macro_rules! model {
    () => {
        probmodel! {
            m ~ Normal(3.0, 1.0);
            s ~ HalfCauchy(1.0);
            datamodel {
                y ~ Normal(m, s);
            }
        }
    };
}

fn data() -> Data {
    Data::new().with("y", vec![0.1f32, 0.4, -0.3]).unwrap()
}

/// The points an `AutoDelta` with `init` starts at (after one Adam step of 1e-12).
fn start(init: Init, seed: u64) -> Result<(f32, f32), Error> {
    let mut model = model!();
    let vi = VI::new(1)
        .lr(1e-12)
        .seed(seed)
        .quiet(true)
        .guide(AutoDelta::default().init(init));
    model.fit(&data(), vi)?;
    let guide = model
        .guide()
        .and_then(|g| g.as_any().downcast_ref::<AutoDelta>())
        .expect("AutoDelta");
    Ok((guide.point("m").unwrap()[0], guide.point("s").unwrap()[0]))
}

#[test]
fn feasible_is_zero_in_the_unconstrained_space_and_the_default() -> Result<(), Error> {
    let (m, s) = start(Init::Feasible, 0)?;
    assert!(m.abs() < 1e-6, "{m}");
    // softplus(0) = ln 2.
    assert!((s - 2f32.ln()).abs() < 1e-6, "{s}");
    assert_eq!(Init::default(), Init::Feasible);
    Ok(())
}

#[test]
fn uniform_draws_within_the_radius_reproducibly() -> Result<(), Error> {
    let init = Init::Uniform { radius: 0.5 };
    let a = start(init.clone(), 1)?;
    assert_eq!(a, start(init.clone(), 1)?, "the same seed starts alike");
    assert_ne!(a, start(init, 2)?, "another seed starts elsewhere");
    assert!(a.0.abs() < 0.5, "{a:?}");
    // s = softplus(u) with u in (-0.5, 0.5).
    assert!(a.1 > 0.47 && a.1 < 0.98, "{a:?}");
    Ok(())
}

#[test]
fn median_and_sample_start_from_the_prior() -> Result<(), Error> {
    // The median of 15 draws of N(3, 1) has sd about 1.25 / sqrt(15) = 0.32: within 1.3
    // (4 sd). HalfCauchy(1) has median 1; the median of 15 draws is within (0.2, 5).
    let (m, s) = start(Init::median(), 3)?;
    assert!((m - 3.0).abs() < 1.3, "{m}");
    assert!(s > 0.2 && s < 5.0, "{s}");
    // One draw of N(3, 1): within 5 sd.
    let (m, s) = start(Init::Sample, 3)?;
    assert!((m - 3.0).abs() < 5.0 && s > 0.0, "{m} {s}");
    assert_ne!(start(Init::Sample, 3)?, start(Init::Sample, 4)?);
    Ok(())
}

#[test]
fn values_start_where_given_and_the_others_uniformly() -> Result<(), Error> {
    let (m, s) = start(Init::values([("m", vec![1.25]), ("s", vec![0.4])]), 0)?;
    assert!((m - 1.25).abs() < 1e-5, "{m}");
    assert!((s - 0.4).abs() < 1e-5, "{s}");
    let (m, _) = start(Init::values([("s", vec![0.4])]), 0)?;
    assert!(m.abs() < 2.0 && m != 0.0, "{m}");
    Ok(())
}

#[test]
fn strategies_that_make_no_sense_are_errors_naming_the_variable() {
    let err = start(Init::values([("s", vec![-1.0])]), 0).unwrap_err();
    assert!(
        matches!(&err, Error::Guide { variable, .. } if variable == "s"),
        "{err}"
    );
    let err = start(Init::values([("m", vec![1.0, 2.0])]), 0).unwrap_err();
    assert!(
        matches!(&err, Error::Guide { variable, reason, .. } if variable == "m" && reason.contains("2 values")),
        "{err}"
    );
    for bad in [Init::Uniform { radius: -1.0 }, Init::Median { draws: 0 }] {
        let err = start(bad, 0).unwrap_err();
        assert!(matches!(err, Error::InvalidOption { .. }), "{err}");
    }
}

#[test]
fn every_automatic_guide_takes_a_strategy() -> Result<(), Error> {
    let given = Init::values([("m", vec![2.5]), ("s", vec![0.5])]);
    macro_rules! check {
        ($guide:expr) => {
            let mut model = model!();
            model.fit(&data(), VI::new(1).lr(1e-12).quiet(true).guide($guide))?;
            model.set_seed(0);
            // The guide's scale is 0.1 in the unconstrained space: the mean of 2000 draws
            // of m is within 0.02 of 2.5 (5 standard errors of 0.1 / sqrt(2000)).
            let m = model.posterior(["m"])?.sample_n(2000)?["m"].mean()[0];
            assert!((m - 2.5).abs() < 0.02, "{m}");
        };
    }
    check!(AutoNormal::default().init(given.clone()));
    check!(AutoMultivariateNormal::default().init(given));
    Ok(())
}
