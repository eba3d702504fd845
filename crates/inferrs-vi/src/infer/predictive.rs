//! [`Predictive`]: the queries of a model, posterior-predictive, posterior and prior, as
//! compositions of the runtime's handlers.

use burn::tensor::{Device, Tensor};
use indexmap::IndexMap;
use inferrs_distributions::Rng;
use rand::SeedableRng;

use crate::draws::{Array, Draws, host_values};
use crate::guide::Rows;
use crate::runtime::{Ctx, Trace, Values};
use crate::{Data, Error, Model};

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
///
/// Posterior-predictive and prior queries run the model on [`Model::chunk_rows`] rows at a
/// time: their memory is one chunk's and the answer's, whatever the rows.
pub struct Predictive<'m, P, F> {
    model: &'m Model<P, F>,
    kind: QueryKind,
    targets: Vec<String>,
    /// The rows a posterior-predictive query is asked on (its targets left out).
    data: Option<&'m Data>,
    /// What a posterior query's guide reads: the data of the fit, on the device.
    observed: Values,
    rows: usize,
    rng: Rng,
}

impl<'m, P, F> Predictive<'m, P, F>
where
    P: burn::module::Module,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    /// A posterior-predictive (`data` given) or prior query.
    pub(crate) fn new(
        model: &'m Model<P, F>,
        kind: QueryKind,
        targets: Vec<String>,
        data: Option<&'m Data>,
        rows: usize,
        stream: u64,
    ) -> Self {
        Self {
            model,
            kind,
            targets,
            data,
            observed: Values::new(),
            rows,
            rng: Rng::seed_from_u64(stream),
        }
    }

    /// A posterior query: the guide alone, reading `observed` (the data of the fit).
    pub(crate) fn posterior(
        model: &'m Model<P, F>,
        targets: Vec<String>,
        observed: Values,
        rows: usize,
        stream: u64,
    ) -> Self {
        Self {
            model,
            kind: QueryKind::Posterior,
            targets,
            data: None,
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

    /// Draws from query stream `k` of the model's seed: what the `k`-th query (counting
    /// from 0) after the seed was set draws. Threads that query one model each with their own
    /// `k` get results that do not depend on timing.
    pub fn stream(mut self, k: u64) -> Self {
        self.rng = Rng::seed_from_u64(self.model.stream_seed(k));
        self
    }

    /// One draw of every target per data row.
    ///
    /// # Shapes
    /// Each target: `[rows, event]` (`[1, event]` for a global variable).
    ///
    /// # Errors
    /// Any error of the model function (for example a distribution built from invalid values).
    pub fn sample(&mut self) -> Result<Draws, Error> {
        let mut vars: IndexMap<String, Array> = IndexMap::new();
        match self.kind {
            QueryKind::Posterior => {
                let guide = self.model.guide().ok_or_else(|| Error::Query {
                    variable: self.targets.join(", "),
                    reason: "the model has no guide".to_string(),
                })?;
                let device = self.model.device();
                let trace = guide.draw(
                    &self.observed,
                    &Rows::all(self.rows),
                    &device,
                    &mut self.rng,
                )?;
                for (name, draw) in trace {
                    if self.targets.iter().any(|t| t == name) {
                        vars.insert(name.to_string(), to_array(draw.value)?);
                    }
                }
            }
            QueryKind::Predictive | QueryKind::Prior => {
                let device = self.model.device();
                let mut given = Values::new();
                for chunk in Chunks::new(self.rows, self.model.chunk_rows()) {
                    let observed = match self.data {
                        Some(data) => chunk.tensors(data, &device, &self.targets),
                        None => Values::new(),
                    };
                    let latents = if self.kind == QueryKind::Predictive {
                        let rows = chunk.rows(&device);
                        self.model
                            .guide_values(&observed, &rows, &given, &mut self.rng)?
                    } else {
                        given.clone()
                    };
                    let trace =
                        self.model
                            .run_predict(&observed, &latents, chunk.len(), &mut self.rng)?;
                    if self.kind == QueryKind::Predictive {
                        self.model
                            .check_posterior(&trace, &observed, &latents, &self.targets)?;
                    }
                    if chunk.is_first() {
                        given = chunk.globals(&trace);
                    }
                    for site in trace {
                        if !self.targets.iter().any(|t| t == site.name) {
                            continue;
                        }
                        match vars.get_mut(site.name) {
                            None => {
                                vars.insert(site.name.to_string(), to_array(site.value)?);
                            }
                            Some(array) if site.local => {
                                array.shape[0] += chunk.len();
                                array.values.extend(host_values(site.value)?);
                            }
                            Some(_) => {}
                        }
                    }
                }
            }
        }
        let mut ordered = IndexMap::new();
        for name in &self.targets {
            let array = vars.swap_remove(name).ok_or_else(|| match self.kind {
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
            ordered.insert(name.clone(), array);
        }
        Ok(Draws { vars: ordered })
    }

    /// `k` independent draws of every target per data row.
    ///
    /// # Shapes
    /// Each target: `[k, rows, event]`.
    ///
    /// # Errors
    /// As [`Predictive::sample`].
    pub fn sample_n(&mut self, k: usize) -> Result<Draws, Error> {
        if k == 0 {
            // No draw, but the shapes of one: a draw on a copy of the stream, which is left
            // where it was.
            let stream = self.rng.clone();
            let one = self.sample();
            self.rng = stream;
            let mut draws = one?;
            for array in draws.vars.values_mut() {
                array.shape.insert(0, 0);
                array.values.clear();
            }
            return Ok(draws);
        }
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

fn to_array(value: Tensor<2>) -> Result<Array, Error> {
    Ok(Array {
        shape: value.dims().to_vec(),
        values: host_values(value)?,
    })
}

/// The chunks of rows a query runs on, in order: `size` rows each, the last one possibly
/// fewer.
pub(crate) struct Chunks {
    rows: usize,
    size: usize,
    next: usize,
}

impl Chunks {
    pub(crate) fn new(rows: usize, size: usize) -> Self {
        Self {
            rows,
            size: size.max(1),
            next: 0,
        }
    }
}

impl Iterator for Chunks {
    type Item = Chunk;

    fn next(&mut self) -> Option<Chunk> {
        // Zero rows (a prior query of global variables only) is one empty run.
        if self.next >= self.rows && !(self.rows == 0 && self.next == 0) {
            return None;
        }
        let start = self.next;
        let end = (start + self.size).min(self.rows);
        self.next = end.max(1);
        Some(Chunk {
            start,
            end,
            total: self.rows,
        })
    }
}

/// The rows `start..end` of data with `total` rows.
pub(crate) struct Chunk {
    start: usize,
    end: usize,
    total: usize,
}

impl Chunk {
    /// Rows of the chunk.
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether it is the first chunk (whose run draws the global variables).
    pub(crate) fn is_first(&self) -> bool {
        self.start == 0
    }

    /// Whether it is all the rows.
    fn is_whole(&self) -> bool {
        self.start == 0 && self.end == self.total
    }

    /// The chunk's rows of `data` on `device`, without the columns `skip`.
    pub(crate) fn tensors(&self, data: &Data, device: &Device, skip: &[String]) -> Values {
        if self.is_whole() {
            data.tensors(device, skip)
        } else {
            let indices: Vec<usize> = (self.start..self.end).collect();
            data.gather(&indices).tensors(device, skip)
        }
    }

    /// The chunk's rows as a guide reads them: all of them, or a batch of the whole.
    pub(crate) fn rows(&self, device: &Device) -> Rows {
        if self.is_whole() {
            Rows::all(self.total)
        } else {
            let indices: Vec<usize> = (self.start..self.end).collect();
            Rows::batch(&indices, self.total, device)
        }
    }

    /// The values of the global sites of the first chunk's run that the data does not give:
    /// what later chunks hold.
    pub(crate) fn globals(&self, trace: &Trace) -> Values {
        trace
            .iter()
            .filter(|s| !s.local && !s.observed)
            .map(|s| (s.name.to_string(), s.value.clone()))
            .collect()
    }
}
