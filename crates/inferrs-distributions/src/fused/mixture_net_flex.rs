//! The fused MDN network as a burn backend extension for `Flex` and `Autodiff<Flex, C>`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;

use super::flex::{flex_tensor, runs_fused, view};
use super::kernel::View;
use super::mixture_net::{self, Net, NetWanted, Saved};

/// The fused MDN network as a burn backend extension.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait MixtureNetKernel: Backend {
    /// `[h2 Wl + bl | softplus(h2 Ws + bs) + floor | h2 Ww + bw]` with `h2 = relu(relu(x W1 +
    /// b1) W2 + b2)`.
    ///
    /// # Shapes
    ///
    /// * `x`: `[rows, inputs]`; `w1`: `[inputs, hidden]`; `w2`: `[hidden, hidden]`; the heads'
    ///   weights `[hidden, K]`; the biases 1-d
    /// * returns: `[rows, 3K]`
    #[allow(clippy::too_many_arguments)]
    fn mixture_net(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        b1: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        b2: FloatTensor<Self>,
        wl: FloatTensor<Self>,
        bl: FloatTensor<Self>,
        ws: FloatTensor<Self>,
        bs: FloatTensor<Self>,
        ww: FloatTensor<Self>,
        bw: FloatTensor<Self>,
        floor: f32,
    ) -> FloatTensor<Self>;
}

/// The operands of [`mixture_net`]: the input and `(weight, bias)` of each layer (hidden 1,
/// hidden 2, locations, scales, logits).
pub(crate) struct NetTensors<'a> {
    pub x: &'a Tensor<2>,
    pub layers: [(&'a Tensor<2>, Option<&'a Tensor<1>>); 5],
}

/// The fused network, or `None` when a tensor is not an `f32` tensor on a `flex` device.
pub(crate) fn mixture_net(t: &NetTensors<'_>, floor: f32) -> Option<Tensor<2>> {
    let all_ok = runs_fused(t.x.dtype(), &t.x.device())
        && t.layers.iter().all(|(w, b)| {
            runs_fused(w.dtype(), &w.device())
                && b.is_none_or(|b| runs_fused(b.dtype(), &b.device()))
        });
    if !all_ok {
        return None;
    }
    let [l1, l2, ll, ls, lw] = t.layers.map(|(w, b)| {
        let b = match b {
            Some(b) => b.clone(),
            None => Tensor::zeros([w.dims()[1]], &w.device()),
        };
        (w.clone().into_dispatch(), b.into_dispatch())
    });
    let out = <Dispatch as MixtureNetKernel>::mixture_net(
        t.x.clone().into_dispatch(),
        l1.0,
        l1.1,
        l2.0,
        l2.1,
        ll.0,
        ll.1,
        ls.0,
        ls.1,
        lw.0,
        lw.1,
        floor,
    );
    Some(Tensor::from_dispatch(out))
}

/// A 1-d flex tensor as a one-row view.
fn row_view(t: &FloatTensor<Flex>) -> View<'_> {
    let layout = t.layout();
    View {
        data: t.storage::<f32>(),
        offset: layout.start_offset(),
        row_stride: 0,
        col_stride: layout.strides()[0],
    }
}

/// The operands as the kernel's `Net`: `t` is `[x, w1, b1, w2, b2, wl, bl, ws, bs, ww, bw]`.
fn net(t: &[FloatTensor<Flex>; 11], floor: f32) -> Net<'_> {
    let [rows, inputs] = t[0].layout().shape().dims::<2>();
    let [_, hidden] = t[1].layout().shape().dims::<2>();
    let [_, components] = t[5].layout().shape().dims::<2>();
    Net {
        x: view(&t[0]),
        rows,
        inputs,
        hidden,
        components,
        w1: view(&t[1]),
        b1: row_view(&t[2]),
        w2: view(&t[3]),
        b2: row_view(&t[4]),
        heads: [
            (view(&t[5]), row_view(&t[6])),
            (view(&t[7]), row_view(&t[8])),
            (view(&t[9]), row_view(&t[10])),
        ],
        floor,
    }
}

impl MixtureNetKernel for Flex {
    fn mixture_net(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        b1: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        b2: FloatTensor<Self>,
        wl: FloatTensor<Self>,
        bl: FloatTensor<Self>,
        ws: FloatTensor<Self>,
        bs: FloatTensor<Self>,
        ww: FloatTensor<Self>,
        bw: FloatTensor<Self>,
        floor: f32,
    ) -> FloatTensor<Self> {
        let t = [x, w1, b1, w2, b2, wl, bl, ws, bs, ww, bw];
        let n = net(&t, floor);
        let (out, _) = mixture_net::forward(&n, false);
        flex_tensor(out, [n.rows, 3 * n.components])
    }
}

/// What the backward pass needs: the operands, the forward pass's activations and which
/// gradients to compute.
#[derive(Clone, Debug)]
struct NetState {
    tensors: [FloatTensor<Flex>; 11],
    floor: f32,
    saved: Saved,
    wanted: NetWanted,
}

/// Backward step of the fused network: one pass over the rows for every gradient.
#[derive(Debug)]
struct MixtureNetBackward;

impl Backward<Flex, 11> for MixtureNetBackward {
    type State = NetState;

    fn backward(
        self,
        ops: Ops<Self::State, 11>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let upstream = grads.consume::<Flex>(&ops.node);
        let state = ops.state;
        let n = net(&state.tensors, state.floor);
        let g = mixture_net::backward(&n, &state.saved, &view(&upstream), state.wanted);
        for ((node, grad), t) in ops.parents.into_iter().zip(g).zip(&state.tensors) {
            if let (Some(node), Some(grad)) = (node, grad) {
                let shape = t.layout().shape().clone();
                grads.register::<Flex>(node.id, flex_tensor(grad, shape));
            }
        }
    }
}

impl<C: CheckpointStrategy> MixtureNetKernel for Autodiff<Flex, C> {
    fn mixture_net(
        x: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        b1: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        b2: FloatTensor<Self>,
        wl: FloatTensor<Self>,
        bl: FloatTensor<Self>,
        ws: FloatTensor<Self>,
        bs: FloatTensor<Self>,
        ww: FloatTensor<Self>,
        bw: FloatTensor<Self>,
        floor: f32,
    ) -> FloatTensor<Self> {
        let all = [x, w1, b1, w2, b2, wl, bl, ws, bs, ww, bw];
        let wanted: NetWanted = std::array::from_fn(|i| all[i].is_tracked());
        let prep = MixtureNetBackward
            .prepare::<C>(std::array::from_fn(|i| all[i].node()))
            .compute_bound()
            .stateful();
        let tensors: [FloatTensor<Flex>; 11] = std::array::from_fn(|i| all[i].primitive().clone());
        let n = net(&tensors, floor);
        let (rows, width) = (n.rows, 3 * n.components);
        match prep {
            OpsKind::Tracked(prep) => {
                let (out, saved) = mixture_net::forward(&n, true);
                let state = NetState {
                    saved: saved.unwrap_or_default(),
                    tensors,
                    floor,
                    wanted,
                };
                prep.finish(state, flex_tensor(out, [rows, width]))
            }
            OpsKind::UnTracked(prep) => {
                let (out, _) = mixture_net::forward(&n, false);
                prep.finish(flex_tensor(out, [rows, width]))
            }
        }
    }
}
