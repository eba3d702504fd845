//! The row-blocked `f32` replay against the whole-tensor `f64` tape of the same record (itself
//! checked against burn's autodiff in `against_autodiff.rs`): value and gradient, for functions
//! of a few hundred data rows with parameters, per-row inputs, sums over the rows and global
//! arithmetic after them, split into several blocks. They agree to `f32` rounding:
//! `1e-4 (1 + |v|)` on the value and `1e-4 (1 + max |g|)` on each gradient here. The bits do
//! not depend on the number of threads; instructions whose rows read other rows are refused.

use burn::backend::Capture;
use burn::backend::capture::CapturedGraph;
use burn::tensor::{Device, Tensor, TensorData, activation};
use inferrs_tape::{RowTape, Tape, TapeError};

/// The data rows of every function here.
const ROWS: usize = 203;

type Function = fn(&[Tensor<2>], &Device) -> Tensor<1>;

/// Deterministic values of moderate size, away from the kinks of abs, clamp and max.
fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|k| (((k as u32 + 1) * 7 + seed) as f32 * 0.618_034).fract() - 0.5)
        .map(|v| v * 2.0 + 0.03)
        .collect()
}

/// A data tensor of `shape` (a constant of the record).
fn data(shape: [usize; 2], seed: u32, device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(values(shape[0] * shape[1], seed), shape),
        device,
    )
}

fn record(shapes: &[[usize; 2]], f: Function) -> CapturedGraph {
    let device = Device::capture();
    device
        .capture_scope(|scope| {
            let ts: Vec<Tensor<2>> = shapes
                .iter()
                .enumerate()
                .map(|(i, &s)| data(s, 100 + i as u32, &device))
                .collect();
            let ids: Vec<_> = ts
                .iter()
                .map(|t| t.clone().try_into_primitive::<Capture>().unwrap().id())
                .collect();
            let out = f(&ts, &device)
                .try_into_primitive::<Capture>()
                .unwrap()
                .id();
            scope.complete(ids, [out])
        })
        .unwrap()
}

fn inputs(shapes: &[[usize; 2]], shift: f64) -> Vec<f64> {
    shapes
        .iter()
        .enumerate()
        .flat_map(|(i, s)| values(s[0] * s[1], 100 + i as u32))
        .map(|v| f64::from(v) * 0.9 + shift)
        .collect()
}

fn check(name: &str, shapes: &[[usize; 2]], f: Function) {
    let captured = record(shapes, f);
    let mut exact = Tape::compile(&captured).unwrap_or_else(|e| panic!("{name}: {e}"));
    for block_rows in [16, 64, 1000] {
        let mut rows = RowTape::with_block_rows(&captured, ROWS, block_rows)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(rows.block_rows(), block_rows.min(ROWS));
        for shift in [0.0, 0.05] {
            let x = inputs(shapes, shift);
            let (mut want, mut got) = (vec![0.0; x.len()], vec![0.0; x.len()]);
            let v_want = exact.value_and_grad(&x, &mut want);
            let v_got = rows.value_and_grad(&x, &mut got);
            assert!(
                (v_got - v_want).abs() <= 1e-4 * (1.0 + v_want.abs()),
                "{name} ({block_rows} rows a block): value {v_got} against {v_want}"
            );
            let scale = 1.0 + want.iter().fold(0.0f64, |m, g| m.max(g.abs()));
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-4 * scale,
                    "{name} ({block_rows} rows a block): gradient {i}: {g} against {w}"
                );
            }
        }
    }
}

/// A network's layers on each row, a mixture likelihood composed as a user writes it, a
/// penalty on the weights before the rows and arithmetic on the sum after them.
fn network(x: &[Tensor<2>], device: &Device) -> Tensor<1> {
    let (w1, b1, w2, b2) = (&x[0], &x[1], &x[2], &x[3]);
    let input = data([ROWS, 1], 1, device);
    let y = data([ROWS, 1], 2, device);
    let h = (input.matmul(w1.clone()) + b1.clone()).tanh();
    let out = h.matmul(w2.clone()) + b2.clone();
    let locs = out.clone().narrow(1, 0, 3);
    let scales = activation::softplus(out.clone().narrow(1, 3, 3), 1.0) + 1e-3;
    let logits = out.narrow(1, 6, 3);
    let z = (y - locs) / scales.clone();
    let log_n = z.clone() * z * (-0.5) - scales.log() - 0.918_938_5;
    let joint = activation::log_softmax(logits, 1) + log_n;
    let m = joint.clone().max_dim(1).detach();
    let lse = (joint - m.clone()).exp().sum_dim(1).log() + m;
    let penalty = (w1.clone() * w1.clone()).sum() + (w2.clone() * w2.clone()).sum();
    (lse.sum() * 0.5 - penalty * 0.01).reshape([1])
}

/// Per-row latent inputs (a probabilistic PCA): rows of `z` with a global `w`, both inputs.
fn latent(x: &[Tensor<2>], device: &Device) -> Tensor<1> {
    let (z, w, log_s) = (&x[0], &x[1], &x[2]);
    let obs = data([ROWS, 4], 3, device);
    let mean = z.clone().matmul(w.clone());
    let s = log_s.clone().exp();
    let r = (obs - mean) / s.clone();
    let lik = (r.clone() * r).sum() * (-0.5) - s.log().sum() * ROWS as f32;
    let prior = (z.clone() * z.clone()).sum() * (-0.5);
    (lik + prior).reshape([1])
}

/// Concatenations, running sums, masks, comparisons, softmax and reductions within rows, and
/// a sum over the rows (per column) squared after them.
fn within_rows(x: &[Tensor<2>], device: &Device) -> Tensor<1> {
    let (a, b, c) = (&x[0], &x[1], &x[2]);
    let d = data([ROWS, 3], 4, device);
    let cat = Tensor::cat(vec![a.clone(), b.clone()], 1); // [ROWS, 3]
    let run = cat.clone().cumsum(1).tanh();
    let positive = d.clone().greater_elem(0.0);
    let chosen = run.clone().mask_where(positive.clone(), cat.clone().exp());
    let filled = cat.clone().mask_fill(positive.bool_not(), 0.5);
    let soft = activation::softmax(chosen.clone() * c.clone(), 1);
    let lower = chosen.clone().lower(filled.clone()).float();
    let extremes = chosen.clone().max_dim(1) - filled.clone().min_dim(1);
    let columns: Tensor<2> = (soft * d + lower * filled).sum_dim(0); // [1, 3]
    let means: Tensor<2> = run.mean_dim(0);
    ((columns.clone() * columns).sum() + extremes.exp().mean() + means.sum()).reshape([1])
}

#[test]
fn a_network_on_rows() {
    check("network", &[[1, 8], [1, 8], [8, 9], [1, 9]], network);
}

#[test]
fn per_row_inputs() {
    check("latent", &[[ROWS, 2], [2, 4], [1, 1]], latent);
}

#[test]
fn moves_masks_and_reductions_within_rows() {
    check("within rows", &[[ROWS, 2], [ROWS, 1], [1, 3]], within_rows);
}

#[test]
fn the_bits_do_not_depend_on_the_threads() {
    let shapes = [[1, 8], [1, 8], [8, 9], [1, 9]];
    let captured = record(&shapes, network);
    let x = inputs(&shapes, 0.0);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut tape = RowTape::with_block_rows(&captured, ROWS, 16).unwrap();
            let mut g = vec![0.0; x.len()];
            let v = tape.value_and_grad(&x, &mut g);
            (
                v.to_bits(),
                g.iter().map(|g| g.to_bits()).collect::<Vec<_>>(),
            )
        })
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn rows_that_read_other_rows_are_refused() {
    // Centring by the mean over the rows: each row reads all rows.
    let captured = record(&[[ROWS, 2]], |x, _| {
        let centred = x[0].clone() - x[0].clone().mean_dim(0);
        (centred.clone() * centred).sum()
    });
    let err = RowTape::compile(&captured, ROWS).unwrap_err();
    assert!(
        matches!(&err, TapeError::NotByRows(why) if why.contains("sum over the rows")),
        "{err}"
    );
    // A transpose: its rows are columns of the input.
    let captured = record(&[[ROWS, 2]], |x, _| {
        x[0].clone().swap_dims(0, 1).tanh().sum()
    });
    let err = RowTape::compile(&captured, ROWS).unwrap_err();
    assert!(matches!(&err, TapeError::NotByRows(_)), "{err}");
    // The whole-tensor tape replays both.
    assert!(Tape::compile(&captured).is_ok());
}

/// The user MDN of `bench_models` (1 -> 24 -> 24 tanh -> 30, K = 10, N = 5000): ms per
/// evaluation. `cargo test --release -p inferrs-tape --test rows timing -- --ignored --nocapture`
#[test]
#[ignore]
fn timing() {
    const N: usize = 5000;
    fn mdn(x: &[Tensor<2>], device: &Device) -> Tensor<1> {
        let input = data([N, 1], 1, device);
        let y = data([N, 1], 2, device);
        let h = (input.matmul(x[0].clone()) + x[1].clone()).tanh();
        let h = (h.matmul(x[2].clone()) + x[3].clone()).tanh();
        let out = h.matmul(x[4].clone()) + x[5].clone();
        let locs = out.clone().narrow(1, 0, 10);
        let scales = activation::softplus(out.clone().narrow(1, 10, 10), 1.0) + 1e-3;
        let logits = out.narrow(1, 20, 10);
        let z = (y - locs) / scales.clone();
        let log_n = z.clone() * z * (-0.5) - scales.log() - 0.918_938_5;
        let joint = activation::log_softmax(logits, 1) + log_n;
        let m = joint.clone().max_dim(1).detach();
        ((joint - m.clone()).exp().sum_dim(1).log() + m)
            .sum()
            .reshape([1])
    }
    let shapes = [[1, 24], [1, 24], [24, 24], [1, 24], [24, 30], [1, 30]];
    let captured = record(&shapes, mdn);
    let x = inputs(&shapes, 0.0);
    let mut g = vec![0.0; x.len()];
    let block: Option<usize> = std::env::var("BLOCK").ok().and_then(|v| v.parse().ok());
    let mut tape = match block {
        Some(b) => RowTape::with_block_rows(&captured, N, b).unwrap(),
        None => RowTape::compile(&captured, N).unwrap(),
    };
    for _ in 0..20 {
        tape.value_and_grad(&x, &mut g);
    }
    let t = std::time::Instant::now();
    for _ in 0..200 {
        tape.value_and_grad(&x, &mut g);
    }
    eprintln!(
        "rows ({} a block): {:.3} ms",
        tape.block_rows(),
        t.elapsed().as_secs_f64() * 1e3 / 200.0
    );
}
