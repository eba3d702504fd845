//! [`Mlp`]: a multilayer perceptron of any depth and widths, built from [`MlpConfig`].

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use crate::Activation;

/// The shape of an [`Mlp`]: `input -> hidden[0] -> ... -> hidden[n-1] -> output`, with
/// `activation` after every hidden layer and none after the output layer.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use inferrs_nn::{Activation, MlpConfig};
/// let device = Device::default();
/// let net = MlpConfig::new(1, [24, 24], 30).activation(Activation::Tanh).init(&device);
/// let y = net.forward(Tensor::<2>::zeros([5, 1], &device));
/// assert_eq!(y.dims(), [5, 30]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MlpConfig {
    input: usize,
    hidden: Vec<usize>,
    output: usize,
    activation: Activation,
    bias: bool,
}

impl MlpConfig {
    /// `input -> hidden... -> output`, tanh between layers, with biases.
    pub fn new(input: usize, hidden: impl IntoIterator<Item = usize>, output: usize) -> Self {
        Self {
            input,
            hidden: hidden.into_iter().collect(),
            output,
            activation: Activation::Tanh,
            bias: true,
        }
    }

    /// The activation after each hidden layer (default [`Activation::Tanh`]).
    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Whether the layers have biases (default true).
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// The network on `device`, its layers initialised as burn's `Linear` layers are
    /// (Kaiming uniform), from burn's random stream on `device`.
    pub fn init(&self, device: &Device) -> Mlp {
        let widths: Vec<usize> = std::iter::once(self.input)
            .chain(self.hidden.iter().copied())
            .chain(std::iter::once(self.output))
            .collect();
        let layers = widths
            .windows(2)
            .map(|w| {
                LinearConfig::new(w[0], w[1])
                    .with_bias(self.bias)
                    .init(device)
            })
            .collect();
        Mlp {
            layers,
            activation: self.activation,
        }
    }
}

/// A multilayer perceptron: burn `Linear` layers with an [`Activation`] between them (none
/// after the last). On burn's `flex` backend the whole network runs as one fused op, forward
/// and backward ([`Mlp::forward`]), so a network built from it trains faster than the same
/// layers with burn's ops ([`Mlp::forward_composed`]). Use it in a model like any burn module:
/// `nn = MlpConfig::new(1, [24, 24], 30).init(&device);`.
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    #[module(skip)]
    activation: Activation,
}

impl Mlp {
    /// The network's output.
    ///
    /// On burn's `flex` backend ([`fused_kernels_available`](inferrs_distributions::fused_kernels_available))
    /// the whole network (up to four layers) runs as one fused op and one autodiff node: each
    /// block of rows goes through every layer while it is in cache, and the backward pass
    /// computes the gradients of every weight, bias and `x` in one pass. Elsewhere (and for
    /// deeper networks) this is [`Mlp::forward_composed`].
    ///
    /// # Shapes
    /// `x`: `[rows, input]`; returns `[rows, output]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        inferrs_kernels::note_network_kernel();
        if inferrs_distributions::fused_kernels_available(&x.device()) {
            let layers: Vec<(Tensor<2>, Option<Tensor<1>>)> = self
                .layers
                .iter()
                .map(|l| (l.weight.val(), l.bias.as_ref().map(|b| b.val())))
                .collect();
            if let Some(y) = inferrs_kernels::mlp(&x, &layers, self.activation) {
                return y;
            }
        }
        self.forward_composed(x)
    }

    /// The network's output computed layer by layer with burn's ops (a matrix product, a bias
    /// add and the activation per layer): the fallback where the fused network does not run,
    /// and the reference it is tested against.
    ///
    /// # Shapes
    /// `x`: `[rows, input]`; returns `[rows, output]`.
    pub fn forward_composed(&self, x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len().saturating_sub(1);
        let mut h = x;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(h);
            if i < last {
                h = self.activation.apply(h);
            }
        }
        h
    }

    /// The layers, input first.
    pub fn layers(&self) -> &[Linear] {
        &self.layers
    }

    /// The activation between the layers.
    pub fn activation(&self) -> Activation {
        self.activation
    }
}
