//! [`Model`]: a model function, its trainable parameters, its graph and the posterior it
//! owns (the guide of its last fit); its queries, save and load. Inference itself lives in
//! [`infer`](crate::infer): `fit` is [`Svi`](crate::Svi) on the model.

use std::sync::atomic::{AtomicU64, Ordering};

use burn::module::Module;
use burn::tensor::Device;
use inferrs_distributions::Rng;
use inferrs_graph::Graph;

use crate::guide::{Guide, LatentSite, Rows};
use crate::infer::predictive::{Predictive, QueryKind};
use crate::runtime::{Ctx, Handler, Trace, Unfilled, Values};
use crate::source::DataSource;
use crate::{Data, Error, FitReport, Svi, VI};

/// A probabilistic model: named random variables whose parameters may come from networks.
///
/// Built by `datamodel!`; `P` holds the trainable parameters (burn modules) and `F` is the model
/// function the macro wrote.
pub struct Model<P, F> {
    graph: Graph,
    pub(crate) params: P,
    pub(crate) f: F,
    pub(crate) seed: u64,
    /// Queries started since the seed was set: each takes the next stream.
    pub(crate) queries: AtomicU64,
    pub(crate) guide: Option<Box<dyn Guide>>,
    /// The data of the last fit, for posterior queries.
    pub(crate) fit_data: Option<FitData>,
    /// Rows a query runs at a time.
    pub(crate) chunk_rows: usize,
    /// The optimizer of the last successful fit, for a fit that resumes it
    /// ([`VI::resume`]). In a mutex only so that the model is `Sync`: only `fit`, which
    /// holds `&mut self`, touches it.
    pub(crate) optimizer: std::sync::Mutex<Option<crate::infer::OptimizerState>>,
}

/// Rows a query runs at a time unless told otherwise ([`Model::set_chunk_rows`]).
pub const DEFAULT_CHUNK_ROWS: usize = 1 << 14;

/// The data of a fit, as its posterior queries need it.
pub(crate) struct FitData {
    /// Its columns on the parameters' device; empty after a streamed fit, which keeps no rows.
    pub(crate) observed: Values,
    /// Its rows.
    pub(crate) rows: usize,
    /// Its column names.
    pub(crate) columns: Vec<String>,
    /// The latent variables the fit found (those its guide draws).
    pub(crate) latents: Vec<LatentSite>,
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
            queries: AtomicU64::new(0),
            guide: None,
            fit_data: None,
            chunk_rows: DEFAULT_CHUNK_ROWS,
            optimizer: std::sync::Mutex::new(None),
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
        self.queries.store(0, Ordering::SeqCst);
    }

    /// Rows a query ([`Model::posterior_predictive`], [`Model::prior`], [`Model::log_prob`])
    /// runs the model on at a time, so that its memory is that of one chunk and its answer,
    /// whatever the rows ([`DEFAULT_CHUNK_ROWS`] unless set; at least 1). The global variables
    /// are drawn once per draw, on the first chunk, and held for the others; data with no
    /// more rows than a chunk are one run, as a single run would be.
    pub fn set_chunk_rows(&mut self, rows: usize) {
        self.chunk_rows = rows.max(1);
    }

    /// Rows a query runs at a time ([`Model::set_chunk_rows`]).
    pub fn chunk_rows(&self) -> usize {
        self.chunk_rows
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

    /// Checks that every column of `names` names a random variable or a declared input.
    fn check_names<'n>(&self, names: impl IntoIterator<Item = &'n str>) -> Result<(), Error> {
        for name in names {
            if !self.graph.is_random(name) && !self.graph.is_input(name) {
                return Err(Error::UnknownColumn {
                    column: name.to_string(),
                    known: self.known(),
                });
            }
        }
        Ok(())
    }

    /// Checks that every data column names a random variable or an input; the rows.
    pub(crate) fn check_columns(&self, data: &Data) -> Result<usize, Error> {
        self.check_names(data.names())?;
        data.rows().ok_or_else(|| Error::Data {
            column: "(none)".to_string(),
            reason: "the data has no column, so it has no rows".to_string(),
        })
    }

    /// As [`Model::check_columns`] for a data source.
    pub(crate) fn check_source(&self, source: &dyn DataSource) -> Result<usize, Error> {
        let names = source.names();
        self.check_names(names.iter().map(String::as_str))?;
        match source.rows() {
            0 => Err(Error::Data {
                column: "(none)".to_string(),
                reason: "the data has no column, so it has no rows".to_string(),
            }),
            rows => Ok(rows),
        }
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

    /// Fits the model to `data` by maximising the ELBO with `vi`'s optimizer: [`Svi`] on
    /// the model.
    ///
    /// Every parameter of the model and of the guide is trained with burn's autodiff, one step
    /// per epoch over all rows, or one per minibatch with `vi.batch_size(m)`. A progress bar and InferPy's line `{epoch} epochs\t{loss}` are
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
    /// [`Error::NonFiniteLoss`] when the loss becomes NaN or infinite, and
    /// [`Error::NonFiniteParameters`] when the last step's parameters are not finite (the
    /// model and its guide, a guide given in `vi` included, then keep the parameters of the
    /// last step with a finite loss); [`Error::Data`] naming the variable and the row for an
    /// observed value outside its distribution's support (before any step); any error of the
    /// model function. Any failure but a non-finite loss leaves the model as it was: its
    /// parameters, its guide and the optimizer that [`VI::resume`] would continue.
    pub fn fit(&mut self, data: &Data, vi: VI) -> Result<FitReport, Error>
    where
        F: Send,
    {
        Svi::new(vi).run(self, &mut &*data)
    }

    /// Fits the model to the rows of `source`, in batches (`vi.batch_size(m)`) for data that
    /// is streamed from a file. Otherwise as [`Model::fit`].
    ///
    /// # Errors
    /// As [`Model::fit`]; [`Error::Data`] when the source cannot be read.
    pub fn fit_source(&mut self, source: &mut dyn DataSource, vi: VI) -> Result<FitReport, Error>
    where
        F: Send,
    {
        Svi::new(vi).run(self, source)
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
    pub fn posterior_predictive<'m, I, S>(
        &'m self,
        targets: I,
        data: &'m Data,
    ) -> Result<Predictive<'m, P, F>, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let targets = self.names(targets)?;
        let rows = self.check_columns(data)?;
        Ok(Predictive::new(
            self,
            QueryKind::Predictive,
            targets,
            Some(data),
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
        if let Some(fit) = self.fit_data.as_ref().filter(|f| f.latents.is_empty()) {
            return Err(Error::Query {
                variable: names.join(", "),
                reason: format!(
                    "the model has no latent variables: the fit observed every random \
                     variable ({}), so there is no posterior to draw (query the data, or \
                     `posterior_predictive` on new rows)",
                    fit.columns.join(", ")
                ),
            });
        }
        let (Some(guide), Some(fit)) = (&self.guide, &self.fit_data) else {
            return Err(Error::Query {
                variable: names.join(", "),
                reason: "the model has no posterior yet: fit it with a q-model or a guide \
                         (`VI::new(n).guide(AutoNormal::default())`)"
                    .to_string(),
            });
        };
        for name in &names {
            if fit.columns.contains(name) {
                return Err(Error::Query {
                    variable: name.clone(),
                    reason: "it was observed (a column of the data of the fit), not latent"
                        .to_string(),
                });
            }
        }
        if fit.observed.is_empty()
            && let Some(column) = fit.columns.iter().find(|c| guide.reads(c))
        {
            return Err(Error::Query {
                variable: names.join(", "),
                reason: format!(
                    "the {} reads column `{column}` of the data of the fit, which was streamed \
                     and is not kept: draw the posterior on rows you give, with \
                     `posterior_predictive([..], &data)`",
                    guide.kind()
                ),
            });
        }
        Ok(Predictive::posterior(
            self,
            names,
            fit.observed.clone(),
            fit.rows,
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
            None,
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
    /// Queries from several threads each take their own stream (the counter is atomic);
    /// which thread gets which depends on timing, unless each query names its stream
    /// ([`Predictive::stream`]).
    fn next_stream(&self) -> u64 {
        self.stream_seed(self.queries.fetch_add(1, Ordering::SeqCst))
    }

    /// The seed of query stream `k` of the model's seed (the `k`-th query after the seed
    /// was set, counting from 0).
    pub(crate) fn stream_seed(&self, k: u64) -> u64 {
        self.seed ^ (k.wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// The values a query's run substitutes: one draw of the latent variables from the guide
    /// with the variables in `given` held at their values, and `given` itself (a first
    /// chunk's global variables, which the guide may not cover).
    pub(crate) fn guide_values(
        &self,
        observed: &Values,
        rows: &Rows,
        given: &Values,
        rng: &mut Rng,
    ) -> Result<Values, Error> {
        let Some(guide) = &self.guide else {
            return Ok(given.clone());
        };
        let device = self.device();
        let trace = if given.is_empty() {
            guide.draw(observed, rows, &device, rng)?
        } else {
            guide.draw_given(observed, rows, given, &device, rng)?
        };
        let mut values: Values = trace
            .into_iter()
            .map(|(name, d)| (name.to_string(), d.value))
            .collect();
        values.extend(given.iter().map(|(n, v)| (n.clone(), v.clone())));
        Ok(values)
    }

    /// Checks that a posterior-predictive run drew no latent variable from its prior in
    /// place of a posterior: every site that neither the data nor the guide gave, and that
    /// is latent (one the fit found; before any fit, one that is not a target), must be a
    /// local variable on rows the guide does not cover (new rows, whose local variables
    /// the fit knows nothing of: their conditional in the model is their posterior).
    pub(crate) fn check_posterior(
        &self,
        trace: &Trace,
        observed: &Values,
        latents: &Values,
        targets: &[String],
    ) -> Result<(), Error> {
        for site in trace {
            if observed.contains_key(site.name) || latents.contains_key(site.name) {
                continue;
            }
            let latent = match &self.fit_data {
                Some(fit) => fit.latents.iter().any(|l| l.name == site.name),
                None => !targets.iter().any(|t| t == site.name),
            };
            if !latent || (site.local && self.guide.is_some()) {
                continue;
            }
            let reason = match (&self.fit_data, &self.guide) {
                (None, _) => "the model has not been fitted, so it has no posterior for it:                               give it in the data, fit the model, or draw it from the prior                               with `prior`"
                    .to_string(),
                (Some(_), None) => "it is latent, and the model has no fitted guide to draw it                                     from (a model file saved without its posterior?)"
                    .to_string(),
                (Some(_), Some(g)) => format!("it is latent, and the {} does not draw it", g.kind()),
            };
            return Err(Error::Query {
                variable: site.name.to_string(),
                reason,
            });
        }
        Ok(())
    }

    /// A run of the model for a query: values from `observed` and `latents` where given, the
    /// others drawn.
    pub(crate) fn run_predict(
        &self,
        observed: &Values,
        latents: &Values,
        rows: usize,
        rng: &mut Rng,
    ) -> Result<Trace, Error> {
        let mut ctx = Ctx::new(rows, self.device(), rng, Unfilled::Draw)
            .with(Handler::Condition(observed))
            .with(Handler::Substitute(latents));
        (self.f)(&self.params, &mut ctx)?;
        Ok(ctx.into_trace())
    }
}
