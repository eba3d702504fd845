//! [`CsvSource`]: a CSV file streamed row by row, never held whole.

use std::fs::File;
use std::path::{Path, PathBuf};

use inferrs_distributions::Rng;

use super::stream::{DEFAULT_SHUFFLE_BUFFER, RowStream, Schema, batches};
use super::{Batches, DataSource, epoch_rng, file_error};
use crate::Error;

/// A CSV file with a header row, read one row at a time: a fit on it holds one batch and the
/// shuffle buffer, whatever the number of rows. Every column is a number per row, as for
/// [`Data::from_csv`](crate::Data::from_csv).
///
/// Opening the file reads it once, to check the header and count the rows; each epoch reads
/// it again. With a shuffle, rows go through a buffer of
/// [`shuffle_buffer`](CsvSource::shuffle_buffer) rows ([`DEFAULT_SHUFFLE_BUFFER`] unless
/// told): while it holds every row, a fit is bit-identical to the fit of the same rows in
/// memory.
///
/// ```no_run
/// use inferrs_vi::{CsvSource, DataSource};
/// let source = CsvSource::open("rows.csv")?.shuffle_buffer(10_000);
/// println!("{} rows of {:?}", source.rows(), source.names());
/// # Ok::<(), inferrs_vi::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct CsvSource {
    path: PathBuf,
    names: Vec<String>,
    rows: usize,
    buffer: usize,
    /// The rows it reads: those whose index is `rank` modulo `ranks` (all: 0 of 1).
    shard: (usize, usize),
}

impl CsvSource {
    /// Opens `path`: reads the header and counts the rows (checking that every row has one
    /// field per column; the values are checked as they are read).
    ///
    /// # Errors
    /// [`Error::Data`] naming the file when it cannot be read, has no header or no rows, or a
    /// column has no name or the name of another.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let mut reader = open_reader(&path)?;
        let names = header(&path, &mut reader)?;
        let mut record = csv::ByteRecord::new();
        let mut rows = 0;
        while reader
            .read_byte_record(&mut record)
            .map_err(|e| file_error(&path, format!("row {rows}: {e}")))?
        {
            rows += 1;
        }
        if rows == 0 {
            return Err(file_error(&path, "has a header but no rows".to_string()));
        }
        Ok(Self {
            path,
            names,
            rows,
            shard: (0, 1),
            buffer: DEFAULT_SHUFFLE_BUFFER,
        })
    }

    /// Rows of the shuffle buffer (at least 1).
    pub fn shuffle_buffer(mut self, rows: usize) -> Self {
        self.buffer = rows.max(1);
        self
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl DataSource for CsvSource {
    fn names(&self) -> Vec<String> {
        self.names.clone()
    }

    fn rows(&self) -> usize {
        self.rows
    }

    /// The rows `rank, rank + ranks, ...` of the file (every rank reads the file, and parses
    /// only its rows).
    fn shard(&self, rank: usize, ranks: usize) -> Result<Box<dyn DataSource>, Error> {
        if self.shard != (0, 1) {
            return Err(Error::InvalidOption {
                option: "distributed",
                reason: format!("{} is already a shard", self.path.display()),
            });
        }
        let ranks = ranks.max(1);
        let rows = self.rows.saturating_sub(rank).div_ceil(ranks);
        if rows == 0 {
            return Err(Error::InvalidOption {
                option: "distributed",
                reason: format!(
                    "rank {rank} of {ranks} has no rows: {} has {} rows",
                    self.path.display(),
                    self.rows
                ),
            });
        }
        Ok(Box::new(Self {
            rows,
            shard: (rank, ranks),
            ..self.clone()
        }))
    }

    fn epoch<'s>(
        &'s mut self,
        size: usize,
        shuffle: Option<&mut Rng>,
    ) -> Result<Batches<'s>, Error> {
        let mut reader = open_reader(&self.path)?;
        header(&self.path, &mut reader)?;
        let stream = CsvRows {
            reader,
            path: &self.path,
            names: &self.names,
            record: csv::StringRecord::new(),
            next: 0,
            shard: self.shard,
        };
        let schema = Schema {
            names: self.names.clone(),
            widths: vec![1; self.names.len()],
        };
        Ok(batches(
            stream,
            schema,
            size,
            self.buffer,
            epoch_rng(shuffle),
        ))
    }
}

/// The rows of a CSV file, front to back.
struct CsvRows<'s> {
    reader: csv::Reader<File>,
    path: &'s Path,
    names: &'s [String],
    record: csv::StringRecord,
    next: usize,
    /// Rows `rank` modulo `ranks` are read; a row's index is its index among them.
    shard: (usize, usize),
}

impl RowStream for CsvRows<'_> {
    fn next_row(&mut self, row: &mut [f32]) -> Result<Option<usize>, Error> {
        let (rank, ranks) = self.shard;
        let r = loop {
            let r = self.next;
            let more = self
                .reader
                .read_record(&mut self.record)
                .map_err(|e| file_error(self.path, format!("row {r}: {e}")))?;
            if !more {
                return Ok(None);
            }
            if r % ranks == rank {
                break r;
            }
            self.next += 1;
        };
        for (c, name) in self.names.iter().enumerate() {
            let field = self.record.get(c).unwrap_or("").trim();
            row[c] = match field.parse::<f32>() {
                Ok(v) if v.is_finite() => v,
                _ => {
                    return Err(Error::Data {
                        column: name.clone(),
                        reason: format!(
                            "value {field:?} at row {r} of {} is not a finite number",
                            self.path.display()
                        ),
                    });
                }
            };
        }
        self.next += 1;
        Ok(Some(r / ranks))
    }
}

fn open_reader(path: &Path) -> Result<csv::Reader<File>, Error> {
    csv::Reader::from_path(path).map_err(|e| file_error(path, e.to_string()))
}

/// The checked column names of the header.
fn header(path: &Path, reader: &mut csv::Reader<File>) -> Result<Vec<String>, Error> {
    let names: Vec<String> = reader
        .headers()
        .map_err(|e| file_error(path, e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if names.is_empty() || names.iter().all(String::is_empty) {
        return Err(file_error(
            path,
            "is empty: it has no header row".to_string(),
        ));
    }
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(file_error(
                path,
                format!("column {} of the header has no name", i + 1),
            ));
        }
        if names[..i].contains(name) {
            return Err(file_error(
                path,
                format!("the header names column `{name}` twice"),
            ));
        }
    }
    Ok(names)
}
