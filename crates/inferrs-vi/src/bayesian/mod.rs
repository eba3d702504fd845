//! Bayesian modules, two ways:
//! - [`Model::lift`](crate::Model::lift) (`lift.rs`) turns trainable parameters of any burn
//!   module into global latent variables with a prior, covered by the model's guide;
//! - [`BayesianDense`] (`dense.rs`) is a dense layer that holds its weights' Gaussian
//!   distribution itself and draws its outputs with the local reparameterisation trick or
//!   Flipout, for a lower-variance gradient than one shared draw of the weights.

mod dense;
mod lift;

pub use dense::{BayesianDense, BayesianDenseConfig, DenseNoise};
