//! Networks for common models: [`MixtureNet`], the network of a Mixture Density Network;
//! [`Mlp`], a perceptron of any depth; [`affine`] and [`matmul`], a linear predictor or dense
//! layer as one op; and [`tanh`] and [`sigmoid`], fused and vectorised on flex.
//!
//! Defined in `inferrs-nn` (the networks; their fused kernels are in `inferrs-kernels`) and
//! re-exported here.

pub use inferrs_nn::{
    Activation, LOC_SPREAD, MIN_SCALE, MixtureNet, Mlp, MlpConfig, affine, affine_composed, matmul,
    sigmoid, tanh,
};
