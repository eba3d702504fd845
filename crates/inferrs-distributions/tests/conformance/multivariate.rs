//! MultivariateNormalDiag, MultivariateNormalTriL and Deterministic.
//!
//! References: statrs' `Normal` (per coordinate) for the diagonal family and statrs'
//! `MultivariateNormal` (which inverts the covariance `L L^T`, formed here in f64, by its own
//! Cholesky decomposition) for the triangular one, evaluated at the f32-rounded inputs.
//!
//! Tolerances for `log_prob` (f32): the Mahalanobis term is a sum of `d` squares of solved
//! coordinates of magnitude up to about 10 here, each carrying a relative error of a few f32
//! epsilons from the substitution, so `abs = 5e-5, rel = 1e-6` (as for the gamma family;
//! the largest error measured is 2.3e-6).

use crate::harness::*;
use burn::tensor::Tensor;
use inferrs_distributions::{
    Deterministic, Distribution, FromArgs, MultivariateNormalDiag, MultivariateNormalTriL, Param,
    Rng, ScaleTril, Support,
};
use rand::SeedableRng;
use statrs::distribution::Continuous;
use statrs::statistics::MeanN;

const LP: Tol = Tol::new(1e-6, 5e-5);
/// The point mass: `log_prob` is exactly 0 or `-inf`.
const EXACT: Tol = Tol::new(0.0, 0.0);
/// Its sample is `loc` itself, so the gradient is the weight exactly; the central difference
/// carries only the f32 rounding of the objective.
const FD_DETERMINISTIC: Fd = Fd::new(1e-2, 1e-4, 1e-4);

/// The Normal log density in f64 (statrs) at exactly the given inputs.
fn normal_ref64(x: f64, loc: f64, scale: f64) -> f64 {
    statrs::distribution::Normal::new(loc, scale)
        .unwrap()
        .ln_pdf(x)
}

/// [`normal_ref64`] at the f32-rounded inputs.
fn normal_ref(x: f64, loc: f64, scale: f64) -> f64 {
    normal_ref64(r32(x), r32(loc), r32(scale))
}

/// `ln N(x; loc, L L^T)` by statrs at the f32-rounded inputs, with the lower triangle of `l`
/// (row-major `d x d`).
fn mvn_tril_ref(x: &[f64], loc: &[f64], l: &[f64]) -> f64 {
    let r = |v: &[f64]| v.iter().map(|&a| r32(a)).collect::<Vec<_>>();
    mvn_tril_ref64(&r(x), &r(loc), &r(l))
}

/// `ln N(x; loc, L L^T)` by statrs at exactly the given inputs.
fn mvn_tril_ref64(x: &[f64], loc: &[f64], l: &[f64]) -> f64 {
    let d = x.len();
    let lower = |i: usize, j: usize| if j <= i { l[i * d + j] } else { 0.0 };
    let cov: Vec<f64> = (0..d * d)
        .map(|idx| {
            let (i, j) = (idx / d, idx % d);
            (0..d).map(|k| lower(i, k) * lower(j, k)).sum()
        })
        .collect();
    let mvn = statrs::distribution::MultivariateNormal::new(loc.to_vec(), cov).unwrap();
    let mut v = mvn.mean().unwrap();
    for (k, &xk) in x.iter().enumerate() {
        v[k] = xk;
    }
    mvn.ln_pdf(&v)
}

/// A well-conditioned 3 x 3 lower-triangular scale (row-major).
const L3: [f64; 9] = [
    1.5, 0.0, 0.0, //
    0.4, 0.8, 0.0, //
    -0.3, 0.6, 1.2,
];

fn l3_rows() -> Vec<Vec<f64>> {
    L3.chunks(3).map(|r| r.to_vec()).collect()
}

// -------------------------------------------------------------------------------------------
// MultivariateNormalDiag

#[test]
fn mvn_diag_log_prob() {
    let d = cpu();
    // (a) scalar parameters (d = 1), several values.
    let m = MultivariateNormalDiag::new(0.5, 2.0).unwrap();
    let xs = [-3.0, 0.0, 0.5, 4.0, 25.0];
    let exp: Vec<f64> = xs.iter().map(|&x| normal_ref(x, 0.5, 2.0)).collect();
    check_log_prob(&m, &xs, [5, 1], &exp, LP, "MVNDiag scalar");
    // (b) one parameter row of d = 3 broadcast over 4 value rows: constants and tensors.
    let (loc, scale) = ([0.5, -1.0, 2.0], [1.0, 0.5, 3.0]);
    let xs = [
        0.0, 0.0, 0.0, //
        1.5, -1.2, 7.0, //
        -2.0, 0.3, 2.0, //
        0.5, -1.0, -4.0,
    ];
    let exp: Vec<f64> = (0..4)
        .map(|r| {
            (0..3)
                .map(|c| normal_ref(xs[r * 3 + c], loc[c], scale[c]))
                .sum()
        })
        .collect();
    let constant = MultivariateNormalDiag::new(loc, scale).unwrap();
    check_log_prob(&constant, &xs, [4, 3], &exp, LP, "MVNDiag row const");
    let tensor = MultivariateNormalDiag::new(t2(&loc, 1, 3, &d), t2(&scale, 1, 3, &d)).unwrap();
    check_log_prob(&tensor, &xs, [4, 3], &exp, LP, "MVNDiag row tensor");
    // (c) tensor parameters, one row per value row.
    let loc: Vec<f64> = (0..12).map(|i| (i as f64 - 5.0) * 0.3).collect();
    let scale: Vec<f64> = (0..12).map(|i| 0.2 + 0.25 * i as f64).collect();
    let m = MultivariateNormalDiag::new(t2(&loc, 4, 3, &d), t2(&scale, 4, 3, &d)).unwrap();
    let exp: Vec<f64> = (0..4)
        .map(|r| {
            (0..3)
                .map(|c| normal_ref(xs[r * 3 + c], loc[r * 3 + c], scale[r * 3 + c]))
                .sum()
        })
        .collect();
    check_log_prob(&m, &xs, [4, 3], &exp, LP, "MVNDiag tensor");
}

#[test]
fn mvn_diag_moments_and_gradients() {
    let d = cpu();
    let m = MultivariateNormalDiag::new([0.5, -1.0, 2.0], [1.0, 0.5, 3.0]).unwrap();
    assert_eq!(m.support(), Support::Real);
    assert!(m.has_rsample());
    assert_eq!(m.event_size(), 3);
    check_moments(&m, 20_000, 61, "MVNDiag");
    let batched = MultivariateNormalDiag::new(
        t2(&[0.0, 1.0, -2.0, 4.0], 2, 2, &d),
        t2(&[1.0, 0.5, 3.0, 0.1], 2, 2, &d),
    )
    .unwrap();
    check_moments_batched(&batched, 4_000, 62, "MVNDiag tensor");
    check_reproducible(&m, 20, "MVNDiag");
    let make = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(MultivariateNormalDiag::new(p[0].clone(), p[1].clone()).unwrap())
    };
    let loc = vec![0.3, -1.0, 0.25, 2.0, 0.0, -0.5];
    let scale = vec![1.5, 0.7, 1.0, 0.4, 2.5, 1.25];
    check_rsample_grad(
        &make,
        &[(loc.clone(), [2, 3]), (scale.clone(), [2, 3])],
        2,
        63,
        FD_SAMPLE,
        "MVNDiag",
    );
    let xs = [0.1, 0.9, -0.5, 1.5, 0.25, -1.0];
    let reference = |p: &[f64], x| normal_ref64(x, p[0], p[1]);
    check_elementwise_log_prob_grad(
        &make,
        &[loc, scale],
        &xs,
        [2, 3],
        &reference,
        FD_LOG_PROB,
        "MVNDiag",
    );
}

#[test]
fn mvn_diag_constructor_and_from_args() {
    let d = cpu();
    assert_invalid(
        MultivariateNormalDiag::new(0.0, [1.0, 0.0]),
        "MultivariateNormalDiag",
        "scale_diag",
        0.0,
    );
    assert_invalid(
        MultivariateNormalDiag::new([0.0, f64::NAN], 1.0),
        "MultivariateNormalDiag",
        "loc",
        f64::NAN,
    );
    assert_shape_error(
        MultivariateNormalDiag::new([0.0, 1.0], [1.0, 2.0, 3.0]),
        "MVNDiag columns",
    );
    let m =
        <MultivariateNormalDiag as FromArgs<_>>::from_args((t2(&[0.0, 1.0], 1, 2, &d), [1.0, 2.0]))
            .unwrap();
    assert!(matches!(m.loc(), Param::Tensor(_)));
    assert!(matches!(m.scale_diag(), Param::Vector(v) if v == &[1.0, 2.0]));
    assert!(m.check_value([4, 2]).is_ok());
    assert!(
        m.check_value([4, 1]).is_err(),
        "a value must have d columns"
    );
    assert!(<MultivariateNormalDiag as FromArgs<_>>::from_args(((0.0, 1.0),)).is_ok());
}

// -------------------------------------------------------------------------------------------
// MultivariateNormalTriL

#[test]
fn mvn_tril_log_prob() {
    let d = cpu();
    let xs = [
        0.0, 0.0, 0.0, //
        1.0, -2.0, 0.5, //
        3.0, 1.0, -4.0, //
        -1.5, 0.25, 2.0,
    ];
    // (a) scalar loc, constant scale (the host-prepared inverse).
    let m = MultivariateNormalTriL::new(0.5, l3_rows()).unwrap();
    let exp: Vec<f64> = xs
        .chunks(3)
        .map(|x| mvn_tril_ref(x, &[0.5; 3], &L3))
        .collect();
    check_log_prob(&m, &xs, [4, 3], &exp, LP, "MVNTriL scalar loc");
    // (b) one loc row broadcast over the value rows; constant scale given as an array, and
    // a tensor scale (the forward substitution with tensor ops).
    let loc = [0.5, -1.0, 2.0];
    let exp: Vec<f64> = xs.chunks(3).map(|x| mvn_tril_ref(x, &loc, &L3)).collect();
    let arrays: [[f64; 3]; 3] = [
        [L3[0], L3[1], L3[2]],
        [L3[3], L3[4], L3[5]],
        [L3[6], L3[7], L3[8]],
    ];
    let constant = MultivariateNormalTriL::new(loc, arrays).unwrap();
    check_log_prob(&constant, &xs, [4, 3], &exp, LP, "MVNTriL row const");
    let tensor = MultivariateNormalTriL::new(t2(&loc, 1, 3, &d), t2(&L3, 3, 3, &d)).unwrap();
    check_log_prob(&tensor, &xs, [4, 3], &exp, LP, "MVNTriL row tensor");
    // The tensor's upper triangle is ignored.
    let mut junk = L3;
    junk[1] = 7.0;
    junk[2] = -3.0;
    junk[5] = 0.5;
    let upper = MultivariateNormalTriL::new(t2(&loc, 1, 3, &d), t2(&junk, 3, 3, &d)).unwrap();
    check_log_prob(&upper, &xs, [4, 3], &exp, LP, "MVNTriL upper ignored");
    // (c) one loc row per value row, tensor scale.
    let locs: Vec<f64> = (0..12).map(|i| (i as f64 - 6.0) * 0.4).collect();
    let m = MultivariateNormalTriL::new(t2(&locs, 4, 3, &d), t2(&L3, 3, 3, &d)).unwrap();
    let exp: Vec<f64> = (0..4)
        .map(|r| mvn_tril_ref(&xs[r * 3..r * 3 + 3], &locs[r * 3..r * 3 + 3], &L3))
        .collect();
    check_log_prob(&m, &xs, [4, 3], &exp, LP, "MVNTriL tensor");
    let m = MultivariateNormalTriL::new(t2(&locs, 4, 3, &d), l3_rows()).unwrap();
    check_log_prob(&m, &xs, [4, 3], &exp, LP, "MVNTriL tensor loc");
    // d = 5, a denser factor, both paths.
    let l5: Vec<f64> = (0..25)
        .map(|idx| {
            let (i, j) = (idx / 5, idx % 5);
            match j.cmp(&i) {
                std::cmp::Ordering::Greater => 0.0,
                std::cmp::Ordering::Equal => 0.5 + 0.3 * i as f64,
                std::cmp::Ordering::Less => ((i * 7 + j * 3) % 5) as f64 * 0.2 - 0.4,
            }
        })
        .collect();
    let x5: Vec<f64> = (0..10).map(|i| ((i * 5) % 7) as f64 * 0.5 - 1.5).collect();
    let loc5 = [0.1, -0.2, 0.3, -0.4, 0.5];
    let exp: Vec<f64> = x5.chunks(5).map(|x| mvn_tril_ref(x, &loc5, &l5)).collect();
    let rows5: Vec<Vec<f64>> = l5.chunks(5).map(|r| r.to_vec()).collect();
    let host = MultivariateNormalTriL::new(loc5, rows5).unwrap();
    check_log_prob(&host, &x5, [2, 5], &exp, LP, "MVNTriL d=5 const");
    let tensor = MultivariateNormalTriL::new(loc5, t2(&l5, 5, 5, &d)).unwrap();
    check_log_prob(&tensor, &x5, [2, 5], &exp, LP, "MVNTriL d=5 tensor");
}

#[test]
fn mvn_tril_moments_and_covariance() {
    let d = cpu();
    let loc = [0.5, -1.0, 2.0];
    let m = MultivariateNormalTriL::new(loc, l3_rows()).unwrap();
    assert_eq!(m.support(), Support::Real);
    assert!(m.has_rsample());
    // The stated variance is the diagonal of L L^T.
    let var = to_vec(m.variance(&d));
    assert_close(&var, &[2.25, 0.8, 1.89], 1e-6, 0.0, "MVNTriL variance");
    let n = 20_000;
    let x = check_moments(&m, n, 71, "MVNTriL");
    // Off-diagonal covariances against L L^T, within five standard errors
    // (Var(x_i x_j) = S_ii S_jj + S_ij^2 for a Gaussian).
    let cov = |i: usize, j: usize| (0..3).map(|k| L3[i * 3 + k] * L3[j * 3 + k]).sum::<f64>();
    let mean = |j: usize| (0..n).map(|r| x[r * 3 + j]).sum::<f64>() / n as f64;
    for (i, j) in [(1, 0), (2, 0), (2, 1)] {
        let (mi, mj) = (mean(i), mean(j));
        let s = (0..n)
            .map(|r| (x[r * 3 + i] - mi) * (x[r * 3 + j] - mj))
            .sum::<f64>()
            / (n as f64 - 1.0);
        let se = ((cov(i, i) * cov(j, j) + cov(i, j).powi(2)) / n as f64).sqrt();
        assert!(
            (s - cov(i, j)).abs() <= Z_MAX * se,
            "MVNTriL cov[{i},{j}]: sample {s} vs {} (se {se})",
            cov(i, j)
        );
    }
    let tensor = MultivariateNormalTriL::new(
        t2(&[0.0, 1.0, -2.0, 4.0, 0.5, 0.0], 2, 3, &d),
        t2(&L3, 3, 3, &d),
    )
    .unwrap();
    check_moments_batched(&tensor, 4_000, 72, "MVNTriL tensor");
    check_reproducible(&m, 20, "MVNTriL");
}

#[test]
fn mvn_tril_gradients() {
    let make = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(MultivariateNormalTriL::new(p[0].clone(), p[1].clone()).unwrap())
    };
    let loc = vec![0.3, -1.0, 0.25, 2.0, 0.0, -0.5];
    // Nonzero entries above the diagonal: their gradient must be zero (ignored).
    let l = vec![
        1.25, 0.5, -0.25, //
        0.4, 0.75, 0.3, //
        -0.3, 0.6, 1.5,
    ];
    check_rsample_grad(
        &make,
        &[(loc.clone(), [2, 3]), (l.clone(), [3, 3])],
        2,
        73,
        FD_SAMPLE,
        "MVNTriL",
    );
    let xs = [0.1, 0.9, -0.5, 1.5, 0.25, -1.0];
    check_log_prob_grad(
        &make,
        &[(loc, [2, 3]), (l, [3, 3])],
        &xs,
        [2, 3],
        &|p| {
            (0..2)
                .map(|r| mvn_tril_ref64(&xs[r * 3..r * 3 + 3], &p[0][r * 3..r * 3 + 3], &p[1]))
                .sum()
        },
        FD_LOG_PROB,
        "MVNTriL",
    );
}

#[test]
fn mvn_tril_constructor_and_from_args() {
    let d = cpu();
    let name = "MultivariateNormalTriL";
    assert_invalid(
        MultivariateNormalTriL::new(0.0, vec![vec![1.0, 0.5], vec![0.2, 1.0]]),
        name,
        "scale_tril",
        0.5,
    );
    assert_invalid(
        MultivariateNormalTriL::new(0.0, [[1.0, 0.0], [0.2, -1.0]]),
        name,
        "scale_tril",
        -1.0,
    );
    assert_invalid(
        MultivariateNormalTriL::new(0.0, [[1.0, 0.0], [f64::NAN, 1.0]]),
        name,
        "scale_tril",
        f64::NAN,
    );
    assert_invalid(
        MultivariateNormalTriL::new([0.0, f64::INFINITY], [[1.0, 0.0], [0.0, 1.0]]),
        name,
        "loc",
        f64::INFINITY,
    );
    assert_shape_error(
        MultivariateNormalTriL::new(0.0, vec![vec![1.0, 0.0], vec![0.2]]),
        "ragged",
    );
    assert_shape_error(
        MultivariateNormalTriL::new(0.0, Vec::<Vec<f64>>::new()),
        "empty",
    );
    assert_shape_error(
        MultivariateNormalTriL::new(0.0, t2(&[1.0; 6], 2, 3, &d)),
        "non-square tensor",
    );
    assert_shape_error(
        MultivariateNormalTriL::new([0.0, 1.0], l3_rows()),
        "loc columns",
    );
    let m = <MultivariateNormalTriL as FromArgs<_>>::from_args((
        t2(&[0.0, 1.0, 2.0], 1, 3, &d),
        t2(&L3, 3, 3, &d),
    ))
    .unwrap();
    assert!(matches!(m.scale_tril(), ScaleTril::Tensor(_)));
    assert_eq!(m.scale_tril().dim(), 3);
    assert!(m.check_value([2, 3]).is_ok());
    assert!(m.check_value([2, 1]).is_err());
    let m = <MultivariateNormalTriL as FromArgs<_>>::from_args(((0.0, l3_rows()),)).unwrap();
    assert_eq!(m.event_size(), 3);
    assert!(matches!(m.loc(), Param::Scalar(_)));
}

// -------------------------------------------------------------------------------------------
// Deterministic

#[test]
fn deterministic_log_prob() {
    let d = cpu();
    let ninf = f64::NEG_INFINITY;
    // (a) a scalar point.
    let det = Deterministic::new(1.5).unwrap();
    let xs = [1.5, 1.5000001, -1.5, 0.0];
    check_log_prob(
        &det,
        &xs,
        [4, 1],
        &[0.0, ninf, ninf, ninf],
        EXACT,
        "Det scalar",
    );
    // (b) one row of 3 broadcast over value rows: every column must match.
    let det = Deterministic::new([1.0, -2.25, 0.5]).unwrap();
    let xs = [
        1.0, -2.25, 0.5, //
        1.0, -2.25, 0.25, //
        0.0, 0.0, 0.0,
    ];
    check_log_prob(&det, &xs, [3, 3], &[0.0, ninf, ninf], EXACT, "Det row");
    // (c) a tensor point per row.
    let locs = [0.5, 1.0, -3.0, 2.0];
    let det = Deterministic::new(t2(&locs, 2, 2, &d)).unwrap();
    check_log_prob(
        &det,
        &[0.5, 1.0, -3.0, 2.5],
        [2, 2],
        &[0.0, ninf],
        EXACT,
        "Det tensor",
    );
    check_log_prob(
        &det,
        &[0.5, 1.0],
        [1, 2],
        &[0.0, ninf],
        EXACT,
        "Det value row",
    );
}

#[test]
fn deterministic_moments_and_gradients() {
    let d = cpu();
    let det = Deterministic::new([1.5, -2.25]).unwrap();
    assert_eq!(det.support(), Support::Real);
    assert!(det.has_rsample());
    let x = check_moments(&det, 20_000, 81, "Deterministic");
    assert!(x.chunks(2).all(|r| r == [1.5, -2.25]), "every draw is loc");
    assert_eq!(to_vec(det.variance(&d)), vec![0.0, 0.0]);
    let tensor = Deterministic::new(t2(&[0.5, 1.0, -3.0, 2.0], 2, 2, &d)).unwrap();
    check_moments_batched(&tensor, 100, 82, "Deterministic tensor");
    // The log density of a draw is 0.
    let draws = det.sample(5, &d, &mut Rng::seed_from_u64(83));
    assert_eq!(to_vec(det.log_prob(draws)), vec![0.0; 5]);
    let make = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(Deterministic::new(p[0].clone()).unwrap())
    };
    check_rsample_grad(
        &make,
        &[(vec![0.3, -1.0, 2.0], [1, 3])],
        4,
        84,
        FD_DETERMINISTIC,
        "Deterministic",
    );
    check_rsample_grad(
        &make,
        &[(vec![0.3, -1.0, 2.0, 4.0], [2, 2])],
        2,
        85,
        FD_DETERMINISTIC,
        "Deterministic rows",
    );
}

#[test]
fn deterministic_constructor_and_from_args() {
    let d = cpu();
    assert_invalid(
        Deterministic::new(f64::NAN),
        "Deterministic",
        "loc",
        f64::NAN,
    );
    assert_invalid(
        Deterministic::new([0.0, f64::NEG_INFINITY]),
        "Deterministic",
        "loc",
        f64::NEG_INFINITY,
    );
    assert_shape_error(Deterministic::new(Vec::<f64>::new()), "Deterministic empty");
    let det = <Deterministic as FromArgs<_>>::from_args((t2(&[1.0, 2.0], 2, 1, &d),)).unwrap();
    assert_eq!(det.batch_rows(), 2);
    assert!(matches!(det.loc(), Param::Tensor(_)));
    assert!(<Deterministic as FromArgs<_>>::from_args((3.0,)).is_ok());
}
