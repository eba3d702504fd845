//! Numerical checks of `examples/mdn/toy.rs`: the toy data generator and the true conditional
//! density `p(y | x)` used as the Bayes-optimal floor of the MDN example.
//!
//! Every random quantity uses a fixed seed; every comparison states its tolerance.

#[path = "../examples/mdn/toy.rs"]
mod toy;

use toy::{
    DENSITY_GRID, N_TEST, N_TRAIN, TEST_SEED, TRAIN_SEED, Y_HI, Y_LO, bayes_nll, bayes_nll_points,
    forward, log_normaliser, log_z, make_data, mean, nll_points_on_grid, true_density_grid,
    true_log_density,
};

// ---------------------------------------------------------------------------------------------
// erfc, for the closed-form normal CDF (libm is not a dependency).
//
// Port of erfc from FreeBSD's msun `s_erf.c`, as carried by the Rust `libm` crate
// (libm 0.2.16, src/math/erf.rs). Rational approximations on [0, 0.84375], [0.84375, 1.25],
// [1.25, 1/0.35] and [1/0.35, 28]; relative error below one ulp or so. The original notice,
// which its licence asks to preserve:
//
// ====================================================
// Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
//
// Developed at SunPro, a Sun Microsystems, Inc. business.
// Permission to use, copy, modify, and distribute this
// software is freely granted, provided that this notice
// is preserved.
// ====================================================
// ---------------------------------------------------------------------------------------------

#[allow(clippy::excessive_precision)]
mod sun_erfc {
    const ERX: f64 = 8.45062911510467529297e-01;
    const PP0: f64 = 1.28379167095512558561e-01;
    const PP1: f64 = -3.25042107247001499370e-01;
    const PP2: f64 = -2.84817495755985104766e-02;
    const PP3: f64 = -5.77027029648944159157e-03;
    const PP4: f64 = -2.37630166566501626084e-05;
    const QQ1: f64 = 3.97917223959155352819e-01;
    const QQ2: f64 = 6.50222499887672944485e-02;
    const QQ3: f64 = 5.08130628187576562776e-03;
    const QQ4: f64 = 1.32494738004321644526e-04;
    const QQ5: f64 = -3.96022827877536812320e-06;
    const PA0: f64 = -2.36211856075265944077e-03;
    const PA1: f64 = 4.14856118683748331666e-01;
    const PA2: f64 = -3.72207876035701323847e-01;
    const PA3: f64 = 3.18346619901161753674e-01;
    const PA4: f64 = -1.10894694282396677476e-01;
    const PA5: f64 = 3.54783043256182359371e-02;
    const PA6: f64 = -2.16637559486879084300e-03;
    const QA1: f64 = 1.06420880400844228286e-01;
    const QA2: f64 = 5.40397917702171048937e-01;
    const QA3: f64 = 7.18286544141962662868e-02;
    const QA4: f64 = 1.26171219808761642112e-01;
    const QA5: f64 = 1.36370839120290507362e-02;
    const QA6: f64 = 1.19844998467991074170e-02;
    const RA0: f64 = -9.86494403484714822705e-03;
    const RA1: f64 = -6.93858572707181764372e-01;
    const RA2: f64 = -1.05586262253232909814e+01;
    const RA3: f64 = -6.23753324503260060396e+01;
    const RA4: f64 = -1.62396669462573470355e+02;
    const RA5: f64 = -1.84605092906711035994e+02;
    const RA6: f64 = -8.12874355063065934246e+01;
    const RA7: f64 = -9.81432934416914548592e+00;
    const SA1: f64 = 1.96512716674392571292e+01;
    const SA2: f64 = 1.37657754143519042600e+02;
    const SA3: f64 = 4.34565877475229228821e+02;
    const SA4: f64 = 6.45387271733267880336e+02;
    const SA5: f64 = 4.29008140027567833386e+02;
    const SA6: f64 = 1.08635005541779435134e+02;
    const SA7: f64 = 6.57024977031928170135e+00;
    const SA8: f64 = -6.04244152148580987438e-02;
    const RB0: f64 = -9.86494292470009928597e-03;
    const RB1: f64 = -7.99283237680523006574e-01;
    const RB2: f64 = -1.77579549177547519889e+01;
    const RB3: f64 = -1.60636384855821916062e+02;
    const RB4: f64 = -6.37566443368389627722e+02;
    const RB5: f64 = -1.02509513161107724954e+03;
    const RB6: f64 = -4.83519191608651397019e+02;
    const SB1: f64 = 3.03380607434824582924e+01;
    const SB2: f64 = 3.25792512996573918826e+02;
    const SB3: f64 = 1.53672958608443695994e+03;
    const SB4: f64 = 3.19985821950859553908e+03;
    const SB5: f64 = 2.55305040643316442583e+03;
    const SB6: f64 = 4.74528541206955367215e+02;
    const SB7: f64 = -2.24409524465858183362e+01;

    fn high_word(x: f64) -> u32 {
        (x.to_bits() >> 32) as u32
    }

    fn erfc1(x: f64) -> f64 {
        let s = x.abs() - 1.0;
        let p = PA0 + s * (PA1 + s * (PA2 + s * (PA3 + s * (PA4 + s * (PA5 + s * PA6)))));
        let q = 1.0 + s * (QA1 + s * (QA2 + s * (QA3 + s * (QA4 + s * (QA5 + s * QA6)))));
        1.0 - ERX - p / q
    }

    fn erfc2(ix: u32, x: f64) -> f64 {
        if ix < 0x3ff40000 {
            return erfc1(x);
        }
        let x = x.abs();
        let s = 1.0 / (x * x);
        let (r, big_s) = if ix < 0x4006db6d {
            (
                RA0 + s
                    * (RA1 + s * (RA2 + s * (RA3 + s * (RA4 + s * (RA5 + s * (RA6 + s * RA7)))))),
                1.0 + s
                    * (SA1
                        + s * (SA2
                            + s * (SA3 + s * (SA4 + s * (SA5 + s * (SA6 + s * (SA7 + s * SA8))))))),
            )
        } else {
            (
                RB0 + s * (RB1 + s * (RB2 + s * (RB3 + s * (RB4 + s * (RB5 + s * RB6))))),
                1.0 + s
                    * (SB1 + s * (SB2 + s * (SB3 + s * (SB4 + s * (SB5 + s * (SB6 + s * SB7)))))),
            )
        };
        // z = x with the low 32 bits cleared, so that z*z is exact.
        let z = f64::from_bits(x.to_bits() & 0xffff_ffff_0000_0000);
        (-z * z - 0.5625).exp() * ((z - x) * (z + x) + r / big_s).exp() / x
    }

    /// Complementary error function, `erfc(x) = 1 - erf(x)`, to about one ulp.
    pub fn erfc(x: f64) -> f64 {
        let hx = high_word(x);
        let negative = hx >> 31 != 0;
        let ix = hx & 0x7fffffff;
        if ix >= 0x7ff00000 {
            return 2.0 * (negative as u8 as f64) + 1.0 / x;
        }
        if ix < 0x3feb0000 {
            if ix < 0x3c700000 {
                return 1.0 - x;
            }
            let z = x * x;
            let r = PP0 + z * (PP1 + z * (PP2 + z * (PP3 + z * PP4)));
            let s = 1.0 + z * (QQ1 + z * (QQ2 + z * (QQ3 + z * (QQ4 + z * QQ5))));
            let y = r / s;
            if negative || ix < 0x3fd00000 {
                return 1.0 - (x + x * y);
            }
            return 0.5 - (x - 0.5 + x * y);
        }
        if ix < 0x403c0000 {
            return if negative {
                2.0 - erfc2(ix, x)
            } else {
                erfc2(ix, x)
            };
        }
        let tiny = f64::from_bits(0x0010000000000000);
        if negative { 2.0 - tiny } else { tiny * tiny }
    }
}

use sun_erfc::erfc;

/// Standard normal upper tail `Q(u) = 1 - Phi(u) = erfc(u / sqrt 2) / 2`, accurate in the tail.
fn upper_tail(u: f64) -> f64 {
    0.5 * erfc(u / std::f64::consts::SQRT_2)
}

/// `Phi(u2) - Phi(u1)` for `u1 <= u2`, written so that neither tail cancels.
fn normal_mass(u1: f64, u2: f64) -> f64 {
    assert!(u1 <= u2);
    if u1 >= 0.0 {
        upper_tail(u1) - upper_tail(u2) // both in the upper tail
    } else if u2 <= 0.0 {
        upper_tail(-u2) - upper_tail(-u1) // both in the lower tail, by symmetry
    } else {
        1.0 - upper_tail(u2) - upper_tail(-u1)
    }
}

/// Closed form of `log integral_{lo}^{hi} N(x; a t + b, 1) dt` for `a != 0`.
///
/// With `u = a t + b - x`, `dt = du / a` and `N(x; a t + b, 1) = phi(u)`, so the integral is
/// `(Phi(u_max) - Phi(u_min)) / |a|` where `{u_min, u_max} = {a lo + b - x, a hi + b - x}`
/// (for `a < 0` the limits swap, which the absolute value absorbs).
fn log_normaliser_linear(x: f64, a: f64, b: f64, lo: f64, hi: f64) -> f64 {
    let (ua, ub) = (a * lo + b - x, a * hi + b - x);
    normal_mass(ua.min(ub), ua.max(ub)).ln() - a.abs().ln()
}

#[test]
#[allow(clippy::excessive_precision)] // the references keep all the digits they were given
fn erfc_port_matches_reference_values() {
    // Reference values to 30 significant digits, from mpmath's erfc at 35 decimal digits.
    let cases = [
        (0.0, 1.0),
        (0.1, 0.887537083981715107796724928256),
        (0.5, 0.479500122186953462317253346108),
        (1.0, 0.157299207050285130658779364917),
        (2.0, 4.67773498104726583793074363275e-3),
        (3.0, 2.20904969985854413727761295823e-5),
        (5.0, 1.53745979442803485018834348538e-12),
        (10.0, 2.08848758376254475700078629496e-45),
        (-1.0, 1.84270079294971486934122063508),
    ];
    for (x, want) in cases {
        let got = erfc(x);
        let rel = ((got - want) / want).abs();
        assert!(
            rel < 1e-14,
            "erfc({x}) = {got:e}, want {want:e}, rel err {rel:e}"
        );
    }
}

#[test]
fn simpson_matches_closed_form_for_linear_mean() {
    // (a, b, x, lo, hi, n): slopes of both signs up to the steepest slope of f (|f'| <= 5.75),
    // x inside and far outside the range of a t + b (Z down to ~1e-185: log space needed).
    let cases = [
        (1.0, 0.0, 0.3, Y_LO, Y_HI, 20_001),
        (0.5, 2.0, -1.0, Y_LO, Y_HI, 20_001),
        (-2.0, 1.0, 3.0, Y_LO, Y_HI, 20_001),
        (5.75, 0.0, 1.0, Y_LO, Y_HI, 20_001),
        (0.5, 0.0, 4.0, Y_LO, Y_HI, 20_001), // u ranges over [-9.25, 1.25]: mass cut at one end
        (0.1, 0.0, 0.0, -1.0, 2.0, 2_001),   // nearly flat integrand on a short interval
        (2.0, 0.0, 50.0, Y_LO, Y_HI, 200_001), // Z ~ 1e-185, steep decay at the t = hi end
    ];
    for (a, b, x, lo, hi, n) in cases {
        let want = log_normaliser_linear(x, a, b, lo, hi);
        let got = log_normaliser(x, |t| a * t + b, lo, hi, n);
        let err = (got - want).abs();
        println!(
            "a={a} b={b} x={x} n={n}: log Z = {want:.12}, |Simpson - closed form| = {err:.1e}"
        );
        assert!(
            err < 1e-10,
            "a={a} b={b} x={x} [{lo},{hi}] n={n}: Simpson {got:.15} vs closed form {want:.15} \
             (|diff| = {err:e})"
        );
    }
    // The closed form itself can fail: a wrong normaliser (e.g. forgetting 1/|a|) is caught.
    let wrong = normal_mass(-10.0, 10.0).ln();
    assert!((log_normaliser(0.0, |t| 2.0 * t, -5.0, 5.0, 20_001) - wrong).abs() > 0.5);
}

#[test]
fn true_density_integrates_to_one() {
    // Trapezoid rule on 2_000_001 points over the support (h = 1.05e-5), independent of the
    // Simpson grid used for Z. Tolerance 1e-6.
    let m = 2_000_001;
    let h = (Y_HI - Y_LO) / (m - 1) as f64;
    let ys: Vec<f64> = (0..m).map(|i| Y_LO + i as f64 * h).collect();
    for x in [-15.0, -8.0, -2.5, 0.0, 1.7, 6.0, 12.0] {
        let p = true_density_grid(x, &ys);
        let interior: f64 = p[1..m - 1].iter().sum();
        let integral = h * (interior + 0.5 * (p[0] + p[m - 1]));
        println!(
            "x = {x}: integral of p(y|x) dy - 1 = {:.1e}",
            integral - 1.0
        );
        assert!(
            (integral - 1.0).abs() < 1e-6,
            "x = {x}: integral of p(y|x) dy = {integral}"
        );
    }
}

#[test]
fn density_functions_agree_and_respect_the_support() {
    let ys = [-10.5, -7.3, -1.0, 0.0, 2.2, 9.9, 10.5];
    for x in [-11.0, 0.4, 8.0] {
        let grid = true_density_grid(x, &ys);
        for (&y, &p) in ys.iter().zip(&grid) {
            let lp = true_log_density(x, y);
            assert!((lp.exp() - p).abs() <= 1e-14 * p.max(1e-300), "x={x} y={y}");
            // log p = log N(x; f(y), 1) - log Z(x), spelled out independently.
            let d = x - forward(y);
            let by_hand = -0.5 * d * d - 0.5 * (2.0 * std::f64::consts::PI).ln() - log_z(x);
            assert!(
                (lp - by_hand).abs() < 1e-12,
                "x={x} y={y}: {lp} vs {by_hand}"
            );
        }
        assert_eq!(true_log_density(x, 10.6), f64::NEG_INFINITY);
        assert_eq!(true_log_density(x, -10.51), f64::NEG_INFINITY);
        assert_eq!(true_density_grid(x, &[-11.0, 11.0]), vec![0.0, 0.0]);
    }
    // The cached grid is the documented one, and log_z is log_normaliser on it.
    let direct = log_normaliser(3.3, forward, Y_LO, Y_HI, DENSITY_GRID);
    assert_eq!(log_z(3.3), direct);
}

#[test]
fn make_data_is_reproducible_and_in_range() {
    let (x1, y1) = make_data(N_TRAIN, TRAIN_SEED);
    let (x2, y2) = make_data(N_TRAIN, TRAIN_SEED);
    assert_eq!(x1.len(), N_TRAIN);
    assert_eq!(y1.len(), N_TRAIN);
    let bits = |v: &[f32]| v.iter().map(|z| z.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(&x1),
        bits(&x2),
        "x differs between two draws with the same seed"
    );
    assert_eq!(
        bits(&y1),
        bits(&y2),
        "y differs between two draws with the same seed"
    );

    let (x3, y3) = make_data(N_TEST, TEST_SEED);
    let same_y = y1.iter().zip(&y3).filter(|(a, b)| a == b).count();
    let same_x = x1.iter().zip(&x3).filter(|(a, b)| a == b).count();
    assert!(
        same_y < 5 && same_x < 5,
        "train and test seeds give {same_y} equal y, {same_x} x"
    );

    // Ranges: y in the closed support; |x - f(y)| < 6 (P(|N(0,1)| > 6) * 5000 ~ 1e-5).
    for (&x, &y) in x1.iter().zip(&y1).chain(x3.iter().zip(&y3)) {
        assert!(
            (Y_LO..=Y_HI).contains(&(y as f64)),
            "y = {y} outside [-10.5, 10.5]"
        );
        let r = x as f64 - forward(y as f64);
        assert!(r.abs() < 6.0, "x = {x}, y = {y}: residual {r}");
    }

    // Moments, within 4 standard errors (n = 5000): y has mean 0 and sd 21/sqrt(12) = 6.062;
    // the residual x - f(y) (f32 rounding is ~1e-6) has mean 0 and sd 1.
    let n = N_TRAIN as f64;
    let yd: Vec<f64> = y1.iter().map(|&y| y as f64).collect();
    let res: Vec<f64> = x1
        .iter()
        .zip(&y1)
        .map(|(&x, &y)| x as f64 - forward(y as f64))
        .collect();
    let sd = |v: &[f64]| {
        let m = mean(v);
        (v.iter().map(|z| (z - m) * (z - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
    };
    let y_sd = 21.0 / 12f64.sqrt();
    assert!(
        mean(&yd).abs() < 4.0 * y_sd / n.sqrt(),
        "mean y = {}",
        mean(&yd)
    );
    // se of a sample sd ~ sd / sqrt(2 (n - 1)) for the normal; for the uniform it is smaller
    // (kurtosis 1.8), so the normal's value is a conservative bound.
    assert!(
        (sd(&yd) - y_sd).abs() < 4.0 * y_sd / (2.0 * n).sqrt(),
        "sd y = {}",
        sd(&yd)
    );
    assert!(
        mean(&res).abs() < 4.0 / n.sqrt(),
        "mean residual = {}",
        mean(&res)
    );
    assert!(
        (sd(&res) - 1.0).abs() < 4.0 / (2.0 * n).sqrt(),
        "sd residual = {}",
        sd(&res)
    );
    // The residual is not correlated with y (noise drawn independently of the uniform stream).
    let my = mean(&yd);
    let corr = yd.iter().zip(&res).map(|(y, r)| (y - my) * r).sum::<f64>()
        / ((n - 1.0) * sd(&yd) * sd(&res));
    assert!(corr.abs() < 4.0 / n.sqrt(), "corr(y, residual) = {corr}");
}

/// Mean and standard error of the mean.
fn mean_and_se(v: &[f64]) -> (f64, f64, f64) {
    let m = mean(v);
    let var = v.iter().map(|z| (z - m) * (z - m)).sum::<f64>() / (v.len() - 1) as f64;
    (m, var.sqrt(), var.sqrt() / (v.len() as f64).sqrt())
}

#[test]
fn bayes_nll_of_test_set_matches_population_value() {
    let (x, y) = make_data(N_TEST, TEST_SEED);
    let (points, n_grid) = bayes_nll_points(&x, &y);
    let (nll, sd, se) = mean_and_se(&points);
    assert_eq!(bayes_nll(&x, &y), nll);
    println!(
        "test set: bayes_nll = {nll:.9} (grid {n_grid}), per-point sd = {sd:.4}, se = {se:.4}"
    );
    // The peers measured 1.270 on numpy draws of the same distribution; the sampling sd of a
    // 5000-point mean is ~0.013 (measured above), so [1.2, 1.35] is about +-5 se around it.
    assert!((1.2..=1.35).contains(&nll), "bayes_nll(test) = {nll}");

    // Converged: the grid one refinement coarser differs by < 1e-9 in the mean.
    let coarser = mean(&nll_points_on_grid(&x, &y, (n_grid - 1) / 2 + 1));
    assert!(
        (coarser - nll).abs() < 1e-9,
        "not converged: {coarser} vs {nll}"
    );

    // Monte-Carlo population value E[-log p(y|x)] from 200k fresh points (seed 999), on the
    // grid that converged above; agreement within 4 combined standard errors.
    let (xp, yp) = make_data(200_000, 999);
    let pop = nll_points_on_grid(&xp, &yp, n_grid);
    let (pop_mean, pop_sd, pop_se) = mean_and_se(&pop);
    let combined = (se * se + pop_se * pop_se).sqrt();
    println!(
        "population (MC 200k): {pop_mean:.6} (sd {pop_sd:.4}, se {pop_se:.5}); \
         test - population = {:.5} = {:.2} combined se",
        nll - pop_mean,
        (nll - pop_mean) / combined
    );
    assert!(
        (nll - pop_mean).abs() < 4.0 * combined,
        "test {nll} vs population {pop_mean} (combined se {combined})"
    );
}
