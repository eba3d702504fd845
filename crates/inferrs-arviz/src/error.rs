//! The error type of this crate.

use std::path::PathBuf;

/// Why building, writing or reading an [`InferenceData`](crate::InferenceData) failed.
///
/// Every variant names what it is about (the variable, the group or the path) and, where
/// there is one, carries the underlying cause as its [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
pub enum ArvizError {
    /// A variable's `dims`, `shape` and number of values disagree.
    #[error(
        "variable `{variable}`: dims {dims:?} and shape {shape:?} do not fit {values} values \
         (need one dim per axis and a shape whose product is the number of values)"
    )]
    Shape {
        /// The variable's name.
        variable: String,
        /// Its dimension names.
        dims: Vec<String>,
        /// Its shape.
        shape: Vec<usize>,
        /// How many values it holds.
        values: usize,
    },
    /// Two variables of one group give one dimension different lengths (xarray needs one).
    #[error(
        "group `{group}`: dim `{dim}` has length {len} in variable `{variable}` but {expected} \
         elsewhere in the group"
    )]
    DimLength {
        /// The group's name.
        group: String,
        /// The dimension's name.
        dim: String,
        /// The variable whose length disagrees.
        variable: String,
        /// Its length there.
        len: usize,
        /// The length the group's earlier variables give it.
        expected: usize,
    },
    /// A group or variable name that cannot be a Zarr node name.
    #[error(
        "invalid {kind} name `{name}`: it must be non-empty, without `/`, and not start with `.`"
    )]
    InvalidName {
        /// "group" or "variable".
        kind: &'static str,
        /// The offending name.
        name: String,
    },
    /// The target path exists but is not a Zarr store, so it is not replaced.
    #[error("`{path}` exists and is not a Zarr store (no `.zgroup`); refusing to replace it")]
    NotAStore {
        /// The target path.
        path: PathBuf,
    },
    /// A file-system operation failed.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done ("create directory", "rename", ...).
        action: &'static str,
        /// The path it was done on.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The Zarr library failed on a node of the store.
    #[error("zarr node `{node}` in `{path}`: {source}")]
    Zarr {
        /// The store's path.
        path: PathBuf,
        /// The node (group or array) inside the store, e.g. `/posterior/mu`.
        node: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The store holds something this crate does not read (a data type, missing dims, ...).
    #[error("zarr node `{node}` in `{path}`: {message}")]
    Format {
        /// The store's path.
        path: PathBuf,
        /// The node inside the store.
        node: String,
        /// What is wrong.
        message: String,
    },
}
