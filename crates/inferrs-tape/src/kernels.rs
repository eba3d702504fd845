//! The loops the instructions run, each with its function known at compile time so that the
//! arithmetic ones vectorise: elementwise maps of one and two operands (with the common
//! broadcasts, a tensor against a tensor of its shape or against one value, as their own
//! loops), their adjoints, dot products and sums with four accumulators.

use crate::shape::Index;

/// `out[i] = f(x[i])`.
#[inline(always)]
pub(crate) fn map1(out: &mut [f64], x: &[f64], f: impl Fn(f64) -> f64) {
    for (o, &x) in out.iter_mut().zip(x) {
        *o = f(x);
    }
}

/// `gx[i] += g[i] d(x[i], y[i])`, `y` the output.
#[inline(always)]
pub(crate) fn adjoint1(
    gx: &mut [f64],
    g: &[f64],
    x: &[f64],
    y: &[f64],
    d: impl Fn(f64, f64) -> f64,
) {
    for (((gx, &g), &x), &y) in gx.iter_mut().zip(g).zip(x).zip(y) {
        *gx += g * d(x, y);
    }
}

/// `out[i] = f(a[ia(i)], b[ib(i)])`.
#[inline(always)]
pub(crate) fn map2(
    out: &mut [f64],
    (a, ia): (&[f64], &Index),
    (b, ib): (&[f64], &Index),
    f: impl Fn(f64, f64) -> f64,
) {
    match (ia, ib) {
        (Index::Same, Index::Same) => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = f(x, y);
            }
        }
        (Index::Same, Index::One) => {
            let y = b[0];
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x, y);
            }
        }
        (Index::One, Index::Same) => {
            let x = a[0];
            for (o, &y) in out.iter_mut().zip(b) {
                *o = f(x, y);
            }
        }
        _ => {
            for (i, o) in out.iter_mut().enumerate() {
                *o = f(a[ia.at(i)], b[ib.at(i)]);
            }
        }
    }
}

/// The adjoint of [`map2`] for one operand: `gt[it(i)] += g[i] d(a[ia(i)], b[ib(i)], y[i])`,
/// `it` the target's own index (`ia` when `target_is_a`, else `ib`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn adjoint2(
    gt: &mut [f64],
    target_is_a: bool,
    g: &[f64],
    (a, ia): (&[f64], &Index),
    (b, ib): (&[f64], &Index),
    y: &[f64],
    d: impl Fn(f64, f64, f64) -> f64,
) {
    let it = if target_is_a { ia } else { ib };
    match (ia, ib, it) {
        (Index::Same, Index::Same, _) => {
            for i in 0..g.len() {
                gt[i] += g[i] * d(a[i], b[i], y[i]);
            }
        }
        (Index::Same, Index::One, Index::Same) => {
            let z = b[0];
            for i in 0..g.len() {
                gt[i] += g[i] * d(a[i], z, y[i]);
            }
        }
        (Index::One, Index::Same, Index::Same) => {
            let x = a[0];
            for i in 0..g.len() {
                gt[i] += g[i] * d(x, b[i], y[i]);
            }
        }
        (_, _, Index::One) => {
            let mut acc = [0.0f64; 4];
            for i in 0..g.len() {
                acc[i % 4] += g[i] * d(a[ia.at(i)], b[ib.at(i)], y[i]);
            }
            gt[0] += (acc[0] + acc[2]) + (acc[1] + acc[3]);
        }
        _ => {
            for i in 0..g.len() {
                gt[it.at(i)] += g[i] * d(a[ia.at(i)], b[ib.at(i)], y[i]);
            }
        }
    }
}

/// `sum x[i] y[i]`, four partial sums (so that it vectorises).
#[inline]
pub(crate) fn dot(x: &[f64], y: &[f64]) -> f64 {
    let (cx, cy) = (x.chunks_exact(4), y.chunks_exact(4));
    let tail: f64 = cx
        .remainder()
        .iter()
        .zip(cy.remainder())
        .map(|(a, b)| a * b)
        .sum();
    let mut acc = [0.0f64; 4];
    for (a, b) in cx.zip(cy) {
        for l in 0..4 {
            acc[l] += a[l] * b[l];
        }
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3]) + tail
}

/// `sum x[i]`, four partial sums.
#[inline]
pub(crate) fn sum(x: &[f64]) -> f64 {
    let c = x.chunks_exact(4);
    let tail: f64 = c.remainder().iter().sum();
    let mut acc = [0.0f64; 4];
    for a in c {
        for l in 0..4 {
            acc[l] += a[l];
        }
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3]) + tail
}

/// `y[i] += s x[i]`.
#[inline]
pub(crate) fn axpy(y: &mut [f64], s: f64, x: &[f64]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += s * x;
    }
}

/// `out = a b` for row-major `[m, k] x [k, n]`.
pub(crate) fn matmul(a: &[f64], b: &[f64], out: &mut [f64], m: usize, k: usize, n: usize) {
    if n == 1 {
        for (o, row) in out.iter_mut().zip(a.chunks_exact(k)) {
            *o = dot(row, b);
        }
        return;
    }
    out.fill(0.0);
    for i in 0..m {
        let o = &mut out[i * n..][..n];
        for p in 0..k {
            axpy(o, a[i * k + p], &b[p * n..][..n]);
        }
    }
}

/// Adds `g b^T` into `ga` (`[m, k]`), the adjoint of `a` in `a b`.
pub(crate) fn matmul_adjoint_a(ga: &mut [f64], g: &[f64], b: &[f64], m: usize, k: usize, n: usize) {
    for i in 0..m {
        let row_g = &g[i * n..][..n];
        let row_ga = &mut ga[i * k..][..k];
        if n == 1 {
            axpy(row_ga, row_g[0], b);
        } else {
            for (p, ga) in row_ga.iter_mut().enumerate() {
                *ga += dot(&b[p * n..][..n], row_g);
            }
        }
    }
}

/// Adds `a^T g` into `gb` (`[k, n]`), the adjoint of `b` in `a b`.
pub(crate) fn matmul_adjoint_b(gb: &mut [f64], g: &[f64], a: &[f64], m: usize, k: usize, n: usize) {
    for i in 0..m {
        let row_a = &a[i * k..][..k];
        let row_g = &g[i * n..][..n];
        if n == 1 {
            axpy(gb, row_g[0], row_a);
        } else {
            for (p, &s) in row_a.iter().enumerate() {
                axpy(&mut gb[p * n..][..n], s, row_g);
            }
        }
    }
}
