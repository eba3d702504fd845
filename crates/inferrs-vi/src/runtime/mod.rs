//! The runtime, for people extending the library: the context a model function runs in
//! ([`Ctx`]), the handlers that decide what a sample site does ([`Handler`]), the lift of
//! trainable parameters into latent variables ([`Lift`], [`Prior`]), the trace a run leaves
//! ([`Trace`], [`Site`]), and guides' parameters as type-erased burn modules ([`DynModule`]).
//!
//! A model written with `datamodel!` is a function `Fn(&P, &mut Ctx) -> Result<(), Error>`.
//! Every inference algorithm runs it in a context built from a few handlers (see
//! [`Handler`]'s documentation for the compositions), then reads the trace. Users of the
//! library do not need this module.

mod ambient;
mod ctx;
mod handler;
mod lift;
mod module;
mod site;

pub(crate) use ambient::{add_kl, weights_once, with_stream};
pub use ctx::Ctx;
pub use handler::{Handler, Unfilled, Values};
pub use lift::{Lift, ParamInfo, Prior};
pub(crate) use lift::{build_prior, intern};
pub use module::DynModule;
pub(crate) use module::{
    apply_inits, initialize_lazy, is_finite as module_is_finite, module_from_bytes, module_to_bytes,
};
pub use site::{LayerKl, Site, Trace};
