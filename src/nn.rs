//! Networks for common models: [`MixtureNet`], the network of a Mixture Density Network;
//! [`Mlp`], a perceptron of any depth; [`affine`] and [`matmul`], a linear predictor or dense
//! layer as one op; [`tanh`] and [`sigmoid`], fused and vectorised on flex; and
//! [`BayesianDense`], a dense layer whose weights are a Gaussian it draws per row (the local
//! reparameterisation trick, or Flipout).
//!
//! Defined in `inferrs-nn` (the networks; their fused kernels are in `inferrs-kernels`) and,
//! for [`BayesianDense`], which needs the run it is part of, in `inferrs-vi`; re-exported
//! here.

pub use inferrs_nn::{
    Activation, LOC_SPREAD, MIN_SCALE, MixtureNet, Mlp, MlpConfig, affine, affine_composed, matmul,
    sigmoid, tanh,
};
pub use inferrs_vi::{BayesianDense, BayesianDenseConfig, DenseNoise};
