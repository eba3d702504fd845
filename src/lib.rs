//! # inferrs: probabilistic programming on burn
//!
//! Write a model as a few named random variables whose parameters may come from neural
//! networks, fit it by maximising the ELBO with burn's autodiff, and query it:
//!
//! ```no_run
//! use inferrs::prelude::*;
//! # fn main() -> Result<(), inferrs::Error> {
//! let device = Device::default();
//! let (x, y) = (vec![0.1f32, 0.7, -1.3], vec![1.0f32, 2.0, -3.0]);
//! let train = Data::new().with("x", &x)?.with("y", &y)?;
//! let mut model = datamodel! {
//!     nn = MixtureNet::new(&device, 15, 20);   // any burn Module: fit trains its weights
//!     x ~ Normal(1.0, 1.0);
//!     y ~ MixtureGaussian(nn(x));
//! };
//! model.fit(&train, VI::new(4000))?;
//! let draws = model.posterior_predictive(["y"], &train)?.sample()?;
//! # Ok(()) }
//! ```
//!
//! The pieces: [`datamodel!`] (the model language), [`Model`] (fit and queries), [`VI`]
//! (inference options), [`Data`] (named columns), the distributions [`Normal`] and
//! [`MixtureGaussian`], and [`nn::MixtureNet`] (the network of a Mixture Density Network).

pub mod nn;

/// The user guide, one chapter per concept; every example in it is compiled and run as a test.
pub mod book {
    #[doc = include_str!("../docs/models.md")]
    pub mod models {}
    #[doc = include_str!("../docs/guides.md")]
    pub mod guides {}
    #[doc = include_str!("../docs/inference.md")]
    pub mod inference {}
    #[doc = include_str!("../docs/queries.md")]
    pub mod queries {}
}

pub use burn;
pub use inferrs_diagnostics as diagnostics;
pub use inferrs_distributions as distributions;
pub use inferrs_distributions::{
    Bernoulli, Beta, Bijector, Binomial, Categorical, Cauchy, Deterministic, Dirichlet, DistError,
    Distribution, Exponential, Gamma, Geometric, HalfCauchy, HalfNormal, HalfStudentT,
    InverseGamma, Laplace, LogNormal, Logistic, MixtureGaussian, MultivariateNormalDiag,
    MultivariateNormalTriL, NegativeBinomial, Normal, Param, ParamInit, Poisson, Probs, ScaleTril,
    StudentT, Support, Uniform,
};
pub use inferrs_graph::{Graph, GraphError, Node, NodeKind};
pub use inferrs_macros::{datamodel, probmodel, qmodel};
/// Data-parallel SVI across ranks: [`VI::distributed`] with a group of ranks, MPI's
/// (`distributed::Mpi`, feature `mpi`) or threads' (`distributed::LocalGroup`).
pub use inferrs_vi::distributed;
pub use inferrs_vi::{
    Array, AutoDelta, AutoMultivariateNormal, AutoNormal, Batch, Batches, Column, Converged,
    ConvergedBy, Convergence, CsvSource, DATA_START_WARMUP, DEFAULT_CHUNK_ROWS, DEFAULT_LR,
    DEFAULT_SHUFFLE_BUFFER, Data, DataSource, DrawStats, Draws, Elbo, Empirical, Error, FitReport,
    Gradient, Guide, Init, IntoColumn, Lift, LogProbs, Model, Nuts, Optimizer, ParamInfo,
    Parameter, Predictive, Prior, QModel, RenyiElbo, Samples, Schedule, Summary, Svi, TraceElbo,
    TraceMeanFieldElbo, VI, sigmoid, softplus,
};
/// ArviZ's InferenceData and its Zarr store (feature `arviz`): what
/// [`Model::inference_data`] returns.
#[cfg(feature = "arviz")]
pub use inferrs_vi::{ArvizOptions, arviz_data as arviz};
#[cfg(feature = "parquet")]
pub use inferrs_vi::{ParquetSource, ParquetWriter, write_parquet};
/// For people extending the library: the context, its handlers and traces
/// (`runtime`), guides' building blocks (`guide`), and the inference layer (`infer`).
pub use inferrs_vi::{guide, infer, runtime};

/// What most programs import: `use inferrs::prelude::*;`.
pub mod prelude {
    pub use crate::nn::{BayesianDense, BayesianDenseConfig, DenseNoise, MixtureNet};
    pub use crate::{
        AutoDelta, AutoMultivariateNormal, AutoNormal, Bernoulli, Beta, Binomial, Categorical,
        Cauchy, Convergence, CsvSource, Data, DataSource, Deterministic, Dirichlet, Error,
        Exponential, FitReport, Gamma, Geometric, HalfCauchy, HalfNormal, HalfStudentT, Init,
        InverseGamma, Laplace, Lift, LogNormal, Logistic, MixtureGaussian, MultivariateNormalDiag,
        MultivariateNormalTriL, NegativeBinomial, Normal, Nuts, Optimizer, ParamInfo, Parameter,
        Poisson, Probs, RenyiElbo, Schedule, StudentT, Svi, TraceElbo, TraceMeanFieldElbo, Uniform,
        VI, datamodel, probmodel, qmodel, sigmoid, softplus,
    };
    pub use burn::tensor::{Device, Tensor};
}

/// Items the model macros' expansions name. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use burn;
    pub use inferrs_distributions::FromArgs;
    pub use inferrs_graph::Graph;
    pub use inferrs_nn::{affine, matmul};
    pub use inferrs_vi::runtime::Ctx;
    pub use inferrs_vi::{Model, Parameter, QModel};
}
