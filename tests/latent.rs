//! Latent variables: q-models and automatic guides against closed-form posteriors, the
//! score-function estimator, prior and posterior-predictive queries, and the errors.
//!
//! Bayesian linear regression `y = w x + b + N(0, 1)` with priors `w, b ~ N(0, 1)` has the
//! Gaussian posterior with precision `P = I + X^T X` and mean `P^-1 X^T y` (X has columns x, 1).
//! A mean-field Gaussian q of a Gaussian posterior has, at the optimum of the ELBO, the exact
//! means and the sds `1 / sqrt(P_ii)` (the conditional sds); a full-rank q is exact.
//! Every fit has a fixed seed; tolerances are stated at each check.

use inferrs::prelude::*;
use inferrs::{Error, Summary};

#[allow(dead_code)]
#[path = "../examples/linear_regression.rs"]
mod linear_regression;

#[allow(dead_code)]
#[path = "../examples/beta_bernoulli.rs"]
mod beta_bernoulli;

use linear_regression::{Conjugate, conjugate, data};

macro_rules! regression {
    () => {
        probmodel! {
            w ~ Normal(0.0, 1.0);
            b ~ Normal(0.0, 1.0);
            datamodel {
                x ~ Normal(0.0, 10.0);
                y ~ Normal(w * x + b, 1.0);
            }
        }
    };
}

fn train(x: &[f32], y: &[f32]) -> Data {
    Data::new().with("x", x).unwrap().with("y", y).unwrap()
}

/// `|got - want| < tol`, with a message.
fn near(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() < tol,
        "{what}: got {got}, want {want} (tolerance {tol})"
    );
}

fn posterior_wb(model_summaries: (Summary, Summary), post: &Conjugate, full: bool, what: &str) {
    let (w, b) = model_summaries;
    // Means within 0.03 (the tolerance; the posterior sds are 0.05 and 0.1).
    near(w.mean[0], post.mean[0], 0.03, &format!("{what}: w mean"));
    near(b.mean[0], post.mean[1], 0.03, &format!("{what}: b mean"));
    let (sw, sb) = if full {
        (post.cov[0][0].sqrt(), post.cov[1][1].sqrt())
    } else {
        (
            1.0 / post.precision[0][0].sqrt(),
            1.0 / post.precision[1][1].sqrt(),
        )
    };
    // Standard deviations within 10% (the tolerance).
    near(w.sd[0] / sw, 1.0, 0.1, &format!("{what}: w sd / {sw}"));
    near(b.sd[0] / sb, 1.0, 0.1, &format!("{what}: b sd / {sb}"));
}

fn summaries<P, F>(model: &inferrs::Model<P, F>) -> (Summary, Summary)
where
    P: burn::module::Module,
    F: Fn(&P, &mut inferrs::runtime::Ctx<'_>) -> Result<(), Error>,
{
    let draws = model.posterior(["w", "b"]).unwrap().sample_n(4000).unwrap();
    (draws["w"].summary(), draws["b"].summary())
}

/// The tutorial example (`examples/linear_regression.rs`): its mean-field q-model and its
/// full-rank guide against the conjugate posterior.
#[test]
fn linear_regression_example_matches_the_conjugate_posterior() {
    let out = linear_regression::run(&linear_regression::Options {
        seed: 1,
        epochs: 3000,
    })
    .unwrap();
    posterior_wb(out.qmodel.clone(), &out.exact, false, "q-model");
    let (w, b, corr) = out.full_rank.clone();
    posterior_wb((w, b), &out.exact, true, "AutoMultivariateNormal");
    // The correlation of w and b (here about -0.2) within 0.1.
    let e = &out.exact;
    let want = e.cov[0][1] / (e.cov[0][0] * e.cov[1][1]).sqrt();
    near(corr, want, 0.1, "correlation of w and b");
}

#[test]
fn auto_normal_with_analytic_kl_matches_the_mean_field_optimum() {
    let (x, y) = data(2);
    let post = conjugate(&x, &y);
    let mut model = regression!();
    let vi = VI::new(3000)
        .lr(0.05)
        .guide(AutoNormal::default())
        .analytic_kl(true)
        .seed(4)
        .quiet(true);
    model.fit(&train(&x, &y), vi).unwrap();
    posterior_wb(summaries(&model), &post, false, "AutoNormal");
    // The fitted guide's own parameters: with the identity bijector (w is real) its location is
    // the posterior mean and its scale the q's sd.
    let guide = model.guide().unwrap();
    assert_eq!(guide.kind(), "AutoNormal");
    let auto = guide.as_any().downcast_ref::<AutoNormal>().unwrap();
    let (loc, scale) = auto.loc_scale("w").unwrap();
    near(
        f64::from(loc[0]),
        post.mean[0],
        0.03,
        "AutoNormal location of w",
    );
    near(
        f64::from(scale[0]) * post.precision[0][0].sqrt(),
        1.0,
        0.1,
        "AutoNormal scale of w",
    );
    assert!(auto.loc_scale("x").is_none());
}

/// MAP with `AutoDelta`: for the Gaussian posterior the mode is the mean.
#[test]
fn auto_delta_finds_the_posterior_mode() {
    let (x, y) = data(16);
    let post = conjugate(&x, &y);
    let mut model = regression!();
    let vi = VI::new(2000)
        .lr(0.05)
        .guide(AutoDelta::default())
        .seed(17)
        .quiet(true);
    model.fit(&train(&x, &y), vi).unwrap();
    let delta = model
        .guide()
        .unwrap()
        .as_any()
        .downcast_ref::<AutoDelta>()
        .unwrap();
    near(
        f64::from(delta.point("w").unwrap()[0]),
        post.mean[0],
        0.01,
        "MAP of w",
    );
    near(
        f64::from(delta.point("b").unwrap()[0]),
        post.mean[1],
        0.01,
        "MAP of b",
    );
    // A point posterior: every draw is the point.
    let w = model.posterior(["w"]).unwrap().sample_n(3).unwrap();
    assert!(w["w"].as_slice().windows(2).all(|p| p[0] == p[1]));
}

fn sd(v: &[f32]) -> f64 {
    let n = v.len() as f64;
    let m = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    (v.iter().map(|&x| (f64::from(x) - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

/// The Beta-Bernoulli example (`examples/beta_bernoulli.rs`): Beta(1, 1) prior, n flips with
/// s heads; the posterior Beta(s + 1, n - s + 1) has mean (s + 1) / (n + 2). AutoNormal fits a
/// logit-normal (sigmoid bijector, its log-det-Jacobian in the ELBO); for n = 60 its mean is
/// within 0.01 of the exact one and its sd within 10% of the Beta's.
#[test]
fn beta_bernoulli_posterior_mean_is_laplace_rule() {
    let out = beta_bernoulli::run(&beta_bernoulli::Options {
        flips: 60,
        heads: 17,
        seed: 6,
    })
    .unwrap();
    let summary = out.draws.summary();
    near(summary.mean[0], out.exact_mean, 0.01, "posterior mean of p");
    near(
        summary.sd[0] / out.exact_sd,
        1.0,
        0.1,
        "posterior sd of p / exact",
    );
    assert!(out.draws.as_slice().iter().all(|&v| v > 0.0 && v < 1.0));
}

/// A discrete latent variable: `z ~ Bernoulli(0.5)` chooses the mean (0 or 1) of three
/// observations. The exact posterior is `P(z = 1 | x) = sigmoid(sum_i (x_i - 1/2))`; a q-model
/// `z ~ Bernoulli(logit)` contains it, and the score-function gradient (with a baseline) must find
/// it: within 0.05 (the noise of the estimator at the end of the fit).
#[test]
fn score_function_fits_a_discrete_latent() {
    let x = [0.9f32, 0.2, 0.7];
    let exact = 1.0 / (1.0 + (-x.iter().map(|&v| f64::from(v) - 0.5).sum::<f64>()).exp());
    let mut model = probmodel! {
        z ~ Bernoulli(Probs(0.5));
        datamodel {
            x ~ Normal(z, 1.0);
        }
    };
    let q = qmodel! {
        logit = Parameter(0.0);
        z ~ Bernoulli(logit);
    };
    let vi = VI::new(3000)
        .lr(0.02)
        .particles(4)
        .qmodel(q)
        .seed(7)
        .quiet(true);
    model.fit(&Data::new().with("x", &x).unwrap(), vi).unwrap();
    let z = model.posterior(["z"]).unwrap().sample_n(4000).unwrap();
    near(z["z"].mean()[0], exact, 0.05, "P(z = 1 | x)");
}

#[test]
fn prior_and_posterior_predictive_queries() {
    let (x, y) = data(8);
    let post = conjugate(&x, &y);
    let mut model = regression!();
    // The prior: x ~ N(0, 10^2); y = w x + b + e has variance E[x^2] + 1 + 1 = 102. Each
    // draw of `sample_n` draws w and b anew (within one draw the rows share them). The standard
    // error of the variance of 4000 draws is sqrt((m4 - var^2) / n) with m4 = E[w^4] E[x^4] =
    // 3 * 3e4 (w x dominates): about 4.5; five of them: 23.
    let prior = model.prior(["x", "y"], 1).unwrap().sample_n(4000).unwrap();
    assert_eq!(prior["y"].shape, vec![4000, 1, 1]);
    let ys: Vec<f32> = prior["y"].to_vec();
    near(sd(&ys).powi(2), 102.0, 23.0, "prior variance of y");
    // One draw with many rows shares w and b: 500 rows of x and y.
    let one = model.prior(["x", "y"], 500).unwrap().sample().unwrap();
    assert_eq!(one["x"].shape, vec![500, 1]);
    assert_eq!(one["y"].shape, vec![500, 1]);
    // Before a fit there is no posterior.
    assert!(matches!(model.posterior(["w"]), Err(Error::Query { .. })));

    let vi = VI::new(3000)
        .lr(0.05)
        .guide(AutoNormal::default())
        .seed(9)
        .quiet(true);
    model.fit(&train(&x, &y), vi).unwrap();
    // New rows, any number: the predictive mean at x is E[w] x + E[b], its variance
    // Var(w) x^2 + Var(b) + 1 (mean-field q, independent w and b).
    let new_x = [-2.0f32, 0.0, 3.0];
    let test = Data::new().with("x", &new_x).unwrap();
    let draws = model
        .posterior_predictive(["y"], &test)
        .unwrap()
        .sample_n(4000)
        .unwrap();
    assert_eq!(draws["y"].shape, vec![4000, 3, 1]);
    let summary = draws["y"].summary();
    let (vw, vb) = (1.0 / post.precision[0][0], 1.0 / post.precision[1][1]);
    for (i, &x) in new_x.iter().enumerate() {
        let x = f64::from(x);
        let mean = post.mean[0] * x + post.mean[1];
        let sd = (vw * x * x + vb + 1.0).sqrt();
        // Five standard errors of a mean of 4000 draws, plus the q's own error (0.03 per
        // parameter, as above).
        near(
            summary.mean[i],
            mean,
            5.0 * sd / 4000f64.sqrt() + 0.03 * (1.0 + x.abs()),
            "predictive mean",
        );
        near(summary.sd[i] / sd, 1.0, 0.06, "predictive sd");
    }
    // Observed variables have no posterior; unknown names are errors naming them.
    assert!(
        matches!(model.posterior(["y"]), Err(Error::Query { variable, .. }) if variable == "y")
    );
    assert!(
        matches!(model.posterior(["v"]), Err(Error::UnknownVariable { name, .. }) if name == "v")
    );
}

#[test]
fn mismatched_guides_are_errors_naming_the_variable() {
    let (x, y) = data(10);
    let data = train(&x, &y);
    let mut model = regression!();
    let quiet = || VI::new(5).quiet(true);
    match model.fit(&data, quiet()) {
        Err(Error::LatentWithoutGuide { variable }) => assert_eq!(variable, "w"),
        other => panic!("expected LatentWithoutGuide, got {other:?}"),
    }
    let missing_b = qmodel! {
        w ~ Normal(Parameter(0.0), 1.0);
    };
    match model.fit(&data, quiet().qmodel(missing_b)) {
        Err(Error::NotInQModel { variable }) => assert_eq!(variable, "b"),
        other => panic!("expected NotInQModel, got {other:?}"),
    }
    let extra = qmodel! {
        w ~ Normal(Parameter(0.0), 1.0);
        b ~ Normal(Parameter(0.0), 1.0);
        c ~ Normal(Parameter(0.0), 1.0);
    };
    match model.fit(&data, quiet().qmodel(extra)) {
        Err(Error::NotLatent { variable, latents }) => {
            assert_eq!(variable, "c");
            assert_eq!(latents, "w, b");
        }
        other => panic!("expected NotLatent, got {other:?}"),
    }
    let mut discrete = probmodel! {
        z ~ Bernoulli(Probs(0.5));
        datamodel {
            x ~ Normal(z, 1.0);
        }
    };
    let xs = Data::new().with("x", &x).unwrap();
    match discrete.fit(&xs, quiet().guide(AutoNormal::default())) {
        Err(Error::Guide { variable, .. }) => assert_eq!(variable, "z"),
        other => panic!("expected a Guide error, got {other:?}"),
    }
    assert!(matches!(
        model.fit(&data, quiet().particles(0)),
        Err(Error::InvalidOption {
            option: "particles",
            ..
        })
    ));
}

/// The same seed gives bit-identical losses and posterior draws.
#[test]
fn fits_with_latents_repeat_exactly() {
    let (x, y) = data(11);
    let run = || {
        let mut model = regression!();
        let vi = VI::new(200)
            .guide(AutoNormal::default())
            .particles(2)
            .seed(12)
            .quiet(true);
        let report = model.fit(&train(&x, &y), vi).unwrap();
        let draws = model.posterior(["w"]).unwrap().sample_n(10).unwrap();
        (report.losses, draws["w"].to_vec())
    };
    assert_eq!(run(), run());
}

/// An amortised q-model: a network reads the observed `x` and gives the q of the local latent
/// `z` for every row (InferPy's VAE pattern). For `z ~ N(0, 1)`, `x ~ N(z, 0.5)` the exact
/// posterior is `N(0.8 x, 1/5)` for every row; a linear encoder contains it, so after the fit
/// its location is `0.8 x` within 0.05 (for |x| <= 2) and its scale `sqrt(1/5)` within 10%.
/// It also infers `z` for new rows.
#[test]
fn amortised_qmodel_learns_the_posterior_map() {
    use burn::module::Module;
    use burn::nn::{Linear, LinearConfig};

    #[derive(Module, Debug)]
    struct Encoder {
        loc: Linear,
        scale: Linear,
    }
    impl Encoder {
        fn new(device: &Device) -> Self {
            Self {
                loc: LinearConfig::new(1, 1).init(device),
                scale: LinearConfig::new(1, 1).init(device),
            }
        }
        fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
            (self.loc.forward(x.clone()), softplus(self.scale.forward(x)))
        }
    }

    let device = Device::default();
    device.seed(13);
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(13);
    let x: Vec<f32> = (0..400)
        .map(|_| {
            let z: f64 = rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut rng);
            let e: f64 = rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut rng);
            (z + 0.5 * e) as f32
        })
        .collect();
    let mut model = probmodel! {
        datamodel {
            z ~ Normal(0.0, 1.0);
            x ~ Normal(z, 0.5);
        }
    };
    let q = qmodel! {
        encoder = Encoder::new(&device);
        datamodel {
            x ~ Normal(0.0, 1.0);       // observed: the encoder's input
            z ~ Normal(encoder(x));
        }
    };
    let vi = VI::new(2000)
        .lr(0.02)
        .particles(2)
        .qmodel(q)
        .seed(14)
        .quiet(true);
    model.fit(&Data::new().with("x", &x).unwrap(), vi).unwrap();
    // New rows: the q-model reads their x.
    let grid = [-2.0f32, -1.0, 0.0, 1.0, 2.0];
    let z = model
        .posterior_predictive(["z"], &Data::new().with("x", &grid).unwrap())
        .unwrap()
        .sample_n(4000)
        .unwrap();
    let s = z["z"].summary();
    for (i, &x) in grid.iter().enumerate() {
        near(
            s.mean[i],
            0.8 * f64::from(x),
            0.05,
            &format!("E[z | x = {x}]"),
        );
        near(
            s.sd[i] / 0.2f64.sqrt(),
            1.0,
            0.1,
            &format!("sd[z | x = {x}]"),
        );
    }
}

/// A simplex-valued latent: `p ~ Dirichlet([1, 1, 1])`, categorical draws with counts
/// `[12, 5, 3]`. The posterior is Dirichlet(1 + counts), of mean (1 + c) / (3 + n). AutoNormal
/// fits it through stick-breaking (a logistic-normal q, with the log-det-Jacobian): means within
/// 0.02.
#[test]
fn dirichlet_latent_through_stick_breaking() {
    let counts = [12usize, 5, 3];
    let draws: Vec<f32> = counts
        .iter()
        .enumerate()
        .flat_map(|(k, &c)| std::iter::repeat_n(k as f32, c))
        .collect();
    let mut model = probmodel! {
        p ~ Dirichlet(vec![1.0, 1.0, 1.0]);
        datamodel {
            c ~ Categorical(Probs(p));
        }
    };
    let vi = VI::new(3000)
        .lr(0.05)
        .particles(2)
        .guide(AutoNormal::default())
        .seed(15)
        .quiet(true);
    model
        .fit(&Data::new().with("c", &draws).unwrap(), vi)
        .unwrap();
    let p = model.posterior(["p"]).unwrap().sample_n(4000).unwrap();
    assert_eq!(p["p"].shape, vec![4000, 1, 3]);
    let mean = p["p"].mean();
    let n: usize = counts.iter().sum();
    for k in 0..3 {
        let exact = (1 + counts[k]) as f64 / (3 + n) as f64;
        near(mean[k], exact, 0.02, &format!("E[p_{k}]"));
    }
}
