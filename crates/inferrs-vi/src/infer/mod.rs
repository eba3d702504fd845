//! Inference, as a layer of its own over the runtime: [`Svi`] (the step loop), the ELBO
//! estimators as values ([`TraceElbo`], [`TraceMeanFieldElbo`], [`RenyiElbo`]), the options
//! [`VI`], and [`Predictive`] (the queries). A new inference algorithm goes here, as a
//! composition of the runtime's handlers.

mod convergence;
mod data_parallel;
pub(crate) mod elbo;
mod fused_adam;
mod importance;
mod log_density;
mod mcmc;
pub(crate) mod predictive;
mod row_optimizer;
mod support;
pub(crate) mod svi;
mod tape_step;
pub(crate) mod vi;

pub use convergence::{Converged, ConvergedBy, Convergence};
pub use elbo::{Elbo, Estimate, Particle, RenyiElbo, TraceElbo, TraceMeanFieldElbo};
pub use mcmc::{DrawStats, Gradient, Nuts, Samples};
pub use predictive::Predictive;
pub(crate) use svi::OptimizerState;
pub use svi::Svi;
pub(crate) use tape_step::{capture_leaves, recorded_noise};
pub use vi::{
    DATA_START_WARMUP, DEFAULT_CHECK_EVERY, DEFAULT_LR, FitReport, Optimizer, Schedule, VI,
};
