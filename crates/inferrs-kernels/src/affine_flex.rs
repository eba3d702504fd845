//! The fused affine map (`affine.rs`) as a burn backend extension for `Flex` and
//! `Autodiff<Flex, C>`: one op and one autodiff node for `x W + b`.
//!
//! A map without a bias passes an empty `[0, 0]` placeholder, never tracked.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;

use super::affine::{self, Affine, AffineWanted};
use super::flex::{flex_tensor, runs_fused, view};
use super::pointwise::{contiguous, dims2};

/// The fused affine map as a burn backend extension.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait AffineKernel: Backend {
    /// `x W + b`.
    ///
    /// # Shapes
    ///
    /// * `x`: `[rows, inputs]`; `w`: `[inputs, outputs]` (any strides); `b`: `[1, outputs]`,
    ///   or `[0, 0]` for none
    /// * returns: `[rows, outputs]`
    fn affine_fused(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// `x W + b` as one op, or `None` where it does not run (not every tensor `f32` on flex, no
/// rows, a zero width, shapes that do not chain, a bias that is not one row of `outputs`):
/// the caller then uses burn's ops.
pub(crate) fn affine(x: &Tensor<2>, w: &Tensor<2>, b: Option<&Tensor<2>>) -> Option<Tensor<2>> {
    let device = x.device();
    let on_flex = |t: &Tensor<2>| runs_fused(t.dtype(), &t.device());
    let ([rows, inputs], [w_in, outputs]) = (x.dims(), w.dims());
    if rows == 0 || inputs == 0 || outputs == 0 || w_in != inputs || !on_flex(x) || !on_flex(w) {
        return None;
    }
    if b.is_some_and(|b| b.dims() != [1, outputs] || !on_flex(b)) {
        return None;
    }
    let b = b.cloned().unwrap_or_else(|| Tensor::zeros([0, 0], &device));
    let out = <Dispatch as AffineKernel>::affine_fused(
        x.clone().into_dispatch(),
        w.clone().into_dispatch(),
        b.into_dispatch(),
    );
    Some(Tensor::from_dispatch(out))
}

/// The operands as contiguous host buffers (`x` borrowed when it is contiguous; `W` and `b`
/// are small and copied).
struct Operands<'a> {
    x: std::borrow::Cow<'a, [f32]>,
    w: Vec<f32>,
    b: Option<Vec<f32>>,
    rows: usize,
    inputs: usize,
    outputs: usize,
}

impl<'a> Operands<'a> {
    fn new(x: &'a FloatTensor<Flex>, w: &FloatTensor<Flex>, b: &FloatTensor<Flex>) -> Self {
        let [rows, inputs] = dims2(x);
        let [_, outputs] = dims2(w);
        let wv = view(w);
        let w = (0..inputs)
            .flat_map(|i| (0..outputs).map(move |o| (i, o)))
            .map(|(i, o)| wv.get(i, o))
            .collect();
        let b = (dims2(b) == [1, outputs]).then(|| {
            let bv = view(b);
            (0..outputs).map(|o| bv.get(0, o)).collect()
        });
        Self {
            x: contiguous(x),
            w,
            b,
            rows,
            inputs,
            outputs,
        }
    }

    fn affine(&self) -> Affine<'_> {
        Affine {
            x: &self.x,
            w: &self.w,
            b: self.b.as_deref(),
            rows: self.rows,
            inputs: self.inputs,
            outputs: self.outputs,
        }
    }
}

impl AffineKernel for Flex {
    fn affine_fused(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let ops = Operands::new(&x, &w, &b);
        flex_tensor(affine::forward(&ops.affine()), [ops.rows, ops.outputs])
    }
}

/// What the backward pass needs: the operands and which of them are tracked.
#[derive(Clone, Debug)]
struct AffineState {
    tensors: [FloatTensor<Flex>; 3],
    tracked: [bool; 3],
}

/// Backward step of the fused affine map: one pass over the blocks of rows.
#[derive(Debug)]
struct AffineBackward;

impl Backward<Flex, 3> for AffineBackward {
    type State = AffineState;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let upstream = grads.consume::<Flex>(&ops.node);
        let AffineState { tensors, tracked } = ops.state;
        let [x, w, b] = &tensors;
        let operands = Operands::new(x, w, b);
        let wanted = AffineWanted {
            x: tracked[0],
            w: tracked[1],
            b: tracked[2] && operands.b.is_some(),
        };
        let g = affine::backward(&operands.affine(), &contiguous(&upstream), wanted);
        for ((node, grad), t) in ops.parents.into_iter().zip([g.x, g.w, g.b]).zip(&tensors) {
            if let (Some(node), Some(grad)) = (node, grad) {
                grads.register::<Flex>(node.id, flex_tensor(grad, t.layout().shape().clone()));
            }
        }
    }
}

impl<C: CheckpointStrategy> AffineKernel for Autodiff<Flex, C> {
    fn affine_fused(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let all = [x, w, b];
        let tracked: [bool; 3] = std::array::from_fn(|i| all[i].is_tracked());
        let prep = AffineBackward
            .prepare::<C>(std::array::from_fn(|i| all[i].node()))
            .compute_bound()
            .stateful();
        let tensors: [FloatTensor<Flex>; 3] = std::array::from_fn(|i| all[i].primitive().clone());
        let out = {
            let ops = Operands::new(&tensors[0], &tensors[1], &tensors[2]);
            flex_tensor(affine::forward(&ops.affine()), [ops.rows, ops.outputs])
        };
        match prep {
            OpsKind::Tracked(prep) => prep.finish(AffineState { tensors, tracked }, out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}
