//! MixtureGaussian: log density against f64 references and quadrature, probs vs logits,
//! validation errors, FromArgs forms.
mod common;

use common::*;
use inferrs_distributions::{DistError, Distribution, FromArgs, MixtureGaussian, Probs};
use rand::{Rng as _, SeedableRng};

/// Tolerance for f32 log densities of moderate size.
const REL: f64 = 1e-5;
const ABS: f64 = 1e-4;

fn round32(v: Vec<f64>) -> Vec<f64> {
    v.into_iter().map(|x| x as f32 as f64).collect()
}

#[test]
fn log_prob_batch_tensors_against_naive_f64() {
    // Random [rows, K] parameters (fixed seed), compared with ln(sum pi_k N_k) in f64.
    let d = cpu();
    let (rows, k) = (16, 4);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut draw = |lo: f64, hi: f64, n: usize| {
        round32((0..n).map(|_| rng.random_range(lo..hi)).collect::<Vec<_>>())
    };
    let locs = draw(-3.0, 3.0, rows * k);
    let scales = draw(0.3, 2.0, rows * k);
    let logits = draw(-2.0, 2.0, rows * k);
    let ys = draw(-4.0, 4.0, rows);
    let mix = MixtureGaussian::new(
        t2(&locs, rows, k, &d),
        t2(&scales, rows, k, &d),
        t2(&logits, rows, k, &d),
    )
    .unwrap();
    assert_eq!(
        (mix.batch_rows(), mix.event_size(), mix.num_components()),
        (rows, 1, k)
    );
    let lp = to_vec(mix.log_prob(t2(&ys, rows, 1, &d)));
    let expected: Vec<f64> = (0..rows)
        .map(|r| {
            let s = r * k..(r + 1) * k;
            mixture_logpdf_naive(ys[r], &locs[s.clone()], &scales[s.clone()], &logits[s])
        })
        .collect();
    assert_close(&lp, &expected, REL, ABS, "batch mixture log_prob");
}

#[test]
fn log_prob_constant_vectors_broadcast_rows() {
    // Constant vectors [1, K], values [n, 1]; also a scalar scale shared by every component.
    let d = cpu();
    let locs = vec![-2.0, 0.5, 3.0];
    let scales = vec![0.3, 1.0, 2.0];
    let logits = vec![0.2, -1.0, 0.7];
    let ys = [-2.1, -1.0, 0.0, 0.5, 2.0, 6.0];
    let mix = MixtureGaussian::new(locs.clone(), scales.clone(), logits.clone()).unwrap();
    assert_eq!(mix.batch_rows(), 1);
    let lp = to_vec(mix.log_prob(t2(&ys, 6, 1, &d)));
    let expected: Vec<f64> = ys
        .iter()
        .map(|&y| mixture_logpdf_naive(y, &locs, &scales, &logits))
        .collect();
    assert_close(&lp, &expected, REL, ABS, "constant mixture");

    let mix = MixtureGaussian::new(locs.clone(), 0.9, logits.clone()).unwrap();
    let lp = to_vec(mix.log_prob(t2(&ys, 6, 1, &d)));
    let expected: Vec<f64> = ys
        .iter()
        .map(|&y| mixture_logpdf_naive(y, &locs, &[0.9; 3], &logits))
        .collect();
    assert_close(&lp, &expected, REL, ABS, "scalar scale broadcast over K");

    // Scalar logits broadcast over K: uniform weights (not weight 1 each).
    let mix = MixtureGaussian::new(locs.clone(), scales.clone(), 0.0).unwrap();
    let lp = to_vec(mix.log_prob(t2(&ys, 6, 1, &d)));
    let expected: Vec<f64> = ys
        .iter()
        .map(|&y| mixture_logpdf_naive(y, &locs, &scales, &[0.0; 3]))
        .collect();
    assert_close(&lp, &expected, REL, ABS, "scalar logits broadcast over K");
}

#[test]
fn density_integrates_to_one() {
    // Composite Simpson on [-40, 40] with 40_000 intervals (h = 0.002); the tails beyond are
    // below 1e-30 and Simpson's error is ~h^4 f'''' ~ 1e-9. f32 densities add ~1e-6 relative.
    let d = cpu();
    let mix = MixtureGaussian::from_probs(
        vec![-2.0, 0.5, 3.0],
        vec![0.3, 1.0, 2.0],
        vec![0.2, 0.5, 0.3],
    )
    .unwrap();
    let (a, b, n) = (-40.0f64, 40.0f64, 40_000usize);
    let h = (b - a) / n as f64;
    let xs: Vec<f64> = (0..=n).map(|i| a + i as f64 * h).collect();
    let lp = to_vec(mix.log_prob(t2(&xs, n + 1, 1, &d)));
    let integral: f64 = lp
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let w = if i == 0 || i == n {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            w * l.exp()
        })
        .sum::<f64>()
        * h
        / 3.0;
    assert!((integral - 1.0).abs() < 1e-4, "integral = {integral}");
}

#[test]
fn probs_form_equals_logits_form() {
    // logits = ln(probs) + c for an arbitrary c, both constant and as tensors.
    let d = cpu();
    let probs = vec![0.1, 0.6, 0.3];
    let logits: Vec<f64> = probs.iter().map(|p: &f64| p.ln() + 3.7).collect();
    let locs = vec![-1.0, 0.0, 2.0];
    let scales = vec![0.5, 1.5, 0.8];
    let ys = t2(&[-3.0, -1.0, 0.2, 1.9, 5.0], 5, 1, &d);
    let a = MixtureGaussian::from_probs(locs.clone(), scales.clone(), probs.clone()).unwrap();
    let b = MixtureGaussian::new(locs.clone(), scales.clone(), logits.clone()).unwrap();
    let c = MixtureGaussian::from_probs(
        locs.clone(),
        scales.clone(),
        t2(&[0.1, 0.6, 0.3, 0.1, 0.6, 0.3], 2, 3, &d),
    )
    .unwrap();
    let la = to_vec(a.log_prob(ys.clone()));
    let lb = to_vec(b.log_prob(ys.clone()));
    assert_close(&la, &lb, 1e-5, 1e-5, "probs vs logits (constants)");
    let lc = to_vec(c.log_prob(t2(&[0.2, 1.9], 2, 1, &d)));
    assert_close(&lc, &[lb[2], lb[3]], 1e-5, 1e-5, "tensor probs vs logits");
    // Normalised log weights agree too.
    let wa = to_vec(a.log_weights(&d));
    let expected: Vec<f64> = probs.iter().map(|p| p.ln()).collect();
    assert_close(&wa, &expected, 1e-6, 1e-6, "log_weights");
}

#[test]
fn zero_probability_component_gives_no_nan() {
    // A component with probability 0 (weight -inf) contributes nothing, in values and
    // gradients, for constant and for tensor probabilities.
    let d = cpu();
    let ys = t2(&[-1.0, 0.0, 4.0], 3, 1, &d);
    let a = MixtureGaussian::from_probs(
        vec![-1.0, 0.0, 4.0],
        vec![1.0, 1.0, 1.0],
        vec![0.5, 0.5, 0.0],
    )
    .unwrap();
    let b = MixtureGaussian::new(vec![-1.0, 0.0], vec![1.0, 1.0], vec![0.0, 0.0]).unwrap();
    assert_close(
        &to_vec(a.log_prob(ys.clone())),
        &to_vec(b.log_prob(ys)),
        1e-6,
        1e-6,
        "p=0",
    );

    let ad = ad();
    let probs = t2(&[0.5, 0.5, 0.0], 1, 3, &ad).require_grad();
    let locs = t2(&[-1.0, 0.0, 4.0], 1, 3, &ad).require_grad();
    let y = t2(&[-1.0, 0.0, 4.0], 3, 1, &ad).require_grad();
    let mix = MixtureGaussian::from_probs(locs.clone(), 1.0, probs.clone()).unwrap();
    let lp = mix.log_prob(y.clone());
    let lp_v = to_vec(lp.clone());
    assert!(lp_v.iter().all(|v| v.is_finite()), "{lp_v:?}");
    let grads = lp.sum().backward();
    for (name, g) in [
        ("probs", probs.grad(&grads)),
        ("locs", locs.grad(&grads)),
        ("value", y.grad(&grads)),
    ] {
        let g = to_vec(g.unwrap());
        assert!(g.iter().all(|v| v.is_finite()), "{name}: {g:?}");
    }
    // The dead component's location gets no gradient.
    assert_eq!(to_vec(locs.grad(&grads).unwrap())[2], 0.0);
}

#[test]
fn validation_errors_name_parameter_and_value() {
    let d = cpu();
    // Probabilities not summing to 1: the sum is reported.
    match MixtureGaussian::from_probs(vec![0.0, 1.0], vec![1.0, 1.0], vec![0.5, 0.6]).unwrap_err() {
        DistError::InvalidParameter {
            dist, param, value, ..
        } => {
            assert_eq!((dist, param), ("MixtureGaussian", "probs"));
            assert!((value - 1.1).abs() < 1e-12, "{value}");
        }
        e => panic!("unexpected {e:?}"),
    }
    // Within 1e-6 is accepted.
    assert!(MixtureGaussian::from_probs(vec![0.0, 1.0], 1.0, vec![0.5, 0.5 + 5e-7]).is_ok());
    // Negative probability.
    let e = MixtureGaussian::from_probs(vec![0.0, 1.0], 1.0, vec![1.2, -0.2]).unwrap_err();
    assert!(
        matches!(e, DistError::InvalidParameter { param: "probs", value, .. } if value == -0.2),
        "{e:?}"
    );
    // Negative scale.
    let e = MixtureGaussian::new(vec![0.0, 1.0], vec![1.0, -2.0], vec![0.0, 0.0]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "MixtureGaussian: parameter `scales` = -2 is invalid: must be positive and finite"
    );
    // Non-finite loc and logit.
    let e = MixtureGaussian::new(vec![0.0, f64::NEG_INFINITY], 1.0, vec![0.0, 0.0]).unwrap_err();
    assert!(
        matches!(e, DistError::InvalidParameter { param: "locs", value, .. } if value == f64::NEG_INFINITY)
    );
    let e = MixtureGaussian::new(vec![0.0, 1.0], 1.0, vec![0.0, f64::NAN]).unwrap_err();
    assert!(
        matches!(e, DistError::InvalidParameter { param: "logits", value, .. } if value.is_nan())
    );
    // Mismatched K (constants, and tensors).
    let e = MixtureGaussian::new(vec![0.0, 1.0, 2.0], vec![1.0, 1.0], vec![0.0, 0.0]).unwrap_err();
    match &e {
        DistError::Shape { dist, detail } => {
            assert_eq!(*dist, "MixtureGaussian");
            assert!(
                detail.contains("`locs` [1, 3]") && detail.contains("`scales` [1, 2]"),
                "{detail}"
            );
        }
        e => panic!("unexpected {e:?}"),
    }
    let e = MixtureGaussian::new(
        t2(&[0.0; 6], 2, 3, &d),
        t2(&[1.0; 6], 2, 3, &d),
        t2(&[0.0; 8], 2, 4, &d),
    )
    .unwrap_err();
    assert!(
        matches!(&e, DistError::Shape { detail, .. } if detail.contains("`logits` [2, 4]")),
        "{e:?}"
    );
    // Mismatched rows.
    let e =
        MixtureGaussian::new(t2(&[0.0; 6], 2, 3, &d), t2(&[1.0; 9], 3, 3, &d), 0.0).unwrap_err();
    assert!(
        matches!(&e, DistError::Shape { detail, .. } if detail.contains("rows")),
        "{e:?}"
    );
    // Empty vector.
    assert!(matches!(
        MixtureGaussian::new(Vec::<f64>::new(), 1.0, 0.0),
        Err(DistError::Shape { .. })
    ));
    // Value shape checks.
    let mix = MixtureGaussian::new(t2(&[0.0; 6], 2, 3, &d), 1.0, 0.0).unwrap();
    assert!(mix.check_value([2, 1]).is_ok());
    assert!(mix.check_value([1, 1]).is_ok());
    assert!(mix.check_value([2, 2]).is_err());
    assert!(mix.check_value([4, 1]).is_err());
}

#[test]
fn from_args_forms() {
    let d = cpu();
    let net_out = (
        t2(&[0.0, 1.0], 1, 2, &d),
        t2(&[1.0, 2.0], 1, 2, &d),
        t2(&[0.0, 0.5], 1, 2, &d),
    );
    let a = <MixtureGaussian as FromArgs<_>>::from_args((net_out.clone(),)).unwrap();
    let b = <MixtureGaussian as FromArgs<_>>::from_args(net_out.clone()).unwrap();
    let c =
        <MixtureGaussian as FromArgs<_>>::from_args((vec![0.0, 1.0], [1.0, 2.0], vec![0.0, 0.5]))
            .unwrap();
    let p = [
        1.0 / (1.0 + 0.5f64.exp()),
        0.5f64.exp() / (1.0 + 0.5f64.exp()),
    ];
    let e = <MixtureGaussian as FromArgs<_>>::from_args((vec![0.0, 1.0], vec![1.0, 2.0], Probs(p)))
        .unwrap();
    let f = <MixtureGaussian as FromArgs<_>>::from_args(((
        net_out.0.clone(),
        net_out.1.clone(),
        Probs(t2(&p, 1, 2, &d)),
    ),))
    .unwrap();
    assert!(e.probs().is_some() && e.logits().is_none());
    let y = t2(&[-0.5, 0.3, 2.0], 3, 1, &d);
    let reference = to_vec(a.log_prob(y.clone()));
    for (name, m) in [
        ("tuple", &b),
        ("constants", &c),
        ("probs", &e),
        ("nn probs", &f),
    ] {
        assert_close(&to_vec(m.log_prob(y.clone())), &reference, 1e-5, 1e-5, name);
    }
    let bad = <MixtureGaussian as FromArgs<_>>::from_args((vec![0.0], vec![1.0], Probs(vec![0.9])));
    assert!(bad.is_err());
    assert!(!a.has_rsample());
}

#[test]
fn mixture_moments_match_closed_form() {
    let d = cpu();
    // Weights 0.25 / 0.75 (logits ln 1, ln 3), locs -1 / 2, scales 0.5 / 1.
    let m = MixtureGaussian::new(vec![-1.0, 2.0], vec![0.5, 1.0], vec![0.0, 3.0f64.ln()]).unwrap();
    let mean = -0.25 + 0.75 * 2.0;
    let second = 0.25 * (0.25 + 1.0) + 0.75 * (1.0 + 4.0);
    assert_close(&to_vec(m.mean(&d)), &[mean], 1e-6, 0.0, "mean");
    assert_close(
        &to_vec(m.variance(&d)),
        &[second - mean * mean],
        1e-6,
        0.0,
        "variance",
    );
}

/// A network's output left unevaluated, from outside the crate: `params` are its evaluated
/// parameters, `fused` what its fused log density returns (a marker value per row, or none),
/// and the counters how often the mixture asked.
#[derive(Debug)]
struct Source {
    params: [Vec<f64>; 3],
    rows: usize,
    k: usize,
    fused: Option<f64>,
    parts_calls: std::sync::atomic::AtomicUsize,
    fused_calls: std::sync::atomic::AtomicUsize,
}

impl inferrs_distributions::MixtureSource for Source {
    fn rows(&self) -> usize {
        self.rows
    }
    fn components(&self) -> usize {
        self.k
    }
    fn parts(&self) -> inferrs_distributions::MixtureParams {
        self.parts_calls
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let d = cpu();
        let [l, s, w] = &self.params;
        inferrs_distributions::MixtureParams::new(
            t2(l, self.rows, self.k, &d),
            t2(s, self.rows, self.k, &d),
            t2(w, self.rows, self.k, &d),
        )
    }
    fn fused_log_prob(&self, y: &burn::tensor::Tensor<2>) -> Option<burn::tensor::Tensor<1>> {
        self.fused_calls
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.fused
            .map(|v| burn::tensor::Tensor::full([y.dims()[0]], v, &y.device()))
    }
}

#[test]
fn a_mixture_source_from_another_crate_is_scored_fused_or_evaluated_once() {
    use std::sync::Arc;
    use std::sync::atomic::Ordering::SeqCst;
    let d = cpu();
    let (rows, k) = (5, 3);
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut draw = |lo: f64, hi: f64, n: usize| {
        round32((0..n).map(|_| rng.random_range(lo..hi)).collect::<Vec<_>>())
    };
    let params = [
        draw(-2.0, 2.0, rows * k),
        draw(0.5, 1.5, rows * k),
        draw(-1.0, 1.0, rows * k),
    ];
    let ys = draw(-3.0, 3.0, rows);
    let source = |fused| {
        Arc::new(Source {
            params: params.clone(),
            rows,
            k,
            fused,
            parts_calls: 0.into(),
            fused_calls: 0.into(),
        })
    };
    // A fused log density is used as it is, and the parameters are never evaluated.
    let s = source(Some(-7.5));
    let mix =
        MixtureGaussian::from_params(inferrs_distributions::MixtureParams::from_source(s.clone()))
            .unwrap();
    assert_eq!((mix.batch_rows(), mix.num_components()), (rows, k));
    assert_eq!(to_vec(mix.log_prob(t2(&ys, rows, 1, &d))), vec![-7.5; rows]);
    assert_eq!(
        (s.fused_calls.load(SeqCst), s.parts_calls.load(SeqCst)),
        (1, 0)
    );
    // Without one, the parameters are evaluated once, however often they are used, and the
    // density is the mixture of those tensors.
    let s = source(None);
    let mix =
        MixtureGaussian::from_params(inferrs_distributions::MixtureParams::from_source(s.clone()))
            .unwrap();
    let lp = to_vec(mix.log_prob(t2(&ys, rows, 1, &d)));
    let _ = to_vec(mix.log_prob(t2(&ys, rows, 1, &d)));
    let _ = mix.mean(&d);
    assert_eq!(s.parts_calls.load(SeqCst), 1);
    let [l, sc, w] = &params;
    let direct =
        MixtureGaussian::new(t2(l, rows, k, &d), t2(sc, rows, k, &d), t2(w, rows, k, &d)).unwrap();
    assert_eq!(lp, to_vec(direct.log_prob(t2(&ys, rows, 1, &d))));
}
