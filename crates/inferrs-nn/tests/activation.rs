//! The fused `tanh` and `sigmoid` (`nn::tanh`, `nn::sigmoid`, one op on flex) against burn's
//! composed ops (`activation::tanh`, `activation::sigmoid`, the fallback of other backends) and
//! against `f64` closed forms: values and gradients, on a strided view, a 3-d tensor, a
//! tensor large enough to be threaded, and a device without autodiff; and `Mlp`'s forward
//! pass against the same layers composed by hand.
//!
//! # Tolerance
//!
//! Values within `4 eps (1 + |y|)` of the `f64` value (the kernels are within 2 ulp; burn's
//! are glibc's, within 1), gradients `w f'(x)` within `8 eps (1 + |g|)` (`f'` is formed from
//! the rounded output: `1 - y^2` loses up to a few eps where `|y|` is near 1).

#[path = "../../inferrs-distributions/tests/common/mod.rs"]
mod common;

use burn::tensor::{Device, Tensor, activation};
use common::*;
use inferrs_nn::{self as nn, Activation, MlpConfig};
use rand::{Rng as _, SeedableRng};

const EPS: f64 = f32::EPSILON as f64;

fn inputs(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut x: Vec<f64> = (0..n)
        .map(|_| rng.random_range(-12.0..12.0f64) as f32 as f64)
        .collect();
    let specials = [
        -100.0, -20.0, -9.5, -0.625, -0.6, -1e-3, -1e-30, 0.0, 1e-30, 1e-3, 0.6, 0.625, 0.63, 9.5,
        20.0, 100.0,
    ];
    x[..specials.len()].copy_from_slice(&specials);
    x
}

fn within(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

/// `(f, f')` in f64.
fn exact(tanh: bool, x: f64) -> (f64, f64) {
    if tanh {
        let y = x.tanh();
        (y, 1.0 - y * y)
    } else {
        let y = 1.0 / (1.0 + (-x).exp());
        (y, y * (1.0 - y))
    }
}

/// Values and gradient of `sum(w f(x))` for the middle third of a `[rows, 3 cols]` tensor (a
/// strided view), fused or composed.
fn run(tanh: bool, fused: bool, x: &[f64], rows: usize, cols: usize) -> (Vec<f64>, Vec<f64>) {
    let d = ad();
    let wide = t2(x, rows, 3 * cols, &d).require_grad();
    let input = wide.clone().narrow(1, cols, cols);
    let y = match (tanh, fused) {
        (true, true) => nn::tanh(input),
        (true, false) => activation::tanh(input),
        (false, true) => nn::sigmoid(input),
        (false, false) => activation::sigmoid(input),
    };
    let values = to_vec(y.clone());
    let w: Vec<f64> = (0..rows * cols).map(|i| 1.0 + (i % 5) as f64).collect();
    let g = (y * t2(&w, rows, cols, &d)).sum().backward();
    (values, to_vec(wide.grad(&g).unwrap()))
}

fn check(tanh: bool, rows: usize, cols: usize, seed: u64) {
    let name = if tanh { "tanh" } else { "sigmoid" };
    let x = inputs(rows * 3 * cols, seed);
    let (fv, fg) = run(tanh, true, &x, rows, cols);
    let (cv, cg) = run(tanh, false, &x, rows, cols);
    let mut want_v = Vec::new();
    let mut want_g = vec![0.0; rows * 3 * cols];
    for r in 0..rows {
        for c in 0..cols {
            let (y, dy) = exact(tanh, x[r * 3 * cols + cols + c]);
            want_v.push(y);
            want_g[r * 3 * cols + cols + c] = (1.0 + ((r * cols + c) % 5) as f64) * dy;
        }
    }
    within(&fv, &want_v, 4.0 * EPS, &format!("{name} fused vs f64"));
    within(&cv, &want_v, 4.0 * EPS, &format!("{name} composed vs f64"));
    within(
        &fg,
        &want_g,
        8.0 * EPS,
        &format!("{name} gradient fused vs f64"),
    );
    within(
        &fg,
        &cg,
        8.0 * EPS,
        &format!("{name} gradient fused vs composed"),
    );
}

#[test]
fn tanh_and_sigmoid_match_burn_and_f64() {
    assert!(inferrs_distributions::fused_kernels_available(&ad()));
    for tanh in [true, false] {
        check(tanh, 40, 7, 1);
        // 3 x 2^15 elements in the view: the threaded path.
        check(tanh, 1024, 96, 2);
    }
}

/// Any rank, with and without autodiff: the same values as burn's, within the tolerance.
#[test]
fn any_rank_and_a_plain_device() {
    let x = inputs(2 * 3 * 5, 3);
    for device in [cpu(), ad()] {
        let t = Tensor::<1>::from_floats(
            x.iter().map(|&v| v as f32).collect::<Vec<_>>().as_slice(),
            &device,
        )
        .reshape([2, 3, 5]);
        let fused = to_vec(nn::tanh(t.clone()));
        let want: Vec<f64> = x.iter().map(|v| v.tanh()).collect();
        within(&fused, &want, 4.0 * EPS, "3-d tanh");
        let fused = to_vec(nn::sigmoid(t));
        let want: Vec<f64> = x.iter().map(|&v| exact(false, v).0).collect();
        within(&fused, &want, 4.0 * EPS, "3-d sigmoid");
    }
}

/// `Mlp` is its layers with the activation between them, none after the last, and its
/// gradient reaches every layer.
#[test]
fn mlp_is_its_layers_composed() {
    let d = ad();
    for act in [
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Relu,
        Activation::Identity,
    ] {
        let net = MlpConfig::new(3, [8, 6], 2).activation(act).init(&d);
        assert_eq!(net.layers().len(), 3);
        let x: Vec<f64> = inputs(64, 5)[20..32].iter().map(|v| v / 4.0).collect();
        let x = t2(&x, 4, 3, &d);
        let by_hand = {
            let [l1, l2, l3] = [&net.layers()[0], &net.layers()[1], &net.layers()[2]];
            let f = |h: Tensor<2>| match act {
                Activation::Tanh => activation::tanh(h),
                Activation::Sigmoid => activation::sigmoid(h),
                Activation::Relu => activation::relu(h),
                Activation::Identity => h,
            };
            l3.forward(f(l2.forward(f(l1.forward(x.clone())))))
        };
        let y = net.forward(x);
        assert_eq!(y.dims(), [4, 2]);
        within(
            &to_vec(y.clone()),
            &to_vec(by_hand),
            16.0 * EPS,
            "mlp forward",
        );
        let g = y.sum().backward();
        for layer in net.layers() {
            assert!(
                layer.weight.val().grad(&g).is_some(),
                "{act:?}: no gradient"
            );
        }
    }
    let _: Device = d;
}
