//! NUTS (`Model::sample`) against closed forms and posteriordb's eight schools, its
//! divergences on the centred funnel, and the queries that read its draws. Fixed seeds; each
//! tolerance is stated where it is checked: a mean within 4 of its Monte Carlo standard
//! errors (MCSE, from the draws' own bulk ESS), an sd within 10%.

#[macro_use]
mod common;

use common::normal_rows;
use inferrs::prelude::*;
use inferrs::{Error, Gradient, Samples};

#[allow(dead_code)]
#[path = "../examples/linear_regression.rs"]
mod linear_regression;

#[macro_use]
#[path = "../examples/eight_schools/schools.rs"]
mod schools;

/// The summary row of `label`.
fn row(samples: &Samples, label: &str) -> inferrs::diagnostics::Summary {
    samples
        .summary()
        .unwrap()
        .into_iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("no row {label}"))
        .1
}

/// The mean of `label` within 4 MCSE of `want`, its sd within 10% of `sd` (when given).
fn check(samples: &Samples, label: &str, want: f64, sd: Option<f64>) {
    let s = row(samples, label);
    assert!(
        (s.mean - want).abs() < 4.0 * s.mcse_mean,
        "{label}: mean {} vs {want}, more than 4 MCSE ({})",
        s.mean,
        s.mcse_mean
    );
    if let Some(sd) = sd {
        assert!(
            (s.sd / sd - 1.0).abs() < 0.1,
            "{label}: sd {} vs {sd}, off by more than 10%",
            s.sd
        );
    }
    assert!(s.r_hat < 1.01, "{label}: r_hat {}", s.r_hat);
}

/// `mu ~ N(0, 10)`, 50 rows of `y ~ N(mu, 2)`: the posterior is `N(m, s^2)` with
/// `1/s^2 = 1/100 + 50/4` and `m = s^2 sum(y)/4`.
#[test]
fn normal_normal_matches_the_closed_form() {
    let y = normal_rows(50, 3.0, 11);
    let data = Data::new().with("y", &y).unwrap();
    let mut model = normal_normal!();
    let samples = model.sample(&data, Nuts::new().seed(1).quiet()).unwrap();
    let precision = 1.0 / 100.0 + 50.0 / 4.0;
    let sum: f64 = y.iter().map(|&v| f64::from(v)).sum();
    let mean = sum / 4.0 / precision;
    check(&samples, "mu", mean, Some(precision.recip().sqrt()));
    assert_eq!((samples.n_chains(), samples.n_draws()), (4, 1000));
    assert_eq!(samples.values("mu").unwrap().shape, [4, 1000, 1, 1]);
    assert_eq!(samples.divergences(), 0);

    // The draws are the model's posterior now: its queries read them.
    let post = model.posterior(["mu"]).unwrap().sample_n(4000).unwrap();
    let draws = post.get("mu").unwrap();
    let m = draws.values.iter().map(|&v| f64::from(v)).sum::<f64>() / 4000.0;
    // 4000 draws picked from 4000 with replacement: the mean's sd is about sd / sqrt(2000).
    assert!(
        (m - mean).abs() < 4.0 * 0.283 / 2000f64.sqrt(),
        "{m} vs {mean}"
    );
    let new = Data::new().with("y", &[0.0f32; 3]).unwrap();
    let pred = model
        .posterior_predictive(["y"], &new)
        .unwrap()
        .sample()
        .unwrap();
    assert_eq!(pred.get("y").unwrap().shape, [3, 1]);
    let lp = model.log_prob(["y"], &data).unwrap();
    assert!(lp.get("y").unwrap().iter().all(|v| v.is_finite()));
}

/// The conjugate linear regression: posterior means and sds of `w` and `b`.
#[test]
fn linear_regression_matches_the_conjugate_posterior() {
    let (x, y) = linear_regression::data(2);
    let post = linear_regression::conjugate(&x, &y);
    let data = Data::new().with("x", &x).unwrap().with("y", &y).unwrap();
    let mut model = regression!();
    let samples = model.sample(&data, Nuts::new().seed(2).quiet()).unwrap();
    assert!(matches!(samples.gradient(), Gradient::Tape { .. }));
    check(&samples, "w", post.mean[0], Some(post.cov[0][0].sqrt()));
    check(&samples, "b", post.mean[1], Some(post.cov[1][1].sqrt()));
}

/// A run repeats bit for bit for a seed, whatever the threads' timing.
#[test]
fn a_seed_repeats_the_run() {
    let y = normal_rows(20, 1.0, 3);
    let data = Data::new().with("y", &y).unwrap();
    let nuts = || Nuts::new().draws(50).warmup(50).chains(3).seed(9).quiet();
    let a = normal_normal!().sample(&data, nuts()).unwrap();
    let b = normal_normal!().sample(&data, nuts()).unwrap();
    assert_eq!(
        a.values("mu").unwrap().values,
        b.values("mu").unwrap().values
    );
    assert_eq!(a.stats(), b.stats());
    let c = normal_normal!().sample(&data, nuts().seed(10)).unwrap();
    assert_ne!(
        a.values("mu").unwrap().values,
        c.values("mu").unwrap().values
    );
}

fn schools() -> Data {
    schools::data().unwrap()
}

/// Eight schools, non-centred, `mu ~ N(0, 5)`, `tau ~ HalfCauchy(5)`: posteriordb's
/// reference (`eight_schools-eight_schools_noncentered`) has `mu` mean 4.40, sd 3.32, and `tau`
/// mean 3.60. 4 chains of 1000: means within 4 MCSE, `mu`'s sd within 10%, R-hat below 1.01.
#[test]
fn eight_schools_matches_posteriordb() {
    let mut model = noncentred!();
    let samples = model
        .sample(&schools(), Nuts::new().seed(0).quiet())
        .unwrap();
    check(&samples, "mu", 4.40, Some(3.32));
    check(&samples, "tau", 3.60, None);
    for s in samples.summary().unwrap() {
        assert!(s.1.r_hat < 1.01, "{}: r_hat {}", s.0, s.1.r_hat);
    }
    assert_eq!(samples.shape("theta_t"), Some([8, 1]));
    assert!(
        matches!(samples.gradient(), Gradient::Tape { .. }),
        "{}",
        samples.gradient()
    );
}

/// The log-joint's tape (`f64`, the default) and burn's autodiff (`f32`, `Nuts::tape(false)`)
/// draw the same posterior of eight schools: each mean within 4 standard errors of the
/// difference of two independent runs (`sqrt(mcse_a^2 + mcse_b^2)`), and the sds of `mu` and
/// `theta_t[0]` within 10% (not `tau`'s: its half-Cauchy tail makes the sd of 4000 draws
/// vary by more than that between seeds of one sampler, as the posteriordb test says too).
#[test]
fn the_tape_and_autodiff_draw_the_same_posterior() {
    let nuts = || Nuts::new().seed(4).quiet();
    let tape = noncentred!().sample(&schools(), nuts()).unwrap();
    let autodiff = noncentred!()
        .sample(&schools(), nuts().tape(false))
        .unwrap();
    assert!(matches!(tape.gradient(), Gradient::Tape { .. }));
    assert!(
        matches!(autodiff.gradient(), Gradient::Autodiff { why } if why.contains("tape(false)"))
    );
    for label in ["mu", "tau", "theta_t[0]"] {
        let (a, b) = (row(&tape, label), row(&autodiff, label));
        let se = (a.mcse_mean.powi(2) + b.mcse_mean.powi(2)).sqrt();
        assert!(
            (a.mean - b.mean).abs() < 4.0 * se,
            "{label}: {} (tape) against {} (autodiff), 4 se = {}",
            a.mean,
            b.mean,
            4.0 * se
        );
        if label != "tau" {
            assert!(
                (a.sd / b.sd - 1.0).abs() < 0.1,
                "{label}: sd {} against {}",
                a.sd,
                b.sd
            );
        }
    }
}

/// The centred eight schools is a funnel (`theta ~ N(mu, tau)` with small `tau`): NUTS
/// reports divergent transitions there, and warns of them.
#[test]
fn the_centred_funnel_reports_divergences() {
    let mut model = probmodel! {
        mu ~ Normal(0.0, 5.0);
        tau ~ HalfCauchy(5.0);
        datamodel {
            input sigma;
            theta ~ Normal(mu, tau);
            y ~ Normal(theta, sigma);
        }
    };
    let samples = model
        .sample(&schools(), Nuts::new().seed(0).quiet())
        .unwrap();
    assert!(samples.divergences() > 0, "no divergence on the funnel");
    let warnings = samples.warnings().unwrap();
    assert!(
        warnings.iter().any(|w| w.contains("divergent")),
        "{warnings:?}"
    );
}

/// Where the model's density is not finite (a Normal with a negative scale), the sampler
/// sees a divergence, not a crash: the run completes and every draw of the scale is positive.
#[test]
fn a_density_that_is_not_finite_is_a_divergence() {
    let y = normal_rows(20, 0.0, 5);
    let data = Data::new().with("y", &y).unwrap();
    let mut model = probmodel! {
        s ~ Normal(2.0, 1.0);
        datamodel {
            y ~ Normal(0.0, s);
        }
    };
    let samples = model
        .sample(
            &data,
            Nuts::new().draws(200).warmup(200).chains(2).seed(3).quiet(),
        )
        .unwrap();
    assert!(samples.values("s").unwrap().values.iter().all(|&s| s > 0.0));
}

/// Bad options and models without latent variables are errors naming what was wrong, and
/// leave the model as it was.
#[test]
fn bad_options_are_errors() {
    let data = Data::new().with("y", &[1.0f32, 2.0]).unwrap();
    let mut model = normal_normal!();
    let err = model.sample(&data, Nuts::new().draws(2)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                option: "draws",
                ..
            }
        ),
        "{err}"
    );
    let err = model
        .sample(&data, Nuts::new().target_accept(1.0))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                option: "target_accept",
                ..
            }
        ),
        "{err}"
    );
    assert!(model.guide().is_none());
    // A discrete latent variable: NUTS moves in a continuous space.
    let mut coin = probmodel! {
        k ~ Bernoulli(0.5);
        datamodel {
            y ~ Normal(k, 1.0);
        }
    };
    let err = coin.sample(&data, Nuts::new()).unwrap_err();
    assert!(
        matches!(err, Error::Guide { guide: "NUTS", ref variable, .. } if variable == "k"),
        "{err}"
    );
    // A fit after sampling needs a guide of its own: the draws cannot be trained.
    model
        .sample(&data, Nuts::new().draws(20).warmup(20).chains(1).quiet())
        .unwrap();
    // Nor can a model file hold them yet: saving is an error, and writes nothing.
    let path = std::env::temp_dir().join(format!("inferrs-nuts-{}.model", std::process::id()));
    let err = model.save(&path).unwrap_err();
    assert!(
        matches!(err, Error::Record { .. }) && err.to_string().contains("MCMC draws"),
        "{err}"
    );
    assert!(!path.exists());
    let err = model.fit(&data, VI::new(10).quiet(true)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Guide {
                guide: "Empirical",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(model.guide().unwrap().kind(), "Empirical");
}

/// Every family's log density replays on the tape: each model below records, compiles, and
/// agrees with burn's autodiff at the three check points (`Gradient::Tape` says all of it),
/// priors and likelihoods of every support (positive, unit interval, interval, simplex, real)
/// and the discrete likelihoods on observed counts and labels.
#[test]
fn every_family_takes_the_tape() {
    let nuts = || Nuts::new().draws(20).warmup(20).chains(1).seed(5).quiet();
    let column = |f: fn(usize) -> f32| {
        let v: Vec<f32> = (0..30).map(f).collect();
        Data::new().with("y", &v).unwrap()
    };
    let counts = column(|i| (i % 5) as f32);
    let positive = column(|i| 0.2 + (i % 7) as f32 * 0.3);
    let real = column(|i| (i % 9) as f32 * 0.5 - 2.0);
    let flips = column(|i| f32::from(u8::from(i % 3 == 0)));
    let labels = column(|i| (i % 3) as f32);
    let runs: Vec<(&str, Result<Samples, Error>)> = vec![
        (
            "Gamma, Poisson",
            probmodel! { lam ~ Gamma(2.0, 1.0); datamodel { y ~ Poisson(lam); } }
                .sample(&counts, nuts()),
        ),
        (
            "Beta, Bernoulli",
            probmodel! { q ~ Beta(2.0, 2.0); datamodel { y ~ Bernoulli(Probs(q)); } }
                .sample(&flips, nuts()),
        ),
        (
            "Exponential, Laplace",
            probmodel! { s ~ Exponential(1.0); datamodel { y ~ Laplace(0.0, s); } }
                .sample(&real, nuts()),
        ),
        (
            "InverseGamma, StudentT",
            probmodel! {
                m ~ Normal(0.0, 1.0);
                s ~ InverseGamma(2.0, 2.0);
                datamodel { y ~ StudentT(4.0, m, s); }
            }
            .sample(&real, nuts()),
        ),
        (
            "HalfNormal, LogNormal",
            probmodel! {
                m ~ Normal(0.0, 1.0);
                s ~ HalfNormal(1.0);
                datamodel { y ~ LogNormal(m, s); }
            }
            .sample(&positive, nuts()),
        ),
        (
            "Logistic",
            probmodel! { m ~ Logistic(0.0, 1.0); datamodel { y ~ Normal(m, 1.0); } }
                .sample(&real, nuts()),
        ),
        (
            "Uniform",
            probmodel! { u ~ Uniform(-5.0, 5.0); datamodel { y ~ Normal(u, 1.0); } }
                .sample(&real, nuts()),
        ),
        (
            "Dirichlet, Categorical (probabilities)",
            probmodel! {
                w ~ Dirichlet(vec![1.0, 1.0, 1.0]);
                datamodel { y ~ Categorical(Probs(w)); }
            }
            .sample(&labels, nuts()),
        ),
        (
            "Categorical (logits)",
            probmodel! {
                w ~ Normal(vec![0.0, 0.0, 0.0], 1.0);
                datamodel { y ~ Categorical(w); }
            }
            .sample(&labels, nuts()),
        ),
        (
            "Geometric",
            probmodel! { q ~ Beta(1.0, 1.0); datamodel { y ~ Geometric(Probs(q)); } }
                .sample(&counts, nuts()),
        ),
        (
            "NegativeBinomial",
            probmodel! {
                lam ~ Gamma(2.0, 1.0);
                datamodel { y ~ NegativeBinomial(lam, Probs(0.5)); }
            }
            .sample(&counts, nuts()),
        ),
        (
            "HalfStudentT",
            probmodel! { s ~ HalfStudentT(3.0, 1.0); datamodel { y ~ Normal(0.0, s); } }
                .sample(&real, nuts()),
        ),
        (
            "Cauchy",
            probmodel! { m ~ Cauchy(0.0, 1.0); datamodel { y ~ Normal(m, 1.0); } }
                .sample(&real, nuts()),
        ),
        (
            "MultivariateNormalDiag",
            probmodel! {
                m ~ MultivariateNormalDiag(vec![0.0, 0.0], vec![1.0, 2.0]);
                datamodel { y ~ Normal(m.sum_dim(1), 1.0); }
            }
            .sample(&real, nuts()),
        ),
    ];
    for (name, run) in runs {
        let samples = run.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            matches!(samples.gradient(), Gradient::Tape { .. }),
            "{name}: {}",
            samples.gradient()
        );
    }
}
