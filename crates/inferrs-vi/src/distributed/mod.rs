//! Data-parallel SVI across processes: every rank fits on its shard of the rows, and one
//! all-gather per step sums the ranks' gradients, in rank order, into one step that every
//! rank takes ([`VI::distributed`](crate::VI::distributed)).
//!
//! - `collective.rs`: [`Collective`], what the loop needs of a process group (its rank, its
//!   size, an all-gather of bytes);
//! - `local.rs`: [`LocalGroup`], ranks that are threads of one process (tests, and a
//!   reference for the processes' result);
//! - `mpi.rs` (cargo feature `mpi`): [`Mpi`], the ranks of an MPI job (Open MPI through the
//!   `mpi` crate);
//! - `exchange.rs`: what a step sends (its status, its loss, its gradients flattened in the
//!   modules' order) and the ordered sum of what every rank sent;
//! - `plan.rs`: the steps of an epoch on every rank and their scale, from the shards' sizes.
//!
//! docs/distributed.md says how to build, launch and check a run.

pub(crate) mod collective;
pub(crate) mod exchange;
mod local;
#[cfg(feature = "mpi")]
mod mpi;
pub(crate) mod plan;

pub use collective::Collective;
pub use exchange::{Flat, Layout};
pub use local::{LocalGroup, LocalRank};
#[cfg(feature = "mpi")]
pub use mpi::{Mpi, MpiWorld};
