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
use crate::guide::{Guide, GuideTrace, LatentSite};
use crate::query::{LogProbs, Predictive, QueryKind};
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
    guide: Option<Box<dyn Guide>>,
    /// The data of the last fit (on the parameters' device), for posterior queries.
    fit_data: Option<(IndexMap<String, Tensor<2>>, usize)>,
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
            guide: None,
            fit_data: None,
        }
    }

    /// The guide of the last fit with latent variables (a q-model or an automatic guide), if
    /// any.
    pub fn guide(&self) -> Option<&dyn Guide> {
        self.guide.as_deref()
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
    /// Every parameter of the model and of the guide is trained with burn's autodiff, one step
    /// per epoch over all rows. A progress bar and InferPy's line `{epoch} epochs\t{loss}` are
    /// shown unless `vi` is quiet.
    ///
    /// Random variables that `data` gives are observed; the others are latent and need a guide
    /// (`vi.qmodel(..)` or `vi.guide(..)`, or the guide of an earlier fit). Without latent
    /// variables the ELBO is the log-likelihood and the fit is maximum likelihood.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`] for a column that names no random variable;
    /// [`Error::LatentWithoutGuide`] for a latent variable without a guide;
    /// [`Error::NotInQModel`] / [`Error::NotLatent`] when a q-model's variables do not match
    /// the latent ones; [`Error::Guide`] when an automatic guide cannot fit a variable;
    /// [`Error::NonFiniteLoss`] when the loss becomes NaN or infinite (the model and its guide
    /// then keep the parameters of the last epoch with a finite loss); any error of the model
    /// function.
    pub fn fit(&mut self, data: &Data, mut vi: VI) -> Result<FitReport, Error> {
        vi.validate()?;
        let rows = self.check_columns(data)?;
        if let Some(guide) = vi.take_guide() {
            self.guide = Some(guide);
        }
        let inner = self.device();
        let device = inner.clone().autodiff();
        let observed_inner = data.tensors(&inner, &[]);
        let latents = self.latent_sites(&observed_inner, rows)?;
        match (&mut self.guide, latents.first()) {
            (None, Some(latent)) => {
                return Err(Error::LatentWithoutGuide {
                    variable: latent.name.to_string(),
                });
            }
            (Some(guide), _) => {
                guide.prepare(&latents, &observed_inner, rows, &inner)?;
                guide.train();
            }
            (None, None) => {}
        }
        self.fit_data = Some((observed_inner, rows));
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
        let mut baseline: Option<f64> = None;
        for epoch in 0..epochs {
            if let Some(guide) = self.guide.as_mut() {
                guide.checkpoint();
            }
            let step = self
                .elbo_loss(&params, &observed, rows, &device, &mut rng, &vi, baseline)
                .and_then(|(loss, elbo)| {
                    let value = elbo
                        .try_into_scalar::<f32>()
                        .map_err(|e| Error::Device(format!("{e:?}")))?;
                    Ok((loss, -f64::from(value)))
                });
            let (loss, value) = match step {
                Ok(step) if step.1.is_finite() => step,
                Ok((_, value)) => {
                    self.keep(last_finite, &bar);
                    return Err(Error::NonFiniteLoss {
                        epoch: epoch + 1,
                        loss: value,
                        kept_epoch: epoch,
                    });
                }
                Err(e) => {
                    self.keep(last_finite, &bar);
                    return Err(e);
                }
            };
            last_finite = params.clone();
            losses.push(value);
            baseline = Some(baseline.map_or(-value, |b| 0.9 * b - 0.1 * value));
            let lr = vi.learning_rate_at(epoch);
            let mut grads = loss.backward();
            let model_grads = GradientsParams::from_module(&mut grads, &params);
            params = optimizer.step(lr, params, model_grads);
            if let Some(guide) = self.guide.as_mut() {
                guide.step(&mut optimizer, lr, &mut grads);
            }
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
        if let Some(guide) = self.guide.as_mut() {
            guide.valid();
        }
        Ok(FitReport {
            losses,
            rows,
            seconds,
        })
    }

    /// On a failed fit: the parameters (and the guide's) of the last finite epoch.
    fn keep(&mut self, last_finite: P, bar: &ProgressBar) {
        self.params = last_finite.valid();
        if let Some(guide) = self.guide.as_mut() {
            guide.rollback();
            guide.valid();
        }
        bar.abandon();
    }

    /// The latent variables: a run of the model on the data draws them from the prior.
    fn latent_sites(
        &self,
        observed: &IndexMap<String, Tensor<2>>,
        rows: usize,
    ) -> Result<Vec<LatentSite>, Error> {
        // Its own stream, so that the fit's stream does not depend on whether there are latents.
        let mut rng = Rng::seed_from_u64(self.seed ^ 0x5EED_1A7E);
        let mut ctx = Ctx::new(Mode::Predict, observed, rows, self.device(), &mut rng);
        (self.f)(&self.params, &mut ctx)?;
        Ok(ctx
            .into_sites()
            .into_iter()
            .filter(|s| !s.observed)
            .map(|s| LatentSite {
                name: s.name,
                shape: s.value.dims(),
                local: s.local,
                support: s.support,
            })
            .collect())
    }

    /// The surrogate loss whose gradient is that of the negative ELBO, and the ELBO (detached),
    /// averaged over `vi`'s particles.
    ///
    /// Per particle: draw the latents from the guide, run the model on them, and take
    /// `log p(data, z) - log q(z)` (with `-KL(q || p)` in closed form for Normal pairs when
    /// asked). Guide draws that are not reparameterised add the score-function term
    /// `(elbo - baseline) * log q(z)` with the elbo detached.
    #[allow(clippy::too_many_arguments)]
    fn elbo_loss(
        &self,
        params: &P,
        observed: &IndexMap<String, Tensor<2>>,
        rows: usize,
        device: &Device,
        rng: &mut Rng,
        vi: &VI,
        baseline: Option<f64>,
    ) -> Result<(Tensor<1>, Tensor<1>), Error> {
        let particles = vi.num_particles();
        let mut surrogate: Option<Tensor<1>> = None;
        let mut elbo_sum: Option<Tensor<1>> = None;
        for _ in 0..particles {
            let draw = match &self.guide {
                Some(guide) => guide.draw(observed, rows, device, rng)?,
                None => GuideTrace::new(),
            };
            let values: IndexMap<String, Tensor<2>> = draw
                .iter()
                .map(|(name, d)| (name.to_string(), d.value.clone()))
                .collect();
            let mut ctx =
                Ctx::new(Mode::Fit, observed, rows, device.clone(), rng).with_latents(&values);
            (self.f)(params, &mut ctx)?;
            let mut terms: Vec<Tensor<1>> = Vec::new();
            let mut closed_form: Vec<&str> = Vec::new();
            for site in ctx.into_sites() {
                if vi.uses_analytic_kl()
                    && !site.observed
                    && let (Some(p), Some(q)) = (
                        site.normal.as_ref(),
                        draw.get(site.name).and_then(|d| d.normal.as_ref()),
                    )
                {
                    let kl = q.kl_divergence(p, device).map_err(|e| Error::Shape {
                        variable: site.name.to_string(),
                        detail: e.to_string(),
                    })?;
                    terms.push(-kl.sum());
                    closed_form.push(site.name);
                    continue;
                }
                if let Some(lp) = site.log_prob {
                    terms.push(lp.sum());
                }
            }
            let mut score: Option<Tensor<1>> = None;
            for (name, d) in &draw {
                if closed_form.contains(name) {
                    continue;
                }
                let log_q = d.log_q.clone().sum();
                if !d.reparameterized {
                    score = Some(match score {
                        Some(s) => s + log_q.clone(),
                        None => log_q.clone(),
                    });
                }
                terms.push(-log_q);
            }
            let elbo = terms
                .into_iter()
                .reduce(|a, b| a + b)
                .unwrap_or_else(|| Tensor::zeros([1], device));
            let particle_loss = match score {
                Some(log_q) => {
                    let b = baseline.unwrap_or(0.0);
                    let advantage = elbo.clone().detach().sub_scalar(b);
                    elbo.clone() + advantage * log_q
                }
                None => elbo.clone(),
            };
            surrogate = Some(match surrogate {
                Some(s) => s + particle_loss,
                None => particle_loss,
            });
            elbo_sum = Some(match elbo_sum {
                Some(s) => s + elbo.detach(),
                None => elbo.detach(),
            });
        }
        let (Some(surrogate), Some(elbo)) = (surrogate, elbo_sum) else {
            return Err(Error::InvalidOption {
                option: "particles",
                reason: "must be at least 1".into(),
            });
        };
        if particles == 1 {
            Ok((-surrogate, elbo))
        } else {
            let n = particles as f64;
            Ok((-surrogate.div_scalar(n), elbo.div_scalar(n)))
        }
    }

    /// A posterior-predictive query: draws `targets` given the other variables in `data`.
    ///
    /// `data` may have any number of rows (not only the size used in fit). Columns of `data`
    /// that are targets are ignored. Latent variables are drawn from the guide of the fit when
    /// there is one (an automatic guide's local variables only when `data` has the rows of the
    /// fit), and other variables neither in the data nor among the targets from their
    /// conditionals in the model.
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
        let targets = self.names(targets)?;
        let rows = self.check_columns(data)?;
        let observed = data.tensors(&self.device(), &targets);
        Ok(Predictive::new(
            self,
            QueryKind::Predictive,
            targets,
            observed,
            rows,
            self.next_stream(),
        ))
    }

    /// A posterior query: draws the named latent variables from the guide fitted by the last
    /// fit (on the data of that fit, which an amortised q-model reads).
    ///
    /// # Errors
    /// [`Error::UnknownVariable`] for a name that is not a random variable;
    /// [`Error::Query`] when the model has no fitted guide, or when a name is not latent (it was
    /// in the data of the fit) — its posterior is then its data.
    pub fn posterior<I, S>(&self, names: I) -> Result<Predictive<'_, P, F>, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names = self.names(names)?;
        let (Some(_), Some((observed, rows))) = (&self.guide, &self.fit_data) else {
            return Err(Error::Query {
                variable: names.join(", "),
                reason: "the model has no posterior yet: fit it with a q-model or a guide \
                         (`VI::new(n).guide(AutoNormal::default())`)"
                    .to_string(),
            });
        };
        for name in &names {
            if observed.contains_key(name) {
                return Err(Error::Query {
                    variable: name.clone(),
                    reason: "it was observed (a column of the data of the fit), not latent"
                        .to_string(),
                });
            }
        }
        Ok(Predictive::new(
            self,
            QueryKind::Posterior,
            names,
            observed.clone(),
            *rows,
            self.next_stream(),
        ))
    }

    /// A prior query: draws the named variables from the model alone (no data, no guide), `rows`
    /// values of every local variable per draw (global variables have one).
    ///
    /// # Errors
    /// [`Error::UnknownVariable`] for a name that is not a random variable.
    pub fn prior<I, S>(&self, names: I, rows: usize) -> Result<Predictive<'_, P, F>, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names = self.names(names)?;
        Ok(Predictive::new(
            self,
            QueryKind::Prior,
            names,
            IndexMap::new(),
            rows,
            self.next_stream(),
        ))
    }

    fn names<I, S>(&self, names: I) -> Result<Vec<String>, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names: Vec<String> = names.into_iter().map(|s| s.as_ref().to_string()).collect();
        self.check_variables(&names)?;
        Ok(names)
    }

    /// The seed of the next query's stream: queries after a fit repeat for the same seed.
    fn next_stream(&self) -> u64 {
        let query = self.queries.get();
        self.queries.set(query + 1);
        self.seed ^ (query.wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
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
        let latents = self.guide_values(&observed, rows, &mut rng)?;
        let mut ctx =
            Ctx::new(Mode::LogProb, &observed, rows, device, &mut rng).with_latents(&latents);
        (self.f)(&self.params, &mut ctx)?;
        let mut per_row = IndexMap::new();
        for site in ctx.into_sites() {
            if let (true, Some(lp)) = (names.iter().any(|n| n == site.name), site.log_prob) {
                per_row.insert(site.name.to_string(), crate::query::host_values(lp)?);
            }
        }
        Ok(LogProbs::new(per_row))
    }

    /// One draw of the latent variables from the guide (none without a guide).
    pub(crate) fn guide_values(
        &self,
        observed: &IndexMap<String, Tensor<2>>,
        rows: usize,
        rng: &mut Rng,
    ) -> Result<IndexMap<String, Tensor<2>>, Error> {
        Ok(match &self.guide {
            Some(guide) => guide
                .draw(observed, rows, &self.device(), rng)?
                .into_iter()
                .map(|(name, d)| (name.to_string(), d.value))
                .collect(),
            None => IndexMap::new(),
        })
    }

    /// A run of the model for a query: values from `observed` and `latents` where given, the
    /// others drawn.
    pub(crate) fn run_predict(
        &self,
        observed: &IndexMap<String, Tensor<2>>,
        latents: &IndexMap<String, Tensor<2>>,
        rows: usize,
        rng: &mut Rng,
    ) -> Result<Vec<crate::ctx::Site>, Error> {
        let mut ctx =
            Ctx::new(Mode::Predict, observed, rows, self.device(), rng).with_latents(latents);
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
