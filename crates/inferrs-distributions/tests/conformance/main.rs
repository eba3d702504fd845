//! The conformance suite: every distribution of the library, checked the same way.
//!
//! For each family (one module per group of families):
//! * `log_prob` against independent reference values (`statrs`, or closed forms written out in
//!   f64) over several batch shapes: scalar parameters, one row broadcast over many value rows,
//!   and tensor parameters with one row per value row;
//! * sample moments against the distribution's stated `mean` and `variance`, within five
//!   standard errors of the estimate, with a fixed seed (see [`harness::check_moments`]);
//! * samples inside the stated `support`;
//! * for reparameterised families, gradients of a weighted sum of samples with respect to the
//!   parameters against central finite differences with the same noise
//!   ([`harness::check_rsample_grad`]);
//! * constructor validation: an invalid constant is an error carrying its value.
#[path = "../common/mod.rs"]
mod common;
mod harness;

mod discrete;
mod existing;
mod gamma_family;
mod multivariate;
mod univariate;
