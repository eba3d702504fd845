//! The network of a Mixture Density Network in one fused pass: `x -> relu(x W1 + b1) ->
//! relu(h1 W2 + b2) -> [h2 Wl + bl | softplus(h2 Ws + bs) + floor | h2 Ww + bw]`, over host `f32`
//! buffers, forward and backward.
//!
//! Each block of [`ROWS_PER_BLOCK`] rows goes through every layer while it is in cache, and the
//! three heads are one product with their weights packed side by side (locations, scales,
//! logits). On burn's ops the same network is five matrix products, two ReLUs and a softplus
//! forward, each with its own output buffer, and as many steps backward with their gradient
//! buffers and the sums of the three heads' gradients; here the backward pass is one pass over
//! the rows that computes every weight's gradient.
//!
//! Layout: within a block everything is feature-major (`[features, rows]`, the transpose of
//! the tensors' layout): the products are `W^T H^T` ([`super::gemm::product`] with the rows of
//! the block as the wide dimension), the mixture likelihood reads each component's rows as
//! contiguous vectors (its tiles are component-major) and writes its gradients the same way,
//! and the weights' gradients are dot products along the rows ([`dots`]). Nothing is
//! transposed on the way but the block's inputs and, for [`forward`], its output.
//!
//! [`log_prob`] evaluates the mixture likelihood of the network's output in the same pass, so
//! the heads are never written out; it keeps the hidden activations and the gradient with
//! respect to the heads' pre-activations for the backward pass.
//!
//! Determinism: the weights' gradients are summed within each block of rows in a fixed order
//! (lane by lane along the rows, then the lanes pairwise), then over the blocks in block
//! order, so they do not depend on the number of threads.

use rayon::prelude::*;

use super::gemm::{LANES, ROWS_PER_BLOCK, Strided, gather, pack, padded, product};
use super::kernel::{Block, Inputs, TILE, View, Wanted, run_block, softplus_in_place};

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

/// One buffer per weight and bias of the network: the packed weights of the forward pass
/// (rows and columns zero padded to multiples of [`LANES`]), or (per block, then summed)
/// their gradients in the tensors' layouts.
struct Layers {
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
    b2: Vec<f32>,
    /// The three heads side by side: `[hidden, 3K]`.
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

    /// The weights packed for the products: `w1` `[padded(inputs), padded(hidden)]`, `w2`
    /// `[padded(hidden), padded(hidden)]`, `wh` `[padded(hidden), padded(3K)]`, biases
    /// padded.
    fn packed(&self) -> Layers {
        let (d, h, k) = (self.inputs, self.hidden, self.components);
        let (hp, wp) = (padded(h), padded(3 * k));
        let mut wh = vec![0.0f32; hp * wp];
        let mut bh = vec![0.0f32; wp];
        for (j, (w, b)) in self.heads.iter().enumerate() {
            for i in 0..h {
                w.read_row(i, &mut wh[i * wp + j * k..i * wp + (j + 1) * k]);
            }
            b.read_row(0, &mut bh[j * k..(j + 1) * k]);
        }
        Layers {
            w1: gather(&self.w1, 0, d, padded(d), h),
            b1: pack(&self.b1, 1, h),
            w2: gather(&self.w2, 0, h, hp, h),
            b2: pack(&self.b2, 1, h),
            wh,
            bh,
        }
    }
}

/// The rows of a block rounded up to whole tiles of the mixture kernel (a multiple of
/// [`LANES`] too): the row stride of the block's feature-major buffers.
fn block_stride(n: usize) -> usize {
    n.div_ceil(TILE) * TILE
}

/// What the backward pass keeps of one block of rows (`n` rows, row stride `np =
/// block_stride(n)`): the hidden activations, `[hidden, np]` each, as the forward pass
/// computed them (no copies), and a gradient: for [`forward`], `sigmoid` of the scales'
/// pre-activations (`[K, np]`); for [`log_prob`], the gradient of each row's log density with
/// respect to the heads' pre-activations (`[3K, np]`) and, when asked, to the value (`[n]`).
#[derive(Clone, Debug, Default)]
pub(crate) struct BlockSaved {
    h1: Vec<f32>,
    h2: Vec<f32>,
    grad: Vec<f32>,
    pub d_value: Option<Vec<f32>>,
}

/// What the backward pass keeps, block by block.
pub(crate) type Saved = Vec<BlockSaved>;

/// One block's hidden activations and heads (`[3K, np]`, the scales after the softplus and
/// floor), and `sigmoid` of the scales' pre-activations (`[K, np]`) when asked.
struct Activations {
    h1: Vec<f32>,
    h2: Vec<f32>,
    heads: Vec<f32>,
    sigmoid: Option<Vec<f32>>,
}

/// The block's inputs, feature-major: `[inputs, np]`, zero past row `n`.
#[inline(always)]
fn inputs_of(net: &Net<'_>, first: usize, n: usize, np: usize) -> Vec<f32> {
    let d = net.inputs;
    let mut x = vec![0.0f32; d * np];
    for r in 0..n {
        for j in 0..d {
            x[j * np + r] = net.x.get(first + r, j);
        }
    }
    x
}

/// `A B` for `A` `[rows, k]` read through its strides (zero padded to a multiple of
/// [`LANES`] rows) and `B` `[k, np]`, plus `bias[row]` where given, through `f`: `[rows, np]`.
#[inline(always)]
pub(super) fn block_product(
    a: &Strided<'_>,
    rows: usize,
    k: usize,
    b: &[f32],
    np: usize,
    bias: Option<&[f32]>,
    f: impl Fn(f32) -> f32,
) -> Vec<f32> {
    let mut out = vec![0.0f32; rows * np];
    let zero = vec![0.0f32; np];
    product(a, rows, k, b, np, &zero, |r, c0, vals| {
        let out = out[r * np + c0..r * np + c0 + vals.len()].iter_mut();
        match bias {
            Some(bias) => out.zip(vals).for_each(|(o, &v)| *o = f(v + bias[r])),
            None => out.zip(vals).for_each(|(o, &v)| *o = f(v)),
        }
    });
    out
}

/// A packed row-major weight `W` with row stride `stride`, as `A = W` of a product.
pub(super) fn weight(w: &[f32], stride: usize) -> Strided<'_> {
    Strided {
        data: w,
        row_stride: stride,
        col_stride: 1,
    }
}

/// A packed row-major weight `W` with row stride `stride`, as `A = W^T` of a product.
pub(super) fn weight_transposed(w: &[f32], stride: usize) -> Strided<'_> {
    Strided {
        data: w,
        row_stride: 1,
        col_stride: stride,
    }
}

/// `relu`: `v <= 0` rather than `max`, so that a NaN stays NaN, as with burn's `relu`.
#[inline(always)]
fn relu(v: f32) -> f32 {
    if v <= 0.0 { 0.0 } else { v }
}

/// The network over rows `first..first + n` (on the caller's instruction set).
#[inline(always)]
fn activations(net: &Net<'_>, p: &Layers, first: usize, n: usize, sigmoid: bool) -> Activations {
    let (d, h, k) = (net.inputs, net.hidden, net.components);
    let (hp, wp) = (padded(h), padded(net.width()));
    let np = block_stride(n);
    let x = inputs_of(net, first, n, np);
    let h1 = block_product(
        &weight_transposed(&p.w1, hp),
        h,
        d,
        &x,
        np,
        Some(&p.b1),
        relu,
    );
    let h2 = block_product(
        &weight_transposed(&p.w2, hp),
        h,
        h,
        &h1,
        np,
        Some(&p.b2),
        relu,
    );
    let heads_t = weight_transposed(&p.wh, wp);
    let mut heads = block_product(&heads_t, 3 * k, h, &h2, np, Some(&p.bh), |v| v);
    let mut sig = sigmoid.then(|| vec![0.0f32; k * np]);
    softplus_in_place(
        &mut heads[k * np..2 * k * np],
        sig.as_deref_mut(),
        net.floor,
    );
    Activations {
        h1,
        h2,
        heads,
        sigmoid: sig,
    }
}

/// Runs `task` on each item of `work` (in parallel when there are several), returning the
/// results in order.
pub(super) fn for_blocks<T: Send, W: Send>(
    work: Vec<W>,
    task: impl Fn(usize, W) -> T + Sync + Send,
) -> Vec<T> {
    if work.len() <= 1 {
        work.into_iter()
            .enumerate()
            .map(|(b, w)| task(b, w))
            .collect()
    } else {
        work.into_par_iter()
            .enumerate()
            .map(|(b, w)| task(b, w))
            .collect()
    }
}

/// The packed `[rows, 3K]` output, and what the backward pass needs when `save`.
pub(crate) fn forward(net: &Net<'_>, save: bool) -> (Vec<f32>, Option<Saved>) {
    let width = net.width();
    let mut out = vec![0.0f32; net.rows * width];
    if net.rows == 0 || width == 0 {
        return (out, save.then(Vec::new));
    }
    let packed = net.packed();
    let saved = over_blocks(&mut out, width, |first, out| {
        pulp::Arch::new().dispatch(ForwardTask {
            net,
            packed: &packed,
            first,
            out,
            save,
        })
    });
    (out, save.then_some(saved))
}

/// Runs `task(first row, the block's rows of out)` on each block of [`ROWS_PER_BLOCK`] rows of
/// `out` (`per_row` values a row), in parallel, and collects what the blocks keep, in order.
fn over_blocks<'o>(
    out: &'o mut [f32],
    per_row: usize,
    task: impl Fn(usize, &'o mut [f32]) -> Option<BlockSaved> + Sync + Send,
) -> Saved {
    let work: Vec<&mut [f32]> = out.chunks_mut(ROWS_PER_BLOCK * per_row).collect();
    for_blocks(work, |b, out| task(b * ROWS_PER_BLOCK, out))
        .into_iter()
        .flatten()
        .collect()
}

/// One block of the forward pass (a struct rather than a closure: pulp inlines
/// [`pulp::WithSimd::with_simd`] into the function it compiles for the CPU's instruction set,
/// where a closure's body may be compiled separately for the baseline one).
struct ForwardTask<'a, 'b> {
    net: &'a Net<'a>,
    packed: &'a Layers,
    first: usize,
    out: &'b mut [f32],
    save: bool,
}

impl pulp::WithSimd for ForwardTask<'_, '_> {
    type Output = Option<BlockSaved>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Option<BlockSaved> {
        let net = self.net;
        let width = net.width();
        let n = self.out.len() / width;
        let np = block_stride(n);
        let a = activations(net, self.packed, self.first, n, self.save);
        for (r, row) in self.out.chunks_exact_mut(width).enumerate() {
            for (c, o) in row.iter_mut().enumerate() {
                *o = a.heads[c * np + r];
            }
        }
        self.save.then(|| BlockSaved {
            h1: a.h1,
            h2: a.h2,
            grad: a.sigmoid.unwrap_or_default(),
            d_value: None,
        })
    }
}

/// The value `y` (`[rows, 1]`) of the mixture density [`log_prob`] evaluates.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target<'a> {
    pub y: View<'a>,
    /// Whether the gradient with respect to `y` is wanted.
    pub grad: bool,
}

/// `log p(y | x)` per row (`[rows]`) for the mixture of Gaussians the network's heads
/// parameterise, the network and the likelihood of each block of rows in one pass; and what
/// the backward pass needs when `save`.
pub(crate) fn log_prob(net: &Net<'_>, target: Target<'_>, save: bool) -> (Vec<f32>, Option<Saved>) {
    let mut out = vec![0.0f32; net.rows];
    if net.rows == 0 {
        return (out, save.then(Vec::new));
    }
    let packed = net.packed();
    let saved = over_blocks(&mut out, 1, |first, out| {
        pulp::Arch::new().dispatch(LogProbTask {
            net,
            packed: &packed,
            target,
            first,
            out,
            save,
        })
    });
    (out, save.then_some(saved))
}

/// One block of [`log_prob`].
struct LogProbTask<'a, 'b> {
    net: &'a Net<'a>,
    packed: &'a Layers,
    target: Target<'a>,
    first: usize,
    out: &'b mut [f32],
    save: bool,
}

impl pulp::WithSimd for LogProbTask<'_, '_> {
    type Output = Option<BlockSaved>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Option<BlockSaved> {
        let (net, first, save) = (self.net, self.first, self.save);
        let k = net.components;
        let n = self.out.len();
        let np = block_stride(n);
        let a = activations(net, self.packed, first, n, save);
        let head = |j: usize| View {
            data: &a.heads,
            offset: j * k * np,
            row_stride: 1,
            col_stride: np as isize,
        };
        let y = self.target.y;
        let inputs = Inputs {
            rows: n,
            k,
            value: View {
                offset: (y.offset as isize + first as isize * y.row_stride) as usize,
                ..y
            },
            locs: head(0),
            scales: head(1),
            logits: head(2),
        };
        let mut dz = save.then(|| vec![0.0f32; 3 * k * np]);
        let mut d_value = (save && self.target.grad).then(|| vec![0.0f32; n]);
        let wanted = Wanted {
            packed: save,
            value: d_value.is_some(),
            ..Wanted::default()
        };
        run_block(
            &inputs,
            wanted,
            Block {
                log_prob: self.out,
                d_value: d_value.as_deref_mut(),
                packed: dz.as_deref_mut(),
                packed_stride: np,
                packed_transposed: true,
                ..Block::default()
            },
        );
        let (mut dz, sigmoid) = (dz?, a.sigmoid?);
        // Through the softplus of the scales.
        for (g, &sv) in dz[k * np..2 * k * np].iter_mut().zip(&sigmoid) {
            *g *= sv;
        }
        Some(BlockSaved {
            h1: a.h1,
            h2: a.h2,
            grad: dz,
            d_value,
        })
    }
}

/// Which operands' gradients the backward pass computes: `x`, `w1`, `b1`, `w2`, `b2`, then
/// each head's weight and bias.
pub(crate) type NetWanted = [bool; 11];

/// The gradients, in the order of [`NetWanted`] (row-major, the operands' shapes).
pub(crate) type NetGrads = [Option<Vec<f32>>; 11];

/// The incoming gradient of the backward pass.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Upstream<'a> {
    /// Of [`forward`]'s output, `[rows, 3K]`.
    Heads(View<'a>),
    /// Of [`log_prob`]'s output, `[rows]` (a view of one column).
    Rows(View<'a>),
}

/// The gradients of `sum(upstream * f(x))`, `f` the [`forward`] or [`log_prob`] pass that
/// `saved` comes from ([`Upstream`] says which).
pub(crate) fn backward(
    net: &Net<'_>,
    saved: Saved,
    upstream: Upstream<'_>,
    wanted: NetWanted,
) -> NetGrads {
    let (rows, d, h, k) = (net.rows, net.inputs, net.hidden, net.components);
    let packed = net.packed();
    let mut dx = wanted[0].then(|| vec![0.0f32; rows * d]);
    let mut dx_chunks: Vec<Option<&mut [f32]>> = match dx.as_deref_mut() {
        Some(v) if d > 0 => v.chunks_mut(ROWS_PER_BLOCK * d).map(Some).collect(),
        _ => Vec::new(),
    };
    dx_chunks.resize_with(saved.len(), || None);
    let work: Vec<_> = saved.into_iter().zip(dx_chunks).collect();
    let partials = for_blocks(work, |b, (saved, dx)| {
        let first = b * ROWS_PER_BLOCK;
        pulp::Arch::new().dispatch(BackwardTask {
            net,
            saved,
            upstream,
            packed: &packed,
            first,
            n: ROWS_PER_BLOCK.min(rows - first),
            dx,
        })
    });
    let mut total = Layers {
        w1: vec![0.0; d * h],
        b1: vec![0.0; h],
        w2: vec![0.0; h * h],
        b2: vec![0.0; h],
        wh: vec![0.0; h * 3 * k],
        bh: vec![0.0; 3 * k],
    };
    for part in &partials {
        total.add(part);
    }
    let head = |j: usize| -> Vec<f32> {
        (0..h)
            .flat_map(|r| {
                total.wh[r * 3 * k + j * k..r * 3 * k + (j + 1) * k]
                    .iter()
                    .copied()
            })
            .collect()
    };
    let all: [Vec<f32>; 11] = [
        dx.unwrap_or_default(),
        total.w1.clone(),
        total.b1.clone(),
        total.w2.clone(),
        total.b2.clone(),
        head(0),
        total.bh[..k].to_vec(),
        head(1),
        total.bh[k..2 * k].to_vec(),
        head(2),
        total.bh[2 * k..3 * k].to_vec(),
    ];
    let mut i = 0;
    all.map(|g| {
        let want = wanted[i];
        i += 1;
        want.then_some(g)
    })
}

/// One block of the backward pass.
struct BackwardTask<'a, 'b> {
    net: &'a Net<'a>,
    saved: BlockSaved,
    upstream: Upstream<'a>,
    packed: &'a Layers,
    first: usize,
    n: usize,
    dx: Option<&'b mut [f32]>,
}

/// `relu'`: zeroes `g` where the layer's output `y` is not positive.
#[inline(always)]
fn relu_mask(g: &mut [f32], y: &[f32]) {
    // A select rather than a conditional store, which compiles to masked stores.
    for (gv, &yv) in g.iter_mut().zip(y) {
        *gv = if yv <= 0.0 { 0.0 } else { *gv };
    }
}

/// The sum of `v` (a multiple of [`LANES`] long) in a fixed order: lane by lane, then the
/// lanes pairwise.
#[inline(always)]
fn sum(v: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    for chunk in v.chunks_exact(LANES) {
        for (a, &x) in acc.iter_mut().zip(chunk) {
            *a += x;
        }
    }
    horizontal_sum(&acc)
}

#[inline(always)]
fn horizontal_sum(acc: &[f32; LANES]) -> f32 {
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// The sums of the `rows` rows of `m` (row stride and length `np`).
#[inline(always)]
pub(super) fn row_sums(m: &[f32], rows: usize, np: usize) -> Vec<f32> {
    m.chunks_exact(np).take(rows).map(sum).collect()
}

/// `C[i, j] = sum_r a[i np + r] b[j np + r]` for `i < ra`, `j < rb`, `r < np` (a multiple
/// of [`LANES`]): `[ra, rb]`, each a sum in a fixed order (lane by lane along `r`, then the
/// lanes pairwise), whatever the tiling and the instruction set.
///
/// With vectors of [`LANES`] `f32` (AVX2) the sums run on `S`'s vectors in tiles of up to
/// 2 x 4: up to eight independent sums whose loaded vectors each serve two or four of them
/// (written on `[f32; 8]` arrays, the compiler vectorised across the sums instead, with
/// shuffles). Otherwise they run one at a time on arrays, with the same bits.
#[inline(always)]
pub(super) fn dots<S: pulp::Simd>(
    simd: S,
    a: &[f32],
    ra: usize,
    b: &[f32],
    rb: usize,
    np: usize,
) -> Vec<f32> {
    let mut out = vec![0.0f32; ra * rb];
    if std::mem::size_of::<S::f32s>() != std::mem::size_of::<[f32; LANES]>() {
        for (i, o) in out.chunks_exact_mut(rb.max(1)).enumerate().take(ra) {
            for (j, o) in o.iter_mut().enumerate() {
                let mut acc = [0.0f32; LANES];
                let x = a[i * np..(i + 1) * np].as_chunks::<LANES>().0;
                let y = b[j * np..(j + 1) * np].as_chunks::<LANES>().0;
                for (x, y) in x.iter().zip(y) {
                    for ((s, &x), &y) in acc.iter_mut().zip(x).zip(y) {
                        *s = x.mul_add(y, *s);
                    }
                }
                *o = horizontal_sum(&acc);
            }
        }
        return out;
    }
    let mut i = 0;
    while i < ra {
        let ni = if ra - i >= 2 { 2 } else { 1 };
        let mut j = 0;
        while j < rb {
            let nj = if rb - j >= 4 { 4 } else { 1 };
            let tile = DotTile { a, b, i, j, np, rb };
            match (ni, nj) {
                (2, 4) => tile.run::<S, 2, 4>(simd, &mut out),
                (2, _) => tile.run::<S, 2, 1>(simd, &mut out),
                (_, 4) => tile.run::<S, 1, 4>(simd, &mut out),
                _ => tile.run::<S, 1, 1>(simd, &mut out),
            }
            j += nj;
        }
        i += ni;
    }
    out
}

/// One tile of [`dots`]: rows `i..` of `a` against rows `j..` of `b`.
struct DotTile<'a> {
    a: &'a [f32],
    b: &'a [f32],
    i: usize,
    j: usize,
    np: usize,
    rb: usize,
}

impl DotTile<'_> {
    /// The `I x J` sums, on vectors of [`LANES`] `f32`.
    #[inline(always)]
    fn run<S: pulp::Simd, const I: usize, const J: usize>(&self, simd: S, out: &mut [f32]) {
        let (np, len) = (self.np, self.np / LANES);
        fn vectors<S: pulp::Simd>(m: &[f32], row: usize, np: usize) -> &[S::f32s] {
            let v = S::as_simd_f32s(&m[row * np..(row + 1) * np]).0;
            &v[..np / LANES]
        }
        let a: [&[S::f32s]; I] = std::array::from_fn(|r| vectors::<S>(self.a, self.i + r, np));
        let b: [&[S::f32s]; J] = std::array::from_fn(|r| vectors::<S>(self.b, self.j + r, np));
        let mut c = [[simd.splat_f32s(0.0); J]; I];
        for t in 0..len {
            let bv: [S::f32s; J] = std::array::from_fn(|j| b[j][t]);
            for (c_i, a_i) in c.iter_mut().zip(&a) {
                let av = a_i[t];
                for (c_ij, &b_j) in c_i.iter_mut().zip(&bv) {
                    *c_ij = simd.mul_add_e_f32s(av, b_j, *c_ij);
                }
            }
        }
        for (i, c_i) in c.iter().enumerate() {
            for (j, &v) in c_i.iter().enumerate() {
                let lanes: [f32; LANES] = pulp::bytemuck::cast(v);
                out[(self.i + i) * self.rb + self.j + j] = horizontal_sum(&lanes);
            }
        }
    }
}

impl pulp::WithSimd for BackwardTask<'_, '_> {
    type Output = Layers;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) -> Layers {
        let (net, p) = (self.net, self.packed);
        let (first, n) = (self.first, self.n);
        let (d, h, k) = (net.inputs, net.hidden, net.components);
        let (hp, wp) = (padded(h), padded(3 * k));
        let np = block_stride(n);
        let BlockSaved { h1, h2, grad, .. } = self.saved;
        // The gradient with respect to the heads' pre-activations, `[3K, np]`: for `log_prob`,
        // the saved one times each row's incoming gradient `g`. That product is not formed:
        // `g` scales the 16-row `h2` in `h2^T dz`, the column sums become `g^T dz`, and it
        // scales `dz Wh^T` after the product, so the 60-row `dz` is read once, by the products.
        let (dz, g) = match self.upstream {
            Upstream::Heads(upstream) => {
                let mut dz = vec![0.0f32; 3 * k * np];
                for r in 0..n {
                    for c in 0..3 * k {
                        dz[c * np + r] = upstream.get(first + r, c);
                    }
                }
                for (g, &sv) in dz[k * np..2 * k * np].iter_mut().zip(&grad) {
                    *g *= sv;
                }
                (dz, None)
            }
            Upstream::Rows(upstream) => {
                let mut g = vec![0.0f32; np];
                for (r, v) in g.iter_mut().enumerate().take(n) {
                    *v = upstream.get(first + r, 0);
                }
                (grad, Some(g))
            }
        };
        let scale_columns = |m: &mut [f32], g: &[f32]| {
            for row in m.chunks_exact_mut(np) {
                for (v, &gv) in row.iter_mut().zip(g) {
                    *v *= gv;
                }
            }
        };
        let (wh, bh) = match &g {
            Some(g) => {
                let mut h2g = h2.clone();
                scale_columns(&mut h2g, g);
                (
                    dots(simd, &h2g, h, &dz, 3 * k, np),
                    dots(simd, g, 1, &dz, 3 * k, np),
                )
            }
            None => (dots(simd, &h2, h, &dz, 3 * k, np), row_sums(&dz, 3 * k, np)),
        };
        // `dh2^T = Wh dz^T`: `A = Wh` row-major.
        let mut dh2 = block_product(&weight(&p.wh, wp), h, 3 * k, &dz, np, None, |v| v);
        if let Some(g) = &g {
            scale_columns(&mut dh2, g);
        }
        relu_mask(&mut dh2, &h2);
        let w2 = dots(simd, &h1, h, &dh2, h, np);
        let b2 = row_sums(&dh2, h, np);
        let mut dh1 = block_product(&weight(&p.w2, hp), h, h, &dh2, np, None, |v| v);
        relu_mask(&mut dh1, &h1);
        let x = inputs_of(net, first, n, np);
        let w1 = dots(simd, &x, d, &dh1, h, np);
        let b1 = row_sums(&dh1, h, np);
        if let Some(dx) = self.dx {
            let dxt = block_product(&weight(&p.w1, hp), d, h, &dh1, np, None, |v| v);
            for (r, row) in dx.chunks_exact_mut(d).enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = dxt[j * np + r];
                }
            }
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
