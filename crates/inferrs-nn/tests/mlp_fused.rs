//! The fused `Mlp::forward` (one op and one autodiff node on flex) against
//! `Mlp::forward_composed` (burn's ops layer by layer, the fallback of other backends): values
//! and the gradients of `sum(w * y)` (fixed random `w`) with respect to every weight, every
//! bias and `x`, for rows 1, 7, 256, 257 and 5000 (one block, a partial one, several), nets of
//! one to four layers (1 -> 24 -> 24 -> 30, 3 -> 5 -> 2, 2 -> 40 -> 1, 1 -> 30 with no hidden
//! layer, 2 -> 9 -> 17 -> 8 -> 3), every activation, with and without biases, a strided `x`
//! (a `narrow` of a wider tensor), an `x` that is not tracked, a frozen net (only `x`
//! tracked), a device without autodiff, a net too deep for the fused op, and bit-identical
//! results for 1, 2 and 3 threads.
//!
//! # Tolerance
//!
//! Values within `1e-5 (1 + max |reference|)` of the composed values, gradients within
//! `1e-4 (1 + max |reference|)` of the composed gradients, the maximum taken over each
//! tensor. Both compute the same sums in `f32` in different orders (and the fused tanh and
//! sigmoid are the same kernels the composed network uses), so they differ by rounding only.

#[path = "../../inferrs-distributions/tests/common/mod.rs"]
mod common;

use burn::tensor::{Device, Tensor};
use common::*;
use inferrs_nn::{Activation, Mlp, MlpConfig};
use rand::{Rng as _, SeedableRng};

const ACTIVATIONS: [Activation; 4] = [
    Activation::Tanh,
    Activation::Sigmoid,
    Activation::Relu,
    Activation::Identity,
];

fn uniform(n: usize, lo: f64, hi: f64, seed: u64) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
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

/// The shape of a test network.
#[derive(Clone, Debug)]
struct Shape {
    input: usize,
    hidden: Vec<usize>,
    output: usize,
}

fn shape(input: usize, hidden: &[usize], output: usize) -> Shape {
    Shape {
        input,
        hidden: hidden.to_vec(),
        output,
    }
}

fn shapes() -> Vec<Shape> {
    vec![
        shape(1, &[24, 24], 30),
        shape(3, &[5], 2),
        shape(2, &[40], 1),
        shape(1, &[], 30),
        shape(2, &[9, 17, 8], 3),
    ]
}

/// Held while a test seeds burn's device stream (one for the process) and initialises a
/// net from it.
static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The net of shape `s`, its weights drawn from a stream seeded by its configuration, so that
/// every run checks the same weights. (Unseeded, each run drew new weights, and one CI run
/// failed on `2 -> 40 -> 1`, ReLU, no bias, 257 rows: a first-layer weight's gradient 0.535
/// against 0.561, about one row's share, most likely a pre-activation within rounding of 0,
/// where the fused `mul_add` and the composed `mul` then `add` can fall on either side of the
/// kink. The same run had passed on this machine many times.)
fn net(s: &Shape, act: Activation, bias: bool, d: &Device) -> Mlp {
    let act_index = ACTIVATIONS.iter().position(|a| *a == act).unwrap_or(0) as u64;
    let seed = s
        .hidden
        .iter()
        .chain([&s.input, &s.output])
        .fold(act_index * 2 + u64::from(bias), |h, &n| {
            h.wrapping_mul(0x100_0000_01B3) ^ n as u64
        });
    let _only = INIT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    d.seed(seed);
    let net = MlpConfig::new(s.input, s.hidden.clone(), s.output)
        .activation(act)
        .bias(bias)
        .init(d);
    // Draw every parameter now, under the lock (burn initialises them lazily).
    for layer in net.layers() {
        let _ = layer.weight.val();
        if let Some(b) = &layer.bias {
            let _ = b.val();
        }
    }
    net
}

/// What one evaluation gives: the values, then each layer's weight and bias gradients, then
/// `x`'s gradient (of the wide tensor when strided).
#[derive(Debug, PartialEq)]
struct Run {
    values: Vec<f64>,
    weights: Vec<Vec<f64>>,
    biases: Vec<Option<Vec<f64>>>,
    x: Option<Vec<f64>>,
}

/// How `x` is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    /// Contiguous, tracked.
    Plain,
    /// The middle third of a `[rows, 3 input]` tensor, tracked.
    Strided,
    /// Contiguous, not tracked.
    Untracked,
}

fn run(net: &Mlp, rows: usize, input: Input, fused: bool, seed: u64) -> Run {
    let d = ad();
    let cols = net.layers()[0].weight.dims()[0];
    let out = net.layers().last().unwrap().weight.dims()[1];
    let (x, source) = match input {
        Input::Strided => {
            let wide = t2(
                &uniform(rows * 3 * cols, -2.0, 2.0, seed),
                rows,
                3 * cols,
                &d,
            )
            .require_grad();
            (wide.clone().narrow(1, cols, cols), Some(wide))
        }
        Input::Plain => {
            let x = t2(&uniform(rows * cols, -2.0, 2.0, seed), rows, cols, &d).require_grad();
            (x.clone(), Some(x))
        }
        Input::Untracked => (
            t2(&uniform(rows * cols, -2.0, 2.0, seed), rows, cols, &d),
            None,
        ),
    };
    let y = if fused {
        net.forward(x)
    } else {
        net.forward_composed(x)
    };
    assert_eq!(y.dims(), [rows, out]);
    let values = to_vec(y.clone());
    let w = t2(&uniform(rows * out, -1.0, 1.0, seed + 1), rows, out, &d);
    let g = (y * w).sum().backward();
    let weights = net
        .layers()
        .iter()
        .map(|l| to_vec(l.weight.val().grad(&g).expect("a weight's gradient")))
        .collect();
    let biases = net
        .layers()
        .iter()
        .map(|l| {
            l.bias
                .as_ref()
                .map(|b| to_vec(b.val().grad(&g).expect("a bias's gradient")))
        })
        .collect();
    let x = source.map(|s| to_vec(s.grad(&g).expect("x's gradient")));
    Run {
        values,
        weights,
        biases,
        x,
    }
}

fn compare(fused: &Run, composed: &Run, what: &str) {
    within(
        &fused.values,
        &composed.values,
        1e-5,
        &format!("{what} values"),
    );
    for (l, (f, c)) in fused.weights.iter().zip(&composed.weights).enumerate() {
        within(f, c, 1e-4, &format!("{what} weight {l}"));
    }
    for (l, (f, c)) in fused.biases.iter().zip(&composed.biases).enumerate() {
        match (f, c) {
            (Some(f), Some(c)) => within(f, c, 1e-4, &format!("{what} bias {l}")),
            (None, None) => {}
            _ => panic!("{what} bias {l}: present in one only"),
        }
    }
    match (&fused.x, &composed.x) {
        (Some(f), Some(c)) => within(f, c, 1e-4, &format!("{what} x")),
        (None, None) => {}
        _ => panic!("{what} x: gradient in one only"),
    }
}

fn check(s: &Shape, act: Activation, bias: bool, rows: usize, input: Input, seed: u64) {
    let net = net(s, act, bias, &ad());
    let what = format!("{s:?} {act:?} bias {bias} rows {rows} {input:?}");
    let fused = run(&net, rows, input, true, seed);
    let composed = run(&net, rows, input, false, seed);
    compare(&fused, &composed, &what);
}

/// Every shape and activation, with and without biases, on a few row counts.
#[test]
fn fused_matches_composed_for_every_shape_and_activation() {
    let mut seed = 1;
    for s in shapes() {
        for act in ACTIVATIONS {
            for bias in [true, false] {
                for rows in [1, 7, 257] {
                    check(&s, act, bias, rows, Input::Plain, seed);
                    seed += 1;
                }
            }
        }
    }
}

/// The user MDN network and the others at 256 and 5000 rows.
#[test]
fn fused_matches_composed_on_many_rows() {
    let mut seed = 100;
    for s in shapes() {
        for rows in [256, 5000] {
            check(&s, Activation::Tanh, true, rows, Input::Plain, seed);
            seed += 1;
        }
    }
    for act in ACTIVATIONS {
        check(
            &shape(1, &[24, 24], 30),
            act,
            false,
            5000,
            Input::Plain,
            seed,
        );
        seed += 1;
    }
}

/// A strided `x` (a column slice of a wider tensor) and an untracked one.
#[test]
fn strided_and_untracked_inputs() {
    let mut seed = 200;
    for s in shapes() {
        for act in [Activation::Tanh, Activation::Relu] {
            for rows in [7, 300] {
                check(&s, act, true, rows, Input::Strided, seed);
                check(&s, act, false, rows, Input::Untracked, seed + 1);
                seed += 2;
            }
        }
    }
}

/// A frozen net (no parameter tracked) with a tracked `x`: only `x` gets a gradient.
#[test]
fn a_frozen_net_gives_only_the_input_gradient() {
    use burn::module::Module as _;
    let d = ad();
    for s in shapes() {
        let net = net(&s, Activation::Sigmoid, true, &d).no_grad();
        let rows = 300;
        let values = uniform(rows * s.input, -2.0, 2.0, 9);
        let w = t2(&uniform(rows * s.output, -1.0, 1.0, 10), rows, s.output, &d);
        let mut got = Vec::new();
        for fused in [true, false] {
            let x = t2(&values, rows, s.input, &d).require_grad();
            let y = if fused {
                net.forward(x.clone())
            } else {
                net.forward_composed(x.clone())
            };
            let g = (y * w.clone()).sum().backward();
            for l in net.layers() {
                assert!(
                    l.weight.val().grad(&g).is_none(),
                    "{s:?}: a frozen weight's gradient"
                );
            }
            got.push(to_vec(x.grad(&g).expect("x's gradient")));
        }
        within(&got[0], &got[1], 1e-4, &format!("{s:?} frozen x"));
    }
}

/// A net deeper than the fused op takes falls back to burn's ops (the same results).
#[test]
fn deep_nets_fall_back() {
    let s = shape(2, &[6, 5, 4, 3], 2);
    check(&s, Activation::Tanh, true, 40, Input::Plain, 300);
}

/// On a device without autodiff the fused values match the composed ones.
#[test]
fn a_device_without_autodiff() {
    let d = cpu();
    for s in shapes() {
        for act in ACTIVATIONS {
            let net = net(&s, act, true, &d);
            let rows = 300;
            let x = t2(&uniform(rows * s.input, -2.0, 2.0, 7), rows, s.input, &d);
            let fused = to_vec(net.forward(x.clone()));
            let composed = to_vec(net.forward_composed(x));
            within(
                &fused,
                &composed,
                1e-5,
                &format!("{s:?} {act:?} no autodiff"),
            );
        }
    }
}

/// The same bits for 1, 2 and 3 threads.
#[test]
fn threads_do_not_change_the_bits() {
    for (s, rows) in [
        (shape(1, &[24, 24], 30), 5000),
        (shape(2, &[9, 17, 8], 3), 777),
    ] {
        let net = net(&s, Activation::Tanh, true, &ad());
        let runs: Vec<Run> = [1, 2, 3]
            .into_iter()
            .map(|threads| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| run(&net, rows, Input::Plain, true, 400))
            })
            .collect();
        assert_eq!(runs[0], runs[1], "{s:?}: 1 vs 2 threads");
        assert_eq!(runs[0], runs[2], "{s:?}: 1 vs 3 threads");
    }
}

/// Forward and backward of the user MDN network (1 -> 24 -> 24 -> 30, tanh, 5000 rows), fused
/// and composed, in ms per call (the best and the median of 15 rounds of 40 calls, the two
/// alternating): `cargo test --release --features flex --test mlp_fused -- --ignored timing
/// --nocapture`.
#[test]
#[ignore]
fn timing() {
    let d = ad();
    let net = net(&shape(1, &[24, 24], 30), Activation::Tanh, true, &d);
    let rows = 5000;
    let x = t2(&uniform(rows, -2.0, 2.0, 1), rows, 1, &d);
    let w = t2(&uniform(rows * 30, -1.0, 1.0, 2), rows, 30, &d);
    let step = |fused: bool| {
        let y = if fused {
            net.forward(x.clone())
        } else {
            net.forward_composed(x.clone())
        };
        let g = (y * w.clone()).sum().backward();
        let grad: Tensor<2> = net.layers()[0].weight.val().grad(&g).unwrap();
        let _ = to_vec(grad);
    };
    let times = alternating_rounds(40, step);
    for ((best, median), name) in times.into_iter().zip(["fused", "composed"]) {
        println!(
            "{name}: best {:.3} ms, median {:.3} ms per forward + backward",
            best / 1e3,
            median / 1e3
        );
    }
}
