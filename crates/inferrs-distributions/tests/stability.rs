//! Numerical stability of the mixture log density and of `logsumexp`: underflowing weights and
//! components far from the value give finite values equal to the stable f64 reference, and
//! gradients without NaN.
mod common;

use burn::tensor::Tensor;
use common::*;
use inferrs_distributions::{Distribution, MixtureGaussian, logsumexp};

/// log densities reach ~1e6 in magnitude here: f32 has ~7 significant digits.
const REL: f64 = 2e-6;
const ABS: f64 = 1e-3;

fn check_case(locs: &[f64], scales: &[f64], logits: &[f64], ys: &[f64]) {
    let d = ad();
    let (rows, k) = (ys.len(), locs.len());
    let rep = |v: &[f64]| -> Vec<f64> { v.iter().cycle().take(rows * k).cloned().collect() };
    let tl = t2(&rep(locs), rows, k, &d).require_grad();
    let ts = t2(&rep(scales), rows, k, &d).require_grad();
    let tw = t2(&rep(logits), rows, k, &d).require_grad();
    let ty = t2(ys, rows, 1, &d).require_grad();
    let mix = MixtureGaussian::new(tl.clone(), ts.clone(), tw.clone()).unwrap();
    let lp = mix.log_prob(ty.clone());
    let values = to_vec(lp.clone());
    let expected: Vec<f64> = ys
        .iter()
        .map(|&y| mixture_logpdf_stable(y, locs, scales, logits))
        .collect();
    assert!(values.iter().all(|v| v.is_finite()), "values {values:?}");
    assert_close(&values, &expected, REL, ABS, "stable log_prob");
    let grads = lp.sum().backward();
    for (name, t) in [
        ("locs", &tl),
        ("scales", &ts),
        ("logits", &tw),
        ("value", &ty),
    ] {
        let g = to_vec(t.grad(&grads).unwrap());
        assert!(g.iter().all(|v| v.is_finite()), "{name} gradient {g:?}");
    }
}

#[test]
fn underflowing_weights() {
    // exp(-1e4) underflows to 0 in f32 and f64; the log weights stay exact.
    check_case(
        &[0.0, 1.0, -1.0],
        &[1.0, 1.0, 1.0],
        &[0.0, -1e4, -5e3],
        &[-0.5, 0.0, 2.0],
    );
    // The underflowing component is the only one near the value: the result is dominated by
    // it, i.e. log_prob ~ -1e4 - 0.5 ln(2 pi), not -inf.
    check_case(&[-50.0, 0.0], &[1.0, 1.0], &[0.0, -1e4], &[0.0]);
}

#[test]
fn all_components_far_away() {
    // |y - loc| / scale ~ 1e3 for every component: each density underflows (exp(-5e5)).
    check_case(
        &[0.0, 1.0, -2.0],
        &[1.0, 0.5, 2.0],
        &[0.3, -0.2, 0.0],
        &[1000.0, -1500.0, 3000.0],
    );
    // Together with underflowing weights.
    check_case(&[0.0, 1.0], &[1.0, 1.0], &[0.0, -1e4], &[1e3, -1e3]);
}

#[test]
fn far_away_gradient_matches_closest_component() {
    // Far from every component, the mixture behaves like its dominant term: d/dy ~ -(y - loc)/s^2
    // of the component with the largest log term. Here component 1 (loc 1, scale 1) dominates
    // for y = 1000 (log term -0.5 * 999^2 vs -0.5 * 1000^2 for loc 0).
    let d = ad();
    let y = t2(&[1000.0], 1, 1, &d).require_grad();
    let mix = MixtureGaussian::new(vec![0.0, 1.0], vec![1.0, 1.0], vec![0.0, 0.0]).unwrap();
    let grads = mix.log_prob(y.clone()).sum().backward();
    let g = to_vec(y.grad(&grads).unwrap());
    assert_close(&g, &[-999.0], 1e-5, 1e-3, "dlogp/dy far away");
}

#[test]
fn logsumexp_values_and_infinite_rows() {
    let d = cpu();
    let rows = [
        [1.0, 2.0, 3.0],
        [1e4, 1e4 - 1.0, -1e4],
        [-1e4, -1e4 - 2.0, -1e4 - 40.0],
        [0.0, f64::NEG_INFINITY, 0.0],
        [f64::NEG_INFINITY; 3],
    ];
    let flat: Vec<f64> = rows.iter().flatten().cloned().collect();
    let out = logsumexp(t2(&flat, 5, 3, &d), 1);
    assert_eq!(out.dims(), [5, 1]);
    let out = to_vec(out);
    for (i, r) in rows.iter().enumerate().take(4) {
        let m = r.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let expected = m + r.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
        assert!(
            (out[i] - expected).abs() <= 1e-6 * expected.abs().max(1.0),
            "row {i}: {}",
            out[i]
        );
    }
    assert_eq!(out[4], f64::NEG_INFINITY);

    // Along dim 0 of a 1-d tensor, and the gradient is the softmax.
    let ad = ad();
    let x = Tensor::<1>::from_floats([0.0, 1.0, 2.0], &ad).require_grad();
    let grads = logsumexp(x.clone(), 0).sum().backward();
    let g = to_vec(x.grad(&grads).unwrap());
    let z: f64 = (0..3).map(|i| (i as f64).exp()).sum();
    let expected: Vec<f64> = (0..3).map(|i| (i as f64).exp() / z).collect();
    assert_close(&g, &expected, 1e-5, 1e-6, "softmax gradient");
}
