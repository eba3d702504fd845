//! Networks for common models: [`MixtureNet`], the network of a Mixture Density Network.
//!
//! Defined in `inferrs-distributions` (next to the fused kernels it runs as on flex) and
//! re-exported here.

pub use inferrs_distributions::nn::{LOC_SPREAD, MIN_SCALE, MixtureNet};
