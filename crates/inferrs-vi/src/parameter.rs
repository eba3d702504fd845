//! [`Parameter`]: a trainable tensor of a model or q-model, and the functions model
//! expressions use on tensors ([`softplus`]).

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use inferrs_distributions::Param;

/// A trainable tensor, written `Parameter(init)` in `probmodel!`, `qmodel!` and `datamodel!`.
///
/// `name = Parameter(0.0);` declares one; each use of `name` in an expression is its current
/// value, a `Tensor<2>` tracked by autodiff during `fit`. `Parameter(..)` written inline in a
/// distribution's arguments declares an anonymous one.
///
/// The initial value is any [`Param`]: a number (`[1, 1]`), a vector or array (one row,
/// `[1, K]`) or a `Tensor<2>` of any shape (created on its own device; numbers and vectors on
/// burn's default device).
#[derive(Module, Debug)]
pub struct Parameter {
    value: burn::module::Param<Tensor<2>>,
}

impl Parameter {
    /// A trainable tensor starting at `init`.
    pub fn new(init: impl Into<Param>) -> Self {
        let value = init.into().to_tensor(&Device::default());
        Self {
            value: burn::module::Param::from_tensor(value),
        }
    }

    /// A trainable tensor starting at `init`, created on `device`.
    pub fn on(init: impl Into<Param>, device: &Device) -> Self {
        let value = init.into().to_tensor(device);
        Self {
            value: burn::module::Param::from_tensor(value),
        }
    }

    /// A trainable tensor starting at `value` (on its device).
    pub fn from_tensor(value: Tensor<2>) -> Self {
        Self {
            value: burn::module::Param::from_tensor(value),
        }
    }

    /// The current value.
    ///
    /// # Shapes
    /// The shape of the initial value, `[rows, cols]`.
    pub fn val(&self) -> Tensor<2> {
        self.value.val()
    }
}

/// `ln(1 + exp(t))`, elementwise: maps the real line onto the positive numbers (scales of
/// q-models). Stable for large `|t|`; on burn's `flex` backend one fused op
/// ([`softplus_with_floor`](inferrs_distributions::softplus_with_floor) with floor 0), burn's
/// `softplus` elsewhere.
pub fn softplus(t: Tensor<2>) -> Tensor<2> {
    inferrs_distributions::softplus_with_floor(t, 0.0)
}

/// `1 / (1 + exp(-t))`, elementwise: maps the real line onto `(0, 1)`.
pub fn sigmoid(t: Tensor<2>) -> Tensor<2> {
    burn::tensor::activation::sigmoid(t)
}
