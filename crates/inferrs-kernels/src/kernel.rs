//! The fused mixture-of-Gaussians log density over host `f32` buffers: one pass over the
//! rows computes the log density and, when asked, its gradients with respect to the value and
//! to the three parameter tensors.
//!
//! Per row, with `l` the logits, `m` the locations, `s` the scales and `c = ln(2 pi) / 2`:
//!
//! ```text
//! M2 = max_k l_k                  (0 when not finite)
//! z_k = (y - m_k) / s_k
//! u_k = (l_k - M2) - z_k^2 / 2 - ln s_k
//! M1 = max_k u_k                  (0 when not finite)
//! log p(y) = M1 + ln sum_k e^(u_k - M1) - ln sum_k e^(l_k - M2) - c
//! ```
//!
//! which is `logsumexp_k(log_softmax(l)_k + log N(y; m_k, s_k))` with both maxima shifted out.
//! With the responsibilities `g_k = e^(u_k - M1) / sum_j e^(u_j - M1)` and the weights
//! `p_k = e^(l_k - M2) / sum_j e^(l_j - M2)`, the gradients are
//!
//! ```text
//! d/dl_k = g_k - p_k     d/dm_k = g_k z_k / s_k     d/ds_k = g_k (z_k^2 - 1) / s_k
//! d/dy = -sum_k g_k z_k / s_k
//! ```
//!
//! Layout: rows are processed in tiles of [`TILE`] rows, transposed so that one vector lane
//! holds one row and the loops run over the components (`k`): maxima and sums over `k` are
//! then elementwise, and every loop has the constant trip count `TILE`, which the compiler
//! vectorises completely (under [`pulp::Arch::dispatch`], with AVX2 where the CPU has it).
//!
//! Determinism: each row's result is the same sequence of IEEE operations (sums in `k`
//! order) whatever its tile, lane or thread. Rows are split into blocks of a fixed number of
//! rows that run on rayon's pool, so the results do not depend on the number of threads or on
//! scheduling.

use rayon::prelude::*;

use super::vmath::{exp, ln};
use crate::HALF_LN_2PI;

/// Rows per parallel task: a block of `[ROWS_PER_BLOCK, K]` is a few tens of microseconds of
/// work for the MDN's `K = 20`, large against rayon's per-task cost.
const ROWS_PER_BLOCK: usize = 256;

/// A read-only strided view of a 2-d `f32` tensor: element `(r, c)` is at
/// `data[offset + r * row_stride + c * col_stride]` (strides may be 0 for broadcast views).
#[derive(Clone, Copy, Debug)]
pub(crate) struct View<'a> {
    pub data: &'a [f32],
    pub offset: usize,
    pub row_stride: isize,
    pub col_stride: isize,
}

impl View<'_> {
    #[inline(always)]
    pub(crate) fn get(&self, r: usize, c: usize) -> f32 {
        let i = self.offset as isize + r as isize * self.row_stride + c as isize * self.col_stride;
        self.data[i as usize]
    }

    /// Copies row `r` (`out.len()` columns) into `out`.
    #[inline(always)]
    pub(crate) fn read_row(&self, r: usize, out: &mut [f32]) {
        if self.col_stride == 1 {
            let start = (self.offset as isize + r as isize * self.row_stride) as usize;
            out.copy_from_slice(&self.data[start..start + out.len()]);
        } else {
            for (c, o) in out.iter_mut().enumerate() {
                *o = self.get(r, c);
            }
        }
    }
}

/// The inputs of the kernel: the value `[rows, 1]` and the parameters `[rows, k]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Inputs<'a> {
    pub rows: usize,
    pub k: usize,
    pub value: View<'a>,
    pub locs: View<'a>,
    pub scales: View<'a>,
    pub logits: View<'a>,
}

/// Which gradients to compute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Wanted {
    pub value: bool,
    pub locs: bool,
    pub scales: bool,
    pub logits: bool,
    /// The three parameter gradients side by side in one `[rows, 3k]` buffer
    /// ([`Output::packed`]) rather than in three.
    pub packed: bool,
}

impl Wanted {
    fn any(self) -> bool {
        self.value || self.locs || self.scales || self.logits || self.packed
    }
}

/// The log density `[rows]` and the requested gradients of each row's log density (row-major,
/// `[rows]` for the value, `[rows, k]` for the parameters).
#[derive(Clone, Debug, Default)]
pub(crate) struct Output {
    pub log_prob: Vec<f32>,
    pub d_value: Option<Vec<f32>>,
    pub d_locs: Option<Vec<f32>>,
    pub d_scales: Option<Vec<f32>>,
    pub d_logits: Option<Vec<f32>>,
    /// The gradients with respect to the locations, scales and logits side by side, `[rows,
    /// 3k]`, when [`Wanted::packed`].
    pub packed: Option<Vec<f32>>,
}

/// The mutable outputs of one block of rows.
#[derive(Default)]
pub(super) struct Block<'a> {
    pub first_row: usize,
    pub log_prob: &'a mut [f32],
    pub d_value: Option<&'a mut [f32]>,
    pub d_locs: Option<&'a mut [f32]>,
    pub d_scales: Option<&'a mut [f32]>,
    pub d_logits: Option<&'a mut [f32]>,
    /// The three parameter gradients: `[rows, packed_stride]` (in its first `3k` columns), or
    /// `[3k, packed_stride]` (component-major, rows as columns) when `packed_transposed`.
    pub packed: Option<&'a mut [f32]>,
    pub packed_stride: usize,
    pub packed_transposed: bool,
}

/// Splits an optional buffer into `blocks` chunks of `chunk` elements (the last one shorter).
fn split(buf: Option<&mut [f32]>, chunk: usize, blocks: usize) -> Vec<Option<&mut [f32]>> {
    match buf {
        Some(b) => b.chunks_mut(chunk.max(1)).map(Some).collect(),
        None => (0..blocks).map(|_| None).collect(),
    }
}

/// Runs the kernel over every row.
///
/// # Panics
///
/// When a view indexes outside its buffer (a programming error of the caller).
pub(crate) fn mixture_gaussian(inputs: &Inputs<'_>, wanted: Wanted) -> Output {
    let (rows, k) = (inputs.rows, inputs.k);
    let alloc = |on: bool, n: usize| on.then(|| vec![0.0f32; n]);
    let mut out = Output {
        log_prob: vec![0.0; rows],
        d_value: alloc(wanted.value, rows),
        d_locs: alloc(wanted.locs, rows * k),
        d_scales: alloc(wanted.scales, rows * k),
        d_logits: alloc(wanted.logits, rows * k),
        packed: alloc(wanted.packed, rows * 3 * k),
    };
    if rows == 0 {
        return out;
    }
    let blocks = rows.div_ceil(ROWS_PER_BLOCK);
    let mut d_value = split(out.d_value.as_deref_mut(), ROWS_PER_BLOCK, blocks).into_iter();
    let mut d_locs = split(out.d_locs.as_deref_mut(), ROWS_PER_BLOCK * k, blocks).into_iter();
    let mut d_scales = split(out.d_scales.as_deref_mut(), ROWS_PER_BLOCK * k, blocks).into_iter();
    let mut d_logits = split(out.d_logits.as_deref_mut(), ROWS_PER_BLOCK * k, blocks).into_iter();
    let mut packed = split(out.packed.as_deref_mut(), ROWS_PER_BLOCK * 3 * k, blocks).into_iter();
    let work: Vec<Block<'_>> = out
        .log_prob
        .chunks_mut(ROWS_PER_BLOCK)
        .enumerate()
        .map(|(b, log_prob)| Block {
            first_row: b * ROWS_PER_BLOCK,
            log_prob,
            d_value: d_value.next().flatten(),
            d_locs: d_locs.next().flatten(),
            d_scales: d_scales.next().flatten(),
            d_logits: d_logits.next().flatten(),
            packed: packed.next().flatten(),
            packed_stride: 3 * k,
            packed_transposed: false,
        })
        .collect();
    let run = |block: Block<'_>| pulp::Arch::new().dispatch(|| run_block(inputs, wanted, block));
    if work.len() == 1 {
        work.into_iter().for_each(run);
    } else {
        work.into_par_iter().for_each(run);
    }
    out
}

/// Rows per tile (a multiple of the widest vector, 16 `f32`).
pub(super) const TILE: usize = 64;

/// One value per row of a tile.
type Lanes = [f32; TILE];

/// Scratch space of one tile, `k` lanes-arrays each (component-major).
struct Tile {
    y: Lanes,
    locs: Vec<Lanes>,
    scales: Vec<Lanes>,
    /// The logits, then `l - M2`.
    logits: Vec<Lanes>,
    z: Vec<Lanes>,
    inv_scale: Vec<Lanes>,
    /// The log terms `u`, then `e^(u - M1)`.
    u: Vec<Lanes>,
    /// `e^(l - M2)`.
    weight: Vec<Lanes>,
    /// A gradient, component-major, before it is written out row-major.
    grad: Vec<Lanes>,
}

impl Tile {
    fn new(k: usize) -> Self {
        let v = || vec![[0.0f32; TILE]; k];
        Self {
            y: [0.0; TILE],
            locs: v(),
            scales: v(),
            logits: v(),
            z: v(),
            inv_scale: v(),
            u: v(),
            weight: v(),
            grad: v(),
        }
    }
}

/// Copies rows `first..first + n` of `view` into `dst` (component-major); the lanes past `n`
/// get `pad` (a harmless row whose results are not written out).
#[inline(always)]
fn load(view: &View<'_>, first: usize, n: usize, dst: &mut [Lanes], pad: f32) {
    let k = dst.len();
    if view.row_stride == 1 {
        // Component-major already: each component's rows are contiguous.
        for (c, d) in dst.iter_mut().enumerate() {
            let start = view.offset as isize + c as isize * view.col_stride + first as isize;
            let start = start as usize;
            d[..n].copy_from_slice(&view.data[start..start + n]);
            d[n..].fill(pad);
        }
        return;
    }
    for j in 0..TILE {
        if j >= n {
            for d in dst.iter_mut() {
                d[j] = pad;
            }
        } else if view.col_stride == 1 {
            let start = view.offset as isize + (first + j) as isize * view.row_stride;
            let row = &view.data[start as usize..start as usize + k];
            for (d, &x) in dst.iter_mut().zip(row) {
                d[j] = x;
            }
        } else {
            for (c, d) in dst.iter_mut().enumerate() {
                d[j] = view.get(first + j, c);
            }
        }
    }
}

/// Writes the first `n` lanes of the component-major `src` row-major into `out` (`[n, k]`).
#[inline(always)]
fn store(src: &[Lanes], n: usize, out: &mut [f32]) {
    let k = src.len();
    for (j, row) in out.chunks_exact_mut(k).take(n).enumerate() {
        for (o, lanes) in row.iter_mut().zip(src) {
            *o = lanes[j];
        }
    }
}

/// Writes the first `n` lanes of the component-major `src`, rows `t0..t0 + n`, into
/// parameter block `j` (columns `j k..(j + 1) k`) of the block's packed gradient `out`:
/// `[rows, stride]`, or `[3k, stride]` when `transposed`.
#[inline(always)]
fn store_block(
    src: &[Lanes],
    n: usize,
    j: usize,
    t0: usize,
    out: &mut [f32],
    stride: usize,
    transposed: bool,
) {
    let k = src.len();
    if transposed {
        for (c, lanes) in src.iter().enumerate() {
            let start = (j * k + c) * stride + t0;
            out[start..start + n].copy_from_slice(&lanes[..n]);
        }
        return;
    }
    for (i, row) in out[t0 * stride..].chunks_mut(stride).take(n).enumerate() {
        for (o, lanes) in row[j * k..(j + 1) * k].iter_mut().zip(src) {
            *o = lanes[i];
        }
    }
}

/// The kernel over the rows of one block (`block.log_prob.len()` rows from
/// `block.first_row`), on the caller's instruction set.
#[inline(always)]
pub(super) fn run_block(inputs: &Inputs<'_>, wanted: Wanted, mut block: Block<'_>) {
    let k = inputs.k;
    let mut t = Tile::new(k);
    let rows = block.log_prob.len();
    for t0 in (0..rows).step_by(TILE) {
        let n = TILE.min(rows - t0);
        let first = block.first_row + t0;
        for (j, y) in t.y.iter_mut().enumerate() {
            *y = if j < n {
                inputs.value.get(first + j, 0)
            } else {
                0.0
            };
        }
        load(&inputs.locs, first, n, &mut t.locs, 0.0);
        load(&inputs.scales, first, n, &mut t.scales, 1.0);
        load(&inputs.logits, first, n, &mut t.logits, 0.0);

        let mut max_w = [f32::NEG_INFINITY; TILE];
        for l in &t.logits {
            for j in 0..TILE {
                max_w[j] = max_w[j].max(l[j]);
            }
        }
        max_w = max_w.map(finite_or_zero);
        let mut max_u = [f32::NEG_INFINITY; TILE];
        for c in 0..k {
            let (l, m, s) = (&mut t.logits[c], &t.locs[c], &t.scales[c]);
            let (z, inv, u) = (&mut t.z[c], &mut t.inv_scale[c], &mut t.u[c]);
            for j in 0..TILE {
                let i_s = 1.0 / s[j];
                let zz = (t.y[j] - m[j]) * i_s;
                let lw = l[j] - max_w[j];
                let uu = lw - 0.5 * (zz * zz) - ln(s[j]);
                l[j] = lw;
                z[j] = zz;
                inv[j] = i_s;
                u[j] = uu;
                max_u[j] = max_u[j].max(uu);
            }
        }
        max_u = max_u.map(finite_or_zero);
        let mut sum_u = [0.0f32; TILE];
        let mut sum_w = [0.0f32; TILE];
        for c in 0..k {
            let (u, l, w) = (&mut t.u[c], &t.logits[c], &mut t.weight[c]);
            for j in 0..TILE {
                let e = exp(u[j] - max_u[j]);
                u[j] = e;
                sum_u[j] += e;
                let ew = exp(l[j]);
                w[j] = ew;
                sum_w[j] += ew;
            }
        }
        let c0 = HALF_LN_2PI as f32;
        let mut value = [0.0f32; TILE];
        for j in 0..TILE {
            value[j] = (max_u[j] + ln(sum_u[j])) - ln(sum_w[j]) - c0;
        }
        block.log_prob[t0..t0 + n].copy_from_slice(&value[..n]);
        if !wanted.any() {
            continue;
        }
        let inv_u = sum_u.map(|x| 1.0 / x);
        let inv_w = sum_w.map(|x| 1.0 / x);
        // Responsibilities, in place of e^(u - M1).
        for u in &mut t.u {
            for j in 0..TILE {
                u[j] *= inv_u[j];
            }
        }
        let out = t0 * k..(t0 + n) * k;
        let (ps, pt) = (block.packed_stride, block.packed_transposed);
        if wanted.logits || wanted.packed {
            for c in 0..k {
                let (g, w, o) = (&t.u[c], &t.weight[c], &mut t.grad[c]);
                for j in 0..TILE {
                    o[j] = g[j] - w[j] * inv_w[j];
                }
            }
            if let Some(d) = block.d_logits.as_deref_mut() {
                store(&t.grad, n, &mut d[out.clone()]);
            }
            if let Some(d) = block.packed.as_deref_mut() {
                store_block(&t.grad, n, 2, t0, d, ps, pt);
            }
        }
        if wanted.scales || wanted.packed {
            for c in 0..k {
                let (g, z, inv, o) = (&t.u[c], &t.z[c], &t.inv_scale[c], &mut t.grad[c]);
                for j in 0..TILE {
                    o[j] = g[j] * (z[j] * z[j] - 1.0) * inv[j];
                }
            }
            if let Some(d) = block.d_scales.as_deref_mut() {
                store(&t.grad, n, &mut d[out.clone()]);
            }
            if let Some(d) = block.packed.as_deref_mut() {
                store_block(&t.grad, n, 1, t0, d, ps, pt);
            }
        }
        if wanted.locs || wanted.value || wanted.packed {
            let mut sum_dm = [0.0f32; TILE];
            for c in 0..k {
                let (g, z, inv, o) = (&t.u[c], &t.z[c], &t.inv_scale[c], &mut t.grad[c]);
                for j in 0..TILE {
                    let dm = g[j] * z[j] * inv[j];
                    o[j] = dm;
                    sum_dm[j] += dm;
                }
            }
            if let Some(d) = block.d_locs.as_deref_mut() {
                store(&t.grad, n, &mut d[out]);
            }
            if let Some(d) = block.packed.as_deref_mut() {
                store_block(&t.grad, n, 0, t0, d, ps, pt);
            }
            if let Some(d) = block.d_value.as_deref_mut() {
                for (o, s) in d[t0..t0 + n].iter_mut().zip(sum_dm) {
                    *o = -s;
                }
            }
        }
    }
}

#[inline(always)]
fn finite_or_zero(x: f32) -> f32 {
    if x.is_finite() { x } else { 0.0 }
}

/// Multiplies each row `r` of `d` (`[rows, cols]`, row-major) by `scale(r)`, in place.
pub(crate) fn scale_rows(d: &mut [f32], cols: usize, scale: impl Fn(usize) -> f32 + Sync) {
    if cols == 0 {
        return;
    }
    let run = |(b, chunk): (usize, &mut [f32])| {
        pulp::Arch::new().dispatch(|| {
            for (i, row) in chunk.chunks_mut(cols).enumerate() {
                let g = scale(b * ROWS_PER_BLOCK + i);
                for x in row {
                    *x *= g;
                }
            }
        })
    };
    if d.len() <= ROWS_PER_BLOCK * cols {
        d.chunks_mut(ROWS_PER_BLOCK * cols)
            .enumerate()
            .for_each(run);
    } else {
        d.par_chunks_mut(ROWS_PER_BLOCK * cols)
            .enumerate()
            .for_each(run);
    }
}

/// `softplus(x) + floor` elementwise over `x` (`[rows, cols]`, any strides), and its
/// derivative `sigmoid(x)` when `want_grad`; both row-major.
///
/// As burn's `softplus(x, 1.0)`: `ln(1 + e^x)`, and `x` itself where `x > 20` (where the two
/// agree in f32). `ln(1 + e)` is evaluated as `ln(u) e / (u - 1)` with `u = 1 + e` (exact to
/// a few ulp where `1 + e` rounds, and `e` itself where it rounds to 1).
pub(crate) fn softplus_floor(
    x: &View<'_>,
    rows: usize,
    cols: usize,
    floor: f32,
    want_grad: bool,
) -> (Vec<f32>, Option<Vec<f32>>) {
    let mut out = vec![0.0f32; rows * cols];
    let mut deriv = want_grad.then(|| vec![0.0f32; rows * cols]);
    if rows == 0 || cols == 0 {
        return (out, deriv);
    }
    let chunk = ROWS_PER_BLOCK * cols;
    let blocks = rows.div_ceil(ROWS_PER_BLOCK);
    let mut d_blocks = split(deriv.as_deref_mut(), chunk, blocks).into_iter();
    // (first row, values, derivatives) of each block.
    type Work<'a> = (usize, &'a mut [f32], Option<&'a mut [f32]>);
    let work: Vec<Work<'_>> = out
        .chunks_mut(chunk)
        .enumerate()
        .map(|(b, o)| (b * ROWS_PER_BLOCK, o, d_blocks.next().flatten()))
        .collect();
    let run = |(first, o, d): (usize, &mut [f32], Option<&mut [f32]>)| {
        for (i, row) in o.chunks_exact_mut(cols).enumerate() {
            x.read_row(first + i, row);
        }
        pulp::Arch::new().dispatch(|| softplus_in_place(o, d, floor));
    };
    if work.len() == 1 {
        work.into_iter().for_each(run);
    } else {
        work.into_par_iter().for_each(run);
    }
    (out, deriv)
}

/// `o <- softplus(o) + floor` and `d <- sigmoid(o)` (when given), elementwise.
#[inline(always)]
pub(super) fn softplus_in_place(o: &mut [f32], d: Option<&mut [f32]>, floor: f32) {
    match d {
        Some(d) => {
            for (v, dv) in o.iter_mut().zip(d.iter_mut()) {
                let (y, g) = softplus_and_sigmoid(*v, SOFTPLUS_THRESHOLD);
                *v = y + floor;
                *dv = g;
            }
        }
        None => {
            for v in o.iter_mut() {
                *v = softplus_and_sigmoid(*v, SOFTPLUS_THRESHOLD).0 + floor;
            }
        }
    }
}

/// Where softplus is the identity (as burn's `softplus(x, 1.0)` and the `Softplus` bijector):
/// the threshold of every fused softplus.
pub(super) const SOFTPLUS_THRESHOLD: f32 = 20.0;

/// `(softplus(x), sigmoid(x))`, the identity and 1 above `threshold`.
#[inline(always)]
pub(super) fn softplus_and_sigmoid(x: f32, threshold: f32) -> (f32, f32) {
    let e = exp(x);
    let u = 1.0 + e;
    let log1p = if u == 1.0 { e } else { ln(u) * (e / (u - 1.0)) };
    let big = x > threshold;
    (if big { x } else { log1p }, if big { 1.0 } else { e / u })
}

/// `d[i] *= g(i)` elementwise over `[rows, cols]` (row-major `d`), `g` a strided view.
pub(crate) fn mul_by_view(d: &mut [f32], g: &View<'_>, cols: usize) {
    if cols == 0 {
        return;
    }
    let run = |(b, chunk): (usize, &mut [f32])| {
        let mut g_row = vec![0.0f32; cols];
        for (i, row) in chunk.chunks_mut(cols).enumerate() {
            g.read_row(b * ROWS_PER_BLOCK + i, &mut g_row);
            for (x, &gv) in row.iter_mut().zip(&g_row) {
                *x *= gv;
            }
        }
    };
    if d.len() <= ROWS_PER_BLOCK * cols {
        d.chunks_mut(ROWS_PER_BLOCK * cols)
            .enumerate()
            .for_each(run);
    } else {
        d.par_chunks_mut(ROWS_PER_BLOCK * cols)
            .enumerate()
            .for_each(run);
    }
}
