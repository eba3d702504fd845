//! Gradients of summed log densities (autodiff, f32) against central finite differences of
//! the f64 reference formulas, on random inputs from a fixed seed.
//!
//! Tolerance: |autodiff - fd| <= 1e-4 + 1e-3 |fd|. The finite differences use h = 1e-5 on
//! f64 functions (truncation ~1e-10, rounding ~1e-11), so the error budget is f32's.
mod common;

use burn::tensor::Tensor;
use common::*;
use inferrs_distributions::{Bernoulli, Distribution, MixtureGaussian, Normal};
use rand::{Rng as _, SeedableRng};

const REL: f64 = 1e-3;
const ABS: f64 = 1e-4;
const H: f64 = 1e-5;

fn draw(rng: &mut rand::rngs::StdRng, lo: f64, hi: f64, n: usize) -> Vec<f64> {
    // Rounded to f32 so that the tensors hold exactly the values the reference uses.
    (0..n)
        .map(|_| rng.random_range(lo..hi) as f32 as f64)
        .collect()
}

fn grad_of(t: &Tensor<2>, grads: &burn::tensor::Gradients) -> Vec<f64> {
    to_vec(t.grad(grads).expect("gradient present"))
}

#[test]
fn mixture_gradients_match_finite_differences() {
    let d = ad();
    let (rows, k) = (6, 3);
    for seed in [1u64, 2, 3] {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let locs = draw(&mut rng, -2.0, 2.0, rows * k);
        let scales = draw(&mut rng, 0.5, 2.0, rows * k);
        let logits = draw(&mut rng, -1.5, 1.5, rows * k);
        let ys = draw(&mut rng, -3.0, 3.0, rows);

        let tl = t2(&locs, rows, k, &d).require_grad();
        let ts = t2(&scales, rows, k, &d).require_grad();
        let tw = t2(&logits, rows, k, &d).require_grad();
        let ty = t2(&ys, rows, 1, &d).require_grad();
        let mix = MixtureGaussian::new(tl.clone(), ts.clone(), tw.clone()).unwrap();
        let grads = mix.log_prob(ty.clone()).sum().backward();

        let total = |l: &[f64], s: &[f64], w: &[f64], y: &[f64]| -> f64 {
            (0..rows)
                .map(|r| {
                    let c = r * k..(r + 1) * k;
                    mixture_logpdf_stable(y[r], &l[c.clone()], &s[c.clone()], &w[c])
                })
                .sum()
        };
        let fd_l = central_diff(|x| total(x, &scales, &logits, &ys), &locs, H);
        let fd_s = central_diff(|x| total(&locs, x, &logits, &ys), &scales, H);
        let fd_w = central_diff(|x| total(&locs, &scales, x, &ys), &logits, H);
        let fd_y = central_diff(|x| total(&locs, &scales, &logits, x), &ys, H);
        assert_close(
            &grad_of(&tl, &grads),
            &fd_l,
            REL,
            ABS,
            &format!("seed {seed} d/dlocs"),
        );
        assert_close(
            &grad_of(&ts, &grads),
            &fd_s,
            REL,
            ABS,
            &format!("seed {seed} d/dscales"),
        );
        assert_close(
            &grad_of(&tw, &grads),
            &fd_w,
            REL,
            ABS,
            &format!("seed {seed} d/dlogits"),
        );
        assert_close(
            &grad_of(&ty, &grads),
            &fd_y,
            REL,
            ABS,
            &format!("seed {seed} d/dvalue"),
        );
    }
}

#[test]
fn mixture_probs_gradients_match_finite_differences() {
    // Tensor probabilities (normalised inside): the reference uses logits = ln(probs).
    let d = ad();
    let (rows, k) = (4, 3);
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let locs = draw(&mut rng, -2.0, 2.0, rows * k);
    let scales = draw(&mut rng, 0.5, 2.0, rows * k);
    let probs = draw(&mut rng, 0.1, 1.0, rows * k);
    let ys = draw(&mut rng, -3.0, 3.0, rows);
    let tp = t2(&probs, rows, k, &d).require_grad();
    let mix =
        MixtureGaussian::from_probs(t2(&locs, rows, k, &d), t2(&scales, rows, k, &d), tp.clone())
            .unwrap();
    let grads = mix.log_prob(t2(&ys, rows, 1, &d)).sum().backward();
    let total = |p: &[f64]| -> f64 {
        (0..rows)
            .map(|r| {
                let c = r * k..(r + 1) * k;
                let w: Vec<f64> = p[c.clone()].iter().map(|x| x.ln()).collect();
                mixture_logpdf_stable(ys[r], &locs[c.clone()], &scales[c], &w)
            })
            .sum()
    };
    assert_close(
        &grad_of(&tp, &grads),
        &central_diff(total, &probs, H),
        REL,
        ABS,
        "d/dprobs",
    );
}

#[test]
fn normal_gradients_match_finite_differences() {
    let d = ad();
    let (rows, cols) = (5, 2);
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let locs = draw(&mut rng, -2.0, 2.0, rows * cols);
    let scales = draw(&mut rng, 0.5, 2.0, rows * cols);
    let ys = draw(&mut rng, -3.0, 3.0, rows * cols);
    let tl = t2(&locs, rows, cols, &d).require_grad();
    let ts = t2(&scales, rows, cols, &d).require_grad();
    let ty = t2(&ys, rows, cols, &d).require_grad();
    let normal = Normal::new(tl.clone(), ts.clone()).unwrap();
    let grads = normal.log_prob(ty.clone()).sum().backward();
    let total = |l: &[f64], s: &[f64], y: &[f64]| -> f64 {
        (0..rows * cols)
            .map(|i| normal_logpdf(y[i], l[i], s[i]))
            .sum()
    };
    let fd_l = central_diff(|x| total(x, &scales, &ys), &locs, H);
    let fd_s = central_diff(|x| total(&locs, x, &ys), &scales, H);
    let fd_y = central_diff(|x| total(&locs, &scales, x), &ys, H);
    assert_close(&grad_of(&tl, &grads), &fd_l, REL, ABS, "d/dloc");
    assert_close(&grad_of(&ts, &grads), &fd_s, REL, ABS, "d/dscale");
    assert_close(&grad_of(&ty, &grads), &fd_y, REL, ABS, "d/dvalue");
}

#[test]
fn normal_sample_is_reparameterised() {
    // d/dloc sum(loc + scale * eps) = rows, d/dscale = sum(eps) = (sample - loc) / scale summed.
    use rand::SeedableRng;
    let d = ad();
    let loc = t2(&[0.5], 1, 1, &d).require_grad();
    let scale = t2(&[2.0], 1, 1, &d).require_grad();
    let normal = Normal::new(loc.clone(), scale.clone()).unwrap();
    let mut rng = inferrs_distributions::Rng::seed_from_u64(3);
    let x = normal.sample(10, &d, &mut rng);
    let xs = to_vec(x.clone());
    let grads = x.sum().backward();
    assert_close(&grad_of(&loc, &grads), &[10.0], 1e-6, 1e-6, "d/dloc");
    let eps_sum: f64 = xs.iter().map(|x| (x - 0.5) / 2.0).sum();
    assert_close(&grad_of(&scale, &grads), &[eps_sum], 1e-5, 1e-5, "d/dscale");
}

/// `Bernoulli(logits)`: `d/dl log p(x) = x - sigmoid(l)`, on logits from -30 to 30 (where a
/// naive `log(sigmoid)` loses everything) and both values, against the closed form.
#[test]
fn bernoulli_logit_gradients_match_the_closed_form() {
    let d = ad();
    let logits = [-30.0, -4.0, -0.5, 0.0, 0.5, 4.0, 30.0, 2.25];
    let xs = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
    let tl = t2(&logits, 8, 1, &d).require_grad();
    let b = Bernoulli::new(tl.clone()).unwrap();
    let lp = b.log_prob(t2(&xs, 8, 1, &d));
    let values = to_vec(lp.clone());
    let grads = lp.sum().backward();
    let sigmoid = |l: f64| 1.0 / (1.0 + (-l).exp());
    let want_values: Vec<f64> = logits
        .iter()
        .zip(xs)
        .map(|(&l, x)| {
            // -softplus(-l) and -softplus(l), stably.
            let softplus = |u: f64| u.max(0.0) + (-u.abs()).exp().ln_1p();
            if x == 1.0 {
                -softplus(-l)
            } else {
                -softplus(l)
            }
        })
        .collect();
    assert_close(&values, &want_values, REL, ABS, "log p");
    let want: Vec<f64> = logits
        .iter()
        .zip(xs)
        .map(|(&l, x)| x - sigmoid(l))
        .collect();
    assert_close(&grad_of(&tl, &grads), &want, REL, ABS, "d/dlogits");
}
