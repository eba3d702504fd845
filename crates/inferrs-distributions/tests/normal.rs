//! Normal: log density against closed forms in f64, broadcasting, constructor errors.
mod common;

use common::*;
use inferrs_distributions::{DistError, Distribution, FromArgs, Normal, Param, Support};

/// Tolerance for f32 log densities of moderate size (|lp| < 50).
const REL: f64 = 1e-5;
const ABS: f64 = 1e-4;

#[test]
fn log_prob_scalar_params() {
    let d = cpu();
    let ys = [-3.0, -0.5, 0.0, 1.25, 4.0];
    let normal = Normal::new(0.5, 1.7).unwrap();
    assert_eq!((normal.batch_rows(), normal.event_size()), (1, 1));
    let lp = to_vec(normal.log_prob(t2(&ys, 5, 1, &d)));
    let expected: Vec<f64> = ys.iter().map(|&y| normal_logpdf(y, 0.5, 1.7)).collect();
    assert_close(&lp, &expected, REL, ABS, "scalar params");
}

#[test]
fn log_prob_column_tensor_params() {
    // loc, scale: [n, 1] tensors; value [n, 1] and [1, 1] (broadcast over rows).
    let d = cpu();
    let locs = [-1.0, 0.0, 2.5, 10.0];
    let scales = [0.2, 1.0, 3.0, 0.7];
    let ys = [-1.3, 0.4, 0.0, 9.0];
    let normal = Normal::new(t2(&locs, 4, 1, &d), t2(&scales, 4, 1, &d)).unwrap();
    assert_eq!((normal.batch_rows(), normal.event_size()), (4, 1));
    let lp = to_vec(normal.log_prob(t2(&ys, 4, 1, &d)));
    let expected: Vec<f64> = (0..4)
        .map(|i| normal_logpdf(ys[i], locs[i], scales[i]))
        .collect();
    assert_close(&lp, &expected, REL, ABS, "[n,1] params, [n,1] value");

    let lp = to_vec(normal.log_prob(t2(&[0.3], 1, 1, &d)));
    let expected: Vec<f64> = (0..4)
        .map(|i| normal_logpdf(0.3, locs[i], scales[i]))
        .collect();
    assert_close(&lp, &expected, REL, ABS, "[n,1] params, [1,1] value");
}

#[test]
fn log_prob_vector_params_sum_over_event() {
    // loc: Vector of k = 3 ([1, 3]), scale: scalar; value [2, 3]: sum over the 3 columns.
    let d = cpu();
    let locs = vec![-1.0, 0.0, 1.0];
    let normal = Normal::new(locs.clone(), 0.8).unwrap();
    assert_eq!((normal.batch_rows(), normal.event_size()), (1, 3));
    let ys = [0.1, 0.2, 0.3, -2.0, 1.5, 0.9];
    let lp = to_vec(normal.log_prob(t2(&ys, 2, 3, &d)));
    let expected: Vec<f64> = (0..2)
        .map(|r| {
            (0..3)
                .map(|c| normal_logpdf(ys[r * 3 + c], locs[c], 0.8))
                .sum()
        })
        .collect();
    assert_close(&lp, &expected, REL, ABS, "[1,k] loc, scalar scale");

    // Both vectors, plus a tensor [2, 1] scale broadcasting over columns.
    let scales = [0.5, 2.0];
    let normal = Normal::new([1.0, 2.0, 3.0], t2(&scales, 2, 1, &d)).unwrap();
    assert_eq!((normal.batch_rows(), normal.event_size()), (2, 3));
    let lp = to_vec(normal.log_prob(t2(&ys, 2, 3, &d)));
    let expected: Vec<f64> = (0..2)
        .map(|r| {
            (0..3)
                .map(|c| normal_logpdf(ys[r * 3 + c], (c + 1) as f64, scales[r]))
                .sum()
        })
        .collect();
    assert_close(&lp, &expected, REL, ABS, "[1,k] loc, [n,1] scale");
}

#[test]
fn log_prob_on_autodiff_device_with_value_gradient() {
    // d/dy log N(y; loc, s) = -(y - loc) / s^2.
    let d = ad();
    let ys = [-1.0, 0.5, 2.0];
    let y = t2(&ys, 3, 1, &d).require_grad();
    let normal = Normal::new(0.5, 2.0).unwrap();
    let grads = normal.log_prob(y.clone()).sum().backward();
    let g = to_vec(y.grad(&grads).unwrap());
    let expected: Vec<f64> = ys.iter().map(|y| -(y - 0.5) / 4.0).collect();
    assert_close(&g, &expected, 1e-5, 1e-6, "dlogp/dy");
}

#[test]
fn constructor_errors_carry_the_value() {
    match Normal::new(0.0, 0.0).unwrap_err() {
        DistError::InvalidParameter {
            dist, param, value, ..
        } => {
            assert_eq!((dist, param, value), ("Normal", "scale", 0.0));
        }
        e => panic!("unexpected {e:?}"),
    }
    let e = Normal::new(0.0, -1.0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Normal: parameter `scale` = -1 is invalid: must be positive and finite"
    );
    match Normal::new(0.0, f64::NAN).unwrap_err() {
        DistError::InvalidParameter { param, value, .. } => {
            assert_eq!(param, "scale");
            assert!(value.is_nan());
        }
        e => panic!("unexpected {e:?}"),
    }
    match Normal::new(f64::INFINITY, 1.0).unwrap_err() {
        DistError::InvalidParameter { param, value, .. } => {
            assert_eq!((param, value), ("loc", f64::INFINITY));
        }
        e => panic!("unexpected {e:?}"),
    }
    // An invalid entry inside a vector is reported with its value.
    match Normal::new(vec![0.0, 1.0], vec![1.0, -3.5]).unwrap_err() {
        DistError::InvalidParameter { param, value, .. } => {
            assert_eq!((param, value), ("scale", -3.5))
        }
        e => panic!("unexpected {e:?}"),
    }
}

#[test]
fn shape_errors() {
    let d = cpu();
    let e = Normal::new(t2(&[0.0; 2], 2, 1, &d), t2(&[1.0; 3], 3, 1, &d)).unwrap_err();
    match &e {
        DistError::Shape { dist, detail } => {
            assert_eq!(*dist, "Normal");
            assert!(
                detail.contains("[2, 1]") && detail.contains("[3, 1]"),
                "{detail}"
            );
        }
        e => panic!("unexpected {e:?}"),
    }
    assert!(matches!(
        Normal::new(vec![0.0, 1.0], vec![1.0; 3]),
        Err(DistError::Shape { .. })
    ));
    assert!(matches!(
        Normal::new(Vec::<f64>::new(), 1.0),
        Err(DistError::Shape { .. })
    ));

    let normal = Normal::new(t2(&[0.0; 2], 2, 1, &d), 1.0).unwrap();
    assert!(normal.check_value([2, 1]).is_ok());
    assert!(normal.check_value([1, 1]).is_ok());
    assert!(normal.check_value([3, 1]).is_err());
    assert!(normal.check_rows(2).is_ok());
    assert!(normal.check_rows(5).is_err());
}

#[test]
fn from_args_params_and_moments() {
    let d = cpu();
    let n = <Normal as FromArgs<_>>::from_args((1.0, 2.0)).unwrap();
    assert!(matches!(n.loc(), Param::Scalar(x) if *x == 1.0));
    assert_close(&to_vec(n.variance(&d)), &[4.0], 0.0, 0.0, "variance");
    assert_close(&to_vec(n.mean(&d)), &[1.0], 0.0, 0.0, "mean");
    let n = <Normal as FromArgs<_>>::from_args(((t2(&[0.0, 1.0], 2, 1, &d), 3i32),)).unwrap();
    assert_eq!(n.batch_rows(), 2);
    assert!(<Normal as FromArgs<_>>::from_args((0.0f32, -1i32)).is_err());
    // Untyped literals, as the macro writes them.
    assert_eq!(
        <Normal as FromArgs<_>>::from_args((0, 1.5))
            .unwrap()
            .batch_rows(),
        1
    );
    let n = Normal::new(t2(&[1.0, -1.0], 2, 1, &d), t2(&[0.5, 3.0], 1, 2, &d)).unwrap();
    assert_close(
        &to_vec(n.variance(&d)),
        &[0.25, 9.0, 0.25, 9.0],
        1e-6,
        0.0,
        "variance",
    );
    assert_close(
        &to_vec(n.mean(&d)),
        &[1.0, 1.0, -1.0, -1.0],
        0.0,
        0.0,
        "mean",
    );
    assert_eq!(n.support(), Support::Real);
    assert!(Normal::new(0.0, 1.0).unwrap().has_rsample());
}

#[test]
fn param_conversions() {
    let d = cpu();
    assert_eq!(Param::from(2.0f32).shape(), [1, 1]);
    assert_eq!(Param::from(vec![1.0, 2.0, 3.0]).shape(), [1, 3]);
    assert_eq!(Param::from(&[1.0, 2.0][..]).shape(), [1, 2]);
    assert_eq!(Param::from([1.0, 2.0, 3.0, 4.0]).cols(), 4);
    let col = Param::from(burn::tensor::Tensor::<1>::from_floats([1.0, 2.0, 3.0], &d));
    assert_eq!((col.rows(), col.cols()), (3, 1));
    let t = Param::from(vec![1.5, -2.0]).to_tensor(&d);
    assert_eq!(t.dims(), [1, 2]);
    assert_eq!(to_vec(t), vec![1.5, -2.0]);
    assert_eq!(to_vec(Param::Scalar(0.25).to_tensor(&d)), vec![0.25]);
}

/// KL(q || p) against a Monte Carlo estimate `mean(log q(z) - log p(z))`, `z ~ q`, f64 on the
/// host with 200,000 draws (seed 11): within five standard errors.
#[test]
fn kl_divergence_matches_monte_carlo() {
    use rand::SeedableRng;
    use rand_distr::{Distribution as _, Normal as RNormal};
    let d = cpu();
    let (mq, sq, mp, sp) = ([0.3, -1.0], [0.5, 2.0], [0.0, 1.0], [1.0, 0.7]);
    let q = Normal::new(t2(&mq, 1, 2, &d), t2(&sq, 1, 2, &d)).unwrap();
    let p = Normal::new(t2(&mp, 1, 2, &d), t2(&sp, 1, 2, &d)).unwrap();
    let kl = to_vec(q.kl_divergence(&p, &d).unwrap());
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let n = 200_000;
    let terms: Vec<f64> = (0..n)
        .map(|_| {
            (0..2)
                .map(|j| {
                    let z = RNormal::new(mq[j], sq[j]).unwrap().sample(&mut rng);
                    normal_logpdf(z, mq[j], sq[j]) - normal_logpdf(z, mp[j], sp[j])
                })
                .sum::<f64>()
        })
        .collect();
    let mean = terms.iter().sum::<f64>() / n as f64;
    let sd = (terms.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    let se = sd / (n as f64).sqrt();
    assert!(
        (kl[0] - mean).abs() < 5.0 * se,
        "KL {} vs Monte Carlo {mean} (se {se})",
        kl[0]
    );
    // KL of a distribution with itself is zero; shapes that do not broadcast are an error.
    assert!(to_vec(q.kl_divergence(&q, &d).unwrap())[0].abs() < 1e-6);
    let wide = Normal::new(t2(&[0.0; 3], 1, 3, &d), 1.0).unwrap();
    assert!(q.kl_divergence(&wide, &d).is_err());
}
