//! The fused `MixtureGaussian` kernel (`log_prob` on flex) against the composed-ops version
//! (`log_prob_composed`, the fallback of other backends): values and gradients with respect
//! to the value, the locations, the scales and the logits, on random inputs from fixed seeds.
//!
//! # Tolerance
//!
//! Both versions are f32 computations of the same function; they round differently. A row's
//! rounding error is relative to the magnitude of its largest log term
//! `U = max_k |log_softmax(l)_k + log N(y; m_k, s_k)|` (a log term of magnitude `U` is only
//! known to `U * eps`, and shifts a responsibility by that relative amount), so a row is
//! compared with
//!
//! ```text
//! |fused - composed| <= TOL * (1 + U) * (1 + max_row |composed|)
//! ```
//!
//! with `TOL = 4 eps = 4.8e-7` (eps = 2^-23): each side is a few roundings of quantities of
//! that magnitude away from the exact result (measured: at most 0.5 eps).
//! The same bound holds for values (the row has one entry) and for each gradient (the
//! maximum runs over the row's `K` entries, so tiny entries of a row are compared at the
//! row's scale). Both are also compared with an f64 evaluation of the closed forms, with the
//! same bound.
mod common;

use burn::tensor::{Device, Gradients, Tensor};
use common::*;
use inferrs_distributions::{
    Distribution, MixtureGaussian, fused_kernels_available, softplus_with_floor,
};
use rand::{Rng as _, SeedableRng};

const EPS: f64 = f32::EPSILON as f64;
const TOL: f64 = 4.0 * EPS;

type StdRng = rand::rngs::StdRng;

/// One random problem: value `[vr, 1]`, parameters `[pr, pk]` each (`pk` is `k` or 1).
#[derive(Clone, Debug)]
struct Case {
    rows: usize,
    k: usize,
    ys: Vec<f64>,
    locs: Vec<f64>,
    scales: Vec<f64>,
    logits: Vec<f64>,
    /// Rows of the value and of each parameter (1 = broadcast over rows).
    y_rows: usize,
    p_rows: [usize; 3],
    /// Columns of each parameter (1 = broadcast over components).
    p_cols: [usize; 3],
}

fn f32s(rng: &mut StdRng, lo: f64, hi: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| rng.random_range(lo..hi) as f32 as f64)
        .collect()
}

impl Case {
    /// Locations in [-3, 3], scales in [0.05, 2], logits in [-3, 3], values in [-4, 4].
    fn random(seed: u64, rows: usize, k: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        Self {
            rows,
            k,
            locs: f32s(&mut rng, -3.0, 3.0, rows * k),
            scales: f32s(&mut rng, 0.05, 2.0, rows * k),
            logits: f32s(&mut rng, -3.0, 3.0, rows * k),
            ys: f32s(&mut rng, -4.0, 4.0, rows),
            y_rows: rows,
            p_rows: [rows; 3],
            p_cols: [k; 3],
        }
    }

    fn y(&self, r: usize) -> f64 {
        self.ys[if self.y_rows == 1 { 0 } else { r }]
    }

    fn param(&self, which: usize, r: usize, c: usize) -> f64 {
        let v = [&self.locs, &self.scales, &self.logits][which];
        let (pr, pc) = (self.p_rows[which], self.p_cols[which]);
        let r = if pr == 1 { 0 } else { r };
        let c = if pc == 1 { 0 } else { c };
        v[r * pc + c]
    }

    /// The stored values of parameter `which`, trimmed to its own shape.
    fn own(&self, which: usize) -> Vec<f64> {
        let (pr, pc) = (self.p_rows[which], self.p_cols[which]);
        let mut out = Vec::with_capacity(pr * pc);
        for r in 0..pr {
            for c in 0..pc {
                out.push([&self.locs, &self.scales, &self.logits][which][r * pc + c]);
            }
        }
        out
    }

    /// Per output row: the f64 log terms `log_softmax(l)_k + log N(y; m_k, s_k)`.
    fn log_terms(&self, r: usize) -> Vec<f64> {
        let l: Vec<f64> = (0..self.k).map(|c| self.param(2, r, c)).collect();
        let lmax = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lz = lmax + l.iter().map(|x| (x - lmax).exp()).sum::<f64>().ln();
        (0..self.k)
            .map(|c| l[c] - lz + normal_logpdf(self.y(r), self.param(0, r, c), self.param(1, r, c)))
            .collect()
    }

    /// `1 + U` of row `r` (see the module docs).
    fn row_scale(&self, r: usize) -> f64 {
        1.0 + self.log_terms(r).iter().fold(0.0f64, |m, t| m.max(t.abs()))
    }

    /// f64 closed forms: the log density of each row and its gradients (per output row,
    /// before any reduction over broadcast dimensions): `(value, d/dy, d/dlocs, d/dscales,
    /// d/dlogits)`, the last three `[rows, k]`.
    #[allow(clippy::type_complexity)]
    fn reference(&self) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let (rows, k) = (self.rows, self.k);
        let (mut v, mut dy) = (vec![0.0; rows], vec![0.0; rows]);
        let (mut dm, mut ds, mut dl) = (
            vec![0.0; rows * k],
            vec![0.0; rows * k],
            vec![0.0; rows * k],
        );
        for r in 0..rows {
            let t = self.log_terms(r);
            let m = t.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let lse = m + t.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
            v[r] = lse;
            let l: Vec<f64> = (0..k).map(|c| self.param(2, r, c)).collect();
            let lmax = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let wz: f64 = l.iter().map(|x| (x - lmax).exp()).sum();
            for c in 0..k {
                let g = (t[c] - lse).exp();
                let (mu, s) = (self.param(0, r, c), self.param(1, r, c));
                let z = (self.y(r) - mu) / s;
                dm[r * k + c] = g * z / s;
                ds[r * k + c] = g * (z * z - 1.0) / s;
                dl[r * k + c] = g - (l[c] - lmax).exp() / wz;
                dy[r] -= g * z / s;
            }
        }
        (v, dy, dm, ds, dl)
    }
}

/// Values and gradients of one evaluation. The loss is `sum_r w_r log_prob_r` with weights
/// `w_r = 1 + r mod 3` so that the backward pass's per-row scaling is exercised.
struct Eval {
    value: Vec<f64>,
    d_y: Vec<f64>,
    d_locs: Vec<f64>,
    d_scales: Vec<f64>,
    d_logits: Vec<f64>,
}

fn row_weights(rows: usize, device: &Device) -> Tensor<1> {
    let w: Vec<f64> = (0..rows).map(|r| 1.0 + (r % 3) as f64).collect();
    let [n] = [rows];
    t2(&w, n, 1, device).reshape([n])
}

fn evaluate(case: &Case, fused: bool, device: &Device) -> Eval {
    let grad = |t: &Tensor<2>, g: &Gradients| to_vec(t.grad(g).expect("gradient present"));
    let shaped = |which: usize| {
        t2(
            &case.own(which),
            case.p_rows[which],
            case.p_cols[which],
            device,
        )
        .require_grad()
    };
    let (tl, ts, tw) = (shaped(0), shaped(1), shaped(2));
    let ty = t2(&case.ys[..case.y_rows], case.y_rows, 1, device).require_grad();
    let mix = MixtureGaussian::new(tl.clone(), ts.clone(), tw.clone()).unwrap();
    let lp = if fused {
        mix.log_prob(ty.clone())
    } else {
        mix.log_prob_composed(ty.clone())
    };
    assert_eq!(lp.dims(), [case.rows]);
    let value = to_vec(lp.clone());
    let g = (lp * row_weights(case.rows, device)).sum().backward();
    Eval {
        value,
        d_y: grad(&ty, &g),
        d_locs: grad(&tl, &g),
        d_scales: grad(&ts, &g),
        d_logits: grad(&tw, &g),
    }
}

/// Sums a per-output-row `[rows, cols]` array (times the row weights) down to a parameter of
/// shape `[pr, pc]`, in f64.
fn reduce(full: &[f64], rows: usize, cols: usize, pr: usize, pc: usize) -> Vec<f64> {
    let mut out = vec![0.0; pr * pc];
    for r in 0..rows {
        let w = 1.0 + (r % 3) as f64;
        for c in 0..cols {
            let (i, j) = (if pr == 1 { 0 } else { r }, if pc == 1 { 0 } else { c });
            out[i * pc + j] += w * full[r * cols + c];
        }
    }
    out
}

/// The error budget of a gradient `[rows, cols]` (per output row, before reduction): row `r`
/// gets `(1 + U_r) (1 + max_c |g[r, c]|)`.
fn budget(g: &[f64], rows: usize, scale: &[f64]) -> Vec<f64> {
    let cols = g.len() / rows;
    let mut out = Vec::with_capacity(g.len());
    for r in 0..rows {
        let big = 1.0
            + g[r * cols..(r + 1) * cols]
                .iter()
                .fold(0.0f64, |m, x| m.max(x.abs()));
        out.extend(std::iter::repeat_n(scale[r] * big, cols));
    }
    out
}

/// `|a - b| <= TOL * budget` entrywise; returns the worst `|a - b| / (eps * budget)`.
fn assert_within(a: &[f64], b: &[f64], budget: &[f64], what: &str) -> f64 {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let mut worst = 0.0f64;
    for (i, ((x, y), m)) in a.iter().zip(b).zip(budget).enumerate() {
        assert!(x.is_finite(), "{what}[{i}] = {x}");
        let err = (x - y).abs();
        worst = worst.max(err / (EPS * m));
        assert!(
            err <= TOL * m,
            "{what}[{i}]: {x} vs {y} (|diff| {err:e} > bound {:e})",
            TOL * m
        );
    }
    worst
}

/// Fused against composed and both against the f64 closed forms, for one case.
fn check(case: &Case, label: &str) {
    let d = ad();
    let fused = evaluate(case, true, &d);
    let composed = evaluate(case, false, &d);
    let (v, dy, dm, ds, dl) = case.reference();
    let (rows, k) = (case.rows, case.k);
    let scale: Vec<f64> = (0..rows).map(|r| case.row_scale(r)).collect();
    let shapes = [
        (case.y_rows, 1),
        (case.p_rows[0], case.p_cols[0]),
        (case.p_rows[1], case.p_cols[1]),
        (case.p_rows[2], case.p_cols[2]),
    ];
    let mut refs = Vec::new();
    let mut budgets = Vec::new();
    for ((full, cols), (pr, pc)) in [(&dy, 1), (&dm, k), (&ds, k), (&dl, k)]
        .into_iter()
        .zip(shapes)
    {
        refs.push(reduce(full, rows, cols, pr, pc));
        budgets.push(reduce(&budget(full, rows, &scale), rows, cols, pr, pc));
    }
    let names = ["d/dy", "d/dlocs", "d/dscales", "d/dlogits"];
    let grads = |e: &Eval| {
        [
            e.d_y.clone(),
            e.d_locs.clone(),
            e.d_scales.clone(),
            e.d_logits.clone(),
        ]
    };
    let mut worst = [[0.0f64; 5]; 3];
    for (slot, (name, got, want)) in [
        ("fused vs f64", &fused, None),
        ("composed vs f64", &composed, None),
        ("fused vs composed", &fused, Some(&composed)),
    ]
    .into_iter()
    .enumerate()
    {
        let want_v = want.map_or(v.clone(), |w| w.value.clone());
        worst[slot][0] = assert_within(
            &got.value,
            &want_v,
            &scale,
            &format!("{label}: {name} value"),
        );
        let want_g = want.map_or(refs.clone(), |w| grads(w).to_vec());
        for (i, (g, w)) in grads(got).iter().zip(&want_g).enumerate() {
            worst[slot][i + 1] =
                assert_within(g, w, &budgets[i], &format!("{label}: {name} {}", names[i]));
        }
    }
    eprintln!(
        "{label}: worst |diff| / (eps * budget), [value, d/dy, d/dlocs, d/dscales, d/dlogits]:"
    );
    for (slot, name) in ["fused vs f64", "composed vs f64", "fused vs composed"]
        .iter()
        .enumerate()
    {
        eprintln!("  {name:18} {:.2?}", worst[slot]);
    }
}

#[test]
fn the_fused_kernel_is_available_on_flex() {
    assert!(fused_kernels_available(&cpu()));
    assert!(fused_kernels_available(&ad()));
}

#[test]
fn random_inputs_several_shapes() {
    // 1000 and 777 rows span several blocks of the threaded kernel.
    for (seed, rows, k) in [
        (1u64, 1, 1),
        (2, 1, 5),
        (3, 7, 3),
        (4, 64, 20),
        (5, 1000, 20),
        (6, 777, 33),
    ] {
        check(
            &Case::random(seed, rows, k),
            &format!("seed {seed} [{rows}, {k}]"),
        );
    }
}

#[test]
fn broadcast_rows_and_components() {
    // Parameters shared by every row.
    let mut c = Case::random(11, 300, 20);
    c.p_rows = [1, 1, 1];
    check(&c, "parameters [1, 20], value [300, 1]");
    // One value for every row.
    let mut c = Case::random(12, 300, 7);
    c.y_rows = 1;
    check(&c, "value [1, 1], parameters [300, 7]");
    // Mixed: one scale per row for every component, logits shared by the rows.
    let mut c = Case::random(13, 50, 4);
    c.p_cols = [4, 1, 4];
    c.p_rows = [50, 50, 1];
    check(&c, "locs [50, 4], scales [50, 1], logits [1, 4]");
}

#[test]
fn far_away_components() {
    // Every value 30 to 60 from every location, scales 0.5 to 2: each log term is -100 to
    // -7000 and no component is close.
    let mut c = Case::random(21, 400, 20);
    let mut rng = StdRng::seed_from_u64(210);
    c.scales = f32s(&mut rng, 0.5, 2.0, c.rows * c.k);
    c.ys = (0..c.rows)
        .map(|r| {
            let side = if r % 2 == 0 { 1.0 } else { -1.0 };
            (side * rng.random_range(33.0..63.0)) as f32 as f64
        })
        .collect();
    check(&c, "far away");
    // Far enough that every density underflows in f32 (log terms ~ -5e5): the values and
    // gradients stay finite.
    let mut c = Case::random(22, 20, 5);
    c.ys = (0..20)
        .map(|r| if r % 2 == 0 { 1e3 } else { -1.5e3 })
        .collect();
    check(&c, "very far away");
}

#[test]
fn logits_far_apart_and_underflowing_weights() {
    // Logits spread over [-150, 150]: most weights underflow in f32 (exp(-300)).
    let mut c = Case::random(31, 500, 20);
    let mut rng = StdRng::seed_from_u64(310);
    c.logits = f32s(&mut rng, -150.0, 150.0, c.rows * c.k);
    check(&c, "logits in [-150, 150]");
    // A weight of exp(-1e4) next to ordinary ones, and rows where only the underflowing
    // component is near the value.
    let mut c = Case::random(32, 64, 3);
    for r in 0..c.rows {
        c.logits[r * 3] = -1e4;
        if r % 4 == 0 {
            c.locs[r * 3] = c.ys[r] as f32 as f64;
            c.locs[r * 3 + 1] = c.ys[r] + 40.0;
            c.locs[r * 3 + 2] = c.ys[r] - 40.0;
        }
    }
    check(&c, "underflowing weights");
}

/// The parameters as column slices of one `[rows, 3K]` tensor (strided views, as a network
/// with one packed output layer gives them): the gradient reaches the packed tensor.
#[test]
fn strided_parameters_from_one_packed_tensor() {
    let (rows, k) = (300, 20);
    let c = Case::random(41, rows, k);
    let mut packed = Vec::with_capacity(rows * 3 * k);
    for r in 0..rows {
        for v in [&c.locs, &c.scales, &c.logits] {
            packed.extend_from_slice(&v[r * k..(r + 1) * k]);
        }
    }
    let d = ad();
    let run = |fused: bool| {
        let p = t2(&packed, rows, 3 * k, &d).require_grad();
        let y = t2(&c.ys, rows, 1, &d);
        let mix = MixtureGaussian::new(
            p.clone().slice([0..rows, 0..k]),
            p.clone().slice([0..rows, k..2 * k]),
            p.clone().slice([0..rows, 2 * k..3 * k]),
        )
        .unwrap();
        let lp = if fused {
            mix.log_prob(y)
        } else {
            mix.log_prob_composed(y)
        };
        let value = to_vec(lp.clone());
        let g = (lp * row_weights(rows, &d)).sum().backward();
        (value, to_vec(p.grad(&g).unwrap()))
    };
    let (fv, fg) = run(true);
    let (cv, cg) = run(false);
    let (v, _, dm, ds, dl) = c.reference();
    let scale: Vec<f64> = (0..rows).map(|r| c.row_scale(r)).collect();
    let mut want = Vec::with_capacity(rows * 3 * k);
    let mut budgets = Vec::with_capacity(rows * 3 * k);
    let (bm, bs, bl) = (
        budget(&dm, rows, &scale),
        budget(&ds, rows, &scale),
        budget(&dl, rows, &scale),
    );
    for r in 0..rows {
        let w = 1.0 + (r % 3) as f64;
        for (g, b) in [(&dm, &bm), (&ds, &bs), (&dl, &bl)] {
            want.extend(g[r * k..(r + 1) * k].iter().map(|x| w * x));
            budgets.extend(b[r * k..(r + 1) * k].iter().map(|x| w * x));
        }
    }
    assert_within(&fv, &v, &scale, "packed: fused value vs f64");
    assert_within(&fv, &cv, &scale, "packed: value fused vs composed");
    assert_within(&fg, &want, &budgets, "packed: fused gradient vs f64");
    assert_within(&fg, &cg, &budgets, "packed: gradient fused vs composed");
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn reruns_and_thread_counts_give_identical_bits() {
    let c = Case::random(51, 2000, 20);
    let d = ad();
    let signature = |e: Eval| {
        [e.value, e.d_y, e.d_locs, e.d_scales, e.d_logits]
            .iter()
            .map(|v| bits(v))
            .collect::<Vec<_>>()
    };
    let first = signature(evaluate(&c, true, &d));
    assert_eq!(first, signature(evaluate(&c, true, &d)), "rerun");
    for threads in [1, 2, 3, 8] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let again = pool.install(|| signature(evaluate(&c, true, &d)));
        assert_eq!(first, again, "{threads} threads");
    }
}

#[test]
fn without_autodiff_the_value_is_the_same() {
    let c = Case::random(61, 300, 20);
    let plain = cpu();
    let t = |v: &[f64], cols: usize| t2(v, c.rows, cols, &plain);
    let mix = MixtureGaussian::new(t(&c.locs, 20), t(&c.scales, 20), t(&c.logits, 20)).unwrap();
    let value = to_vec(mix.log_prob(t(&c.ys, 1)));
    assert_eq!(bits(&value), bits(&evaluate(&c, true, &ad()).value));
    let composed = to_vec(mix.log_prob_composed(t(&c.ys, 1)));
    let scale: Vec<f64> = (0..c.rows).map(|r| c.row_scale(r)).collect();
    assert_within(
        &value,
        &composed,
        &scale,
        "flex without autodiff: fused vs composed",
    );
}

#[test]
fn non_finite_inputs_propagate_like_the_composed_version() {
    let c = Case::random(71, 6, 4);
    let d = cpu();
    let mut scales = c.scales.clone();
    scales[4 + 1] = f64::NAN; // row 1
    scales[8 + 2] = -1.0; // row 2: a negative scale
    let mut logits = c.logits.clone();
    logits[12] = f64::NAN; // row 3
    let mut ys = c.ys.clone();
    ys[4] = f64::NAN; // row 4
    let t = |v: &[f64], cols: usize| t2(v, 6, cols, &d);
    let mix = MixtureGaussian::new(t(&c.locs, 4), t(&scales, 4), t(&logits, 4)).unwrap();
    let fused = to_vec(mix.log_prob(t(&ys, 1)));
    let composed = to_vec(mix.log_prob_composed(t(&ys, 1)));
    for r in 0..6 {
        let bad = (1..=4).contains(&r);
        assert_eq!(fused[r].is_nan(), bad, "fused row {r}: {}", fused[r]);
        assert_eq!(
            composed[r].is_nan(),
            bad,
            "composed row {r}: {}",
            composed[r]
        );
    }
    // An infinite value: every density is 0, the log density -inf.
    ys[4] = f64::INFINITY;
    let fused = to_vec(mix.log_prob(t(&ys, 1)));
    let composed = to_vec(mix.log_prob_composed(t(&ys, 1)));
    assert_eq!(fused[4], f64::NEG_INFINITY);
    assert_eq!(composed[4], f64::NEG_INFINITY);
}

#[test]
fn constants_and_probabilities_use_the_composed_version() {
    let d = ad();
    let y = t2(&[-1.0, 0.25, 3.0], 3, 1, &d);
    let mix = MixtureGaussian::new(vec![-1.0, 2.0], vec![0.5, 1.5], vec![0.3, -0.2]).unwrap();
    assert_eq!(
        bits(&to_vec(mix.log_prob(y.clone()))),
        bits(&to_vec(mix.log_prob_composed(y.clone())))
    );
    let probs = t2(&[0.25, 0.75], 1, 2, &d);
    let locs = t2(&[-1.0, 2.0], 1, 2, &d);
    let scales = t2(&[0.5, 1.5], 1, 2, &d);
    let mix = MixtureGaussian::from_probs(locs, scales, probs).unwrap();
    assert_eq!(
        bits(&to_vec(mix.log_prob(y.clone()))),
        bits(&to_vec(mix.log_prob_composed(y)))
    );
}

/// `softplus_with_floor` (fused on flex) against burn's composed `softplus(x, 1.0) + floor`
/// and an f64 reference: values within 4 ulp of the result (`4 eps |y|`, plus `4 eps` near
/// 0), derivatives within `4 eps`. Inputs span both tails, the threshold 20 and a strided
/// column slice.
#[test]
fn softplus_with_floor_matches_burn() {
    let (rows, cols) = (700, 9);
    let mut rng = StdRng::seed_from_u64(81);
    let mut x = f32s(&mut rng, -30.0, 30.0, rows * 3 * cols);
    let specials = [
        -100.0, -88.0, -20.0, -1e-3, 0.0, 1e-3, 19.99, 20.0, 20.01, 90.0,
    ];
    x[..specials.len()].copy_from_slice(&specials);
    let floor = 1e-3;
    let d = ad();
    let run = |fused: bool| {
        let wide = t2(&x, rows, 3 * cols, &d).require_grad();
        // The middle third: a strided view.
        let input = wide.clone().narrow(1, cols, cols);
        let y = if fused {
            softplus_with_floor(input, floor)
        } else {
            burn::tensor::activation::softplus(input, 1.0) + floor
        };
        let values = to_vec(y.clone());
        let w = t2(
            &(0..rows * cols)
                .map(|i| 1.0 + (i % 5) as f64)
                .collect::<Vec<_>>(),
            rows,
            cols,
            &d,
        );
        let g = (y * w).sum().backward();
        (values, to_vec(wide.grad(&g).unwrap()))
    };
    let (fv, fg) = run(true);
    let (cv, cg) = run(false);
    let mut want_v = Vec::new();
    let mut want_g = vec![0.0; rows * 3 * cols];
    for r in 0..rows {
        for c in 0..cols {
            let xi = x[r * 3 * cols + cols + c];
            let (sp, sig) = if xi > 20.0 {
                (xi, 1.0)
            } else {
                (xi.exp().ln_1p(), 1.0 / (1.0 + (-xi).exp()))
            };
            want_v.push(sp + floor);
            want_g[r * 3 * cols + cols + c] = (1.0 + ((r * cols + c) % 5) as f64) * sig;
        }
    }
    let budget_v: Vec<f64> = want_v.iter().map(|y| 1.0 + y.abs()).collect();
    let budget_g: Vec<f64> = want_g.iter().map(|g| 1.0 + g.abs()).collect();
    assert_within(&fv, &want_v, &budget_v, "softplus fused vs f64");
    assert_within(&cv, &want_v, &budget_v, "softplus composed vs f64");
    assert_within(&fv, &cv, &budget_v, "softplus fused vs composed");
    assert_within(&fg, &want_g, &budget_g, "softplus gradient fused vs f64");
    assert_within(&fg, &cg, &budget_g, "softplus gradient fused vs composed");
    // Reruns on another thread count give the same bits.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let (fv2, fg2) = pool.install(|| run(true));
    assert_eq!(bits(&fv), bits(&fv2));
    assert_eq!(bits(&fg), bits(&fg2));
}
