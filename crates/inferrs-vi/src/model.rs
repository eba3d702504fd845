//! [`Model`]: a model function, its trainable parameters and its graph; `fit`, queries,
//! save and load.

use std::cell::Cell;
use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use burn::tensor::{Device, Tensor};
use indexmap::IndexMap;
use indicatif::{ProgressBar, ProgressStyle};
use inferrs_distributions::Rng;
use inferrs_graph::Graph;
use rand::SeedableRng;

use crate::ctx::{Ctx, Mode};
use crate::query::{LogProbs, Predictive};
use crate::{Data, Error, FitReport, VI};

/// A probabilistic model: named random variables whose parameters may come from networks.
///
/// Built by `datamodel!`; `P` holds the trainable parameters (burn modules) and `F` is the model
/// function the macro wrote.
pub struct Model<P, F> {
    graph: Graph,
    params: P,
    f: F,
    seed: u64,
    queries: Cell<u64>,
}

impl<P, F> Model<P, F>
where
    P: Module,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    /// Assembles a model; `datamodel!` calls this.
    pub fn new(graph: Graph, params: P, f: F) -> Self {
        Self {
            graph,
            params,
            f,
            seed: 0,
            queries: Cell::new(0),
        }
    }

    /// The model's graph: names, parents, children, order, DOT rendering.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The trainable parameters (the modules declared with `name = expr;`).
    pub fn params(&self) -> &P {
        &self.params
    }

    /// The seed of the model's queries (set by the last fit's `VI::seed`).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Sets the seed of the model's queries and restarts their random streams.
    pub fn set_seed(&mut self, seed: u64) {
        self.seed = seed;
        self.queries.set(0);
    }

    /// The device the parameters live on (without autodiff), or burn's default device for a model
    /// without parameters.
    pub fn device(&self) -> Device {
        self.params
            .devices()
            .into_iter()
            .next()
            .map(Device::inner)
            .unwrap_or_default()
    }

    pub(crate) fn known(&self) -> String {
        self.graph
            .random_variables()
            .map(|n| n.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Checks that every data column names a random variable.
    fn check_columns(&self, data: &Data) -> Result<usize, Error> {
        for name in data.names() {
            if !self.graph.is_random(name) {
                return Err(Error::UnknownColumn {
                    column: name.to_string(),
                    known: self.known(),
                });
            }
        }
        data.rows().ok_or_else(|| Error::Data {
            column: "(none)".to_string(),
            reason: "the data has no column, so it has no rows".to_string(),
        })
    }

    pub(crate) fn check_variables(&self, names: &[String]) -> Result<(), Error> {
        for name in names {
            if !self.graph.is_random(name) {
                return Err(Error::UnknownVariable {
                    name: name.clone(),
                    known: self.known(),
                });
            }
        }
        Ok(())
    }

    /// Fits the model to `data` by maximising the ELBO with `vi`'s optimizer.
    ///
    /// Every parameter is trained with burn's autodiff, one step per epoch over all rows. A
    /// progress bar and InferPy's line `{epoch} epochs\t{loss}` are shown unless `vi` is quiet.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`] for a column that names no random variable;
    /// [`Error::LatentWithoutGuide`] for a variable missing from the data; [`Error::NonFiniteLoss`]
    /// when the loss becomes NaN or infinite (the model then keeps the parameters of the last
    /// epoch with a finite loss); any error of the model function.
    pub fn fit(&mut self, data: &Data, vi: VI) -> Result<FitReport, Error> {
        vi.validate()?;
        let rows = self.check_columns(data)?;
        let device = self.device().autodiff();
        let observed = data.tensors(&device, &[]);
        let mut rng = Rng::seed_from_u64(vi.get_seed());
        self.set_seed(vi.get_seed());
        let mut optimizer = vi.optimizer_kind().init();
        let epochs = vi.epochs();
        let bar = progress_bar(epochs, vi.is_quiet());
        let log_every = if vi.is_quiet() { 0 } else { vi.log_interval() };

        let start = Instant::now();
        let mut losses = Vec::with_capacity(epochs);
        let mut params = self.params.clone().train();
        // The parameters whose loss was the last finite one: what the model keeps on failure.
        let mut last_finite = params.clone();
        for epoch in 0..epochs {
            let loss = match self.loss(&params, &observed, rows, &device, &mut rng) {
                Ok(loss) => loss,
                Err(e) => {
                    self.params = last_finite.valid();
                    bar.abandon();
                    return Err(e);
                }
            };
            let value = match loss.clone().try_into_scalar::<f32>() {
                Ok(v) => f64::from(v),
                Err(e) => {
                    self.params = last_finite.valid();
                    bar.abandon();
                    return Err(Error::Device(format!("{e:?}")));
                }
            };
            if !value.is_finite() {
                self.params = last_finite.valid();
                bar.abandon();
                return Err(Error::NonFiniteLoss {
                    epoch: epoch + 1,
                    loss: value,
                    kept_epoch: epoch,
                });
            }
            last_finite = params.clone();
            losses.push(value);
            let grads = GradientsParams::from_grads(loss.backward(), &params);
            params = optimizer.step(vi.learning_rate_at(epoch), params, grads);
            let done = epoch + 1;
            if log_every > 0 && done % log_every == 0 {
                let line = format!("{done} epochs\t{value}");
                bar.suspend(|| println!("{line}"));
            }
            if done % 50 == 0 || done == epochs {
                bar.set_position(done as u64);
                bar.set_message(format!("{value:.3}"));
            }
        }
        bar.finish_and_clear();
        let seconds = start.elapsed().as_secs_f64();
        self.params = params.valid();
        Ok(FitReport {
            losses,
            rows,
            seconds,
        })
    }

    fn loss(
        &self,
        params: &P,
        observed: &IndexMap<String, Tensor<2>>,
        rows: usize,
        device: &Device,
        rng: &mut Rng,
    ) -> Result<Tensor<1>, Error> {
        let mut ctx = Ctx::new(Mode::Fit, observed, rows, device.clone(), rng);
        (self.f)(params, &mut ctx)?;
        Ok(match ctx.log_joint() {
            Some(log_joint) => -log_joint,
            None => Tensor::zeros([1], device),
        })
    }

    /// A posterior-predictive query: draws `targets` given the other variables in `data`.
    ///
    /// `data` may have any number of rows (not only the size used in fit). Columns of `data`
    /// that are targets are ignored; variables neither in the data nor among the targets are
    /// drawn too (from their conditionals).
    ///
    /// # Errors
    /// [`Error::UnknownVariable`] for a target that is not a random variable of the model;
    /// [`Error::UnknownColumn`] for a column that names no random variable.
    pub fn posterior_predictive<I, S>(
        &self,
        targets: I,
        data: &Data,
    ) -> Result<Predictive<'_, P, F>, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let targets: Vec<String> = targets
            .into_iter()
            .map(|s| s.as_ref().to_string())
            .collect();
        self.check_variables(&targets)?;
        let rows = self.check_columns(data)?;
        let query = self.queries.get();
        self.queries.set(query + 1);
        let stream = self.seed ^ (query.wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Ok(Predictive::new(self, targets, data, rows, stream))
    }

    /// Log-density of the named variables at the values given in `data`, row by row, each given
    /// its parents' values in `data` (for example the held-out log-likelihood of `y` given `x`).
    ///
    /// # Errors
    /// [`Error::UnknownVariable`] for a name that is not a random variable;
    /// [`Error::MissingForLogProb`] when `data` lacks a named variable or one the model needs.
    pub fn log_prob<I, S>(&self, names: I, data: &Data) -> Result<LogProbs, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names: Vec<String> = names.into_iter().map(|s| s.as_ref().to_string()).collect();
        self.check_variables(&names)?;
        let rows = self.check_columns(data)?;
        for name in &names {
            if !data.contains(name) {
                return Err(Error::MissingForLogProb {
                    variable: name.clone(),
                    reason: "its value is what is scored".to_string(),
                });
            }
        }
        let device = self.device();
        let observed = data.tensors(&device, &[]);
        let mut rng = Rng::seed_from_u64(self.seed);
        let mut ctx = Ctx::new(Mode::LogProb, &observed, rows, device, &mut rng);
        (self.f)(&self.params, &mut ctx)?;
        let mut per_row = IndexMap::new();
        for site in ctx.into_sites() {
            if let (true, Some(lp)) = (names.iter().any(|n| n == site.name), site.log_prob) {
                per_row.insert(site.name.to_string(), crate::query::host_values(lp)?);
            }
        }
        Ok(LogProbs::new(per_row))
    }

    pub(crate) fn run_predict(
        &self,
        observed: &IndexMap<String, Tensor<2>>,
        rows: usize,
        rng: &mut Rng,
    ) -> Result<Vec<crate::ctx::Site>, Error> {
        let mut ctx = Ctx::new(Mode::Predict, observed, rows, self.device(), rng);
        (self.f)(&self.params, &mut ctx)?;
        Ok(ctx.into_sites())
    }

    /// Saves the trainable parameters to `path` (burn's burnpack format).
    ///
    /// # Errors
    /// [`Error::Record`] naming the file when writing fails.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let bytes = self
            .params
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| record_error(path, format!("{e:?}")))?;
        std::fs::write(path, &bytes[..]).map_err(|e| record_error(path, e.to_string()))
    }

    /// Loads trainable parameters saved by [`Model::save`] from a model with the same
    /// declarations. The file is read whole, so it may be removed afterwards. On error the
    /// model's parameters are unchanged.
    ///
    /// # Errors
    /// [`Error::Record`] naming the file when it cannot be read or does not fit the model.
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| record_error(path, e.to_string()))?;
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
            .map_err(|e| record_error(path, format!("{e:?}")))?;
        self.params = self
            .params
            .clone()
            .try_load_record(record)
            .map_err(|e| record_error(path, format!("{e:?}")))?;
        Ok(())
    }
}

fn record_error(path: &Path, detail: String) -> Error {
    Error::Record {
        path: path.display().to_string(),
        detail,
    }
}

fn progress_bar(epochs: usize, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(epochs as u64);
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} epochs, loss {msg} ({eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
