//! [`DataSource`] for the in-memory [`Data`]: batches gathered from a seeded permutation.

use inferrs_distributions::Rng;
use rand::seq::SliceRandom;

use super::{Batch, Batches, DataSource, epoch_rng};
use crate::{Data, Error};

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

            fn shard(&self, rank: usize, ranks: usize) -> Result<Box<dyn DataSource>, Error> {
                shard_of(self, rank, ranks)
            }

            fn epoch<'s>(
                &'s mut self,
                size: usize,
                shuffle: Option<&mut Rng>,
            ) -> Result<Batches<'s>, Error> {
                Ok(batches_of(self, size, epoch_rng(shuffle)))
            }
        }
    )*};
}

in_memory_source!(Data, &Data);

/// The rows `rank, rank + ranks, ...` of `data`, gathered.
fn shard_of(data: &Data, rank: usize, ranks: usize) -> Result<Box<dyn DataSource>, Error> {
    let rows = Data::rows(data).unwrap_or(0);
    let indices: Vec<usize> = (rank..rows).step_by(ranks.max(1)).collect();
    if indices.is_empty() {
        return Err(Error::InvalidOption {
            option: "distributed",
            reason: format!("rank {rank} of {ranks} has no rows: the data has {rows} rows"),
        });
    }
    Ok(Box::new(data.gather(&indices)))
}

/// The batches of one epoch of in-memory `data`, gathered as they are asked for.
fn batches_of(data: &Data, size: usize, rng: Option<Rng>) -> Batches<'_> {
    let mut order: Vec<usize> = (0..Data::rows(data).unwrap_or(0)).collect();
    if let Some(mut rng) = rng {
        order.shuffle(&mut rng);
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
