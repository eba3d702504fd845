//! ArviZ's InferenceData as a Zarr store, in pure Rust.
//!
//! An [`InferenceData`] holds named [`Group`]s (`"posterior"`, `"sample_stats"`,
//! `"observed_data"`, ... see [`GROUP_ORDER`]), each an xarray Dataset of named
//! [`Variable`]s with dimension names, a shape and row-major [`Values`].
//! [`InferenceData::write_zarr`] writes it, atomically, as the Zarr (format 2) store that
//! ArviZ's `to_zarr` writes, so Python opens it with `arviz.from_zarr(path)`;
//! [`InferenceData::read_zarr`] reads it back.
//!
//! ```no_run
//! use inferrs_arviz::{InferenceData, POSTERIOR};
//!
//! # fn main() -> Result<(), inferrs_arviz::ArvizError> {
//! let mut idata = InferenceData::default();
//! // 2 chains of 3 draws of a scalar `mu`, and of a 2-vector `theta`.
//! let posterior = idata.group_mut(POSTERIOR);
//! posterior.add("mu", ["chain", "draw"], vec![2, 3], vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6])?;
//! posterior.add(
//!     "theta",
//!     ["chain", "draw", "theta_dim_0"],
//!     vec![2, 3, 2],
//!     vec![0.0_f64; 12],
//! )?;
//! posterior.set_attr("inference_library_version", "0.1.0");
//! idata.write_zarr("fit.zarr")?;
//! let back = InferenceData::read_zarr("fit.zarr")?;
//! assert_eq!(back.group(POSTERIOR).unwrap().variables["mu"].values, idata.groups[POSTERIOR].variables["mu"].values);
//! # Ok(())
//! # }
//! ```

mod data;
mod error;
mod zarr;

pub use data::{
    CONSTANT_DATA, GROUP_ORDER, Group, InferenceData, LOG_LIKELIHOOD, OBSERVED_DATA, POSTERIOR,
    POSTERIOR_PREDICTIVE, SAMPLE_STATS, Values, Variable,
};
pub use error::ArvizError;
