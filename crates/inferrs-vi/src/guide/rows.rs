//! [`Rows`]: the data rows a run covers, all of them or a batch of the fit's rows.

use burn::tensor::{Device, Int, Tensor, TensorData};

/// The data rows a run of a guide or model covers: `count` rows, either a whole data set or a
/// batch of the rows of the fit (by their 0-based index in the whole data).
#[derive(Clone, Debug)]
pub struct Rows {
    count: usize,
    batch: Option<(Tensor<1, Int>, usize)>,
}

impl Rows {
    /// All `count` rows of a data set.
    pub fn all(count: usize) -> Self {
        Self { count, batch: None }
    }

    /// The rows `indices` of data with `total` rows, as an index tensor on `device`.
    pub fn batch(indices: &[usize], total: usize, device: &Device) -> Self {
        let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
        let tensor = Tensor::<1, Int>::from_data(TensorData::new(idx, [indices.len()]), device);
        Self {
            count: indices.len(),
            batch: Some((tensor, total)),
        }
    }

    /// Number of rows of the run.
    pub fn count(&self) -> usize {
        self.count
    }

    /// How a per-row parameter of `fit_rows` rows is read for this run: `Some(None)` whole,
    /// `Some(Some(indices))` at the batch's rows, `None` when the run's rows are not rows of
    /// the fit.
    pub fn of_fit(&self, fit_rows: usize) -> Option<Option<&Tensor<1, Int>>> {
        match &self.batch {
            None => (self.count == fit_rows).then_some(None),
            Some((indices, total)) => (*total == fit_rows).then_some(Some(indices)),
        }
    }
}
