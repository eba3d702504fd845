//! Stochastic VI on minibatches (`VI::batch_size`), against closed forms: the scaled batch
//! estimates sum to the full-batch bound, conjugate posteriors are recovered from batches,
//! local latent variables keep one q per row, and the importance-weighted bound. Every fit has
//! a fixed seed; tolerances are stated at each check.

use inferrs::prelude::*;
use inferrs::{Error, Summary};
use rand::SeedableRng;

#[macro_use]
mod common;

#[allow(dead_code)]
#[path = "../examples/linear_regression.rs"]
mod linear_regression;

use linear_regression::{conjugate, data};

/// `|got - want| < tol`, with a message.
fn near(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() < tol,
        "{what}: got {got}, want {want} (tolerance {tol})"
    );
}

/// `n` rows of `y ~ N(3, 2)`.
fn normal_rows(n: usize, seed: u64) -> Vec<f32> {
    common::normal_rows(n, 3.0, seed)
}

/// Posterior of `mu ~ N(0, 10^2)`, `y_i ~ N(mu, 2^2)`: mean and sd.
fn normal_normal_posterior(y: &[f32]) -> (f64, f64) {
    let precision = 1.0 / 100.0 + y.len() as f64 / 4.0;
    let sum: f64 = y.iter().map(|&v| f64::from(v)).sum();
    ((sum / 4.0) / precision, 1.0 / precision.sqrt())
}

fn summary(model_draws: &inferrs::Draws, name: &str) -> Summary {
    model_draws[name].summary()
}

/// With fixed draws (a point guide) the batch estimates of one epoch, each weighted by its
/// share `M / N` of the rows, sum to the full-batch loss: the global prior term once, every
/// row's likelihood once. Up to f32 summation order: 1e-5 relative.
#[test]
fn batch_estimates_sum_to_the_full_batch_bound() {
    let y = normal_rows(53, 11);
    let data = Data::new().with("y", &y).unwrap();
    let mut model = normal_normal!();
    let vi = VI::new(200)
        .lr(0.05)
        .guide(AutoDelta::default())
        .quiet(true);
    model.fit(&data, vi).unwrap();
    let full = Svi::new(VI::new(1)).evaluate(&model, &data, None).unwrap();
    // Batches of 10 over 53 rows: the last has 3 (a partial batch is scaled by 53 / 3).
    let order: Vec<usize> = (0..53).rev().collect();
    let mut weighted = 0.0;
    for batch in order.chunks(10) {
        let loss = Svi::new(VI::new(1))
            .evaluate(&model, &data, Some(batch))
            .unwrap();
        weighted += loss * batch.len() as f64 / 53.0;
    }
    assert!(
        (weighted - full).abs() < 1e-5 * full.abs(),
        "sum of weighted batch losses {weighted} vs full-batch {full}"
    );
}

/// With random draws (AutoNormal) and random batches, the batch estimate is unbiased: the
/// mean of 4000 estimates on random batches of 10 is within 4 standard errors of the mean of
/// 4000 full-batch estimates.
#[test]
fn random_batch_estimates_are_unbiased() {
    let y = normal_rows(50, 12);
    let data = Data::new().with("y", &y).unwrap();
    let mut model = normal_normal!();
    let vi = VI::new(300)
        .lr(0.05)
        .guide(AutoNormal::default())
        .quiet(true);
    model.fit(&data, vi).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let (mut batched, mut full) = (Vec::new(), Vec::new());
    for seed in 0..4000u64 {
        let mut rows: Vec<usize> = (0..50).collect();
        rand::seq::SliceRandom::shuffle(&mut rows[..], &mut rng);
        let vi = || VI::new(1).seed(seed);
        batched.push(
            Svi::new(vi())
                .evaluate(&model, &data, Some(&rows[..10]))
                .unwrap(),
        );
        full.push(Svi::new(vi()).evaluate(&model, &data, None).unwrap());
    }
    let stats = |v: &[f64]| {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
        (m, var / n)
    };
    let ((mb, vb), (mf, vf)) = (stats(&batched), stats(&full));
    let se = (vb + vf).sqrt();
    assert!(
        (mb - mf).abs() < 4.0 * se,
        "batch mean {mb} vs full mean {mf} (4 se = {})",
        4.0 * se
    );
}

/// Normal-Normal fitted on batches of 10 of 50 rows: the posterior mean within 0.05 (the sd
/// is 0.28) and the sd within 10%, as the full-batch conjugate tests.
#[test]
fn normal_normal_on_minibatches_matches_the_closed_form() {
    let y = normal_rows(50, 13);
    let (mean, sd) = normal_normal_posterior(&y);
    let data = Data::new().with("y", &y).unwrap();
    let mut model = normal_normal!();
    let vi = VI::new(1500)
        .lr(0.02)
        .batch_size(10)
        .guide(AutoNormal::default())
        .seed(3)
        .quiet(true);
    let report = model.fit(&data, vi).unwrap();
    assert_eq!(report.losses.len(), 1500, "one loss per epoch");
    let draws = model.posterior(["mu"]).unwrap().sample_n(4000).unwrap();
    let s = summary(&draws, "mu");
    near(s.mean[0], mean, 0.05, "mu mean");
    near(s.sd[0] / sd, 1.0, 0.1, "mu sd / closed form");
}

/// The conjugate linear regression on batches of 10 of 100 rows: the mean-field optimum
/// (exact means within 0.03, sds `1 / sqrt(P_ii)` within 10%), as the full-batch test.
#[test]
fn linear_regression_on_minibatches_matches_the_conjugate_posterior() {
    let (x, y) = data(2);
    let post = conjugate(&x, &y);
    let mut model = probmodel! {
        w ~ Normal(0.0, 1.0);
        b ~ Normal(0.0, 1.0);
        datamodel {
            x ~ Normal(0.0, 10.0);
            y ~ Normal(w * x + b, 1.0);
        }
    };
    let data = Data::new().with("x", &x).unwrap().with("y", &y).unwrap();
    let vi = VI::new(800)
        .lr(0.02)
        .batch_size(10)
        .guide(AutoNormal::default())
        .seed(4)
        .quiet(true);
    model.fit(&data, vi).unwrap();
    let draws = model.posterior(["w", "b"]).unwrap().sample_n(4000).unwrap();
    let (w, b) = (summary(&draws, "w"), summary(&draws, "b"));
    near(w.mean[0], post.mean[0], 0.03, "w mean");
    near(b.mean[0], post.mean[1], 0.03, "b mean");
    near(w.sd[0] * post.precision[0][0].sqrt(), 1.0, 0.1, "w sd");
    near(b.sd[0] * post.precision[1][1].sqrt(), 1.0, 0.1, "b sd");
}

/// `mu ~ N(0, 10^2)`, `z_i ~ N(mu, 1)`, `y_i ~ N(z_i, 0.5^2)`, 40 rows, AutoNormal on
/// batches of 8: one q per row, and each row's q reaches the mean-field optimum of the
/// Gaussian posterior: the exact posterior means, `E[z_i | y] = (E[mu | y] + 4 y_i) / 5` with
/// `mu`'s posterior from `y_i | mu ~ N(mu, 1.25)`, within 0.06 (the sds are 0.45), and the
/// conditional sds `1 / sqrt(5)` within 10% on average over the rows.
#[test]
fn local_latents_on_minibatches_recover_each_rows_posterior() {
    let n = 40;
    let (y, mu_hat) = common::hierarchical_rows(n, 21);
    let mut model = hierarchical!();
    let data = Data::new().with("y", &y).unwrap();
    let vi = VI::new(2500)
        .lr(0.02)
        .batch_size(8)
        .guide(AutoNormal::default())
        .seed(6)
        .quiet(true);
    model.fit(&data, vi).unwrap();
    let auto = model
        .guide()
        .unwrap()
        .as_any()
        .downcast_ref::<AutoNormal>()
        .unwrap();
    let (loc, scale) = auto.loc_scale("z").unwrap();
    assert_eq!(loc.len(), n, "one q per row");
    for (i, (&l, &yi)) in loc.iter().zip(&y).enumerate() {
        let want = (mu_hat + 4.0 * f64::from(yi)) / 5.0;
        near(f64::from(l), want, 0.06, &format!("z[{i}] posterior mean"));
    }
    let mean_scale = scale.iter().map(|&s| f64::from(s)).sum::<f64>() / n as f64;
    near(
        mean_scale * 5f64.sqrt(),
        1.0,
        0.1,
        "z's mean q sd / 1/sqrt(5)",
    );
}

/// The importance-weighted bound of a fitted model is no lower than its ELBO (both averaged
/// over 400 seeds, the IWAE with k = 8), and k = 1 is the ELBO draw for draw.
#[test]
fn iwae_bounds_the_elbo_and_equals_it_for_one_particle() {
    let y = normal_rows(30, 14);
    let data = Data::new().with("y", &y).unwrap();
    let mut model = normal_normal!();
    // A deliberately wide guide (init scale 1, few steps), so that the bounds differ.
    let vi = VI::new(20)
        .lr(0.05)
        .guide(AutoNormal::default().init_scale(1.0))
        .quiet(true);
    model.fit(&data, vi).unwrap();
    let (mut elbo, mut iwae) = (0.0, 0.0);
    for seed in 0..400u64 {
        let one = Svi::new(VI::new(1).seed(seed).elbo(RenyiElbo::iwae(1)))
            .evaluate(&model, &data, None)
            .unwrap();
        let trace = Svi::new(VI::new(1).seed(seed))
            .evaluate(&model, &data, None)
            .unwrap();
        assert!(
            (one - trace).abs() <= 1e-6 * trace.abs(),
            "seed {seed}: IWAE k=1 {one} vs ELBO {trace}"
        );
        elbo += trace;
        iwae += Svi::new(VI::new(1).seed(seed).elbo(RenyiElbo::iwae(8)))
            .evaluate(&model, &data, None)
            .unwrap();
    }
    // Losses are negative bounds: the IWAE loss is no higher than the ELBO loss.
    assert!(
        iwae < elbo,
        "mean IWAE loss {} not below mean ELBO loss {}",
        iwae / 400.0,
        elbo / 400.0
    );
}

/// A batch size of 0 is an invalid option naming it.
#[test]
fn batch_size_zero_is_an_error() {
    let data = Data::new().with("y", vec![1.0f32, 2.0]).unwrap();
    let mut model = normal_normal!();
    let err = model
        .fit(&data, VI::new(5).batch_size(0).guide(AutoNormal::default()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                option: "batch_size",
                ..
            }
        ),
        "{err}"
    );
}

/// An observed site whose parameters are constants (`x ~ Normal(2, 3)` over a data column) is
/// scored once per full-batch fit, not at every step: every epoch's loss still holds its log
/// density. With nothing to train the loss is exactly `-sum log N(x; 2, 3)` (f64 closed form,
/// 1e-6 relative), at every epoch; with a point-estimated latent the full-batch fit (cached)
/// reports the losses and the estimate of the minibatch path with all rows in one batch (which
/// scores every site at every step), up to f32 summation order (1e-5 relative).
#[test]
fn constant_sites_are_scored_once_and_kept_in_the_loss() {
    let x: Vec<f32> = common::normal_rows(97, 1.0, 5);
    let y: Vec<f32> = normal_rows(97, 6);
    let data = Data::new().with("x", &x).unwrap().with("y", &y).unwrap();
    let exact: f64 = x
        .iter()
        .map(|&v| {
            let z = (f64::from(v) - 2.0) / 3.0;
            -0.5 * z * z - 3f64.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
        })
        .sum();
    let mut constant = datamodel! {
        x ~ Normal(2.0, 3.0);
    };
    let only_x = Data::new().with("x", &x).unwrap();
    let report = constant.fit(&only_x, VI::new(5).quiet(true)).unwrap();
    assert_eq!(report.losses.len(), 5);
    for (epoch, loss) in report.losses.iter().enumerate() {
        near(*loss, -exact, 1e-6 * exact.abs(), &format!("epoch {epoch}"));
    }
    let fit = |batch: Option<usize>| {
        let mut model = probmodel! {
            mu ~ Normal(0.0, 10.0);
            datamodel {
                x ~ Normal(2.0, 3.0);
                y ~ Normal(mu, 2.0);
            }
        };
        let mut vi = VI::new(40).lr(0.05).guide(AutoDelta::default()).quiet(true);
        if let Some(m) = batch {
            vi = vi.batch_size(m);
        }
        let report = model.fit(&data, vi).unwrap();
        let draws = model.posterior(["mu"]).unwrap().sample().unwrap();
        (report.losses, summary(&draws, "mu").mean[0])
    };
    let (cached, mu_cached) = fit(None);
    let (scored, mu_scored) = fit(Some(97));
    for (epoch, (a, b)) in cached.iter().zip(&scored).enumerate() {
        near(*a, *b, 1e-5 * b.abs(), &format!("epoch {epoch}"));
    }
    near(mu_cached, mu_scored, 1e-5, "mu");
}
