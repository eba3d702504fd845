//! The fused pointwise kernels (one autodiff node each on flex) against their composed burn
//! ops and against `f64` closed forms: `Normal::log_prob` (every parameter shape that
//! broadcasts, constants, strided views), `Bernoulli::log_prob` on logits (values outside
//! {0, 1} included), `Poisson::log_prob` on a tensor rate, `Gamma::log_prob` on tensor parameters, `Categorical::log_prob` on logits, `StudentT::log_prob` for a constant `df`, and the guide draw `normal_draw_through` for the identity, `Exp` and
//! `Softplus` bijectors; values and the gradients of a weighted sum with respect to every
//! tracked input; a device without autodiff; a size large enough to be threaded, with
//! bit-identical results for 1, 2 and 3 threads.
//!
//! # Tolerance
//!
//! Elementwise terms are within a few f32 ulps of `f64` (the kernels' `exp` and `ln` within 2
//! and 1 ulp, one rounding per arithmetic step), so a row sum of `c` terms `t_j` is checked to
//! `16 eps sum_j (1 + |t_j|)`, and a gradient (a sum of `n` contributions `a_i`, one per
//! element, for a broadcast input) to `16 eps sum_i (1 + |a_i|)`. The composed ops are held to
//! the same bounds against `f64`, so both are checked independently.
// The closed forms index several arrays by row and column, as the formulas read.
#![allow(clippy::needless_range_loop)]

mod common;

use burn::tensor::{Device, Tensor};
use common::*;
use inferrs_distributions::{
    Bernoulli, Bijector, Categorical, Cauchy, Distribution, Gamma, HalfCauchy, HalfNormal,
    HalfStudentT, Normal, Poisson, StudentT, normal_draw_through, normal_draw_through_composed,
};
use rand::{Rng as _, SeedableRng};

const EPS: f64 = f32::EPSILON as f64;
const TOL: f64 = 16.0 * EPS;

fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// f32-representable uniforms in `[lo, hi)`.
fn uniform(n: usize, lo: f64, hi: f64, seed: u64) -> Vec<f64> {
    let mut r = rng(seed);
    (0..n)
        .map(|_| r.random_range(lo..hi) as f32 as f64)
        .collect()
}

/// `got` within `TOL * bound` of `want`, entry by entry.
fn within(got: &[f64], want: &[f64], bound: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, ((g, w), b)) in got.iter().zip(want).zip(bound).enumerate() {
        assert!(
            (g - w).abs() <= TOL * b || (g == w),
            "{what}[{i}]: {g} vs {w} (bound {})",
            TOL * b
        );
    }
}

/// Index of element `(i, j)` of a `[rows, cols]` broadcast input of shape `shape`.
fn at(shape: [usize; 2], i: usize, j: usize) -> usize {
    (if shape[0] == 1 { 0 } else { i }) * shape[1] + if shape[1] == 1 { 0 } else { j }
}

/// One Normal case: value `[rows, cols]`, loc and scale of the given shapes (each 1 or the
/// value's), all tracked; the row weights `w` make `sum(w * log p)` the objective.
struct NormalCase {
    rows: usize,
    cols: usize,
    loc: [usize; 2],
    scale: [usize; 2],
    seed: u64,
}

struct Evaluated {
    log_prob: Vec<f64>,
    grads: Vec<Vec<f64>>,
}

impl NormalCase {
    fn inputs(&self) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let n = self.rows * self.cols;
        let x = uniform(n, -8.0, 8.0, self.seed);
        let m = uniform(self.loc[0] * self.loc[1], -3.0, 3.0, self.seed + 1);
        let s = uniform(self.scale[0] * self.scale[1], 0.05, 4.0, self.seed + 2);
        let w = uniform(self.rows, 0.5, 2.0, self.seed + 3);
        (x, m, s, w)
    }

    fn run(&self, fused: bool) -> Evaluated {
        let d = ad();
        let (x, m, s, w) = self.inputs();
        let xt = t2(&x, self.rows, self.cols, &d).require_grad();
        let mt = t2(&m, self.loc[0], self.loc[1], &d).require_grad();
        let st = t2(&s, self.scale[0], self.scale[1], &d).require_grad();
        let q = Normal::new(mt.clone(), st.clone()).unwrap();
        let lp = if fused {
            q.log_prob(xt.clone())
        } else {
            q.log_prob_composed(xt.clone())
        };
        let weights = Tensor::<1>::from_floats(
            w.iter().map(|&v| v as f32).collect::<Vec<_>>().as_slice(),
            &d,
        );
        let g = (lp.clone() * weights).sum().backward();
        Evaluated {
            log_prob: to_vec(lp),
            grads: vec![
                to_vec(xt.grad(&g).unwrap()),
                to_vec(mt.grad(&g).unwrap()),
                to_vec(st.grad(&g).unwrap()),
            ],
        }
    }

    /// The f64 closed forms and their bounds.
    fn exact(&self) -> (Evaluated, Evaluated) {
        let (x, m, s, w) = self.inputs();
        let (rows, cols) = (self.rows, self.cols);
        let mut lp = vec![0.0; rows];
        let mut lp_bound = vec![0.0; rows];
        let mut grads = vec![
            vec![0.0; rows * cols],
            vec![0.0; m.len()],
            vec![0.0; s.len()],
        ];
        let mut bounds = grads.clone();
        for i in 0..rows {
            for j in 0..cols {
                let (mi, si) = (at(self.loc, i, j), at(self.scale, i, j));
                let (xv, mv, sv) = (x[i * cols + j], m[mi], s[si]);
                let t = normal_logpdf(xv, mv, sv);
                lp[i] += t;
                lp_bound[i] += 1.0 + t.abs();
                let z = (xv - mv) / sv;
                let parts = [-z / sv * w[i], z / sv * w[i], (z * z - 1.0) / sv * w[i]];
                for (k, idx) in [i * cols + j, mi, si].into_iter().enumerate() {
                    grads[k][idx] += parts[k];
                    bounds[k][idx] += 1.0 + parts[k].abs();
                }
            }
        }
        (
            Evaluated {
                log_prob: lp,
                grads,
            },
            Evaluated {
                log_prob: lp_bound,
                grads: bounds,
            },
        )
    }

    fn check(&self) {
        let name = format!(
            "Normal [{}, {}] loc {:?} scale {:?}",
            self.rows, self.cols, self.loc, self.scale
        );
        let (want, bound) = self.exact();
        for fused in [true, false] {
            let got = self.run(fused);
            let what = format!("{name} {}", if fused { "fused" } else { "composed" });
            within(
                &got.log_prob,
                &want.log_prob,
                &bound.log_prob,
                &format!("{what} log p"),
            );
            for (k, input) in ["value", "loc", "scale"].iter().enumerate() {
                within(
                    &got.grads[k],
                    &want.grads[k],
                    &bound.grads[k],
                    &format!("{what} d/d{input}"),
                );
            }
        }
    }
}

#[test]
fn normal_log_prob_matches_the_closed_form_for_every_broadcast() {
    let (r, c) = (37, 5);
    let shapes = [[r, c], [1, c], [r, 1], [1, 1]];
    let mut seed = 10;
    for loc in shapes {
        for scale in shapes {
            NormalCase {
                rows: r,
                cols: c,
                loc,
                scale,
                seed,
            }
            .check();
            seed += 10;
        }
    }
    // One column, one row, and a size that is threaded (2 * 2^15 elements and more).
    for (rows, cols) in [(1000, 1), (1, 9), (5000, 20)] {
        NormalCase {
            rows,
            cols,
            loc: [1, cols],
            scale: [rows, cols],
            seed,
        }
        .check();
        seed += 10;
    }
}

#[test]
fn normal_log_prob_of_constants_and_strided_views() {
    let d = ad();
    let (rows, cols) = (50, 3);
    let x = uniform(rows * 3 * cols, -5.0, 5.0, 1);
    for (loc, scale) in [(0.5, 2.0), (-1.0, 0.3)] {
        let wide = t2(&x, rows, 3 * cols, &d).require_grad();
        let value = wide.clone().narrow(1, cols, cols);
        let q = Normal::new(loc, scale).unwrap();
        let lp = q.log_prob(value.clone());
        let g = lp.clone().sum().backward();
        let got_lp = to_vec(lp);
        let got_g = to_vec(wide.grad(&g).unwrap());
        for i in 0..rows {
            let mut want = 0.0;
            let mut bound = 0.0;
            for j in 0..cols {
                let xv = x[i * 3 * cols + cols + j];
                let t = normal_logpdf(xv, loc, scale);
                want += t;
                bound += 1.0 + t.abs();
                let dg = -(xv - loc) / (scale * scale);
                let gi = got_g[i * 3 * cols + cols + j];
                assert!(
                    (gi - dg).abs() <= TOL * (1.0 + dg.abs()),
                    "d/dx {gi} vs {dg}"
                );
                assert_eq!(got_g[i * 3 * cols + j], 0.0, "outside the view");
            }
            assert!(
                (got_lp[i] - want).abs() <= TOL * bound,
                "{} vs {want}",
                got_lp[i]
            );
        }
    }
    // On a device without autodiff.
    let cpu = cpu();
    let v = t2(&x[..rows * cols], rows, cols, &cpu);
    let s = t2(&uniform(cols, 0.5, 2.0, 2), 1, cols, &cpu);
    let q = Normal::new(0.25, s).unwrap();
    let fused = to_vec(q.log_prob(v.clone()));
    let composed = to_vec(q.log_prob_composed(v));
    within(
        &fused,
        &composed,
        &vec![cols as f64 * 20.0; rows],
        "no autodiff",
    );
}

/// What a family's log density and its gradient should be, in f64: per row (`want`, within
/// `TOL * bound`) and per parameter entry (`want_g`, within `TOL * bound_g`).
struct Expected {
    want: Vec<f64>,
    bound: Vec<f64>,
    want_g: Vec<f64>,
    bound_g: Vec<f64>,
}

/// Checks a one-parameter family, fused (`log_prob`) and composed (`composed`), on `value`:
/// its log density, and the gradient of `sum_i w_i log p_i` with respect to the tracked
/// parameter that `build` makes the family from.
fn check_one_parameter<D: Distribution>(
    what: &str,
    (param, pshape): (&[f64], [usize; 2]),
    (value, vshape): (&[f64], [usize; 2]),
    w: &[f64],
    expected: &Expected,
    build: impl Fn(Tensor<2>) -> D,
    composed: impl Fn(&D, Tensor<2>) -> Tensor<1>,
) {
    let d = ad();
    let rows = vshape[0];
    for fused in [true, false] {
        let pt = t2(param, pshape[0], pshape[1], &d).require_grad();
        let q = build(pt.clone());
        let vt = t2(value, vshape[0], vshape[1], &d);
        let lp = if fused {
            q.log_prob(vt)
        } else {
            composed(&q, vt)
        };
        let weights = t2(w, rows, 1, &d).reshape([rows]);
        let g = (lp.clone() * weights).sum().backward();
        let what = format!("{what} fused {fused}");
        within(
            &to_vec(lp),
            &expected.want,
            &expected.bound,
            &format!("{what} log p"),
        );
        within(
            &to_vec(pt.grad(&g).unwrap()),
            &expected.want_g,
            &expected.bound_g,
            &format!("{what} gradient"),
        );
    }
}

/// The Bernoulli log mass on logits `[rows, cols]` (or `[1, cols]`), fused and composed,
/// against `x ln sigmoid(l) + (1 - x) ln sigmoid(-l)` and `d/dl = w (x - sigmoid(l))`.
#[test]
fn bernoulli_logits_log_prob_matches_the_closed_form() {
    let d = ad();
    for (rows, cols, shared, seed) in [(400, 3, false, 1), (400, 3, true, 2), (70_000, 1, false, 3)]
    {
        let lrows = if shared { 1 } else { rows };
        let mut logits = uniform(lrows * cols, -30.0, 30.0, seed);
        let specials = [-100.0, -20.5, -1e-3, 0.0, 1e-3, 20.5, 100.0];
        let k = specials.len().min(logits.len());
        logits[..k].copy_from_slice(&specials[..k]);
        let mut r = rng(seed + 7);
        let x: Vec<f64> = (0..rows * cols)
            .map(|_| f64::from(u8::from(r.random::<bool>())))
            .collect();
        let w = uniform(rows, 0.5, 2.0, seed + 8);
        let log_sigmoid = |l: f64| {
            if l > 0.0 {
                -(-l).exp().ln_1p()
            } else {
                l - l.exp().ln_1p()
            }
        };
        let mut want = vec![0.0; rows];
        let mut bound = vec![0.0; rows];
        let mut want_g = vec![0.0; logits.len()];
        let mut bound_g = vec![0.0; logits.len()];
        for i in 0..rows {
            for j in 0..cols {
                let li = at([lrows, cols], i, j);
                let (l, xv) = (logits[li], x[i * cols + j]);
                let t = xv * log_sigmoid(l) + (1.0 - xv) * log_sigmoid(-l);
                want[i] += t;
                bound[i] += 1.0 + t.abs();
                let g = w[i] * (xv - 1.0 / (1.0 + (-l).exp()));
                want_g[li] += g;
                bound_g[li] += 1.0 + g.abs();
            }
        }
        let expected = Expected {
            want,
            bound,
            want_g,
            bound_g,
        };
        check_one_parameter(
            &format!("Bernoulli [{rows}, {cols}] shared {shared}"),
            (&logits, [lrows, cols]),
            (&x, [rows, cols]),
            &w,
            &expected,
            |l| Bernoulli::new(l).unwrap(),
            Bernoulli::log_prob_composed,
        );
    }
    // A value other than 0 or 1 has log mass -inf, as composed.
    let q = Bernoulli::new(t2(&[0.3, -2.0], 1, 2, &d)).unwrap();
    let lp = to_vec(q.log_prob(t2(&[1.0, 0.5, 0.0, 1.0], 2, 2, &d)));
    assert_eq!(lp[0], f64::NEG_INFINITY);
    assert!(lp[1].is_finite());
}

/// The Poisson log mass `[rows, cols]` of counts 0-40 on a tensor rate (per element or one
/// row shared), fused and composed, against `k ln r - r - ln Gamma(k + 1)` in f64 (statrs'
/// `ln_gamma`) and `d/dr = w (k / r - 1)`. Both compute `ln Gamma` with the same f32 Stirling
/// formula (within `2e-6 + 5e-7 |ln Gamma|`), so a row is checked to `16 eps` times the sum
/// of its terms' magnitudes `1 + |k ln r| + r + ln Gamma(k + 1)`. A rate of 0 gives `k = 0`
/// probability 1 (log mass 0, `d/dr = -1`), and a value that is not a count `-inf`.
#[test]
fn poisson_log_prob_matches_the_closed_form() {
    let d = ad();
    for (rows, cols, shared, seed) in [
        (300, 4, false, 11),
        (300, 4, true, 12),
        (70_000, 1, false, 13),
    ] {
        let rrows = if shared { 1 } else { rows };
        let mut rate = uniform(rrows * cols, 0.05, 30.0, seed);
        rate[0] = 0.0;
        let mut r = rng(seed + 1);
        let mut k: Vec<f64> = (0..rows * cols)
            .map(|_| f64::from(r.random_range(0..41u8)))
            .collect();
        // The rate 0 of element (0, 0) meets the count 0.
        k[0] = 0.0;
        let w = uniform(rows, 0.5, 2.0, seed + 2);
        let mut want = vec![0.0; rows];
        let mut bound = vec![0.0; rows];
        let mut want_g = vec![0.0; rate.len()];
        let mut bound_g = vec![0.0; rate.len()];
        for i in 0..rows {
            for j in 0..cols {
                let ri = at([rrows, cols], i, j);
                let (rv, kv) = (rate[ri], k[i * cols + j]);
                let lg = statrs::function::gamma::ln_gamma(kv + 1.0);
                let klr = if kv == 0.0 { 0.0 } else { kv * rv.ln() };
                want[i] += klr - rv - lg;
                bound[i] += 1.0 + klr.abs() + rv + lg.abs();
                let g = if rv == 0.0 {
                    -w[i]
                } else {
                    w[i] * (kv / rv - 1.0)
                };
                want_g[ri] += g;
                bound_g[ri] += 1.0 + g.abs();
            }
        }
        let expected = Expected {
            want,
            bound,
            want_g,
            bound_g,
        };
        check_one_parameter(
            &format!("Poisson [{rows}, {cols}] shared {shared}"),
            (&rate, [rrows, cols]),
            (&k, [rows, cols]),
            &w,
            &expected,
            |r| Poisson::new(r).unwrap(),
            Poisson::log_prob_composed,
        );
    }
    // Values that are not counts have log mass -inf, fused as composed.
    let q = Poisson::new(t2(&[2.0, 3.0], 1, 2, &d).require_grad()).unwrap();
    let value = t2(&[1.5, 2.0, 1.0, -1.0, 0.0, 4.0], 3, 2, &d);
    let fused = to_vec(q.log_prob(value.clone()));
    let composed = to_vec(q.log_prob_composed(value));
    assert_eq!(fused[0], f64::NEG_INFINITY);
    assert_eq!(fused[1], f64::NEG_INFINITY);
    assert!(fused[2].is_finite());
    assert_eq!(composed[..2], fused[..2]);
    // A tracked count (rare: counts are data) gets `d/dk = ln r - digamma(k + 1)`, fused as
    // composed, within 1e-5 of statrs' digamma (the Stirling formula's derivative).
    let (rates, counts) = ([0.5, 7.0, 30.0], [0.0, 3.0, 25.0]);
    for fused in [true, false] {
        let kt = t2(&counts, 1, 3, &d).require_grad();
        let q = Poisson::new(t2(&rates, 1, 3, &d).require_grad()).unwrap();
        let lp = if fused {
            q.log_prob(kt.clone())
        } else {
            q.log_prob_composed(kt.clone())
        };
        let g = to_vec(kt.grad(&lp.sum().backward()).unwrap());
        for ((&gk, &r), &k) in g.iter().zip(&rates).zip(&counts) {
            let want = r.ln() - statrs::function::gamma::digamma(k + 1.0);
            assert!(
                (gk - want).abs() < 1e-5,
                "fused {fused}: d/dk at k = {k}, r = {r}: {gk} vs {want}"
            );
        }
    }
}

/// The Gamma log density of `[rows, cols]` values on a tensor concentration and rate (per
/// element, one shared row, or a constant rate), fused and composed, against
/// `a ln b - ln Gamma(a) + (a - 1) ln x - b x` in f64 (statrs' `ln_gamma` and `digamma`), and
/// its gradients `d/da = ln b - digamma(a) + ln x`, `d/db = a / b - x`. A row is checked to
/// `16 eps` times the sum of its terms' magnitudes; `d/da` to `16 eps (1 + |ln b| + |ln x| +
/// 4 / a + ln(a + 4))`, the magnitudes of the terms of the Stirling series' derivative.
#[test]
fn gamma_log_prob_matches_the_closed_form() {
    use statrs::function::gamma::{digamma, ln_gamma};
    let d = ad();
    for (rows, cols, shared, constant_rate, seed) in [
        (300, 3, false, false, 21),
        (300, 3, true, false, 22),
        (300, 3, false, true, 23),
        (70_000, 1, false, false, 24),
    ] {
        let prows = if shared { 1 } else { rows };
        let a = uniform(prows * cols, 0.2, 12.0, seed);
        let b = if constant_rate {
            vec![1.5]
        } else {
            uniform(prows * cols, 0.1, 5.0, seed + 1)
        };
        let bshape = if constant_rate { [1, 1] } else { [prows, cols] };
        let x = uniform(rows * cols, 0.01, 20.0, seed + 2);
        let w = uniform(rows, 0.5, 2.0, seed + 3);
        let mut want = vec![0.0; rows];
        let mut bound = vec![0.0; rows];
        let (mut want_a, mut bound_a) = (vec![0.0; a.len()], vec![0.0; a.len()]);
        let (mut want_b, mut bound_b) = (vec![0.0; b.len()], vec![0.0; b.len()]);
        for i in 0..rows {
            for j in 0..cols {
                let ai = at([prows, cols], i, j);
                let bi = at(bshape, i, j);
                let (av, bv, xv) = (a[ai], b[bi], x[i * cols + j]);
                let terms = [av * bv.ln(), -ln_gamma(av), (av - 1.0) * xv.ln(), -bv * xv];
                want[i] += terms.iter().sum::<f64>();
                bound[i] += 1.0 + terms.iter().map(|t| t.abs()).sum::<f64>();
                let ga = w[i] * (bv.ln() - digamma(av) + xv.ln());
                want_a[ai] += ga;
                bound_a[ai] +=
                    w[i] * (1.0 + bv.ln().abs() + xv.ln().abs() + 4.0 / av + (av + 4.0).ln());
                let gb = w[i] * (av / bv - xv);
                want_b[bi] += gb;
                bound_b[bi] += 1.0 + gb.abs() + w[i] * (av / bv);
            }
        }
        for fused in [true, false] {
            let at_ = t2(&a, prows, cols, &d).require_grad();
            let q = if constant_rate {
                Gamma::new(at_.clone(), 1.5).unwrap()
            } else {
                Gamma::new(at_.clone(), t2(&b, prows, cols, &d).require_grad()).unwrap()
            };
            let xt = t2(&x, rows, cols, &d);
            let lp = if fused {
                q.log_prob(xt)
            } else {
                q.log_prob_composed(xt)
            };
            let weights = t2(&w, rows, 1, &d).reshape([rows]);
            let g = (lp.clone() * weights).sum().backward();
            let what = format!(
                "Gamma [{rows}, {cols}] shared {shared} constant rate {constant_rate} fused {fused}"
            );
            within(&to_vec(lp), &want, &bound, &format!("{what} log p"));
            within(
                &to_vec(at_.grad(&g).unwrap()),
                &want_a,
                &bound_a,
                &format!("{what} d/da"),
            );
            if let (false, inferrs_distributions::Param::Tensor(bt)) = (constant_rate, q.rate()) {
                within(
                    &to_vec(bt.grad(&g).unwrap()),
                    &want_b,
                    &bound_b,
                    &format!("{what} d/db"),
                );
            }
        }
    }
    // A value that is not positive has density 0: -inf, fused as composed.
    let q = Gamma::new(t2(&[2.0], 1, 1, &d).require_grad(), 1.0).unwrap();
    let value = t2(&[0.0, -1.0, 2.0], 3, 1, &d);
    let (fused, composed) = (
        to_vec(q.log_prob(value.clone())),
        to_vec(q.log_prob_composed(value)),
    );
    assert_eq!(fused[..2], [f64::NEG_INFINITY; 2]);
    assert_eq!(composed[..2], fused[..2]);
    assert!((fused[2] - composed[2]).abs() < 1e-5);
}

/// The categorical log mass on logits `[rows, K]` (or one shared row), fused and composed,
/// against `l_k - logsumexp(l)` in f64 and `d/dl_j = w ([j = k] - softmax(l)_j)`; logits up
/// to 30 in size (and one row at 80, where a naive sum of exponentials overflows f32). A row
/// is checked to `16 eps (1 + |l_k| + |logsumexp(l)|) K`, a gradient entry to `16 eps (1 +
/// |g|)` per contribution. A value that is not a class (-1, K, 1.5) has log mass `-inf` and
/// no gradient, as composed.
#[test]
fn categorical_logits_log_prob_matches_the_closed_form() {
    for (rows, classes, shared, seed) in [
        (300, 5, false, 31),
        (300, 5, true, 32),
        (20_000, 10, false, 33),
    ] {
        let lrows = if shared { 1 } else { rows };
        let mut logits = uniform(lrows * classes, -30.0, 30.0, seed);
        logits[0] = 80.0;
        let mut r = rng(seed + 1);
        let mut k: Vec<f64> = (0..rows)
            .map(|_| f64::from(r.random_range(0..classes as u32)))
            .collect();
        k[1] = -1.0;
        k[2] = classes as f64;
        k[3] = 1.5;
        let w = uniform(rows, 0.5, 2.0, seed + 2);
        let mut want = vec![0.0; rows];
        let mut bound = vec![0.0; rows];
        let mut want_g = vec![0.0; logits.len()];
        let mut bound_g = vec![0.0; logits.len()];
        for i in 0..rows {
            let base = if shared { 0 } else { i * classes };
            let l = &logits[base..base + classes];
            let max = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lse = max + l.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
            let class = (k[i] >= 0.0 && k[i].fract() == 0.0 && (k[i] as usize) < classes)
                .then_some(k[i] as usize);
            match class {
                Some(c) => {
                    want[i] = l[c] - lse;
                    bound[i] = (1.0 + l[c].abs() + lse.abs()) * classes as f64;
                    for j in 0..classes {
                        let g = w[i] * (f64::from(u8::from(j == c)) - (l[j] - lse).exp());
                        want_g[base + j] += g;
                        bound_g[base + j] += 1.0 + g.abs();
                    }
                }
                None => {
                    want[i] = f64::NEG_INFINITY;
                    bound[i] = 1.0;
                    for j in 0..classes {
                        bound_g[base + j] += 1.0;
                    }
                }
            }
        }
        let expected = Expected {
            want,
            bound,
            want_g,
            bound_g,
        };
        check_one_parameter(
            &format!("Categorical [{rows}, {classes}] shared {shared}"),
            (&logits, [lrows, classes]),
            (&k, [rows, 1]),
            &w,
            &expected,
            |l| Categorical::new(l).unwrap(),
            Categorical::log_prob_composed,
        );
    }
}

/// `(T(u), ln |T'(u)|, T'(u), d/du ln |T'(u)|)` in f64.
fn bijector_f64(b: &Bijector, u: f64) -> (f64, f64, f64, f64) {
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    match b {
        Bijector::Identity => (u, 0.0, 1.0, 0.0),
        Bijector::Exp => (u.exp(), u, u.exp(), 1.0),
        Bijector::Softplus => {
            let sp = if u > 20.0 { u } else { u.exp().ln_1p() };
            let log_sig = if u > 0.0 {
                -(-u).exp().ln_1p()
            } else {
                u - u.exp().ln_1p()
            };
            (sp, log_sig, sig(u), sig(-u))
        }
        Bijector::Sigmoid => {
            let ls = |v: f64| {
                if v > 0.0 {
                    -(-v).exp().ln_1p()
                } else {
                    v - v.exp().ln_1p()
                }
            };
            (sig(u), ls(u) + ls(-u), sig(u) * sig(-u), sig(-u) - sig(u))
        }
        _ => unreachable!(),
    }
}

/// The guide draw through each bijector, fused and composed, against the closed forms: the
/// value `T(m + s e)` with `s = softplus(r)`, `log q = sum(-e^2/2 - ln s - ln sqrt(2 pi) -
/// ln |T'(u)|)`, and the gradients of `sum(a * x) + sum(w * log q)` with respect to `m` and the
/// raw scale `r` (`ds/dr = sigmoid(r)`).
#[test]
fn normal_draw_through_matches_the_closed_form() {
    let d = ad();
    for (b, seed) in [
        (Bijector::Identity, 1),
        (Bijector::Exp, 2),
        (Bijector::Softplus, 3),
        (Bijector::Sigmoid, 4),
    ] {
        for (rows, cols) in [(60, 4), (1, 1), (17_000, 4)] {
            let n = rows * cols;
            let m = uniform(n, -4.0, 4.0, seed);
            let r = uniform(n, -3.0, 2.0, seed + 1);
            let s: Vec<f64> = r.iter().map(|&r| r.exp().ln_1p()).collect();
            let e = uniform(n, -3.0, 3.0, seed + 2);
            let a = uniform(n, -1.0, 1.0, seed + 3);
            let w = uniform(rows, 0.5, 2.0, seed + 4);
            let mut want = (vec![0.0; n], vec![0.0; rows], vec![0.0; n], vec![0.0; n]);
            let mut bound = (vec![0.0; n], vec![0.0; rows], vec![0.0; n], vec![0.0; n]);
            for i in 0..rows {
                for j in 0..cols {
                    let k = i * cols + j;
                    let u = m[k] + s[k] * e[k];
                    let (x, log_jac, dx, g) = bijector_f64(&b, u);
                    let lq = -0.5 * e[k] * e[k] - s[k].ln() - HALF_LN_2PI - log_jac;
                    want.0[k] = x;
                    bound.0[k] = 1.0 + x.abs() + dx.abs() * (m[k].abs() + (s[k] * e[k]).abs());
                    want.1[i] += lq;
                    bound.1[i] += 1.0 + lq.abs() + g.abs() * (m[k].abs() + (s[k] * e[k]).abs());
                    // Pathwise: d/dm = a T'(u) - w g(u); d/ds = a T'(u) e - w (1/s + g(u) e).
                    let dm = a[k] * dx - w[i] * g;
                    let sig_r = 1.0 / (1.0 + (-r[k]).exp());
                    let ds = (a[k] * dx * e[k] - w[i] * (1.0 / s[k] + g * e[k])) * sig_r;
                    want.2[k] = dm;
                    want.3[k] = ds;
                    let spread = 1.0 + u.abs() + 1.0 / s[k];
                    bound.2[k] = spread * (1.0 + dm.abs());
                    bound.3[k] = spread * (1.0 + ds.abs()) * (1.0 + e[k].abs());
                }
            }
            for fused in [true, false] {
                let mt = t2(&m, rows, cols, &d).require_grad();
                let st = t2(&r, rows, cols, &d).require_grad();
                let et = t2(&e, rows, cols, &d);
                let (x, lq) = if fused {
                    normal_draw_through(&b, &mt, &st, et)
                } else {
                    normal_draw_through_composed(&b, &mt, &st, et)
                };
                let obj = (x.clone() * t2(&a, rows, cols, &d)).sum()
                    + (lq.clone() * t2(&w, rows, 1, &d).reshape([rows])).sum();
                let g = obj.backward();
                let what = format!("{b:?} [{rows}, {cols}] fused {fused}");
                within(&to_vec(x), &want.0, &bound.0, &format!("{what} value"));
                within(&to_vec(lq), &want.1, &bound.1, &format!("{what} log q"));
                within(
                    &to_vec(mt.grad(&g).unwrap()),
                    &want.2,
                    &bound.2,
                    &format!("{what} d/dloc"),
                );
                within(
                    &to_vec(st.grad(&g).unwrap()),
                    &want.3,
                    &bound.3,
                    &format!("{what} d/dscale"),
                );
            }
        }
    }
}

/// The threaded kernels give the same bits for any number of threads.
#[test]
fn pointwise_kernels_are_bit_identical_across_thread_counts() {
    let (rows, cols) = (9000, 10);
    let n = rows * cols;
    let x = uniform(n, -5.0, 5.0, 1);
    let m = uniform(cols, -1.0, 1.0, 2);
    let s = uniform(n, 0.1, 3.0, 3);
    let run = || {
        let d: Device = ad();
        let mt = t2(&m, 1, cols, &d).require_grad();
        let st = t2(&s, rows, cols, &d).require_grad();
        let lp = Normal::new(mt.clone(), st.clone())
            .unwrap()
            .log_prob(t2(&x, rows, cols, &d));
        let (draw, lq) = normal_draw_through(&Bijector::Softplus, &st, &st, t2(&x, rows, cols, &d));
        let g = (lp.clone().sum() + draw.clone().sum() + lq.sum()).backward();
        let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
        (
            bits(to_vec(lp)),
            bits(to_vec(draw)),
            bits(to_vec(mt.grad(&g).unwrap())),
            bits(to_vec(st.grad(&g).unwrap())),
        )
    };
    let pool = |k: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(k)
            .build()
            .unwrap()
            .install(run)
    };
    let one = pool(1);
    assert_eq!(one, pool(2));
    assert_eq!(one, pool(3));
}

/// Student's t with a constant `df` (fused) and its composed ops, against `f64`: `ln Γ` from
/// statrs, `d/dx = -(df + 1) z / (s (df + z^2))`, `d/dm = -d/dx`, `d/ds = -1/s - z d/dx`; at
/// `df = 1` the Cauchy too, fused and composed.
#[test]
fn student_t_log_prob_matches_the_closed_form() {
    use statrs::function::gamma::ln_gamma;
    let d = ad();
    let (rows, cols) = (300, 3);
    for (df, seed) in [(1.0, 1), (3.5, 2), (30.0, 3), (1e4, 4)] {
        let n = rows * cols;
        let x = uniform(n, -20.0, 20.0, seed);
        let m = uniform(cols, -2.0, 2.0, seed + 1);
        let s = uniform(n, 0.1, 5.0, seed + 2);
        let w = uniform(rows, 0.5, 2.0, seed + 3);
        let norm = ln_gamma((df + 1.0) / 2.0)
            - ln_gamma(df / 2.0)
            - 0.5 * (df * std::f64::consts::PI).ln();
        let mut want = (vec![0.0; rows], vec![0.0; n], vec![0.0; cols], vec![0.0; n]);
        let mut bound = want.clone();
        for i in 0..rows {
            for j in 0..cols {
                let k = i * cols + j;
                let z = (x[k] - m[j]) / s[k];
                let t = norm - s[k].ln() - 0.5 * (df + 1.0) * (z * z / df).ln_1p();
                want.0[i] += t;
                bound.0[i] += 1.0 + t.abs() + norm.abs();
                let dx = -(df + 1.0) * z / (s[k] * (df + z * z)) * w[i];
                let ds = (-1.0 / s[k] - z * dx / w[i]) * w[i];
                want.1[k] = dx;
                bound.1[k] = 1.0 + dx.abs();
                want.2[j] -= dx;
                bound.2[j] += 1.0 + dx.abs();
                want.3[k] = ds;
                bound.3[k] = 1.0 + ds.abs() + (z * dx).abs();
            }
        }
        // The Cauchy is the Student's t at df = 1 (and has its own fused path).
        let families: &[&str] = if df == 1.0 {
            &["StudentT", "Cauchy"]
        } else {
            &["StudentT"]
        };
        for (&family, fused) in families.iter().flat_map(|f| [(f, true), (f, false)]) {
            let xt = t2(&x, rows, cols, &d).require_grad();
            let mt = t2(&m, 1, cols, &d).require_grad();
            let st = t2(&s, rows, cols, &d).require_grad();
            let lp = if family == "Cauchy" {
                let q = Cauchy::new(mt.clone(), st.clone()).unwrap();
                if fused {
                    q.log_prob(xt.clone())
                } else {
                    q.log_prob_composed(xt.clone())
                }
            } else {
                let q = StudentT::new(df, mt.clone(), st.clone()).unwrap();
                if fused {
                    q.log_prob(xt.clone())
                } else {
                    q.log_prob_composed(xt.clone())
                }
            };
            let g = (lp.clone() * t2(&w, rows, 1, &d).reshape([rows]))
                .sum()
                .backward();
            let what = format!("{family} df {df} fused {fused}");
            within(&to_vec(lp), &want.0, &bound.0, &format!("{what} log p"));
            within(
                &to_vec(xt.grad(&g).unwrap()),
                &want.1,
                &bound.1,
                &format!("{what} d/dx"),
            );
            within(
                &to_vec(mt.grad(&g).unwrap()),
                &want.2,
                &bound.2,
                &format!("{what} d/dloc"),
            );
            within(
                &to_vec(st.grad(&g).unwrap()),
                &want.3,
                &bound.3,
                &format!("{what} d/dscale"),
            );
        }
    }
}

/// A fit scores an observed site once when its parameters are host constants
/// (`Distribution::constant_parameters`): Poisson and Gamma say so for constants, and not
/// for a tensor parameter (which the fused kernels then take).
#[test]
fn poisson_and_gamma_say_when_their_parameters_are_constants() {
    let d = ad();
    assert!(Poisson::new(3.0).unwrap().constant_parameters());
    assert!(
        Gamma::new(2.0, vec![1.0, 0.5])
            .unwrap()
            .constant_parameters()
    );
    let tensor = t2(&[2.0], 1, 1, &d);
    assert!(!Poisson::new(tensor.clone()).unwrap().constant_parameters());
    assert!(
        !Gamma::new(2.0, tensor.clone())
            .unwrap()
            .constant_parameters()
    );
    assert!(!Gamma::new(tensor, 1.0).unwrap().constant_parameters());
}

/// The scale families of hierarchical priors, fused and composed, against `f64` closed forms:
/// the half-Student's t (`df` 3.5), the half-Cauchy (its `df = 1`) and the half-normal, with
/// `z = x / s`:
/// * half-t: `ln 2 + c(df) - ln s - (df + 1) / 2 ln(1 + z^2 / df)`,
///   `d/dx = -(df + 1) z / (s (df + z^2))`, `d/ds = -1/s - z d/dx`;
/// * half-normal: `ln 2 - ln(2 pi) / 2 - ln s - z^2 / 2`, `d/dx = -z / s`,
///   `d/ds = (z^2 - 1) / s`.
///
/// One element of the last row is negative: that row's log density is `-inf` and that
/// element's gradients are 0, as the composed ops' mask gives.
#[test]
fn half_families_match_the_closed_form() {
    use statrs::function::gamma::ln_gamma;
    let d = ad();
    let (rows, cols) = (200, 3);
    let n = rows * cols;
    let mut x = uniform(n, 0.0, 20.0, 11);
    x[n - 2] = -0.5;
    let s = uniform(n, 0.1, 5.0, 12);
    let w = uniform(rows, 0.5, 2.0, 13);
    let c = |df: f64| {
        ln_gamma((df + 1.0) / 2.0) - ln_gamma(df / 2.0) - 0.5 * (df * std::f64::consts::PI).ln()
    };
    // (name, df or None for the half-normal)
    for (name, df) in [
        ("HalfStudentT", Some(3.5)),
        ("HalfCauchy", Some(1.0)),
        ("HalfNormal", None),
    ] {
        let mut want = (vec![0.0; rows], vec![0.0; n], vec![0.0; n]);
        let mut bound = want.clone();
        for i in 0..rows {
            for j in 0..cols {
                let k = i * cols + j;
                let z = x[k] / s[k];
                let (t, dx, ds, scale) = match df {
                    Some(df) => {
                        let norm = std::f64::consts::LN_2 + c(df);
                        let t = norm - s[k].ln() - 0.5 * (df + 1.0) * (z * z / df).ln_1p();
                        let dx = -(df + 1.0) * z / (s[k] * (df + z * z));
                        (t, dx, -1.0 / s[k] - z * dx, norm.abs())
                    }
                    None => {
                        let norm = std::f64::consts::LN_2 - 0.5 * (2.0 * std::f64::consts::PI).ln();
                        (
                            norm - s[k].ln() - 0.5 * z * z,
                            -z / s[k],
                            (z * z - 1.0) / s[k],
                            z * z,
                        )
                    }
                };
                if x[k] < 0.0 {
                    want.0[i] = f64::NEG_INFINITY;
                    continue;
                }
                want.0[i] += t;
                bound.0[i] += 1.0 + t.abs() + scale;
                want.1[k] = dx * w[i];
                bound.1[k] = (1.0 + dx.abs()) * w[i];
                want.2[k] = ds * w[i];
                bound.2[k] = (1.0 + ds.abs() + (z * dx).abs()) * w[i];
            }
        }
        for fused in [true, false] {
            let log_prob = |xt: Tensor<2>, st: Tensor<2>| -> Tensor<1> {
                match df {
                    None => {
                        let q = HalfNormal::new(st).unwrap();
                        if fused {
                            q.log_prob(xt)
                        } else {
                            q.log_prob_composed(xt)
                        }
                    }
                    Some(df) if name == "HalfCauchy" => {
                        assert_eq!(df, 1.0);
                        let q = HalfCauchy::new(st).unwrap();
                        if fused {
                            q.log_prob(xt)
                        } else {
                            q.log_prob_composed(xt)
                        }
                    }
                    Some(df) => {
                        let q = HalfStudentT::new(df, st).unwrap();
                        if fused {
                            q.log_prob(xt)
                        } else {
                            q.log_prob_composed(xt)
                        }
                    }
                }
            };
            let what = format!("{name} fused {fused}");
            // Every row but the last (the one with a negative element) carries a gradient.
            let keep: Vec<f64> = (0..rows)
                .map(|i| if i + 1 < rows { w[i] } else { 0.0 })
                .collect();
            let xt = t2(&x, rows, cols, &d).require_grad();
            let st = t2(&s, rows, cols, &d).require_grad();
            let lp = log_prob(xt.clone(), st.clone());
            within(
                &to_vec(lp.clone()),
                &want.0,
                &bound.0,
                &format!("{what} log p"),
            );
            let g = (lp.clone().mask_fill(lp.is_inf(), 0.0)
                * t2(&keep, rows, 1, &d).reshape([rows]))
            .sum()
            .backward();
            let (gx, gs) = (to_vec(xt.grad(&g).unwrap()), to_vec(st.grad(&g).unwrap()));
            let k = (rows - 1) * cols;
            within(
                &gx[..k],
                &want.1[..k],
                &bound.1[..k],
                &format!("{what} d/dx"),
            );
            within(
                &gs[..k],
                &want.2[..k],
                &bound.2[..k],
                &format!("{what} d/dscale"),
            );
            // The negative element gets no gradient through its row (a fresh graph).
            let st = t2(&s, rows, cols, &d).require_grad();
            let lp = log_prob(t2(&x, rows, cols, &d), st.clone());
            let g = lp.narrow(0, rows - 1, 1).sum().backward();
            let gs = to_vec(st.grad(&g).unwrap());
            assert_eq!(gs[n - 2], 0.0, "{what}: the negative element's d/dscale");
        }
    }
}
