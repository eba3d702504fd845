//! The inferrs runtime: the sample-site context, variational inference, data and queries.
//!
//! A model is a function over a [`Ctx`]; `datamodel!` (in `inferrs-macros`) writes that function.
//! [`Model::fit`] maximises the ELBO with burn's autodiff; [`Model::posterior_predictive`] and
//! [`Model::log_prob`] query the fitted model.

mod ctx;
mod data;
mod error;
mod guide;
mod model;
mod parameter;
mod query;
mod vi;

pub use ctx::{Ctx, Site};
pub use data::{Column, Data, IntoColumn};
pub use error::Error;
pub use guide::{
    AutoDelta, AutoMultivariateNormal, AutoNormal, Guide, GuideDraw, GuideTrace, LatentSite, QModel,
};
pub use model::Model;
pub use parameter::{Parameter, sigmoid, softplus};
pub use query::{Array, Draws, LogProbs, Predictive, Summary};
pub use vi::{DEFAULT_LR, FitReport, Optimizer, Schedule, VI};
