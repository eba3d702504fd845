//! A multilayer perceptron in one fused pass, `h_0 = x`, `h_l = f(h_{l-1} W_l + b_l)` for the
//! hidden layers and `y = h_{L-1} W_L + b_L`, over host `f32` buffers, forward and backward.
//!
//! Each block of [`ROWS_PER_BLOCK`] rows goes through every layer while it is in cache. On
//! burn's ops the same network is, per layer, a matrix product, a bias add and an activation
//! forward, each with its own output buffer and autodiff node, and as many steps backward;
//! here the forward pass keeps each block's hidden activations (the outputs `h_l`, from which
//! the derivatives `f'` are formed: `1 - h^2`, `h (1 - h)`, `h > 0`) and the backward pass
//! is one pass over the blocks that computes the gradients of every weight, every bias and
//! the input.
//!
//! Layout: within a block everything is feature-major (`[features, rows]`, the transpose of
//! the tensors' layout), as in `mixture_net.rs`: the products are `W^T H^T`
//! ([`super::gemm::product`] with the rows of the block as the wide dimension), and the
//! weights' gradients are dot products along the rows ([`dots`]). The block's columns past its
//! last row are zero in the input and in the incoming gradient, so they add nothing to the
//! gradients.
//!
//! Determinism: the gradients of the weights and biases are summed within each block in a
//! fixed order (lane by lane along the rows, then the lanes pairwise), then over the blocks
//! in block order, so they do not depend on the number of threads.

use super::gemm::{LANES, ROWS_PER_BLOCK, Strided, gather, pack, padded, product};
use super::kernel::View;
use super::mixture_net::{block_product, dots, for_blocks, row_sums, weight, weight_transposed};
use super::vmath::{sigmoid, tanh};

/// The most layers the fused network runs (deeper networks use burn's ops).
pub(crate) const MAX_LAYERS: usize = 4;

/// The activation after each hidden layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Act {
    Tanh,
    Sigmoid,
    Relu,
    Identity,
}

/// `relu`: `v <= 0` rather than `max`, so that a NaN stays NaN.
#[inline(always)]
fn relu(v: f32) -> f32 {
    if v <= 0.0 { 0.0 } else { v }
}

/// The network's operands.
#[derive(Clone, Debug)]
pub(crate) struct Net<'a> {
    /// `[rows, widths[0]]`.
    pub x: View<'a>,
    pub rows: usize,
    /// The layers' widths, input first: one more than the layers.
    pub widths: Vec<usize>,
    /// Each layer's weight, `[widths[l], widths[l + 1]]`.
    pub weights: Vec<View<'a>>,
    /// Each layer's bias (a one-row view of `widths[l + 1]`), where it has one.
    pub biases: Vec<Option<View<'a>>>,
    pub act: Act,
}

/// The weights packed for the products (`[padded(in), padded(out)]`, row-major, zero padded)
/// and the biases (`padded(out)`, zeros where a layer has none).
struct Packed {
    w: Vec<Vec<f32>>,
    b: Vec<Vec<f32>>,
}

impl Net<'_> {
    fn layers(&self) -> usize {
        self.weights.len()
    }

    fn output(&self) -> usize {
        self.widths[self.layers()]
    }

    fn packed(&self) -> Packed {
        let w = self
            .weights
            .iter()
            .enumerate()
            .map(|(l, w)| {
                let (i, o) = (self.widths[l], self.widths[l + 1]);
                gather(w, 0, i, padded(i), o)
            })
            .collect();
        let b = self
            .biases
            .iter()
            .enumerate()
            .map(|(l, b)| {
                let o = self.widths[l + 1];
                match b {
                    Some(b) => pack(b, 1, o),
                    None => vec![0.0; padded(o)],
                }
            })
            .collect();
        Packed { w, b }
    }
}

/// Rows `first..first + n` of `v` (`cols` columns), feature-major: `[cols, np]`, zero past
/// row `n`. Eight rows at a time, so that each feature's values are written as one run.
#[inline(always)]
fn feature_major(v: &View<'_>, first: usize, n: usize, cols: usize, np: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; cols * np];
    for r0 in (0..n).step_by(LANES) {
        let m = LANES.min(n - r0);
        for c in 0..cols {
            let dst = &mut out[c * np + r0..c * np + r0 + m];
            for (r, o) in dst.iter_mut().enumerate() {
                *o = v.get(first + r0 + r, c);
            }
        }
    }
    out
}

/// The first `out.len() / cols` columns of the feature-major `h` (`[cols, np]`) into `out`,
/// row-major (`[n, cols]`), eight rows at a time.
#[inline(always)]
fn row_major(h: &[f32], np: usize, cols: usize, out: &mut [f32]) {
    let n = out.len() / cols;
    for r0 in (0..n).step_by(LANES) {
        let m = LANES.min(n - r0);
        for c in 0..cols {
            let src = &h[c * np + r0..c * np + r0 + m];
            for (r, &v) in src.iter().enumerate() {
                out[(r0 + r) * cols + c] = v;
            }
        }
    }
}

/// `f(W^T h + b)` for one layer (`[o, np]`), `f` the activation (none for the last layer).
///
/// The activation is a loop of its own rather than the product's `write` callback: that
/// closure is not always inlined, and then its body runs on the baseline instruction set.
#[inline(always)]
fn layer(w: &[f32], b: &[f32], i: usize, o: usize, h: &[f32], np: usize, f: Act) -> Vec<f32> {
    let a = weight_transposed(w, padded(o));
    let mut z = block_product(&a, o, i, h, np, Some(b), |v| v);
    match f {
        Act::Tanh => z.iter_mut().for_each(|v| *v = tanh(*v)),
        Act::Sigmoid => z.iter_mut().for_each(|v| *v = sigmoid(*v)),
        Act::Relu => z.iter_mut().for_each(|v| *v = relu(*v)),
        Act::Identity => {}
    }
    z
}

/// What the backward pass keeps of one block of rows: the hidden layers' outputs,
/// `[widths[l], padded(n)]` each, as the forward pass computed them.
pub(crate) type BlockSaved = Vec<Vec<f32>>;

/// The `[rows, output]` output, and (when `save`) what the backward pass needs, block by
/// block.
pub(crate) fn forward(net: &Net<'_>, save: bool) -> (Vec<f32>, Option<Vec<BlockSaved>>) {
    let width = net.output();
    let mut out = vec![0.0f32; net.rows * width];
    if net.rows == 0 || width == 0 {
        return (out, save.then(Vec::new));
    }
    let packed = net.packed();
    let work: Vec<&mut [f32]> = out.chunks_mut(ROWS_PER_BLOCK * width).collect();
    let saved = for_blocks(work, |b, out| {
        pulp::Arch::new().dispatch(ForwardTask {
            net,
            packed: &packed,
            first: b * ROWS_PER_BLOCK,
            out,
            save,
        })
    });
    (out, save.then_some(saved))
}

/// One block of the forward pass (a struct rather than a closure: pulp inlines
/// [`pulp::WithSimd::with_simd`] into the function it compiles for the CPU's instruction set).
struct ForwardTask<'a, 'b> {
    net: &'a Net<'a>,
    packed: &'a Packed,
    first: usize,
    out: &'b mut [f32],
    save: bool,
}

impl pulp::WithSimd for ForwardTask<'_, '_> {
    type Output = BlockSaved;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> BlockSaved {
        let (net, p) = (self.net, self.packed);
        let layers = net.layers();
        let width = net.output();
        let n = self.out.len() / width;
        let np = padded(n);
        let mut h = feature_major(&net.x, self.first, n, net.widths[0], np);
        let mut hidden = Vec::with_capacity(if self.save { layers - 1 } else { 0 });
        for l in 0..layers - 1 {
            let (i, o) = (net.widths[l], net.widths[l + 1]);
            let z = layer(&p.w[l], &p.b[l], i, o, &h, np, net.act);
            let previous = std::mem::replace(&mut h, z);
            if self.save && l > 0 {
                hidden.push(previous);
            }
        }
        let h: &[f32] = if self.save && layers > 1 {
            hidden.push(h);
            &hidden[layers - 2]
        } else {
            &h
        };
        // The last layer row-major, `H W + b` (`A = H`, read through the transpose of the
        // feature-major `h`), straight into the output: no transpose of the output.
        let (i, o) = (net.widths[layers - 1], width);
        let a = Strided {
            data: h,
            row_stride: 1,
            col_stride: np,
        };
        let out = &mut *self.out;
        product(
            &a,
            n,
            i,
            &p.w[layers - 1],
            padded(o),
            &p.b[layers - 1],
            |r, c0, vals| {
                if c0 < o {
                    let m = vals.len().min(o - c0);
                    out[r * o + c0..r * o + c0 + m].copy_from_slice(&vals[..m]);
                }
            },
        );
        hidden
    }
}

/// Which operands' gradients the backward pass computes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MlpWanted {
    pub x: bool,
    /// Per layer.
    pub weights: Vec<bool>,
    /// Per layer (false where a layer has no bias).
    pub biases: Vec<bool>,
}

/// The gradients the backward pass computed, in the operands' shapes (row-major).
#[derive(Clone, Debug, Default)]
pub(crate) struct MlpGrads {
    pub x: Option<Vec<f32>>,
    pub weights: Vec<Option<Vec<f32>>>,
    pub biases: Vec<Option<Vec<f32>>>,
}

/// The gradients of `sum(upstream * y)` (`upstream` `[rows, output]`), `y` the [`forward`]
/// pass that `saved` comes from.
pub(crate) fn backward(
    net: &Net<'_>,
    saved: Vec<BlockSaved>,
    upstream: View<'_>,
    wanted: &MlpWanted,
) -> MlpGrads {
    let (rows, d, layers) = (net.rows, net.widths[0], net.layers());
    let packed = net.packed();
    let mut dx = wanted.x.then(|| vec![0.0f32; rows * d]);
    let mut dx_chunks: Vec<Option<&mut [f32]>> = match dx.as_deref_mut() {
        Some(v) if d > 0 => v.chunks_mut(ROWS_PER_BLOCK * d).map(Some).collect(),
        _ => Vec::new(),
    };
    dx_chunks.resize_with(saved.len(), || None);
    let work: Vec<_> = saved.into_iter().zip(dx_chunks).collect();
    let partials = for_blocks(work, |b, (hidden, dx)| {
        let first = b * ROWS_PER_BLOCK;
        pulp::Arch::new().dispatch(BackwardTask {
            net,
            packed: &packed,
            hidden,
            upstream,
            wanted,
            first,
            n: ROWS_PER_BLOCK.min(rows - first),
            dx,
        })
    });
    let mut total = MlpGrads {
        x: None,
        weights: vec![None; layers],
        biases: vec![None; layers],
    };
    for part in partials {
        for (t, p) in total
            .weights
            .iter_mut()
            .chain(total.biases.iter_mut())
            .zip(part.weights.into_iter().chain(part.biases))
        {
            match (t.as_mut(), p) {
                (Some(t), Some(p)) => t.iter_mut().zip(&p).for_each(|(a, b)| *a += b),
                (None, Some(p)) => *t = Some(p),
                _ => {}
            }
        }
    }
    // Where there were no rows, the wanted gradients are zeros.
    for (l, (w, b)) in total
        .weights
        .iter_mut()
        .zip(total.biases.iter_mut())
        .enumerate()
    {
        let (i, o) = (net.widths[l], net.widths[l + 1]);
        if wanted.weights[l] && w.is_none() {
            *w = Some(vec![0.0; i * o]);
        }
        if wanted.biases[l] && b.is_none() {
            *b = Some(vec![0.0; o]);
        }
    }
    total.x = dx;
    total
}

/// One block of the backward pass.
struct BackwardTask<'a, 'b> {
    net: &'a Net<'a>,
    packed: &'a Packed,
    hidden: BlockSaved,
    upstream: View<'a>,
    wanted: &'a MlpWanted,
    first: usize,
    n: usize,
    dx: Option<&'b mut [f32]>,
}

/// `g <- g f'(y)`, `f'` formed from the activation's output `y`.
#[inline(always)]
fn through_activation(act: Act, g: &mut [f32], y: &[f32]) {
    let pairs = g.iter_mut().zip(y);
    match act {
        Act::Tanh => pairs.for_each(|(g, &y)| *g *= 1.0 - y * y),
        Act::Sigmoid => pairs.for_each(|(g, &y)| *g *= y * (1.0 - y)),
        // A select rather than a conditional store, which compiles to masked stores.
        Act::Relu => pairs.for_each(|(g, &y)| *g = if y <= 0.0 { 0.0 } else { *g }),
        Act::Identity => {}
    }
}

impl pulp::WithSimd for BackwardTask<'_, '_> {
    type Output = MlpGrads;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) -> MlpGrads {
        let BackwardTask {
            net,
            packed: p,
            hidden,
            upstream,
            wanted,
            first,
            n,
            dx,
        } = self;
        let layers = net.layers();
        let want_dx = dx.is_some();
        let np = padded(n);
        let mut grads = MlpGrads {
            x: None,
            weights: vec![None; layers],
            biases: vec![None; layers],
        };
        // Whether anything below layer `l` (its input included) wants a gradient.
        let below = |l: usize| want_dx || (0..l).any(|j| wanted.weights[j] || wanted.biases[j]);
        let mut dz = feature_major(&upstream, first, n, net.output(), np);
        for l in (0..layers).rev() {
            let (i, o) = (net.widths[l], net.widths[l + 1]);
            if wanted.weights[l] {
                let w = if l == 0 {
                    dots(simd, &feature_major(&net.x, first, n, i, np), i, &dz, o, np)
                } else {
                    dots(simd, &hidden[l - 1], i, &dz, o, np)
                };
                grads.weights[l] = Some(w);
            }
            if wanted.biases[l] {
                grads.biases[l] = Some(row_sums(&dz, o, np));
            }
            if !below(l) {
                break;
            }
            // `dh^T = W dz^T`: `A = W` row-major.
            let mut dh = block_product(&weight(&p.w[l], padded(o)), i, o, &dz, np, None, |v| v);
            if l == 0 {
                if let Some(dx) = dx {
                    row_major(&dh, np, i, dx);
                }
                break;
            }
            through_activation(net.act, &mut dh, &hidden[l - 1]);
            dz = dh;
        }
        grads
    }
}
