//! Normal and MixtureGaussian (their detailed tests live in ../normal.rs and ../mixture.rs).

use crate::common::{mixture_logpdf_stable, normal_logpdf};
use crate::harness::*;
use burn::tensor::Tensor;
use inferrs_distributions::{Distribution, MixtureGaussian, Normal};

#[test]
fn normal_conforms() {
    let d = cpu();
    let n = Normal::new(0.5, 2.0).unwrap();
    let ys = [-3.0, 0.0, 0.5, 4.0];
    let exp: Vec<f64> = ys.iter().map(|&y| normal_logpdf(y, 0.5, 2.0)).collect();
    check_log_prob(&n, &ys, [4, 1], &exp, 1e-6, 1e-6, "Normal scalar");
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
    check_log_prob(&per_row, &[0.3], [1, 1], &exp, 1e-6, 1e-6, "Normal per row");
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
        1e-2,
        1e-2,
        1e-3,
        "Normal",
    );
    check_log_prob_grad(
        &make,
        &[(vec![0.3, -1.0], [2, 1]), (vec![1.5, 0.7], [2, 1])],
        &[0.1, 0.9],
        [2, 1],
        &|p| normal_logpdf(0.1, p[0][0], p[1][0]) + normal_logpdf(0.9, p[0][1], p[1][1]),
        1e-5,
        1e-3,
        1e-4,
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
    check_log_prob(&m, &ys, [3, 1], &exp, 1e-5, 1e-5, "MixtureGaussian");
    check_moments(&m, 20_000, 4, "MixtureGaussian");
    assert!(MixtureGaussian::new(vec![0.0], vec![0.0], vec![0.0]).is_err());
}
