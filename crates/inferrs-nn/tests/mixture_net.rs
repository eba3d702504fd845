//! The fused MDN network (`MixtureNet::forward` on flex, one op whose heads come packed in one
//! `[rows, 3K]` tensor) against the same network on burn's ops (`forward_composed`), and the
//! fused mixture likelihood of packed parameters against the composed likelihood of three
//! tensors: values, and gradients with respect to every weight and to the packed parameters,
//! on random inputs from fixed seeds.
//!
//! # Tolerance
//!
//! Both sides are f32 evaluations of the same function that sum in different orders (the
//! fused products use fused multiply-adds). The network's values are sums of at most 16
//! products per layer; its weight gradients are sums over all rows. Each tensor is compared
//! as a whole, relative to its largest entry:
//!
//! ```text
//! max |fused - composed| <= TOL * (1 + max |composed|)
//! ```
//!
//! with `TOL = 2e-6` for values and `1e-5` for gradients (17 and 84 f32 epsilons). The
//! worst-case rounding bound, `n eps` relative to the sum of absolute terms (n = 16 per layer,
//! 3 layers deep, for values; up to 1000 rows for gradients), is looser; the measured
//! differences are about ten times below the tolerances (1.3e-7 for values, 9.4e-7 for
//! gradients).
#[path = "../../inferrs-distributions/tests/common/mod.rs"]
mod common;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use common::*;
use inferrs_distributions::{
    Distribution, MixtureGaussian, MixtureParams, fused_kernels_available,
};
use inferrs_nn::MixtureNet;
use rand::{Rng as _, SeedableRng};

type StdRng = rand::rngs::StdRng;

const VALUE_TOL: f64 = 2e-6;
const GRAD_TOL: f64 = 1e-5;

fn random(rng: &mut StdRng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

/// `max |a - b| <= tol * (1 + max |b|)`.
fn assert_tensor_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = 1.0 + b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f64, f64::max);
    assert!(
        worst <= tol * scale && a.iter().all(|v| v.is_finite()),
        "{what}: max difference {worst:e} > {tol:e} * {scale}"
    );
}

/// Values `[rows, 3K]` (locations, scales, logits side by side) and the gradients of
/// `sum(G * params)` with respect to each layer's weight and bias, in layer order.
fn evaluate(net: &MixtureNet, x: &Tensor<2>, g: &Tensor<2>, fused: bool) -> Vec<Vec<f64>> {
    let params = if fused {
        net.forward(x.clone())
    } else {
        net.forward_composed(x.clone())
    };
    assert_eq!(params.is_deferred(), fused, "deferred exactly when fused");
    let (l, s, w) = params.into_parts();
    let all = Tensor::cat(vec![l, s, w], 1);
    let mut out = vec![to_vec(all.clone())];
    let grads = GradientsParams::from_grads((all * g.clone()).sum().backward(), net);
    out.extend(layer_gradients(&grads, net));
    out
}

/// The gradient of each layer's weight and bias, in layer order.
fn layer_gradients(grads: &GradientsParams, net: &MixtureNet) -> Vec<Vec<f64>> {
    let mut out = Vec::new();
    for layer in net.layers() {
        out.push(to_vec(
            grads.get::<2>(layer.weight.id).expect("weight gradient"),
        ));
        let bias = layer.bias.as_ref().expect("MixtureNet layers have biases");
        out.push(to_vec(grads.get::<1>(bias.id).expect("bias gradient")));
    }
    out
}

/// The first tensor (values) within [`VALUE_TOL`], the rest (gradients) within [`GRAD_TOL`].
fn assert_values_and_gradients_close(
    fused: &[Vec<f64>],
    composed: &[Vec<f64>],
    names: &[&str],
    case: &str,
) {
    assert_eq!(fused.len(), names.len());
    for (i, ((f, c), name)) in fused.iter().zip(composed).zip(names).enumerate() {
        let tol = if i == 0 { VALUE_TOL } else { GRAD_TOL };
        assert_tensor_close(f, c, tol, &format!("{case} {name}"));
    }
}

fn network(seed: u64, hidden: usize, k: usize, device: &Device) -> MixtureNet {
    device.seed(seed);
    MixtureNet::new(device, hidden, k)
        .with_min_scale(0.01)
        .unwrap()
}

fn inputs(seed: u64, rows: usize, k: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x = t2(&random(&mut rng, rows, -10.0, 10.0), rows, 1, device);
    let g = t2(
        &random(&mut rng, rows * 3 * k, -1.0, 1.0),
        rows,
        3 * k,
        device,
    );
    (x, g)
}

#[test]
fn the_fused_network_runs_on_flex() {
    assert!(fused_kernels_available(&ad()));
    let net = network(1, 4, 3, &ad());
    let (x, _) = inputs(1, 5, 3, &ad());
    let params = net.forward(x);
    assert!(params.is_deferred());
    let (l, _, _) = params.into_parts();
    assert_eq!(l.dims(), [5, 3]);
}

#[test]
fn values_and_weight_gradients_match_the_composed_network() {
    let d = ad();
    // Rows around the block size (256) and the vector width (8); hidden and components
    // around the vector width and the panel width (32).
    for (seed, (rows, hidden, k)) in [
        (1000, 15, 20),
        (1, 15, 20),
        (257, 7, 3),
        (300, 16, 11),
        (64, 33, 40),
    ]
    .into_iter()
    .enumerate()
    {
        let seed = seed as u64;
        let net = network(seed, hidden, k, &d);
        let (x, g) = inputs(seed + 100, rows, k, &d);
        let fused = evaluate(&net, &x, &g, true);
        let composed = evaluate(&net, &x, &g, false);
        let names = [
            "values", "w1", "b1", "w2", "b2", "wl", "bl", "ws", "bs", "ww", "bw",
        ];
        assert_values_and_gradients_close(
            &fused,
            &composed,
            &names,
            &format!("{rows}x{hidden}x{k}"),
        );
    }
}

#[test]
fn the_input_gradient_matches_too() {
    let d = ad();
    let net = network(7, 15, 20, &d);
    let (x, g) = inputs(8, 300, 20, &d);
    let x = x.require_grad();
    let grad_x = |fused: bool| {
        let p = if fused {
            net.forward(x.clone())
        } else {
            net.forward_composed(x.clone())
        };
        let (l, s, w) = p.into_parts();
        let grads = (Tensor::cat(vec![l, s, w], 1) * g.clone()).sum().backward();
        to_vec(x.grad(&grads).expect("input gradient"))
    };
    assert_tensor_close(&grad_x(true), &grad_x(false), GRAD_TOL, "dx");
}

#[test]
fn reruns_and_thread_counts_give_identical_bits() {
    let d = ad();
    let net = network(3, 15, 20, &d);
    let (x, g) = inputs(4, 2000, 20, &d);
    let bits = || -> Vec<Vec<u64>> {
        evaluate(&net, &x, &g, true)
            .iter()
            .map(|v| v.iter().map(|x| x.to_bits()).collect())
            .collect()
    };
    let first = bits();
    assert_eq!(first, bits(), "rerun");
    for threads in [1, 3, 8] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        assert_eq!(first, pool.install(bits), "{threads} threads");
    }
}

#[test]
fn without_autodiff_the_values_are_the_same() {
    let net = network(5, 15, 20, &ad());
    let (x, g) = inputs(6, 300, 20, &ad());
    let tracked = evaluate(&net, &x, &g, true).swap_remove(0);
    let plain_net = net.valid();
    let (x, _) = inputs(6, 300, 20, &cpu());
    let (l, s, w) = plain_net.forward(x).into_parts();
    assert_eq!(to_vec(Tensor::cat(vec![l, s, w], 1)), tracked);
}

#[test]
fn the_scales_respect_the_floor() {
    let d = cpu();
    let net = MixtureNet::new(&d, 4, 3).with_min_scale(0.25).unwrap();
    let x = t2(&[-50.0, 0.0, 50.0, 1e4], 4, 1, &d);
    let (_, scales, _) = net.forward(x).into_parts();
    let scales = to_vec(scales);
    assert!(scales.iter().all(|&s| s >= 0.25), "{scales:?}");
}

/// `log p(y | x)` and the gradients of `sum(g * log p)` with respect to every weight and bias
/// (in layer order), `x` and `y`: the network and the likelihood in one fused op (`fused`),
/// or the composed network and the composed likelihood.
fn log_density(
    net: &MixtureNet,
    x: &Tensor<2>,
    y: &Tensor<2>,
    g: &Tensor<1>,
    fused: bool,
) -> Vec<Vec<f64>> {
    let (x, y) = (x.clone().require_grad(), y.clone().require_grad());
    let lp = if fused {
        let params = net.forward(x.clone());
        assert!(params.is_deferred());
        MixtureGaussian::from_params(params)
            .unwrap()
            .log_prob(y.clone())
    } else {
        MixtureGaussian::from_params(net.forward_composed(x.clone()))
            .unwrap()
            .log_prob_composed(y.clone())
    };
    let mut out = vec![to_vec(lp.clone())];
    let grads = (lp * g.clone()).sum().backward();
    out.push(to_vec(x.grad(&grads).expect("x gradient")));
    out.push(to_vec(y.grad(&grads).expect("y gradient")));
    out.extend(layer_gradients(
        &GradientsParams::from_grads(grads, net),
        net,
    ));
    out
}

/// Inputs, values and per-row upstream gradients.
///
/// The values are drawn from `[-12, 12]`, the range of the MDN's data. Far from every
/// component a row's gradients are large, and the weights' gradients, sums over the rows,
/// cancel: from `[-30, 30]` the bias gradients of the two sides differ by up to 2.2e-5 of
/// their largest entry, both sides' f32 rounding (`[-12, 12]`: 3.8e-6). The far tails of the
/// likelihood itself are tested where no sum over rows is taken (`tests/fused.rs`).
fn likelihood_inputs(seed: u64, rows: usize, y_rows: usize, d: &Device) -> [Tensor<2>; 3] {
    let mut rng = StdRng::seed_from_u64(seed);
    let x = t2(&random(&mut rng, rows, -10.0, 10.0), rows, 1, d);
    let y = t2(&random(&mut rng, y_rows, -12.0, 12.0), y_rows, 1, d);
    let g = t2(&random(&mut rng, rows, -1.0, 1.0), rows, 1, d);
    [x, y, g]
}

#[test]
fn the_fused_log_density_matches_the_composed_network_and_likelihood() {
    let d = ad();
    // As above, plus a value shared by every row (`[1, 1]`, broadcast).
    for (seed, (rows, y_rows, hidden, k)) in [
        (1000, 1000, 15, 20),
        (1, 1, 15, 20),
        (257, 257, 7, 3),
        (300, 1, 16, 11),
        (64, 64, 33, 40),
    ]
    .into_iter()
    .enumerate()
    {
        let seed = seed as u64;
        let net = network(seed, hidden, k, &d);
        let [x, y, g] = likelihood_inputs(seed + 200, rows, y_rows, &d);
        let g = g.flatten::<1>(0, 1);
        let fused = log_density(&net, &x, &y, &g, true);
        let composed = log_density(&net, &x, &y, &g, false);
        let names = [
            "log_prob", "dx", "dy", "w1", "b1", "w2", "b2", "wl", "bl", "ws", "bs", "ww", "bw",
        ];
        assert_values_and_gradients_close(
            &fused,
            &composed,
            &names,
            &format!("{rows}x{hidden}x{k}"),
        );
    }
}

#[test]
fn the_fused_log_density_is_the_same_for_any_thread_count() {
    let d = ad();
    let net = network(11, 15, 20, &d);
    let [x, y, g] = likelihood_inputs(12, 2000, 2000, &d);
    let g = g.flatten::<1>(0, 1);
    let bits = || -> Vec<Vec<u64>> {
        log_density(&net, &x, &y, &g, true)
            .iter()
            .map(|v| v.iter().map(|x| x.to_bits()).collect())
            .collect()
    };
    let first = bits();
    assert_eq!(first, bits(), "rerun");
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        assert_eq!(first, pool.install(bits), "{threads} threads");
    }
}

#[test]
fn a_deferred_network_evaluates_when_its_parameters_are_needed() {
    let d = ad();
    let net = network(13, 15, 4, &d);
    let [x, y, _] = likelihood_inputs(14, 50, 50, &d);
    let mix = MixtureGaussian::from_params(net.forward(x.clone())).unwrap();
    let reference = MixtureGaussian::from_params(net.forward_composed(x)).unwrap();
    assert_eq!(mix.batch_rows(), 50);
    assert_eq!(mix.num_components(), 4);
    assert_tensor_close(
        &to_vec(mix.locs().to_tensor(&d)),
        &to_vec(reference.locs().to_tensor(&d)),
        VALUE_TOL,
        "locs",
    );
    // After the parameters were evaluated, log_prob still agrees with the composed one.
    assert_tensor_close(
        &to_vec(mix.log_prob(y.clone())),
        &to_vec(reference.log_prob_composed(y)),
        VALUE_TOL,
        "log_prob",
    );
}

/// The packed likelihood: `[rows, 3K]` parameters with positive scales.
fn packed_case(seed: u64, rows: usize, k: usize) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut p = Vec::with_capacity(rows * 3 * k);
    for _ in 0..rows {
        p.extend(random(&mut rng, k, -3.0, 3.0));
        p.extend(random(&mut rng, k, 0.05, 2.0));
        p.extend(random(&mut rng, k, -3.0, 3.0));
    }
    p
}

#[test]
fn packed_parameters_give_the_likelihood_of_three_tensors() {
    let d = ad();
    for (seed, (rows, k)) in [(1000, 20), (3, 1), (257, 7)].into_iter().enumerate() {
        let p = packed_case(seed as u64, rows, k);
        let ys = random(
            &mut StdRng::seed_from_u64(50 + seed as u64),
            rows,
            -4.0,
            4.0,
        );
        let y = t2(&ys, rows, 1, &d);
        let eval = |packed: bool| {
            let leaf = t2(&p, rows, 3 * k, &d).require_grad();
            let params = if packed {
                MixtureParams::packed(leaf.clone()).unwrap()
            } else {
                let block = |j: usize| leaf.clone().slice([0..rows, j * k..(j + 1) * k]);
                MixtureParams::new(block(0), block(1), block(2))
            };
            let mix = MixtureGaussian::from_params(params).unwrap();
            let lp = if packed {
                mix.log_prob(y.clone())
            } else {
                mix.log_prob_composed(y.clone())
            };
            let value = to_vec(lp.clone());
            let grads = lp.sum().backward();
            (value, to_vec(leaf.grad(&grads).expect("gradient")))
        };
        let (v_packed, g_packed) = eval(true);
        let (v_ref, g_ref) = eval(false);
        assert_tensor_close(&v_packed, &v_ref, VALUE_TOL, "log_prob");
        assert_tensor_close(&g_packed, &g_ref, GRAD_TOL, "gradient");
    }
}

#[test]
fn packed_parameters_must_be_three_blocks() {
    let d = cpu();
    for cols in [0, 2, 4] {
        let t = Tensor::<2>::zeros([3, cols], &d);
        let err = MixtureParams::packed(t).unwrap_err().to_string();
        assert!(err.contains("3 blocks"), "{err}");
    }
    let p = MixtureParams::packed(Tensor::<2>::ones([2, 6], &d)).unwrap();
    assert_eq!(p.num_components(), 2);
    let (l, s, w) = p.into_parts();
    assert_eq!([l.dims(), s.dims(), w.dims()], [[2, 2]; 3]);
}
