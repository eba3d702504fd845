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
use rand::SeedableRng;
use rand_distr::{Distribution as _, Normal as RNormal};

const N: usize = 100;

fn data(seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let noise = RNormal::new(0.0, 1.0).unwrap();
    let xs = RNormal::new(0.5, 2.0).unwrap();
    let x: Vec<f32> = (0..N).map(|_| xs.sample(&mut rng) as f32).collect();
    let y: Vec<f32> = x
        .iter()
        .map(|&x| (1.5 * f64::from(x) - 0.7 + noise.sample(&mut rng)) as f32)
        .collect();
    (x, y)
}

/// The conjugate posterior of `(w, b)`.
struct Conjugate {
    mean: [f64; 2],
    cov: [[f64; 2]; 2],
    precision: [[f64; 2]; 2],
}

fn conjugate(x: &[f32], y: &[f32]) -> Conjugate {
    let (mut sxx, mut sx, mut sxy, mut sy) = (0.0, 0.0, 0.0, 0.0);
    for (&x, &y) in x.iter().zip(y) {
        let (x, y) = (f64::from(x), f64::from(y));
        sxx += x * x;
        sx += x;
        sxy += x * y;
        sy += y;
    }
    let precision = [[1.0 + sxx, sx], [sx, 1.0 + x.len() as f64]];
    let det = precision[0][0] * precision[1][1] - sx * sx;
    let cov = [
        [precision[1][1] / det, -sx / det],
        [-sx / det, precision[0][0] / det],
    ];
    let mean = [
        cov[0][0] * sxy + cov[0][1] * sy,
        cov[1][0] * sxy + cov[1][1] * sy,
    ];
    Conjugate {
        mean,
        cov,
        precision,
    }
}

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
    F: Fn(&P, &mut inferrs::Ctx<'_>) -> Result<(), Error>,
{
    let draws = model.posterior(["w", "b"]).unwrap().sample_n(4000).unwrap();
    (draws["w"].summary(), draws["b"].summary())
}

#[test]
fn qmodel_matches_the_conjugate_posterior() {
    let (x, y) = data(1);
    let post = conjugate(&x, &y);
    let mut model = regression!();
    let q = qmodel! {
        w_loc = Parameter(0.0);
        w_scale = Parameter(0.0);
        w ~ Normal(w_loc, softplus(w_scale));
        b ~ Normal(Parameter(0.0), softplus(Parameter(0.0)));
    };
    let report = model
        .fit(&train(&x, &y), VI::new(3000).lr(0.05).qmodel(q).seed(3).quiet(true))
        .unwrap();
    assert_eq!(report.losses.len(), 3000);
    posterior_wb(summaries(&model), &post, false, "q-model");
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
}

#[test]
fn auto_multivariate_normal_matches_the_full_posterior() {
    let (x, y) = data(3);
    let post = conjugate(&x, &y);
    let mut model = regression!();
    let vi = VI::new(4000)
        .lr(0.05)
        .particles(4)
        .guide(AutoMultivariateNormal::default())
        .seed(5)
        .quiet(true);
    model.fit(&train(&x, &y), vi).unwrap();
    let draws = model.posterior(["w", "b"]).unwrap().sample_n(4000).unwrap();
    let (w, b) = (draws["w"].to_vec(), draws["b"].to_vec());
    posterior_wb(
        (draws["w"].summary(), draws["b"].summary()),
        &post,
        true,
        "AutoMultivariateNormal",
    );
    // The correlation of w and b (here about -0.23) within 0.1.
    let (mw, mb) = (mean(&w), mean(&b));
    let cov: f64 = w
        .iter()
        .zip(&b)
        .map(|(&a, &c)| (f64::from(a) - mw) * (f64::from(c) - mb))
        .sum::<f64>()
        / (w.len() - 1) as f64;
    let corr = cov / (sd(&w) * sd(&b));
    let want = post.cov[0][1] / (post.cov[0][0] * post.cov[1][1]).sqrt();
    near(corr, want, 0.1, "correlation of w and b");
}

fn mean(v: &[f32]) -> f64 {
    v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64
}

fn sd(v: &[f32]) -> f64 {
    let m = mean(v);
    (v.iter().map(|&x| (f64::from(x) - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// Beta(1, 1) prior, n Bernoulli draws with s successes: the posterior is Beta(s + 1, n - s + 1)
/// with mean (s + 1) / (n + 2). AutoNormal fits a logit-normal (sigmoid bijector, with its
/// log-det-Jacobian in the ELBO); for n = 60 its mean is within 0.01 of the exact one, and its
/// sd within 10% of the Beta's.
#[test]
fn beta_bernoulli_posterior_mean_is_laplace_rule() {
    let n = 60;
    let s = 17;
    let flips: Vec<f32> = (0..n).map(|i| if i < s { 1.0 } else { 0.0 }).collect();
    let mut model = probmodel! {
        p ~ Beta(1.0, 1.0);
        datamodel {
            flip ~ Bernoulli(Probs(p));
        }
    };
    let vi = VI::new(3000)
        .lr(0.05)
        .guide(AutoNormal::default())
        .seed(6)
        .quiet(true);
    model
        .fit(&Data::new().with("flip", &flips).unwrap(), vi)
        .unwrap();
    let p = model.posterior(["p"]).unwrap().sample_n(4000).unwrap();
    let summary = p["p"].summary();
    let (a, b) = ((s + 1) as f64, (n - s + 1) as f64);
    let exact_mean = a / (a + b);
    let exact_sd = (a * b / ((a + b).powi(2) * (a + b + 1.0))).sqrt();
    near(summary.mean[0], exact_mean, 0.01, "posterior mean of p");
    near(summary.sd[0] / exact_sd, 1.0, 0.1, "posterior sd of p / exact");
    assert!(p["p"].as_slice().iter().all(|&v| v > 0.0 && v < 1.0));
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
    let vi = VI::new(3000).lr(0.02).particles(4).qmodel(q).seed(7).quiet(true);
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
        near(summary.mean[i], mean, 5.0 * sd / 4000f64.sqrt() + 0.03 * (1.0 + x.abs()), "predictive mean");
        near(summary.sd[i] / sd, 1.0, 0.06, "predictive sd");
    }
    // Observed variables have no posterior; unknown names are errors naming them.
    assert!(matches!(model.posterior(["y"]), Err(Error::Query { variable, .. }) if variable == "y"));
    assert!(matches!(model.posterior(["v"]), Err(Error::UnknownVariable { name, .. }) if name == "v"));
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
        Err(Error::InvalidOption { option: "particles", .. })
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
