//! Pointwise kernels with analytic partial derivatives, as one autodiff node each, for
//! `Flex` and `Autodiff<Flex, C>`.
//!
//! A log density written with burn's ops is four to ten ops, each an autodiff node with its
//! own pass over the data forward and backward (and burn-autodiff's fixed cost of about 5 µs
//! per node, which dominates small models). A [`Pointwise`] function computes the value and
//! every partial derivative at one element; [`forward_flex`] and [`forward_autodiff`] run it
//! over broadcast `[rows, cols]` inputs in one vectorised pass (under [`pulp::Arch::dispatch`],
//! threaded above [`BLOCK`] elements), either elementwise ([`Output::Elements`]) or summed
//! over each row ([`Output::Rows`], a log density of independent elements). The partials of
//! the tracked inputs are kept, and the backward pass multiplies them by the incoming
//! gradient and sums them onto each input's own (broadcast) shape: one node, no
//! recomputation.
//!
//! Every use of this framework (`density.rs`, `reparam.rs`) is checked against its composed
//! burn ops, values and gradients, in `tests/pointwise.rs`.

use std::borrow::Cow;

use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use rayon::prelude::*;

use super::flex::flex_tensor;

/// Elements a thread takes at a time: below two blocks the pass runs on the calling thread.
const BLOCK: usize = 1 << 15;

/// A function of `N` inputs at one element, with its partial derivatives.
///
/// Implementations are small `Copy` values (a family's constants) whose `eval` is branch-free
/// and `#[inline(always)]`, so that the loops over the elements vectorise.
pub(super) trait Pointwise<const N: usize>: Copy + Send + Sync + 'static {
    /// The value at `x` and its partial derivative with respect to each input.
    fn eval(self, x: [f32; N]) -> (f32, [f32; N]);

    /// The value alone (the untracked pass).
    #[inline(always)]
    fn value(self, x: [f32; N]) -> f32 {
        self.eval(x).0
    }
}

/// What a pointwise op returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Output {
    /// The sum of each row, `[rows]`: the log density of a row of independent elements.
    Rows,
    /// Every element, `[rows, cols]`.
    Elements,
}

/// The partial derivatives of the tracked inputs, kept for the backward pass.
#[derive(Clone, Debug)]
pub(super) struct Partials<const N: usize> {
    rows: usize,
    cols: usize,
    output: Output,
    /// Each input's own shape (`1` or the output's in each dimension).
    shapes: [[usize; 2]; N],
    /// `[rows, cols]`, row-major, for the inputs that are tracked.
    partials: [Option<Vec<f32>>; N],
}

impl<const N: usize> Partials<N> {
    /// The partials of an op over `[rows, cols]` (each input's `shape` 1 or that in each
    /// dimension), per element, for the tracked inputs: what a kernel that is not a
    /// [`Pointwise`] (a row-wise one, as the categorical log mass) hands to the same backward
    /// pass.
    pub(super) fn new(
        [rows, cols]: [usize; 2],
        output: Output,
        shapes: [[usize; 2]; N],
        partials: [Option<Vec<f32>>; N],
    ) -> Self {
        Self {
            rows,
            cols,
            output,
            shapes,
            partials,
        }
    }
}

/// The values of a flex tensor in row-major order (borrowed when it is contiguous).
pub(super) fn contiguous(t: &FloatTensor<Flex>) -> Cow<'_, [f32]> {
    let layout = t.layout();
    match layout.contiguous_offsets() {
        Some((start, end)) if layout.is_contiguous() => {
            Cow::Borrowed(&t.storage::<f32>()[start..end])
        }
        _ => {
            let c = t.to_contiguous();
            let (start, end) = c
                .layout()
                .contiguous_offsets()
                .expect("a contiguous tensor has contiguous offsets");
            Cow::Owned(c.storage::<f32>()[start..end].to_vec())
        }
    }
}

/// The shape of a 2-d flex tensor.
pub(super) fn dims2(t: &FloatTensor<Flex>) -> [usize; 2] {
    t.layout().shape().dims::<2>()
}

/// The broadcast shape of `shapes` (each dimension 1 or the common size).
///
/// # Panics
/// When two shapes do not broadcast (the distributions check this when they are built).
pub(super) fn broadcast<const N: usize>(shapes: &[[usize; 2]; N]) -> [usize; 2] {
    let mut out = [1, 1];
    for s in shapes {
        for d in 0..2 {
            if s[d] != 1 {
                assert!(
                    out[d] == 1 || out[d] == s[d],
                    "pointwise kernel: shapes {shapes:?} do not broadcast"
                );
                out[d] = s[d];
            }
        }
    }
    out
}

/// `t` (`[r, c]`, each 1 or the target's) as the row-major values of `[rows, cols]`.
pub(super) fn expand_values(t: &FloatTensor<Flex>, [rows, cols]: [usize; 2]) -> Cow<'_, [f32]> {
    let [r, c] = dims2(t);
    let values = contiguous(t);
    if [r, c] == [rows, cols] {
        return values;
    }
    if r * c == 1 {
        return Cow::Owned(vec![values[0]; rows * cols]);
    }
    let mut out = Vec::with_capacity(rows * cols);
    for i in 0..rows {
        let row = if r == 1 { 0 } else { i };
        if c == 1 {
            out.extend(std::iter::repeat_n(values[row], cols));
        } else {
            out.extend_from_slice(&values[row * c..(row + 1) * c]);
        }
    }
    Cow::Owned(out)
}

/// `out[e] = f(x[e])` and, when `parts` is given, `parts[k][e] = df/dx_k` for the inputs `k`
/// whose bit is set in `mask` (the others' slices are empty and never written), compiled for
/// the CPU's vector instructions.
fn run_chunk<F: Pointwise<N>, const N: usize>(
    f: F,
    ins: [&[f32]; N],
    out: &mut [f32],
    parts: Option<[&mut [f32]; N]>,
    mask: u32,
) {
    let arch = pulp::Arch::new();
    let Some(parts) = parts else {
        return arch.dispatch(Chunk::<F, N, 0> {
            f,
            ins,
            out,
            parts: None,
        });
    };
    // One loop per set of tracked inputs, the set a constant: no stores of partials nobody
    // asked for, and no branch in the loop.
    macro_rules! masked {
        ($($m:literal)*) => {
            match mask {
                $($m => arch.dispatch(Chunk::<F, N, $m> { f, ins, out, parts: Some(parts) }),)*
                _ => arch.dispatch(Chunk::<F, N, 7> { f, ins, out, parts: Some(parts) }),
            }
        };
    }
    masked!(1 2 3 4 5 6)
}

/// One chunk of a pointwise pass (a struct rather than a closure: pulp inlines
/// [`pulp::WithSimd::with_simd`] into the function it compiles for the CPU's instruction set,
/// where a closure's body may be compiled separately for the baseline one, which happened to
/// the first version of this loop).
struct Chunk<'a, F, const N: usize, const MASK: u32> {
    f: F,
    ins: [&'a [f32]; N],
    out: &'a mut [f32],
    parts: Option<[&'a mut [f32]; N]>,
}

impl<F: Pointwise<N>, const N: usize, const MASK: u32> pulp::WithSimd for Chunk<'_, F, N, MASK> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let Self { f, ins, out, parts } = self;
        let len = out.len();
        let ins = ins.map(|s| &s[..len]);
        let Some(parts) = parts else {
            for (e, o) in out.iter_mut().enumerate() {
                *o = f.value(std::array::from_fn(|k| ins[k][e]));
            }
            return;
        };
        let parts = parts.map(|p| {
            let n = p.len().min(len);
            &mut p[..n]
        });
        for (e, o) in out.iter_mut().enumerate() {
            let (v, p) = f.eval(std::array::from_fn(|k| ins[k][e]));
            *o = v;
            for k in 0..N {
                if MASK & (1 << k) != 0 {
                    parts[k][e] = p[k];
                }
            }
        }
    }
}

/// Runs `f` over the broadcast inputs: the output (`[rows]` or `[rows, cols]`) and, for each
/// input `k` with `tracked[k]`, its partial derivatives.
///
/// # Panics
/// With more than 3 inputs (no kernel has more).
fn evaluate<F: Pointwise<N>, const N: usize>(
    f: F,
    inputs: [&FloatTensor<Flex>; N],
    tracked: Option<[bool; N]>,
    output: Output,
) -> (FloatTensor<Flex>, Partials<N>) {
    assert!(N <= 3, "pointwise kernels take at most 3 inputs");
    let shapes = inputs.map(dims2);
    let [rows, cols] = broadcast(&shapes);
    let values: [Cow<'_, [f32]>; N] =
        std::array::from_fn(|k| expand_values(inputs[k], [rows, cols]));
    let len = rows * cols;
    let mut out = vec![0.0f32; len];
    let tracked = tracked.unwrap_or([false; N]);
    let mask = (0..N)
        .filter(|&k| tracked[k])
        .map(|k| 1u32 << k)
        .sum::<u32>();
    let mut partials: [Option<Vec<f32>>; N] =
        std::array::from_fn(|k| tracked[k].then(|| vec![0.0f32; len]));
    let with_parts = mask != 0;
    let ins: [&[f32]; N] = std::array::from_fn(|k| &values[k][..]);
    let chunk = BLOCK
        .checked_div(cols)
        .map_or(len.max(1), |rows_per| rows_per.max(1) * cols);
    if len < 2 * BLOCK {
        let parts = with_parts.then(|| {
            partials
                .each_mut()
                .map(|p| p.as_deref_mut().unwrap_or(&mut []))
        });
        run_chunk(f, ins, &mut out, parts, mask);
    } else {
        type Work<'a, const N: usize> = (usize, &'a mut [f32], Option<[&'a mut [f32]; N]>);
        let mut iters = partials
            .each_mut()
            .map(|p| p.as_deref_mut().map(|p| p.chunks_mut(chunk)));
        let work: Vec<Work<'_, N>> = out
            .chunks_mut(chunk)
            .enumerate()
            .map(|(b, o)| {
                let parts = with_parts.then(|| {
                    iters.each_mut().map(|it| match it {
                        Some(it) => it.next().unwrap_or(&mut []),
                        None => &mut [],
                    })
                });
                (b * chunk, o, parts)
            })
            .collect();
        work.into_par_iter().for_each(|(start, o, parts)| {
            let ins = ins.map(|s| &s[start..start + o.len()]);
            run_chunk(f, ins, o, parts, mask);
        });
    }
    let result = match output {
        Output::Elements => flex_tensor(out, [rows, cols]),
        Output::Rows if cols == 1 => flex_tensor(out, [rows]),
        Output::Rows => {
            let sums: Vec<f32> = if cols == 0 {
                vec![0.0; rows]
            } else {
                out.chunks_exact(cols).map(|r| r.iter().sum()).collect()
            };
            flex_tensor(sums, [rows])
        }
    };
    let state = Partials {
        rows,
        cols,
        output,
        shapes,
        partials,
    };
    (result, state)
}

/// The pointwise op on `Flex` (no gradients).
pub(super) fn forward_flex<F: Pointwise<N>, const N: usize>(
    f: F,
    inputs: [&FloatTensor<Flex>; N],
    output: Output,
) -> FloatTensor<Flex> {
    evaluate(f, inputs, None, output).0
}

/// The pointwise op on `Autodiff<Flex, C>`: one node whose backward pass scales the partials
/// of the tracked inputs.
pub(super) fn forward_autodiff<C: CheckpointStrategy, F: Pointwise<N>, const N: usize>(
    f: F,
    inputs: [FloatTensor<burn::backend::Autodiff<Flex, C>>; N],
    output: Output,
) -> FloatTensor<burn::backend::Autodiff<Flex, C>> {
    forward_autodiff_with::<C, N>(inputs, |prims, tracked| evaluate(f, prims, tracked, output))
}

/// An op on `Autodiff<Flex, C>` whose `eval` gives its value and, for the tracked inputs
/// (`Some` mask), their partials per element: one node, with the pointwise backward pass.
pub(super) fn forward_autodiff_with<C: CheckpointStrategy, const N: usize>(
    inputs: [FloatTensor<burn::backend::Autodiff<Flex, C>>; N],
    eval: impl FnOnce([&FloatTensor<Flex>; N], Option<[bool; N]>) -> (FloatTensor<Flex>, Partials<N>),
) -> FloatTensor<burn::backend::Autodiff<Flex, C>> {
    let tracked = inputs.each_ref().map(|t| t.is_tracked());
    let prep = PointwiseBackward::<N>
        .prepare::<C>(inputs.each_ref().map(|t| t.node()))
        .compute_bound()
        .stateful();
    let prims = inputs.each_ref().map(|t| t.primitive());
    match prep {
        OpsKind::Tracked(prep) => {
            let (out, state) = eval(prims, Some(tracked));
            prep.finish(state, out)
        }
        OpsKind::UnTracked(prep) => prep.finish(eval(prims, None).0),
    }
}

/// The backward step of a pointwise op.
#[derive(Debug)]
struct PointwiseBackward<const N: usize>;

impl<const N: usize> Backward<Flex, N> for PointwiseBackward<N> {
    type State = Partials<N>;

    fn backward(
        self,
        ops: Ops<Self::State, N>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let upstream = grads.consume::<Flex>(&ops.node);
        let g = contiguous(&upstream);
        let Partials {
            rows,
            cols,
            output,
            shapes,
            partials,
        } = ops.state;
        for ((node, partial), shape) in ops.parents.into_iter().zip(partials).zip(shapes) {
            if let (Some(node), Some(partial)) = (node, partial) {
                let grad = reduce(partial, &g, [rows, cols], output, shape);
                grads.register::<Flex>(node.id, flex_tensor(grad, shape));
            }
        }
    }
}

/// `partial * g` (`g` per row or per element), summed onto `shape`.
fn reduce(
    mut partial: Vec<f32>,
    g: &[f32],
    [rows, cols]: [usize; 2],
    output: Output,
    shape: [usize; 2],
) -> Vec<f32> {
    if cols == 0 {
        return vec![0.0; shape[0] * shape[1]];
    }
    let gain = |e: usize| match output {
        Output::Rows => g[e / cols],
        Output::Elements => g[e],
    };
    if shape == [rows, cols] {
        match output {
            Output::Elements => partial.iter_mut().zip(g).for_each(|(p, g)| *p *= g),
            Output::Rows if cols == 1 => partial.iter_mut().zip(g).for_each(|(p, g)| *p *= g),
            Output::Rows => partial
                .chunks_exact_mut(cols)
                .zip(g)
                .for_each(|(row, g)| row.iter_mut().for_each(|p| *p *= g)),
        }
        return partial;
    }
    let [r, c] = shape;
    let mut out = vec![0.0f32; r * c];
    for (e, p) in partial.iter().enumerate() {
        let (i, j) = (e / cols, e % cols);
        let at = if r == 1 { 0 } else { i } * c + if c == 1 { 0 } else { j };
        out[at] += p * gain(e);
    }
    out
}
