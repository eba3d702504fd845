//! The affine map `y = x W + b` and its gradients over host `f32` buffers: the linear
//! predictor of a regression, or a dense layer whose weights are random variables.
//!
//! burn's ops make it three autodiff nodes (`matmul`, the broadcast `+ b`, whose backward
//! pass reduces the incoming gradient over the rows, and often a `transpose`), and for the
//! shapes of a regression (`[10^4, 20] x [20, 1]`) flex's general `gemm` and its strided
//! row reduction cost about 100 µs per step. Here the rows are split into blocks of
//! [`BLOCK`] rows, run on rayon's pool, and each block is one pass over its rows, forward and
//! backward:
//!
//! * with fewer than [`LANES`] outputs (a regression), each output is a dot product of a row
//!   of `x` with a column of `W` (`column_dots`, in pulp's vectors along the inputs), and the gradient of
//!   `W` is accumulated transposed, `dW^T[o] += g[r, o] x[r]`, along the inputs;
//! * with more outputs (a layer), each row is `b + sum_i x[r, i] W[i]`, vectorised along the
//!   outputs, and so is `dW[i] += x[r, i] g[r]`.
//!
//! Determinism: each block sums its rows in order into its own partial gradients, and the
//! blocks' partials are added in block order, whatever the number of threads.

use rayon::prelude::*;

/// Rows per block (the unit of threading and of the gradients' partial sums).
pub(crate) const BLOCK: usize = 1024;

/// Lanes of the vectorised sums (AVX2's `f32` width).
pub(crate) const LANES: usize = 8;

/// Below this many multiply-adds a call runs on the calling thread.
const THREAD_MIN_WORK: usize = 1 << 20;

/// The operands: row-major `x` (`[rows, inputs]`), `W` (`[inputs, outputs]`), and `b`
/// (`[outputs]`) where there is one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Affine<'a> {
    pub x: &'a [f32],
    pub w: &'a [f32],
    pub b: Option<&'a [f32]>,
    pub rows: usize,
    pub inputs: usize,
    pub outputs: usize,
}

/// Which gradients the backward pass computes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AffineWanted {
    pub x: bool,
    pub w: bool,
    pub b: bool,
}

/// The gradients asked for: `x` (`[rows, inputs]`), `W` (`[inputs, outputs]`), `b`
/// (`[outputs]`).
#[derive(Debug, Default)]
pub(crate) struct AffineGrads {
    pub x: Option<Vec<f32>>,
    pub w: Option<Vec<f32>>,
    pub b: Option<Vec<f32>>,
}

impl Affine<'_> {
    /// Whether each output is a dot product along the inputs (few outputs), rather than a
    /// sum of rows of `W` (a layer).
    fn by_dots(&self) -> bool {
        self.outputs < LANES
    }

    /// `W^T` (`[outputs, inputs]`), row-major.
    fn w_transposed(&self) -> Vec<f32> {
        let mut t = vec![0.0; self.w.len()];
        for i in 0..self.inputs {
            for o in 0..self.outputs {
                t[o * self.inputs + i] = self.w[i * self.outputs + o];
            }
        }
        t
    }

    fn threaded(&self) -> bool {
        self.rows > BLOCK && self.rows * self.inputs * self.outputs >= THREAD_MIN_WORK
    }
}

/// The lanes' sum, halving: `l[k] + l[k + 4]`, then `h[k] + h[k + 2]`, then the two (written
/// as arrays, so that the vectoriser keeps the multiply-adds before it 8 lanes wide; the
/// backward pass's lanes).
#[inline(always)]
pub(crate) fn pairwise(l: [f32; LANES]) -> f32 {
    let h: [f32; 4] = std::array::from_fn(|k| l[k] + l[k + 4]);
    let q: [f32; 2] = std::array::from_fn(|k| h[k] + h[k + 2]);
    q[0] + q[1]
}

/// `acc += a x`, elementwise.
#[inline(always)]
fn axpy(acc: &mut [f32], a: f32, x: &[f32]) {
    for (s, v) in acc.iter_mut().zip(x) {
        *s = a.mul_add(*v, *s);
    }
}

/// Runs `task` over the blocks of rows (threaded when `threaded`), returning their results
/// in block order.
fn blocks<T: Send>(rows: usize, threaded: bool, task: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    let n = rows.div_ceil(BLOCK);
    if threaded {
        (0..n).into_par_iter().map(task).collect()
    } else {
        (0..n).map(task).collect()
    }
}

/// The rows of block `j`.
fn block_rows(j: usize, rows: usize) -> std::ops::Range<usize> {
    j * BLOCK..((j + 1) * BLOCK).min(rows)
}

/// `x W + b`, row-major `[rows, outputs]`.
pub(crate) fn forward(a: &Affine<'_>) -> Vec<f32> {
    let wt = a.by_dots().then(|| a.w_transposed());
    let parts = blocks(a.rows, a.threaded(), |j| {
        let mut task = ForwardBlock {
            a,
            wt: wt.as_deref(),
            rows: block_rows(j, a.rows),
            out: Vec::new(),
        };
        pulp::Arch::new().dispatch(&mut task);
        task.out
    });
    parts.concat()
}

/// One block of the forward pass (a struct, so that pulp compiles its body for the CPU's
/// vector instructions; see `pointwise.rs`).
struct ForwardBlock<'a, 'b> {
    a: &'b Affine<'a>,
    wt: Option<&'b [f32]>,
    rows: std::ops::Range<usize>,
    out: Vec<f32>,
}

impl pulp::WithSimd for &mut ForwardBlock<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let a = self.a;
        let (n_in, n_out) = (a.inputs, a.outputs);
        let rows = self.rows.clone();
        let x = &a.x[rows.start * n_in..rows.end * n_in];
        let mut out = vec![0.0f32; rows.len() * n_out];
        match self.wt {
            Some(wt) => {
                for (o, w) in wt.chunks_exact(n_in).enumerate() {
                    let bias = a.b.map_or(0.0, |b| b[o]);
                    column_dots(simd, x, n_in, w, bias, &mut out[o..], n_out);
                }
            }
            None => {
                if let Some(b) = a.b {
                    // Element by element: `copy_from_slice` of a row would be a `memcpy` call
                    // per row.
                    for y in out.chunks_exact_mut(n_out) {
                        for (y, b) in y.iter_mut().zip(b) {
                            *y = *b;
                        }
                    }
                }
                for (y, x) in out.chunks_exact_mut(n_out).zip(x.chunks_exact(n_in)) {
                    for (i, &xi) in x.iter().enumerate() {
                        axpy(y, xi, &a.w[i * n_out..(i + 1) * n_out]);
                    }
                }
            }
        }
        self.out = out;
    }
}

/// A row's inputs past its full chunks as one chunk, right-aligned: the last `LANES` inputs
/// of the row where it has that many (the lanes before the tail then repeat inputs of the
/// last full chunk, which the tail's weights zero and whose gradients are dropped), else the
/// row's inputs after zeros.
#[inline(always)]
fn tail(row: &[f32]) -> [f32; LANES] {
    match row.last_chunk::<LANES>() {
        Some(c) => *c,
        None => {
            let mut t = [0.0; LANES];
            t[LANES - row.len()..].copy_from_slice(row);
            t
        }
    }
}

/// `y[r * stride] = bias + x[r] . w` for each row `r` of `x` (`[rows, n_in]`, row-major), in
/// the CPU's widest vectors: each row's inputs as full vectors and a tail, one accumulator per
/// row (rows are independent chains, so consecutive rows overlap in the pipeline), then the
/// vector's lanes summed, eight rows' at once ([`group_sums`]). Written on pulp's `f32s`,
/// because LLVM's SLP pass vectorised the same loop over `[f32; 8]` lanes only 2 lanes wide.
#[inline(always)]
fn column_dots<S: pulp::Simd>(
    simd: S,
    x: &[f32],
    n_in: usize,
    w: &[f32],
    bias: f32,
    y: &mut [f32],
    stride: usize,
) {
    let lanes = S::F32_LANES;
    let (wh, wt) = S::as_simd_f32s(w);
    if n_in < lanes {
        // The row is shorter than a vector: one partial load per row.
        let wt = simd.partial_load_f32s(wt);
        let dot = |xr: &[f32]| simd.mul_f32s(simd.partial_load_f32s(xr), wt);
        return grouped_dots(simd, x, n_in, dot, bias, y, stride);
    }
    // The tail as the row's last full vector, its weights right-aligned after zeros (the
    // lanes before the tail repeat inputs of the last full vector; a masked load per row is a
    // call). Without a tail, the weights' last full vector against the row's.
    let mut right = vec![0.0f32; lanes];
    right[lanes - wt.len()..].copy_from_slice(wt);
    let (wh, wt) = match wt.is_empty() {
        true => wh.split_at(wh.len() - 1),
        false => (wh, S::as_simd_f32s(&right).0),
    };
    let wt = wt[0];
    macro_rules! by_vectors {
        ($($c:literal)*) => {
            match wh.len() {
                $($c => {
                    let wh: &[S::f32s; $c] = wh.try_into().expect("length matched");
                    let dot = |xr: &[f32]| right_aligned_dot::<S, $c>(simd, xr, wh, wt);
                    grouped_dots(simd, x, n_in, dot, bias, y, stride)
                })*
                _ => {
                    let dot = |xr: &[f32]| {
                        let (xh, _) = S::as_simd_f32s(xr);
                        let xt = S::as_simd_f32s(&xr[xr.len() - S::F32_LANES..]).0[0];
                        let mut acc = simd.mul_f32s(xt, wt);
                        for (a, b) in xh.iter().zip(wh) {
                            acc = simd.mul_add_f32s(*a, *b, acc);
                        }
                        acc
                    };
                    grouped_dots(simd, x, n_in, dot, bias, y, stride)
                }
            }
        };
    }
    by_vectors!(0 1 2 3 4 5 6 7 8)
}

/// The lanes of `x . w` before their sum, with `C` full vectors: `wh` against the row's first
/// `C` vectors, and the row's last full vector against `wt` (the tail's weights right-aligned
/// after zeros).
#[inline(always)]
fn right_aligned_dot<S: pulp::Simd, const C: usize>(
    simd: S,
    xr: &[f32],
    wh: &[S::f32s; C],
    wt: S::f32s,
) -> S::f32s {
    let xh = &S::as_simd_f32s(xr).0[..C];
    let xt = S::as_simd_f32s(&xr[xr.len() - S::F32_LANES..]).0[0];
    let mut acc = simd.mul_f32s(xt, wt);
    for c in 0..C {
        acc = simd.mul_add_f32s(xh[c], wh[c], acc);
    }
    acc
}

/// `y[r * stride] = bias + sum(dot(x[r]))` for each row, the rows by groups of [`GROUP`],
/// whose accumulators are summed together (one transposing reduction for eight rows in place
/// of eight horizontal sums, which were the largest part of a regression's forward pass); a
/// last partial group pads with zero accumulators, so that every row's sum is the same
/// sequence of operations.
#[inline(always)]
fn grouped_dots<S: pulp::Simd>(
    simd: S,
    x: &[f32],
    n_in: usize,
    dot: impl Fn(&[f32]) -> S::f32s,
    bias: f32,
    y: &mut [f32],
    stride: usize,
) {
    let zero = simd.splat_f32s(0.0);
    let mut groups = x.chunks_exact(GROUP * n_in);
    let mut g = 0;
    for xg in groups.by_ref() {
        let accs: [S::f32s; GROUP] = std::array::from_fn(|k| dot(&xg[k * n_in..(k + 1) * n_in]));
        let sums = group_sums(simd, accs);
        if stride == 1 {
            let out: &mut [f32; GROUP] = (&mut y[g..g + GROUP]).try_into().expect("one group");
            for k in 0..GROUP {
                out[k] = bias + sums[k];
            }
        } else {
            for (k, s) in sums.iter().enumerate() {
                y[(g + k) * stride] = bias + s;
            }
        }
        g += GROUP;
    }
    let last = groups.remainder();
    if !last.is_empty() {
        let mut accs = [zero; GROUP];
        for (acc, xr) in accs.iter_mut().zip(last.chunks_exact(n_in)) {
            *acc = dot(xr);
        }
        let sums = group_sums(simd, accs);
        for (k, s) in sums.iter().take(last.len() / n_in).enumerate() {
            y[(g + k) * stride] = bias + s;
        }
    }
}

/// Rows per group of [`group_sums`].
const GROUP: usize = 8;

/// The lane sums of [`GROUP`] accumulators. On AVX2 (pulp's `V3`, 8 lanes) one transposing
/// reduction: `hadd` of pairs twice, then the two 128-bit halves added (9 instructions for
/// the eight sums, against about 5 for each horizontal sum); elsewhere each accumulator's
/// `reduce_sum`.
#[inline(always)]
fn group_sums<S: pulp::Simd>(simd: S, accs: [S::f32s; GROUP]) -> [f32; GROUP] {
    #[cfg(target_arch = "x86_64")]
    if let (Some(v3), Some(v)) = (
        (&simd as &dyn std::any::Any).downcast_ref::<pulp::x86::V3>(),
        (&accs as &dyn std::any::Any).downcast_ref::<[pulp::f32x8; GROUP]>(),
    ) {
        use std::arch::x86_64::__m256;
        let m: [__m256; GROUP] = v.map(pulp::cast);
        let avx = v3.avx;
        let lo = avx._mm256_hadd_ps(
            avx._mm256_hadd_ps(m[0], m[1]),
            avx._mm256_hadd_ps(m[2], m[3]),
        );
        let hi = avx._mm256_hadd_ps(
            avx._mm256_hadd_ps(m[4], m[5]),
            avx._mm256_hadd_ps(m[6], m[7]),
        );
        let sums = avx._mm256_add_ps(
            avx._mm256_permute2f128_ps::<0x20>(lo, hi),
            avx._mm256_permute2f128_ps::<0x31>(lo, hi),
        );
        return pulp::cast(sums);
    }
    accs.map(|a| simd.reduce_sum_f32s(a))
}

/// `out[i] += sum_r g[r * stride] x[r, i]` (`x` `[rows, n_in]`, row-major).
#[inline(always)]
fn column_grad(x: &[f32], n_in: usize, g: &[f32], stride: usize, out: &mut [f32]) {
    macro_rules! chunks {
        ($($c:literal)*) => {
            match n_in / LANES {
                $($c => column_grad_in::<$c>(x, n_in, g, stride, out),)*
                _ => {
                    for (r, xr) in x.chunks_exact(n_in).enumerate() {
                        axpy(out, g[r * stride], xr);
                    }
                }
            }
        };
    }
    chunks!(0 1 2 3 4 5 6 7 8)
}

/// [`column_grad`] with `C` full chunks per row: two sets of accumulators in registers (even
/// and odd rows, added at the end), so that the multiply-adds of consecutive rows overlap.
#[inline(always)]
fn column_grad_in<const C: usize>(
    x: &[f32],
    n_in: usize,
    g: &[f32],
    stride: usize,
    out: &mut [f32],
) {
    let rest = n_in - C * LANES;
    let mut acc = [[[0.0f32; LANES]; C]; 2];
    let mut tacc = [[0.0f32; LANES]; 2];
    #[inline(always)]
    fn add<const C: usize>(
        xr: &[f32],
        gr: f32,
        rest: usize,
        acc: &mut [[f32; LANES]; C],
        tacc: &mut [f32; LANES],
    ) {
        let (xc, _) = xr.as_chunks::<LANES>();
        for c in 0..C {
            for k in 0..LANES {
                acc[c][k] = gr.mul_add(xc[c][k], acc[c][k]);
            }
        }
        if rest > 0 {
            let xt = tail(xr);
            for k in 0..LANES {
                tacc[k] = gr.mul_add(xt[k], tacc[k]);
            }
        }
    }
    let [acc0, acc1] = &mut acc;
    let [tacc0, tacc1] = &mut tacc;
    let mut pairs = x.chunks_exact(2 * n_in);
    for (p, xr) in pairs.by_ref().enumerate() {
        let (x0, x1) = xr.split_at(n_in);
        add(x0, g[2 * p * stride], rest, acc0, tacc0);
        add(x1, g[(2 * p + 1) * stride], rest, acc1, tacc1);
    }
    let last = pairs.remainder();
    if !last.is_empty() {
        add(last, g[(x.len() / n_in - 1) * stride], rest, acc0, tacc0);
    }
    for c in 0..C {
        for k in 0..LANES {
            out[c * LANES + k] += acc[0][c][k] + acc[1][c][k];
        }
    }
    for k in 0..rest {
        out[C * LANES + k] += tacc[0][LANES - rest + k] + tacc[1][LANES - rest + k];
    }
}

/// One block's partial gradients of `W` and `b`, and its rows of the gradient of `x`.
#[derive(Default)]
struct BlockGrads {
    w: Vec<f32>,
    b: Vec<f32>,
    x: Vec<f32>,
}

/// The gradients of `sum(g * (x W + b))` asked for in `wanted`; `g` is row-major `[rows,
/// outputs]`.
pub(crate) fn backward(a: &Affine<'_>, g: &[f32], wanted: AffineWanted) -> AffineGrads {
    let wt = (wanted.x || a.by_dots()).then(|| a.w_transposed());
    let parts = blocks(a.rows, a.threaded(), |j| {
        let mut task = BackwardBlock {
            a,
            g,
            wt: wt.as_deref(),
            wanted,
            rows: block_rows(j, a.rows),
            out: BlockGrads::default(),
        };
        pulp::Arch::new().dispatch(&mut task);
        task.out
    });
    let sum = |pick: fn(&BlockGrads) -> &[f32]| {
        let mut total = pick(&parts[0]).to_vec();
        for p in &parts[1..] {
            for (t, v) in total.iter_mut().zip(pick(p)) {
                *t += v;
            }
        }
        total
    };
    let w = wanted.w.then(|| {
        let w = sum(|p| &p.w);
        if a.by_dots() {
            // Accumulated as `dW^T`: back to `[inputs, outputs]`.
            let mut out = vec![0.0; w.len()];
            for o in 0..a.outputs {
                for i in 0..a.inputs {
                    out[i * a.outputs + o] = w[o * a.inputs + i];
                }
            }
            out
        } else {
            w
        }
    });
    AffineGrads {
        w,
        b: wanted.b.then(|| sum(|p| &p.b)),
        x: wanted
            .x
            .then(|| parts.iter().flat_map(|p| p.x.iter().copied()).collect()),
    }
}

/// One block of the backward pass.
struct BackwardBlock<'a, 'b> {
    a: &'b Affine<'a>,
    g: &'b [f32],
    wt: Option<&'b [f32]>,
    wanted: AffineWanted,
    rows: std::ops::Range<usize>,
    out: BlockGrads,
}

impl pulp::WithSimd for &mut BackwardBlock<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let (a, wanted) = (self.a, self.wanted);
        let (n_in, n_out) = (a.inputs, a.outputs);
        let rows = self.rows.clone();
        let g = &self.g[rows.start * n_out..rows.end * n_out];
        let mut out = BlockGrads::default();
        if wanted.b {
            out.b = if n_out == 1 {
                // One output: the sum of a column, in lanes along the rows.
                let mut lanes = [0.0f32; LANES];
                let (chunks, rest) = g.as_chunks::<LANES>();
                for c in chunks {
                    for k in 0..LANES {
                        lanes[k] += c[k];
                    }
                }
                for (k, v) in rest.iter().enumerate() {
                    lanes[k] += v;
                }
                vec![pairwise(lanes)]
            } else {
                let mut b = vec![0.0f32; n_out];
                for gr in g.chunks_exact(n_out) {
                    for (s, v) in b.iter_mut().zip(gr) {
                        *s += v;
                    }
                }
                b
            };
        }
        if wanted.w {
            let mut w = vec![0.0f32; n_in * n_out];
            let x = &a.x[rows.start * n_in..rows.end * n_in];
            if a.by_dots() {
                for (o, w) in w.chunks_exact_mut(n_in).enumerate() {
                    column_grad(x, n_in, &g[o..], n_out, w);
                }
            } else {
                for (gr, x) in g.chunks_exact(n_out).zip(x.chunks_exact(n_in)) {
                    for (i, &xi) in x.iter().enumerate() {
                        axpy(&mut w[i * n_out..(i + 1) * n_out], xi, gr);
                    }
                }
            }
            out.w = w;
        }
        if wanted.x
            && let Some(wt) = self.wt
        {
            let mut dx = vec![0.0f32; rows.len() * n_in];
            for (d, gr) in dx.chunks_exact_mut(n_in).zip(g.chunks_exact(n_out)) {
                for (o, &go) in gr.iter().enumerate() {
                    axpy(d, go, &wt[o * n_in..(o + 1) * n_in]);
                }
            }
            out.x = dx;
        }
        self.out = out;
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    /// The raw kernels at a regression's shape: `cargo test --release -p inferrs-kernels
    /// affine::timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn kernels() {
        let rows: usize = std::env::var("ROWS").map_or(10_000, |v| v.parse().unwrap());
        let inputs = 20;
        let x: Vec<f32> = (0..rows * inputs)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
            .collect();
        let w: Vec<f32> = (0..inputs).map(|i| i as f32 / 20.0).collect();
        let b = [0.3f32];
        let a = Affine {
            x: &x,
            w: &w,
            b: Some(&b),
            rows,
            inputs,
            outputs: 1,
        };
        let g: Vec<f32> = (0..rows).map(|i| (i % 13) as f32 / 13.0).collect();
        let time = |f: &dyn Fn()| {
            let mut t: Vec<f64> = (0..200)
                .map(|_| {
                    let s = std::time::Instant::now();
                    f();
                    s.elapsed().as_secs_f64() * 1e6
                })
                .collect();
            t.sort_by(f64::total_cmp);
            (t[0], t[100])
        };
        let f = time(&|| {
            std::hint::black_box(forward(&a));
        });
        let wanted = AffineWanted {
            x: false,
            w: true,
            b: true,
        };
        let bw = time(&|| {
            std::hint::black_box(backward(&a, &g, wanted));
        });
        println!(
            "forward best {:.1} median {:.1} us; backward best {:.1} median {:.1} us",
            f.0, f.1, bw.0, bw.1
        );
    }
}
