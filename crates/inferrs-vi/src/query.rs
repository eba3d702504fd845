//! Query results: [`Predictive`] draws and [`LogProbs`].

use burn::tensor::Tensor;
use indexmap::IndexMap;
use inferrs_distributions::Rng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::ctx::Ctx;
use crate::{Data, Error, Model};

/// Values of one variable from a query, on the host.
///
/// # Shapes
/// `[rows, event]` for one draw per row, `[draws, rows, event]` for [`Predictive::sample_n`].
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
}

/// Draws of the query's target variables, by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Draws {
    vars: IndexMap<String, Array>,
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

/// A posterior-predictive query, ready to draw.
pub struct Predictive<'m, P, F> {
    model: &'m Model<P, F>,
    targets: Vec<String>,
    observed: IndexMap<String, Tensor<2>>,
    rows: usize,
    rng: Rng,
}

impl<'m, P, F> Predictive<'m, P, F>
where
    P: burn::module::Module,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    pub(crate) fn new(
        model: &'m Model<P, F>,
        targets: Vec<String>,
        data: &Data,
        rows: usize,
        stream: u64,
    ) -> Self {
        let observed = data.tensors(&model.device(), &targets);
        Self {
            model,
            targets,
            observed,
            rows,
            rng: Rng::seed_from_u64(stream),
        }
    }

    /// Restarts the query's random stream from `seed`.
    pub fn seed(mut self, seed: u64) -> Self {
        self.rng = Rng::seed_from_u64(seed);
        self
    }

    /// One draw of every target per data row.
    ///
    /// # Shapes
    /// Each target: `[rows, event]`.
    ///
    /// # Errors
    /// Any error of the model function (for example a distribution built from invalid values).
    pub fn sample(&mut self) -> Result<Draws, Error> {
        let sites = self
            .model
            .run_predict(&self.observed, self.rows, &mut self.rng)?;
        let mut vars = IndexMap::new();
        for name in &self.targets {
            let site = sites
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| Error::Shape {
                    variable: name.clone(),
                    detail: "the model function did not reach this variable".to_string(),
                })?;
            let dims = site.value.dims();
            vars.insert(
                name.clone(),
                Array {
                    shape: dims.to_vec(),
                    values: host_values(site.value.clone())?,
                },
            );
        }
        Ok(Draws { vars })
    }

    /// `k` independent draws of every target per data row.
    ///
    /// # Shapes
    /// Each target: `[k, rows, event]`.
    ///
    /// # Errors
    /// As [`Predictive::sample`].
    pub fn sample_n(&mut self, k: usize) -> Result<Draws, Error> {
        let mut vars: IndexMap<String, Array> = IndexMap::new();
        for _ in 0..k {
            let draw = self.sample()?;
            for (name, array) in draw.vars {
                let entry = vars.entry(name).or_insert_with(|| Array {
                    shape: std::iter::once(0)
                        .chain(array.shape.iter().copied())
                        .collect(),
                    values: Vec::with_capacity(k * array.values.len()),
                });
                entry.shape[0] += 1;
                entry.values.extend_from_slice(&array.values);
            }
        }
        Ok(Draws { vars })
    }
}

/// Log-densities from [`Model::log_prob`], row by row.
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

    /// The sum over the named variables, row by row.
    pub fn per_row(&self) -> Vec<f64> {
        let rows = self.per_row.values().map(Vec::len).max().unwrap_or(0);
        (0..rows)
            .map(|i| self.per_row.values().map(|v| f64::from(v[i])).sum())
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
