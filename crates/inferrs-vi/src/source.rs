//! [`DataSource`]: where a fit reads its rows from, one batch at a time.

use inferrs_distributions::Rng;
use rand::seq::SliceRandom;

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

/// Data a fit reads in batches: the in-memory [`Data`], or data streamed from a file.
///
/// An epoch is one pass over every row in batches of at most `size` rows; with a random
/// stream the rows are shuffled first (a seeded permutation, or the source's own seeded
/// shuffle when it cannot hold every row).
pub trait DataSource {
    /// The column names.
    fn names(&self) -> Vec<String>;

    /// Number of rows of the whole data (known before any batch is read).
    fn rows(&self) -> usize;

    /// The data whole, when the source holds it in memory (queries after a fit read it).
    fn in_memory(&self) -> Option<&Data> {
        None
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

/// Implements [`DataSource`] for in-memory data (owned, or borrowed so that a fit copies
/// nothing).
macro_rules! in_memory_source {
    ($($t:ty),*) => {$(
        impl DataSource for $t {
            fn names(&self) -> Vec<String> {
                Data::names(self).map(str::to_string).collect()
            }

            fn rows(&self) -> usize {
                Data::rows(self).unwrap_or(0)
            }

            fn in_memory(&self) -> Option<&Data> {
                Some(self)
            }

            fn epoch<'s>(
                &'s mut self,
                size: usize,
                shuffle: Option<&mut Rng>,
            ) -> Result<Batches<'s>, Error> {
                Ok(batches_of(self, size, shuffle))
            }
        }
    )*};
}

in_memory_source!(Data, &Data);

/// The batches of one epoch of in-memory `data`, gathered as they are asked for.
fn batches_of<'s>(data: &'s Data, size: usize, shuffle: Option<&mut Rng>) -> Batches<'s> {
    let mut order: Vec<usize> = (0..Data::rows(data).unwrap_or(0)).collect();
    if let Some(rng) = shuffle {
        order.shuffle(rng);
    }
    let size = size.max(1);
    Box::new((0..order.len()).step_by(size).map(move |start| {
        let indices = order[start..(start + size).min(order.len())].to_vec();
        Ok(Batch {
            data: data.gather(&indices),
            indices,
        })
    }))
}
