//! The network of a Mixture Density Network in one fused pass: `x -> relu(x W1 + b1) ->
//! relu(h1 W2 + b2) -> [h2 Wl + bl | softplus(h2 Ws + bs) + floor | h2 Ww + bw]`, over host `f32`
//! buffers, forward and backward.
//!
//! Each block of [`ROWS_PER_BLOCK`] rows goes through every layer while it is in cache, and the
//! three heads are one product with their weights packed side by side, so the output is one
//! packed `[rows, 3K]` tensor (locations, scales, logits). On burn's ops the same network is
//! five matrix products, two ReLUs and a softplus forward, each with its own output buffer, and
//! as many steps backward with their gradient buffers and the sums of the three heads'
//! gradients; here the backward pass is one pass over the rows that computes every weight's
//! gradient. The products are those of the fused dense layer ([`super::gemm::product`]); the
//! forward pass keeps the hidden activations and `sigmoid` of the scales' pre-activations for
//! the backward pass.
//!
//! Determinism: the weights' gradients are summed within each block of rows in row order,
//! then over the blocks in block order, so they do not depend on the number of threads.

use rayon::prelude::*;

use super::gemm::{ROWS_PER_BLOCK, Strided, gather, pack, padded, product, transposed};
use super::kernel::{View, softplus_in_place};

/// The network's operands.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Net<'a> {
    /// `[rows, inputs]`.
    pub x: View<'a>,
    pub rows: usize,
    pub inputs: usize,
    pub hidden: usize,
    pub components: usize,
    /// `[inputs, hidden]` and its bias (a one-row view).
    pub w1: View<'a>,
    pub b1: View<'a>,
    /// `[hidden, hidden]` and its bias.
    pub w2: View<'a>,
    pub b2: View<'a>,
    /// The heads (locations, scales, logits): `[hidden, components]` and their biases.
    pub heads: [(View<'a>, View<'a>); 3],
    /// Added to the scales after the softplus.
    pub floor: f32,
}

/// One buffer per weight and bias of the network, in padded row-major layouts: the packed
/// weights of the forward pass, or (per block, then summed) their gradients.
struct Layers {
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
    b2: Vec<f32>,
    /// `[hidden, padded(3K)]`: the three heads side by side.
    wh: Vec<f32>,
    bh: Vec<f32>,
}

impl Layers {
    /// Adds `other` elementwise.
    fn add(&mut self, other: &Layers) {
        for (a, b) in [
            (&mut self.w1, &other.w1),
            (&mut self.b1, &other.b1),
            (&mut self.w2, &other.w2),
            (&mut self.b2, &other.b2),
            (&mut self.wh, &other.wh),
            (&mut self.bh, &other.bh),
        ] {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }
}

impl Net<'_> {
    fn width(&self) -> usize {
        3 * self.components
    }

    /// The weights packed for the forward products.
    fn packed(&self) -> Layers {
        let (h, k) = (self.hidden, self.components);
        let kp3 = padded(3 * k);
        let mut wh = vec![0.0f32; h * kp3];
        let mut bh = vec![0.0f32; kp3];
        for (j, (w, b)) in self.heads.iter().enumerate() {
            for i in 0..h {
                w.read_row(i, &mut wh[i * kp3 + j * k..i * kp3 + (j + 1) * k]);
            }
            b.read_row(0, &mut bh[j * k..(j + 1) * k]);
        }
        Layers {
            w1: pack(&self.w1, self.inputs, h),
            b1: pack(&self.b1, 1, h),
            w2: pack(&self.w2, h, h),
            b2: pack(&self.b2, 1, h),
            wh,
            bh,
        }
    }
}

/// What the backward pass keeps from the forward pass: the hidden activations (`[rows,
/// hidden]` each) and `sigmoid` of the scales' pre-activations (`[rows, components]`).
#[derive(Clone, Debug, Default)]
pub(crate) struct Saved {
    h1: Vec<f32>,
    h2: Vec<f32>,
    sigmoid: Vec<f32>,
}

/// The packed `[rows, 3K]` output, and what the backward pass needs when `save`.
pub(crate) fn forward(net: &Net<'_>, save: bool) -> (Vec<f32>, Option<Saved>) {
    let (rows, h, k) = (net.rows, net.hidden, net.components);
    let width = net.width();
    let mut out = vec![0.0f32; rows * width];
    let mut saved = save.then(|| Saved {
        h1: vec![0.0; rows * h],
        h2: vec![0.0; rows * h],
        sigmoid: vec![0.0; rows * k],
    });
    if rows == 0 || width == 0 {
        return (out, saved);
    }
    let packed = net.packed();
    let blocks = rows.div_ceil(ROWS_PER_BLOCK);
    fn chunks(v: Option<&mut Vec<f32>>, per_row: usize, blocks: usize) -> Vec<Option<&mut [f32]>> {
        match v {
            Some(v) if per_row > 0 => v.chunks_mut(ROWS_PER_BLOCK * per_row).map(Some).collect(),
            _ => (0..blocks).map(|_| None).collect(),
        }
    }
    let (s_h1, s_h2, s_sig) = match saved.as_mut() {
        Some(s) => (Some(&mut s.h1), Some(&mut s.h2), Some(&mut s.sigmoid)),
        None => (None, None, None),
    };
    let tasks: Vec<ForwardTask<'_, '_>> = out
        .chunks_mut(ROWS_PER_BLOCK * width)
        .zip(chunks(s_h1, h, blocks))
        .zip(chunks(s_h2, h, blocks))
        .zip(chunks(s_sig, k, blocks))
        .enumerate()
        .map(|(b, (((out, h1), h2), sigmoid))| ForwardTask {
            net,
            packed: &packed,
            first: b * ROWS_PER_BLOCK,
            out,
            h1,
            h2,
            sigmoid,
        })
        .collect();
    let run = |task: ForwardTask<'_, '_>| pulp::Arch::new().dispatch(task);
    if blocks == 1 {
        tasks.into_iter().for_each(run);
    } else {
        tasks.into_par_iter().for_each(run);
    }
    (out, saved)
}

/// `relu(a W + b)` for rows `0..n` into a `[padded(n), padded(cols)]` buffer (zero padded).
#[inline(always)]
fn layer(a: &Strided<'_>, n: usize, k: usize, w: &[f32], bias: &[f32], cols: usize) -> Vec<f32> {
    let cp = padded(cols);
    let mut out = vec![0.0f32; padded(n) * cp];
    product(a, n, k, w, cp, bias, |r, c0, vals| {
        let width = vals.len().min(cols - c0);
        for (d, &v) in out[r * cp + c0..r * cp + c0 + width].iter_mut().zip(vals) {
            // `v <= 0` rather than `max`: a NaN stays NaN, as with burn's `relu`.
            *d = if v <= 0.0 { 0.0 } else { v };
        }
    });
    out
}

/// A row-major buffer with row stride `stride` as the left operand of a product.
fn rows_of(data: &[f32], stride: usize) -> Strided<'_> {
    Strided {
        data,
        row_stride: stride,
        col_stride: 1,
    }
}

/// The transpose of a row-major buffer with row stride `stride`: its columns as rows.
fn columns_of(data: &[f32], stride: usize) -> Strided<'_> {
    Strided {
        data,
        row_stride: 1,
        col_stride: stride,
    }
}

/// Copies the first `cols` columns of the first `n` rows of `src` (row stride `stride`) into
/// `dst` (`[n, cols]`, row-major).
fn unpad(src: &[f32], stride: usize, n: usize, cols: usize, dst: &mut [f32]) {
    for (d, s) in dst
        .chunks_exact_mut(cols)
        .zip(src.chunks_exact(stride))
        .take(n)
    {
        d.copy_from_slice(&s[..cols]);
    }
}

/// One block of the forward pass (a struct rather than a closure: pulp inlines
/// [`pulp::WithSimd::with_simd`] into the function it compiles for the CPU's instruction set,
/// where a closure's body may be compiled separately for the baseline one).
struct ForwardTask<'a, 'b> {
    net: &'a Net<'a>,
    packed: &'a Layers,
    first: usize,
    out: &'b mut [f32],
    h1: Option<&'b mut [f32]>,
    h2: Option<&'b mut [f32]>,
    sigmoid: Option<&'b mut [f32]>,
}

impl pulp::WithSimd for ForwardTask<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let (net, p) = (self.net, self.packed);
        let (d, h, k) = (net.inputs, net.hidden, net.components);
        let width = net.width();
        let n = self.out.len() / width;
        let (dp, hp) = (padded(d), padded(h));
        let x = gather(&net.x, self.first, n, padded(n), d);
        let h1 = layer(&rows_of(&x, dp), n, d, &p.w1, &p.b1, h);
        let h2 = layer(&rows_of(&h1, hp), n, h, &p.w2, &p.b2, h);
        let out = self.out;
        product(
            &rows_of(&h2, hp),
            n,
            h,
            &p.wh,
            padded(width),
            &p.bh,
            |r, c0, vals| {
                let cols = vals.len().min(width - c0);
                out[r * width + c0..r * width + c0 + cols].copy_from_slice(&vals[..cols]);
            },
        );
        // The scales' softplus over one contiguous buffer (it vectorises; a row's 20 values
        // would mostly run through the scalar remainder loop).
        let mut pre = vec![0.0f32; n * k];
        for (p_row, o_row) in pre.chunks_exact_mut(k).zip(out.chunks_exact(width)) {
            p_row.copy_from_slice(&o_row[k..2 * k]);
        }
        softplus_in_place(&mut pre, self.sigmoid, net.floor);
        for (p_row, o_row) in pre.chunks_exact(k).zip(out.chunks_exact_mut(width)) {
            o_row[k..2 * k].copy_from_slice(p_row);
        }
        if let Some(dst) = self.h1 {
            unpad(&h1, hp, n, h, dst);
        }
        if let Some(dst) = self.h2 {
            unpad(&h2, hp, n, h, dst);
        }
    }
}

/// Which operands' gradients the backward pass computes: `x`, `w1`, `b1`, `w2`, `b2`, then
/// each head's weight and bias.
pub(crate) type NetWanted = [bool; 11];

/// The gradients, in the order of [`NetWanted`] (row-major, the operands' shapes).
pub(crate) type NetGrads = [Option<Vec<f32>>; 11];

/// The gradients of `sum(upstream * net(x))` given the upstream gradient `[rows, 3K]`.
pub(crate) fn backward(
    net: &Net<'_>,
    saved: &Saved,
    upstream: &View<'_>,
    wanted: NetWanted,
) -> NetGrads {
    let (rows, d, h, k) = (net.rows, net.inputs, net.hidden, net.components);
    let (hp, wp) = (padded(h), padded(3 * k));
    // Transposes for the products with the layers' weights, right to left; the heads' stacked
    // into `[3K, padded(hidden)]`.
    let wh_t: Vec<f32> = net
        .heads
        .iter()
        .flat_map(|(w, _)| pack(&transposed(w), k, h))
        .collect();
    let w2_t = pack(&transposed(&net.w2), h, h);
    let w1_t = pack(&transposed(&net.w1), h, d);
    let blocks = rows.div_ceil(ROWS_PER_BLOCK);
    let mut dx = wanted[0].then(|| vec![0.0f32; rows * d]);
    let mut dx_chunks: Vec<Option<&mut [f32]>> = match dx.as_deref_mut() {
        Some(v) if d > 0 => v.chunks_mut(ROWS_PER_BLOCK * d).map(Some).collect(),
        _ => Vec::new(),
    };
    dx_chunks.resize_with(blocks, || None);
    let transposes = Transposes {
        wh: &wh_t,
        w2: &w2_t,
        w1: &w1_t,
    };
    let run = |(b, dx): (usize, Option<&mut [f32]>)| {
        let first = b * ROWS_PER_BLOCK;
        pulp::Arch::new().dispatch(BackwardTask {
            net,
            saved,
            upstream,
            transposes: &transposes,
            first,
            n: ROWS_PER_BLOCK.min(rows - first),
            dx,
        })
    };
    let partials: Vec<Layers> = if blocks <= 1 {
        dx_chunks.into_iter().enumerate().map(run).collect()
    } else {
        dx_chunks.into_par_iter().enumerate().map(run).collect()
    };
    let mut total = Layers {
        w1: vec![0.0; d * hp],
        b1: vec![0.0; hp],
        w2: vec![0.0; h * hp],
        b2: vec![0.0; hp],
        wh: vec![0.0; h * wp],
        bh: vec![0.0; wp],
    };
    for part in &partials {
        total.add(part);
    }
    let cols = |m: &[f32], stride: usize, rows: usize, c0: usize, n: usize| -> Vec<f32> {
        (0..rows)
            .flat_map(|r| m[r * stride + c0..r * stride + c0 + n].iter().copied())
            .collect()
    };
    let all: [Vec<f32>; 11] = [
        dx.unwrap_or_default(),
        cols(&total.w1, hp, d, 0, h),
        total.b1[..h].to_vec(),
        cols(&total.w2, hp, h, 0, h),
        total.b2[..h].to_vec(),
        cols(&total.wh, wp, h, 0, k),
        total.bh[..k].to_vec(),
        cols(&total.wh, wp, h, k, k),
        total.bh[k..2 * k].to_vec(),
        cols(&total.wh, wp, h, 2 * k, k),
        total.bh[2 * k..3 * k].to_vec(),
    ];
    let mut i = 0;
    all.map(|g| {
        let want = wanted[i];
        i += 1;
        want.then_some(g)
    })
}

/// The transposed, packed weights of the backward pass.
struct Transposes<'a> {
    /// `[3K, padded(hidden)]`.
    wh: &'a [f32],
    /// `[hidden, padded(hidden)]`.
    w2: &'a [f32],
    /// `[hidden, padded(inputs)]`.
    w1: &'a [f32],
}

/// One block of the backward pass.
struct BackwardTask<'a, 'b> {
    net: &'a Net<'a>,
    saved: &'a Saved,
    upstream: &'a View<'a>,
    transposes: &'a Transposes<'a>,
    first: usize,
    n: usize,
    dx: Option<&'b mut [f32]>,
}

/// `relu'`: zeroes `g` where the layer's output `y` is not positive (both `[rows, stride]`).
#[inline(always)]
fn relu_mask(g: &mut [f32], y: &[f32]) {
    for (gv, &yv) in g.iter_mut().zip(y) {
        if yv <= 0.0 {
            *gv = 0.0;
        }
    }
}

/// The column sums of the first `n` rows of `m` (row stride `stride`).
#[inline(always)]
fn column_sums(m: &[f32], stride: usize, n: usize) -> Vec<f32> {
    let mut s = vec![0.0f32; stride];
    for row in m.chunks_exact(stride).take(n) {
        for (a, &v) in s.iter_mut().zip(row) {
            *a += v;
        }
    }
    s
}

/// `A B` for rows `0..rows` of `A` (inner dimension `k`) and `B` `[k, bw]`, into a zero-padded
/// `[rows_out, bw]` buffer (`rows_out >= rows`).
#[inline(always)]
fn product_into(
    a: &Strided<'_>,
    rows: usize,
    k: usize,
    b: &[f32],
    bw: usize,
    rows_out: usize,
) -> Vec<f32> {
    let mut out = vec![0.0f32; rows_out * bw];
    let zero = vec![0.0f32; bw];
    product(a, rows, k, b, bw, &zero, |r, c0, vals| {
        out[r * bw + c0..r * bw + c0 + vals.len()].copy_from_slice(vals);
    });
    out
}

impl pulp::WithSimd for BackwardTask<'_, '_> {
    type Output = Layers;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Layers {
        let (net, t) = (self.net, self.transposes);
        let (first, n) = (self.first, self.n);
        let (d, h, k) = (net.inputs, net.hidden, net.components);
        let (dp, hp, wp) = (padded(d), padded(h), padded(3 * k));
        let np = padded(n);
        let saved_view = |v: &[f32], cols: usize| {
            let view = View {
                data: v,
                offset: 0,
                row_stride: cols as isize,
                col_stride: 1,
            };
            gather(&view, first, n, np, cols)
        };
        let h1 = saved_view(&self.saved.h1, h);
        let h2 = saved_view(&self.saved.h2, h);
        let x = gather(&net.x, first, n, np, d);
        // The upstream gradient, through the softplus of the scales.
        let mut dz = gather(self.upstream, first, n, np, 3 * k);
        for (r, row) in dz.chunks_exact_mut(wp).take(n).enumerate() {
            let s = &self.saved.sigmoid[(first + r) * k..(first + r + 1) * k];
            for (g, &sv) in row[k..2 * k].iter_mut().zip(s) {
                *g *= sv;
            }
        }
        let wh = product_into(&columns_of(&h2, hp), h, n, &dz, wp, h);
        let bh = column_sums(&dz, wp, n);
        let mut dh2 = product_into(&rows_of(&dz, wp), n, 3 * k, t.wh, hp, np);
        relu_mask(&mut dh2, &h2);
        let w2 = product_into(&columns_of(&h1, hp), h, n, &dh2, hp, h);
        let b2 = column_sums(&dh2, hp, n);
        let mut dh1 = product_into(&rows_of(&dh2, hp), n, h, t.w2, hp, np);
        relu_mask(&mut dh1, &h1);
        let w1 = product_into(&columns_of(&x, dp), d, n, &dh1, hp, d);
        let b1 = column_sums(&dh1, hp, n);
        if let Some(dx) = self.dx {
            let full = product_into(&rows_of(&dh1, hp), n, h, t.w1, dp, np);
            unpad(&full, dp, n, d, dx);
        }
        Layers {
            w1,
            b1,
            w2,
            b2,
            wh,
            bh,
        }
    }
}
