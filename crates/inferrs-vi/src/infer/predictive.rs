//! [`Predictive`]: the queries of a model, posterior-predictive, posterior and prior, as
//! compositions of the runtime's handlers.

use burn::tensor::Tensor;
use indexmap::IndexMap;
use inferrs_distributions::Rng;
use rand::SeedableRng;

use crate::draws::{Array, Draws, host_values};
use crate::guide::Rows;
use crate::runtime::Ctx;
use crate::{Error, Model};

/// What a [`Predictive`] query draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QueryKind {
    /// The model given the data, latents from the guide.
    Predictive,
    /// The guide alone.
    Posterior,
    /// The model alone.
    Prior,
}

/// A query ready to draw: posterior-predictive ([`Model::posterior_predictive`]), posterior
/// ([`Model::posterior`]) or prior ([`Model::prior`]).
pub struct Predictive<'m, P, F> {
    model: &'m Model<P, F>,
    kind: QueryKind,
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
        kind: QueryKind,
        targets: Vec<String>,
        observed: IndexMap<String, Tensor<2>>,
        rows: usize,
        stream: u64,
    ) -> Self {
        Self {
            model,
            kind,
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
        let values: IndexMap<String, Tensor<2>> = match self.kind {
            QueryKind::Posterior => {
                let guide = self.model.guide().ok_or_else(|| Error::Query {
                    variable: self.targets.join(", "),
                    reason: "the model has no guide".to_string(),
                })?;
                let device = self.model.device();
                guide
                    .draw(
                        &self.observed,
                        &Rows::all(self.rows),
                        &device,
                        &mut self.rng,
                    )?
                    .into_iter()
                    .map(|(name, d)| (name.to_string(), d.value))
                    .collect()
            }
            QueryKind::Predictive | QueryKind::Prior => {
                let latents = if self.kind == QueryKind::Predictive {
                    self.model
                        .guide_values(&self.observed, self.rows, &mut self.rng)?
                } else {
                    IndexMap::new()
                };
                self.model
                    .run_predict(&self.observed, &latents, self.rows, &mut self.rng)?
                    .into_iter()
                    .map(|s| (s.name.to_string(), s.value))
                    .collect()
            }
        };
        let mut vars = IndexMap::new();
        for name in &self.targets {
            let value = values.get(name).ok_or_else(|| match self.kind {
                QueryKind::Posterior => Error::Query {
                    variable: name.clone(),
                    reason: "the guide does not draw it (it is not a latent variable of the \
                             fit, or a local one asked on other rows)"
                        .to_string(),
                },
                _ => Error::Shape {
                    variable: name.clone(),
                    detail: "the model function did not reach this variable".to_string(),
                },
            })?;
            vars.insert(
                name.clone(),
                Array {
                    shape: value.dims().to_vec(),
                    values: host_values(value.clone())?,
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
