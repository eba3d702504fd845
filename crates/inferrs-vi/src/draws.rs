//! What queries return, on the host: [`Draws`] of variables as [`Array`]s with their
//! [`Summary`], and [`LogProbs`].

use burn::tensor::Tensor;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::Error;

/// Values of one variable from a query, on the host.
///
/// # Shapes
/// `[rows, event]` for one draw per row, `[draws, rows, event]` for [`Predictive::sample_n`](crate::Predictive::sample_n).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Array {
    /// The shape.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: Vec<f32>,
}

impl Array {
    /// The values, row-major.
    pub fn to_vec(&self) -> Vec<f32> {
        self.values.clone()
    }

    /// The values as a slice, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.values
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values per draw: the array seen as `[draws, rest]`, the first axis being the draws
    /// (`sample_n`'s `k`, or the rows of a single `sample`).
    fn per_draw(&self) -> (usize, usize) {
        let draws = self.shape.first().copied().unwrap_or(1).max(1);
        (draws, self.values.len() / draws)
    }

    /// The column `j` of the `[draws, rest]` view, as f64.
    fn column(&self, j: usize) -> Vec<f64> {
        let (draws, width) = self.per_draw();
        (0..draws)
            .map(|i| f64::from(self.values[i * width + j]))
            .collect()
    }

    /// The mean over the first axis (the draws of `sample_n`).
    ///
    /// # Shapes
    /// `[k, rows, event]` gives `rows * event` values (row-major).
    pub fn mean(&self) -> Vec<f64> {
        let (_, width) = self.per_draw();
        (0..width)
            .map(|j| {
                let c = self.column(j);
                c.iter().sum::<f64>() / c.len() as f64
            })
            .collect()
    }

    /// The sample standard deviation (denominator `draws - 1`) over the first axis.
    pub fn sd(&self) -> Vec<f64> {
        let (_, width) = self.per_draw();
        (0..width)
            .map(|j| {
                let c = self.column(j);
                let n = c.len() as f64;
                let m = c.iter().sum::<f64>() / n;
                (c.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt()
            })
            .collect()
    }

    /// The `q`-quantile over the first axis (`q` in `[0, 1]`, linear interpolation between
    /// order statistics, as NumPy's default).
    pub fn quantile(&self, q: f64) -> Vec<f64> {
        let (_, width) = self.per_draw();
        let q = q.clamp(0.0, 1.0);
        (0..width)
            .map(|j| {
                let mut c = self.column(j);
                c.sort_by(f64::total_cmp);
                let pos = q * (c.len() - 1) as f64;
                let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                c[lo] + (pos - lo as f64) * (c[hi] - c[lo])
            })
            .collect()
    }

    /// Mean, standard deviation and the 5%, 50% and 95% quantiles over the first axis.
    pub fn summary(&self) -> Summary {
        Summary {
            mean: self.mean(),
            sd: self.sd(),
            q05: self.quantile(0.05),
            median: self.quantile(0.5),
            q95: self.quantile(0.95),
        }
    }
}

/// Summaries of the draws of a variable, each element over the draws ([`Array::summary`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Means.
    pub mean: Vec<f64>,
    /// Standard deviations.
    pub sd: Vec<f64>,
    /// 5% quantiles.
    pub q05: Vec<f64>,
    /// Medians.
    pub median: Vec<f64>,
    /// 95% quantiles.
    pub q95: Vec<f64>,
}

impl std::fmt::Display for Summary {
    /// One line per element: `mean  sd  5%  50%  95%`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:>10} {:>10} {:>10} {:>10} {:>10}",
            "mean", "sd", "5%", "50%", "95%"
        )?;
        for i in 0..self.mean.len() {
            writeln!(
                f,
                "{:>10.4} {:>10.4} {:>10.4} {:>10.4} {:>10.4}",
                self.mean[i], self.sd[i], self.q05[i], self.median[i], self.q95[i]
            )?;
        }
        Ok(())
    }
}

/// Draws of the query's target variables, by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Draws {
    pub(crate) vars: IndexMap<String, Array>,
}

impl Draws {
    /// The draws of `name`, if it was a target.
    pub fn get(&self, name: &str) -> Option<&Array> {
        self.vars.get(name)
    }

    /// The target names, in query order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }
}

impl std::ops::Index<&str> for Draws {
    type Output = Array;

    /// # Panics
    /// When `name` was not a target of the query (a programmer's mistake; use [`Draws::get`]).
    fn index(&self, name: &str) -> &Array {
        self.vars
            .get(name)
            .unwrap_or_else(|| panic!("`{name}` was not a target of this query"))
    }
}

/// Log-densities from [`Model::log_prob`](crate::Model::log_prob), row by row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogProbs {
    per_row: IndexMap<String, Vec<f32>>,
}

impl LogProbs {
    pub(crate) fn new(per_row: IndexMap<String, Vec<f32>>) -> Self {
        Self { per_row }
    }

    /// The log-density of `name` at every row.
    pub fn get(&self, name: &str) -> Option<&[f32]> {
        self.per_row.get(name).map(Vec::as_slice)
    }

    /// The sum over the named variables, row by row. A global variable has one term, which
    /// is counted once, in the first row, so that the rows sum to [`LogProbs::sum`].
    pub fn per_row(&self) -> Vec<f64> {
        let rows = self.per_row.values().map(Vec::len).max().unwrap_or(0);
        (0..rows)
            .map(|i| {
                self.per_row
                    .values()
                    .filter_map(|v| v.get(i))
                    .map(|&x| f64::from(x))
                    .sum()
            })
            .collect()
    }

    /// The sum over variables and rows.
    pub fn sum(&self) -> f64 {
        self.per_row().iter().sum()
    }

    /// The mean over rows of the per-row sum (the negative of a mean NLL).
    pub fn mean(&self) -> f64 {
        let rows = self.per_row();
        rows.iter().sum::<f64>() / rows.len().max(1) as f64
    }
}

pub(crate) fn host_values<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, Error> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| Error::Device(format!("{e:?}")))
}
