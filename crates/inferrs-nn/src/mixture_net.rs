//! [`MixtureNet`], the network of a Mixture Density Network, and its output left unevaluated
//! (a [`MixtureSource`]) so that the mixture's log density runs network and likelihood as one
//! fused op.

use burn::module::Module;
use burn::module::Param;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use std::sync::Arc;

use inferrs_distributions::{
    DistError, MixtureParams, MixtureSource, ParamInit, softplus_with_floor,
};

/// The default smallest scale of a [`MixtureNet`] component: keeps the Normal log-density and its
/// gradient finite when the optimiser drives an unused component's scale towards zero.
/// [`MixtureNet::with_min_scale`] sets another.
pub const MIN_SCALE: f64 = 1e-3;

/// The network of a Mixture Density Network (Bishop 1994) for a scalar input and output:
/// `1 -> hidden -> hidden` with ReLU, then three heads of `components` each: the locations,
/// the scales (softplus plus a floor, [`MIN_SCALE`] unless [`MixtureNet::with_min_scale`] sets
/// another) and the mixture logits.
///
/// On burn's `flex` backend ([`fused_kernels_available`](inferrs_distributions::fused_kernels_available))
/// the whole network runs as one fused op, forward and backward (`docs/performance.md`), and
/// returns the three heads packed in one `[rows, 3 components]` tensor
/// ([`MixtureParams::packed`]), which the fused mixture likelihood reads in place. Elsewhere it
/// runs on burn's ops (with [`softplus_with_floor`]) and returns three tensors. The weights
/// are burn `Linear` layers either way, so records and optimisers see the same module.
///
/// # Shapes
/// `forward(x: [rows, 1])` gives parameters of `[rows, components]` each.
#[derive(Module, Debug)]
pub struct MixtureNet {
    hidden1: Linear,
    hidden2: Linear,
    pub(crate) locs: Linear,
    scales: Linear,
    logits: Linear,
    min_scale: f64,
}

impl MixtureNet {
    /// A network with `hidden` units in each hidden layer and `components` mixture components on
    /// `device`, initialised as Keras initialises dense layers (Glorot-uniform weights, zero
    /// biases), as in InferPy's tutorial. Measured on the MDN tutorial this gives lower and far
    /// more consistent held-out NLL than burn's default Kaiming-uniform weights and biases,
    /// which left some seeds stuck with a branch missed (`docs/design.md`).
    ///
    /// A fit that finds the network's weights not yet initialised (a fresh network) also
    /// moves the location head's biases to quantiles of the observed `y` before its first
    /// step ([`MixtureNet::data_init`]), so that the components start apart: with all of
    /// them at 0, about one seed in twenty lost most components in the first epochs and
    /// missed a branch of `p(y | x)`.
    pub fn new(device: &Device, hidden: usize, components: usize) -> Self {
        Self {
            hidden1: glorot_linear(device, 1, hidden),
            hidden2: glorot_linear(device, hidden, hidden),
            locs: glorot_linear(device, hidden, components),
            scales: glorot_linear(device, hidden, components),
            logits: glorot_linear(device, hidden, components),
            min_scale: MIN_SCALE,
        }
    }

    /// The same network with component scales of at least `min_scale` (in the units of `y`).
    ///
    /// A floor below the narrowest width the conditional density really has loses nothing and
    /// stops components from collapsing onto single training points, which is how an MDN
    /// overfits.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] carrying the value when it is not positive and finite.
    pub fn with_min_scale(mut self, min_scale: f64) -> Result<Self, DistError> {
        if !(min_scale.is_finite() && min_scale > 0.0) {
            return Err(DistError::InvalidParameter {
                dist: "MixtureNet",
                param: "min_scale",
                value: min_scale,
                reason: "must be positive and finite",
            });
        }
        self.min_scale = min_scale;
        Ok(self)
    }

    /// The floor of the component scales.
    pub fn min_scale(&self) -> f64 {
        self.min_scale
    }

    /// The mixture parameters for inputs `x`: the argument of
    /// [`MixtureGaussian::from_params`](inferrs_distributions::MixtureGaussian::from_params) (and of
    /// `MixtureGaussian(nn(x))` in a model); [`MixtureParams::into_parts`] gives the three
    /// tensors.
    ///
    /// On burn's `flex` backend ([`fused_kernels_available`](inferrs_distributions::fused_kernels_available))
    /// the network is not evaluated here: the parameters keep `x` and the weights, and the
    /// mixture's `log_prob` then runs the network and the likelihood as one fused op, forward
    /// and backward (the heads are never written out). Anything else that needs the
    /// parameters (`into_parts`, sampling, the mean) evaluates the network then, as one fused
    /// op giving the heads packed in one tensor. Elsewhere this is
    /// [`MixtureNet::forward_composed`].
    ///
    /// # Shapes
    /// `x: [rows, 1]`; returns locations, scales and logits of `[rows, components]` each.
    pub fn forward(&self, x: Tensor<2>) -> MixtureParams {
        inferrs_kernels::note_network_kernel();
        if self.components() > 0 && inferrs_distributions::fused_kernels_available(&x.device()) {
            return MixtureParams::from_source(Arc::new(DeferredNet {
                x,
                net: self.clone(),
            }));
        }
        let origin = Arc::new(DeferredNet {
            x: x.clone(),
            net: self.clone(),
        });
        self.forward_composed(x).with_origin(origin)
    }

    /// The number of mixture components.
    pub(crate) fn components(&self) -> usize {
        self.logits.weight.dims()[1]
    }

    /// [`MixtureNet::forward`] evaluated with burn's ops on any backend (three tensors): the
    /// fallback where the fused network does not run, and the reference it is tested against.
    ///
    /// # Shapes
    /// `x: [rows, 1]`; returns locations, scales and logits of `[rows, components]` each.
    pub fn forward_composed(&self, x: Tensor<2>) -> MixtureParams {
        let h = relu(self.hidden1.forward(x));
        let h = relu(self.hidden2.forward(h));
        let scales = softplus_with_floor(self.scales.forward(h.clone()), self.min_scale);
        MixtureParams::new(self.locs.forward(h.clone()), scales, self.logits.forward(h))
    }

    /// The layers, in order: hidden 1, hidden 2, then the heads for the locations, the scales
    /// (before the softplus) and the logits.
    pub fn layers(&self) -> [&Linear; 5] {
        [
            &self.hidden1,
            &self.hidden2,
            &self.locs,
            &self.scales,
            &self.logits,
        ]
    }
}

/// A dense layer with Glorot-uniform weights and zero biases (the Keras default).
fn glorot_linear(device: &Device, inputs: usize, outputs: usize) -> Linear {
    let mut linear = LinearConfig::new(inputs, outputs)
        .with_initializer(Initializer::XavierUniform { gain: 1.0 })
        .init(device);
    linear.bias = Some(Param::from_tensor(Tensor::zeros([outputs], device)));
    linear
}

/// A [`MixtureNet`] applied to inputs but not yet evaluated: the inputs and the network (its
/// parameters are burn `Param`s, so gradients reach the module).
#[derive(Clone, Debug)]
struct DeferredNet {
    x: Tensor<2>,
    net: MixtureNet,
}

impl DeferredNet {
    /// `(weight [in, out], bias)` of each layer, in [`MixtureNet::layers`]' order.
    fn layer_tensors(&self) -> [(Tensor<2>, Option<Tensor<1>>); 5] {
        self.net
            .layers()
            .map(|l| (l.weight.val(), l.bias.as_ref().map(|b| b.val())))
    }
}

impl MixtureSource for DeferredNet {
    fn rows(&self) -> usize {
        self.x.dims()[0]
    }

    fn components(&self) -> usize {
        self.net.components()
    }

    /// The network and the likelihood in one fused op, or `None` where that does not run.
    fn fused_log_prob(&self, y: &Tensor<2>) -> Option<Tensor<1>> {
        let layers = self.layer_tensors();
        let refs = layers.each_ref().map(|(w, b)| (w, b.as_ref()));
        inferrs_kernels::mixture_net_log_prob(y, &self.x, refs, self.net.min_scale)
    }

    /// [`MixtureNet::data_init`] for observed outputs `y`.
    fn data_init(&self, y: &Tensor<2>) -> Vec<ParamInit> {
        self.net.data_init(y)
    }

    /// [`MixtureNet::forward`] evaluated now, packed by the fused network where it runs, else
    /// [`MixtureNet::forward_composed`].
    fn parts(&self) -> MixtureParams {
        let layers = self.layer_tensors();
        let refs = layers.each_ref().map(|(w, b)| (w, b.as_ref()));
        if let Some(packed) = inferrs_kernels::mixture_net(&self.x, refs, self.net.min_scale)
            && let Ok(params) = MixtureParams::packed(packed)
        {
            return params;
        }
        self.net.forward_composed(self.x.clone())
    }
}
