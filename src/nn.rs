//! Networks for common models.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{relu, softplus};
use burn::tensor::{Device, Tensor};

/// The smallest scale a [`MixtureNet`] component can have: keeps the Normal log-density and its
/// gradient finite when the optimiser drives an unused component's scale towards zero.
pub const MIN_SCALE: f64 = 1e-3;

/// The network of a Mixture Density Network (Bishop 1994) for a scalar input and output:
/// `1 -> hidden -> hidden` with ReLU, then three heads of `components` each: the locations,
/// the scales (softplus plus [`MIN_SCALE`]) and the mixture logits.
///
/// # Shapes
/// `forward(x: [rows, 1]) -> (locs, scales, logits)`, each `[rows, components]`.
#[derive(Module, Debug)]
pub struct MixtureNet {
    hidden1: Linear,
    hidden2: Linear,
    locs: Linear,
    scales: Linear,
    logits: Linear,
}

impl MixtureNet {
    /// A network with `hidden` units in each hidden layer and `components` mixture components,
    /// initialised with burn's default (Kaiming-uniform) initialiser on `device`.
    pub fn new(device: &Device, hidden: usize, components: usize) -> Self {
        Self {
            hidden1: LinearConfig::new(1, hidden).init(device),
            hidden2: LinearConfig::new(hidden, hidden).init(device),
            locs: LinearConfig::new(hidden, components).init(device),
            scales: LinearConfig::new(hidden, components).init(device),
            logits: LinearConfig::new(hidden, components).init(device),
        }
    }

    /// The mixture parameters for inputs `x`.
    ///
    /// # Shapes
    /// `x: [rows, 1]`; returns `(locs, scales, logits)`, each `[rows, components]`.
    pub fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        let h = relu(self.hidden1.forward(x));
        let h = relu(self.hidden2.forward(h));
        let scales = softplus(self.scales.forward(h.clone()), 1.0) + MIN_SCALE;
        (self.locs.forward(h.clone()), scales, self.logits.forward(h))
    }
}
