//! Activations for networks in models: [`tanh`] and [`sigmoid`] run as one fused,
//! vectorised op on burn's `flex` backend (forward and backward), burn's own elsewhere; and
//! [`Activation`], the choice a network (`inferrs::nn::Mlp`) applies between its layers.

use burn::tensor::Tensor;
use burn::tensor::activation;
use serde::{Deserialize, Serialize};

/// `tanh(x)` elementwise: burn's `activation::tanh`, but on `flex` one vectorised pass that
/// also keeps the derivative `1 - y^2` for the backward pass (one autodiff node, where
/// burn's computes `tanh` again backward, one element at a time). Within 2 ulp of the exact
/// value.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// let x = Tensor::<2>::from_floats([[0.0, 1.0], [-2.0, 3.0]], &Device::default());
/// let y = inferrs_kernels::tanh(x);
/// assert!((y.into_data().to_vec::<f32>().unwrap()[1] - 1f32.tanh()).abs() < 1e-6);
/// ```
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    match crate::fused_tanh(&x) {
        Some(y) => y,
        None => activation::tanh(x),
    }
}

/// `sigmoid(x) = 1 / (1 + e^-x)` elementwise: burn's `activation::sigmoid`, but on `flex`
/// one vectorised pass that keeps the derivative `y (1 - y)` for the backward pass.
pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    match crate::fused_sigmoid(&x) {
        Some(y) => y,
        None => activation::sigmoid(x),
    }
}

/// The activation a network (`inferrs::nn::Mlp`) applies after each hidden layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// [`tanh`] (fused on flex).
    #[default]
    Tanh,
    /// [`sigmoid`] (fused on flex).
    Sigmoid,
    /// `max(x, 0)` (burn's `relu`: one pass already).
    Relu,
    /// None (a linear network).
    Identity,
}

impl Activation {
    /// Applies the activation elementwise.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::Tanh => tanh(x),
            Self::Sigmoid => sigmoid(x),
            Self::Relu => activation::relu(x),
            Self::Identity => x,
        }
    }
}
