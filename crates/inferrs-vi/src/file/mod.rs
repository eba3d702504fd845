//! Files the library writes: the model file of [`Model::save`](crate::Model::save)
//! (`model_file.rs`) in its checksummed container (`container.rs`), and the atomic write
//! every file goes through (`atomic.rs`).

mod atomic;
mod container;
mod model_file;

#[cfg(feature = "parquet")]
pub(crate) use atomic::AtomicFile;
