//! Gamma, InverseGamma, Beta and Dirichlet.
//!
//! References: `statrs` (Gamma, Beta, Dirichlet `ln_pdf`, and `ln_gamma`) evaluated in f64 at the
//! f32-rounded values and parameters the library sees, so that the comparison measures the
//! library's arithmetic, not the rounding of the inputs. The InverseGamma reference is its
//! closed form in f64 with statrs' `ln_gamma` (statrs evaluates it as `ln(pdf)`, which
//! underflows in the tails).
//!
//! Tolerances for `log_prob` (f32, machine epsilon 1.2e-7): the density is a sum of a handful
//! of terms (`alpha ln beta`, `(alpha - 1) ln x`, `beta x`, `ln Gamma(alpha)`) of magnitude up
//! to about 100 in these cases, each rounded to f32 (half an ulp of 100 is 3.8e-6), so the
//! sum is good to about 2e-5 absolute; we allow `abs = 5e-5` plus `rel = 1e-6` of the result
//! (a result of size 300, e.g. a Beta far in its tail, comes from terms of that size, whose
//! rounding is about 2e-5 each). The largest error measured is 1.7e-5 (most are below 5e-6).
//! A wrong normaliser or exponent (an error of 1e-4 or more) fails. Tensor parameters go
//! through the f32 Stirling `lgamma` (accurate to `2e-6 + 5e-7 |ln Gamma(x)|`, see the unit
//! tests in src/special.rs), which the same bound covers.

use crate::harness::*;
use burn::tensor::Tensor;
use inferrs_distributions::{
    Beta, Dirichlet, Distribution, FromArgs, Gamma, InverseGamma, Param, Rng, Support,
};
use rand::SeedableRng;
use statrs::distribution::Continuous;
use statrs::function::gamma::ln_gamma;
use statrs::statistics::MeanN;

/// The tolerance of `log_prob` (see the module doc).
const LP: Tol = Tol::new(1e-6, 5e-5);

/// The Gamma log density in f64 (statrs) at exactly the given inputs.
fn gamma_ref64(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return f64::NEG_INFINITY;
    }
    statrs::distribution::Gamma::new(a, b).unwrap().ln_pdf(x)
}

/// [`gamma_ref64`] at the f32-rounded inputs.
fn gamma_ref(x: f64, a: f64, b: f64) -> f64 {
    gamma_ref64(r32(x), r32(a), r32(b))
}

fn inverse_gamma_ref64(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return f64::NEG_INFINITY;
    }
    a * b.ln() - ln_gamma(a) - (a + 1.0) * x.ln() - b / x
}

fn inverse_gamma_ref(x: f64, a: f64, b: f64) -> f64 {
    inverse_gamma_ref64(r32(x), r32(a), r32(b))
}

fn beta_ref64(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 || x >= 1.0 {
        return f64::NEG_INFINITY;
    }
    statrs::distribution::Beta::new(a, b).unwrap().ln_pdf(x)
}

fn beta_ref(x: f64, a: f64, b: f64) -> f64 {
    beta_ref64(r32(x), r32(a), r32(b))
}

/// statrs' Dirichlet `ln_pdf` at exactly the given inputs (its argument type is a nalgebra
/// vector, built here from the distribution's own mean so that this crate need not name
/// nalgebra).
fn dirichlet_ref64(x: &[f64], alpha: &[f64]) -> f64 {
    if x.iter().any(|&v| v <= 0.0) {
        return f64::NEG_INFINITY;
    }
    let d = statrs::distribution::Dirichlet::new(alpha.to_vec()).unwrap();
    let mut v = d.mean().unwrap();
    for (k, &xk) in x.iter().enumerate() {
        v[k] = xk;
    }
    d.ln_pdf(&v)
}

fn dirichlet_ref(x: &[f64], alpha: &[f64]) -> f64 {
    let r = |v: &[f64]| v.iter().map(|&a| r32(a)).collect::<Vec<_>>();
    dirichlet_ref64(&r(x), &r(alpha))
}

/// A family of two parameters `(a, b)` with its f64 reference log density, `reference(x, a, b)`
/// at the f32-rounded inputs and `reference64` at exactly the given ones, for the `log_prob`
/// checks over batch shapes and of gradients.
struct Pair {
    name: &'static str,
    make: fn(Param, Param) -> Box<dyn Distribution>,
    reference: fn(f64, f64, f64) -> f64,
    reference64: fn(f64, f64, f64) -> f64,
}

impl Pair {
    /// (a) Scalar parameters, each pair of `params` against the values `xs` (one column).
    fn check_scalars(&self, params: &[(f64, f64)], xs: &[f64]) {
        for &(a, b) in params {
            let dist = (self.make)(Param::Scalar(a), Param::Scalar(b));
            let exp: Vec<f64> = xs.iter().map(|&x| (self.reference)(x, a, b)).collect();
            let what = format!("{} scalar", self.name);
            check_log_prob(dist.as_ref(), xs, [xs.len(), 1], &exp, LP, &what);
        }
    }

    /// (b) One parameter row of 3 columns broadcast over the value rows `xs` (`[n, 3]`), as
    /// constants and as tensors.
    fn check_row(&self, a: [f64; 3], b: [f64; 3], xs: &[f64]) {
        let d = cpu();
        let rows = xs.len() / 3;
        let exp = row_sums(rows, 3, |r, c| (self.reference)(xs[r * 3 + c], a[c], b[c]));
        for (label, dist) in [
            ("const", (self.make)(a.into(), b.into())),
            (
                "tensor",
                (self.make)(t2(&a, 1, 3, &d).into(), t2(&b, 1, 3, &d).into()),
            ),
        ] {
            let what = format!("{} row {label}", self.name);
            check_log_prob(dist.as_ref(), xs, [rows, 3], &exp, LP, &what);
        }
    }

    /// (c) Tensor parameters of 2 columns, one row per value row of `xs`.
    fn check_per_row(&self, a: &[f64], b: &[f64], xs: &[f64]) {
        let d = cpu();
        let rows = xs.len() / 2;
        let dist = (self.make)(t2(a, rows, 2, &d).into(), t2(b, rows, 2, &d).into());
        let exp = row_sums(rows, 2, |r, c| {
            let i = r * 2 + c;
            (self.reference)(xs[i], a[i], b[i])
        });
        let what = format!("{} tensor", self.name);
        check_log_prob(dist.as_ref(), xs, [rows, 2], &exp, LP, &what);
    }

    /// The gradient of `log_prob` in both tensor parameters `[2, 2]` against central
    /// differences of `reference64`.
    fn check_grad(&self, a: [f64; 4], b: [f64; 4], xs: [f64; 4]) {
        let make = |p: Vec<Tensor<2>>| (self.make)(p[0].clone().into(), p[1].clone().into());
        let reference = |p: &[f64], x| (self.reference64)(x, p[0], p[1]);
        let params = [a.to_vec(), b.to_vec()];
        check_elementwise_log_prob_grad(
            &make,
            &params,
            &xs,
            [2, 2],
            &reference,
            FD_LOG_PROB,
            self.name,
        );
    }
}

const GAMMA: Pair = Pair {
    name: "Gamma",
    make: |a, b| Box::new(Gamma::new(a, b).unwrap()),
    reference: gamma_ref,
    reference64: gamma_ref64,
};

const INVERSE_GAMMA: Pair = Pair {
    name: "InverseGamma",
    make: |a, b| Box::new(InverseGamma::new(a, b).unwrap()),
    reference: inverse_gamma_ref,
    reference64: inverse_gamma_ref64,
};

const BETA: Pair = Pair {
    name: "Beta",
    make: |a, b| Box::new(Beta::new(a, b).unwrap()),
    reference: beta_ref,
    reference64: beta_ref64,
};

/// Draws from a distribution with extreme (tiny) concentrations stay in the support and have
/// a finite log density.
fn check_extreme_draws(dist: &dyn Distribution, rows: usize, what: &str) {
    let device = cpu();
    let draws = dist.sample(rows, &device, &mut Rng::seed_from_u64(5));
    let x = to_vec(draws.clone());
    check_in_support(&x, dist.event_size(), &dist.support(), what);
    let lp = to_vec(dist.log_prob(draws));
    assert!(
        lp.iter().all(|v| v.is_finite()),
        "{what}: non-finite log density at a draw"
    );
}

// -------------------------------------------------------------------------------------------
// Gamma

#[test]
fn gamma_log_prob() {
    let d = cpu();
    // (a) scalar parameters, values across the support, its edge and outside it.
    let xs = [1e-6, 0.05, 0.3, 1.0, 2.7, 12.0, 40.0, 0.0, -1.0];
    GAMMA.check_scalars(&[(2.5, 1.5), (0.4, 3.0), (1.0, 0.7), (30.0, 2.0)], &xs);
    // (b) one parameter row (3 columns) broadcast over 4 value rows: constants and a tensor.
    let (a, b) = ([0.7, 3.0, 25.0], [2.0, 0.5, 4.0]);
    let xs = [
        0.1, 2.0, 5.0, //
        1.5, 8.0, 6.5, //
        0.01, 0.5, 7.0, //
        3.0, 15.0, 4.0,
    ];
    GAMMA.check_row(a, b, &xs);
    // Mixed: tensor concentration, scalar rate.
    let mixed = Gamma::new(t2(&a, 1, 3, &d), 1.7).unwrap();
    let exp = row_sums(4, 3, |r, c| gamma_ref(xs[r * 3 + c], a[c], 1.7));
    check_log_prob(&mixed, &xs, [4, 3], &exp, LP, "Gamma mixed");
    // (c) tensor parameters, one row per value row, two columns; concentrations on both
    // sides of the log-gamma recurrence thresholds (4 on tensors, 8 on the host).
    let a = [0.05, 1.0, 2.0, 7.9, 8.0, 12.5, 0.6, 45.0];
    let b = [1.0, 0.3, 2.0, 1.1, 0.9, 3.0, 0.2, 5.0];
    let xs = [1e-3, 2.0, 0.8, 6.0, 9.5, 4.0, 0.7, 9.0];
    GAMMA.check_per_row(&a, &b, &xs);
    // A value row broadcast over tensor parameter rows.
    let g = Gamma::new(t2(&a, 4, 2, &d), t2(&b, 4, 2, &d)).unwrap();
    let exp = row_sums(4, 2, |r, c| gamma_ref(xs[c], a[r * 2 + c], b[r * 2 + c]));
    check_log_prob(&g, &xs[..2], [1, 2], &exp, LP, "Gamma value row");
}

#[test]
fn gamma_moments_support_and_sampling() {
    let d = cpu();
    let g = Gamma::new(2.5, 1.5).unwrap();
    assert_eq!(g.support(), Support::Positive);
    assert!(!g.has_rsample());
    check_moments(&g, 20_000, 21, "Gamma(2.5, 1.5)");
    check_moments(
        &Gamma::new(0.3, 0.5).unwrap(),
        20_000,
        22,
        "Gamma(0.3, 0.5)",
    );
    check_moments(
        &Gamma::new([0.7, 3.0, 25.0], [2.0, 0.5, 4.0]).unwrap(),
        20_000,
        23,
        "Gamma row",
    );
    let batched = Gamma::new(
        t2(&[0.5, 2.0, 9.0, 1.2, 30.0, 4.0], 3, 2, &d),
        t2(&[1.0, 0.5, 2.0, 3.0, 1.5, 0.25], 3, 2, &d),
    )
    .unwrap();
    check_moments_batched(&batched, 4_000, 24, "Gamma tensor");
    check_reproducible(&g, 50, "Gamma");
    check_extreme_draws(&Gamma::new(0.02, 1.0).unwrap(), 2_000, "Gamma(0.02)");
}

#[test]
fn gamma_log_prob_grad() {
    GAMMA.check_grad(
        [0.6, 2.5, 9.0, 14.0],
        [1.5, 0.75, 2.0, 0.5],
        [0.25, 3.5, 4.0, 30.0],
    );
}

#[test]
fn gamma_constructor_and_from_args() {
    let d = cpu();
    assert_invalid(Gamma::new(-1.0, 1.0), "Gamma", "concentration", -1.0);
    assert_invalid(Gamma::new(0.0, 1.0), "Gamma", "concentration", 0.0);
    assert_invalid(
        Gamma::new(f64::NAN, 1.0),
        "Gamma",
        "concentration",
        f64::NAN,
    );
    assert_invalid(Gamma::new(1.0, 0.0), "Gamma", "rate", 0.0);
    assert_invalid(
        Gamma::new(1.0, f64::INFINITY),
        "Gamma",
        "rate",
        f64::INFINITY,
    );
    assert_invalid(Gamma::new([1.0, -2.0], 1.0), "Gamma", "concentration", -2.0);
    assert_shape_error(
        Gamma::new(t2(&[1.0, 2.0], 2, 1, &d), t2(&[1.0, 2.0, 3.0], 3, 1, &d)),
        "Gamma rows",
    );
    assert_shape_error(Gamma::new(Vec::<f64>::new(), 1.0), "Gamma empty");
    let g = <Gamma as FromArgs<_>>::from_args((2.0, 3.0)).unwrap();
    assert!(matches!(g.concentration(), Param::Scalar(a) if *a == 2.0));
    assert!(matches!(g.rate(), Param::Scalar(b) if *b == 3.0));
    let g = <Gamma as FromArgs<_>>::from_args(((t2(&[2.0], 1, 1, &d), 3.0),)).unwrap();
    assert!(matches!(g.concentration(), Param::Tensor(_)));
    assert!(<Gamma as FromArgs<_>>::from_args((2.0, -3.0)).is_err());
    assert_eq!(g.event_size(), 1);
    assert_eq!(Gamma::new([1.0, 2.0, 3.0], 1.0).unwrap().event_size(), 3);
}

// -------------------------------------------------------------------------------------------
// InverseGamma

#[test]
fn inverse_gamma_log_prob() {
    // The closed-form reference agrees with statrs where statrs' ln(pdf) does not underflow.
    for &(x, a, b) in &[(0.5, 3.0, 2.0), (2.0, 1.5, 0.7), (0.3, 6.0, 1.0)] {
        let s = statrs::distribution::InverseGamma::new(a, b)
            .unwrap()
            .ln_pdf(x);
        let c = inverse_gamma_ref64(x, a, b);
        assert!(
            (s - c).abs() < 1e-9 * s.abs().max(1.0),
            "reference: {s} vs {c}"
        );
    }
    let xs = [0.01, 0.2, 0.5, 1.0, 4.0, 50.0, 0.0, -2.0];
    INVERSE_GAMMA.check_scalars(&[(3.0, 2.0), (0.6, 0.5), (20.0, 30.0)], &xs);
    let xs = [
        0.3, 1.0, 0.5, //
        2.0, 0.4, 0.9, //
        9.0, 3.0, 0.2,
    ];
    INVERSE_GAMMA.check_row([0.8, 4.0, 11.0], [1.0, 2.5, 6.0], &xs);
    let a = [0.3, 2.0, 5.0, 8.5, 16.0, 1.0];
    let b = [0.5, 1.0, 4.0, 2.0, 20.0, 0.1];
    INVERSE_GAMMA.check_per_row(&a, &b, &[0.2, 1.0, 0.9, 0.25, 1.4, 0.05]);
}

#[test]
fn inverse_gamma_moments_support_and_sampling() {
    let d = cpu();
    // Shapes above 4 so that the fourth moment (and the standard error of the sample
    // variance) exists.
    let ig = InverseGamma::new(6.0, 2.0).unwrap();
    assert_eq!(ig.support(), Support::Positive);
    assert!(!ig.has_rsample());
    check_moments(&ig, 20_000, 31, "InverseGamma(6, 2)");
    check_moments(
        &InverseGamma::new([5.0, 9.0], [1.0, 3.0]).unwrap(),
        20_000,
        32,
        "InverseGamma row",
    );
    let batched = InverseGamma::new(
        t2(&[5.5, 7.0, 12.0, 6.0], 2, 2, &d),
        t2(&[1.0, 0.5, 4.0, 2.0], 2, 2, &d),
    )
    .unwrap();
    check_moments_batched(&batched, 4_000, 33, "InverseGamma tensor");
    // Where the moments do not exist: NaN mean and variance for alpha <= 1, an infinite
    // variance for 1 < alpha <= 2 (with the mean beta / (alpha - 1)).
    let ig = InverseGamma::new([0.8, 1.0, 1.5, 2.0, 3.0], 3.0).unwrap();
    let mean = to_vec(ig.mean(&d));
    let var = to_vec(ig.variance(&d));
    assert!(mean[0].is_nan() && mean[1].is_nan(), "mean {mean:?}");
    assert_close(&mean[2..], &[6.0, 3.0, 1.5], 1e-6, 0.0, "InverseGamma mean");
    assert!(var[0].is_nan() && var[1].is_nan(), "variance {var:?}");
    assert!(
        var[2] == f64::INFINITY && var[3] == f64::INFINITY,
        "variance {var:?}"
    );
    assert_close(&var[4..], &[9.0 / 4.0], 1e-6, 0.0, "InverseGamma variance");
    check_moments(
        &InverseGamma::new(1.5, 1.0).unwrap(),
        2_000,
        34,
        "InverseGamma(1.5)",
    );
    check_reproducible(&ig, 20, "InverseGamma");
    check_extreme_draws(
        &InverseGamma::new(0.05, 1.0).unwrap(),
        2_000,
        "InverseGamma(0.05)",
    );
}

#[test]
fn inverse_gamma_log_prob_grad() {
    INVERSE_GAMMA.check_grad(
        [0.7, 3.0, 9.5, 2.25],
        [1.5, 0.5, 4.0, 2.0],
        [0.75, 0.25, 0.5, 2.0],
    );
}

#[test]
fn inverse_gamma_constructor_and_from_args() {
    let d = cpu();
    assert_invalid(
        InverseGamma::new(-0.5, 1.0),
        "InverseGamma",
        "concentration",
        -0.5,
    );
    assert_invalid(InverseGamma::new(1.0, -3.0), "InverseGamma", "scale", -3.0);
    assert_invalid(
        InverseGamma::new(1.0, f64::NAN),
        "InverseGamma",
        "scale",
        f64::NAN,
    );
    assert_shape_error(
        InverseGamma::new([1.0, 2.0], [1.0, 2.0, 3.0]),
        "InverseGamma columns",
    );
    let ig = <InverseGamma as FromArgs<_>>::from_args((3.0, t2(&[2.0], 1, 1, &d))).unwrap();
    assert!(matches!(ig.concentration(), Param::Scalar(a) if *a == 3.0));
    assert!(matches!(ig.scale(), Param::Tensor(_)));
    assert!(<InverseGamma as FromArgs<_>>::from_args(((3.0, 2.0),)).is_ok());
}

// -------------------------------------------------------------------------------------------
// Beta

#[test]
fn beta_log_prob() {
    let d = cpu();
    let xs = [1e-5, 0.1, 0.5, 0.93, 0.9999, 0.0, 1.0, -0.2, 1.3];
    BETA.check_scalars(&[(2.0, 5.0), (0.5, 0.5), (1.0, 1.0), (30.0, 12.0)], &xs);
    let (a, b) = ([0.5, 2.0, 8.0], [0.5, 3.0, 1.5]);
    let xs = [
        0.02, 0.3, 0.8, //
        0.5, 0.6, 0.95, //
        0.99, 0.1, 0.5, //
        0.3, 0.45, 0.7,
    ];
    BETA.check_row(a, b, &xs);
    let mixed = Beta::new(2.0, t2(&b, 1, 3, &d)).unwrap();
    let exp = row_sums(4, 3, |r, c| beta_ref(xs[r * 3 + c], 2.0, b[c]));
    check_log_prob(&mixed, &xs, [4, 3], &exp, LP, "Beta mixed");
    let a = [0.2, 1.0, 3.0, 9.0, 14.0, 0.7];
    let b = [0.4, 2.5, 3.0, 1.0, 20.0, 6.0];
    BETA.check_per_row(&a, &b, &[0.3, 0.2, 0.55, 0.9, 0.4, 0.05]);
}

#[test]
fn beta_moments_support_and_sampling() {
    let d = cpu();
    let beta = Beta::new(2.0, 5.0).unwrap();
    assert_eq!(beta.support(), Support::UnitInterval);
    assert!(!beta.has_rsample());
    check_moments(&beta, 20_000, 41, "Beta(2, 5)");
    check_moments(
        &Beta::new([0.5, 2.0, 8.0], [0.5, 3.0, 1.5]).unwrap(),
        20_000,
        42,
        "Beta row",
    );
    let batched = Beta::new(
        t2(&[0.3, 1.0, 4.0, 12.0], 2, 2, &d),
        t2(&[0.7, 1.0, 2.0, 30.0], 2, 2, &d),
    )
    .unwrap();
    check_moments_batched(&batched, 4_000, 43, "Beta tensor");
    check_reproducible(&beta, 50, "Beta");
    check_extreme_draws(&Beta::new(0.02, 0.02).unwrap(), 2_000, "Beta(0.02, 0.02)");
}

#[test]
fn beta_log_prob_grad() {
    BETA.check_grad(
        [0.5, 2.0, 7.5, 1.25],
        [3.0, 0.75, 2.0, 11.0],
        [0.25, 0.5, 0.875, 0.125],
    );
}

#[test]
fn beta_constructor_and_from_args() {
    let d = cpu();
    assert_invalid(Beta::new(0.0, 1.0), "Beta", "concentration1", 0.0);
    assert_invalid(Beta::new(1.0, -1.0), "Beta", "concentration0", -1.0);
    assert_invalid(
        Beta::new([1.0, f64::INFINITY], 1.0),
        "Beta",
        "concentration1",
        f64::INFINITY,
    );
    assert_shape_error(
        Beta::new(t2(&[1.0, 2.0], 1, 2, &d), t2(&[1.0, 2.0, 3.0], 1, 3, &d)),
        "Beta columns",
    );
    let b = <Beta as FromArgs<_>>::from_args((2.0, 5.0)).unwrap();
    assert!(matches!(b.concentration1(), Param::Scalar(a) if *a == 2.0));
    assert!(matches!(b.concentration0(), Param::Scalar(a) if *a == 5.0));
    assert!(<Beta as FromArgs<_>>::from_args(((t2(&[2.0], 1, 1, &d), 1.0),)).is_ok());
}

// -------------------------------------------------------------------------------------------
// Dirichlet

#[test]
fn dirichlet_log_prob() {
    let d = cpu();
    // (a) constant concentration, several value rows (and rows outside the simplex).
    let alpha = [0.5, 2.0, 3.5];
    let dir = Dirichlet::new(alpha).unwrap();
    let xs = [
        0.2, 0.3, 0.5, //
        0.01, 0.01, 0.98, //
        0.7, 0.2, 0.1, //
        0.5, 0.5, 0.0, //
        -0.1, 0.6, 0.5,
    ];
    let exp: Vec<f64> = xs.chunks(3).map(|x| dirichlet_ref(x, &alpha)).collect();
    check_log_prob(&dir, &xs, [5, 3], &exp, LP, "Dirichlet const");
    // (b) a tensor concentration row broadcast over the value rows.
    let tensor = Dirichlet::new(t2(&alpha, 1, 3, &d)).unwrap();
    check_log_prob(&tensor, &xs, [5, 3], &exp, LP, "Dirichlet row tensor");
    // (c) one concentration row per value row, K = 4.
    let alpha = [
        1.0, 1.0, 1.0, 1.0, //
        0.3, 0.6, 2.0, 9.0, //
        15.0, 4.0, 0.8, 20.0,
    ];
    let xs = [
        0.1, 0.2, 0.3, 0.4, //
        0.05, 0.15, 0.2, 0.6, //
        0.35, 0.1, 0.05, 0.5,
    ];
    let dir = Dirichlet::new(t2(&alpha, 3, 4, &d)).unwrap();
    let exp: Vec<f64> = (0..3)
        .map(|r| dirichlet_ref(&xs[r * 4..r * 4 + 4], &alpha[r * 4..r * 4 + 4]))
        .collect();
    check_log_prob(&dir, &xs, [3, 4], &exp, LP, "Dirichlet tensor");
    let exp: Vec<f64> = (0..3)
        .map(|r| dirichlet_ref(&xs[..4], &alpha[r * 4..r * 4 + 4]))
        .collect();
    check_log_prob(&dir, &xs[..4], [1, 4], &exp, LP, "Dirichlet value row");
}

#[test]
fn dirichlet_moments_support_and_sampling() {
    let d = cpu();
    let dir = Dirichlet::new([0.5, 2.0, 3.5]).unwrap();
    assert_eq!(dir.support(), Support::Simplex);
    assert!(!dir.has_rsample());
    assert_eq!(dir.event_size(), 3);
    check_moments(&dir, 20_000, 51, "Dirichlet");
    let batched = Dirichlet::new(t2(&[1.0, 1.0, 1.0, 0.2, 5.0, 12.0], 2, 3, &d)).unwrap();
    check_moments_batched(&batched, 4_000, 52, "Dirichlet tensor");
    check_reproducible(&dir, 50, "Dirichlet");
    check_extreme_draws(
        &Dirichlet::new([0.02, 0.02, 0.02]).unwrap(),
        2_000,
        "Dirichlet(0.02)",
    );
}

#[test]
fn dirichlet_log_prob_grad() {
    let make = |p: Vec<Tensor<2>>| -> Box<dyn Distribution> {
        Box::new(Dirichlet::new(p[0].clone()).unwrap())
    };
    let alpha = vec![0.5, 2.0, 3.5, 7.0, 1.25, 9.5];
    let xs = [0.25, 0.25, 0.5, 0.625, 0.125, 0.25];
    check_log_prob_grad(
        &make,
        &[(alpha, [2, 3])],
        &xs,
        [2, 3],
        &|p| {
            (0..2)
                .map(|r| dirichlet_ref64(&xs[r * 3..r * 3 + 3], &p[0][r * 3..r * 3 + 3]))
                .sum()
        },
        FD_LOG_PROB,
        "Dirichlet",
    );
}

#[test]
fn dirichlet_constructor_and_shapes() {
    let d = cpu();
    assert_invalid(
        Dirichlet::new([1.0, -1.0, 2.0]),
        "Dirichlet",
        "concentration",
        -1.0,
    );
    assert_invalid(
        Dirichlet::new([1.0, 0.0]),
        "Dirichlet",
        "concentration",
        0.0,
    );
    assert_shape_error(Dirichlet::new(2.0), "Dirichlet scalar");
    assert_shape_error(
        Dirichlet::new(t2(&[1.0, 2.0], 2, 1, &d)),
        "Dirichlet one column",
    );
    assert_shape_error(Dirichlet::new(Vec::<f64>::new()), "Dirichlet empty");
    let dir = <Dirichlet as FromArgs<_>>::from_args((t2(&[1.0, 2.0, 3.0], 1, 3, &d),)).unwrap();
    assert_eq!(dir.num_categories(), 3);
    assert!(dir.check_value([5, 3]).is_ok());
    assert!(
        dir.check_value([5, 1]).is_err(),
        "a value must have K columns"
    );
    assert!(dir.check_value([5, 2]).is_err());
    let rows = Dirichlet::new(t2(&[1.0; 6], 2, 3, &d)).unwrap();
    assert!(rows.check_value([3, 3]).is_err(), "rows must broadcast");
    assert_eq!(rows.batch_rows(), 2);
}

/// Tensor parameters are not validated by the constructors; sampling from invalid ones gives
/// NaN (never a panic or a silently clamped value).
#[test]
fn invalid_tensor_parameters_sample_nan() {
    let d = cpu();
    let mut rng = Rng::seed_from_u64(9);
    let t = |v: &[f64], r, c| t2(v, r, c, &d);
    let cases: Vec<(Box<dyn Distribution>, &str)> = vec![
        (
            Box::new(Gamma::new(t(&[1.0, 0.0], 1, 2), t(&[2.0, 2.0], 1, 2)).unwrap()),
            "Gamma concentration",
        ),
        (
            Box::new(Gamma::new(t(&[1.0, 1.0], 1, 2), t(&[2.0, -1.0], 1, 2)).unwrap()),
            "Gamma rate",
        ),
        (
            Box::new(InverseGamma::new(t(&[2.0, 2.0], 1, 2), t(&[1.0, 0.0], 1, 2)).unwrap()),
            "InverseGamma scale",
        ),
        (
            Box::new(Beta::new(t(&[1.0, -1.0], 1, 2), t(&[1.0, 1.0], 1, 2)).unwrap()),
            "Beta concentration1",
        ),
    ];
    for (dist, what) in cases {
        let x = to_vec(dist.sample(3, &d, &mut rng));
        for row in x.chunks(2) {
            assert!(
                row[0].is_finite() && row[0] > 0.0,
                "{what}: valid column {row:?}"
            );
            assert!(row[1].is_nan(), "{what}: invalid column {row:?}");
        }
    }
    let dir = Dirichlet::new(t(&[1.0, 2.0, 3.0, -0.5, 1.0, 1.0], 2, 3)).unwrap();
    let x = to_vec(dir.sample(2, &d, &mut rng));
    assert!(
        x[..3].iter().all(|v| v.is_finite()),
        "Dirichlet valid row {x:?}"
    );
    assert!(
        x[3..].iter().all(|v| v.is_nan()),
        "Dirichlet invalid row {x:?}"
    );
}
