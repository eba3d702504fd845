//! [`DataSource`]: where a fit reads its rows from, one batch at a time.
//!
//! - `memory.rs`: the in-memory [`Data`];
//! - `csv.rs`: [`CsvSource`], a CSV file streamed row by row;
//! - `parquet.rs` (cargo feature `parquet`): [`ParquetSource`], a Parquet file read one row
//!   group at a time, and [`write_parquet`];
//! - `stream.rs`: what the streamed sources share, a stream of rows cut into (shuffled)
//!   batches with a bounded shuffle buffer.

mod csv;
mod memory;
#[cfg(feature = "parquet")]
mod parquet;
mod stream;

use inferrs_distributions::Rng;

pub use csv::CsvSource;
#[cfg(feature = "parquet")]
pub use parquet::{ParquetSource, ParquetWriter, write_parquet};
pub use stream::DEFAULT_SHUFFLE_BUFFER;

use crate::{Data, Error};

/// One batch of a data source: its rows, and their 0-based indices in the whole data (a
/// local latent variable's q is one row per data row: a batch reads and updates these).
#[derive(Clone, Debug)]
pub struct Batch {
    /// The batch's rows.
    pub data: Data,
    /// Their indices in the whole data.
    pub indices: Vec<usize>,
}

/// Data a fit reads in batches: the in-memory [`Data`] (or `&Data`), a streamed
/// [`CsvSource`], or a `ParquetSource` (feature `parquet`).
///
/// An epoch is one pass over every row in batches of at most `size` rows. With a random
/// stream the rows are shuffled: the epoch takes one number of the stream as its seed, and
/// permutes the rows with it. A source that cannot hold every row shuffles through a buffer
/// of rows (and may first shuffle its blocks of rows); while the buffer holds every row, the
/// order is the in-memory one, so a streamed fit is bit-identical to the fit of the same
/// rows in memory.
///
/// A source is `Send`: a fit reads it from a thread of rayon's pool (see [`Svi::run`]).
///
/// [`Svi::run`]: crate::infer::Svi::run
pub trait DataSource: Send {
    /// The column names.
    fn names(&self) -> Vec<String>;

    /// Number of rows of the whole data (known before any batch is read).
    fn rows(&self) -> usize;

    /// The data whole, when the source holds it in memory (queries after a fit read it).
    fn in_memory(&self) -> Option<&Data> {
        None
    }

    /// This source's shard for rank `rank` of `ranks` in a data-parallel fit
    /// ([`VI::distributed`](crate::VI::distributed)): the rows `rank, rank + ranks, ...` (a
    /// Parquet file: its row groups `rank, rank + ranks, ...`), numbered from 0 in the shard.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when the source cannot be split (the default) or the shard
    /// has no rows.
    fn shard(&self, rank: usize, ranks: usize) -> Result<Box<dyn DataSource>, Error> {
        let _ = (rank, ranks);
        Err(Error::InvalidOption {
            option: "distributed",
            reason: "this data source cannot be split into shards".to_string(),
        })
    }

    /// The batches of one epoch, in order: `size` rows each, the last one possibly fewer.
    ///
    /// # Errors
    /// [`Error::Data`] when the source cannot be read, naming the file and the row.
    fn epoch<'s>(
        &'s mut self,
        size: usize,
        shuffle: Option<&mut Rng>,
    ) -> Result<Batches<'s>, Error>;
}

/// The batches of one epoch, read as they are asked for.
pub type Batches<'s> = Box<dyn Iterator<Item = Result<Batch, Error>> + 's>;

/// The epoch's own stream, taken from the fit's shuffle stream: every source shuffles with
/// it, so that they agree.
fn epoch_rng(shuffle: Option<&mut Rng>) -> Option<Rng> {
    use rand::{RngCore, SeedableRng};
    shuffle.map(|rng| Rng::seed_from_u64(rng.next_u64()))
}

/// An error reading the file `path`.
fn file_error(path: &std::path::Path, reason: String) -> Error {
    Error::Data {
        column: format!("(file {})", path.display()),
        reason,
    }
}
