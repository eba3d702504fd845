//! [`ParquetSource`]: a Parquet file read one row group at a time, through the `parquet`
//! crate's Arrow reader; and [`ParquetWriter`] / [`write_parquet`], which write one.
//!
//! A column is a number per row (an integer, `f32` or `f64`, read as `f32`), or a vector per
//! row: a struct of numbers (what [`ParquetWriter`] writes: one Parquet leaf column per
//! component, decoded without repetition levels, about three times faster to read) or a
//! fixed-size list of numbers (what pyarrow writes for a column of arrays). Nulls are refused.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, FixedSizeListArray, Float32Array, RecordBatch, StructArray};
use arrow_schema::{DataType, Field, Fields, Schema as ArrowSchema};
use inferrs_distributions::Rng;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::file::properties::WriterProperties;
use rand::seq::SliceRandom;

use super::stream::{DEFAULT_SHUFFLE_BUFFER, RowStream, Schema, batches};
use super::{Batches, DataSource, epoch_rng, file_error};
use crate::file::AtomicFile;
use crate::{Data, Error};

/// Rows per Arrow record batch the reader decodes at a time.
const READ_BATCH: usize = 8192;

/// A Parquet file, read one row group at a time: a fit on it holds one record batch, one
/// batch of the fit and the shuffle buffer, whatever the number of rows. The row count comes
/// from the file's metadata.
///
/// With a shuffle, rows go through a buffer of [`shuffle_buffer`](ParquetSource::shuffle_buffer)
/// rows ([`DEFAULT_SHUFFLE_BUFFER`] unless told). While the buffer holds every row, a fit is
/// bit-identical to the fit of the same rows in memory; when it cannot, the row groups are
/// also read in a seeded random order, so that rows far apart in the file meet in a batch.
///
/// ```no_run
/// use inferrs_vi::{DataSource, ParquetSource};
/// let source = ParquetSource::open("rows.parquet")?;
/// println!("{} rows of {:?}", source.rows(), source.names());
/// # Ok::<(), inferrs_vi::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ParquetSource {
    path: PathBuf,
    metadata: ArrowReaderMetadata,
    schema: Schema,
    /// The row groups this source reads (all of the file's, or a shard's): each one's index in
    /// the file, its first row in this source and its row count.
    groups: Vec<(usize, usize, usize)>,
    rows: usize,
    buffer: usize,
}

impl ParquetSource {
    /// Opens `path` and reads its metadata (schema, row groups, row count).
    ///
    /// # Errors
    /// [`Error::Data`] naming the file when it cannot be read or is not Parquet, has no rows,
    /// and naming the column when its type is not a number or a fixed-size list of numbers.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|e| file_error(&path, e.to_string()))?;
        let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
            .map_err(|e| file_error(&path, e.to_string()))?;
        let mut names = Vec::new();
        let mut widths = Vec::new();
        for field in metadata.schema().fields() {
            widths.push(width_of(field.data_type()).ok_or_else(|| Error::Data {
                column: field.name().clone(),
                reason: format!(
                    "has type {} in {}: a column must be numbers, or fixed-size lists of them",
                    field.data_type(),
                    path.display()
                ),
            })?);
            names.push(field.name().clone());
        }
        let mut groups = Vec::new();
        let mut rows = 0;
        for (id, g) in metadata.metadata().row_groups().iter().enumerate() {
            let n = usize::try_from(g.num_rows()).unwrap_or(0);
            groups.push((id, rows, n));
            rows += n;
        }
        if rows == 0 {
            return Err(file_error(&path, "has no rows".to_string()));
        }
        Ok(Self {
            path,
            metadata,
            schema: Schema { names, widths },
            groups,
            rows,
            buffer: DEFAULT_SHUFFLE_BUFFER,
        })
    }

    /// Rows of the shuffle buffer (at least 1).
    pub fn shuffle_buffer(mut self, rows: usize) -> Self {
        self.buffer = rows.max(1);
        self
    }

    /// Number of row groups of the file (of the shard, for a shard).
    pub fn row_groups(&self) -> usize {
        self.groups.len()
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl DataSource for ParquetSource {
    fn names(&self) -> Vec<String> {
        self.schema.names.clone()
    }

    fn rows(&self) -> usize {
        self.rows
    }

    /// The row groups `rank, rank + ranks, ...` of the file: a rank reads only its own.
    fn shard(&self, rank: usize, ranks: usize) -> Result<Box<dyn DataSource>, Error> {
        let mut shard = self.clone();
        shard.groups.clear();
        shard.rows = 0;
        for &(id, _, n) in self.groups.iter().skip(rank).step_by(ranks.max(1)) {
            shard.groups.push((id, shard.rows, n));
            shard.rows += n;
        }
        if shard.rows == 0 {
            return Err(Error::InvalidOption {
                option: "distributed",
                reason: format!(
                    "rank {rank} of {ranks} has no rows: {} has {} row groups, one rank's \
                     shard is whole row groups (write it with at least {ranks})",
                    self.path.display(),
                    self.groups.len()
                ),
            });
        }
        Ok(Box::new(shard))
    }

    fn epoch<'s>(
        &'s mut self,
        size: usize,
        shuffle: Option<&mut Rng>,
    ) -> Result<Batches<'s>, Error> {
        let mut rng = epoch_rng(shuffle);
        let mut order: Vec<usize> = (0..self.groups.len()).collect();
        if self.rows > self.buffer
            && let Some(rng) = rng.as_mut()
        {
            order.shuffle(rng);
        }
        let stream = ParquetRows {
            source: self,
            order,
            next_group: 0,
            reader: None,
            current: None,
        };
        Ok(batches(stream, self.schema.clone(), size, self.buffer, rng))
    }
}

/// A decoded record batch: each column's values (row-major within the column) and where its
/// rows start in the whole data.
struct Decoded {
    columns: Vec<Vec<f32>>,
    first: usize,
    rows: usize,
    next: usize,
}

/// The rows of the row groups of a file, in the order `order`.
struct ParquetRows<'s> {
    source: &'s ParquetSource,
    order: Vec<usize>,
    next_group: usize,
    /// The open row group's reader and the index of its next row in the whole data.
    reader: Option<(ParquetRecordBatchReader, usize)>,
    current: Option<Decoded>,
}

impl ParquetRows<'_> {
    /// Decodes the next record batch; `false` after the last row group.
    fn advance(&mut self) -> Result<bool, Error> {
        let path = &self.source.path;
        loop {
            if let Some((reader, first)) = self.reader.as_mut() {
                if let Some(batch) = reader.next() {
                    let batch = batch.map_err(|e| file_error(path, e.to_string()))?;
                    let start = *first;
                    *first += batch.num_rows();
                    self.current = Some(decode(&self.source.schema, &batch, start, path)?);
                    return Ok(true);
                }
                self.reader = None;
            }
            let Some(&g) = self.order.get(self.next_group) else {
                return Ok(false);
            };
            self.next_group += 1;
            let file = File::open(path).map_err(|e| file_error(path, e.to_string()))?;
            let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
                file,
                self.source.metadata.clone(),
            )
            .with_row_groups(vec![self.source.groups[g].0])
            .with_batch_size(READ_BATCH)
            .build()
            .map_err(|e| file_error(path, e.to_string()))?;
            self.reader = Some((reader, self.source.groups[g].1));
        }
    }
}

impl RowStream for ParquetRows<'_> {
    fn next_row(&mut self, row: &mut [f32]) -> Result<Option<usize>, Error> {
        while self.current.as_ref().is_none_or(|d| d.next == d.rows) {
            if !self.advance()? {
                return Ok(None);
            }
        }
        let Some(d) = self.current.as_mut() else {
            return Ok(None);
        };
        let r = d.next;
        let mut offset = 0;
        for (values, &w) in d.columns.iter().zip(&self.source.schema.widths) {
            row[offset..offset + w].copy_from_slice(&values[r * w..(r + 1) * w]);
            offset += w;
        }
        d.next += 1;
        Ok(Some(d.first + r))
    }
}

/// Values per row of a column of type `t`: 1 for a number, `k` for a fixed-size list of `k`
/// numbers; `None` for anything else.
fn width_of(t: &DataType) -> Option<usize> {
    match t {
        DataType::FixedSizeList(item, k) if is_number(item.data_type()) => {
            usize::try_from(*k).ok().filter(|&k| k > 0)
        }
        DataType::Struct(fields)
            if !fields.is_empty() && fields.iter().all(|f| is_number(f.data_type())) =>
        {
            Some(fields.len())
        }
        t if is_number(t) => Some(1),
        _ => None,
    }
}

/// The types [`numbers`] reads: integers and `f32` / `f64`.
fn is_number(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Float32
            | DataType::Float64
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    )
}

/// A record batch's columns as `f32` values, checked: no nulls, every value finite.
fn decode(
    schema: &Schema,
    batch: &RecordBatch,
    first: usize,
    path: &Path,
) -> Result<Decoded, Error> {
    let mut columns = Vec::with_capacity(schema.names.len());
    for (c, name) in schema.names.iter().enumerate() {
        let array = batch.column(c);
        let bad = |row: usize, what: &str| Error::Data {
            column: name.clone(),
            reason: format!("{what} at row {} of {}", first + row, path.display()),
        };
        if let Some(r) = first_null(array.as_ref()) {
            return Err(bad(r, "a null value"));
        }
        let (values, width) = match array.data_type() {
            DataType::FixedSizeList(_, _) => {
                let list: &FixedSizeListArray = array.as_fixed_size_list();
                let w = list.value_length() as usize;
                let inner = list.values().slice(list.offset() * w, list.len() * w);
                (numbers(&inner, w).map_err(|r| bad(r, "a null value"))?, w)
            }
            DataType::Struct(_) => {
                let parts = array.as_struct();
                let w = parts.num_columns();
                let mut values = vec![0.0f32; parts.len() * w];
                for (k, child) in parts.columns().iter().enumerate() {
                    let child = numbers(child, 1).map_err(|r| bad(r, "a null value"))?;
                    for (r, v) in child.into_iter().enumerate() {
                        values[r * w + k] = v;
                    }
                }
                (values, w)
            }
            _ => (numbers(array, 1).map_err(|r| bad(r, "a null value"))?, 1),
        };
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(bad(
                i / width,
                &format!("value {} is not finite", values[i]),
            ));
        }
        columns.push(values);
    }
    Ok(Decoded {
        columns,
        first,
        rows: batch.num_rows(),
        next: 0,
    })
}

fn first_null(array: &dyn Array) -> Option<usize> {
    (array.null_count() > 0).then(|| (0..array.len()).find(|&i| array.is_null(i)))?
}

/// The values of a numeric array as `f32`; a null is an error with its row (values of
/// `width` per row). The schema was checked at open: another type is not a number.
fn numbers(array: &ArrayRef, width: usize) -> Result<Vec<f32>, usize> {
    if let Some(i) = first_null(array.as_ref()) {
        return Err(i / width.max(1));
    }
    macro_rules! cast {
        ($($t:ty),*) => {
            match array.data_type() {
                $(t if t == &<$t as arrow_array::types::ArrowPrimitiveType>::DATA_TYPE => Ok(
                    array.as_primitive::<$t>().values().iter().map(|&v| v.to_f32()).collect(),
                ),)*
                _ => Ok(Vec::new()),
            }
        };
    }
    cast!(
        Float32Type,
        Float64Type,
        Int8Type,
        Int16Type,
        Int32Type,
        Int64Type,
        UInt8Type,
        UInt16Type,
        UInt32Type,
        UInt64Type
    )
}

/// The numeric types a Parquet column may hold, as `f32` (rounded to the nearest, as the CSV
/// reader's parse does).
trait ToF32: Copy {
    fn to_f32(self) -> f32;
}

macro_rules! to_f32 {
    ($($t:ty),*) => {$(
        impl ToF32 for $t {
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
            fn to_f32(self) -> f32 {
                self as f32
            }
        }
    )*};
}

to_f32!(f32, f64, i8, i16, i32, i64, u8, u16, u32, u64);

/// Writes rows to a Parquet file batch by batch, so that a file larger than memory can be
/// written: `Float32` columns (a struct of `Float32` components `"0"`, `"1"`, ... for a
/// column of vectors), uncompressed. The file appears whole or not at all: rows go to a temporary file in the
/// same directory, which [`finish`](ParquetWriter::finish) syncs and renames.
pub struct ParquetWriter {
    path: PathBuf,
    schema: Option<(Arc<ArrowSchema>, Vec<String>, Vec<usize>)>,
    rows_per_group: usize,
    /// The temporary file, removed when dropped before the commit.
    atomic: AtomicFile,
    /// The temporary file until the first write opens the writer on it.
    pending: Option<File>,
    writer: Option<ArrowWriter<File>>,
}

impl std::fmt::Debug for ParquetWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetWriter")
            .field("path", &self.path)
            .field("rows_per_group", &self.rows_per_group)
            .finish_non_exhaustive()
    }
}

impl ParquetWriter {
    /// A writer of `path` with row groups of `rows_per_group` rows (at least 1).
    ///
    /// # Errors
    /// [`Error::Data`] naming the file when the temporary file cannot be created.
    pub fn create(path: impl AsRef<Path>, rows_per_group: usize) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let (atomic, file) =
            AtomicFile::create(&path).map_err(|e| file_error(&path, e.to_string()))?;
        Ok(Self {
            path,
            atomic,
            pending: Some(file),
            schema: None,
            rows_per_group: rows_per_group.max(1),
            writer: None,
        })
    }

    /// Appends the rows of `data`. The first call fixes the columns: later ones must have the
    /// same names, in the same order, and widths.
    ///
    /// # Errors
    /// [`Error::Data`] naming the column when `data` does not match the first call's columns,
    /// or the file when writing fails.
    pub fn write(&mut self, data: &Data) -> Result<(), Error> {
        let names: Vec<String> = data.names().map(str::to_string).collect();
        let widths: Vec<usize> = names
            .iter()
            .map(|n| data.get(n).map_or(1, crate::Column::cols))
            .collect();
        let path = self.path.clone();
        let (schema, first_names, first_widths) = match &self.schema {
            Some(s) => s.clone(),
            None => {
                let fields: Vec<Field> = names
                    .iter()
                    .zip(&widths)
                    .map(|(n, &w)| Field::new(n, arrow_type(w), false))
                    .collect();
                let schema = Arc::new(ArrowSchema::new(fields));
                let file = self
                    .pending
                    .take()
                    .ok_or_else(|| file_error(&path, "the writer failed earlier".to_string()))?;
                let props = WriterProperties::builder()
                    .set_max_row_group_row_count(Some(self.rows_per_group))
                    .build();
                let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
                    .map_err(|e| file_error(&path, e.to_string()))?;
                self.writer = Some(writer);
                self.schema = Some((schema.clone(), names.clone(), widths.clone()));
                (schema, names.clone(), widths.clone())
            }
        };
        if names != first_names || widths != first_widths {
            return Err(Error::Data {
                column: names.join(", "),
                reason: format!(
                    "the columns differ from those first written to {}: {first_names:?} of widths {first_widths:?}",
                    path.display()
                ),
            });
        }
        let arrays: Vec<ArrayRef> = names
            .iter()
            .zip(&widths)
            .map(|(n, &w)| {
                let values = data.get(n).map(|c| c.values().to_vec()).unwrap_or_default();
                if w == 1 {
                    return Arc::new(Float32Array::from(values)) as ArrayRef;
                }
                let rows = values.len() / w;
                let parts: Vec<ArrayRef> = (0..w)
                    .map(|k| {
                        let part: Vec<f32> = (0..rows).map(|r| values[r * w + k]).collect();
                        Arc::new(Float32Array::from(part)) as ArrayRef
                    })
                    .collect();
                Arc::new(StructArray::new(components(w), parts, None)) as ArrayRef
            })
            .collect();
        let batch =
            RecordBatch::try_new(schema, arrays).map_err(|e| file_error(&path, e.to_string()))?;
        if let Some(writer) = self.writer.as_mut() {
            writer
                .write(&batch)
                .map_err(|e| file_error(&path, e.to_string()))?;
        }
        Ok(())
    }

    /// Finishes the file: writes the footer, syncs, and renames it into place.
    ///
    /// # Errors
    /// [`Error::Data`] naming the file when nothing was written or writing fails (the
    /// temporary file is then removed, and a file already at the path is untouched).
    pub fn finish(mut self) -> Result<(), Error> {
        let path = self.path.clone();
        let writer = self
            .writer
            .take()
            .ok_or_else(|| file_error(&path, "no rows were written".to_string()))?;
        let file = writer
            .into_inner()
            .map_err(|e| file_error(&path, e.to_string()))?;
        self.atomic
            .commit(file)
            .map_err(|e| file_error(&path, e.to_string()))
    }
}

/// Writes `data` to the Parquet file `path` (atomically, as [`ParquetWriter`]), in row
/// groups of `rows_per_group` rows.
///
/// # Errors
/// As [`ParquetWriter::write`] and [`ParquetWriter::finish`].
pub fn write_parquet(
    data: &Data,
    path: impl AsRef<Path>,
    rows_per_group: usize,
) -> Result<(), Error> {
    let mut writer = ParquetWriter::create(path, rows_per_group)?;
    writer.write(data)?;
    writer.finish()
}

fn arrow_type(width: usize) -> DataType {
    if width == 1 {
        DataType::Float32
    } else {
        DataType::Struct(components(width))
    }
}

/// The fields of a vector column of `width` components, `"0"`, `"1"`, ...
fn components(width: usize) -> Fields {
    (0..width)
        .map(|k| Field::new(k.to_string(), DataType::Float32, false))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("inferrs-parquet-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    /// Writes `columns` as one record batch with arrow's own writer (as pyarrow would).
    fn write_arrow(path: &Path, columns: Vec<(&str, ArrayRef)>) {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let file = File::create(path).unwrap();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }

    fn read_all(path: &Path) -> Result<Vec<crate::source::Batch>, Error> {
        ParquetSource::open(path)?.epoch(100, None)?.collect()
    }

    /// A fixed-size list column (pyarrow's column of arrays) and integer and `f64` columns
    /// read as the in-memory data with the same values.
    #[test]
    fn fixed_size_lists_and_other_number_types() {
        let path = scratch("lists.parquet");
        let flat = Arc::new(Float32Array::from(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0])) as ArrayRef;
        let item = Arc::new(Field::new("item", DataType::Float32, true));
        let list = Arc::new(FixedSizeListArray::new(item, 2, flat, None)) as ArrayRef;
        let ints = Arc::new(arrow_array::Int64Array::from(vec![7i64, -8, 9])) as ArrayRef;
        let wide = Arc::new(arrow_array::Float64Array::from(vec![0.5f64, 1.5, 2.5])) as ArrayRef;
        write_arrow(&path, vec![("v", list), ("k", ints), ("d", wide)]);
        let batches = read_all(&path).unwrap();
        let want = Data::new()
            .with("v", vec![[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]])
            .unwrap()
            .with("k", vec![7.0f32, -8.0, 9.0])
            .unwrap()
            .with("d", vec![0.5f32, 1.5, 2.5])
            .unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].data, want);
        assert_eq!(batches[0].indices, [0, 1, 2]);
    }

    /// A null is an error naming the column and its row; a column of text is refused at open,
    /// naming it and its type.
    #[test]
    fn nulls_and_other_types_are_errors_naming_the_column() {
        let path = scratch("nulls.parquet");
        let y = Arc::new(Float32Array::from(vec![Some(1.0f32), Some(2.0), None])) as ArrayRef;
        write_arrow(&path, vec![("y", y)]);
        match read_all(&path) {
            Err(Error::Data { column, reason }) => {
                assert_eq!(column, "y");
                assert!(
                    reason.contains("null") && reason.contains("row 2"),
                    "{reason}"
                );
            }
            other => panic!("expected a data error, got {other:?}"),
        }
        let path = scratch("text.parquet");
        let s = Arc::new(arrow_array::StringArray::from(vec!["a", "b"])) as ArrayRef;
        write_arrow(&path, vec![("s", s)]);
        match ParquetSource::open(&path) {
            Err(Error::Data { column, reason }) => {
                assert_eq!(column, "s");
                assert!(reason.contains("Utf8"), "{reason}");
            }
            other => panic!("expected a data error, got {other:?}"),
        }
    }

    /// A value that is not finite is an error naming the column and the row.
    #[test]
    fn a_non_finite_value_names_its_row() {
        let path = scratch("nan.parquet");
        let y = Arc::new(Float32Array::from(vec![1.0f32, f32::NAN])) as ArrayRef;
        write_arrow(&path, vec![("y", y)]);
        let err = read_all(&path).unwrap_err().to_string();
        assert!(
            err.contains("`y`") && err.contains("row 1") && err.contains("NaN"),
            "{err}"
        );
    }
}
