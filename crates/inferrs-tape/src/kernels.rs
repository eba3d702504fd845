//! The loops the instructions run, each with its function known at compile time so that the
//! arithmetic ones vectorise: elementwise maps of one and two operands (with the common
//! broadcasts, a tensor against a tensor of its shape or against one value, as their own
//! loops), their adjoints, dot products and sums with four accumulators.

use crate::instr::{Compare, Reduce};
use crate::real::Real;
use crate::shape::Index;

/// A task compiled for the widest vector unit the CPU has (AVX2 and FMA where present): its
/// `run`, marked `#[inline(always)]`, and the `#[inline(always)]` loops below that it calls
/// are inlined into the function pulp compiles for it (a closure handed to pulp is compiled
/// on its own, for the baseline instruction set, unless LLVM inlines it, which it does not
/// for large ones). Nothing is contracted into fused multiply-adds, so the bits of these
/// loops do not depend on the instruction set.
pub(crate) trait Vectorized {
    type Output;
    fn run(self) -> Self::Output;
}

/// `V` as pulp's task.
struct Task<V>(V);

impl<V: Vectorized> pulp::WithSimd for Task<V> {
    type Output = V::Output;
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> V::Output {
        self.0.run()
    }
}

/// Runs `v` compiled for the widest vector unit the CPU has.
#[inline(always)]
pub(crate) fn vectorized<V: Vectorized>(v: V) -> V::Output {
    pulp::Arch::new().dispatch(Task(v))
}

/// `out[i] = f(x[i])`.
#[inline(always)]
pub(crate) fn map1<T: Real>(out: &mut [T], x: &[T], f: impl Fn(T) -> T) {
    {
        for (o, &x) in out.iter_mut().zip(x) {
            *o = f(x);
        }
    };
}

/// `gx[i] += g[i] d(x[i], y[i])`, `y` the output.
#[inline(always)]
pub(crate) fn adjoint1<T: Real>(gx: &mut [T], g: &[T], x: &[T], y: &[T], d: impl Fn(T, T) -> T) {
    {
        for (((gx, &g), &x), &y) in gx.iter_mut().zip(g).zip(x).zip(y) {
            *gx += g * d(x, y);
        }
    };
}

/// `out[i] = f(a[ia(i)], b[ib(i)])`.
#[inline(always)]
pub(crate) fn map2<T: Real>(
    out: &mut [T],
    (a, ia): (&[T], &Index),
    (b, ib): (&[T], &Index),
    f: impl Fn(T, T) -> T,
) {
    // One small closure per case: pulp compiles a closure for AVX2 only where it inlines it.
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
pub(crate) fn adjoint2<T: Real>(
    gt: &mut [T],
    target_is_a: bool,
    g: &[T],
    (a, ia): (&[T], &Index),
    (b, ib): (&[T], &Index),
    y: &[T],
    d: impl Fn(T, T, T) -> T,
) {
    let it = if target_is_a { ia } else { ib };
    let n = g.len();
    match (ia, ib, it) {
        (Index::Same, Index::Same, _) => {
            let (gt, a, b, y) = (&mut gt[..n], &a[..n], &b[..n], &y[..n]);
            for ((((gt, &g), &x), &z), &y) in gt.iter_mut().zip(g).zip(a).zip(b).zip(y) {
                *gt += g * d(x, z, y);
            }
        }
        (Index::Same, Index::One, Index::Same) => {
            let z = b[0];
            for (((gt, &g), &x), &y) in gt[..n].iter_mut().zip(g).zip(&a[..n]).zip(&y[..n]) {
                *gt += g * d(x, z, y);
            }
        }
        (Index::One, Index::Same, Index::Same) => {
            let x = a[0];
            for (((gt, &g), &z), &y) in gt[..n].iter_mut().zip(g).zip(&b[..n]).zip(&y[..n]) {
                *gt += g * d(x, z, y);
            }
        }
        (Index::Same, Index::One, Index::One) => {
            gt[0] += {
                let z = b[0];
                let mut acc = [T::ZERO; 8];
                let (mut cg, mut ca, mut cy) =
                    (g.chunks_exact(8), a.chunks_exact(8), y.chunks_exact(8));
                for ((g, x), y) in (&mut cg).zip(&mut ca).zip(&mut cy) {
                    for l in 0..8 {
                        acc[l] += g[l] * d(x[l], z, y[l]);
                    }
                }
                let mut tail = T::ZERO;
                for ((&g, &x), &y) in cg
                    .remainder()
                    .iter()
                    .zip(ca.remainder())
                    .zip(cy.remainder())
                {
                    tail += g * d(x, z, y);
                }
                pairwise8(acc) + tail
            }
        }
        (Index::One, Index::Same, Index::One) => {
            gt[0] += {
                let x = a[0];
                let mut acc = [T::ZERO; 8];
                let (mut cg, mut cb, mut cy) =
                    (g.chunks_exact(8), b.chunks_exact(8), y.chunks_exact(8));
                for ((g, z), y) in (&mut cg).zip(&mut cb).zip(&mut cy) {
                    for l in 0..8 {
                        acc[l] += g[l] * d(x, z[l], y[l]);
                    }
                }
                let mut tail = T::ZERO;
                for ((&g, &z), &y) in cg
                    .remainder()
                    .iter()
                    .zip(cb.remainder())
                    .zip(cy.remainder())
                {
                    tail += g * d(x, z, y);
                }
                pairwise8(acc) + tail
            }
        }
        (_, _, Index::One) => {
            let mut acc = [T::ZERO; 4];
            for i in 0..n {
                acc[i % 4] += g[i] * d(a[ia.at(i)], b[ib.at(i)], y[i]);
            }
            gt[0] += (acc[0] + acc[2]) + (acc[1] + acc[3]);
        }
        _ => {
            for i in 0..n {
                gt[it.at(i)] += g[i] * d(a[ia.at(i)], b[ib.at(i)], y[i]);
            }
        }
    }
}

/// `a[0] + ... + a[7]`, added in pairs.
#[inline(always)]
fn pairwise8<T: Real>(a: [T; 8]) -> T {
    ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
}

/// `sum x[i] y[i]`, four partial sums (so that it vectorises).
#[inline(always)]
pub(crate) fn dot<T: Real>(x: &[T], y: &[T]) -> T {
    let (cx, cy) = (x.chunks_exact(4), y.chunks_exact(4));
    let tail = cx
        .remainder()
        .iter()
        .zip(cy.remainder())
        .fold(T::ZERO, |s, (&a, &b)| s + a * b);
    let mut acc = [T::ZERO; 4];
    for (a, b) in cx.zip(cy) {
        for l in 0..4 {
            acc[l] += a[l] * b[l];
        }
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3]) + tail
}

/// `sum x[i]`, four partial sums.
#[inline(always)]
pub(crate) fn sum<T: Real>(x: &[T]) -> T {
    let c = x.chunks_exact(4);
    let tail = c.remainder().iter().fold(T::ZERO, |s, &x| s + x);
    let mut acc = [T::ZERO; 4];
    for a in c {
        for l in 0..4 {
            acc[l] += a[l];
        }
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3]) + tail
}

/// `y[i] += s x[i]`.
#[inline(always)]
pub(crate) fn axpy<T: Real>(y: &mut [T], s: T, x: &[T]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += s * x;
    }
}

/// `out = a b` for row-major `[m, k] x [k, n]`.
#[inline(always)]
pub(crate) fn matmul<T: Real>(a: &[T], b: &[T], out: &mut [T], m: usize, k: usize, n: usize) {
    if n == 1 {
        for (o, row) in out.iter_mut().zip(a.chunks_exact(k)) {
            *o = dot(row, b);
        }
        return;
    }
    out.fill(T::ZERO);
    for i in 0..m {
        let o = &mut out[i * n..][..n];
        for p in 0..k {
            axpy(o, a[i * k + p], &b[p * n..][..n]);
        }
    }
}

/// Adds `g b^T` into `ga` (`[m, k]`), the adjoint of `a` in `a b`.
#[inline(always)]
pub(crate) fn matmul_adjoint_a<T: Real>(
    ga: &mut [T],
    g: &[T],
    b: &[T],
    m: usize,
    k: usize,
    n: usize,
) {
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
#[inline(always)]
pub(crate) fn matmul_adjoint_b<T: Real>(
    gb: &mut [T],
    g: &[T],
    a: &[T],
    m: usize,
    k: usize,
    n: usize,
) {
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

/// `out[i] = f(a[ia(i)], b[ib(i)])` for a comparison: a mask of ones and zeros.
#[inline(always)]
pub(crate) fn compare<T: Real>(f: Compare, out: &mut [T], a: (&[T], &Index), b: (&[T], &Index)) {
    match f {
        Compare::Greater => map2(out, a, b, |x, y| crate::instr::indicator(x > y)),
        Compare::GreaterEqual => map2(out, a, b, |x, y| crate::instr::indicator(x >= y)),
        Compare::Lower => map2(out, a, b, |x, y| crate::instr::indicator(x < y)),
        Compare::LowerEqual => map2(out, a, b, |x, y| crate::instr::indicator(x <= y)),
        f => map2(out, a, b, |x, y| f.value(x, y)),
    }
}

/// `out[i] = 1 - mask[i]` (a mask's negation).
#[inline(always)]
pub(crate) fn not<T: Real>(out: &mut [T], x: &[T]) {
    map1(out, x, |x| crate::instr::indicator(x == T::ZERO));
}

/// `out[i] = mask[im(i)] != 0 ? value[iv(i)] : x[ix(i)]`.
#[inline(always)]
pub(crate) fn mask_where<T: Real>(
    out: &mut [T],
    (x, ix): (&[T], &Index),
    (m, im): (&[T], &Index),
    (v, iv): (&[T], &Index),
) {
    match (ix, im, iv) {
        (Index::Same, Index::Same, Index::One) => {
            let v = v[0];
            for ((o, &x), &m) in out.iter_mut().zip(x).zip(m) {
                *o = if m != T::ZERO { v } else { x };
            }
        }
        (Index::Same, Index::Same, Index::Same) => {
            for (((o, &x), &m), &v) in out.iter_mut().zip(x).zip(m).zip(v) {
                *o = if m != T::ZERO { v } else { x };
            }
        }
        _ => {
            for (i, o) in out.iter_mut().enumerate() {
                *o = if m[im.at(i)] != T::ZERO {
                    v[iv.at(i)]
                } else {
                    x[ix.at(i)]
                };
            }
        }
    }
}

/// The adjoint of the operand of [`mask_where`] read through `it` that the output takes where
/// the mask is set (`taken`) or where it is not: `gt[it(i)] += g[i]` there.
#[inline(always)]
pub(crate) fn mask_adjoint<T: Real>(
    gt: &mut [T],
    it: &Index,
    g: &[T],
    (m, im): (&[T], &Index),
    taken: bool,
) {
    match (it, im) {
        (Index::Same, Index::Same) => {
            for ((gt, &g), &m) in gt.iter_mut().zip(g).zip(m) {
                *gt += if (m != T::ZERO) == taken { g } else { T::ZERO };
            }
        }
        _ => {
            for (i, &g) in g.iter().enumerate() {
                if (m[im.at(i)] != T::ZERO) == taken {
                    gt[it.at(i)] += g;
                }
            }
        }
    }
}

/// `out[i] = x[ix(i)]`: a copy, broadcast, permutation, slice or tiling.
#[inline(always)]
pub(crate) fn gather<T: Real>(out: &mut [T], (x, ix): (&[T], &Index)) {
    match ix {
        Index::Same => out.copy_from_slice(&x[..out.len()]),
        Index::One => out.fill(x[0]),
        Index::Map(map) => {
            for (o, &j) in out.iter_mut().zip(map.iter()) {
                *o = x[j as usize];
            }
        }
    }
}

/// The adjoint of [`gather`]: `gx[ix(i)] += g[i]`.
#[inline(always)]
pub(crate) fn gather_adjoint<T: Real>(gx: &mut [T], ix: &Index, g: &[T]) {
    match ix {
        Index::Same => {
            for (gx, &g) in gx.iter_mut().zip(g) {
                *gx += g;
            }
        }
        Index::One => gx[0] += sum(g),
        Index::Map(map) => {
            for (&g, &j) in g.iter().zip(map.iter()) {
                gx[j as usize] += g;
            }
        }
    }
}

/// `out[map[j]] = x[j]`: a part of a concatenation into its place.
#[inline(always)]
pub(crate) fn scatter<T: Real>(out: &mut [T], x: &[T], map: &[u32]) {
    for (&x, &j) in x.iter().zip(map) {
        out[j as usize] = x;
    }
}

/// The adjoint of [`scatter`]: `gx[j] += g[map[j]]`.
#[inline(always)]
pub(crate) fn scatter_adjoint<T: Real>(gx: &mut [T], g: &[T], map: &[u32]) {
    for (gx, &j) in gx.iter_mut().zip(map) {
        *gx += g[j as usize];
    }
}

/// A reduction of `x` into `out`: element `i` of `x` into `out[map(i)]`; `count` elements per
/// output (for the mean); `arg` keeps, for max and min, which element each output took.
#[inline(always)]
pub(crate) fn reduce<T: Real>(
    f: Reduce,
    out: &mut [T],
    (x, map): (&[T], &Index),
    count: usize,
    arg: &mut [u32],
) {
    match f {
        Reduce::Sum | Reduce::Mean => {
            match map {
                Index::One => out[0] = sum(x),
                Index::Same => out.copy_from_slice(x),
                m => {
                    out.fill(T::ZERO);
                    for (i, &x) in x.iter().enumerate() {
                        out[m.at(i)] += x;
                    }
                }
            }
            if f == Reduce::Mean {
                let inv = T::ONE / T::of(count as f64);
                out.iter_mut().for_each(|o| *o *= inv);
            }
        }
        Reduce::Max | Reduce::Min if matches!(map, Index::One) && !x.is_empty() => {
            // All into one: the first of the largest (or smallest), as below.
            let max = f == Reduce::Max;
            let (mut best, mut at) = (x[0], 0);
            for (i, &v) in x.iter().enumerate().skip(1) {
                if if max { v > best } else { v < best } {
                    (best, at) = (v, i);
                }
            }
            out[0] = best;
            arg[0] = at as u32;
        }
        Reduce::Max | Reduce::Min => {
            let max = f == Reduce::Max;
            out.fill(if max { T::NEG_INFINITY } else { T::INFINITY });
            arg.fill(u32::MAX);
            for (i, &x) in x.iter().enumerate() {
                let j = map.at(i);
                let better = if max { x > out[j] } else { x < out[j] };
                if better || arg[j] == u32::MAX {
                    out[j] = x;
                    arg[j] = i as u32;
                }
            }
        }
    }
}

/// The adjoint of [`reduce`] into `gx`.
#[inline(always)]
pub(crate) fn reduce_adjoint<T: Real>(
    f: Reduce,
    gx: &mut [T],
    map: &Index,
    count: usize,
    arg: &[u32],
    g: &[T],
) {
    match f {
        Reduce::Sum | Reduce::Mean => {
            let scale = if f == Reduce::Mean {
                T::ONE / T::of(count as f64)
            } else {
                T::ONE
            };
            match map {
                Index::One => {
                    let s = g[0] * scale;
                    gx.iter_mut().for_each(|gx| *gx += s);
                }
                m => {
                    for (i, gx) in gx.iter_mut().enumerate() {
                        *gx += g[m.at(i)] * scale;
                    }
                }
            }
        }
        Reduce::Max | Reduce::Min => {
            for (j, &i) in arg.iter().enumerate() {
                gx[i as usize] += g[j];
            }
        }
    }
}

/// `softmax` (or `log_softmax` when `log`) along the middle axis of `[outer, len, inner]`.
#[inline(always)]
pub(crate) fn softmax<T: Real>(log: bool, out: &mut [T], x: &[T], [outer, len, inner]: [usize; 3]) {
    if inner == 1 {
        // Contiguous lines (the last axis).
        LastAxisSoftmax {
            log,
            out,
            x,
            lines: outer,
            len,
        }
        .run();
        return;
    }
    for o in 0..outer {
        for j in 0..inner {
            let at = |i: usize| (o * len + i) * inner + j;
            let max = (0..len).fold(T::NEG_INFINITY, |m, i| m.max(x[at(i)]));
            let sum = (0..len).fold(T::ZERO, |s, i| s + (x[at(i)] - max).exp());
            let lse = max + sum.ln();
            for i in 0..len {
                let ls = x[at(i)] - lse;
                out[at(i)] = if log { ls } else { ls.exp() };
            }
        }
    }
}

/// The adjoint of [`softmax`] (`y` its output) into `gx`: for `log_softmax`
/// `gx = g - softmax * sum(g)`, for `softmax` `gx = y (g - sum(g y))`.
#[inline(always)]
pub(crate) fn softmax_adjoint<T: Real>(
    log: bool,
    gx: &mut [T],
    g: &[T],
    y: &[T],
    [outer, len, inner]: [usize; 3],
) {
    SoftmaxAdjoint {
        log,
        gx,
        g,
        y,
        lines: [outer, len, inner],
    }
    .run();
}

/// [`softmax`] along contiguous lines of `len`.
struct LastAxisSoftmax<'a, T> {
    log: bool,
    out: &'a mut [T],
    x: &'a [T],
    lines: usize,
    len: usize,
}

impl<T: Real> Vectorized for LastAxisSoftmax<'_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Self {
            log,
            out,
            x,
            lines,
            len,
        } = self;
        let (out, x) = (&mut out[..lines * len], &x[..lines * len]);
        // x minus its line's maximum, then the exponentials of a chunk of lines in one pass (a
        // line's sum is additions in order, which do not vectorise; the exponentials do),
        // then the logarithms of their sums. The chunk lives on the stack: no allocation.
        const CHUNK: usize = 1024;
        let mut exps = [T::ZERO; CHUNK];
        let mut lse = [T::ZERO; CHUNK];
        let per_chunk = (CHUNK / len.max(1)).max(1);
        for (o, x) in out
            .chunks_mut(per_chunk * len)
            .zip(x.chunks(per_chunk * len))
        {
            let n = o.len() / len;
            for (o, x) in o.chunks_exact_mut(len).zip(x.chunks_exact(len)) {
                let max = x.iter().fold(T::NEG_INFINITY, |m, &v| m.max(v));
                for (o, &v) in o.iter_mut().zip(x) {
                    *o = v - max;
                }
            }
            if len <= CHUNK {
                for (e, &o) in exps.iter_mut().zip(o.iter()) {
                    *e = o.exp();
                }
                for (l, e) in lse.iter_mut().zip(exps[..n * len].chunks_exact(len)) {
                    *l = e.iter().fold(T::ZERO, |s, &v| s + v);
                }
            } else {
                for (l, o) in lse.iter_mut().zip(o.chunks_exact(len)) {
                    *l = o.iter().fold(T::ZERO, |s, &v| s + v.exp());
                }
            }
            for l in &mut lse[..n] {
                *l = l.ln();
            }
            for (o, &l) in o.chunks_exact_mut(len).zip(&lse[..n]) {
                for o in o.iter_mut() {
                    *o -= l;
                }
            }
            if !log {
                for o in o.iter_mut() {
                    *o = o.exp();
                }
            }
        }
    }
}

/// [`softmax_adjoint`]'s loops.
struct SoftmaxAdjoint<'a, T> {
    log: bool,
    gx: &'a mut [T],
    g: &'a [T],
    y: &'a [T],
    lines: [usize; 3],
}

impl<T: Real> Vectorized for SoftmaxAdjoint<'_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Self {
            log,
            gx,
            g,
            y,
            lines,
        } = self;
        let [outer, len, inner] = lines;
        if inner == 1 {
            for ((gx, g), y) in gx
                .chunks_exact_mut(len)
                .zip(g.chunks_exact(len))
                .zip(y.chunks_exact(len))
                .take(outer)
            {
                if log {
                    let total = g.iter().fold(T::ZERO, |s, &v| s + v);
                    for ((gx, &g), &y) in gx.iter_mut().zip(g).zip(y) {
                        *gx += g - y.exp() * total;
                    }
                } else {
                    let dot = g.iter().zip(y).fold(T::ZERO, |s, (&g, &y)| s + g * y);
                    for ((gx, &g), &y) in gx.iter_mut().zip(g).zip(y) {
                        *gx += y * (g - dot);
                    }
                }
            }
            return;
        }
        for o in 0..outer {
            for j in 0..inner {
                let at = |i: usize| (o * len + i) * inner + j;
                if log {
                    let total = (0..len).fold(T::ZERO, |s, i| s + g[at(i)]);
                    for i in 0..len {
                        gx[at(i)] += g[at(i)] - y[at(i)].exp() * total;
                    }
                } else {
                    let dot = (0..len).fold(T::ZERO, |s, i| s + g[at(i)] * y[at(i)]);
                    for i in 0..len {
                        gx[at(i)] += y[at(i)] * (g[at(i)] - dot);
                    }
                }
            }
        }
    }
}

/// A running sum along the middle axis of `[outer, len, inner]`.
#[inline(always)]
pub(crate) fn cumsum<T: Real>(out: &mut [T], x: &[T], [outer, len, inner]: [usize; 3]) {
    for o in 0..outer {
        for j in 0..inner {
            let mut acc = T::ZERO;
            for i in 0..len {
                let at = (o * len + i) * inner + j;
                acc += x[at];
                out[at] = acc;
            }
        }
    }
}

/// The adjoint of [`cumsum`]: the running sum from the end.
#[inline(always)]
pub(crate) fn cumsum_adjoint<T: Real>(gx: &mut [T], g: &[T], [outer, len, inner]: [usize; 3]) {
    for o in 0..outer {
        for j in 0..inner {
            let mut acc = T::ZERO;
            for i in (0..len).rev() {
                let at = (o * len + i) * inner + j;
                acc += g[at];
                gx[at] += acc;
            }
        }
    }
}
