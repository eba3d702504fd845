//! David Ha's toy inverse problem (the InferPy MDN tutorial's data) and its Bayes-optimal
//! predictor.
//!
//! ```text
//! y ~ U(-10.5, 10.5),   x = f(y) + eps,   eps ~ N(0, 1),   f(y) = 7 sin(0.75 y) + 0.5 y
//! ```
//!
//! The task is to predict `y` from `x`. Because `f` is not monotone, `p(y | x)` is multimodal
//! for most `x`, which is what a plain regression net (predicting the conditional mean) gets
//! wrong and a mixture density network gets right.
//!
//! The true conditional density is available in closed form up to a one-dimensional
//! normaliser:
//!
//! ```text
//! p(y | x) = N(x; f(y), 1) / Z(x)   for y in [-10.5, 10.5],
//! Z(x)     = integral_{-10.5}^{10.5} N(x; f(t), 1) dt
//! ```
//!
//! (the uniform prior density cancels). `log Z(x)` is computed in `f64` by composite Simpson
//! in log space (log-sum-exp), the same recipe as the peers' `reference.py`. Nothing in this
//! module uses burn: it is plain `f32`/`f64` code shared by the example and by
//! `tests/toy_reference.rs`.

// Shared by the example and its test; each uses a subset.
#![allow(dead_code)]

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal, Uniform};
use std::sync::OnceLock;

/// Lower end of the support of `y`.
pub const Y_LO: f64 = -10.5;
/// Upper end of the support of `y`.
pub const Y_HI: f64 = 10.5;
/// Number of training points.
pub const N_TRAIN: usize = 5000;
/// Number of test points.
pub const N_TEST: usize = 5000;
/// Seed of the training set (`make_data(N_TRAIN, TRAIN_SEED)`).
pub const TRAIN_SEED: u64 = 1234;
/// Seed of the test set (`make_data(N_TEST, TEST_SEED)`).
pub const TEST_SEED: u64 = 5678;

/// `0.5 * ln(2 pi)`.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;

/// Number of Simpson grid points used by [`true_log_density`] and [`true_density_grid`]
/// (odd; spacing 21 / 20000 = 1.05e-3, far finer than the Simpson error needs: see
/// [`bayes_nll_points`] for the convergence check).
pub const DENSITY_GRID: usize = 20_001;

/// The forward map `f(y) = 7 sin(0.75 y) + 0.5 y`.
pub fn forward(y: f64) -> f64 {
    7.0 * (0.75 * y).sin() + 0.5 * y
}

/// Draws `n` points of the toy data set and returns `(x, y)`.
///
/// Uses `StdRng::seed_from_u64(seed)`, and draws in this order: first all `n` values
/// `y_i ~ U(-10.5, 10.5)` (via `rand_distr::Uniform`, half-open), then all `n` noise values
/// `eps_i ~ N(0, 1)` (via `rand_distr::StandardNormal`). Everything is computed in `f64`,
/// `x_i = f(y_i) + eps_i`, and both are rounded to `f32` at the end (so a `y` just below 10.5
/// may round to exactly 10.5). The output is deterministic for a given `(n, seed)`, and the
/// first `m` points of `make_data(n, seed)` do *not* in general equal `make_data(m, seed)`
/// (the noise stream starts after the `n` uniforms).
pub fn make_data(n: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let uniform = Uniform::new(Y_LO, Y_HI).expect("valid uniform bounds");
    let ys: Vec<f64> = (0..n).map(|_| uniform.sample(&mut rng)).collect();
    let xs: Vec<f32> = ys
        .iter()
        .map(|&y| {
            let eps: f64 = StandardNormal.sample(&mut rng);
            (forward(y) + eps) as f32
        })
        .collect();
    (xs, ys.into_iter().map(|y| y as f32).collect())
}

/// A composite-Simpson rule for `log integral_{lo}^{hi} N(x; g(t), 1) dt`, with `g`
/// tabulated once on the grid so that many `x` can be evaluated cheaply.
#[derive(Debug, Clone)]
pub struct SimpsonGrid {
    /// `g(t_i)` on the `n` equally spaced nodes `t_i = lo + i h`.
    g: Vec<f64>,
    /// Simpson weights `h/3 * (1, 4, 2, 4, ..., 2, 4, 1)`.
    w: Vec<f64>,
}

impl SimpsonGrid {
    /// Tabulates `g` on `n` equally spaced nodes over `[lo, hi]`. `n` must be odd and >= 3
    /// (an even number of intervals, as composite Simpson needs).
    pub fn new(g: impl Fn(f64) -> f64, lo: f64, hi: f64, n: usize) -> Self {
        assert!(
            n >= 3 && n % 2 == 1,
            "Simpson needs an odd number of nodes >= 3, got {n}"
        );
        assert!(hi > lo, "empty interval [{lo}, {hi}]");
        let h = (hi - lo) / (n - 1) as f64;
        let g = (0..n).map(|i| g(lo + i as f64 * h)).collect();
        let w = (0..n)
            .map(|i| {
                let c = if i == 0 || i == n - 1 {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                c * h / 3.0
            })
            .collect();
        Self { g, w }
    }

    /// `log integral N(x; g(t), 1) dt` by Simpson in log space: the largest exponent
    /// `-0.5 (x - g(t_i))^2` is factored out before exponentiating, so the result stays finite
    /// and accurate even when `x` is far from the range of `g` (where `Z` underflows `f64`).
    pub fn log_integral(&self, x: f64) -> f64 {
        // Pass 1: smallest squared residual (vectorisable, no exp).
        let d2min = self
            .g
            .iter()
            .map(|&g| (x - g) * (x - g))
            .fold(f64::INFINITY, f64::min);
        // Pass 2: sum w_i exp(-0.5 (d_i^2 - d2min)); every term is <= w_i, at least one is w_i.
        let s: f64 = self
            .g
            .iter()
            .zip(&self.w)
            .map(|(&g, &w)| w * (-0.5 * ((x - g) * (x - g) - d2min)).exp())
            .sum();
        -0.5 * d2min + s.ln() - HALF_LN_2PI
    }
}

/// `log integral_{lo}^{hi} N(x; g(t), 1) dt` by composite Simpson with `n` nodes (`n` odd),
/// computed in log space. Generic in `g` so that it can be checked against closed forms (e.g.
/// a linear `g`); the toy problem's `log Z(x)` is `log_normaliser(x, forward, -10.5, 10.5, n)`.
/// For many `x` build one [`SimpsonGrid`] instead.
pub fn log_normaliser(x: f64, g: impl Fn(f64) -> f64, lo: f64, hi: f64, n: usize) -> f64 {
    SimpsonGrid::new(g, lo, hi, n).log_integral(x)
}

/// The toy problem's grid with [`DENSITY_GRID`] nodes, built once.
fn density_grid() -> &'static SimpsonGrid {
    static GRID: OnceLock<SimpsonGrid> = OnceLock::new();
    GRID.get_or_init(|| SimpsonGrid::new(forward, Y_LO, Y_HI, DENSITY_GRID))
}

/// `log Z(x)` of the toy problem, `log integral_{-10.5}^{10.5} N(x; f(t), 1) dt`, on the
/// cached [`DENSITY_GRID`]-node Simpson grid.
pub fn log_z(x: f64) -> f64 {
    density_grid().log_integral(x)
}

/// `log p(y | x) = log N(x; f(y), 1) - log Z(x)` of the true conditional density;
/// `-inf` for `y` outside `[-10.5, 10.5]`.
pub fn true_log_density(x: f64, y: f64) -> f64 {
    if !(Y_LO..=Y_HI).contains(&y) {
        return f64::NEG_INFINITY;
    }
    log_normal_residual(x, y) - log_z(x)
}

/// The true `p(y | x)` at each of `ys` (zero outside `[-10.5, 10.5]`), for plotting;
/// `log Z(x)` is computed once.
pub fn true_density_grid(x: f64, ys: &[f64]) -> Vec<f64> {
    let lz = log_z(x);
    ys.iter()
        .map(|&y| {
            if (Y_LO..=Y_HI).contains(&y) {
                (log_normal_residual(x, y) - lz).exp()
            } else {
                0.0
            }
        })
        .collect()
}

/// `log N(x; f(y), 1)`.
fn log_normal_residual(x: f64, y: f64) -> f64 {
    let d = x - forward(y);
    -0.5 * d * d - HALF_LN_2PI
}

/// Per-point `-log p(y_i | x_i)` with `log Z` from a Simpson grid of `n` nodes (`n` odd).
pub fn nll_points_on_grid(x: &[f32], y: &[f32], n: usize) -> Vec<f64> {
    assert_eq!(x.len(), y.len(), "x and y must have the same length");
    let grid = SimpsonGrid::new(forward, Y_LO, Y_HI, n);
    x.iter()
        .zip(y)
        .map(|(&x, &y)| {
            let (x, y) = (x as f64, y as f64);
            assert!((Y_LO..=Y_HI).contains(&y), "y = {y} outside the support");
            grid.log_integral(x) - log_normal_residual(x, y)
        })
        .collect()
}

/// Per-point `-log p(y_i | x_i)` of the true conditional density, with the Simpson grid
/// refined (1001, 2001, 4001, ... nodes: the number of intervals doubles) until the mean
/// moves by less than `1e-9`, as in `reference.py`. Returns the values at the finest grid
/// and that grid's node count. Panics if a `y` lies outside `[-10.5, 10.5]`, or if 2^20 + 1
/// nodes do not converge.
pub fn bayes_nll_points(x: &[f32], y: &[f32]) -> (Vec<f64>, usize) {
    let mut n = 1001;
    let mut prev = nll_points_on_grid(x, y, n);
    loop {
        n = 2 * n - 1;
        assert!(n <= (1 << 20) + 1, "Simpson refinement did not converge");
        let cur = nll_points_on_grid(x, y, n);
        if (mean(&cur) - mean(&prev)).abs() < 1e-9 {
            return (cur, n);
        }
        prev = cur;
    }
}

/// Mean negative log-likelihood of `(x, y)` under the true `p(y | x)`: the Bayes-optimal
/// floor no model can beat in expectation. See [`bayes_nll_points`] for the integration.
pub fn bayes_nll(x: &[f32], y: &[f32]) -> f64 {
    mean(&bayes_nll_points(x, y).0)
}

/// Arithmetic mean (NaN for an empty slice).
pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}
