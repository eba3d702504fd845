//! The fused multilayer perceptron (`mlp.rs`) as a burn backend extension for `Flex` and
//! `Autodiff<Flex, C>`: one op and one autodiff node for the whole network.
//!
//! The extension has a fixed arity: the input, then [`MAX_LAYERS`] weights and as many
//! biases. A network with fewer layers passes empty placeholders (`[0, 0]` weights, `[0]`
//! biases, never tracked) for the layers it lacks, and a layer without a bias an empty bias;
//! the kernel reads the number of layers from `depth` and a bias only where it has the
//! layer's width, so no gradient is made for a placeholder.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, ExtensionType, Flex, backend_extension};
use burn::tensor::Tensor;

use super::flex::{flex_tensor, row_view, runs_fused, view};
use super::mlp::{self, Act, BlockSaved, MAX_LAYERS, MlpWanted, Net};
use crate::Activation;

/// The operands of the extension: `x`, the weights, the biases.
const OPERANDS: usize = 1 + 2 * MAX_LAYERS;

/// The fused network as a burn backend extension.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait MlpKernel: Backend {
    /// `h_{L-1} W_L + b_L` with `h_0 = x` and `h_l = f(h_{l-1} W_l + b_l)`, `L = depth`
    /// (1 to [`MAX_LAYERS`]), `f` the activation coded by `activation` (0 tanh, 1 sigmoid,
    /// 2 relu, 3 identity).
    ///
    /// # Shapes
    ///
    /// * `x`: `[rows, widths[0]]`; `w_l`: `[widths[l], widths[l + 1]]` for `l < depth`, `[0,
    ///   0]` past it; `b_l`: `[widths[l + 1]]`, or `[0]` where the layer has no bias
    /// * returns: `[rows, widths[depth]]`
    fn mlp_fused(
        #[extension_type] net: MlpOperands<Self>,
        depth: usize,
        activation: u8,
    ) -> FloatTensor<Self>;
}

/// The network's operands as one extension value (burn's `ExtensionType` maps it across the
/// dispatch boundary): the input, the weights of layers 0 to 3, then their biases (`[0, 0]`
/// and `[0]` placeholders past the network's depth or where a layer has no bias).
#[derive(ExtensionType, Debug)]
pub(crate) struct MlpOperands<B: Backend> {
    x: FloatTensor<B>,
    w0: FloatTensor<B>,
    w1: FloatTensor<B>,
    w2: FloatTensor<B>,
    w3: FloatTensor<B>,
    b0: FloatTensor<B>,
    b1: FloatTensor<B>,
    b2: FloatTensor<B>,
    b3: FloatTensor<B>,
}

impl<B: Backend> MlpOperands<B> {
    /// The operands in order, `[x, w0, w1, w2, w3, b0, b1, b2, b3]`.
    fn into_array(self) -> [FloatTensor<B>; OPERANDS] {
        let Self {
            x,
            w0,
            w1,
            w2,
            w3,
            b0,
            b1,
            b2,
            b3,
        } = self;
        [x, w0, w1, w2, w3, b0, b1, b2, b3]
    }
}

/// The activation's code in [`MlpKernel::mlp_fused`].
fn code(a: Activation) -> u8 {
    match a {
        Activation::Tanh => 0,
        Activation::Sigmoid => 1,
        Activation::Relu => 2,
        Activation::Identity => 3,
    }
}

fn act(code: u8) -> Act {
    match code {
        0 => Act::Tanh,
        1 => Act::Sigmoid,
        2 => Act::Relu,
        _ => Act::Identity,
    }
}

/// The fused network on `x` with `layers` (`(weight [in, out], bias [out])`, input first)
/// and `activation` after every layer but the last; or `None` where it does not run: not
/// every tensor `f32` on flex, no layers or more than [`MAX_LAYERS`], no rows, a zero width,
/// or shapes that do not chain (burn's ops then run, or report the shapes).
pub(crate) fn mlp(
    x: &Tensor<2>,
    layers: &[(Tensor<2>, Option<Tensor<1>>)],
    activation: Activation,
) -> Option<Tensor<2>> {
    let depth = layers.len();
    if depth == 0 || depth > MAX_LAYERS || !runs_fused(x.dtype(), &x.device()) {
        return None;
    }
    let [rows, mut width] = x.dims();
    if rows == 0 || width == 0 {
        return None;
    }
    for (w, b) in layers {
        let [i, o] = w.dims();
        let bias_ok = b
            .as_ref()
            .is_none_or(|b| b.dims() == [o] && runs_fused(b.dtype(), &b.device()));
        if i != width || o == 0 || !bias_ok || !runs_fused(w.dtype(), &w.device()) {
            return None;
        }
        width = o;
    }
    let device = x.device();
    let mut weights: Vec<FloatTensor<Dispatch>> = Vec::with_capacity(MAX_LAYERS);
    let mut biases: Vec<FloatTensor<Dispatch>> = Vec::with_capacity(MAX_LAYERS);
    for l in 0..MAX_LAYERS {
        let (w, b) = match layers.get(l) {
            Some((w, b)) => (
                w.clone(),
                b.clone().unwrap_or_else(|| Tensor::zeros([0], &device)),
            ),
            None => (Tensor::zeros([0, 0], &device), Tensor::zeros([0], &device)),
        };
        weights.push(w.into_dispatch());
        biases.push(b.into_dispatch());
    }
    let [w0, w1, w2, w3]: [FloatTensor<Dispatch>; MAX_LAYERS] = weights.try_into().ok()?;
    let [b0, b1, b2, b3]: [FloatTensor<Dispatch>; MAX_LAYERS] = biases.try_into().ok()?;
    let operands = MlpOperands {
        x: x.clone().into_dispatch(),
        w0,
        w1,
        w2,
        w3,
        b0,
        b1,
        b2,
        b3,
    };
    let out = <Dispatch as MlpKernel>::mlp_fused(operands, depth, code(activation));
    Some(Tensor::from_dispatch(out))
}

/// The operands (`[x, w0..w3, b0..b3]`) as the kernel's `Net`.
fn net(t: &[FloatTensor<Flex>; OPERANDS], depth: usize, activation: u8) -> Net<'_> {
    let [rows, inputs] = t[0].layout().shape().dims::<2>();
    let mut widths = vec![inputs];
    let mut weights = Vec::with_capacity(depth);
    let mut biases = Vec::with_capacity(depth);
    for l in 0..depth {
        let (w, b) = (&t[1 + l], &t[1 + MAX_LAYERS + l]);
        let [_, o] = w.layout().shape().dims::<2>();
        widths.push(o);
        weights.push(view(w));
        let has_bias = o > 0 && b.layout().shape().num_elements() == o;
        biases.push(has_bias.then(|| row_view(b)));
    }
    Net {
        x: view(&t[0]),
        rows,
        widths,
        weights,
        biases,
        act: act(activation),
    }
}

impl MlpKernel for Flex {
    fn mlp_fused(net_ops: MlpOperands<Self>, depth: usize, activation: u8) -> FloatTensor<Self> {
        let t = net_ops.into_array();
        let n = net(&t, depth, activation);
        let (out, _) = mlp::forward(&n, false);
        flex_tensor(out, [n.rows, n.widths[depth]])
    }
}

/// What the backward pass needs: the operands, the forward pass's hidden activations and
/// which gradients to compute.
#[derive(Clone, Debug)]
struct MlpState {
    tensors: [FloatTensor<Flex>; OPERANDS],
    depth: usize,
    activation: u8,
    saved: Vec<BlockSaved>,
    tracked: [bool; OPERANDS],
}

/// Backward step of the fused network: one pass over the blocks of rows for every gradient.
#[derive(Debug)]
struct MlpBackward;

impl Backward<Flex, OPERANDS> for MlpBackward {
    type State = MlpState;

    fn backward(
        self,
        ops: Ops<Self::State, OPERANDS>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let upstream = grads.consume::<Flex>(&ops.node);
        let MlpState {
            tensors,
            depth,
            activation,
            saved,
            tracked,
        } = ops.state;
        let n = net(&tensors, depth, activation);
        let wanted = MlpWanted {
            x: tracked[0],
            weights: (0..depth).map(|l| tracked[1 + l]).collect(),
            biases: (0..depth)
                .map(|l| tracked[1 + MAX_LAYERS + l] && n.biases[l].is_some())
                .collect(),
        };
        let g = mlp::backward(&n, saved, view(&upstream), &wanted);
        let mut all: [Option<Vec<f32>>; OPERANDS] = Default::default();
        all[0] = g.x;
        for (l, (w, b)) in g.weights.into_iter().zip(g.biases).enumerate() {
            all[1 + l] = w;
            all[1 + MAX_LAYERS + l] = b;
        }
        for ((node, grad), t) in ops.parents.into_iter().zip(all).zip(&tensors) {
            if let (Some(node), Some(grad)) = (node, grad) {
                let shape = t.layout().shape().clone();
                grads.register::<Flex>(node.id, flex_tensor(grad, shape));
            }
        }
    }
}

impl<C: CheckpointStrategy> MlpKernel for Autodiff<Flex, C> {
    fn mlp_fused(net_ops: MlpOperands<Self>, depth: usize, activation: u8) -> FloatTensor<Self> {
        let all = net_ops.into_array();
        let tracked: [bool; OPERANDS] = std::array::from_fn(|i| all[i].is_tracked());
        let prep = MlpBackward
            .prepare::<C>(std::array::from_fn(|i| all[i].node()))
            .compute_bound()
            .stateful();
        let tensors: [FloatTensor<Flex>; OPERANDS] =
            std::array::from_fn(|i| all[i].primitive().clone());
        let n = net(&tensors, depth, activation);
        let shape = [n.rows, n.widths[depth]];
        match prep {
            OpsKind::Tracked(prep) => {
                let (out, saved) = mlp::forward(&n, true);
                let state = MlpState {
                    saved: saved.unwrap_or_default(),
                    tensors,
                    depth,
                    activation,
                    tracked,
                };
                prep.finish(state, flex_tensor(out, shape))
            }
            OpsKind::UnTracked(prep) => {
                let (out, _) = mlp::forward(&n, false);
                prep.finish(flex_tensor(out, shape))
            }
        }
    }
}
