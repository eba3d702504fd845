//! inferrs' fused kernels with analytic gradients for burn's `flex` CPU backend: log
//! densities, the automatic guides' draw, activations, the affine map, `Mlp`'s network and
//! the MDN's network. Each entry point returns `None` where it does not apply (another
//! backend, not `f32`, this crate built without `flex`), and its caller then runs the same
//! function in composed burn ops, the reference it is tested against (`Normal::log_prob_composed`,
//! `affine_composed`, `Mlp::forward_composed`, ...).
//!
//! A likelihood written with composed tensor ops makes a dozen passes over `[rows, K]`
//! tensors forward and as many backward, each through scalar `expf`/`logf`. The kernels here
//! make one pass over the rows, computing the value and (on an autodiff device, for the inputs
//! that are tracked) the gradients at once; the backward pass only scales the stored gradients
//! by the incoming one. They run on raw `f32` slices with vectorised `exp` and `ln`
//! (`vmath.rs`), threaded over blocks of rows. The same holds for
//! [`softplus_with_floor`], the positive transform of a network's scale outputs.
//!
//! They take part in burn's autodiff through a backend extension (burn's `extension`
//! feature): `MixtureKernel` is implemented for `Flex` (value only) and for
//! `Autodiff<Flex, C>` (value, gradients, and a `Backward` step). Other backends have no
//! implementation: callers check [`fused_kernels_available`] and use composed ops there (the
//! composed version is also the tests' oracle).

#[cfg(feature = "flex")]
mod activation;
mod activations;
#[cfg(feature = "flex")]
mod affine;
#[cfg(feature = "flex")]
mod affine_flex;
#[cfg(feature = "flex")]
mod categorical;
pub mod dense;
#[cfg(feature = "flex")]
mod density;
#[cfg(feature = "flex")]
mod flex;
#[cfg(feature = "flex")]
mod gemm;
#[cfg(feature = "flex")]
mod kernel;
#[cfg(feature = "flex")]
mod mixture_net;
#[cfg(feature = "flex")]
mod mixture_net_flex;
#[cfg(feature = "flex")]
mod mlp;
#[cfg(feature = "flex")]
mod mlp_flex;
#[cfg(feature = "flex")]
mod pointwise;
#[cfg(feature = "flex")]
mod reparam;
pub mod vmath;
mod watch;

use burn::tensor::{Device, Tensor};

pub use activations::{Activation, sigmoid, tanh};
pub use watch::{note_network_kernel, watch_network_kernels};

/// `ln(2 pi) / 2`.
#[cfg(feature = "flex")]
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// True when the fused kernels run on `device`: it (or the device under its autodiff wrapper)
/// is burn's `flex` backend and this crate was built with its `flex` feature.
///
/// Where it is false, the distributions (`inferrs_distributions::MixtureGaussian::log_prob`, ...) use composed
/// tensor ops (the same function, evaluated in more passes).
pub fn fused_kernels_available(device: &Device) -> bool {
    #[cfg(feature = "flex")]
    {
        matches!(
            device.clone().inner().as_dispatch(),
            burn::backend::DispatchDevice::Flex(_)
        )
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = device;
        false
    }
}

/// The fused elementwise `tanh`, or `None` when it does not apply (not `f32` on flex).
pub fn fused_tanh<const D: usize>(x: &Tensor<D>) -> Option<Tensor<D>> {
    #[cfg(feature = "flex")]
    {
        activation::tanh_tensor(x)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = x;
        None
    }
}

/// The fused elementwise `sigmoid`, or `None` when it does not apply (not `f32` on flex).
pub fn fused_sigmoid<const D: usize>(x: &Tensor<D>) -> Option<Tensor<D>> {
    #[cfg(feature = "flex")]
    {
        activation::sigmoid_tensor(x)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = x;
        None
    }
}

/// The fused affine map `x W + b` (no bias where `b` is `None`), one op forward and backward,
/// or `None` when it does not apply (not `f32` on flex, no rows, a zero width, shapes that do
/// not chain, a bias that is not `[1, outputs]`).
pub fn affine(x: &Tensor<2>, w: &Tensor<2>, b: Option<&Tensor<2>>) -> Option<Tensor<2>> {
    #[cfg(feature = "flex")]
    {
        affine_flex::affine(x, w, b)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (x, w, b);
        None
    }
}

/// The fused multilayer perceptron (`inferrs::nn::Mlp::forward`), one op forward
/// and backward, or `None` when it does not apply (not `f32` on flex, no layers or more than
/// four, no rows, a zero width). `layers` are `(weight [in, out], bias)`, input first.
pub fn mlp(
    x: &Tensor<2>,
    layers: &[(Tensor<2>, Option<Tensor<1>>)],
    activation: Activation,
) -> Option<Tensor<2>> {
    #[cfg(feature = "flex")]
    {
        mlp_flex::mlp(x, layers, activation)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (x, layers, activation);
        None
    }
}

/// The fused `log N(value; loc, scale)` summed over each row (`[rows]`), or `None` when it does
/// not apply (not every tensor `f32` on flex). Inputs broadcast (`[rows or 1, cols or 1]`).
pub fn normal_log_prob(value: &Tensor<2>, loc: &Tensor<2>, scale: &Tensor<2>) -> Option<Tensor<1>> {
    #[cfg(feature = "flex")]
    {
        density::normal_log_prob(value, loc, scale)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (value, loc, scale);
        None
    }
}

/// The fused categorical log mass on logits (`[rows]`), or `None` when it does not apply.
pub fn categorical_logits_log_prob(value: &Tensor<2>, logits: &Tensor<2>) -> Option<Tensor<1>> {
    #[cfg(feature = "flex")]
    {
        categorical::categorical_logits_log_prob(value, logits)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (value, logits);
        None
    }
}

/// The fused Gamma log density summed over each row (`[rows]`), or `None` when it does not
/// apply.
pub fn gamma_log_prob(
    value: &Tensor<2>,
    concentration: &Tensor<2>,
    rate: &Tensor<2>,
) -> Option<Tensor<1>> {
    #[cfg(feature = "flex")]
    {
        density::gamma_log_prob(value, concentration, rate)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (value, concentration, rate);
        None
    }
}

/// The fused Poisson log mass summed over each row (`[rows]`), or `None` when it does not
/// apply.
pub fn poisson_log_prob(value: &Tensor<2>, rate: &Tensor<2>) -> Option<Tensor<1>> {
    #[cfg(feature = "flex")]
    {
        density::poisson_log_prob(value, rate)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (value, rate);
        None
    }
}

/// The fused Bernoulli log mass on logits summed over each row (`[rows]`), or `None` when it
/// does not apply.
pub fn bernoulli_logits_log_prob(value: &Tensor<2>, logits: &Tensor<2>) -> Option<Tensor<1>> {
    #[cfg(feature = "flex")]
    {
        density::bernoulli_logits_log_prob(value, logits)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (value, logits);
        None
    }
}

/// The fused Student's t log density for a constant `df` summed over each row (`[rows]`), or
/// `None` when it does not apply; `norm` is the log normalising constant.
pub fn student_t_log_prob(
    value: &Tensor<2>,
    loc: &Tensor<2>,
    scale: &Tensor<2>,
    df: f64,
    norm: f64,
) -> Option<Tensor<1>> {
    #[cfg(feature = "flex")]
    {
        density::student_t_log_prob(value, loc, scale, df, norm)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (value, loc, scale, df, norm);
        None
    }
}

/// The fused half-Student's t log density for a constant `df` (`df = 1`: the half-Cauchy)
/// summed over each row (`[rows]`), `-inf` for a row with a negative value, or `None` when it
/// does not apply; `norm` is the log normalising constant, `ln 2` included.
pub fn half_student_t_log_prob(
    value: &Tensor<2>,
    scale: &Tensor<2>,
    df: f64,
    norm: f64,
) -> Option<Tensor<1>> {
    #[cfg(feature = "flex")]
    {
        density::half_student_t_log_prob(value, scale, df, norm)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (value, scale, df, norm);
        None
    }
}

/// The fused half-normal log density summed over each row (`[rows]`), `-inf` for a row with a
/// negative value, or `None` when it does not apply.
pub fn half_normal_log_prob(value: &Tensor<2>, scale: &Tensor<2>) -> Option<Tensor<1>> {
    #[cfg(feature = "flex")]
    {
        density::half_normal_log_prob(value, scale)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (value, scale);
        None
    }
}

/// The maps of a fused guide draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrawMap {
    /// `x = u`.
    Identity,
    /// `x = e^u`.
    Exp,
    /// `x = softplus(u)`.
    Softplus,
}

/// The fused draw `T(loc + softplus(raw) eps)` (`[rows, cols]`) and its `log q` (`[rows]`), or
/// `None` when it does not apply.
pub fn normal_draw(
    loc: &Tensor<2>,
    raw: &Tensor<2>,
    eps: &Tensor<2>,
    map: DrawMap,
) -> Option<(Tensor<2>, Tensor<1>)> {
    #[cfg(feature = "flex")]
    {
        reparam::normal_draw(loc, raw, eps, map)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (loc, raw, eps, map);
        None
    }
}

/// The fused `MixtureGaussian` log density, or `None` when the fused kernel does not apply:
/// not every tensor is `f32`, or the device is not `flex` (the caller then uses composed ops).
///
/// # Shapes
///
/// * `value`: `[rows or 1, 1]`; `locs`, `scales`, `logits`: `[rows or 1, K or 1]`
/// * returns: `[rows]`
///
/// # Panics
///
/// When the shapes do not broadcast (the distribution checks them when it is built).
pub fn mixture_gaussian_log_prob(
    value: &Tensor<2>,
    locs: &Tensor<2>,
    scales: &Tensor<2>,
    logits: &Tensor<2>,
) -> Option<Tensor<1>> {
    #[cfg(feature = "flex")]
    {
        flex::mixture_gaussian_log_prob(value, locs, scales, logits)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (value, locs, scales, logits);
        None
    }
}

/// The fused `MixtureGaussian` log density of packed `[rows, 3K]` parameters, or `None` when
/// the fused kernel does not apply (the caller then uses composed ops).
pub fn mixture_gaussian_log_prob_packed(
    value: &Tensor<2>,
    packed: &Tensor<2>,
) -> Option<Tensor<1>> {
    #[cfg(feature = "flex")]
    {
        flex::mixture_gaussian_log_prob_packed(value, packed)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (value, packed);
        None
    }
}

/// The MDN network `[h2 Wl + bl | softplus(h2 Ws + bs) + floor | h2 Ww + bw]`, `h2 = relu(relu(x
/// W1 + b1) W2 + b2)`, in one fused op, or `None` when it does not apply (not `f32` on flex).
/// `layers` are `(weight [in, out], bias)` of hidden 1, hidden 2, locations, scales, logits.
pub fn mixture_net(
    x: &Tensor<2>,
    layers: [(&Tensor<2>, Option<&Tensor<1>>); 5],
    floor: f64,
) -> Option<Tensor<2>> {
    #[cfg(feature = "flex")]
    {
        mixture_net_flex::mixture_net(&mixture_net_flex::NetTensors { x, layers }, floor as f32)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (x, layers, floor);
        None
    }
}

/// `log p(y | x)` (`[rows]`) for the mixture of Gaussians whose parameters are
/// [`mixture_net()`]`(x)`, the network and the likelihood in one fused op; or `None` when it does
/// not apply (not `f32` on flex). `y` is `[rows or 1, 1]`.
pub fn mixture_net_log_prob(
    y: &Tensor<2>,
    x: &Tensor<2>,
    layers: [(&Tensor<2>, Option<&Tensor<1>>); 5],
    floor: f64,
) -> Option<Tensor<1>> {
    #[cfg(feature = "flex")]
    {
        mixture_net_flex::mixture_net_log_prob(
            y,
            &mixture_net_flex::NetTensors { x, layers },
            floor as f32,
        )
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (y, x, layers, floor);
        None
    }
}

/// `softplus(x) + floor` elementwise: a positive transform with a lower bound, for scale
/// parameters (a network's output).
///
/// `softplus(x) = ln(1 + e^x)`, and `x` itself for `x > 20`, as burn's
/// `softplus(x, 1.0)`. On burn's `flex` backend ([`fused_kernels_available`]) one fused pass
/// computes the value and, on an autodiff device, the derivative `sigmoid(x)` (burn's
/// composed softplus makes about eight passes forward and as many backward, through scalar
/// `expf`/`log1pf`); elsewhere this is `softplus(x, 1.0) + floor` with burn's ops. Both agree
/// to a few f32 ulps. Differentiable with respect to `x`.
///
/// # Arguments
///
/// * `x` - the unconstrained values.
/// * `floor` - the smallest value of the result (added after the softplus).
///
/// # Shapes
///
/// * `x`: `[rows, cols]` (any strides, e.g. a column slice of a wider tensor)
/// * returns: `[rows, cols]`
pub fn softplus_with_floor(x: Tensor<2>, floor: f64) -> Tensor<2> {
    #[cfg(feature = "flex")]
    if let Some(y) = flex::softplus_floor(&x, floor) {
        return y;
    }
    burn::tensor::activation::softplus(x, 1.0) + floor
}
