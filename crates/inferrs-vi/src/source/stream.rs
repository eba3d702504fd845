//! What the streamed sources share: a stream of rows cut into batches, shuffled through a
//! bounded buffer of rows.
//!
//! The buffer holds at most `capacity` rows. While the stream lasts, each new row takes the
//! place of a row drawn from the full buffer, which goes to the batch; at the end, what the
//! buffer holds is permuted and emitted. When the buffer holds every row, that last step is
//! the whole shuffle and equals the in-memory source's permutation (the same Fisher-Yates
//! draws on the same row order), so a streamed fit of a file that fits in the buffer is
//! bit-identical to the fit of the same rows in memory.

use inferrs_distributions::Rng;
use rand::Rng as _;
use rand::seq::SliceRandom;

use super::{Batch, Batches};
use crate::data::Column;
use crate::{Data, Error};

/// Rows a streamed source's shuffle buffer holds unless told otherwise (65,536: about
/// 5 MB for 20 `f32` columns).
pub const DEFAULT_SHUFFLE_BUFFER: usize = 1 << 16;

/// The columns of a streamed row, in order, each `width` values wide.
#[derive(Clone, Debug)]
pub(crate) struct Schema {
    pub(crate) names: Vec<String>,
    pub(crate) widths: Vec<usize>,
}

impl Schema {
    /// Values in one row.
    pub(crate) fn width(&self) -> usize {
        self.widths.iter().sum()
    }
}

/// Rows in a fixed order (a file read front to back, or its blocks in a given order).
pub(crate) trait RowStream {
    /// Writes the next row's values, columns in the schema's order, into `row`; returns its
    /// 0-based index in the whole data, or `None` after the last row.
    fn next_row(&mut self, row: &mut [f32]) -> Result<Option<usize>, Error>;
}

/// The batches of one epoch of `stream`: `size` rows each, shuffled through a buffer of
/// `capacity` rows when there is a random stream, in stream order otherwise.
pub(crate) fn batches<'s>(
    stream: impl RowStream + 's,
    schema: Schema,
    size: usize,
    capacity: usize,
    rng: Option<Rng>,
) -> Batches<'s> {
    let width = schema.width();
    let capacity = if rng.is_some() { capacity.max(1) } else { 0 };
    Box::new(Batcher {
        stream,
        size: size.max(1),
        rng,
        capacity,
        buffer: Vec::new(),
        index: Vec::new(),
        drain: None,
        row: vec![0.0; width],
        width,
        schema,
        failed: false,
    })
}

/// The iterator of [`batches`].
struct Batcher<S> {
    stream: S,
    schema: Schema,
    size: usize,
    rng: Option<Rng>,
    /// Rows the shuffle buffer holds at most (0 without shuffling).
    capacity: usize,
    /// The buffered rows, `width` values each.
    buffer: Vec<f32>,
    /// Each buffered row's index in the whole data.
    index: Vec<usize>,
    /// Once the stream has ended: the buffer's slots in the order they are emitted, and how
    /// many have been.
    drain: Option<(Vec<usize>, usize)>,
    /// The row being read.
    row: Vec<f32>,
    width: usize,
    /// An error ends the epoch.
    failed: bool,
}

impl<S: RowStream> Batcher<S> {
    /// Emits the next row of the epoch into `out` (values and index); `false` at the end.
    fn next_into(
        &mut self,
        values: &mut Vec<f32>,
        indices: &mut Vec<usize>,
    ) -> Result<bool, Error> {
        let w = self.width;
        let Some(rng) = self.rng.as_mut() else {
            return Ok(match self.stream.next_row(&mut self.row)? {
                Some(i) => {
                    values.extend_from_slice(&self.row);
                    indices.push(i);
                    true
                }
                None => false,
            });
        };
        if self.drain.is_none() {
            // Fill the buffer, then swap each new row for a random buffered one.
            while self.index.len() < self.capacity {
                match self.stream.next_row(&mut self.row)? {
                    Some(i) => {
                        self.buffer.extend_from_slice(&self.row);
                        self.index.push(i);
                    }
                    None => break,
                }
            }
            if self.index.len() == self.capacity
                && let Some(i) = self.stream.next_row(&mut self.row)?
            {
                let j = rng.random_range(0..self.capacity);
                values.extend_from_slice(&self.buffer[j * w..(j + 1) * w]);
                indices.push(self.index[j]);
                self.buffer[j * w..(j + 1) * w].copy_from_slice(&self.row);
                self.index[j] = i;
                return Ok(true);
            }
            let mut order: Vec<usize> = (0..self.index.len()).collect();
            order.shuffle(rng);
            self.drain = Some((order, 0));
        }
        let Some((order, next)) = self.drain.as_mut() else {
            return Ok(false);
        };
        let Some(&j) = order.get(*next) else {
            return Ok(false);
        };
        *next += 1;
        values.extend_from_slice(&self.buffer[j * w..(j + 1) * w]);
        indices.push(self.index[j]);
        Ok(true)
    }

    /// The next batch, or `None` at the end of the epoch.
    fn next_batch(&mut self) -> Result<Option<Batch>, Error> {
        let mut values = Vec::with_capacity(self.size * self.width);
        let mut indices = Vec::with_capacity(self.size);
        while indices.len() < self.size && self.next_into(&mut values, &mut indices)? {}
        if indices.is_empty() {
            return Ok(None);
        }
        Ok(Some(Batch {
            data: split_columns(&self.schema, &values, indices.len())?,
            indices,
        }))
    }
}

impl<S: RowStream> Iterator for Batcher<S> {
    type Item = Result<Batch, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.next_batch();
        self.failed = next.is_err();
        next.transpose()
    }
}

/// `rows` rows of values (row-major, columns in the schema's order) as [`Data`].
fn split_columns(schema: &Schema, values: &[f32], rows: usize) -> Result<Data, Error> {
    let width = schema.width();
    let mut data = Data::new();
    let mut offset = 0;
    for (name, &w) in schema.names.iter().zip(&schema.widths) {
        let mut column = Vec::with_capacity(rows * w);
        for r in 0..rows {
            let start = r * width + offset;
            column.extend_from_slice(&values[start..start + w]);
        }
        data.insert(name, Column::new(name, column, rows, w)?)?;
        offset += w;
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The rows `0..n`, one column whose value is the row index.
    struct Counting {
        next: usize,
        n: usize,
    }

    impl RowStream for Counting {
        fn next_row(&mut self, row: &mut [f32]) -> Result<Option<usize>, Error> {
            if self.next == self.n {
                return Ok(None);
            }
            row[0] = self.next as f32;
            self.next += 1;
            Ok(Some(self.next - 1))
        }
    }

    fn epoch(n: usize, size: usize, capacity: usize, seed: Option<u64>) -> Vec<Batch> {
        let schema = Schema {
            names: vec!["x".to_string()],
            widths: vec![1],
        };
        let rng = seed.map(Rng::seed_from_u64);
        batches(Counting { next: 0, n }, schema, size, capacity, rng)
            .collect::<Result<_, _>>()
            .expect("in-memory rows")
    }

    #[test]
    fn every_row_once_with_its_index() {
        for capacity in [1, 7, 64, 1000] {
            let batches = epoch(100, 16, capacity, Some(3));
            assert_eq!(batches.len(), 7);
            assert_eq!(batches[6].indices.len(), 4);
            let mut seen: Vec<usize> = batches.iter().flat_map(|b| b.indices.clone()).collect();
            for b in &batches {
                let x = b.data.get("x").expect("column x").values();
                let idx: Vec<f32> = b.indices.iter().map(|&i| i as f32).collect();
                assert_eq!(x, &idx[..], "a row keeps its index");
            }
            seen.sort_unstable();
            assert_eq!(seen, (0..100).collect::<Vec<_>>());
        }
    }

    #[test]
    fn unshuffled_keeps_the_order() {
        let order: Vec<usize> = epoch(10, 4, 5, None)
            .iter()
            .flat_map(|b| b.indices.clone())
            .collect();
        assert_eq!(order, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_buffer_that_holds_every_row_is_the_in_memory_permutation() {
        let mut expected: Vec<usize> = (0..50).collect();
        expected.shuffle(&mut Rng::seed_from_u64(9));
        let order: Vec<usize> = epoch(50, 8, 50, Some(9))
            .iter()
            .flat_map(|b| b.indices.clone())
            .collect();
        assert_eq!(order, expected);
        let small: Vec<usize> = epoch(50, 8, 10, Some(9))
            .iter()
            .flat_map(|b| b.indices.clone())
            .collect();
        assert_ne!(small, expected, "a smaller buffer shuffles differently");
        assert_ne!(small, (0..50).collect::<Vec<_>>(), "but it shuffles");
    }
}
