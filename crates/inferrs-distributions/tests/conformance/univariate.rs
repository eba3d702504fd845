//! Continuous univariate families: HalfNormal, LogNormal, StudentT, Cauchy, HalfCauchy,
//! HalfStudentT, Laplace, Logistic, Uniform, Exponential.
//!
//! References are `statrs` (LogNormal, StudentsT, Cauchy, Laplace, Uniform, Exp; Normal, Cauchy
//! and StudentsT plus `ln 2` for the half-normal, half-Cauchy and half-Student's t) or closed
//! forms written out in f64 (Logistic; the half-Student's t moments with statrs' `ln_gamma`).
//! The half-Cauchy and half-Student's t are also pinned to values computed with mpmath at 40
//! digits (log densities from the closed forms, moments by quadrature). Every reference is evaluated
//! at the f32-rounded inputs the library sees, so a difference is the library's own f32
//! arithmetic, not input rounding.
//!
//! Tolerances:
//! * `log_prob`: [`LP`], `rel = abs = 2e-6`. A log density here is a sum of at most a handful of
//!   f32 terms (a standardised square or `log1p`, `ln(scale)`, a constant), each no larger in
//!   magnitude than about `|log p| + 10` for the values used; each operation rounds by at most
//!   half an f32 ulp (6e-8 relative), so the accumulated error stays within about 16 ulps of
//!   the largest term. StudentT and HalfStudentT get [`T`], `5e-6`: its normaliser (a log-gamma
//!   ratio written with tensor ops, `src/univariate/student_t.rs`) adds about twenty f32
//!   terms, a few of them as large as `|ln df| / 2 + 7` (about 10 at `df = 0.01`, where one
//!   ulp is 1e-6). Observed errors are about one ulp of the result for every family.
//! * sample moments: [`Z_MAX`] standard errors of the estimate, n = 20,000, fixed seeds (the
//!   harness). At that size a scale wrong by a few percent can pass for heavy-tailed families
//!   (the standard error of a Laplace variance is 1.6%), hence the next two checks.
//! * empirical CDF of 10^6 draws at a few points: `Z_MAX` binomial standard errors
//!   `sqrt(p (1 - p) / n)` (at most 0.0025) plus `1/n`; a scale wrong by 2% fails.
//! * stated mean and variance against closed forms (statrs where it has them): `1e-6`
//!   relative (a few f32 roundings of a closed form); NaN and `inf` exactly.
//! * sample gradients: central differences with `h = 1e-2` on the same noise; f32 rounding of
//!   the objective gives an error of about `1e-7 |f| / h`, hence `rel = 1e-2`, `abs = 1e-3`
//!   ([`FD_SAMPLE`]).
//! * log-density gradients: central differences of the f64 reference with `h = 1e-5`
//!   (truncation `h^2 |f'''| / 6 < 1e-9`), against f32 autodiff: `rel = 1e-3`, `abs = 1e-4`,
//!   as for Normal ([`FD_LOG_PROB`]).

use crate::common::{HALF_LN_2PI, ad, assert_close, cpu, t2, to_vec};
use crate::harness::*;
use burn::tensor::Tensor;
use inferrs_distributions::{
    Cauchy, Distribution, Exponential, FromArgs, HalfCauchy, HalfNormal, HalfStudentT, Laplace,
    LogNormal, Logistic, Param, Rng, StudentT, Support, Uniform,
};
use rand::SeedableRng;
use statrs::distribution::{Continuous, ContinuousCDF};
use statrs::statistics::Distribution as _;

const LP: Tol = Tol::new(2e-6, 2e-6);
const T: Tol = Tol::new(5e-6, 5e-6);

/// A family under test: a constructor from parameters (in the constructor's order), an f64
/// reference log density `reference(params, value)` for one element, and its reference
/// `(mean, variance)` (NaN where undefined, `inf` where infinite).
struct Family {
    name: &'static str,
    make: fn(Vec<Param>) -> Box<dyn Distribution>,
    reference: fn(&[f64], f64) -> f64,
    moments: fn(&[f64]) -> (f64, f64),
}

fn tensor_params(grid: &[Vec<f64>], rows: usize, cols: usize) -> Vec<Param> {
    grid.iter()
        .map(|p| Param::Tensor(t2(p, rows, cols, &cpu())))
        .collect()
}

/// `log_prob` against the reference over four batch shapes:
/// (a) scalar parameters, values `[n, 1]`;
/// (b) one parameter row `[1, cols]` (a tensor, then a constant vector) broadcast over value
///     rows `[rows, cols]`;
/// (c) tensor parameters `[rows, cols]`, one row per value row;
/// (d) tensor parameters `[rows, cols]` and one value row `[1, cols]` broadcast over them.
///
/// `grid[p]` holds parameter `p` row-major `[rows, cols]`; `values` is `[rows, cols]`.
fn check_batch_shapes(
    f: &Family,
    scalar: &[f64],
    ys: &[f64],
    grid: &[Vec<f64>],
    values: &[f64],
    [rows, cols]: [usize; 2],
    tol: Tol,
) {
    let round = |v: &[f64]| v.iter().map(|&x| r32(x)).collect::<Vec<_>>();
    // (a)
    let dist = (f.make)(scalar.iter().map(|&x| Param::Scalar(x)).collect());
    assert_eq!((dist.batch_rows(), dist.event_size()), (1, 1), "{}", f.name);
    let exp: Vec<f64> = ys
        .iter()
        .map(|&y| (f.reference)(&round(scalar), r32(y)))
        .collect();
    let what = format!("{} (a) scalar params", f.name);
    check_log_prob(dist.as_ref(), ys, [ys.len(), 1], &exp, tol, &what);

    let param_at = |p: &Vec<f64>, r: usize, c: usize| r32(p[r * cols + c]);
    // Sum over the columns of parameter row `pr` against value row `vr`.
    let row_sum = |pr: usize, vr: usize| -> f64 {
        (0..cols)
            .map(|c| {
                let ps: Vec<f64> = grid.iter().map(|p| param_at(p, pr, c)).collect();
                (f.reference)(&ps, r32(values[vr * cols + c]))
            })
            .sum()
    };
    // (b)
    let first_row: Vec<Vec<f64>> = grid.iter().map(|p| p[..cols].to_vec()).collect();
    let exp: Vec<f64> = (0..rows).map(|r| row_sum(0, r)).collect();
    for (label, params) in [
        ("tensor", tensor_params(&first_row, 1, cols)),
        (
            "vector",
            first_row.iter().map(|p| Param::Vector(p.clone())).collect(),
        ),
    ] {
        let dist = (f.make)(params);
        assert_eq!(
            (dist.batch_rows(), dist.event_size()),
            (1, cols),
            "{}",
            f.name
        );
        let what = format!("{} (b) one {label} row over {rows} value rows", f.name);
        check_log_prob(dist.as_ref(), values, [rows, cols], &exp, tol, &what);
    }
    // (c)
    let dist = (f.make)(tensor_params(grid, rows, cols));
    assert_eq!(
        (dist.batch_rows(), dist.event_size()),
        (rows, cols),
        "{}",
        f.name
    );
    let exp: Vec<f64> = (0..rows).map(|r| row_sum(r, r)).collect();
    let what = format!("{} (c) one parameter row per value row", f.name);
    check_log_prob(dist.as_ref(), values, [rows, cols], &exp, tol, &what);
    // (d)
    let exp: Vec<f64> = (0..rows).map(|r| row_sum(r, 0)).collect();
    let what = format!("{} (d) one value row over parameter rows", f.name);
    check_log_prob(dist.as_ref(), &values[..cols], [1, cols], &exp, tol, &what);
}

/// Gradient of `sum(log_prob)` with respect to tensor parameters (all of `params`' shape
/// `[rows, cols]` as `values`) against central differences of the f64 reference.
fn check_grad_of_log_prob(f: &Family, params: &[Vec<f64>], values: &[f64], shape: [usize; 2]) {
    let make = |ts: Vec<Tensor<2>>| (f.make)(ts.into_iter().map(Param::Tensor).collect());
    check_elementwise_log_prob_grad(
        &make,
        params,
        values,
        shape,
        &f.reference,
        FD_LOG_PROB,
        f.name,
    );
}

/// Gradient of a weighted sum of samples with respect to every tensor parameter against
/// central differences with the same noise.
fn check_grad_of_sample(f: &Family, params: &[Vec<f64>], shape: [usize; 2], seed: u64) {
    let make = |ts: Vec<Tensor<2>>| (f.make)(ts.into_iter().map(Param::Tensor).collect());
    let specs: Vec<(Vec<f64>, [usize; 2])> = params.iter().map(|p| (p.clone(), shape)).collect();
    check_rsample_grad(&make, &specs, shape[0], seed, FD_SAMPLE, f.name);
}

/// The stated `mean` and `variance` of the family built from tensor parameters `[rows, cols]`
/// (and from scalar parameters, the first element of each) against the reference moments,
/// elementwise within `1e-6` relative (f32 evaluation of a closed form); NaN and `inf` must
/// match exactly.
fn check_stated_moments(f: &Family, grid: &[Vec<f64>], [rows, cols]: [usize; 2]) {
    let compare = |dist: &dyn Distribution, n: usize, params_of: &dyn Fn(usize) -> Vec<f64>| {
        let mean = to_vec(dist.mean(&cpu()));
        let var = to_vec(dist.variance(&cpu()));
        assert_eq!((mean.len(), var.len()), (n, n), "{}: moment shapes", f.name);
        for i in 0..n {
            let (m, v) = (f.moments)(&params_of(i));
            for (what, got, want) in [("mean", mean[i], m), ("variance", var[i], v)] {
                let ok = if want.is_finite() {
                    (got - want).abs() <= 1e-6 * want.abs() + 1e-12
                } else {
                    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan())
                };
                assert!(ok, "{} {what}[{i}]: got {got}, expected {want}", f.name);
            }
        }
    };
    let dist = (f.make)(grid.iter().map(|p| Param::Scalar(p[0])).collect());
    compare(dist.as_ref(), 1, &|_| {
        grid.iter().map(|p| r32(p[0])).collect()
    });
    let dist = (f.make)(tensor_params(grid, rows, cols));
    compare(dist.as_ref(), rows * cols, &|i| {
        grid.iter().map(|p| r32(p[i])).collect()
    });
}

/// Draws `n` values (one column) with `seed` and checks their empirical CDF (see
/// [`check_cdf`]). With `n = 10^6` a shift of the law's quantiles by 1-2% of the scale
/// fails, which the moment checks at `n = 20,000` cannot see.
fn check_cdf_of_draws(
    dist: &dyn Distribution,
    n: usize,
    seed: u64,
    points: &[f64],
    cdf: impl Fn(f64) -> f64,
    what: &str,
) {
    let x = to_vec(dist.sample(n, &cpu(), &mut Rng::seed_from_u64(seed)));
    check_in_support(&x, 1, &dist.support(), what);
    check_cdf(&x, points, cdf, what);
}

/// The empirical CDF of `draws` at `points` against `cdf`, within [`Z_MAX`] binomial standard
/// errors: this checks the shape of the law, also where moments do not exist.
fn check_cdf(draws: &[f64], points: &[f64], cdf: impl Fn(f64) -> f64, what: &str) {
    let n = draws.len() as f64;
    for &x in points {
        let p = cdf(x);
        let emp = draws.iter().filter(|&&d| d <= x).count() as f64 / n;
        let se = (p * (1.0 - p) / n).sqrt();
        assert!(
            (emp - p).abs() <= Z_MAX * se + 1.0 / n,
            "{what}: empirical CDF at {x} is {emp}, expected {p} (se {se})"
        );
    }
}

/// `loc` and `scale` `[3, 2]` of the location-scale families' `log_prob` and moment checks.
fn loc_scale_grid() -> Vec<Vec<f64>> {
    vec![
        vec![0.5, -1.0, 0.0, 3.0, -2.0, 10.0],
        vec![2.0, 0.5, 1.0, 0.2, 4.0, 1.3],
    ]
}

/// The sampling, moment and gradient checks of a reparameterised family, with their data.
struct Sampling<'a> {
    /// Scalar parameters of the distribution whose draws are checked.
    scalar: &'a [f64],
    support: Support,
    /// Seeds of the sample moments, the batched sample moments, the sample gradients and the
    /// empirical CDF.
    seeds: [u64; 4],
    /// The CDF of the scalar distribution and where the empirical one is compared with it.
    cdf: &'a dyn Fn(f64) -> f64,
    cdf_points: &'a [f64],
    /// Parameters `[rows, cols]` whose stated moments are compared with the reference.
    stated: (&'a [Vec<f64>], [usize; 2]),
    /// Tensor parameters `[rows, cols]` and the number of draws of the batched moment check.
    batched: (&'a [Vec<f64>], [usize; 2], usize),
    /// Tensor parameters and values `[rows, cols]` of the sample and `log_prob` gradients.
    grads: (&'a [Vec<f64>], &'a [f64], [usize; 2]),
}

/// For the distribution with `s.scalar` parameters: its support, sample moments (20,000
/// draws), empirical CDF (10^6 draws) and seeded draws; the stated moments over `s.stated`;
/// the sample moments of the batched distribution; the gradients of samples and of `log_prob`.
fn check_sampling(f: &Family, s: &Sampling) {
    let [moments_seed, batched_seed, grad_seed, cdf_seed] = s.seeds;
    let d = (f.make)(s.scalar.iter().map(|&x| Param::Scalar(x)).collect());
    assert_eq!(d.support(), s.support, "{}: support", f.name);
    assert!(d.has_rsample(), "{}: reparameterised", f.name);
    check_moments(d.as_ref(), 20_000, moments_seed, f.name);
    check_cdf_of_draws(d.as_ref(), 1_000_000, cdf_seed, s.cdf_points, s.cdf, f.name);
    check_reproducible(d.as_ref(), 16, f.name);
    check_stated_moments(f, s.stated.0, s.stated.1);
    let (grid, [rows, cols], n) = s.batched;
    let batched = (f.make)(tensor_params(grid, rows, cols));
    let what = format!("{} batched", f.name);
    check_moments_batched(batched.as_ref(), n, batched_seed, &what);
    let (params, values, shape) = s.grads;
    check_grad_of_sample(f, params, shape, grad_seed);
    check_grad_of_log_prob(f, params, values, shape);
}

// ---------------------------------------------------------------------------------------------
// HalfNormal

fn half_normal_ref(p: &[f64], y: f64) -> f64 {
    if y < 0.0 {
        return f64::NEG_INFINITY;
    }
    std::f64::consts::LN_2
        + statrs::distribution::Normal::new(0.0, p[0])
            .unwrap()
            .ln_pdf(y)
}

const HALF_NORMAL: Family = Family {
    name: "HalfNormal",
    make: |p| Box::new(HalfNormal::new(p[0].clone()).unwrap()),
    reference: half_normal_ref,
    moments: |p| {
        let pi = std::f64::consts::PI;
        (p[0] * (2.0 / pi).sqrt(), p[0] * p[0] * (1.0 - 2.0 / pi))
    },
};

#[test]
fn half_normal_log_prob() {
    let grid = vec![vec![0.5, 2.0, 1.0, 0.1, 3.0, 7.5]];
    let values = [0.2, 3.1, 0.0, 0.05, 4.4, 1.0];
    let ys = [0.0, 0.3, 1.0, 4.5, 11.0];
    check_batch_shapes(&HALF_NORMAL, &[1.7], &ys, &grid, &values, [3, 2], LP);
}

#[test]
fn half_normal_moments_support_and_gradients() {
    let sd = statrs::distribution::Normal::new(0.0, 1.7).unwrap();
    check_sampling(
        &HALF_NORMAL,
        &Sampling {
            scalar: &[1.7],
            support: Support::Positive,
            seeds: [11, 12, 13, 14],
            cdf: &|t| 2.0 * sd.cdf(t) - 1.0,
            cdf_points: &[0.3, 1.0, 2.0, 4.0],
            stated: (&[vec![1.7, 2.0, 1.0, 0.1, 3.0, 7.5]], [3, 2]),
            batched: (&[vec![0.5, 2.0, 1.0, 0.1, 3.0, 7.5]], [3, 2], 4_000),
            grads: (&[vec![0.7, 2.5, 1.2, 0.3]], &[0.4, 1.0, 3.0, 0.1], [2, 2]),
        },
    );
}

#[test]
fn half_normal_edges_and_errors() {
    let d = HalfNormal::new(2.0).unwrap();
    let lp = to_vec(d.log_prob(t2(&[-0.5, 0.0], 2, 1, &cpu())));
    assert_eq!(lp[0], f64::NEG_INFINITY);
    let at0 = std::f64::consts::LN_2 - 2f64.ln() - HALF_LN_2PI;
    assert_close(&lp[1..], &[at0], LP.rel, LP.abs, "HalfNormal at 0");
    let m = to_vec(d.mean(&cpu()))[0];
    let v = to_vec(d.variance(&cpu()))[0];
    let pi = std::f64::consts::PI;
    assert_close(
        &[m, v],
        &[2.0 * (2.0 / pi).sqrt(), 4.0 * (1.0 - 2.0 / pi)],
        1e-6,
        0.0,
        "moments",
    );
    assert_invalid(HalfNormal::new(-1.0), "HalfNormal", "scale", -1.0);
    assert_invalid(HalfNormal::new(0.0), "HalfNormal", "scale", 0.0);
    assert_invalid(
        HalfNormal::new(vec![1.0, f64::INFINITY]),
        "HalfNormal",
        "scale",
        f64::INFINITY,
    );
    assert_shape_error(HalfNormal::new(Vec::<f64>::new()), "HalfNormal shapes");
    let d = <HalfNormal as FromArgs<_>>::from_args((t2(&[1.0, 2.0], 2, 1, &cpu()),)).unwrap();
    assert_eq!((d.batch_rows(), d.event_size()), (2, 1));
    assert_eq!(d.name(), "HalfNormal");
}

// ---------------------------------------------------------------------------------------------
// LogNormal

const LOG_NORMAL: Family = Family {
    name: "LogNormal",
    make: |p| Box::new(LogNormal::new(p[0].clone(), p[1].clone()).unwrap()),
    reference: |p, y| {
        statrs::distribution::LogNormal::new(p[0], p[1])
            .unwrap()
            .ln_pdf(y)
    },
    moments: |p| {
        let r = statrs::distribution::LogNormal::new(p[0], p[1]).unwrap();
        (r.mean().unwrap(), r.variance().unwrap())
    },
};

#[test]
fn log_normal_log_prob() {
    let grid = vec![
        vec![0.3, -1.0, 2.0, 0.0, 0.5, -0.2],
        vec![0.8, 0.2, 1.5, 0.05, 1.0, 0.6],
    ];
    let values = [1.2, 0.4, 30.0, 1.01, 0.02, 0.9];
    let ys = [0.05, 0.5, 1.0, 3.0, 20.0];
    check_batch_shapes(&LOG_NORMAL, &[0.3, 0.8], &ys, &grid, &values, [3, 2], LP);
}

#[test]
fn log_normal_moments_support_and_gradients() {
    let r = statrs::distribution::LogNormal::new(0.2, 0.5).unwrap();
    check_sampling(
        &LOG_NORMAL,
        &Sampling {
            scalar: &[0.2, 0.5],
            support: Support::Positive,
            seeds: [21, 22, 23, 24],
            cdf: &|t| r.cdf(t),
            cdf_points: &[0.5, 1.0, 1.5, 3.0],
            stated: (
                &[
                    vec![0.2, -1.0, 2.0, 0.0, 0.5, -0.2],
                    vec![0.5, 0.2, 1.5, 1e-3, 1.0, 0.6],
                ],
                [3, 2],
            ),
            batched: (
                &[
                    vec![0.3, -1.0, 2.0, 0.0, 0.5, -0.2],
                    vec![0.4, 0.2, 0.5, 0.05, 0.3, 0.6],
                ],
                [3, 2],
                4_000,
            ),
            grads: (&[vec![0.3, -0.5], vec![0.6, 1.1]], &[1.3, 0.2], [2, 1]),
        },
    );
}

#[test]
fn log_normal_edges_and_errors() {
    // Non-positive values: -inf, and zero (not NaN) gradients for tensor parameters.
    let dev = ad();
    let loc = t2(&[0.1, 0.2, 0.3], 3, 1, &dev).require_grad();
    let scale = t2(&[1.0, 0.5, 2.0], 3, 1, &dev).require_grad();
    let d = LogNormal::new(loc.clone(), scale.clone()).unwrap();
    let lp = d.log_prob(t2(&[0.0, -1.0, 2.0], 3, 1, &dev));
    let v = to_vec(lp.clone());
    assert_eq!(&v[..2], &[f64::NEG_INFINITY; 2]);
    let want = statrs::distribution::LogNormal::new(r32(0.3), 2.0)
        .unwrap()
        .ln_pdf(2.0);
    assert_close(&v[2..], &[want], LP.rel, LP.abs, "LogNormal inside");
    // The sum is -inf, but its gradient is finite: 0 for the masked rows, the Gaussian's
    // (ln y - loc) / scale^2 for the last.
    let g = lp.sum().backward();
    let gl = to_vec(loc.grad(&g).unwrap());
    let want = (2f64.ln() - r32(0.3)) / 4.0;
    assert_close(&gl, &[0.0, 0.0, want], 1e-6, 1e-7, "LogNormal d/dloc");
    assert!(
        to_vec(scale.grad(&g).unwrap())
            .iter()
            .all(|x| x.is_finite())
    );
    // Variance with a tiny scale: the naive exp(s^2) - 1 in f32 loses every digit.
    let d = LogNormal::new(0.5, 1e-3).unwrap();
    let v = to_vec(d.variance(&cpu()))[0];
    let want = (1e-6f64).exp_m1() * (1.0 + 1e-6f64).exp();
    assert_close(&[v], &[want], 1e-5, 0.0, "LogNormal variance, scale 1e-3");
    let m = to_vec(d.mean(&cpu()))[0];
    assert_close(
        &[m],
        &[(0.5 + 0.5e-6f64).exp()],
        1e-6,
        0.0,
        "LogNormal mean",
    );
    assert_invalid(LogNormal::new(0.0, -0.5), "LogNormal", "scale", -0.5);
    assert_invalid(LogNormal::new(f64::NAN, 1.0), "LogNormal", "loc", f64::NAN);
    let dev = cpu();
    assert_shape_error(
        LogNormal::new(
            t2(&[0.0, 1.0], 2, 1, &dev),
            t2(&[1.0, 1.0, 1.0], 3, 1, &dev),
        ),
        "LogNormal shapes",
    );
    let d = <LogNormal as FromArgs<_>>::from_args(((0.0, 1.0),)).unwrap();
    assert_eq!(d.name(), "LogNormal");
    assert!(<LogNormal as FromArgs<_>>::from_args((0.0, 0.0)).is_err());
}

// ---------------------------------------------------------------------------------------------
// StudentT

const STUDENT_T: Family = Family {
    name: "StudentT",
    make: |p| Box::new(StudentT::new(p[0].clone(), p[1].clone(), p[2].clone()).unwrap()),
    reference: |p, y| {
        statrs::distribution::StudentsT::new(p[1], p[2], p[0])
            .unwrap()
            .ln_pdf(y)
    },
    moments: |p| {
        let (df, loc, scale) = (p[0], p[1], p[2]);
        match df {
            df if df <= 1.0 => (f64::NAN, f64::NAN),
            df if df <= 2.0 => (loc, f64::INFINITY),
            df => (loc, scale * scale * df / (df - 2.0)),
        }
    },
};

#[test]
fn student_t_log_prob() {
    // df from 0.3 to 1e6 in the tensor cases (the tensor log-gamma ratio).
    let grid = vec![
        vec![0.3, 1.0, 2.5, 30.0, 1e3, 1e6],
        vec![0.5, -1.0, 0.0, 3.0, -2.0, 0.1],
        vec![2.0, 0.5, 1.0, 0.2, 4.0, 1.3],
    ];
    let values = [0.0, 4.0, -3.0, 2.9, 10.0, -1.5];
    let ys = [-30.0, -2.0, 0.5, 1.0, 7.5];
    check_batch_shapes(&STUDENT_T, &[3.5, 0.5, 2.0], &ys, &grid, &values, [3, 2], T);
    // A sweep of constant df (the host log-gamma ratio in f64).
    for df in [0.01, 0.5, 1.0, 3.0, 17.5, 1e3, 1e6] {
        let d = StudentT::new(df, 0.5, 2.0).unwrap();
        let exp: Vec<f64> = ys
            .iter()
            .map(|&y| (STUDENT_T.reference)(&[df, 0.5, 2.0], y))
            .collect();
        check_log_prob(&d, &ys, [5, 1], &exp, T, &format!("StudentT df {df}"));
    }
}

#[test]
fn student_t_moments_support_and_gradients() {
    let d = StudentT::new(10.0, 0.5, 2.0).unwrap();
    assert_eq!(d.support(), Support::Real);
    check_moments(&d, 20_000, 31, "StudentT df 10");
    let r = statrs::distribution::StudentsT::new(0.5, 2.0, 10.0).unwrap();
    let points = [-3.0, 0.0, 0.5, 2.0, 5.0];
    check_cdf_of_draws(&d, 1_000_000, 36, &points, |t| r.cdf(t), "StudentT df 10");
    // Infinite variance and no mean: the harness checks draws are finite; the CDF checks the law.
    for (df, seed) in [(1.5, 32), (0.8, 33)] {
        let d = StudentT::new(df, 0.0, 1.0).unwrap();
        let what = format!("StudentT df {df}");
        check_moments(&d, 20_000, seed, &what);
        let r = statrs::distribution::StudentsT::new(0.0, 1.0, df).unwrap();
        let points = [-5.0, -1.0, 0.0, 0.7, 3.0];
        check_cdf_of_draws(&d, 1_000_000, seed + 100, &points, |t| r.cdf(t), &what);
    }
    let grid = [
        vec![10.0, 0.8, 1.0, 1.5, 2.0, 5.0],
        vec![0.5, -1.0, 0.0, 3.0, -2.0, 0.1],
        vec![2.0, 0.5, 1.0, 0.2, 4.0, 1.3],
    ];
    check_stated_moments(&STUDENT_T, &grid, [3, 2]);
    let dev = cpu();
    let batched = StudentT::new(
        t2(&[9.0, 12.0, 30.0, 1.5, 10.0, 100.0], 3, 2, &dev),
        t2(&[0.5, -1.0, 0.0, 3.0, -2.0, 0.1], 3, 2, &dev),
        t2(&[2.0, 0.5, 1.0, 0.2, 4.0, 1.3], 3, 2, &dev),
    )
    .unwrap();
    check_moments_batched(&batched, 4_000, 34, "StudentT batched");
    check_reproducible(&d, 16, "StudentT");
    assert!(d.has_rsample(), "StudentT: reparameterised");
    // Reparameterised in loc and scale (df constant).
    let make = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(StudentT::new(4.0, p[0].clone(), p[1].clone()).unwrap())
    };
    check_rsample_grad(
        &make,
        &[(vec![0.3, -1.0], [2, 1]), (vec![1.5, 0.7], [2, 1])],
        2,
        35,
        FD_SAMPLE,
        "StudentT",
    );
    // log_prob is differentiable in df too (through the tensor log-gamma ratio).
    let params = [
        vec![0.7, 3.0, 40.0],
        vec![0.3, -1.0, 2.0],
        vec![1.5, 0.7, 3.0],
    ];
    check_grad_of_log_prob(&STUDENT_T, &params, &[0.1, 0.9, -4.0], [3, 1]);
}

#[test]
fn student_t_tensor_df_gets_no_sample_gradient() {
    let dev = ad();
    let df = t2(&[3.0, 5.0], 2, 1, &dev).require_grad();
    let loc = t2(&[0.0, 1.0], 2, 1, &dev).require_grad();
    let d = StudentT::new(df.clone(), loc.clone(), 1.0).unwrap();
    let s = d.sample(2, &dev, &mut Rng::seed_from_u64(1));
    let g = s.sum().backward();
    assert!(df.grad(&g).is_none(), "df must get no gradient from sample");
    assert_eq!(to_vec(loc.grad(&g).unwrap()), vec![1.0, 1.0]);
}

#[test]
fn student_t_moments_where_undefined_and_errors() {
    let dev = cpu();
    let d = StudentT::new(
        t2(&[0.8, 1.0, 1.5, 2.0, 5.0], 5, 1, &dev),
        t2(&[1.0, 1.0, 1.0, 1.0, 1.0], 5, 1, &dev),
        3.0,
    )
    .unwrap();
    let m = to_vec(d.mean(&dev));
    assert!(m[0].is_nan() && m[1].is_nan());
    assert_eq!(&m[2..], &[1.0, 1.0, 1.0]);
    let v = to_vec(d.variance(&dev));
    assert!(v[0].is_nan() && v[1].is_nan());
    assert_eq!(&v[2..4], &[f64::INFINITY, f64::INFINITY]);
    assert_close(
        &v[4..],
        &[9.0 * 5.0 / 3.0],
        1e-6,
        0.0,
        "StudentT variance df 5",
    );
    // Scalar df: same semantics.
    let d = StudentT::new(1.0, 0.0, 1.0).unwrap();
    assert!(to_vec(d.mean(&dev))[0].is_nan());
    // Far tails stay finite: -(df + 1)/2 log1p(z^2/df) with z = 1e6.
    let d = StudentT::new(3.0, 0.0, 1.0).unwrap();
    let lp = to_vec(d.log_prob(t2(&[1e6], 1, 1, &dev)))[0];
    let want = (STUDENT_T.reference)(&[3.0, 0.0, 1.0], 1e6);
    assert_close(&[lp], &[want], T.rel, T.abs, "StudentT far tail");
    assert_invalid(StudentT::new(0.0, 0.0, 1.0), "StudentT", "df", 0.0);
    assert_invalid(
        StudentT::new(f64::INFINITY, 0.0, 1.0),
        "StudentT",
        "df",
        f64::INFINITY,
    );
    assert_invalid(StudentT::new(3.0, 0.0, -2.0), "StudentT", "scale", -2.0);
    assert_shape_error(
        StudentT::new(vec![1.0, 2.0], vec![0.0, 0.0, 0.0], 1.0),
        "StudentT shapes",
    );
    let d = <StudentT as FromArgs<_>>::from_args((3.0, 0.0, 1.0)).unwrap();
    assert_eq!(d.df().constants(), Some(&[3.0][..]));
    assert!(<StudentT as FromArgs<_>>::from_args(((3.0, 0.0, 1.0),)).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Cauchy

const CAUCHY: Family = Family {
    name: "Cauchy",
    make: |p| Box::new(Cauchy::new(p[0].clone(), p[1].clone()).unwrap()),
    reference: |p, y| {
        statrs::distribution::Cauchy::new(p[0], p[1])
            .unwrap()
            .ln_pdf(y)
    },
    moments: |_| (f64::NAN, f64::NAN),
};

#[test]
fn cauchy_log_prob() {
    let grid = loc_scale_grid();
    let values = [0.0, 4.0, -3.0, 2.9, 100.0, -1.5];
    let ys = [-30.0, -2.0, 0.5, 1.0, 7.5];
    check_batch_shapes(&CAUCHY, &[0.5, 2.0], &ys, &grid, &values, [3, 2], LP);
}

#[test]
fn cauchy_moments_support_and_gradients() {
    // No mean: the harness checks the draws are finite; the CDF checks the law (the quartiles
    // are loc -+ scale).
    let r = statrs::distribution::Cauchy::new(0.5, 2.0).unwrap();
    let grid = [vec![0.0, 5.0], vec![1.0, 0.1]];
    check_sampling(
        &CAUCHY,
        &Sampling {
            scalar: &[0.5, 2.0],
            support: Support::Real,
            seeds: [41, 42, 43, 44],
            cdf: &|t| r.cdf(t),
            cdf_points: &[-10.0, -1.5, 0.5, 2.5, 20.0],
            stated: (&grid, [2, 1]),
            batched: (&grid, [2, 1], 2_000),
            grads: (&[vec![0.3, -1.0], vec![1.5, 0.7]], &[0.1, 3.0], [2, 1]),
        },
    );
    let d = Cauchy::new(0.5, 2.0).unwrap();
    assert!(to_vec(d.mean(&cpu()))[0].is_nan());
    assert!(to_vec(d.variance(&cpu()))[0].is_nan());
    assert_invalid(Cauchy::new(0.0, 0.0), "Cauchy", "scale", 0.0);
    assert_invalid(
        Cauchy::new(f64::NEG_INFINITY, 1.0),
        "Cauchy",
        "loc",
        f64::NEG_INFINITY,
    );
    assert!(<Cauchy as FromArgs<_>>::from_args((0.0, 1.0)).is_ok());
    assert!(<Cauchy as FromArgs<_>>::from_args(((0.0, 1.0),)).is_ok());
}

// ---------------------------------------------------------------------------------------------
// HalfCauchy

fn half_cauchy_ref(p: &[f64], y: f64) -> f64 {
    if y < 0.0 {
        return f64::NEG_INFINITY;
    }
    std::f64::consts::LN_2
        + statrs::distribution::Cauchy::new(0.0, p[0])
            .unwrap()
            .ln_pdf(y)
}

const HALF_CAUCHY: Family = Family {
    name: "HalfCauchy",
    make: |p| Box::new(HalfCauchy::new(p[0].clone()).unwrap()),
    reference: half_cauchy_ref,
    moments: |_| (f64::INFINITY, f64::INFINITY),
};

/// `(scale, value, log density)` of the half-Cauchy computed with mpmath at 40 digits (rounded
/// to the nearest f64),
/// `ln 2 - ln(pi) - ln(scale) - ln(1 + (value / scale)^2)`, independently of statrs (every input
/// is exact in f32).
const HALF_CAUCHY_MPMATH: [(f64, f64, f64); 7] = [
    (5.0, 0.0, -2.061_020_617_723_555),
    (5.0, 1.0, -2.100_241_330_876_836_6),
    (5.0, 5.0, -2.754_167_798_283_500_4),
    (5.0, 20.0, -4.894_233_961_779_771),
    (5.0, 100.0, -8.054_982_045_030_124),
    (0.5, 3.0, -3.369_353_437_373_734),
    (2.0, 0.25, -1.160_234_072_385_365_5),
];

#[test]
fn half_cauchy_log_prob() {
    let grid = vec![vec![0.5, 2.0, 1.0, 0.1, 3.0, 7.5]];
    let values = [0.2, 3.1, 0.0, 0.05, 44.0, 1.0];
    let ys = [0.0, 0.3, 1.0, 4.5, 110.0];
    check_batch_shapes(&HALF_CAUCHY, &[1.7], &ys, &grid, &values, [3, 2], LP);
    // Pinned mpmath values: the statrs reference to 1e-14, the library within LP.
    for (scale, y, want) in HALF_CAUCHY_MPMATH {
        let r = half_cauchy_ref(&[scale], y);
        assert!(
            (r - want).abs() <= 1e-14 * want.abs(),
            "statrs {r} vs {want}"
        );
        let d = HalfCauchy::new(scale).unwrap();
        let what = format!("HalfCauchy({scale}) at {y} (mpmath)");
        check_log_prob(&d, &[y], [1, 1], &[want], LP, &what);
    }
}

#[test]
fn half_cauchy_moments_support_and_gradients() {
    // Infinite mean: the harness checks the draws are finite and positive; the CDF
    // `2 / pi atan(x / scale)` checks the law (the median is the scale).
    let cdf = |t: f64| 2.0 / std::f64::consts::PI * (t / 5.0).atan();
    check_sampling(
        &HALF_CAUCHY,
        &Sampling {
            scalar: &[5.0],
            support: Support::Positive,
            seeds: [91, 92, 93, 94],
            cdf: &cdf,
            cdf_points: &[0.5, 2.0, 5.0, 12.0, 60.0],
            stated: (&[vec![5.0, 2.0, 1.0, 0.1, 3.0, 7.5]], [3, 2]),
            batched: (&[vec![0.5, 2.0, 1.0, 0.1, 3.0, 7.5]], [3, 2], 2_000),
            grads: (&[vec![0.7, 2.5, 1.2, 0.3]], &[0.4, 1.0, 3.0, 0.1], [2, 2]),
        },
    );
}

#[test]
fn half_cauchy_edges_and_errors() {
    let d = HalfCauchy::new(5.0).unwrap();
    let lp = to_vec(d.log_prob(t2(&[-0.5, 0.0], 2, 1, &cpu())));
    assert_eq!(lp[0], f64::NEG_INFINITY);
    let at0 = std::f64::consts::LN_2 - std::f64::consts::PI.ln() - 5f64.ln();
    assert_close(&lp[1..], &[at0], LP.rel, LP.abs, "HalfCauchy at 0");
    assert_eq!(to_vec(d.mean(&cpu())), vec![f64::INFINITY]);
    assert_eq!(to_vec(d.variance(&cpu())), vec![f64::INFINITY]);
    // A negative value: -inf, and a zero (not NaN) gradient for a tensor scale.
    let dev = ad();
    let scale = t2(&[2.0, 3.0], 2, 1, &dev).require_grad();
    let d = HalfCauchy::new(scale.clone()).unwrap();
    let lp = d.log_prob(t2(&[-1.0, 1.5], 2, 1, &dev));
    assert_eq!(to_vec(lp.clone())[0], f64::NEG_INFINITY);
    let g = to_vec(scale.grad(&lp.sum().backward()).unwrap());
    // d/ds [-ln s - ln(1 + y^2 / s^2)] = -1/s + 2 y^2 / (s (s^2 + y^2)) at s = 3, y = 1.5.
    let want = -1.0 / 3.0 + 2.0 * 2.25 / (3.0 * (9.0 + 2.25));
    assert_close(&g, &[0.0, want], 1e-6, 1e-7, "HalfCauchy d/dscale");
    assert_invalid(HalfCauchy::new(-1.0), "HalfCauchy", "scale", -1.0);
    assert_invalid(HalfCauchy::new(0.0), "HalfCauchy", "scale", 0.0);
    assert_invalid(
        HalfCauchy::new(vec![1.0, f64::INFINITY]),
        "HalfCauchy",
        "scale",
        f64::INFINITY,
    );
    assert_invalid(HalfCauchy::new(f64::NAN), "HalfCauchy", "scale", f64::NAN);
    assert_shape_error(HalfCauchy::new(Vec::<f64>::new()), "HalfCauchy shapes");
    let d = <HalfCauchy as FromArgs<_>>::from_args((t2(&[1.0, 2.0], 2, 1, &cpu()),)).unwrap();
    assert_eq!((d.batch_rows(), d.event_size()), (2, 1));
    assert_eq!(d.name(), "HalfCauchy");
    let d = <HalfCauchy as FromArgs<_>>::from_args((5.0,)).unwrap();
    assert_eq!(d.scale().constants(), Some(&[5.0][..]));
}

// ---------------------------------------------------------------------------------------------
// HalfStudentT

fn half_student_t_ref(p: &[f64], y: f64) -> f64 {
    if y < 0.0 {
        return f64::NEG_INFINITY;
    }
    std::f64::consts::LN_2
        + statrs::distribution::StudentsT::new(0.0, p[1], p[0])
            .unwrap()
            .ln_pdf(y)
}

/// `(mean, variance)` of `HalfStudentT(df, scale)` from the closed forms with statrs'
/// `ln_gamma`: mean `2 scale sqrt(df / pi) Gamma((df + 1) / 2) / (Gamma(df / 2) (df - 1))`
/// (`df > 1`, `inf` otherwise), variance `scale^2 df / (df - 2) - mean^2` (`df > 2`, `inf`
/// otherwise).
fn half_student_t_moments(p: &[f64]) -> (f64, f64) {
    use statrs::function::gamma::ln_gamma;
    let (df, scale) = (p[0], p[1]);
    if df <= 1.0 {
        return (f64::INFINITY, f64::INFINITY);
    }
    let ratio = (ln_gamma((df + 1.0) / 2.0) - ln_gamma(df / 2.0)).exp();
    let mean = 2.0 * scale * (df / std::f64::consts::PI).sqrt() * ratio / (df - 1.0);
    if df <= 2.0 {
        return (mean, f64::INFINITY);
    }
    (mean, scale * scale * df / (df - 2.0) - mean * mean)
}

const HALF_STUDENT_T: Family = Family {
    name: "HalfStudentT",
    make: |p| Box::new(HalfStudentT::new(p[0].clone(), p[1].clone()).unwrap()),
    reference: half_student_t_ref,
    moments: half_student_t_moments,
};

/// `(df, scale, value, log density)` of the half-Student's t computed with mpmath at 40
/// digits (rounded to the nearest f64) from
/// `ln 2 + lnGamma((df + 1) / 2) - lnGamma(df / 2) - ln(df pi) / 2 - ln(scale) -
/// (df + 1) / 2 ln(1 + (value / scale)^2 / df)`, independently of statrs (every input is exact in f32).
const HALF_STUDENT_T_MPMATH: [(f64, f64, f64, f64); 9] = [
    (3.0, 2.0, 0.0, -1.000_888_849_623_509_8),
    (3.0, 2.0, 0.5, -1.042_127_424_028_981),
    (3.0, 2.0, 2.0, -1.576_252_994_527_071_6),
    (3.0, 2.0, 10.0, -5.468_073_292_637_698_5),
    (0.5, 1.0, 0.25, -0.705_723_022_093_851_8),
    (0.5, 1.0, 40.0, -6.670_799_650_328_962),
    (1.0, 5.0, 5.0, -2.754_167_798_283_500_4),
    (30.0, 1.5, 3.0, -2.579_616_968_714_158),
    (4.0, 0.25, 1.0, -2.924_982_492_417_141_3),
];

/// `(df, scale, mean, variance)` of the half-Student's t from the closed forms with mpmath at 40
/// digits (rounded to the nearest f64), which mpmath quadrature of `x p(x)` and `x^2 p(x)` over
/// `[0, inf)` reproduces to 20 digits (NaN: the variance is infinite).
const HALF_STUDENT_T_MOMENTS_MPMATH: [(f64, f64, f64, f64); 6] = [
    (3.0, 2.0, 2.205_315_581_687_168_3, 7.136_583_185_167_787),
    (5.0, 1.25, 1.186_270_905_695_295_1, 1.196_928_004_967_531),
    (2.5, 1.0, 1.206_029_080_098_55, 3.545_493_857_956_645),
    (1.5, 1.0, 2.044_409_887_732_162, f64::NAN),
    (10.0, 0.5, 0.432_342_648_851_145_6, 0.125_579_833_984_375),
    (
        100.0,
        1.0,
        0.803_931_690_779_583_5,
        0.374_101_999_825_586_34,
    ),
];

#[test]
fn half_student_t_log_prob() {
    // df from 0.3 to 1e6 in the tensor cases (the tensor log-gamma ratio).
    let grid = vec![
        vec![0.3, 1.0, 2.5, 30.0, 1e3, 1e6],
        vec![2.0, 0.5, 1.0, 0.2, 4.0, 1.3],
    ];
    let values = [0.0, 4.0, 3.0, 2.9, 10.0, 1.5];
    let ys = [0.0, 0.5, 2.0, 7.5, 30.0];
    check_batch_shapes(&HALF_STUDENT_T, &[3.5, 2.0], &ys, &grid, &values, [3, 2], T);
    // A sweep of constant df (the host log-gamma ratio in f64).
    for df in [0.01, 0.5, 1.0, 3.0, 17.5, 1e3, 1e6] {
        let d = HalfStudentT::new(df, 2.0).unwrap();
        let exp: Vec<f64> = ys
            .iter()
            .map(|&y| half_student_t_ref(&[df, 2.0], y))
            .collect();
        check_log_prob(&d, &ys, [5, 1], &exp, T, &format!("HalfStudentT df {df}"));
    }
    // Pinned mpmath values: the statrs reference to 1e-13, the library within T (constant and
    // tensor df).
    for (df, scale, y, want) in HALF_STUDENT_T_MPMATH {
        let r = half_student_t_ref(&[df, scale], y);
        assert!(
            (r - want).abs() <= 1e-13 * want.abs(),
            "statrs {r} vs {want}"
        );
        let what = format!("HalfStudentT({df}, {scale}) at {y} (mpmath)");
        let d = HalfStudentT::new(df, scale).unwrap();
        check_log_prob(&d, &[y], [1, 1], &[want], T, &what);
        let d = HalfStudentT::new(t2(&[df], 1, 1, &cpu()), scale).unwrap();
        check_log_prob(&d, &[y], [1, 1], &[want], T, &format!("{what}, tensor df"));
    }
    // df = 1 is the half-Cauchy.
    let t = HalfStudentT::new(1.0, 5.0).unwrap();
    let c = HalfCauchy::new(5.0).unwrap();
    let ys = [0.0, 1.0, 5.0, 20.0, 100.0];
    let want = to_vec(c.log_prob(t2(&ys, 5, 1, &cpu())));
    check_log_prob(&t, &ys, [5, 1], &want, T, "HalfStudentT(1) = HalfCauchy");
}

#[test]
fn half_student_t_moments_support_and_gradients() {
    let d = HalfStudentT::new(10.0, 2.0).unwrap();
    assert_eq!(d.support(), Support::Positive);
    assert!(d.has_rsample(), "HalfStudentT: reparameterised");
    check_moments(&d, 20_000, 101, "HalfStudentT df 10");
    // The CDF of |t| is 2 F(x) - 1 with F the Student's t CDF.
    let r = statrs::distribution::StudentsT::new(0.0, 2.0, 10.0).unwrap();
    let points = [0.3, 1.0, 2.0, 4.0, 7.0];
    let cdf = |t: f64| 2.0 * r.cdf(t) - 1.0;
    check_cdf_of_draws(&d, 1_000_000, 106, &points, cdf, "HalfStudentT df 10");
    // Infinite variance (df 1.5) and infinite mean (df 0.8): the harness checks the draws are
    // finite and positive; the CDF checks the law.
    for (df, seed) in [(1.5, 102), (0.8, 103)] {
        let d = HalfStudentT::new(df, 1.0).unwrap();
        let what = format!("HalfStudentT df {df}");
        check_moments(&d, 20_000, seed, &what);
        let r = statrs::distribution::StudentsT::new(0.0, 1.0, df).unwrap();
        let points = [0.1, 0.7, 1.0, 3.0, 10.0];
        let cdf = |t: f64| 2.0 * r.cdf(t) - 1.0;
        check_cdf_of_draws(&d, 1_000_000, seed + 100, &points, cdf, &what);
    }
    let grid = [
        vec![10.0, 0.8, 1.0, 1.5, 2.0, 5.0],
        vec![2.0, 0.5, 1.0, 0.2, 4.0, 1.3],
    ];
    check_stated_moments(&HALF_STUDENT_T, &grid, [3, 2]);
    let grid = [
        vec![3.0, 30.0, 2.5, 1e3, 4.5, 1e5],
        vec![2.0, 0.5, 1.0, 0.2, 4.0, 1.3],
    ];
    check_stated_moments(&HALF_STUDENT_T, &grid, [3, 2]);
    let dev = cpu();
    let batched = HalfStudentT::new(
        t2(&[9.0, 12.0, 30.0, 1.5, 10.0, 100.0], 3, 2, &dev),
        t2(&[2.0, 0.5, 1.0, 0.2, 4.0, 1.3], 3, 2, &dev),
    )
    .unwrap();
    check_moments_batched(&batched, 4_000, 104, "HalfStudentT batched");
    check_reproducible(&d, 16, "HalfStudentT");
    // Reparameterised in scale (df constant).
    let make = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(HalfStudentT::new(4.0, p[0].clone()).unwrap())
    };
    check_rsample_grad(
        &make,
        &[(vec![1.5, 0.7, 0.2, 3.0], [2, 2])],
        2,
        105,
        FD_SAMPLE,
        "HalfStudentT",
    );
    // log_prob is differentiable in df too (through the tensor log-gamma ratio).
    let params = [vec![0.7, 3.0, 40.0], vec![1.5, 0.7, 3.0]];
    check_grad_of_log_prob(&HALF_STUDENT_T, &params, &[0.1, 0.9, 4.0], [3, 1]);
}

#[test]
fn half_student_t_moments_against_quadrature() {
    for (df, scale, mean, var) in HALF_STUDENT_T_MOMENTS_MPMATH {
        // The closed-form reference against the quadrature.
        let (m, v) = half_student_t_moments(&[df, scale]);
        assert!(
            (m - mean).abs() <= 1e-12 * mean,
            "reference mean {m} vs {mean}"
        );
        if var.is_nan() {
            assert_eq!(v, f64::INFINITY);
        } else {
            assert!(
                (v - var).abs() <= 1e-12 * var,
                "reference variance {v} vs {var}"
            );
        }
        // The library, constant and tensor df: a few f32 roundings of the closed form.
        for d in [
            HalfStudentT::new(df, scale).unwrap(),
            HalfStudentT::new(t2(&[df], 1, 1, &cpu()), t2(&[scale], 1, 1, &cpu())).unwrap(),
        ] {
            let got_m = to_vec(d.mean(&cpu()))[0];
            let got_v = to_vec(d.variance(&cpu()))[0];
            let what = format!("HalfStudentT({df}, {scale}) moments");
            assert_close(&[got_m], &[mean], 1e-6, 0.0, &what);
            if var.is_nan() {
                assert_eq!(got_v, f64::INFINITY, "{what}");
            } else {
                assert_close(&[got_v], &[var], 1e-6, 0.0, &what);
            }
        }
    }
}

#[test]
fn half_student_t_tensor_df_gradients() {
    // Sample: no gradient to df, the draw itself to scale (samples are scale * |t|).
    let dev = ad();
    let df = t2(&[3.0, 5.0], 2, 1, &dev).require_grad();
    let scale = t2(&[1.0, 2.0], 2, 1, &dev).require_grad();
    let d = HalfStudentT::new(df.clone(), scale.clone()).unwrap();
    let s = d.sample(2, &dev, &mut Rng::seed_from_u64(1));
    let draws = to_vec(s.clone());
    let g = s.sum().backward();
    assert!(df.grad(&g).is_none(), "df must get no gradient from sample");
    let want = [draws[0] / 1.0, draws[1] / 2.0];
    assert_close(
        &to_vec(scale.grad(&g).unwrap()),
        &want,
        1e-6,
        0.0,
        "d/dscale",
    );
    // The mean is differentiable in df, with zero (not NaN) gradients where it is infinite
    // (df <= 1): against central differences of the f64 closed form.
    let df = t2(&[0.8, 3.0, 12.0], 3, 1, &dev).require_grad();
    let d = HalfStudentT::new(df.clone(), 1.5).unwrap();
    let mean = d.mean(&dev);
    assert_eq!(to_vec(mean.clone())[0], f64::INFINITY);
    let g = to_vec(df.grad(&mean.sum().backward()).unwrap());
    let h = 1e-5;
    let fd = |x: f64| {
        (half_student_t_moments(&[x + h, 1.5]).0 - half_student_t_moments(&[x - h, 1.5]).0)
            / (2.0 * h)
    };
    assert_close(
        &g,
        &[0.0, fd(3.0), fd(12.0)],
        FD_LOG_PROB.rel,
        FD_LOG_PROB.abs,
        "d mean / d df",
    );
    let var = d.variance(&dev);
    let g = to_vec(df.grad(&var.sum().backward()).unwrap());
    let fd = |x: f64| {
        (half_student_t_moments(&[x + h, 1.5]).1 - half_student_t_moments(&[x - h, 1.5]).1)
            / (2.0 * h)
    };
    assert_close(
        &g,
        &[0.0, fd(3.0), fd(12.0)],
        FD_LOG_PROB.rel,
        FD_LOG_PROB.abs,
        "d variance / d df",
    );
}

#[test]
fn half_student_t_edges_and_errors() {
    let d = HalfStudentT::new(3.0, 2.0).unwrap();
    let lp = to_vec(d.log_prob(t2(&[-0.5, 0.0], 2, 1, &cpu())));
    assert_eq!(lp[0], f64::NEG_INFINITY);
    assert_close(
        &lp[1..],
        &[HALF_STUDENT_T_MPMATH[0].3],
        T.rel,
        T.abs,
        "HalfStudentT at 0",
    );
    // Far tail stays finite: -(df + 1)/2 log1p(z^2/df) with z = 1e6.
    let lp = to_vec(d.log_prob(t2(&[2e6], 1, 1, &cpu())))[0];
    let want = half_student_t_ref(&[3.0, 2.0], 2e6);
    assert_close(&[lp], &[want], T.rel, T.abs, "HalfStudentT far tail");
    // A negative value: -inf, and zero (not NaN) gradients for tensor df and scale.
    let dev = ad();
    let df = t2(&[3.0, 3.0], 2, 1, &dev).require_grad();
    let scale = t2(&[2.0, 2.0], 2, 1, &dev).require_grad();
    let d = HalfStudentT::new(df.clone(), scale.clone()).unwrap();
    let lp = d.log_prob(t2(&[-1.0, 1.5], 2, 1, &dev));
    assert_eq!(to_vec(lp.clone())[0], f64::NEG_INFINITY);
    let g = lp.sum().backward();
    for (name, t) in [("df", &df), ("scale", &scale)] {
        let grad = to_vec(t.grad(&g).unwrap());
        assert_eq!(grad[0], 0.0, "d/d{name} at a negative value");
        assert!(grad[1].is_finite() && grad[1] != 0.0, "d/d{name} inside");
    }
    // Moments where they are infinite.
    let d = HalfStudentT::new(vec![0.5, 1.0, 1.5, 2.0], 1.0).unwrap();
    assert_eq!(to_vec(d.mean(&cpu()))[..2], [f64::INFINITY, f64::INFINITY]);
    assert_eq!(to_vec(d.variance(&cpu())), vec![f64::INFINITY; 4]);
    assert_invalid(HalfStudentT::new(0.0, 1.0), "HalfStudentT", "df", 0.0);
    assert_invalid(HalfStudentT::new(-2.0, 1.0), "HalfStudentT", "df", -2.0);
    assert_invalid(
        HalfStudentT::new(f64::INFINITY, 1.0),
        "HalfStudentT",
        "df",
        f64::INFINITY,
    );
    assert_invalid(
        HalfStudentT::new(vec![3.0, f64::NAN], 1.0),
        "HalfStudentT",
        "df",
        f64::NAN,
    );
    assert_invalid(HalfStudentT::new(3.0, -2.0), "HalfStudentT", "scale", -2.0);
    assert_invalid(HalfStudentT::new(3.0, 0.0), "HalfStudentT", "scale", 0.0);
    assert_shape_error(
        HalfStudentT::new(vec![1.0, 2.0], vec![1.0, 1.0, 1.0]),
        "HalfStudentT shapes",
    );
    assert_shape_error(
        HalfStudentT::new(Vec::<f64>::new(), 1.0),
        "HalfStudentT empty",
    );
    let d = <HalfStudentT as FromArgs<_>>::from_args((3.0, 5.0)).unwrap();
    assert_eq!(d.df().constants(), Some(&[3.0][..]));
    assert_eq!(d.scale().constants(), Some(&[5.0][..]));
    assert_eq!(d.name(), "HalfStudentT");
    assert!(<HalfStudentT as FromArgs<_>>::from_args(((3.0, 1.0),)).is_ok());
    assert!(<HalfStudentT as FromArgs<_>>::from_args((3.0, -1.0)).is_err());
}

// ---------------------------------------------------------------------------------------------
// Laplace

const LAPLACE: Family = Family {
    name: "Laplace",
    make: |p| Box::new(Laplace::new(p[0].clone(), p[1].clone()).unwrap()),
    reference: |p, y| {
        statrs::distribution::Laplace::new(p[0], p[1])
            .unwrap()
            .ln_pdf(y)
    },
    moments: |p| {
        let r = statrs::distribution::Laplace::new(p[0], p[1]).unwrap();
        (r.mean().unwrap(), r.variance().unwrap())
    },
};

#[test]
fn laplace_log_prob() {
    let grid = loc_scale_grid();
    let values = [0.0, 4.0, -3.0, 2.9, 30.0, 10.0];
    let ys = [-30.0, -2.0, 0.5, 1.0, 7.5];
    check_batch_shapes(&LAPLACE, &[0.5, 2.0], &ys, &grid, &values, [3, 2], LP);
}

#[test]
fn laplace_moments_support_and_gradients() {
    let r = statrs::distribution::Laplace::new(0.5, 2.0).unwrap();
    let grid = loc_scale_grid();
    check_sampling(
        &LAPLACE,
        &Sampling {
            scalar: &[0.5, 2.0],
            support: Support::Real,
            seeds: [51, 52, 53, 54],
            cdf: &|t| r.cdf(t),
            cdf_points: &[-4.0, -0.5, 0.5, 1.0, 6.0],
            stated: (&grid, [3, 2]),
            batched: (&grid, [3, 2], 4_000),
            grads: (&[vec![0.3, -1.0], vec![1.5, 0.7]], &[0.1, 3.0], [2, 1]),
        },
    );
    assert_invalid(Laplace::new(0.0, -3.0), "Laplace", "scale", -3.0);
    assert!(<Laplace as FromArgs<_>>::from_args((0.0, 1.0)).is_ok());
    assert!(<Laplace as FromArgs<_>>::from_args(((0.0, 1.0),)).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Logistic

/// `log(exp(-z) / (s (1 + exp(-z))^2))` written directly in f64 (fine for `|z| < 700`).
fn logistic_ref(p: &[f64], y: f64) -> f64 {
    let z = (y - p[0]) / p[1];
    ((-z).exp() / (p[1] * (1.0 + (-z).exp()).powi(2))).ln()
}

const LOGISTIC: Family = Family {
    name: "Logistic",
    make: |p| Box::new(Logistic::new(p[0].clone(), p[1].clone()).unwrap()),
    reference: logistic_ref,
    moments: |p| {
        let pi = std::f64::consts::PI;
        (p[0], p[1] * p[1] * pi * pi / 3.0)
    },
};

#[test]
fn logistic_log_prob() {
    let grid = loc_scale_grid();
    let values = [0.0, 4.0, -3.0, 2.9, 30.0, 10.0];
    let ys = [-30.0, -2.0, 0.5, 1.0, 7.5];
    check_batch_shapes(&LOGISTIC, &[0.5, 2.0], &ys, &grid, &values, [3, 2], LP);
}

#[test]
fn logistic_moments_support_and_gradients() {
    let grid = loc_scale_grid();
    check_sampling(
        &LOGISTIC,
        &Sampling {
            scalar: &[0.5, 2.0],
            support: Support::Real,
            seeds: [61, 62, 63, 64],
            cdf: &|t| 1.0 / (1.0 + (-(t - 0.5) / 2.0).exp()),
            cdf_points: &[-4.0, -0.5, 0.5, 1.0, 6.0],
            stated: (&grid, [3, 2]),
            batched: (&grid, [3, 2], 4_000),
            grads: (&[vec![0.3, -1.0], vec![1.5, 0.7]], &[0.1, 3.0], [2, 1]),
        },
    );
}

#[test]
fn logistic_tails_and_errors() {
    // |z| = 1000: exp(1000) overflows; the density in |z| stays exact: -|z| - ln(scale).
    let d = Logistic::new(0.0, 1.0).unwrap();
    let lp = to_vec(d.log_prob(t2(&[-1000.0, 1000.0], 2, 1, &cpu())));
    assert_close(&lp, &[-1000.0, -1000.0], 1e-7, 0.0, "Logistic tails");
    assert_invalid(Logistic::new(0.0, 0.0), "Logistic", "scale", 0.0);
    assert!(<Logistic as FromArgs<_>>::from_args((0.0, 1.0)).is_ok());
    assert!(<Logistic as FromArgs<_>>::from_args(((0.0, 1.0),)).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Uniform

const UNIFORM: Family = Family {
    name: "Uniform",
    make: |p| Box::new(Uniform::new(p[0].clone(), p[1].clone()).unwrap()),
    reference: |p, y| {
        statrs::distribution::Uniform::new(p[0], p[1])
            .unwrap()
            .ln_pdf(y)
    },
    moments: |p| {
        let r = statrs::distribution::Uniform::new(p[0], p[1]).unwrap();
        (r.mean().unwrap(), r.variance().unwrap())
    },
};

#[test]
fn uniform_log_prob() {
    // Overlapping intervals, so that every value row lies inside the first parameter row (b),
    // its own row (c), and the first value row inside every row (d); some values sit exactly
    // on a bound (closed interval).
    let grid = vec![
        vec![-1.0, 0.0, -2.0, -0.5, -3.0, 0.1],
        vec![3.0, 0.5, 2.5, 5.0, 1.0, 100.0],
    ];
    let values = [-1.0, 0.25, 2.5, 0.0, 0.9, 0.5];
    let ys = [-1.0, 0.0, 1.5, 2.999];
    check_batch_shapes(&UNIFORM, &[-1.0, 3.0], &ys, &grid, &values, [3, 2], LP);
}

#[test]
fn uniform_moments_support_and_gradients() {
    let grid = [
        vec![-1.0, 0.0, 2.0, -5.0, 0.1, 10.0],
        vec![3.0, 0.5, 2.5, 5.0, 0.2, 100.0],
    ];
    check_sampling(
        &UNIFORM,
        &Sampling {
            scalar: &[-1.0, 3.0],
            support: Support::Interval {
                low: -1.0,
                high: 3.0,
            },
            seeds: [71, 72, 73, 75],
            cdf: &|t| (t + 1.0) / 4.0,
            cdf_points: &[-0.5, 0.0, 1.0, 2.5],
            stated: (&grid, [3, 2]),
            batched: (&grid, [3, 2], 4_000),
            grads: (&[vec![0.3, -1.0], vec![1.5, 0.7]], &[1.0, 0.5], [2, 1]),
        },
    );
    let dev = cpu();
    let batched = Uniform::new(t2(&grid[0], 3, 2, &dev), t2(&grid[1], 3, 2, &dev)).unwrap();
    assert_eq!(batched.support(), Support::Dependent);
    // Every draw inside its own row's bounds.
    let s = to_vec(batched.sample(3, &dev, &mut Rng::seed_from_u64(74)));
    for i in 0..6 {
        assert!(
            s[i] >= r32(grid[0][i]) && s[i] <= r32(grid[1][i]),
            "draw {} at {i}",
            s[i]
        );
    }
}

#[test]
fn uniform_outside_edges_and_errors() {
    let dev = ad();
    let low = t2(&[0.0, 0.0, 0.0, 0.0], 4, 1, &dev).require_grad();
    let d = Uniform::new(low.clone(), 2.0).unwrap();
    let lp = d.log_prob(t2(&[-0.1, 0.0, 2.0, 2.5], 4, 1, &dev));
    let v = to_vec(lp.clone());
    assert_eq!(v[0], f64::NEG_INFINITY);
    assert_eq!(v[3], f64::NEG_INFINITY);
    assert_close(
        &v[1..3],
        &[-(2f64.ln()); 2],
        LP.rel,
        LP.abs,
        "Uniform at the bounds",
    );
    // The gradient is finite (-inf entries contribute 0), d/dlow = 1 / (high - low) inside.
    let g = to_vec(low.grad(&lp.sum().backward()).unwrap());
    assert_close(&g, &[0.0, 0.5, 0.5, 0.0], 1e-6, 0.0, "Uniform d/dlow");
    // Constant bounds shared by every column: still an interval; per-column bounds: dependent.
    let d = Uniform::new(vec![0.0, 0.0], 1.0).unwrap();
    assert_eq!(
        d.support(),
        Support::Interval {
            low: 0.0,
            high: 1.0
        }
    );
    let d = Uniform::new(vec![0.0, 1.0], vec![1.0, 3.0]).unwrap();
    assert_eq!(d.support(), Support::Dependent);
    let mv = [to_vec(d.mean(&cpu())), to_vec(d.variance(&cpu()))].concat();
    assert_close(
        &mv,
        &[0.5, 2.0, 1.0 / 12.0, 4.0 / 12.0],
        1e-6,
        0.0,
        "Uniform moments",
    );
    assert_invalid(Uniform::new(1.0, 1.0), "Uniform", "high", 1.0);
    assert_invalid(Uniform::new(2.0, 1.0), "Uniform", "high", 1.0);
    assert_invalid(Uniform::new(vec![0.0, 5.0], 4.0), "Uniform", "high", 4.0);
    assert_invalid(Uniform::new(f64::NAN, 1.0), "Uniform", "low", f64::NAN);
    assert_shape_error(
        Uniform::new(vec![0.0, 1.0], vec![2.0, 3.0, 4.0]),
        "Uniform shapes",
    );
    assert!(<Uniform as FromArgs<_>>::from_args((0.0, 1.0)).is_ok());
    assert!(<Uniform as FromArgs<_>>::from_args(((0.0, 1.0),)).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Exponential

const EXPONENTIAL: Family = Family {
    name: "Exponential",
    make: |p| Box::new(Exponential::new(p[0].clone()).unwrap()),
    reference: |p, y| statrs::distribution::Exp::new(p[0]).unwrap().ln_pdf(y),
    moments: |p| {
        let r = statrs::distribution::Exp::new(p[0]).unwrap();
        (r.mean().unwrap(), r.variance().unwrap())
    },
};

#[test]
fn exponential_log_prob() {
    let grid = vec![vec![0.5, 2.0, 1.0, 0.1, 3.0, 7.5]];
    let values = [0.2, 3.1, 0.0, 0.05, 4.4, 1.0];
    let ys = [0.0, 0.3, 1.0, 4.5, 11.0];
    check_batch_shapes(&EXPONENTIAL, &[1.7], &ys, &grid, &values, [3, 2], LP);
}

#[test]
fn exponential_moments_support_and_gradients() {
    check_sampling(
        &EXPONENTIAL,
        &Sampling {
            scalar: &[1.7],
            support: Support::Positive,
            seeds: [81, 82, 83, 84],
            cdf: &|t| 1.0 - (-1.7 * t).exp(),
            cdf_points: &[0.1, 0.5, 1.0, 2.0],
            stated: (&[vec![1.7, 2.0, 1.0, 0.1, 3.0, 7.5]], [3, 2]),
            batched: (&[vec![0.5, 2.0, 1.0, 0.1, 3.0, 7.5]], [3, 2], 4_000),
            grads: (&[vec![0.7, 2.5, 1.2, 0.3]], &[0.4, 1.0, 3.0, 0.1], [2, 2]),
        },
    );
}

#[test]
fn exponential_edges_and_errors() {
    let d = Exponential::new(2.0).unwrap();
    let lp = to_vec(d.log_prob(t2(&[-0.5, 0.0], 2, 1, &cpu())));
    assert_eq!(lp[0], f64::NEG_INFINITY);
    assert_close(&lp[1..], &[2f64.ln()], LP.rel, LP.abs, "Exponential at 0");
    let mv = [to_vec(d.mean(&cpu())), to_vec(d.variance(&cpu()))].concat();
    assert_close(&mv, &[0.5, 0.25], 1e-7, 0.0, "Exponential moments");
    assert_invalid(Exponential::new(-2.0), "Exponential", "rate", -2.0);
    assert_invalid(Exponential::new(f64::NAN), "Exponential", "rate", f64::NAN);
    let d = <Exponential as FromArgs<_>>::from_args((3.0,)).unwrap();
    assert_eq!(d.rate().constants(), Some(&[3.0][..]));
}

// ---------------------------------------------------------------------------------------------
// Shared behaviour

#[test]
fn sample_shapes_and_row_checks() {
    let dev = cpu();
    let dists: Vec<Box<dyn Distribution>> = vec![
        Box::new(HalfNormal::new(t2(&[1.0, 2.0, 3.0], 3, 1, &dev)).unwrap()),
        Box::new(LogNormal::new(vec![0.0, 1.0], t2(&[1.0, 2.0, 3.0], 3, 1, &dev)).unwrap()),
        Box::new(StudentT::new(t2(&[3.0, 4.0, 5.0], 3, 1, &dev), vec![0.0, 1.0], 1.0).unwrap()),
        Box::new(Cauchy::new(vec![0.0, 1.0], t2(&[1.0, 2.0, 3.0], 3, 1, &dev)).unwrap()),
        Box::new(HalfCauchy::new(t2(&[1.0, 2.0, 3.0], 3, 1, &dev)).unwrap()),
        Box::new(HalfStudentT::new(vec![3.0, 4.0], t2(&[1.0, 2.0, 3.0], 3, 1, &dev)).unwrap()),
        Box::new(Laplace::new(vec![0.0, 1.0], t2(&[1.0, 2.0, 3.0], 3, 1, &dev)).unwrap()),
        Box::new(Logistic::new(vec![0.0, 1.0], t2(&[1.0, 2.0, 3.0], 3, 1, &dev)).unwrap()),
        Box::new(Uniform::new(vec![0.0, 1.0], t2(&[2.0, 3.0, 4.0], 3, 1, &dev)).unwrap()),
        Box::new(Exponential::new(t2(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2, &dev)).unwrap()),
    ];
    for d in &dists {
        let cols = if matches!(d.name(), "HalfNormal" | "HalfCauchy") {
            1
        } else {
            2
        };
        assert_eq!((d.batch_rows(), d.event_size()), (3, cols), "{}", d.name());
        let s = d.sample(3, &dev, &mut Rng::seed_from_u64(5));
        assert_eq!(s.dims(), [3, cols], "{}", d.name());
        assert!(d.check_rows(3).is_ok());
        assert!(d.check_rows(4).is_err(), "{}", d.name());
        assert!(d.check_value([1, 1]).is_ok());
        assert!(d.check_value([2, cols]).is_err(), "{}", d.name());
        assert_eq!(d.mean(&dev).dims(), [3, cols], "{}", d.name());
        assert_eq!(d.variance(&dev).dims(), [3, cols], "{}", d.name());
        assert_eq!(
            d.log_prob(t2(&[0.5], 1, 1, &dev)).dims(),
            [3],
            "{}",
            d.name()
        );
    }
}
