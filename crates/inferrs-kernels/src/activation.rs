//! Fused elementwise activations, `tanh` and `sigmoid`, for `Flex` and `Autodiff<Flex, C>`.
//!
//! flex computes `tanh` one element at a time through glibc's `tanhf`, and burn-autodiff's
//! backward of `tanh` computes it again. Here the forward pass is one vectorised loop (the
//! branch-free `exp` of `vmath.rs`, under [`pulp::Arch::dispatch`], threaded over blocks of
//! [`BLOCK`] elements), and on a tracked input it also keeps the derivative (`1 - y^2`, or
//! `y (1 - y)`), which the backward pass multiplies by the incoming gradient: one node, no
//! recomputation. The composed burn op (`burn::tensor::activation::tanh` / `sigmoid`) is the
//! reference that `tests/activation.rs` checks the values and gradients against.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::{Shape, Tensor, TensorData};
use rayon::prelude::*;

use super::flex::runs_fused;
use super::pointwise::contiguous;
use super::vmath::{sigmoid, tanh};

/// Elements a thread takes at a time: below two blocks the loop runs on the calling thread.
const BLOCK: usize = 1 << 15;

/// The fused activations as a burn backend extension.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait ActivationKernel: Backend {
    /// `tanh(x)` elementwise, any shape.
    fn tanh_fused(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `sigmoid(x) = 1 / (1 + e^-x)` elementwise, any shape.
    fn sigmoid_fused(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Which activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Tanh,
    Sigmoid,
}

/// `o <- f(o)`, and `d <- f'(o)` from the output when given.
#[inline(always)]
fn apply(kind: Kind, o: &mut [f32], d: Option<&mut [f32]>) {
    match (kind, d) {
        (Kind::Tanh, None) => o.iter_mut().for_each(|v| *v = tanh(*v)),
        (Kind::Sigmoid, None) => o.iter_mut().for_each(|v| *v = sigmoid(*v)),
        (Kind::Tanh, Some(d)) => {
            for (v, dv) in o.iter_mut().zip(d.iter_mut()) {
                let y = tanh(*v);
                *v = y;
                *dv = 1.0 - y * y;
            }
        }
        (Kind::Sigmoid, Some(d)) => {
            for (v, dv) in o.iter_mut().zip(d.iter_mut()) {
                let y = sigmoid(*v);
                *v = y;
                *dv = y * (1.0 - y);
            }
        }
    }
}

/// The activation of `x` (its values in row-major order, overwritten in place) and, when
/// `want_grad`, its derivative at each element.
fn activate(kind: Kind, x: Vec<f32>, want_grad: bool) -> (Vec<f32>, Option<Vec<f32>>) {
    let mut out = x;
    let mut deriv = want_grad.then(|| vec![0.0f32; out.len()]);
    let run = |(o, d): (&mut [f32], Option<&mut [f32]>)| {
        pulp::Arch::new().dispatch(|| apply(kind, o, d));
    };
    if out.len() < 2 * BLOCK {
        run((&mut out, deriv.as_deref_mut()));
    } else {
        match deriv.as_deref_mut() {
            Some(d) => out
                .par_chunks_mut(BLOCK)
                .zip(d.par_chunks_mut(BLOCK))
                .for_each(|(o, d)| run((o, Some(d)))),
            None => out.par_chunks_mut(BLOCK).for_each(|o| run((o, None))),
        }
    }
    (out, deriv)
}

/// `o <- o * g` elementwise, threaded as [`activate`].
fn mul_in_place(o: &mut [f32], g: &[f32]) {
    let run = |(o, g): (&mut [f32], &[f32])| {
        pulp::Arch::new().dispatch(|| o.iter_mut().zip(g).for_each(|(v, g)| *v *= g));
    };
    if o.len() < 2 * BLOCK {
        run((o, g));
    } else {
        o.par_chunks_mut(BLOCK)
            .zip(g.par_chunks(BLOCK))
            .for_each(run);
    }
}

/// The values of a flex tensor in row-major order, and its shape.
fn values(t: &FloatTensor<Flex>) -> (Vec<f32>, Shape) {
    (contiguous(t).into_owned(), t.layout().shape().clone())
}

fn flex_tensor(data: Vec<f32>, shape: Shape) -> FloatTensor<Flex> {
    Flex::float_from_data(TensorData::new(data, shape), &Default::default())
}

fn forward_flex(kind: Kind, x: &FloatTensor<Flex>) -> FloatTensor<Flex> {
    let (v, shape) = values(x);
    let (y, _) = activate(kind, v, false);
    flex_tensor(y, shape)
}

impl ActivationKernel for Flex {
    fn tanh_fused(x: FloatTensor<Self>) -> FloatTensor<Self> {
        forward_flex(Kind::Tanh, &x)
    }

    fn sigmoid_fused(x: FloatTensor<Self>) -> FloatTensor<Self> {
        forward_flex(Kind::Sigmoid, &x)
    }
}

/// The derivative at each element, from the forward pass.
#[derive(Clone, Debug)]
struct Derivative {
    shape: Shape,
    deriv: Vec<f32>,
}

/// Backward step of an activation: the incoming gradient times the stored derivative.
#[derive(Debug)]
struct ActivationBackward;

impl Backward<Flex, 1> for ActivationBackward {
    type State = Derivative;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let upstream = grads.consume::<Flex>(&ops.node);
        let [node] = ops.parents;
        let Derivative { shape, mut deriv } = ops.state;
        if let Some(node) = node {
            let (g, _) = values(&upstream);
            mul_in_place(&mut deriv, &g);
            grads.register::<Flex>(node.id, flex_tensor(deriv, shape));
        }
    }
}

fn forward_autodiff<C: CheckpointStrategy>(
    kind: Kind,
    x: FloatTensor<Autodiff<Flex, C>>,
) -> FloatTensor<Autodiff<Flex, C>> {
    let prep = ActivationBackward
        .prepare::<C>([x.node()])
        .compute_bound()
        .stateful();
    let (v, shape) = values(x.primitive());
    match prep {
        OpsKind::Tracked(prep) => {
            let (y, d) = activate(kind, v, true);
            let state = Derivative {
                shape: shape.clone(),
                deriv: d.unwrap_or_default(),
            };
            prep.finish(state, flex_tensor(y, shape))
        }
        OpsKind::UnTracked(prep) => {
            let (y, _) = activate(kind, v, false);
            prep.finish(flex_tensor(y, shape))
        }
    }
}

impl<C: CheckpointStrategy> ActivationKernel for Autodiff<Flex, C> {
    fn tanh_fused(x: FloatTensor<Self>) -> FloatTensor<Self> {
        forward_autodiff::<C>(Kind::Tanh, x)
    }

    fn sigmoid_fused(x: FloatTensor<Self>) -> FloatTensor<Self> {
        forward_autodiff::<C>(Kind::Sigmoid, x)
    }
}

/// The fused `tanh`, or `None` when `x` is not an `f32` tensor on a `flex` device.
pub(crate) fn tanh_tensor<const D: usize>(x: &Tensor<D>) -> Option<Tensor<D>> {
    if !runs_fused(x.dtype(), &x.device()) {
        return None;
    }
    let out = <Dispatch as ActivationKernel>::tanh_fused(x.clone().into_dispatch());
    Some(Tensor::from_dispatch(out))
}

/// The fused `sigmoid`, or `None` when `x` is not an `f32` tensor on a `flex` device.
pub(crate) fn sigmoid_tensor<const D: usize>(x: &Tensor<D>) -> Option<Tensor<D>> {
    if !runs_fused(x.dtype(), &x.device()) {
        return None;
    }
    let out = <Dispatch as ActivationKernel>::sigmoid_fused(x.clone().into_dispatch());
    Some(Tensor::from_dispatch(out))
}
