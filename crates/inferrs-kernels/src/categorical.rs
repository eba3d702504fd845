//! The categorical log mass on logits as one autodiff node: per row
//! `logits[k] - logsumexp(logits)`, with the partials `onehot(k) - softmax(logits)` handed to
//! the pointwise backward pass (`pointwise.rs`). Not a [`Pointwise`](super::pointwise::Pointwise):
//! each row's normaliser needs the whole row. `Categorical::log_prob_composed` is the reference
//! that `tests/pointwise.rs` checks the values and gradients against.

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;
use rayon::prelude::*;

use super::flex::{flex_tensor, runs_fused};
use super::pointwise::{Output, Partials, broadcast, dims2, expand_values, forward_autodiff_with};
use super::vmath::{exp, ln};

/// Rows a thread takes at a time, times the classes: below two blocks one thread.
const BLOCK: usize = 1 << 15;

/// The categorical log mass as a burn backend extension: `value` `[rows or 1, 1]` (class
/// indices as floats), `logits` `[rows or 1, K]`; the output `[rows]`.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait CategoricalKernel: Backend {
    /// `log_softmax(logits)[value]` per row, `-inf` where the value is not a class.
    fn categorical_logits_log_prob(
        value: FloatTensor<Self>,
        logits: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// One row: its log mass, and in `exps` `onehot(k) - softmax(logits)` (the row's partials),
/// zero where `k` is not a class (as the composed ops, whose masked sum has no gradient
/// there). The exponentials go into `exps` in a loop of their own, which vectorises; the sum
/// is a second, short one.
#[inline(always)]
fn row(k: f32, logits: &[f32], exps: &mut [f32]) -> f32 {
    let classes = logits.len();
    let class = (k >= 0.0 && k == k.floor() && (k as usize) < classes).then_some(k as usize);
    let Some(class) = class else {
        exps.fill(0.0);
        return f32::NEG_INFINITY;
    };
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for (e, &l) in exps.iter_mut().zip(logits) {
        *e = exp(l - max);
    }
    let sum: f32 = exps.iter().sum();
    let scale = -1.0 / sum;
    exps.iter_mut().for_each(|e| *e *= scale);
    exps[class] += 1.0;
    logits[class] - (max + ln(sum))
}

/// Rows of the pass, compiled for the CPU's vector instructions (a struct, as `pointwise.rs`'s
/// `Chunk`, so that pulp inlines the loop into its dispatched function).
struct Rows<'a> {
    k: &'a [f32],
    logits: &'a [f32],
    out: &'a mut [f32],
    part: Option<&'a mut [f32]>,
}

impl pulp::WithSimd for Rows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let Self {
            k,
            logits,
            out,
            mut part,
        } = self;
        let classes = logits.len() / out.len().max(1);
        // Without partials to keep, one row's worth of scratch.
        let mut scratch = if part.is_none() {
            vec![0.0f32; classes]
        } else {
            Vec::new()
        };
        for (r, o) in out.iter_mut().enumerate() {
            let l = &logits[r * classes..(r + 1) * classes];
            let exps = match part.as_deref_mut() {
                Some(p) => &mut p[r * classes..(r + 1) * classes],
                None => &mut scratch[..],
            };
            *o = row(k[r], l, exps);
        }
    }
}

/// The log mass of every row and, when tracked, the partials.
fn evaluate(
    [value, logits]: [&FloatTensor<Flex>; 2],
    tracked: Option<[bool; 2]>,
) -> (FloatTensor<Flex>, Partials<2>) {
    let shapes = [dims2(value), dims2(logits)];
    let rows = broadcast(&[[shapes[0][0], 1], [shapes[1][0], 1]])[0];
    let classes = shapes[1][1];
    let k = expand_values(value, [rows, 1]);
    let l = expand_values(logits, [rows, classes]);
    let [track_value, track_logits] = tracked.unwrap_or([false; 2]);
    let mut out = vec![0.0f32; rows];
    let mut part = track_logits.then(|| vec![0.0f32; rows * classes]);
    let rows_per = (BLOCK / classes.max(1)).max(1);
    let run = |start: usize, out: &mut [f32], part: Option<&mut [f32]>| {
        let n = out.len();
        pulp::Arch::new().dispatch(Rows {
            k: &k[start..start + n],
            logits: &l[start * classes..(start + n) * classes],
            out,
            part,
        });
    };
    if rows * classes < 2 * BLOCK {
        run(0, &mut out, part.as_deref_mut());
    } else {
        let mut parts: Vec<Option<&mut [f32]>> = match part.as_deref_mut() {
            Some(p) => p.chunks_mut(rows_per * classes).map(Some).collect(),
            None => (0..rows.div_ceil(rows_per)).map(|_| None).collect(),
        };
        out.chunks_mut(rows_per)
            .zip(parts.iter_mut())
            .enumerate()
            .collect::<Vec<_>>()
            .into_par_iter()
            .for_each(|(b, (o, p))| run(b * rows_per, o, p.take()));
    }
    // The value's partial is zero (a comparison in the composed ops).
    let value_part = track_value.then(|| vec![0.0f32; rows * classes]);
    let state = Partials::new(
        [rows, classes],
        Output::Rows,
        [[shapes[0][0], 1], shapes[1]],
        [value_part, part],
    );
    (flex_tensor(out, [rows]), state)
}

impl CategoricalKernel for Flex {
    fn categorical_logits_log_prob(
        value: FloatTensor<Self>,
        logits: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        evaluate([&value, &logits], None).0
    }
}

impl<C: CheckpointStrategy> CategoricalKernel for Autodiff<Flex, C> {
    fn categorical_logits_log_prob(
        value: FloatTensor<Self>,
        logits: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        forward_autodiff_with::<C, 2>([value, logits], evaluate)
    }
}

/// The fused categorical log mass on logits (`[rows]`), or `None` when it does not apply
/// (not every tensor `f32` on flex, or a value that is not one column).
pub(crate) fn categorical_logits_log_prob(
    value: &Tensor<2>,
    logits: &Tensor<2>,
) -> Option<Tensor<1>> {
    let fused = [value, logits]
        .iter()
        .all(|t| runs_fused(t.dtype(), &t.device()));
    if !fused || value.dims()[1] != 1 {
        return None;
    }
    let out = <Dispatch as CategoricalKernel>::categorical_logits_log_prob(
        value.clone().into_dispatch(),
        logits.clone().into_dispatch(),
    );
    Some(Tensor::from_dispatch(out))
}
