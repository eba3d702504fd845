//! The fused `nn::affine` (`x W + b` as one op on flex) against `nn::affine_composed` (burn's
//! `matmul` and broadcast add): values and the gradients of `sum(v * y)` (fixed random `v`)
//! with respect to `x`, `W` and `b`, for the logistic regression's shapes (`[10^4, 20] x [20,
//! 1]`), a dense layer (`[500, 1] x [1, 32]`), one row, a partial block, every subset of
//! tracked operands, and a device without autodiff.
//!
//! # Tolerance
//!
//! Values within `1e-5 (1 + max |reference|)`, gradients within `1e-4 (1 + max |reference|)`,
//! the maximum over each tensor: both sum the same products in `f32` in different orders.

#[path = "../../inferrs-distributions/tests/common/mod.rs"]
mod common;

use burn::tensor::{Device, Tensor};
use common::*;
use inferrs_nn::{affine, affine_composed};
use rand::{Rng as _, SeedableRng};

fn uniform(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-2.0..2.0)).collect()
}

/// `|got - want| <= tol (1 + max |want|)` elementwise.
fn within(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = 1.0 + want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * scale,
            "{what}[{i}]: {g} vs {w} (bound {})",
            tol * scale
        );
    }
}

struct Case {
    x: Tensor<2>,
    w: Tensor<2>,
    b: Tensor<2>,
    v: Tensor<2>,
}

fn case(rows: usize, inputs: usize, outputs: usize, tracked: [bool; 3], d: &Device) -> Case {
    let track = |t: Tensor<2>, on: bool| if on { t.require_grad() } else { t };
    Case {
        x: track(t2(&uniform(rows * inputs, 1), rows, inputs, d), tracked[0]),
        w: track(
            t2(&uniform(inputs * outputs, 2), inputs, outputs, d),
            tracked[1],
        ),
        b: track(t2(&uniform(outputs, 3), 1, outputs, d), tracked[2]),
        v: t2(&uniform(rows * outputs, 4), rows, outputs, d),
    }
}

/// The value and the gradients (of the tracked operands) of `sum(v * f(x, w, b))`.
fn run(c: &Case, fused: bool) -> (Vec<f64>, [Option<Vec<f64>>; 3]) {
    let f = if fused { affine } else { affine_composed };
    let y = f(c.x.clone(), c.w.clone(), c.b.clone());
    let value = to_vec(y.clone());
    if !c.x.is_require_grad() && !c.w.is_require_grad() && !c.b.is_require_grad() {
        return (value, [None, None, None]);
    }
    let g = (y * c.v.clone()).sum().backward();
    let grad = |t: &Tensor<2>| t.grad(&g).map(to_vec);
    (value, [grad(&c.x), grad(&c.w), grad(&c.b)])
}

fn check(rows: usize, inputs: usize, outputs: usize, tracked: [bool; 3], d: &Device) {
    let c = case(rows, inputs, outputs, tracked, d);
    let (value, grads) = run(&c, true);
    let (want_value, want_grads) = run(&c, false);
    let what = format!("[{rows}, {inputs}] x [{inputs}, {outputs}], tracked {tracked:?}");
    within(&value, &want_value, 1e-5, &format!("{what}: value"));
    for (k, (g, w)) in grads.iter().zip(&want_grads).enumerate() {
        assert_eq!(g.is_some(), w.is_some(), "{what}: gradient {k} present");
        if let (Some(g), Some(w)) = (g, w) {
            within(g, w, 1e-4, &format!("{what}: gradient of operand {k}"));
        }
    }
}

#[test]
fn agrees_with_burns_ops_on_regression_and_layer_shapes() {
    let d = ad();
    // The dot-product forward's three row layouts: full vectors and a right-aligned tail
    // (20 inputs), full vectors only (16), fewer inputs than a vector (3, 5); and rows
    // across blocks (1100); rows of more than 8 vectors (100 inputs) and of exactly 8 (64).
    let shapes = [
        (10_000, 20, 1),
        (37, 100, 2),
        (21, 64, 1),
        (500, 1, 32),
        (1, 3, 2),
        (257, 5, 4),
        (300, 16, 3),
        (1100, 9, 2),
    ];
    for (rows, inputs, outputs) in shapes {
        check(rows, inputs, outputs, [false, true, true], &d);
    }
}

#[test]
fn every_subset_of_tracked_operands() {
    let d = ad();
    for mask in 0..8u8 {
        let tracked = [mask & 1 != 0, mask & 2 != 0, mask & 4 != 0];
        check(300, 7, 3, tracked, &d);
    }
}

#[test]
fn without_autodiff() {
    check(1000, 20, 1, [false; 3], &cpu());
}

#[test]
fn a_bias_per_row_takes_burns_ops() {
    let d = ad();
    let x = t2(&uniform(8, 1), 4, 2, &d);
    let w = t2(&uniform(2, 2), 2, 1, &d);
    let b = t2(&uniform(4, 3), 4, 1, &d);
    let y = to_vec(affine(x.clone(), w.clone(), b.clone()));
    within(&y, &to_vec(affine_composed(x, w, b)), 0.0, "per-row bias");
}

/// Forward and backward at the logistic regression's shapes (`x` constant, `W` and `b`
/// tracked), fused and composed, ms per call: `cargo test --release --features flex --test
/// affine -- --ignored timing --nocapture`.
#[test]
#[ignore]
fn timing() {
    let d = ad();
    for (rows, inputs, outputs) in [(10_000, 20, 1), (500, 1, 32)] {
        let c = case(rows, inputs, outputs, [false, true, true], &d);
        let step = |fused: bool| {
            let f = if fused { affine } else { affine_composed };
            let y = f(c.x.clone(), c.w.clone(), c.b.clone());
            let g = (y * c.v.clone()).sum().backward();
            let _ = to_vec(c.w.grad(&g).unwrap());
        };
        let times = alternating_rounds(100, step);
        for ((best, median), name) in times.into_iter().zip(["fused", "composed"]) {
            println!(
                "[{rows}, {inputs}] x [{inputs}, {outputs}] {name}: best {best:.1} us, median {median:.1} us"
            );
        }
    }
}
