//! The fused MDN network as a burn backend extension for `Flex` and `Autodiff<Flex, C>`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, ExtensionType, Flex, backend_extension};
use burn::tensor::Tensor;

use super::flex::{flex_tensor, row_view, runs_fused, view};
use super::kernel::View;
use super::mixture_net::{self, Net, NetWanted, Saved, Target, Upstream};

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
    fn mixture_net(#[extension_type] net: NetOperands<Self>, floor: f32) -> FloatTensor<Self>;

    /// `log p(y | x)` per row for the mixture of Gaussians whose locations, scales and
    /// logits are [`Self::mixture_net`]`(x)`: the network and the likelihood in one pass.
    ///
    /// # Shapes
    ///
    /// * `y`: `[rows, 1]`; the rest as [`Self::mixture_net`]
    /// * returns: `[rows]`
    fn mixture_net_log_prob(
        y: FloatTensor<Self>,
        #[extension_type] net: NetOperands<Self>,
        floor: f32,
    ) -> FloatTensor<Self>;
}

/// The network's operands as one extension value (burn's `ExtensionType` maps it across the
/// dispatch boundary): the input, then `(weight, bias)` of hidden 1, hidden 2 and the heads
/// for the locations, scales and logits (a bias of zeros where a layer has none).
#[derive(ExtensionType, Debug)]
pub(crate) struct NetOperands<B: Backend> {
    x: FloatTensor<B>,
    w1: FloatTensor<B>,
    b1: FloatTensor<B>,
    w2: FloatTensor<B>,
    b2: FloatTensor<B>,
    wl: FloatTensor<B>,
    bl: FloatTensor<B>,
    ws: FloatTensor<B>,
    bs: FloatTensor<B>,
    ww: FloatTensor<B>,
    bw: FloatTensor<B>,
}

impl<B: Backend> NetOperands<B> {
    /// The operands in order, `[x, w1, b1, w2, b2, wl, bl, ws, bs, ww, bw]`.
    fn into_array(self) -> [FloatTensor<B>; 11] {
        let Self {
            x,
            w1,
            b1,
            w2,
            b2,
            wl,
            bl,
            ws,
            bs,
            ww,
            bw,
        } = self;
        [x, w1, b1, w2, b2, wl, bl, ws, bs, ww, bw]
    }
}

/// The operands of [`mixture_net()`]: the input and `(weight, bias)` of each layer (hidden 1,
/// hidden 2, locations, scales, logits).
pub(crate) struct NetTensors<'a> {
    pub x: &'a Tensor<2>,
    pub layers: [(&'a Tensor<2>, Option<&'a Tensor<1>>); 5],
}

impl NetTensors<'_> {
    /// Whether every tensor is an `f32` tensor on a `flex` device.
    fn runs_fused(&self) -> bool {
        runs_fused(self.x.dtype(), &self.x.device())
            && self.layers.iter().all(|(w, b)| {
                runs_fused(w.dtype(), &w.device())
                    && b.is_none_or(|b| runs_fused(b.dtype(), &b.device()))
            })
    }

    /// The input, then each layer's weight and bias (zeros where it has none).
    fn dispatch(&self) -> NetOperands<Dispatch> {
        let mut all = Vec::with_capacity(11);
        all.push(self.x.clone().into_dispatch());
        for (w, b) in self.layers {
            let b = match b {
                Some(b) => b.clone(),
                None => Tensor::zeros([w.dims()[1]], &w.device()),
            };
            all.push(w.clone().into_dispatch());
            all.push(b.into_dispatch());
        }
        let [x, w1, b1, w2, b2, wl, bl, ws, bs, ww, bw]: [FloatTensor<Dispatch>; 11] =
            all.try_into().expect("one input and five layers");
        NetOperands {
            x,
            w1,
            b1,
            w2,
            b2,
            wl,
            bl,
            ws,
            bs,
            ww,
            bw,
        }
    }
}

/// The fused network, or `None` when a tensor is not an `f32` tensor on a `flex` device.
pub(crate) fn mixture_net(t: &NetTensors<'_>, floor: f32) -> Option<Tensor<2>> {
    if !t.runs_fused() {
        return None;
    }
    let out = <Dispatch as MixtureNetKernel>::mixture_net(t.dispatch(), floor);
    Some(Tensor::from_dispatch(out))
}

/// The fused network and mixture likelihood `log p(y | x)` (`[rows]`), or `None` when a
/// tensor is not an `f32` tensor on a `flex` device. `y` is `[rows or 1, 1]`.
pub(crate) fn mixture_net_log_prob(
    y: &Tensor<2>,
    t: &NetTensors<'_>,
    floor: f32,
) -> Option<Tensor<1>> {
    if !(t.runs_fused() && runs_fused(y.dtype(), &y.device())) {
        return None;
    }
    let rows = t.x.dims()[0];
    let y = if y.dims() == [rows, 1] {
        y.clone()
    } else {
        y.clone().expand([rows, 1])
    };
    let out = <Dispatch as MixtureNetKernel>::mixture_net_log_prob(
        y.into_dispatch(),
        t.dispatch(),
        floor,
    );
    Some(Tensor::from_dispatch(out))
}

/// The operands as the kernel's `Net`: `t` is `[x, w1, b1, w2, b2, wl, bl, ws, bs, ww, bw]`.
fn net(t: &[FloatTensor<Flex>], floor: f32) -> Net<'_> {
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
    fn mixture_net(net_ops: NetOperands<Self>, floor: f32) -> FloatTensor<Self> {
        let t = net_ops.into_array();
        let n = net(&t, floor);
        let (out, _) = mixture_net::forward(&n, false);
        flex_tensor(out, [n.rows, 3 * n.components])
    }

    fn mixture_net_log_prob(
        y: FloatTensor<Self>,
        net_ops: NetOperands<Self>,
        floor: f32,
    ) -> FloatTensor<Self> {
        let [x, w1, b1, w2, b2, wl, bl, ws, bs, ww, bw] = net_ops.into_array();
        let t = [y, x, w1, b1, w2, b2, wl, bl, ws, bs, ww, bw];
        let n = net(&t[1..], floor);
        let target = Target {
            y: view(&t[0]),
            grad: false,
        };
        let (out, _) = mixture_net::log_prob(&n, target, false);
        flex_tensor(out, [n.rows])
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
        let g = mixture_net::backward(
            &n,
            state.saved,
            Upstream::Heads(view(&upstream)),
            state.wanted,
        );
        for ((node, grad), t) in ops.parents.into_iter().zip(g).zip(&state.tensors) {
            if let (Some(node), Some(grad)) = (node, grad) {
                let shape = t.layout().shape().clone();
                grads.register::<Flex>(node.id, flex_tensor(grad, shape));
            }
        }
    }
}

impl<C: CheckpointStrategy> MixtureNetKernel for Autodiff<Flex, C> {
    fn mixture_net(net_ops: NetOperands<Self>, floor: f32) -> FloatTensor<Self> {
        let all = net_ops.into_array();
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

    fn mixture_net_log_prob(
        y: FloatTensor<Self>,
        net_ops: NetOperands<Self>,
        floor: f32,
    ) -> FloatTensor<Self> {
        let [x, w1, b1, w2, b2, wl, bl, ws, bs, ww, bw] = net_ops.into_array();
        let all = [y, x, w1, b1, w2, b2, wl, bl, ws, bs, ww, bw];
        let wanted: [bool; 12] = std::array::from_fn(|i| all[i].is_tracked());
        let prep = LogProbBackward
            .prepare::<C>(std::array::from_fn(|i| all[i].node()))
            .compute_bound()
            .stateful();
        let tensors: [FloatTensor<Flex>; 12] = std::array::from_fn(|i| all[i].primitive().clone());
        let n = net(&tensors[1..], floor);
        let target = Target {
            y: view(&tensors[0]),
            grad: wanted[0],
        };
        let rows = n.rows;
        match prep {
            OpsKind::Tracked(prep) => {
                let (out, saved) = mixture_net::log_prob(&n, target, true);
                let state = LogProbState {
                    saved: saved.unwrap_or_default(),
                    tensors,
                    floor,
                    wanted,
                };
                prep.finish(state, flex_tensor(out, [rows]))
            }
            OpsKind::UnTracked(prep) => {
                let (out, _) = mixture_net::log_prob(&n, target, false);
                prep.finish(flex_tensor(out, [rows]))
            }
        }
    }
}

/// What the backward pass of the fused log density needs: the operands (`y`, then the
/// network's), the forward pass's activations and gradients, and which gradients to compute.
#[derive(Clone, Debug)]
struct LogProbState {
    tensors: [FloatTensor<Flex>; 12],
    floor: f32,
    saved: Saved,
    wanted: [bool; 12],
}

/// Backward step of the fused log density: the stored gradients times each row's incoming
/// gradient, through the network in one pass over the rows.
#[derive(Debug)]
struct LogProbBackward;

impl Backward<Flex, 12> for LogProbBackward {
    type State = LogProbState;

    fn backward(
        self,
        ops: Ops<Self::State, 12>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let upstream = grads.consume::<Flex>(&ops.node);
        let LogProbState {
            tensors,
            floor,
            mut saved,
            wanted,
        } = ops.state;
        let [node_y, parents @ ..] = ops.parents;
        let layout = upstream.layout();
        let g = View {
            data: upstream.storage::<f32>(),
            offset: layout.start_offset(),
            row_stride: layout.strides()[0],
            col_stride: 0,
        };
        if let Some(node) = node_y {
            let mut dy = Vec::with_capacity(tensors[0].layout().shape().num_elements());
            for block in &mut saved {
                let first = dy.len();
                let d = block.d_value.take().unwrap_or_default();
                dy.extend(d.iter().enumerate().map(|(r, &v)| v * g.get(first + r, 0)));
            }
            let shape = tensors[0].layout().shape().clone();
            grads.register::<Flex>(node.id, flex_tensor(dy, shape));
        }
        let n = net(&tensors[1..], floor);
        let net_wanted: NetWanted = std::array::from_fn(|i| wanted[i + 1]);
        let g = mixture_net::backward(&n, saved, Upstream::Rows(g), net_wanted);
        for ((node, grad), t) in parents.into_iter().zip(g).zip(&tensors[1..]) {
            if let (Some(node), Some(grad)) = (node, grad) {
                let shape = t.layout().shape().clone();
                grads.register::<Flex>(node.id, flex_tensor(grad, shape));
            }
        }
    }
}
