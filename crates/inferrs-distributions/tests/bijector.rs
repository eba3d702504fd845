//! Bijectors: round trips, log-determinants against the log |det| of Jacobians computed by
//! central finite differences in f64, images inside the supports, gradients against finite
//! differences and finite in the tails, and `for_support`.
//!
//! The references are f64 host formulas written independently of the tensor code (stick
//! breaking as the product `z_i prod_{j<i} (1 - z_j)`, not in log space). Inputs are drawn from
//! fixed seeds and rounded to f32, so the tensors hold exactly the values the references use.
//! Tolerances are stated where used; each is about ten times the f32 error budget of the
//! computation it checks (f32 epsilon 1.2e-7 times the condition number of the map).
mod common;

use burn::tensor::{DType, Tensor, TensorData};
use common::*;
use inferrs_distributions::{Bijector, DistError, Support};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng};
use rand_distr::{Distribution as _, Exp1};

const LOW: f64 = -2.0;
const HIGH: f64 = 3.0;
const GT_LOW: f64 = 1.5;

/// Batch shapes `[rows, d]` (d unconstrained columns).
const SHAPES: [(usize, usize); 4] = [(1, 1), (3, 2), (5, 4), (2, 7)];

fn all() -> [Bijector; 7] {
    [
        Bijector::Identity,
        Bijector::Exp,
        Bijector::Softplus,
        Bijector::Sigmoid,
        Bijector::Interval {
            low: LOW,
            high: HIGH,
        },
        Bijector::GreaterThan { low: GT_LOW },
        Bijector::StickBreaking,
    ]
}

fn draw(rng: &mut StdRng, lo: f64, hi: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| rng.random_range(lo..hi) as f32 as f64)
        .collect()
}

fn constrained_cols(b: Bijector, d: usize) -> usize {
    if b == Bijector::StickBreaking {
        d + 1
    } else {
        d
    }
}

// ---------------------------------------------------------------------------------------------
// f64 references
// ---------------------------------------------------------------------------------------------

fn softplus64(u: f64) -> f64 {
    u.max(0.0) + (-u.abs()).exp().ln_1p()
}

fn sigmoid64(u: f64) -> f64 {
    if u >= 0.0 {
        1.0 / (1.0 + (-u).exp())
    } else {
        let e = u.exp();
        e / (1.0 + e)
    }
}

fn log_sigmoid64(u: f64) -> f64 {
    -softplus64(-u)
}

/// `T(u)` for one row.
fn forward64(b: Bijector, u: &[f64]) -> Vec<f64> {
    match b {
        Bijector::Identity => u.to_vec(),
        Bijector::Exp => u.iter().map(|v| v.exp()).collect(),
        Bijector::Softplus => u.iter().map(|&v| softplus64(v)).collect(),
        Bijector::Sigmoid => u.iter().map(|&v| sigmoid64(v)).collect(),
        Bijector::Interval { low, high } => u
            .iter()
            .map(|&v| low + (high - low) * sigmoid64(v))
            .collect(),
        Bijector::GreaterThan { low } => u.iter().map(|&v| low + softplus64(v)).collect(),
        Bijector::StickBreaking => {
            let d = u.len();
            let mut y = Vec::with_capacity(d + 1);
            let mut rest = 1.0;
            for (i, &v) in u.iter().enumerate() {
                let z = sigmoid64(v - ((d - i) as f64).ln());
                y.push(z * rest);
                rest *= 1.0 - z;
            }
            y.push(rest);
            y
        }
    }
}

/// `log |det dT/du|` for one row, closed form in f64 with stable `log_sigmoid`.
fn log_det64(b: Bijector, u: &[f64]) -> f64 {
    match b {
        Bijector::Identity => 0.0,
        Bijector::Exp => u.iter().sum(),
        Bijector::Softplus | Bijector::GreaterThan { .. } => {
            u.iter().map(|&v| log_sigmoid64(v)).sum()
        }
        Bijector::Sigmoid => u
            .iter()
            .map(|&v| log_sigmoid64(v) + log_sigmoid64(-v))
            .sum(),
        Bijector::Interval { low, high } => u
            .iter()
            .map(|&v| (high - low).ln() + log_sigmoid64(v) + log_sigmoid64(-v))
            .sum(),
        Bijector::StickBreaking => {
            // sum_i [ln z_i + sum_{j<i} ln(1 - z_j) + ln(1 - z_i)]
            let d = u.len();
            let mut before = 0.0;
            let mut total = 0.0;
            for (i, &v) in u.iter().enumerate() {
                let x = v - ((d - i) as f64).ln();
                total += log_sigmoid64(x) + before + log_sigmoid64(-x);
                before += log_sigmoid64(-x);
            }
            total
        }
    }
}

/// `log |det|` of a square matrix by Gaussian elimination with partial pivoting.
fn log_abs_det(mut a: Vec<Vec<f64>>) -> f64 {
    let n = a.len();
    let mut total = 0.0;
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .unwrap();
        a.swap(c, p);
        let pivot = a[c][c];
        assert!(pivot != 0.0, "singular Jacobian");
        total += pivot.abs().ln();
        let (top, bottom) = a.split_at_mut(c + 1);
        let pivot_row = &top[c];
        for row in bottom {
            let f = row[c] / pivot;
            for (x, p) in row[c..].iter_mut().zip(&pivot_row[c..]) {
                *x -= f * p;
            }
        }
    }
    total
}

/// `log |det|` of the Jacobian of the first `d` outputs of [`forward64`], by central
/// differences with step `h = 1e-6` (truncation ~1e-12, rounding ~1e-10 relative).
fn fd_log_det(b: Bijector, u: &[f64]) -> f64 {
    let d = u.len();
    let h = 1e-6;
    let mut jac = vec![vec![0.0; d]; d];
    for c in 0..d {
        let mut up = u.to_vec();
        let mut um = u.to_vec();
        up[c] += h;
        um[c] -= h;
        let (fp, fm) = (forward64(b, &up), forward64(b, &um));
        for r in 0..d {
            jac[r][c] = (fp[r] - fm[r]) / (2.0 * h);
        }
    }
    log_abs_det(jac)
}

/// A point of the support, one row of `cols` constrained columns, rounded to f32.
fn draw_constrained(b: Bijector, rng: &mut StdRng, cols: usize) -> Vec<f64> {
    match b {
        Bijector::Identity => draw(rng, -10.0, 10.0, cols),
        Bijector::Exp | Bijector::Softplus => draw(rng, 0.01, 50.0, cols),
        Bijector::Sigmoid => draw(rng, 0.01, 0.99, cols),
        Bijector::Interval { low, high } => draw(rng, 0.01, 0.99, cols)
            .into_iter()
            .map(|p| (low + (high - low) * p) as f32 as f64)
            .collect(),
        Bijector::GreaterThan { low } => draw(rng, 0.01, 50.0, cols)
            .into_iter()
            .map(|p| (low + p) as f32 as f64)
            .collect(),
        Bijector::StickBreaking => {
            // Dirichlet(1, ..., 1): normalised standard exponentials.
            let e: Vec<f64> = (0..cols).map(|_| Exp1.sample(rng)).collect();
            let s: f64 = e.iter().sum();
            e.iter().map(|v| (v / s) as f32 as f64).collect()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Round trips and values
// ---------------------------------------------------------------------------------------------

/// `inverse(forward(u)) ~ u` for `u` in [-4, 4]: |du| <= 1e-4 + 1e-5 |u|. The worst f32
/// conditioning there is the sigmoid's, `1 / (s (1 - s)) <= 57`, so the error is ~1e-5.
#[test]
fn inverse_of_forward_is_identity() {
    let device = cpu();
    for (seed, b) in all().into_iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(100 + seed as u64);
        for (rows, d) in SHAPES {
            let u = draw(&mut rng, -4.0, 4.0, rows * d);
            let x = b.forward(t2(&u, rows, d, &device));
            assert_eq!(
                x.dims(),
                [rows, constrained_cols(b, d)],
                "{b:?} forward shape"
            );
            let back = b.inverse(x);
            assert_eq!(back.dims(), [rows, d], "{b:?} inverse shape");
            assert_close(
                &to_vec(back),
                &u,
                1e-5,
                1e-4,
                &format!("{b:?} [{rows}, {d}] inverse(forward(u))"),
            );
        }
    }
}

/// `forward(inverse(x)) ~ x` for `x` inside the support (entries at least 0.01 from a bound,
/// simplex rows from a Dirichlet(1)): |dx| <= 1e-6 + 1e-5 |x|.
#[test]
fn forward_of_inverse_is_identity() {
    let device = cpu();
    for (seed, b) in all().into_iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(200 + seed as u64);
        for (rows, d) in SHAPES {
            let cols = constrained_cols(b, d);
            let x: Vec<f64> = (0..rows)
                .flat_map(|_| draw_constrained(b, &mut rng, cols))
                .collect();
            let u = b.inverse(t2(&x, rows, cols, &device));
            assert_eq!(u.dims(), [rows, d], "{b:?} inverse shape");
            let again = b.forward(u);
            assert_close(
                &to_vec(again),
                &x,
                1e-5,
                1e-6,
                &format!("{b:?} [{rows}, {d}] forward(inverse(x))"),
            );
        }
    }
}

/// `forward` against the f64 reference [`forward64`] for `u` in [-6, 6]:
/// |dx| <= 1e-6 + 1e-5 |x|.
#[test]
fn forward_matches_reference() {
    let device = cpu();
    for (seed, b) in all().into_iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(300 + seed as u64);
        for (rows, d) in SHAPES {
            let u = draw(&mut rng, -6.0, 6.0, rows * d);
            let expected: Vec<f64> = u.chunks(d).flat_map(|r| forward64(b, r)).collect();
            let x = b.forward(t2(&u, rows, d, &device));
            assert_close(
                &to_vec(x),
                &expected,
                1e-5,
                1e-6,
                &format!("{b:?} [{rows}, {d}] forward"),
            );
        }
    }
}

/// The offset `-ln(d - i)` makes `u = 0` the uniform simplex `1 / K`, where
/// `log |det| = sum_i [ln(1/K) + ln((d - i) / (d - i + 1))] = -K ln K` (the product telescopes
/// to `1 / K`). Tolerances: 1e-6 on the entries, 1e-5 relative on the log-determinant.
#[test]
fn stick_breaking_zero_is_uniform() {
    let device = cpu();
    for k in [2usize, 3, 5, 10] {
        let d = k - 1;
        let u = vec![0.0; 3 * d];
        let b = Bijector::StickBreaking;
        let x = b.forward(t2(&u, 3, d, &device));
        assert_close(
            &to_vec(x),
            &vec![1.0 / k as f64; 3 * k],
            0.0,
            1e-6,
            &format!("K = {k} forward(0)"),
        );
        let kf = k as f64;
        let log_det = b.log_abs_det_jacobian(t2(&u, 3, d, &device));
        assert_close(
            &to_vec(log_det),
            &[-kf * kf.ln(); 3],
            1e-5,
            0.0,
            &format!("K = {k} log_det(0)"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Log-determinants
// ---------------------------------------------------------------------------------------------

/// `log_abs_det_jacobian` against the log |det| of the central-difference Jacobian in f64 (for
/// stick breaking the `d x d` Jacobian of the first `d` outputs), `u` in [-4, 4]:
/// |d| <= 1e-4 + 1e-5 |ref|. The f32 budget: up to 7 terms of magnitude <= 20, each within a
/// few ulps (~2e-6 each).
#[test]
fn log_det_matches_finite_difference_jacobian() {
    let device = cpu();
    for (seed, b) in all().into_iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(400 + seed as u64);
        for (rows, d) in SHAPES {
            let u = draw(&mut rng, -4.0, 4.0, rows * d);
            let expected: Vec<f64> = u.chunks(d).map(|r| fd_log_det(b, r)).collect();
            // The closed form agrees with the finite differences (checks the reference).
            let closed: Vec<f64> = u.chunks(d).map(|r| log_det64(b, r)).collect();
            assert_close(
                &closed,
                &expected,
                1e-7,
                1e-7,
                &format!("{b:?} closed form"),
            );
            let log_det = b.log_abs_det_jacobian(t2(&u, rows, d, &device));
            assert_eq!(log_det.dims(), [rows], "{b:?} log_det shape");
            assert_close(
                &to_vec(log_det),
                &expected,
                1e-5,
                1e-4,
                &format!("{b:?} [{rows}, {d}] log_det"),
            );
        }
    }
}

/// In the tails (|u| from 20 to 80, where `sigmoid` rounds to 0 or 1 in f32) the log-determinant
/// is still the exact closed form: |d| <= 1e-4 + 1e-5 |ref|.
#[test]
fn log_det_is_accurate_in_the_tails() {
    let device = cpu();
    let u = [-80.0, -60.0, -40.0, -20.0, 20.0, 40.0, 60.0, 80.0];
    for b in all() {
        let log_det = b.log_abs_det_jacobian(t2(&u, 1, u.len(), &device));
        let out = to_vec(log_det);
        assert_close(
            &out,
            &[log_det64(b, &u)],
            1e-5,
            1e-4,
            &format!("{b:?} tails"),
        );
        for (i, &v) in u.iter().enumerate() {
            let one = to_vec(b.log_abs_det_jacobian(t2(&[v], 1, 1, &device)));
            assert_close(
                &one,
                &[log_det64(b, &[v])],
                1e-5,
                1e-4,
                &format!("{b:?} tail u[{i}] = {v}"),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Supports
// ---------------------------------------------------------------------------------------------

/// Every output lies strictly inside the support, also at |u| = 80 where the exact value
/// rounds onto a bound in f32; simplex rows sum to 1 within 1e-5.
#[test]
fn forward_maps_into_the_support() {
    let device = cpu();
    let extremes = [-80.0, -40.0, -20.0, -1.0, 0.0, 1.0, 20.0, 40.0, 80.0];
    for (seed, b) in all().into_iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(500 + seed as u64);
        let mut batches: Vec<(Vec<f64>, usize, usize)> = SHAPES
            .iter()
            .map(|&(rows, d)| (draw(&mut rng, -10.0, 10.0, rows * d), rows, d))
            .collect();
        batches.push((extremes.to_vec(), 1, extremes.len()));
        batches.push((extremes.to_vec(), extremes.len(), 1));
        // Rows of one repeated extreme value: the stick's most lopsided cases.
        for v in [-80.0, 80.0] {
            batches.push((vec![v; 12], 2, 6));
        }
        for (u, rows, d) in batches {
            let cols = constrained_cols(b, d);
            let x = to_vec(b.forward(t2(&u, rows, d, &device)));
            assert_eq!(x.len(), rows * cols);
            for (i, &v) in x.iter().enumerate() {
                let inside = match b {
                    Bijector::Identity => v == u[i],
                    Bijector::Exp | Bijector::Softplus => v > 0.0 && v.is_finite(),
                    Bijector::Sigmoid => v > 0.0 && v < 1.0,
                    Bijector::Interval { low, high } => v > low && v < high,
                    Bijector::GreaterThan { low } => v > low && v.is_finite(),
                    Bijector::StickBreaking => v > 0.0 && v <= 1.0,
                };
                assert!(
                    inside,
                    "{b:?} [{rows}, {d}]: x[{i}] = {v} outside the support"
                );
            }
            if b == Bijector::StickBreaking {
                for (r, row) in x.chunks(cols).enumerate() {
                    let sum: f64 = row.iter().sum();
                    assert!((sum - 1.0).abs() <= 1e-5, "row {r} sums to {sum}");
                }
            }
        }
    }
}

/// In f64 tensors the clipping uses f64's bounds: `sigmoid(40) = 1 - 4e-18` rounds to 1, and
/// the output is the largest f64 below 1 instead; `sigmoid(-800)` underflows and gives the
/// smallest normal f64.
#[test]
fn clipping_follows_the_tensor_precision() {
    let device = cpu();
    let u = Tensor::<2>::from_data(
        TensorData::new(vec![40.0f64, -800.0, 0.5], [1, 3]),
        (&device, DType::F64),
    );
    let x: Vec<f64> = Bijector::Sigmoid
        .forward(u)
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .unwrap();
    assert_eq!(x[0], 1.0f64.next_down());
    assert_eq!(x[1], f64::MIN_POSITIVE);
    assert!(
        (x[2] - sigmoid64(0.5)).abs() <= 1e-15,
        "sigmoid(0.5) = {}",
        x[2]
    );
}

// ---------------------------------------------------------------------------------------------
// Gradients
// ---------------------------------------------------------------------------------------------

/// Autodiff gradient of `L(u) = sum(w * forward(u)) + sum(log_det(u))` (weights `w` random so
/// the simplex constraint does not cancel it) against central differences of the f64
/// references, `u` in [-3, 3], h = 1e-5: |d| <= 1e-4 + 1e-3 |fd|.
#[test]
fn gradients_match_finite_differences() {
    let device = ad();
    for (seed, b) in all().into_iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(600 + seed as u64);
        for (rows, d) in SHAPES {
            let cols = constrained_cols(b, d);
            let u = draw(&mut rng, -3.0, 3.0, rows * d);
            let w = draw(&mut rng, -1.0, 1.0, rows * cols);
            let tu = t2(&u, rows, d, &device).require_grad();
            let tw = t2(&w, rows, cols, &device);
            let loss =
                (b.forward(tu.clone()) * tw).sum() + b.log_abs_det_jacobian(tu.clone()).sum();
            let grads = loss.backward();
            let got = to_vec(tu.grad(&grads).expect("gradient present"));

            let reference = |u: &[f64]| -> f64 {
                u.chunks(d)
                    .zip(w.chunks(cols))
                    .map(|(ur, wr)| {
                        let x = forward64(b, ur);
                        x.iter().zip(wr).map(|(a, c)| a * c).sum::<f64>() + log_det64(b, ur)
                    })
                    .sum()
            };
            let fd = central_diff(reference, &u, 1e-5);
            assert_close(
                &got,
                &fd,
                1e-3,
                1e-4,
                &format!("{b:?} [{rows}, {d}] gradient"),
            );
        }
    }
}

/// Gradients of `forward` (weighted) and of the log-determinant are finite, NaN-free, at
/// |u| up to 80 in f32.
#[test]
fn gradients_are_finite_in_the_tails() {
    let device = ad();
    let extremes = [
        -80.0, -60.0, -40.0, -20.0, -1.0, 0.0, 1.0, 20.0, 40.0, 60.0, 80.0,
    ];
    for b in all() {
        let mut cases: Vec<(Vec<f64>, usize, usize)> = vec![
            (extremes.to_vec(), 1, extremes.len()),
            (extremes.to_vec(), extremes.len(), 1),
        ];
        for v in [-80.0, 80.0] {
            cases.push((vec![v; 12], 2, 6));
        }
        for (u, rows, d) in cases {
            let cols = constrained_cols(b, d);
            let w: Vec<f64> = (0..rows * cols).map(|i| 1.0 + i as f64).collect();
            for part in ["forward", "log_det"] {
                let tu = t2(&u, rows, d, &device).require_grad();
                let loss = if part == "forward" {
                    (b.forward(tu.clone()) * t2(&w, rows, cols, &device)).sum()
                } else {
                    b.log_abs_det_jacobian(tu.clone()).sum()
                };
                let value = to_vec(loss.clone())[0];
                assert!(value.is_finite(), "{b:?} [{rows}, {d}] {part} = {value}");
                if b == Bijector::Identity && part == "log_det" {
                    // A constant 0, not connected to `u`: nothing to differentiate.
                    assert_eq!(value, 0.0);
                    continue;
                }
                let grads = loss.backward();
                let g = to_vec(tu.grad(&grads).expect("gradient present"));
                for (i, gi) in g.iter().enumerate() {
                    assert!(
                        gi.is_finite(),
                        "{b:?} [{rows}, {d}] d {part} / du[{i}] = {gi} at u = {}",
                        u[i]
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Construction
// ---------------------------------------------------------------------------------------------

#[test]
fn for_support_picks_the_bijector() {
    let cases = [
        (Support::Real, Bijector::Identity),
        (Support::Dependent, Bijector::Identity),
        (Support::Positive, Bijector::Softplus),
        (
            Support::GreaterThan(GT_LOW),
            Bijector::GreaterThan { low: GT_LOW },
        ),
        (Support::UnitInterval, Bijector::Sigmoid),
        (
            Support::Interval {
                low: LOW,
                high: HIGH,
            },
            Bijector::Interval {
                low: LOW,
                high: HIGH,
            },
        ),
        (Support::Simplex, Bijector::StickBreaking),
    ];
    for (support, expected) in cases {
        assert_eq!(Bijector::for_support(&support), Ok(expected), "{support:?}");
    }
}

#[test]
fn for_support_rejects_discrete_supports() {
    let cases = [
        (Support::Boolean, "Boolean"),
        (Support::NonNegativeInteger, "NonNegativeInteger"),
        (
            Support::IntegerInterval { low: 0, high: 4 },
            "IntegerInterval",
        ),
    ];
    for (support, name) in cases {
        match Bijector::for_support(&support) {
            Err(
                e @ DistError::InvalidParameter {
                    dist: "Bijector",
                    param: "support",
                    reason,
                    ..
                },
            ) => {
                assert!(reason.contains(name), "{reason:?} does not name {name}");
                assert!(reason.contains("discrete"), "{reason:?}");
                assert!(e.to_string().contains(name), "{e}");
            }
            other => panic!("{support:?}: expected an error naming {name}, got {other:?}"),
        }
    }
}

#[test]
fn for_support_rejects_invalid_bounds() {
    let cases = [
        (Support::GreaterThan(f64::NAN), "low", f64::NAN),
        (
            Support::GreaterThan(f64::NEG_INFINITY),
            "low",
            f64::NEG_INFINITY,
        ),
        (
            Support::Interval {
                low: 3.0,
                high: -2.0,
            },
            "high",
            -2.0,
        ),
        (
            Support::Interval {
                low: 1.0,
                high: 1.0,
            },
            "high",
            1.0,
        ),
        (
            Support::Interval {
                low: f64::NAN,
                high: 1.0,
            },
            "low",
            f64::NAN,
        ),
        (
            Support::Interval {
                low: 0.0,
                high: f64::INFINITY,
            },
            "high",
            f64::INFINITY,
        ),
        (
            Support::Interval {
                low: -f64::MAX,
                high: f64::MAX,
            },
            "high",
            f64::MAX,
        ),
    ];
    for (support, param, value) in cases {
        match Bijector::for_support(&support) {
            Err(DistError::InvalidParameter {
                dist: "Bijector",
                param: p,
                value: v,
                ..
            }) => {
                assert_eq!(p, param, "{support:?}");
                assert!(
                    v == value || (v.is_nan() && value.is_nan()),
                    "{support:?}: {v}"
                );
            }
            other => panic!("{support:?}: expected an error for `{param}`, got {other:?}"),
        }
    }
    assert_eq!(
        Bijector::interval(LOW, HIGH),
        Ok(Bijector::Interval {
            low: LOW,
            high: HIGH
        })
    );
    assert_eq!(
        Bijector::greater_than(0.0),
        Ok(Bijector::GreaterThan { low: 0.0 })
    );
}

#[test]
fn unconstrained_sizes() {
    for b in all() {
        for k in [1usize, 2, 5] {
            let expected = if b == Bijector::StickBreaking {
                k - 1
            } else {
                k
            };
            assert_eq!(b.unconstrained_size(k), expected, "{b:?} from {k}");
        }
    }
    assert_eq!(Bijector::StickBreaking.unconstrained_size(0), 0);
}

/// A simplex of one entry: no free coordinate, the constant 1, log-determinant 0.
#[test]
fn stick_breaking_of_one_entry() {
    let device = cpu();
    let b = Bijector::StickBreaking;
    let u = Tensor::<2>::zeros([3, 0], &device);
    assert_eq!(to_vec(b.forward(u.clone())), vec![1.0; 3]);
    assert_eq!(to_vec(b.log_abs_det_jacobian(u)), vec![0.0; 3]);
    let back = b.inverse(t2(&[1.0, 1.0, 1.0], 3, 1, &device));
    assert_eq!(back.dims(), [3, 0]);
}
