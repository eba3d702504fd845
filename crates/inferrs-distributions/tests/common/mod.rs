//! Shared helpers for the integration tests: tensor construction and f64 references.
#![allow(dead_code)]

use burn::tensor::{Device, Tensor, TensorData};

/// `ln(sqrt(2 pi))` in f64.
pub const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

pub fn cpu() -> Device {
    Device::flex()
}

pub fn ad() -> Device {
    Device::flex().autodiff()
}

/// A `[rows, cols]` f32 tensor from f64 values (row-major).
pub fn t2(values: &[f64], rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    assert_eq!(values.len(), rows * cols);
    let data: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    Tensor::<2>::from_data(TensorData::new(data, [rows, cols]), device)
}

pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

/// `|a - b| <= abs + rel * |b|` elementwise, with a readable failure.
pub fn assert_close(actual: &[f64], expected: &[f64], rel: f64, abs: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= abs + rel * e.abs(),
            "{what}[{i}]: got {a}, expected {e} (rel {rel}, abs {abs})"
        );
    }
}

/// Normal log density in f64, direct formula.
pub fn normal_logpdf(y: f64, loc: f64, scale: f64) -> f64 {
    let z = (y - loc) / scale;
    -0.5 * z * z - scale.ln() - HALF_LN_2PI
}

/// Mixture log density in f64, naive: `ln(sum_k pi_k * pdf_k)` with `pi = softmax(logits)`
/// computed as `exp(l) / sum exp(l)`. Fine for moderate values only.
pub fn mixture_logpdf_naive(y: f64, locs: &[f64], scales: &[f64], logits: &[f64]) -> f64 {
    let z: f64 = logits.iter().map(|l| l.exp()).sum();
    let dens: f64 = (0..locs.len())
        .map(|k| {
            let u = (y - locs[k]) / scales[k];
            logits[k].exp() / z * (-0.5 * u * u).exp()
                / (scales[k] * (2.0 * std::f64::consts::PI).sqrt())
        })
        .sum();
    dens.ln()
}

/// Mixture log density in f64, stable (log-sum-exp with max shift) for extreme inputs.
pub fn mixture_logpdf_stable(y: f64, locs: &[f64], scales: &[f64], logits: &[f64]) -> f64 {
    let lmax = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let lz = lmax + logits.iter().map(|l| (l - lmax).exp()).sum::<f64>().ln();
    let terms: Vec<f64> = (0..locs.len())
        .map(|k| logits[k] - lz + normal_logpdf(y, locs[k], scales[k]))
        .collect();
    let m = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln()
}

/// Central finite difference of `f` at `x` for each coordinate, in f64.
pub fn central_diff(f: impl Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let mut xp = x.to_vec();
            let mut xm = x.to_vec();
            xp[i] += h;
            xm[i] -= h;
            (f(&xp) - f(&xm)) / (2.0 * h)
        })
        .collect()
}

/// Times `step(true)` (fused) against `step(false)` (composed) in 16 alternating rounds of
/// `iters` calls each, the first round dropped as warm-up; returns `(best, median)` microseconds
/// per call for the fused and then the composed path.
pub fn alternating_rounds(iters: usize, mut step: impl FnMut(bool)) -> [(f64, f64); 2] {
    let mut rounds = [Vec::new(), Vec::new()];
    for round in 0..16 {
        for (k, fused) in [true, false].into_iter().enumerate() {
            let start = std::time::Instant::now();
            for _ in 0..iters {
                step(fused);
            }
            if round > 0 {
                rounds[k].push(start.elapsed().as_secs_f64() * 1e6 / iters as f64);
            }
        }
    }
    rounds.map(|mut r| {
        r.sort_by(f64::total_cmp);
        (r[0], r[r.len() / 2])
    })
}
