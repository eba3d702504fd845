//! inferrs' networks for models: [`MixtureNet`], the network of a Mixture Density Network;
//! [`Mlp`], a perceptron of any depth; [`affine`] and [`matmul`], a linear predictor or dense
//! layer as one op; and [`tanh`] and [`sigmoid`], fused and vectorised on flex.
//!
//! Each runs on flex as the fused kernels of `inferrs-kernels` (one autodiff node forward and
//! backward) and elsewhere as its composed burn ops, which are also the tests' oracle
//! ([`Mlp::forward_composed`], [`MixtureNet::forward_composed`], [`affine_composed`]). The
//! distributions know nothing of these networks: [`MixtureNet`]'s output reaches the fused
//! mixture likelihood through [`MixtureSource`](inferrs_distributions::MixtureSource).
//! Re-exported as `inferrs::nn`.

mod affine;
mod data_init;
mod mixture_net;
mod mlp;

pub use affine::{affine, affine_composed, matmul};
pub use data_init::LOC_SPREAD;
pub use inferrs_kernels::{Activation, sigmoid, tanh};
pub use mixture_net::{MIN_SCALE, MixtureNet};
pub use mlp::{Mlp, MlpConfig};
