//! Observed data: named columns of `f32` values, checked when they are added.

use burn::tensor::{Device, Tensor, TensorData};
use indexmap::IndexMap;

use crate::Error;

/// One column of data: `rows * cols` values in row-major order.
///
/// # Shapes
/// `[rows, cols]`: one row per data point, `cols` the size of one value (1 for a scalar variable).
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    values: Vec<f32>,
    rows: usize,
    cols: usize,
}

impl Column {
    /// Builds a column from row-major values.
    ///
    /// # Errors
    /// [`Error::Data`] if `values.len() != rows * cols`, a size is zero, or a value is not finite.
    pub fn new(name: &str, values: Vec<f32>, rows: usize, cols: usize) -> Result<Self, Error> {
        let bad = |reason: String| Error::Data {
            column: name.to_string(),
            reason,
        };
        if rows == 0 || cols == 0 {
            return Err(bad(format!(
                "has shape [{rows}, {cols}]; it needs at least one row"
            )));
        }
        if values.len() != rows * cols {
            return Err(bad(format!(
                "has {} values, which is not rows * cols = {rows} * {cols}",
                values.len()
            )));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!(
                "value {} at row {} is not finite",
                values[i],
                i / cols
            )));
        }
        Ok(Self { values, rows, cols })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Size of one value.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The values, row-major.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// The rows `indices` of the column, in that order.
    ///
    /// # Panics
    /// When an index is not below [`Column::rows`] (the callers are the library's batchers).
    pub(crate) fn gather(&self, indices: &[usize]) -> Column {
        let mut values = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            values.extend_from_slice(&self.values[i * self.cols..(i + 1) * self.cols]);
        }
        Column {
            values,
            rows: indices.len(),
            cols: self.cols,
        }
    }

    /// The column as a tensor on `device`.
    ///
    /// # Shapes
    /// Returns `[rows, cols]`.
    pub fn to_tensor(&self, device: &Device) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(self.values.clone(), [self.rows, self.cols]),
            device,
        )
    }
}

/// Values that can become a data column.
///
/// Implemented for `Vec<f32>`, `Vec<f64>`, slices and references to them (one scalar per row),
/// arrays `&[f32; N]` / `&[f64; N]` (one scalar per row), `Vec<[f32; N]>` / `Vec<[f64; N]>` (a vector of `N` per row) and burn tensors (`Tensor<1>`: one
/// scalar per row; `Tensor<2>`: `[rows, cols]`).
pub trait IntoColumn {
    /// Converts into a checked column named `name` (the name is only used in errors).
    ///
    /// # Errors
    /// [`Error::Data`] naming the column when a value is not finite or the shape is empty.
    fn into_column(self, name: &str) -> Result<Column, Error>;
}

macro_rules! scalar_columns {
    ($($t:ty => $conv:expr),* $(,)?) => {$(
        impl IntoColumn for $t {
            fn into_column(self, name: &str) -> Result<Column, Error> {
                #[allow(clippy::redundant_closure_call)]
                let values: Vec<f32> = ($conv)(self);
                let rows = values.len();
                Column::new(name, values, rows, 1)
            }
        }
    )*};
}

scalar_columns! {
    Vec<f32> => |v: Vec<f32>| v,
    &Vec<f32> => |v: &Vec<f32>| v.clone(),
    &[f32] => |v: &[f32]| v.to_vec(),
    Vec<f64> => |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect(),
    &Vec<f64> => |v: &Vec<f64>| v.iter().map(|&x| x as f32).collect(),
    &[f64] => |v: &[f64]| v.iter().map(|&x| x as f32).collect(),
}

impl<const N: usize> IntoColumn for &[f32; N] {
    fn into_column(self, name: &str) -> Result<Column, Error> {
        self[..].into_column(name)
    }
}

impl<const N: usize> IntoColumn for &[f64; N] {
    fn into_column(self, name: &str) -> Result<Column, Error> {
        self[..].into_column(name)
    }
}

impl<const N: usize> IntoColumn for Vec<[f32; N]> {
    fn into_column(self, name: &str) -> Result<Column, Error> {
        let rows = self.len();
        Column::new(name, self.into_iter().flatten().collect(), rows, N)
    }
}

impl<const N: usize> IntoColumn for Vec<[f64; N]> {
    fn into_column(self, name: &str) -> Result<Column, Error> {
        let rows = self.len();
        let values = self.into_iter().flatten().map(|x| x as f32).collect();
        Column::new(name, values, rows, N)
    }
}

impl IntoColumn for Tensor<2> {
    fn into_column(self, name: &str) -> Result<Column, Error> {
        let [rows, cols] = self.dims();
        let values = tensor_values(self, name)?;
        Column::new(name, values, rows, cols)
    }
}

impl IntoColumn for Tensor<1> {
    fn into_column(self, name: &str) -> Result<Column, Error> {
        let [rows] = self.dims();
        let values = tensor_values(self.reshape([rows, 1]), name)?;
        Column::new(name, values, rows, 1)
    }
}

impl IntoColumn for Column {
    fn into_column(self, _name: &str) -> Result<Column, Error> {
        Ok(self)
    }
}

fn tensor_values(t: Tensor<2>, name: &str) -> Result<Vec<f32>, Error> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| Error::Data {
            column: name.to_string(),
            reason: format!("cannot read the tensor: {e:?}"),
        })
}

/// Observed data: columns matched to the model's random variables by name, as in InferPy.
///
/// Every column has the same number of rows; values are checked to be finite when added.
///
/// ```
/// use inferrs_vi::Data;
/// let data = Data::new().with("x", vec![0.5f32, 1.0])?.with("y", vec![1.0f32, 2.0])?;
/// assert_eq!(data.rows(), Some(2));
/// # Ok::<(), inferrs_vi::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Data {
    columns: IndexMap<String, Column>,
}

impl Data {
    /// Empty data.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a column, consuming and returning the data (builder style).
    ///
    /// # Errors
    /// [`Error::Data`] naming the column when a value is not finite, when its row count differs
    /// from the columns already present, or when the name is already used.
    pub fn with(mut self, name: &str, values: impl IntoColumn) -> Result<Self, Error> {
        self.insert(name, values)?;
        Ok(self)
    }

    /// Adds a column.
    ///
    /// # Errors
    /// As [`Data::with`].
    pub fn insert(&mut self, name: &str, values: impl IntoColumn) -> Result<(), Error> {
        let column = values.into_column(name)?;
        if self.columns.contains_key(name) {
            return Err(Error::Data {
                column: name.to_string(),
                reason: "is given twice".to_string(),
            });
        }
        if let Some((first, c)) = self.columns.first()
            && c.rows != column.rows
        {
            return Err(Error::Data {
                column: name.to_string(),
                reason: format!(
                    "has {} rows but column `{first}` has {}",
                    column.rows, c.rows
                ),
            });
        }
        self.columns.insert(name.to_string(), column);
        Ok(())
    }

    /// Builds data from `(name, values)` pairs of one type.
    ///
    /// # Errors
    /// As [`Data::with`].
    pub fn from_columns<S: AsRef<str>, C: IntoColumn>(
        columns: impl IntoIterator<Item = (S, C)>,
    ) -> Result<Self, Error> {
        let mut data = Self::new();
        for (name, values) in columns {
            data.insert(name.as_ref(), values)?;
        }
        Ok(data)
    }

    /// Reads data from a CSV file with a header row: one column per header name, every value a
    /// number. The file is read as [`CsvSource`](crate::CsvSource) streams it, with the same
    /// checks, into memory.
    ///
    /// # Errors
    /// [`Error::Data`] naming the file and, where one is at fault, the column and the row
    /// (counting data rows from 0): a value that is not a finite number, a missing value, a
    /// ragged row, a header with an unnamed or repeated column, an empty file or one with a
    /// header and no rows, a file that cannot be read.
    pub fn from_csv(path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        use crate::source::DataSource as _;
        let path = path.as_ref();
        let mut source = crate::CsvSource::open(path)?;
        let rows = source.rows();
        let mut batches = source.epoch(rows, None)?;
        match batches.next() {
            Some(batch) => Ok(batch?.data),
            None => Err(Error::Data {
                column: format!("(file {})", path.display()),
                reason: "has no rows".to_string(),
            }),
        }
    }

    /// Number of rows, or `None` when there is no column.
    pub fn rows(&self) -> Option<usize> {
        self.columns.first().map(|(_, c)| c.rows)
    }

    /// Column names in insertion order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.keys().map(String::as_str)
    }

    /// The column named `name`.
    pub fn get(&self, name: &str) -> Option<&Column> {
        self.columns.get(name)
    }

    /// Whether there is a column named `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.columns.contains_key(name)
    }

    /// The rows `indices` of every column, in that order.
    ///
    /// # Panics
    /// When an index is not below the number of rows.
    pub(crate) fn gather(&self, indices: &[usize]) -> Data {
        Data {
            columns: self
                .columns
                .iter()
                .map(|(n, c)| (n.clone(), c.gather(indices)))
                .collect(),
        }
    }

    /// The columns as tensors on `device`, skipping the names in `skip`.
    pub(crate) fn tensors(&self, device: &Device, skip: &[String]) -> IndexMap<String, Tensor<2>> {
        self.columns
            .iter()
            .filter(|(n, _)| !skip.iter().any(|s| s == *n))
            .map(|(n, c)| (n.clone(), c.to_tensor(device)))
            .collect()
    }
}
