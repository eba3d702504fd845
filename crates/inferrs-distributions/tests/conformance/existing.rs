//! Normal and MixtureGaussian (their detailed tests live in ../normal.rs and ../mixture.rs).

use crate::common::{mixture_logpdf_stable, normal_logpdf};
use crate::harness::*;
use burn::tensor::Tensor;
use inferrs_distributions::{Distribution, MixtureGaussian, Normal};

/// `log_prob` of Normal: a few f32 roundings of terms of order 1-10.
const LP: Tol = Tol::new(1e-6, 1e-6);
/// `log_prob` of MixtureGaussian: a log-sum-exp over components adds a few roundings more.
const MIXTURE_LP: Tol = Tol::new(1e-5, 1e-5);

#[test]
fn normal_conforms() {
    let d = cpu();
    let n = Normal::new(0.5, 2.0).unwrap();
    let ys = [-3.0, 0.0, 0.5, 4.0];
    let exp: Vec<f64> = ys.iter().map(|&y| normal_logpdf(y, 0.5, 2.0)).collect();
    check_log_prob(&n, &ys, [4, 1], &exp, LP, "Normal scalar");
    let per_row = Normal::new(
        t2(&[0.0, 1.0, -2.0], 3, 1, &d),
        t2(&[1.0, 0.5, 3.0], 3, 1, &d),
    )
    .unwrap();
    let exp = [
        normal_logpdf(0.3, 0.0, 1.0),
        normal_logpdf(0.3, 1.0, 0.5),
        normal_logpdf(0.3, -2.0, 3.0),
    ];
    check_log_prob(&per_row, &[0.3], [1, 1], &exp, LP, "Normal per row");
    check_moments(&n, 20_000, 1, "Normal");
    check_moments_batched(&per_row, 4_000, 2, "Normal per row");
    let make = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(Normal::new(p[0].clone(), p[1].clone()).unwrap())
    };
    check_rsample_grad(
        &make,
        &[(vec![0.3, -1.0], [2, 1]), (vec![1.5, 0.7], [2, 1])],
        2,
        3,
        FD_SAMPLE,
        "Normal",
    );
    check_elementwise_log_prob_grad(
        &make,
        &[vec![0.3, -1.0], vec![1.5, 0.7]],
        &[0.1, 0.9],
        [2, 1],
        &|p, y| normal_logpdf(y, p[0], p[1]),
        FD_LOG_PROB,
        "Normal",
    );
    assert!(Normal::new(0.0, -1.0).is_err());
}

#[test]
fn mixture_conforms() {
    let (locs, scales, logits) = (
        vec![-2.0, 1.0, 4.0],
        vec![0.5, 1.0, 2.0],
        vec![0.2, -0.4, 1.0],
    );
    let m = MixtureGaussian::new(locs.clone(), scales.clone(), logits.clone()).unwrap();
    let ys = [-2.5, 0.0, 3.0];
    let exp: Vec<f64> = ys
        .iter()
        .map(|&y| mixture_logpdf_stable(y, &locs, &scales, &logits))
        .collect();
    check_log_prob(&m, &ys, [3, 1], &exp, MIXTURE_LP, "MixtureGaussian");
    check_moments(&m, 20_000, 4, "MixtureGaussian");
    assert!(MixtureGaussian::new(vec![0.0], vec![0.0], vec![0.0]).is_err());
}
