//! Checks shared by every family of the conformance suite.
#![allow(dead_code)]

use burn::tensor::Tensor;
use inferrs_distributions::{DistError, Distribution, Rng, Support};
use rand::SeedableRng;

pub use crate::common::{ad, assert_close, cpu, t2, to_vec};

/// Standard errors allowed between a sample moment and the stated one. With a fixed seed the
/// check is deterministic; five standard errors make a false alarm from an honest sampler
/// (about 6e-7 per comparison for a Gaussian estimate) negligible, while a wrong mean or scale
/// of a few percent at n = 20,000 fails.
pub const Z_MAX: f64 = 5.0;

/// A tolerance: `|got - want| <= abs + rel |want|`.
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    pub rel: f64,
    pub abs: f64,
}

impl Tol {
    pub const fn new(rel: f64, abs: f64) -> Self {
        Self { rel, abs }
    }
}

/// Autodiff gradients against central finite differences: the step `h` and the tolerance.
#[derive(Clone, Copy, Debug)]
pub struct Fd {
    pub h: f64,
    pub rel: f64,
    pub abs: f64,
}

impl Fd {
    pub const fn new(h: f64, rel: f64, abs: f64) -> Self {
        Self { h, rel, abs }
    }
}

/// Gradients of `log_prob` against central differences of an f64 reference: `h = 1e-5`
/// (truncation `h^2 |f'''| / 6 < 1e-9`, rounding `1e-16 |f| / h`), against f32 autodiff:
/// `rel = 1e-3`, `abs = 1e-4`.
pub const FD_LOG_PROB: Fd = Fd::new(1e-5, 1e-3, 1e-4);

/// Gradients of a weighted sum of samples against central differences with the same noise:
/// `h = 1e-2`; f32 rounding of the objective gives an error of about `1e-7 |f| / h`, hence
/// `rel = 1e-2`, `abs = 1e-3`.
pub const FD_SAMPLE: Fd = Fd::new(1e-2, 1e-2, 1e-3);

/// `x` rounded to f32, as a tensor holds it.
pub fn r32(x: f64) -> f64 {
    x as f32 as f64
}

/// Sums `term(row, col)` over the columns of each row: the expected `log_prob` of an
/// elementwise reference.
pub fn row_sums(rows: usize, cols: usize, term: impl Fn(usize, usize) -> f64) -> Vec<f64> {
    (0..rows)
        .map(|r| (0..cols).map(|c| term(r, c)).sum())
        .collect()
}

/// `log_prob` of `values` (row-major `[rows, cols]`, accepted by `check_value`) against
/// `expected` (`[rows']`, the broadcast rows): infinite expected entries must match exactly,
/// finite ones within `tol`.
pub fn check_log_prob(
    dist: &dyn Distribution,
    values: &[f64],
    shape: [usize; 2],
    expected: &[f64],
    tol: Tol,
    what: &str,
) {
    let device = cpu();
    dist.check_value(shape)
        .unwrap_or_else(|e| panic!("{what}: value shape {shape:?} rejected: {e}"));
    let got = to_vec(dist.log_prob(t2(values, shape[0], shape[1], &device)));
    assert_eq!(got.len(), expected.len(), "{what}: rows");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        if e.is_infinite() {
            assert_eq!(g, e, "{what}[{i}]: log_prob");
        } else {
            assert!(
                (g - e).abs() <= tol.abs + tol.rel * e.abs(),
                "{what}[{i}]: log_prob {g}, expected {e} ({tol:?})"
            );
        }
    }
}

/// Asserts an `InvalidParameter` error from `dist` naming `param` and carrying `value` (NaN
/// matches NaN).
pub fn assert_invalid<T: std::fmt::Debug>(
    result: Result<T, DistError>,
    dist: &str,
    param: &str,
    value: f64,
) {
    match result {
        Err(DistError::InvalidParameter {
            dist: d,
            param: p,
            value: v,
            ..
        }) => {
            assert_eq!((d, p), (dist, param), "error names");
            assert!(
                v == value || (v.is_nan() && value.is_nan()),
                "{dist}.{param}: error carries {v}, expected {value}"
            );
        }
        other => panic!("{dist}.{param} = {value}: expected InvalidParameter, got {other:?}"),
    }
}

/// Asserts a `Shape` error.
pub fn assert_shape_error<T: std::fmt::Debug>(result: Result<T, DistError>, what: &str) {
    assert!(
        matches!(result, Err(DistError::Shape { .. })),
        "{what}: expected a Shape error, got {result:?}"
    );
}

/// Draws `rows` rows with `seed` on `device`, twice, and asserts the two are bit-identical.
///
/// Returns the draws.
pub fn check_same_draws(
    dist: &dyn Distribution,
    rows: usize,
    seed: u64,
    device: &burn::tensor::Device,
    what: &str,
) -> Tensor<2> {
    let draw = || dist.sample(rows, device, &mut Rng::seed_from_u64(seed));
    let first = draw();
    let bits = |t: Tensor<2>| to_vec(t).iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(first.clone()),
        bits(draw()),
        "{what}: same seed, different draws"
    );
    first
}

/// Same seed, same draws (bit for bit); another seed, other draws.
pub fn check_reproducible(dist: &dyn Distribution, rows: usize, what: &str) {
    let device = cpu();
    let a = to_vec(check_same_draws(dist, rows, 11, &device, what));
    let c = to_vec(dist.sample(rows, &device, &mut Rng::seed_from_u64(12)));
    assert_ne!(a, c, "{what}: different seeds, same draws");
}

/// Draws `n` rows (one value per row) from a distribution whose parameters broadcast over rows
/// (`batch_rows() == 1`) and checks, per event column, the sample mean and variance against
/// [`Distribution::mean`] and [`Distribution::variance`] within [`Z_MAX`] standard errors.
///
/// The standard error of the mean is `sqrt(var / n)`; that of the variance
/// `sqrt((m4 - (n - 3) / (n - 1) var^2) / n)` with `m4` the sample fourth central moment. A NaN stated mean
/// (no mean exists) skips the mean and variance checks; an infinite stated variance skips the
/// variance check. Every draw must be finite and inside `dist.support()`.
///
/// Returns the samples (row-major) for further checks.
pub fn check_moments(dist: &dyn Distribution, n: usize, seed: u64, what: &str) -> Vec<f64> {
    assert_eq!(
        dist.batch_rows(),
        1,
        "{what}: check_moments needs broadcast parameters"
    );
    let device = cpu();
    let mut rng = Rng::seed_from_u64(seed);
    let draws = dist.sample(n, &device, &mut rng);
    let [rows, cols] = draws.dims();
    assert_eq!(rows, n, "{what}: sample rows");
    assert_eq!(cols, dist.event_size(), "{what}: sample columns");
    let x = to_vec(draws);
    check_in_support(&x, cols, &dist.support(), what);
    let mean = to_vec(dist.mean(&device));
    let var = to_vec(dist.variance(&device));
    assert_eq!(mean.len(), cols, "{what}: mean shape");
    assert_eq!(var.len(), cols, "{what}: variance shape");
    for j in 0..cols {
        let col: Vec<f64> = (0..n).map(|i| x[i * cols + j]).collect();
        check_column_moments(&col, mean[j], var[j], &format!("{what}[col {j}]"));
    }
    x
}

/// Like [`check_moments`] for a distribution with `batch_rows() == r > 1`: draws `n` times
/// `r` rows and checks every row and column against its own stated moments.
pub fn check_moments_batched(dist: &dyn Distribution, n: usize, seed: u64, what: &str) {
    let device = cpu();
    let r = dist.batch_rows();
    let c = dist.event_size();
    let mut rng = Rng::seed_from_u64(seed);
    let mean = to_vec(dist.mean(&device));
    let var = to_vec(dist.variance(&device));
    assert_eq!(mean.len(), r * c, "{what}: mean shape");
    assert_eq!(var.len(), r * c, "{what}: variance shape");
    let mut cols: Vec<Vec<f64>> = vec![Vec::with_capacity(n); r * c];
    for _ in 0..n {
        let draw = dist.sample(r, &device, &mut rng);
        assert_eq!(draw.dims(), [r, c], "{what}: sample shape");
        let v = to_vec(draw);
        check_in_support(&v, c, &dist.support(), what);
        for (i, x) in v.into_iter().enumerate() {
            cols[i].push(x);
        }
    }
    for (i, col) in cols.iter().enumerate() {
        check_column_moments(
            col,
            mean[i],
            var[i],
            &format!("{what}[row {}, col {}]", i / c, i % c),
        );
    }
}

fn check_column_moments(col: &[f64], mean: f64, var: f64, what: &str) {
    let n = col.len() as f64;
    assert!(col.iter().all(|x| x.is_finite()), "{what}: non-finite draw");
    if mean.is_nan() {
        return;
    }
    let m = col.iter().sum::<f64>() / n;
    let v = col.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    let m4 = col.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n;
    if var.is_finite() {
        let se = (var / n).sqrt();
        assert!(
            (m - mean).abs() <= Z_MAX * se + 1e-12,
            "{what}: sample mean {m} vs stated {mean} (se {se})"
        );
        // The exact variance of the sample variance: (m4 - (n - 3) / (n - 1) v^2) / n, which
        // stays positive for a two-point distribution (m4 = v^2, a fair Bernoulli).
        let se_v = ((m4 - (n - 3.0) / (n - 1.0) * v * v).max(0.0) / n).sqrt();
        assert!(
            (v - var).abs() <= Z_MAX * se_v + 1e-9 * var.abs().max(1e-12),
            "{what}: sample variance {v} vs stated {var} (se {se_v})"
        );
    } else {
        assert!(
            var == f64::INFINITY,
            "{what}: stated variance {var} is NaN but the mean exists"
        );
    }
}

/// Every value (row-major, `cols` per row) lies in `support`.
pub fn check_in_support(values: &[f64], cols: usize, support: &Support, what: &str) {
    let ok = |x: f64| match support {
        Support::Real | Support::Dependent => x.is_finite(),
        Support::Positive => x > 0.0,
        Support::GreaterThan(low) => x > *low,
        Support::UnitInterval => x > 0.0 && x < 1.0,
        Support::Interval { low, high } => x >= *low && x <= *high,
        Support::Boolean => x == 0.0 || x == 1.0,
        Support::NonNegativeInteger => x >= 0.0 && x.fract() == 0.0,
        Support::IntegerInterval { low, high } => {
            x.fract() == 0.0 && x >= *low as f64 && x <= *high as f64
        }
        Support::Simplex => (0.0..=1.0).contains(&x),
    };
    for (i, &x) in values.iter().enumerate() {
        assert!(
            ok(x),
            "{what}: draw {x} at {i} outside the support {support:?}"
        );
    }
    if *support == Support::Simplex {
        for row in values.chunks(cols) {
            let s: f64 = row.iter().sum();
            assert!((s - 1.0).abs() < 1e-4, "{what}: simplex row sums to {s}");
        }
    }
}

/// Gradient of `sum(w * sample)` with respect to each parameter, by autodiff on
/// `Device::flex().autodiff()`, against central finite differences that reuse the same noise
/// (the same seed), for a reparameterised family.
///
/// * `make` builds the distribution from the parameter tensors (in the order of `params`).
/// * `params`: each parameter's values (row-major) and shape.
/// * `rows`: draws requested from `sample`.
/// * `fd`: the finite-difference step and tolerance (in f32 the error of the difference is
///   about `1e-7 |f| / h`, so `h` around `1e-2` and `rel` around `1e-2`: [`FD_SAMPLE`]).
///
/// `w` is a fixed pseudo-random weight per sample element so that errors cannot cancel.
pub fn check_rsample_grad(
    make: &dyn Fn(Vec<Tensor<2>>) -> Box<dyn Distribution>,
    params: &[(Vec<f64>, [usize; 2])],
    rows: usize,
    seed: u64,
    fd: Fd,
    what: &str,
) {
    let Fd { h, rel, abs } = fd;
    let device = ad();
    let weights = |n: usize| -> Vec<f64> {
        (0..n)
            .map(|i| 0.5 + ((i * 7919) % 13) as f64 / 13.0)
            .collect()
    };
    let objective = |values: &[Vec<f64>], track: bool| -> (f64, Vec<Vec<f64>>) {
        let tensors: Vec<Tensor<2>> = values
            .iter()
            .zip(params)
            .map(|(v, (_, [r, c]))| {
                let t = t2(v, *r, *c, &device);
                if track { t.require_grad() } else { t }
            })
            .collect();
        let dist = make(tensors.clone());
        assert!(
            dist.has_rsample(),
            "{what}: check_rsample_grad needs has_rsample()"
        );
        let mut rng = Rng::seed_from_u64(seed);
        let s = dist.sample(rows, &device, &mut rng);
        let [r, c] = s.dims();
        let w = t2(&weights(r * c), r, c, &device);
        let total = (s * w).sum();
        let value = to_vec(total.clone())[0];
        if !track {
            return (value, Vec::new());
        }
        let grads = total.backward();
        let g = tensors
            .iter()
            .map(|t| to_vec(t.grad(&grads).expect("gradient present")))
            .collect();
        (value, g)
    };
    let base: Vec<Vec<f64>> = params
        .iter()
        .map(|(v, _)| v.iter().map(|&x| x as f32 as f64).collect())
        .collect();
    let (_, grads) = objective(&base, true);
    for (p, g) in grads.iter().enumerate() {
        let mut fd = Vec::with_capacity(g.len());
        for i in 0..g.len() {
            let mut plus = base.clone();
            let mut minus = base.clone();
            plus[p][i] += h;
            minus[p][i] -= h;
            let (fp, _) = objective(&plus, false);
            let (fm, _) = objective(&minus, false);
            fd.push((fp - fm) / (2.0 * h));
        }
        assert_close(g, &fd, rel, abs, &format!("{what}: d sample / d param {p}"));
    }
}

/// Gradient of `sum(log_prob(value))` with respect to each parameter, by autodiff, against
/// central finite differences of `reference(params)` (an f64 reference log density of
/// `values` summed over the rows), with the step and tolerance of `fd` (usually
/// [`FD_LOG_PROB`]).
pub fn check_log_prob_grad(
    make: &dyn Fn(Vec<Tensor<2>>) -> Box<dyn Distribution>,
    params: &[(Vec<f64>, [usize; 2])],
    values: &[f64],
    shape: [usize; 2],
    reference: &dyn Fn(&[Vec<f64>]) -> f64,
    fd: Fd,
    what: &str,
) {
    let Fd { h, rel, abs } = fd;
    let device = ad();
    let base: Vec<Vec<f64>> = params
        .iter()
        .map(|(v, _)| v.iter().map(|&x| x as f32 as f64).collect())
        .collect();
    let tensors: Vec<Tensor<2>> = base
        .iter()
        .zip(params)
        .map(|(v, (_, [r, c]))| t2(v, *r, *c, &device).require_grad())
        .collect();
    let dist = make(tensors.clone());
    let value = t2(values, shape[0], shape[1], &device);
    let grads = dist.log_prob(value).sum().backward();
    for (p, t) in tensors.iter().enumerate() {
        let g = to_vec(t.grad(&grads).expect("gradient present"));
        let fd: Vec<f64> = (0..g.len())
            .map(|i| {
                let mut plus = base.clone();
                let mut minus = base.clone();
                plus[p][i] += h;
                minus[p][i] -= h;
                (reference(&plus) - reference(&minus)) / (2.0 * h)
            })
            .collect();
        assert_close(
            &g,
            &fd,
            rel,
            abs,
            &format!("{what}: d log_prob / d param {p}"),
        );
    }
}

/// [`check_log_prob_grad`] for parameters that all have the value's shape, with an
/// elementwise f64 reference: the log density is `sum_i reference(params at i, value_i)`, each
/// value rounded to f32 as the library sees it.
pub fn check_elementwise_log_prob_grad(
    make: &dyn Fn(Vec<Tensor<2>>) -> Box<dyn Distribution>,
    params: &[Vec<f64>],
    values: &[f64],
    shape: [usize; 2],
    reference: &dyn Fn(&[f64], f64) -> f64,
    fd: Fd,
    what: &str,
) {
    let specs: Vec<(Vec<f64>, [usize; 2])> = params.iter().map(|p| (p.clone(), shape)).collect();
    let total = |ps: &[Vec<f64>]| -> f64 {
        (0..values.len())
            .map(|i| {
                let p: Vec<f64> = ps.iter().map(|p| p[i]).collect();
                reference(&p, r32(values[i]))
            })
            .sum()
    };
    check_log_prob_grad(make, &specs, values, shape, &total, fd, what);
}
