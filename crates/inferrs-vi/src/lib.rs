//! The inferrs runtime and inference: models, data, guides, variational inference and queries.
//!
//! A model is a function over a [`runtime::Ctx`]; `datamodel!` (in `inferrs-macros`) writes
//! that function. [`Model::fit`] maximises the ELBO with burn's autodiff ([`Svi`]);
//! [`Model::posterior_predictive`] and [`Model::log_prob`] query the fitted model.
//!
//! The root exports what users call. [`runtime`] (the context, its handlers, traces) is for
//! people extending the library with a new inference algorithm or guide.

#[cfg(feature = "arviz")]
mod arviz;
mod bayesian;
mod data;
pub mod distributed;
mod draws;
mod error;
mod file;
pub mod guide;
pub mod infer;
mod model;
mod parameter;
pub mod runtime;
mod source;

#[cfg(feature = "arviz")]
pub use arviz::ArvizOptions;
pub use bayesian::{BayesianDense, BayesianDenseConfig, DenseNoise};
pub use data::{Column, Data, IntoColumn};
pub use draws::{Array, Draws, LogProbs, Summary};
pub use error::Error;
pub use guide::{AutoDelta, AutoMultivariateNormal, AutoNormal, Empirical, Guide, Init, QModel};
pub use infer::{
    Converged, ConvergedBy, Convergence, DATA_START_WARMUP, DEFAULT_CHECK_EVERY, DEFAULT_LR,
    DrawStats, Elbo, FitReport, Gradient, Nuts, Optimizer, Predictive, RenyiElbo, Samples,
    Schedule, Svi, TraceElbo, TraceMeanFieldElbo, VI,
};
/// ArviZ's InferenceData and its Zarr store (feature `arviz`): what
/// [`Model::inference_data`] returns.
#[cfg(feature = "arviz")]
pub use inferrs_arviz as arviz_data;
pub use model::{DEFAULT_CHUNK_ROWS, Model};
pub use parameter::{Parameter, sigmoid, softplus};
pub use runtime::{Lift, ParamInfo, Prior};
pub use source::{Batch, Batches, CsvSource, DEFAULT_SHUFFLE_BUFFER, DataSource};
#[cfg(feature = "parquet")]
pub use source::{ParquetSource, ParquetWriter, write_parquet};
