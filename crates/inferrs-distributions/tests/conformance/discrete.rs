//! Discrete families: Bernoulli, Binomial, Categorical, Poisson, Geometric, NegativeBinomial.
//!
//! References are statrs' f64 pmfs (with its conventions mapped: statrs' Geometric counts trials,
//! `k + 1`; its NegativeBinomial counts failures before `r` successes, so its `p` is TFP's
//! `1 - p`), closed forms in f64 with statrs' `ln_gamma` for real-valued counts, and statrs'
//! means and variances.
//!
//! Tolerances (`|got - want| <= abs + rel |want|`), all for f32 results:
//! * log masses without `lgamma` (Bernoulli, Categorical, Geometric): `rel 1e-6, abs 1e-6`,
//!   about 8 f32 roundings (`6e-8` each, relative) of terms of order 1-10.
//! * log masses with `lgamma` (Binomial, Poisson, NegativeBinomial, counts up to 20):
//!   `rel 1e-6, abs 1e-5`. The terms reach `lgamma(21) = 42.3` and `k log(rate) = 23`; an f32
//!   rounding of such a term is `2e-6` absolute and the sum cancels to a few units, so the
//!   error is absolute (each `lgamma` is accurate to `2e-6 + 5e-7 |lgamma|`, see the unit tests
//!   of `src/special.rs`). The largest error measured here is below `4e-6`.
//! * gradients of `log_prob` against central differences (`h = 1e-5`) of the f64 reference:
//!   `rel 1e-5, abs 1e-6`. The f64 difference is accurate to about `1e-9` (rounding
//!   `1e-16 |f| / h`, truncation `h^2 f''' / 6`); the f32 autodiff gradient carries a few
//!   roundings of terms of order 1-10 (measured: below `1e-7 + 1e-6 |g|`).
//! * means and variances against statrs' closed forms: `rel 1e-6, abs 1e-6`.
//! * sample moments: [`Z_MAX`] standard errors (see the harness).

use burn::tensor::Tensor;
use inferrs_distributions::{
    Bernoulli, Binomial, Categorical, Distribution, FromArgs, Geometric, NegativeBinomial, Param,
    Poisson, Probs, Support,
};
use statrs::distribution::Discrete;
use statrs::function::gamma::ln_gamma;
use statrs::statistics::{DiscreteDistribution as _, Distribution as _};

use crate::harness::*;

/// `log_prob` without `lgamma` (see the module doc).
const LP: Tol = Tol::new(1e-6, 1e-6);
/// `log_prob` with `lgamma`.
const LP_LGAMMA: Tol = Tol::new(1e-6, 1e-5);
/// Gradients of `log_prob` against central differences of the f64 reference.
const GRAD: Fd = Fd::new(1e-5, 1e-5, 1e-6);
const MOMENT_N: usize = 20_000;
const BATCHED_N: usize = 4_000;

/// `sigmoid(x)` in f64.
fn sig(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `log_prob` on the CPU device.
fn log_prob(dist: &dyn Distribution, values: &[f64], shape: [usize; 2]) -> Vec<f64> {
    let device = cpu();
    to_vec(dist.log_prob(t2(values, shape[0], shape[1], &device)))
}

/// Every entry is `-inf` (out of support), none is NaN.
fn assert_all_neg_inf(got: &[f64], what: &str) {
    for (i, &g) in got.iter().enumerate() {
        assert!(
            g == f64::NEG_INFINITY,
            "{what}[{i}]: got {g}, expected -inf"
        );
    }
}

/// All the mass at `at`: log mass 0 there (exactly for `abs = 0`, else within `abs`), and
/// `-inf` at `not_at`.
fn check_point_mass(dist: &dyn Distribution, at: f64, not_at: f64, abs: f64, what: &str) {
    let got = log_prob(dist, &[at], [1, 1]);
    assert_close(&got, &[0.0], 0.0, abs, &format!("{what} at {at}"));
    assert_all_neg_inf(
        &log_prob(dist, &[not_at], [1, 1]),
        &format!("{what} at {not_at}"),
    );
}

/// `Distribution::mean` and `variance` against closed forms (row-major).
fn check_stated_moments(dist: &dyn Distribution, mean: &[f64], var: &[f64], what: &str) {
    let device = cpu();
    assert_close(
        &to_vec(dist.mean(&device)),
        mean,
        1e-6,
        1e-6,
        &format!("{what}: mean"),
    );
    assert_close(
        &to_vec(dist.variance(&device)),
        var,
        1e-6,
        1e-6,
        &format!("{what}: variance"),
    );
}

/// Not reparameterised: `has_rsample` is false and a sample from tensor parameters that
/// require gradients is detached. Also the same seed gives the same draws, bit for bit.
fn check_detached_and_reproducible(
    make: &dyn Fn(Vec<Tensor<2>>) -> Box<dyn Distribution>,
    params: &[Vec<f64>],
    [r, c]: [usize; 2],
    what: &str,
) {
    let device = ad();
    let tensors: Vec<Tensor<2>> = params
        .iter()
        .map(|v| t2(v, r, c, &device).require_grad())
        .collect();
    let dist = make(tensors);
    assert!(!dist.has_rsample(), "{what}: has_rsample");
    assert!(dist.support().is_discrete() || dist.support() == Support::Dependent);
    let first = check_same_draws(dist.as_ref(), dist.batch_rows(), 11, &device, what);
    assert!(!first.is_require_grad(), "{what}: sample must be detached");
    let draws = to_vec(first);
    assert!(
        draws.iter().all(|x| x.is_finite()),
        "{what}: draws {draws:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Bernoulli
// ---------------------------------------------------------------------------------------------

fn bernoulli_ref(p: f64, x: f64) -> f64 {
    statrs::distribution::Bernoulli::new(p)
        .unwrap()
        .ln_pmf(x as u64)
}

#[test]
fn bernoulli_log_prob() {
    let d = cpu();
    // (a) scalar parameters, several values.
    let b = Bernoulli::new(0.7).unwrap();
    let xs = [0.0, 1.0, 1.0, 0.0];
    let want: Vec<f64> = xs.iter().map(|&x| bernoulli_ref(sig(0.7), x)).collect();
    check_log_prob(&b, &xs, [4, 1], &want, LP, "Bernoulli logits scalar");
    let b = Bernoulli::from_probs(0.3).unwrap();
    let want = [bernoulli_ref(0.3, 1.0), bernoulli_ref(0.3, 0.0)];
    check_log_prob(&b, &[1.0, 0.0], [2, 1], &want, LP, "Bernoulli probs scalar");

    // (b) one parameter row [1, 3] broadcast over 4 value rows.
    let logits = [-1.5, 0.2, 3.0];
    let b = Bernoulli::new(logits.to_vec()).unwrap();
    let xs = [0., 1., 1., 1., 0., 0., 1., 1., 0., 0., 0., 1.];
    let want = row_sums(4, 3, |r, c| bernoulli_ref(sig(logits[c]), xs[r * 3 + c]));
    check_log_prob(&b, &xs, [4, 3], &want, LP, "Bernoulli row broadcast");
    // The same row as a tensor [1, 3].
    let b = Bernoulli::new(t2(&logits, 1, 3, &d)).unwrap();
    check_log_prob(&b, &xs, [4, 3], &want, LP, "Bernoulli tensor row");

    // (c) tensor parameters, one row per value row, two columns.
    let logits = [0.3, -2.0, 1.7, 4.5, -0.8, 0.0];
    let b = Bernoulli::new(t2(&logits, 3, 2, &d)).unwrap();
    let xs = [1., 0., 0., 1., 1., 1.];
    let want = row_sums(3, 2, |r, c| {
        bernoulli_ref(sig(r32(logits[r * 2 + c])), xs[r * 2 + c])
    });
    check_log_prob(&b, &xs, [3, 2], &want, LP, "Bernoulli per row");
    let probs = [0.1, 0.9, 0.45, 0.6, 0.999, 0.02];
    let b = Bernoulli::from_probs(t2(&probs, 3, 2, &d)).unwrap();
    let want = row_sums(3, 2, |r, c| {
        bernoulli_ref(r32(probs[r * 2 + c]), xs[r * 2 + c])
    });
    check_log_prob(&b, &xs, [3, 2], &want, LP, "Bernoulli probs per row");

    // Large logits stay finite: log p = -softplus(-l), log(1 - p) = -softplus(l).
    let b = Bernoulli::new(t2(&[60.0, -60.0, 60.0, -60.0], 4, 1, &d)).unwrap();
    let want = [0.0, 0.0, -60.0, -60.0];
    check_log_prob(
        &b,
        &[1.0, 0.0, 0.0, 1.0],
        [4, 1],
        &want,
        LP,
        "Bernoulli extreme",
    );
}

#[test]
fn bernoulli_edges_and_support() {
    let d = cpu();
    // Probabilities of exactly 0 and 1: the possible value has log mass 0, the other -inf.
    for b in [
        Bernoulli::from_probs(1.0).unwrap(),
        Bernoulli::from_probs(t2(&[1.0], 1, 1, &d)).unwrap(),
    ] {
        check_point_mass(&b, 1.0, 0.0, 0.0, "Bernoulli(1)");
    }
    for b in [
        Bernoulli::from_probs(0.0).unwrap(),
        Bernoulli::from_probs(t2(&[0.0], 1, 1, &d)).unwrap(),
    ] {
        check_point_mass(&b, 0.0, 1.0, 0.0, "Bernoulli(0)");
    }
    // Outside {0, 1}: -inf, never NaN.
    let b = Bernoulli::new(0.4).unwrap();
    let bad = [-1.0, 0.5, 2.0, f64::NAN, f64::INFINITY];
    assert_all_neg_inf(&log_prob(&b, &bad, [5, 1]), "Bernoulli outside support");
    assert_eq!(b.support(), Support::Boolean);
    // Value columns must broadcast with the parameter's.
    let b = Bernoulli::new(vec![0.1, 0.2, 0.3]).unwrap();
    assert!(b.check_value([5, 3]).is_ok() && b.check_value([5, 1]).is_ok());
    assert!(b.check_value([5, 2]).is_err());
}

#[test]
fn bernoulli_moments() {
    let d = cpu();
    let b = Bernoulli::new(vec![-1.2, 0.4]).unwrap();
    let p: Vec<f64> = [-1.2, 0.4].iter().map(|&l| sig(l)).collect();
    let var: Vec<f64> = p.iter().map(|p| p * (1.0 - p)).collect();
    check_stated_moments(&b, &p, &var, "Bernoulli");
    check_moments(&b, MOMENT_N, 101, "Bernoulli");
    let b = Bernoulli::from_probs(0.85).unwrap();
    check_stated_moments(&b, &[0.85], &[0.85 * 0.15], "Bernoulli probs");
    check_moments(&b, MOMENT_N, 102, "Bernoulli probs");
    // No logit 0 here: at p = 1/2 every squared deviation from the sample mean is 1/4, so the
    // harness's estimate of the variance's standard error, sqrt((m4 - v^2) / n), is 0 while the
    // sample variance still moves (at second order, with the sample mean).
    let b = Bernoulli::new(t2(&[0.3, -2.0, 1.7, 4.5, -0.8, 0.25], 3, 2, &d)).unwrap();
    check_moments_batched(&b, BATCHED_N, 103, "Bernoulli per row");
}

#[test]
fn bernoulli_gradients() {
    let logits = vec![0.3, -2.0, 1.7, 4.5];
    let xs = [1.0, 0.0, 0.0, 1.0];
    let make = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(Bernoulli::new(p[0].clone()).unwrap())
    };
    let reference = |p: &[f64], x| bernoulli_ref(sig(p[0]), x);
    check_elementwise_log_prob_grad(
        &make,
        &[logits],
        &xs,
        [2, 2],
        &reference,
        GRAD,
        "Bernoulli logits",
    );
    let make_p = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(Bernoulli::from_probs(p[0].clone()).unwrap())
    };
    check_elementwise_log_prob_grad(
        &make_p,
        &[vec![0.2, 0.7, 0.5]],
        &[1.0, 0.0, 1.0],
        [3, 1],
        &|p, x| bernoulli_ref(p[0], x),
        GRAD,
        "Bernoulli probs",
    );
    // One row of logits [1, 2] broadcast over 3 value rows: the gradient sums over the rows.
    let xs3 = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
    check_log_prob_grad(
        &make,
        &[(vec![-0.4, 1.3], [1, 2])],
        &xs3,
        [3, 2],
        &|p| {
            (0..6)
                .map(|i| bernoulli_ref(sig(p[0][i % 2]), xs3[i]))
                .sum()
        },
        GRAD,
        "Bernoulli broadcast logits",
    );
    // At probabilities 0 and 1 the gradient is finite where the value is possible:
    // d/dp log(p) = 1/p = 1 at p = 1, d/dp log(1 - p) = -1 at p = 0.
    let device = ad();
    let p = t2(&[1.0, 0.0], 2, 1, &device).require_grad();
    let b = Bernoulli::from_probs(p.clone()).unwrap();
    let lp = b.log_prob(t2(&[1.0, 0.0], 2, 1, &device));
    let g = to_vec(p.grad(&lp.sum().backward()).unwrap());
    assert_eq!(g, [1.0, -1.0], "Bernoulli gradient at probs 1 and 0");
    check_detached_and_reproducible(&make, &[vec![0.3, -2.0, 1.7]], [3, 1], "Bernoulli");
}

#[test]
fn bernoulli_construction() {
    assert_invalid(Bernoulli::from_probs(1.5), "Bernoulli", "probs", 1.5);
    assert_invalid(
        Bernoulli::from_probs(vec![0.5, -0.1]),
        "Bernoulli",
        "probs",
        -0.1,
    );
    assert_invalid(
        Bernoulli::new(f64::INFINITY),
        "Bernoulli",
        "logits",
        f64::INFINITY,
    );
    assert_invalid(Bernoulli::new(f64::NAN), "Bernoulli", "logits", f64::NAN);
    assert_shape_error(Bernoulli::new(Vec::<f64>::new()), "Bernoulli empty");
    let b = <Bernoulli as FromArgs<_>>::from_args((0.3,)).unwrap();
    assert!(matches!(b.logits(), Some(Param::Scalar(x)) if *x == 0.3) && b.probs().is_none());
    let b = <Bernoulli as FromArgs<_>>::from_args((Probs(0.3),)).unwrap();
    assert!(matches!(b.probs(), Some(Param::Scalar(x)) if *x == 0.3) && b.logits().is_none());
    assert!(<Bernoulli as FromArgs<_>>::from_args((Probs(2.0),)).is_err());
}

// ---------------------------------------------------------------------------------------------
// Binomial
// ---------------------------------------------------------------------------------------------

fn binomial_ref(n: f64, p: f64, k: f64) -> f64 {
    statrs::distribution::Binomial::new(p, n as u64)
        .unwrap()
        .ln_pmf(k as u64)
}

/// The binomial log mass for a real `n`, in f64 with statrs' `ln_gamma`.
fn binomial_ref_real(n: f64, logit: f64, k: f64) -> f64 {
    ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)
        + k * sig(logit).ln()
        + (n - k) * sig(-logit).ln()
}

#[test]
fn binomial_log_prob() {
    let d = cpu();
    // (a) scalar parameters.
    let b = Binomial::new(10, 0.4).unwrap();
    let ks = [0.0, 3.0, 7.0, 10.0];
    let want: Vec<f64> = ks
        .iter()
        .map(|&k| binomial_ref(10.0, sig(0.4), k))
        .collect();
    check_log_prob(&b, &ks, [4, 1], &want, LP_LGAMMA, "Binomial scalar");
    let b = Binomial::from_probs(20.0, 0.25).unwrap();
    let ks = [0.0, 5.0, 13.0, 20.0];
    let want: Vec<f64> = ks.iter().map(|&k| binomial_ref(20.0, 0.25, k)).collect();
    check_log_prob(&b, &ks, [4, 1], &want, LP_LGAMMA, "Binomial probs scalar");

    // (b) one row of parameters [1, 2] broadcast over 3 value rows.
    let (ns, ls) = ([5.0, 12.0], [-0.3, 1.1]);
    let b = Binomial::new(ns.to_vec(), ls.to_vec()).unwrap();
    let ks = [0., 12., 5., 7., 3., 1.];
    let want = row_sums(3, 2, |r, c| binomial_ref(ns[c], sig(ls[c]), ks[r * 2 + c]));
    check_log_prob(&b, &ks, [3, 2], &want, LP_LGAMMA, "Binomial row broadcast");

    // (c) tensor parameters: counts [3, 1] broadcast over the columns of logits [3, 2].
    let ns = [4.0, 9.0, 15.0];
    let ls = [0.5, -1.0, 2.0, 0.1, -0.7, 1.4];
    let b = Binomial::new(t2(&ns, 3, 1, &d), t2(&ls, 3, 2, &d)).unwrap();
    let ks = [2., 4., 9., 0., 6., 14.];
    let want = row_sums(3, 2, |r, c| {
        binomial_ref(ns[r], sig(r32(ls[r * 2 + c])), ks[r * 2 + c])
    });
    check_log_prob(&b, &ks, [3, 2], &want, LP_LGAMMA, "Binomial per row");
    let ps = [0.1, 0.5, 0.9];
    let b = Binomial::from_probs(t2(&ns, 3, 1, &d), t2(&ps, 3, 1, &d)).unwrap();
    let ks = [1.0, 4.0, 13.0];
    let want: Vec<f64> = (0..3)
        .map(|r| binomial_ref(ns[r], r32(ps[r]), ks[r]))
        .collect();
    check_log_prob(&b, &ks, [3, 1], &want, LP_LGAMMA, "Binomial probs per row");

    // Large logits: n log(sigmoid(-50)) = -250 at k = 0, no overflow.
    let b = Binomial::new(5, 50.0).unwrap();
    let want = [binomial_ref_real(5.0, 50.0, 0.0), 0.0];
    check_log_prob(
        &b,
        &[0.0, 5.0],
        [2, 1],
        &want,
        LP_LGAMMA,
        "Binomial extreme",
    );
}

#[test]
fn binomial_edges_and_support() {
    let d = cpu();
    for b in [
        Binomial::from_probs(6, 1.0).unwrap(),
        Binomial::from_probs(t2(&[6.0], 1, 1, &d), t2(&[1.0], 1, 1, &d)).unwrap(),
    ] {
        check_point_mass(&b, 6.0, 5.0, 1e-6, "Binomial(p=1)");
    }
    for b in [
        Binomial::from_probs(6, 0.0).unwrap(),
        Binomial::from_probs(t2(&[6.0], 1, 1, &d), t2(&[0.0], 1, 1, &d)).unwrap(),
    ] {
        check_point_mass(&b, 0.0, 1.0, 1e-6, "Binomial(p=0)");
    }
    // Zero trials: all mass at 0.
    let b = Binomial::new(0, 0.3).unwrap();
    assert_close(
        &log_prob(&b, &[0.0], [1, 1]),
        &[0.0],
        0.0,
        1e-6,
        "Binomial(n=0)",
    );
    assert_eq!(b.support(), Support::IntegerInterval { low: 0, high: 0 });
    let b = Binomial::new(t2(&[10.0], 1, 1, &d), 0.3).unwrap();
    let bad = [-1.0, 2.5, 11.0, f64::NAN, f64::INFINITY];
    assert_all_neg_inf(&log_prob(&b, &bad, [5, 1]), "Binomial outside support");
    assert_eq!(b.support(), Support::Dependent);
    assert_eq!(
        Binomial::new(10, 0.0).unwrap().support(),
        Support::IntegerInterval { low: 0, high: 10 }
    );
    assert_eq!(
        Binomial::new(vec![3.0, 3.0], 0.0).unwrap().support(),
        Support::IntegerInterval { low: 0, high: 3 }
    );
    assert_eq!(
        Binomial::new(vec![3.0, 4.0], 0.0).unwrap().support(),
        Support::Dependent
    );
}

#[test]
fn binomial_moments() {
    let d = cpu();
    let b = Binomial::new(vec![10.0, 3.0], vec![0.4, -1.0]).unwrap();
    let (m, v): (Vec<f64>, Vec<f64>) = [(10.0, 0.4), (3.0, -1.0)]
        .iter()
        .map(|&(n, l)| {
            let s = statrs::distribution::Binomial::new(sig(l), n as u64).unwrap();
            (s.mean().unwrap(), s.variance().unwrap())
        })
        .unzip();
    check_stated_moments(&b, &m, &v, "Binomial");
    check_moments(&b, MOMENT_N, 201, "Binomial");
    let b = Binomial::from_probs(50, 0.9).unwrap();
    check_stated_moments(&b, &[45.0], &[50.0 * 0.9 * 0.1], "Binomial probs");
    check_moments(&b, MOMENT_N, 202, "Binomial probs");
    let b = Binomial::new(
        t2(&[4.0, 9.0, 15.0], 3, 1, &d),
        t2(&[0.5, -1.0, 2.0, 0.1, -0.7, 1.4], 3, 2, &d),
    )
    .unwrap();
    check_moments_batched(&b, BATCHED_N, 203, "Binomial per row");
}

#[test]
fn binomial_gradients() {
    // Gradients in both the (real-valued) count and the logits.
    let ks = [2.0, 0.0, 7.0];
    let make = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(Binomial::new(p[0].clone(), p[1].clone()).unwrap())
    };
    let params = [vec![5.0, 3.0, 12.0], vec![0.3, -1.2, 0.8]];
    let reference = |p: &[f64], k| binomial_ref_real(p[0], p[1], k);
    check_elementwise_log_prob_grad(&make, &params, &ks, [3, 1], &reference, GRAD, "Binomial");
    let make_p = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(Binomial::from_probs(8, p[0].clone()).unwrap())
    };
    let reference = |p: &[f64], k| binomial_ref(8.0, p[0], k);
    let probs = [vec![0.2, 0.6]];
    check_elementwise_log_prob_grad(
        &make_p,
        &probs,
        &[3.0, 8.0],
        [2, 1],
        &reference,
        GRAD,
        "Binomial probs",
    );
    // Out-of-support rows contribute -inf and a zero (not NaN) gradient.
    let device = ad();
    let l = t2(&[0.3, 0.3], 2, 1, &device).require_grad();
    let b = Binomial::new(4, l.clone()).unwrap();
    let lp = b.log_prob(t2(&[5.0, 2.0], 2, 1, &device));
    let g = to_vec(l.grad(&lp.sum().backward()).unwrap());
    assert_eq!(g[0], 0.0, "gradient of an out-of-support row");
    assert_close(
        &g[1..],
        &[2.0 - 4.0 * sig(r32(0.3))],
        1e-6,
        1e-6,
        "Binomial score",
    );
    check_detached_and_reproducible(&make, &params, [3, 1], "Binomial");
}

#[test]
fn binomial_construction() {
    let d = cpu();
    assert_invalid(Binomial::new(2.5, 0.0), "Binomial", "total_count", 2.5);
    assert_invalid(Binomial::new(-1.0, 0.0), "Binomial", "total_count", -1.0);
    assert_invalid(
        Binomial::new(f64::INFINITY, 0.0),
        "Binomial",
        "total_count",
        f64::INFINITY,
    );
    assert_invalid(Binomial::from_probs(3, 1.2), "Binomial", "probs", 1.2);
    assert_invalid(Binomial::new(3, f64::NAN), "Binomial", "logits", f64::NAN);
    assert_shape_error(
        Binomial::new(t2(&[1.0, 2.0], 2, 1, &d), t2(&[0.0; 3], 3, 1, &d)),
        "Binomial rows",
    );
    assert_shape_error(
        Binomial::new(vec![1.0, 2.0], vec![0.0, 0.0, 0.0]),
        "Binomial columns",
    );
    let b = <Binomial as FromArgs<_>>::from_args((10, 0.5)).unwrap();
    assert!(matches!(b.total_count(), Param::Scalar(n) if *n == 10.0) && b.logits().is_some());
    let b = <Binomial as FromArgs<_>>::from_args((10, Probs(0.5))).unwrap();
    assert!(b.probs().is_some() && b.logits().is_none());
    let net = (t2(&[3.0], 1, 1, &d), t2(&[0.1], 1, 1, &d));
    let b = <Binomial as FromArgs<_>>::from_args((net,)).unwrap();
    assert!(matches!(b.total_count(), Param::Tensor(_)));
    let b = <Binomial as FromArgs<_>>::from_args(((3.0, Probs(t2(&[0.1], 1, 1, &d))),)).unwrap();
    assert!(b.probs().is_some());
}

// ---------------------------------------------------------------------------------------------
// Categorical
// ---------------------------------------------------------------------------------------------

fn softmax(logits: &[f64]) -> Vec<f64> {
    let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = logits.iter().map(|l| (l - m).exp()).sum();
    logits.iter().map(|l| (l - m).exp() / z).collect()
}

fn categorical_ref(probs: &[f64], k: f64) -> f64 {
    statrs::distribution::Categorical::new(probs)
        .unwrap()
        .ln_pmf(k as u64)
}

#[test]
fn categorical_log_prob() {
    let d = cpu();
    let logits = [0.1, -1.0, 2.0, 0.5];
    let p = softmax(&logits);
    let ks = [0.0, 1.0, 2.0, 3.0, 2.0];
    let want: Vec<f64> = ks.iter().map(|&k| categorical_ref(&p, k)).collect();
    // (a) constant parameters, several values.
    let c = Categorical::new(logits.to_vec()).unwrap();
    check_log_prob(&c, &ks, [5, 1], &want, LP, "Categorical constant");
    // (b) one tensor row [1, K] broadcast over the value rows.
    let c = Categorical::new(t2(&logits, 1, 4, &d)).unwrap();
    check_log_prob(&c, &ks, [5, 1], &want, LP, "Categorical row broadcast");
    let probs = [0.2, 0.5, 0.3];
    let c = Categorical::from_probs(probs.to_vec()).unwrap();
    let want: Vec<f64> = [2.0, 0.0]
        .iter()
        .map(|&k| categorical_ref(&probs, k))
        .collect();
    check_log_prob(&c, &[2.0, 0.0], [2, 1], &want, LP, "Categorical probs");

    // (c) tensor parameters [3, K], one row per value row.
    let logits = [0.3, -2.0, 1.7, 4.5, -0.8, 0.0, 1.0, 1.0, 1.0];
    let c = Categorical::new(t2(&logits, 3, 3, &d)).unwrap();
    let ks = [2.0, 0.0, 1.0];
    let want: Vec<f64> = (0..3)
        .map(|r| {
            let row: Vec<f64> = logits[r * 3..r * 3 + 3].iter().map(|&l| r32(l)).collect();
            categorical_ref(&softmax(&row), ks[r])
        })
        .collect();
    check_log_prob(&c, &ks, [3, 1], &want, LP, "Categorical per row");
    // One value broadcast over the parameter rows.
    let want: Vec<f64> = (0..3)
        .map(|r| {
            let row: Vec<f64> = logits[r * 3..r * 3 + 3].iter().map(|&l| r32(l)).collect();
            categorical_ref(&softmax(&row), 1.0)
        })
        .collect();
    check_log_prob(&c, &[1.0], [1, 1], &want, LP, "Categorical value broadcast");
    // Tensor probabilities that do not sum to 1 are normalised per row.
    let probs = [0.2, 0.2, 0.6, 1.0, 3.0, 0.0];
    let c = Categorical::from_probs(t2(&probs, 2, 3, &d)).unwrap();
    let want = [
        categorical_ref(&[0.2, 0.2, 0.6], 2.0),
        categorical_ref(&[0.25, 0.75, 0.0], 1.0),
    ];
    check_log_prob(&c, &[2.0, 1.0], [2, 1], &want, LP, "Categorical probs rows");
}

#[test]
fn categorical_edges_and_support() {
    let d = cpu();
    for c in [
        Categorical::from_probs(vec![0.5, 0.5, 0.0]).unwrap(),
        Categorical::from_probs(t2(&[0.5, 0.5, 0.0], 1, 3, &d)).unwrap(),
    ] {
        assert_all_neg_inf(&log_prob(&c, &[2.0], [1, 1]), "Categorical zero class");
        assert_close(
            &log_prob(&c, &[0.0], [1, 1]),
            &[0.5f64.ln()],
            LP.rel,
            LP.abs,
            "Categorical possible class",
        );
        let bad = [-1.0, 3.0, 1.5, f64::NAN, f64::INFINITY];
        assert_all_neg_inf(&log_prob(&c, &bad, [5, 1]), "Categorical out of range");
        assert_eq!(c.support(), Support::IntegerInterval { low: 0, high: 2 });
        assert_eq!(c.num_classes(), 3);
    }
    let c = Categorical::new(vec![0.0; 4]).unwrap();
    assert!(c.check_value([7, 1]).is_ok());
    assert!(c.check_value([7, 4]).is_err(), "a value has one column");
    let c = Categorical::new(t2(&[0.0; 6], 2, 3, &d)).unwrap();
    assert!(c.check_value([3, 1]).is_err(), "rows must broadcast");
}

#[test]
fn categorical_moments() {
    let d = cpu();
    let probs = [0.1, 0.2, 0.3, 0.4];
    let s = statrs::distribution::Categorical::new(&probs).unwrap();
    let c = Categorical::from_probs(probs.to_vec()).unwrap();
    check_stated_moments(
        &c,
        &[s.mean().unwrap()],
        &[s.variance().unwrap()],
        "Categorical",
    );
    check_moments(&c, MOMENT_N, 301, "Categorical");
    let logits = [2.0, -1.0, 0.5];
    let p = softmax(&logits);
    let m: f64 = (0..3).map(|k| k as f64 * p[k]).sum();
    let v: f64 = (0..3).map(|k| p[k] * (k as f64 - m).powi(2)).sum();
    let c = Categorical::new(logits.to_vec()).unwrap();
    check_stated_moments(&c, &[m], &[v], "Categorical logits");
    check_moments(&c, MOMENT_N, 302, "Categorical logits");
    let c = Categorical::new(t2(
        &[0.3, -2.0, 1.7, 4.5, -0.8, 0.0, 1.0, 1.0, 1.0],
        3,
        3,
        &d,
    ))
    .unwrap();
    check_moments_batched(&c, BATCHED_N, 303, "Categorical per row");
}

#[test]
fn categorical_gradients() {
    let ks = [2.0, 0.0];
    let make = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(Categorical::new(p[0].clone()).unwrap())
    };
    check_log_prob_grad(
        &make,
        &[(vec![0.3, -2.0, 1.7, 4.5, -0.8, 0.0], [2, 3])],
        &ks,
        [2, 1],
        &|p| {
            (0..2)
                .map(|r| categorical_ref(&softmax(&p[0][r * 3..r * 3 + 3]), ks[r]))
                .sum()
        },
        GRAD,
        "Categorical logits",
    );
    // One row of logits [1, 3] broadcast over 4 value rows.
    let ks4 = [2.0, 0.0, 1.0, 2.0];
    check_log_prob_grad(
        &make,
        &[(vec![0.3, -2.0, 1.7], [1, 3])],
        &ks4,
        [4, 1],
        &|p| {
            ks4.iter()
                .map(|&k| categorical_ref(&softmax(&p[0]), k))
                .sum()
        },
        GRAD,
        "Categorical broadcast logits",
    );
    let make_p = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(Categorical::from_probs(p[0].clone()).unwrap())
    };
    // statrs normalises the probabilities too, so the reference has the same gradient.
    check_log_prob_grad(
        &make_p,
        &[(vec![0.2, 0.3, 0.5], [1, 3])],
        &[1.0],
        [1, 1],
        &|p| categorical_ref(&p[0], 1.0),
        GRAD,
        "Categorical probs",
    );
    // A zero probability of another class: finite gradient, d/dp_j = delta_jk / p_k - 1 / sum.
    let device = ad();
    let p = t2(&[0.5, 0.5, 0.0], 1, 3, &device).require_grad();
    let c = Categorical::from_probs(p.clone()).unwrap();
    let lp = c.log_prob(t2(&[0.0], 1, 1, &device));
    let g = to_vec(p.grad(&lp.sum().backward()).unwrap());
    assert_close(
        &g[..2],
        &[1.0, -1.0],
        1e-6,
        1e-6,
        "Categorical gradient at a zero class",
    );
    assert!(
        g[2].is_finite(),
        "Categorical gradient at a zero class: {g:?}"
    );
    check_detached_and_reproducible(&make, &[vec![0.3, -2.0, 1.7]], [1, 3], "Categorical");
}

#[test]
fn categorical_construction() {
    assert_invalid(
        Categorical::from_probs(vec![0.5, 0.6]),
        "Categorical",
        "probs",
        0.5 + 0.6,
    );
    assert_invalid(
        Categorical::from_probs(vec![1.5, -0.5]),
        "Categorical",
        "probs",
        -0.5,
    );
    assert_invalid(
        Categorical::new(vec![0.0, f64::NEG_INFINITY]),
        "Categorical",
        "logits",
        f64::NEG_INFINITY,
    );
    assert_shape_error(Categorical::new(Vec::<f64>::new()), "Categorical empty");
    let c = <Categorical as FromArgs<_>>::from_args((vec![0.0, 1.0],)).unwrap();
    assert!(c.logits().is_some() && c.num_classes() == 2);
    let c = <Categorical as FromArgs<_>>::from_args((Probs(vec![0.25, 0.75]),)).unwrap();
    assert!(c.probs().is_some() && c.logits().is_none());
}

// ---------------------------------------------------------------------------------------------
// Poisson
// ---------------------------------------------------------------------------------------------

fn poisson_ref(rate: f64, k: f64) -> f64 {
    statrs::distribution::Poisson::new(rate)
        .unwrap()
        .ln_pmf(k as u64)
}

#[test]
fn poisson_log_prob() {
    let d = cpu();
    // (a) scalar rate.
    let p = Poisson::new(3.5).unwrap();
    let ks = [0.0, 1.0, 4.0, 10.0];
    let want: Vec<f64> = ks.iter().map(|&k| poisson_ref(3.5, k)).collect();
    check_log_prob(&p, &ks, [4, 1], &want, LP_LGAMMA, "Poisson scalar");
    // (b) a row of rates [1, 3] broadcast over 3 value rows.
    let rates = [0.5, 2.0, 10.0];
    let p = Poisson::new(rates.to_vec()).unwrap();
    let ks = [0., 1., 8., 2., 0., 12., 1., 5., 20.];
    let want = row_sums(3, 3, |r, c| poisson_ref(rates[c], ks[r * 3 + c]));
    check_log_prob(&p, &ks, [3, 3], &want, LP_LGAMMA, "Poisson row broadcast");
    // (c) tensor rates [3, 2].
    let rates = [0.1, 1.3, 4.7, 0.9, 15.0, 7.2];
    let p = Poisson::new(t2(&rates, 3, 2, &d)).unwrap();
    let ks = [0., 2., 3., 0., 19., 7.];
    let want = row_sums(3, 2, |r, c| {
        poisson_ref(r32(rates[r * 2 + c]), ks[r * 2 + c])
    });
    check_log_prob(&p, &ks, [3, 2], &want, LP_LGAMMA, "Poisson per row");
}

#[test]
fn poisson_edges_and_support() {
    let d = cpu();
    // A rate of 0 puts all its mass on 0.
    for p in [
        Poisson::new(0.0).unwrap(),
        Poisson::new(t2(&[0.0], 1, 1, &d)).unwrap(),
    ] {
        check_point_mass(&p, 0.0, 1.0, 0.0, "Poisson(0)");
    }
    let p = Poisson::new(t2(&[2.0], 1, 1, &d)).unwrap();
    let bad = [-1.0, 0.5, f64::NAN, f64::INFINITY];
    assert_all_neg_inf(&log_prob(&p, &bad, [4, 1]), "Poisson outside support");
    assert_eq!(p.support(), Support::NonNegativeInteger);
}

#[test]
fn poisson_moments() {
    let d = cpu();
    let p = Poisson::new(vec![0.7, 25.0]).unwrap();
    check_stated_moments(&p, &[0.7, 25.0], &[0.7, 25.0], "Poisson");
    check_moments(&p, MOMENT_N, 401, "Poisson");
    let p = Poisson::new(t2(&[0.1, 1.3, 4.7, 0.9, 15.0, 7.2], 3, 2, &d)).unwrap();
    check_moments_batched(&p, BATCHED_N, 402, "Poisson per row");
}

#[test]
fn poisson_gradients() {
    let ks = [0.0, 3.0, 11.0];
    let make = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(Poisson::new(p[0].clone()).unwrap())
    };
    let reference = |p: &[f64], k| poisson_ref(p[0], k);
    let rates = [vec![0.4, 2.5, 9.0]];
    check_elementwise_log_prob_grad(&make, &rates, &ks, [3, 1], &reference, GRAD, "Poisson");
    // Rate 0 at value 0: d/drate (k log rate - rate) = -1, finite.
    let device = ad();
    let rate = t2(&[0.0, 2.0], 2, 1, &device).require_grad();
    let p = Poisson::new(rate.clone()).unwrap();
    let lp = p.log_prob(t2(&[0.0, -1.0], 2, 1, &device));
    let g = to_vec(rate.grad(&lp.sum().backward()).unwrap());
    assert_eq!(
        g,
        [-1.0, 0.0],
        "Poisson gradient at rate 0 and out of support"
    );
    check_detached_and_reproducible(&make, &[vec![0.4, 2.5, 9.0]], [3, 1], "Poisson");
}

#[test]
fn poisson_construction() {
    assert_invalid(Poisson::new(-0.5), "Poisson", "rate", -0.5);
    assert_invalid(
        Poisson::new(vec![1.0, f64::INFINITY]),
        "Poisson",
        "rate",
        f64::INFINITY,
    );
    assert_shape_error(Poisson::new(Vec::<f64>::new()), "Poisson empty");
    let p = <Poisson as FromArgs<_>>::from_args((2.0,)).unwrap();
    assert!(matches!(p.rate(), Param::Scalar(r) if *r == 2.0));
}

// ---------------------------------------------------------------------------------------------
// Geometric
// ---------------------------------------------------------------------------------------------

/// TFP's geometric (failures before the first success) from statrs' (trials, from 1).
fn geometric_ref(p: f64, k: f64) -> f64 {
    statrs::distribution::Geometric::new(p)
        .unwrap()
        .ln_pmf(k as u64 + 1)
}

#[test]
fn geometric_log_prob() {
    let d = cpu();
    // (a) scalar parameters.
    let g = Geometric::new(-0.5).unwrap();
    let ks = [0.0, 1.0, 3.0, 8.0];
    let want: Vec<f64> = ks.iter().map(|&k| geometric_ref(sig(-0.5), k)).collect();
    check_log_prob(&g, &ks, [4, 1], &want, LP, "Geometric scalar");
    let g = Geometric::from_probs(0.3).unwrap();
    let want: Vec<f64> = ks.iter().map(|&k| geometric_ref(0.3, k)).collect();
    check_log_prob(&g, &ks, [4, 1], &want, LP, "Geometric probs scalar");
    // (b) a row [1, 2] broadcast over value rows.
    let ls = [1.0, -2.0];
    let g = Geometric::new(ls.to_vec()).unwrap();
    let ks = [0., 5., 2., 11., 1., 0.];
    let want = row_sums(3, 2, |r, c| geometric_ref(sig(ls[c]), ks[r * 2 + c]));
    check_log_prob(&g, &ks, [3, 2], &want, LP, "Geometric row broadcast");
    // (c) tensor parameters [3, 2].
    let ls = [0.3, -2.0, 1.7, 4.5, -0.8, 0.0];
    let g = Geometric::new(t2(&ls, 3, 2, &d)).unwrap();
    let ks = [1., 7., 0., 0., 3., 2.];
    let want = row_sums(3, 2, |r, c| {
        geometric_ref(sig(r32(ls[r * 2 + c])), ks[r * 2 + c])
    });
    check_log_prob(&g, &ks, [3, 2], &want, LP, "Geometric per row");
    let ps = [0.05, 0.5, 0.95];
    let g = Geometric::from_probs(t2(&ps, 3, 1, &d)).unwrap();
    let ks = [30.0, 2.0, 1.0];
    let want: Vec<f64> = (0..3).map(|r| geometric_ref(r32(ps[r]), ks[r])).collect();
    check_log_prob(&g, &ks, [3, 1], &want, LP, "Geometric probs per row");
}

#[test]
fn geometric_edges_and_support() {
    let d = cpu();
    for g in [
        Geometric::from_probs(1.0).unwrap(),
        Geometric::from_probs(t2(&[1.0], 1, 1, &d)).unwrap(),
    ] {
        check_point_mass(&g, 0.0, 1.0, 0.0, "Geometric(1)");
    }
    let g = Geometric::new(0.0).unwrap();
    let bad = [-1.0, 0.5, f64::NAN, f64::INFINITY];
    assert_all_neg_inf(&log_prob(&g, &bad, [4, 1]), "Geometric outside support");
    assert_eq!(g.support(), Support::NonNegativeInteger);
}

#[test]
fn geometric_moments() {
    let d = cpu();
    let ls = [0.8, -1.5];
    let (m, v): (Vec<f64>, Vec<f64>) = ls
        .iter()
        .map(|&l| {
            // statrs counts trials: the same variance, a mean larger by one.
            let s = statrs::distribution::Geometric::new(sig(l)).unwrap();
            (s.mean().unwrap() - 1.0, s.variance().unwrap())
        })
        .unzip();
    let g = Geometric::new(ls.to_vec()).unwrap();
    check_stated_moments(&g, &m, &v, "Geometric");
    check_moments(&g, MOMENT_N, 501, "Geometric");
    let g = Geometric::from_probs(0.25).unwrap();
    check_stated_moments(&g, &[3.0], &[12.0], "Geometric probs");
    check_moments(&g, MOMENT_N, 502, "Geometric probs");
    let g = Geometric::new(t2(&[0.3, -2.0, 1.7, 4.5, -0.8, 0.0], 3, 2, &d)).unwrap();
    check_moments_batched(&g, BATCHED_N, 503, "Geometric per row");
}

#[test]
fn geometric_gradients() {
    let ks = [0.0, 4.0, 2.0];
    let make = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(Geometric::new(p[0].clone()).unwrap())
    };
    let reference = |p: &[f64], k| geometric_ref(sig(p[0]), k);
    let logits = [vec![0.3, -1.2, 2.0]];
    check_elementwise_log_prob_grad(
        &make,
        &logits,
        &ks,
        [3, 1],
        &reference,
        GRAD,
        "Geometric logits",
    );
    let make_p = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(Geometric::from_probs(p[0].clone()).unwrap())
    };
    let reference = |p: &[f64], k| geometric_ref(p[0], k);
    let probs = [vec![0.2, 0.7]];
    check_elementwise_log_prob_grad(
        &make_p,
        &probs,
        &[3.0, 0.0],
        [2, 1],
        &reference,
        GRAD,
        "Geometric probs",
    );
    // p = 1 at k = 0: d/dp log(p) = 1, finite.
    let device = ad();
    let p = t2(&[1.0], 1, 1, &device).require_grad();
    let lp = Geometric::from_probs(p.clone())
        .unwrap()
        .log_prob(t2(&[0.0], 1, 1, &device));
    assert_eq!(to_vec(p.grad(&lp.sum().backward()).unwrap()), [1.0]);
    check_detached_and_reproducible(&make, &[vec![0.3, -1.2, 2.0]], [3, 1], "Geometric");
}

#[test]
fn geometric_construction() {
    assert_invalid(Geometric::from_probs(0.0), "Geometric", "probs", 0.0);
    assert_invalid(Geometric::from_probs(1.01), "Geometric", "probs", 1.01);
    assert_invalid(
        Geometric::new(f64::NEG_INFINITY),
        "Geometric",
        "logits",
        f64::NEG_INFINITY,
    );
    assert_shape_error(Geometric::from_probs(Vec::<f64>::new()), "Geometric empty");
    let g = <Geometric as FromArgs<_>>::from_args((0.1,)).unwrap();
    assert!(g.logits().is_some());
    let g = <Geometric as FromArgs<_>>::from_args((Probs(0.1),)).unwrap();
    assert!(g.probs().is_some());
}

// ---------------------------------------------------------------------------------------------
// NegativeBinomial
// ---------------------------------------------------------------------------------------------

/// TFP's negative binomial (successes, probability `p`, before `f` failures) from statrs'
/// (failures before `r` successes with success probability `p_s`): `r = f`, `p_s = 1 - p`.
fn neg_binomial_ref(f: f64, p: f64, k: f64) -> f64 {
    statrs::distribution::NegativeBinomial::new(f, 1.0 - p)
        .unwrap()
        .ln_pmf(k as u64)
}

/// The same from logits, with `1 - sigmoid(l) = sigmoid(-l)` computed without cancellation.
fn neg_binomial_ref_logit(f: f64, logit: f64, k: f64) -> f64 {
    statrs::distribution::NegativeBinomial::new(f, sig(-logit))
        .unwrap()
        .ln_pmf(k as u64)
}

#[test]
fn negative_binomial_log_prob() {
    let d = cpu();
    // (a) scalar parameters (also a non-integer count, valid as in TFP).
    let nb = NegativeBinomial::new(3, 0.2).unwrap();
    let ks = [0.0, 1.0, 5.0, 12.0];
    let want: Vec<f64> = ks
        .iter()
        .map(|&k| neg_binomial_ref_logit(3.0, 0.2, k))
        .collect();
    check_log_prob(
        &nb,
        &ks,
        [4, 1],
        &want,
        LP_LGAMMA,
        "NegativeBinomial scalar",
    );
    let nb = NegativeBinomial::from_probs(2.5, 0.6).unwrap();
    let want: Vec<f64> = ks.iter().map(|&k| neg_binomial_ref(2.5, 0.6, k)).collect();
    check_log_prob(&nb, &ks, [4, 1], &want, LP_LGAMMA, "NegativeBinomial probs");
    // (b) a row [1, 2] broadcast over value rows.
    let (fs, ls) = ([2.0, 4.5], [-0.3, 1.1]);
    let nb = NegativeBinomial::new(fs.to_vec(), ls.to_vec()).unwrap();
    let ks = [0., 12., 5., 7., 3., 1.];
    let want = row_sums(3, 2, |r, c| {
        neg_binomial_ref_logit(fs[c], ls[c], ks[r * 2 + c])
    });
    check_log_prob(&nb, &ks, [3, 2], &want, LP_LGAMMA, "NegativeBinomial row");
    // (c) tensor counts [3, 1] broadcast over the columns of tensor logits [3, 2].
    let fs = [1.0, 6.0, 0.7];
    let ls = [0.5, -1.0, 2.0, 0.1, -0.7, 1.4];
    let nb = NegativeBinomial::new(t2(&fs, 3, 1, &d), t2(&ls, 3, 2, &d)).unwrap();
    let ks = [2., 0., 20., 6., 0., 3.];
    let want = row_sums(3, 2, |r, c| {
        neg_binomial_ref_logit(r32(fs[r]), r32(ls[r * 2 + c]), ks[r * 2 + c])
    });
    check_log_prob(
        &nb,
        &ks,
        [3, 2],
        &want,
        LP_LGAMMA,
        "NegativeBinomial per row",
    );
}

#[test]
fn negative_binomial_edges_and_support() {
    let d = cpu();
    // Success probability 0: no success before the first failures, all mass at 0.
    for nb in [
        NegativeBinomial::from_probs(3, 0.0).unwrap(),
        NegativeBinomial::from_probs(t2(&[3.0], 1, 1, &d), t2(&[0.0], 1, 1, &d)).unwrap(),
    ] {
        check_point_mass(&nb, 0.0, 1.0, 1e-6, "NB(p=0)");
    }
    let nb = NegativeBinomial::new(2, 0.0).unwrap();
    let bad = [-1.0, 0.5, f64::NAN, f64::INFINITY];
    assert_all_neg_inf(
        &log_prob(&nb, &bad, [4, 1]),
        "NegativeBinomial outside support",
    );
    assert_eq!(nb.support(), Support::NonNegativeInteger);
}

#[test]
fn negative_binomial_moments() {
    let d = cpu();
    let (fs, ls) = ([3.0, 0.8], [0.2, -1.0]);
    let (m, v): (Vec<f64>, Vec<f64>) = (0..2)
        .map(|i| {
            let s = statrs::distribution::NegativeBinomial::new(fs[i], sig(-ls[i])).unwrap();
            (s.mean().unwrap(), s.variance().unwrap())
        })
        .unzip();
    let nb = NegativeBinomial::new(fs.to_vec(), ls.to_vec()).unwrap();
    check_stated_moments(&nb, &m, &v, "NegativeBinomial");
    check_moments(&nb, MOMENT_N, 601, "NegativeBinomial");
    let nb = NegativeBinomial::from_probs(5, 0.75).unwrap();
    // f p / (1 - p) = 15, f p / (1 - p)^2 = 60.
    check_stated_moments(&nb, &[15.0], &[60.0], "NegativeBinomial probs");
    check_moments(&nb, MOMENT_N, 602, "NegativeBinomial probs");
    let nb = NegativeBinomial::new(
        t2(&[1.0, 6.0, 0.7], 3, 1, &d),
        t2(&[0.5, -1.0, 2.0, 0.1, -0.7, 1.4], 3, 2, &d),
    )
    .unwrap();
    check_moments_batched(&nb, BATCHED_N, 603, "NegativeBinomial per row");
}

#[test]
fn negative_binomial_gradients() {
    // Gradients in both the (real) count and the logits.
    let ks = [2.0, 0.0, 9.0];
    let make = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(NegativeBinomial::new(p[0].clone(), p[1].clone()).unwrap())
    };
    let params = [vec![3.0, 0.6, 7.5], vec![0.3, -1.2, 0.8]];
    let reference = |p: &[f64], k| neg_binomial_ref_logit(p[0], p[1], k);
    check_elementwise_log_prob_grad(
        &make,
        &params,
        &ks,
        [3, 1],
        &reference,
        GRAD,
        "NegativeBinomial",
    );
    let make_p = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(NegativeBinomial::from_probs(4, p[0].clone()).unwrap())
    };
    let reference = |p: &[f64], k| neg_binomial_ref(4.0, p[0], k);
    let probs = [vec![0.2, 0.6]];
    check_elementwise_log_prob_grad(
        &make_p,
        &probs,
        &[3.0, 0.0],
        [2, 1],
        &reference,
        GRAD,
        "NegativeBinomial probs",
    );
    check_detached_and_reproducible(&make, &params, [3, 1], "NegativeBinomial");
}

#[test]
fn negative_binomial_construction() {
    let d = cpu();
    assert_invalid(
        NegativeBinomial::new(0.0, 0.0),
        "NegativeBinomial",
        "total_count",
        0.0,
    );
    assert_invalid(
        NegativeBinomial::new(-2.0, 0.0),
        "NegativeBinomial",
        "total_count",
        -2.0,
    );
    assert_invalid(
        NegativeBinomial::from_probs(3, 1.0),
        "NegativeBinomial",
        "probs",
        1.0,
    );
    assert_invalid(
        NegativeBinomial::from_probs(3, -0.1),
        "NegativeBinomial",
        "probs",
        -0.1,
    );
    assert_invalid(
        NegativeBinomial::new(3, f64::NAN),
        "NegativeBinomial",
        "logits",
        f64::NAN,
    );
    assert_shape_error(
        NegativeBinomial::new(t2(&[1.0, 2.0], 1, 2, &d), t2(&[0.0; 3], 1, 3, &d)),
        "NegativeBinomial columns",
    );
    let nb = <NegativeBinomial as FromArgs<_>>::from_args((3, 0.5)).unwrap();
    assert!(nb.logits().is_some());
    let nb = <NegativeBinomial as FromArgs<_>>::from_args((3, Probs(0.5))).unwrap();
    assert!(nb.probs().is_some());
    let net = (t2(&[3.0], 1, 1, &d), t2(&[0.1], 1, 1, &d));
    let nb = <NegativeBinomial as FromArgs<_>>::from_args((net,)).unwrap();
    assert!(matches!(nb.total_count(), Param::Tensor(_)));
}

/// A tiny success probability (logit -60, p about 9e-27): draws return at once and are whole,
/// non-negative and of the order of 1 / p (the median of the geometric is about ln 2 / p).
#[test]
fn geometric_draws_with_a_tiny_probability() {
    use inferrs_distributions::Geometric;
    use rand::SeedableRng;
    let g = Geometric::new(-60.0).unwrap();
    let mut rng = inferrs_distributions::Rng::seed_from_u64(3);
    let draws = to_vec(g.sample(2001, &cpu(), &mut rng));
    assert!(
        draws
            .iter()
            .all(|&k| k >= 0.0 && k.fract() == 0.0 && k.is_finite())
    );
    let mut sorted = draws.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[1000];
    let expected = std::f64::consts::LN_2 * 60f64.exp();
    // The sample median of 2001 draws is within 10% of the true one with overwhelming
    // probability (its relative sd is about 3%).
    assert!(
        (median / expected - 1.0).abs() < 0.1,
        "median {median} vs {expected}"
    );
}
