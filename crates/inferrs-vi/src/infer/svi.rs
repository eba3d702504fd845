//! [`Svi`]: the step loop of variational inference, done once for every guide and estimator:
//! batches, the optimizer and its schedule, progress, and the rollback to the last parameters
//! with a finite loss.

use std::time::Instant;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use indicatif::{ProgressBar, ProgressStyle};
use inferrs_distributions::{ParamInit, Rng};
use rand::SeedableRng;

use super::convergence::ConvergenceCheck;
use super::data_parallel::{Group, SharedStep, StepParts, read_step};
use super::elbo::{Elbo, Particle};
use super::row_optimizer::RowOptimizer;
use super::support::ObservedSupports;
use super::tape_step::{StepGrads, StepParams, TapeStep};
use super::vi::{FitReport, VI};
use crate::Gradient;
use crate::distributed::Layout;
use crate::distributed::plan::Scale;
use crate::guide::{Guide, GuideTrace, LatentSite, Rows, draw_values};
use crate::model::FitData;
use crate::runtime::{Ctx, DynModule, Handler, Unfilled, Values};
use crate::source::{Batch, DataSource};
use crate::{Data, Error, Model};

/// Stochastic variational inference: maximises a variational bound ([`Elbo`]) of a model's
/// data over the parameters of the model and of its guide, one optimizer step per batch.
///
/// `model.fit(&data, vi)` is `Svi::new(vi).run(&mut model, &mut data.clone())`.
///
/// ```
/// use inferrs_vi::{Svi, TraceElbo, VI};
/// let svi = Svi::new(VI::new(100).batch_size(32).elbo(TraceElbo { particles: 2 }));
/// # let _ = svi;
/// ```
#[derive(Debug)]
pub struct Svi {
    vi: VI,
}

/// The optimizer of a fit, kept by the model for a later fit that resumes it
/// ([`VI::resume`]).
#[derive(Clone)]
pub(crate) struct OptimizerState {
    /// Which optimizer it is: a fit with another one cannot resume it.
    pub(crate) kind: crate::Optimizer,
    module: ModuleOptimizer,
    rows: RowOptimizer,
}

/// The trainable state of a fit: the model's parameters and the guide's, on the autodiff
/// device.
pub(super) struct State<P> {
    pub(super) params: P,
    /// The guide's parameters shared by every row (global latent variables, a q-model's
    /// networks).
    pub(super) shared: Option<Box<dyn DynModule>>,
    /// The guide's parameters of local latent variables, one row per data row.
    pub(super) rows: Option<Box<dyn DynModule>>,
}

impl<P: Clone> State<P> {
    pub(super) fn snapshot(&self) -> Self {
        Self {
            params: self.params.clone(),
            shared: self.shared.as_ref().map(|m| m.clone_box()),
            rows: self.rows.as_ref().map(|m| m.clone_box()),
        }
    }
}

impl<P: Module> State<P> {
    /// The values of the model's and the shared guide parameters, in order (what the ranks
    /// of a data-parallel fit share).
    pub(super) fn values(&self) -> Vec<f32> {
        let mut values = Vec::new();
        crate::distributed::exchange::flatten_values(&self.params, &mut values);
        if let Some(m) = &self.shared {
            m.flatten_values(&mut values);
        }
        values
    }

    /// The parameters a step on the tape reads.
    fn step_params(&self) -> StepParams<'_, P> {
        StepParams {
            model: &self.params,
            shared: self.shared.as_deref(),
            rows: self.rows.as_deref(),
        }
    }

    /// One step of `optimizer` with the tape's gradients.
    fn step_with(&mut self, optimizer: &mut ModuleOptimizer, lr: f64, grads: StepGrads) {
        self.params = optimizer.step(lr, self.params.clone(), grads.model);
        if let (Some(m), Some(g)) = (self.shared.take(), grads.shared) {
            self.shared = Some(m.step_with(optimizer, lr, g));
        }
        if let (Some(m), Some(g)) = (self.rows.take(), grads.rows) {
            self.rows = Some(m.step_with(optimizer, lr, g));
        }
    }

    /// The state with those parameters set to `values` (as [`State::values`] orders them).
    pub(super) fn with_values(self, values: &[f32]) -> Self {
        let (params, at) = crate::distributed::exchange::load_values(self.params, values, 0);
        Self {
            params,
            shared: self.shared.map(|m| m.load_values(values, at).0),
            rows: self.rows,
        }
    }
}

impl Svi {
    /// The loop with `vi`'s options.
    pub fn new(vi: VI) -> Self {
        Self { vi }
    }

    /// Fits `model` to the rows of `source`.
    ///
    /// Random variables that the source gives are observed; the others are latent and need
    /// a guide (the options' q-model or automatic guide, or the model's guide from an earlier
    /// fit). Without latent variables the bound is the log-likelihood and the fit is maximum
    /// likelihood. A progress bar and InferPy's line `{epoch} epochs\t{loss}` are shown unless
    /// the options are quiet.
    ///
    /// # Errors
    /// As [`Model::fit`].
    pub fn run<P, F>(
        self,
        model: &mut Model<P, F>,
        source: &mut dyn DataSource,
    ) -> Result<FitReport, Error>
    where
        P: Module,
        F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error> + Send,
    {
        let vi = self.vi;
        // The fit runs on a thread of rayon's pool (the pool the fused kernels and flex
        // thread their ops on), the caller waiting: a kernel's parallel region then runs on
        // this thread and the pool's others, where from a thread outside the pool it is
        // handed to the workers, and their spinning between regions competes with the
        // caller's thread for the cores (2 workers and the caller on 2 cores: the user MDN's
        // step took 1.46 ms so, 1.22 ms in the pool; docs/performance.md). A data-parallel
        // fit stays on its thread: MPI's calls stay on the thread that initialised it.
        if vi.group().is_none() && rayon::current_thread_index().is_none() {
            return rayon::scope(|_| Self { vi }.run_here(model, source));
        }
        Self { vi }.run_here(model, source)
    }

    /// [`Svi::run`] on the calling thread.
    fn run_here<P, F>(
        self,
        model: &mut Model<P, F>,
        source: &mut dyn DataSource,
    ) -> Result<FitReport, Error>
    where
        P: Module,
        F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
    {
        let vi = self.vi;
        let mut group = vi
            .group()
            .map(|comm| Group::new(std::sync::Arc::clone(comm), vi.checks_every()));
        let result = Self::fit(vi, model, source, group.as_mut());
        // A rank that fails before its first step tells the others, which stop too.
        if let (Err(e), Some(group)) = (&result, group.as_mut()) {
            group.abandon(e);
        }
        result
    }

    fn fit<P, F>(
        mut vi: VI,
        model: &mut Model<P, F>,
        source: &mut dyn DataSource,
        mut group: Option<&mut Group>,
    ) -> Result<FitReport, Error>
    where
        P: Module,
        F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
    {
        vi.validate()?;
        if vi.resumes()
            && let Ok(guard) = model.optimizer.lock()
            && let Some(last) = guard.as_ref()
            && last.kind != *vi.optimizer_kind()
        {
            return Err(Error::InvalidOption {
                option: "resume",
                reason: format!(
                    "the last fit's optimizer is {:?}, and this fit's is {:?}: a fit resumes \
                     the same optimizer",
                    last.kind,
                    vi.optimizer_kind()
                ),
            });
        }
        // A data-parallel fit reads its rank's shard; the ranks agree on the batches.
        let mut shard: Option<Box<dyn DataSource>> = None;
        let source: &mut dyn DataSource = match group.as_deref() {
            Some(g) => &mut **shard.insert(source.shard(g.rank(), g.size())?),
            None => source,
        };
        let total = model.check_source(source)?;
        let batch_size = match group.as_deref_mut() {
            Some(g) => g.share_rows(total, vi.get_batch_size())?,
            None => vi.get_batch_size().filter(|&m| m < total),
        };
        let elbo = vi.take_elbo();
        let inner = model.device();
        // One seed governs the run: networks not yet initialised start from it.
        let fresh = crate::runtime::initialize_lazy(&model.params, &inner, vi.get_seed());
        let device = inner.clone().autodiff();
        // The rows discovery and the guide's preparation see: the whole data for a
        // full-batch fit (borrowed when in memory, not copied), the first batch of a
        // minibatch fit. A full-batch fit moves its data to the device once.
        let mut read: Option<Batch> = None;
        let (first_inner, first_rows, full) = {
            let data: &Data = match (batch_size, source.in_memory().is_some()) {
                (None, true) => source.in_memory().ok_or_else(no_rows)?,
                (None, false) => &read.insert(first_batch(source, total)?).data,
                (Some(m), _) => &read.insert(first_batch(source, m)?).data,
            };
            (
                data.tensors(&inner, &[]),
                Data::rows(data).unwrap_or(0),
                batch_size.is_none().then(|| data.tensors(&device, &[])),
            )
        };
        let prior_draws = vi
            .guide_ref()
            .or(model.guide.as_deref())
            .map_or(1, |g| g.prior_draws().max(1));
        let (latents, supports, inits) = discover(
            model,
            &first_inner,
            (first_rows, total),
            (vi.get_seed(), prior_draws),
            &inner,
            fresh,
        )?;
        // Observed values out of their support are errors before any step: the data in
        // memory is checked whole now, a streamed source batch by batch as it is read.
        let streamed = match (source.in_memory(), &read) {
            (Some(data), _) => {
                supports.check(data, None)?;
                None
            }
            (None, Some(first)) => {
                supports.check(&first.data, Some(&first.indices))?;
                Some(supports)
            }
            (None, None) => Some(supports),
        };
        drop(read);
        // A guide given in the options replaces the model's only when the fit succeeds.
        let given = vi.take_guide();
        let replaces = given.is_some();
        let mut previous = model.guide.take();
        let mut guide = if replaces { given } else { previous.take() };
        let result = Self::train(
            model,
            source,
            &vi,
            elbo,
            guide.as_deref_mut(),
            (&latents, &inits),
            (first_inner, first_rows, full),
            total,
            batch_size,
            streamed.as_ref(),
            group,
        );
        // A fit that failed on a non-finite loss keeps what it had trained until then, the
        // new guide included; any other failure leaves the model as it was.
        model.guide = match (&result, replaces) {
            (Err(e), true) if !keeps_progress(e) => previous,
            _ => guide,
        };
        result
    }

    /// The loss (the negative bound) of `model` as it is, estimated as a fit's step would:
    /// on the rows `batch` of `data` (their local terms scaled by `N / M`, so the estimate is
    /// of the whole data), or on all of `data`. Nothing is trained; the options' seed gives
    /// the draws.
    ///
    /// Over the batches of one epoch, the estimates weighted by `M / N` sum to the
    /// full-batch loss when the guide's draws are fixed (a point guide, or no latent
    /// variable).
    ///
    /// # Errors
    /// [`Error::LatentWithoutGuide`] when the model has latent variables and no fitted guide;
    /// the model's errors.
    pub fn evaluate<P, F>(
        mut self,
        model: &Model<P, F>,
        data: &Data,
        batch: Option<&[usize]>,
    ) -> Result<f64, Error>
    where
        P: Module,
        F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
    {
        self.vi.validate()?;
        let total = model.check_source(data)?;
        let device = model.device();
        let (observed, rows) = match batch {
            Some(indices) => {
                if let Some(&bad) = indices.iter().find(|&&i| i >= total) {
                    return Err(Error::InvalidOption {
                        option: "batch",
                        reason: format!("row {bad} is not a row of the data ({total} rows)"),
                    });
                }
                (
                    data.gather(indices).tensors(&device, &[]),
                    Rows::batch(indices, total, &device),
                )
            }
            None => (data.tensors(&device, &[]), Rows::all(total)),
        };
        let elbo = self.vi.take_elbo();
        let mut rng = Rng::seed_from_u64(self.vi.get_seed());
        let estimate = estimate_batch(
            &model.f,
            &model.params,
            model.guide.as_deref(),
            &observed,
            &rows,
            total,
            &*elbo,
            None,
            (&device, &mut rng),
            None,
            None,
        )?;
        Ok(-scalar(&estimate.value)?)
    }

    #[allow(clippy::too_many_arguments)]
    fn train<P, F>(
        model: &mut Model<P, F>,
        source: &mut dyn DataSource,
        vi: &VI,
        elbo: Box<dyn Elbo>,
        mut guide: Option<&mut (dyn Guide + 'static)>,
        (latents, inits): (&[LatentSite], &[ParamInit]),
        (first_inner, first_rows, full): (Values, usize, Option<Values>),
        total: usize,
        batch_size: Option<usize>,
        streamed: Option<&ObservedSupports>,
        mut group: Option<&mut Group>,
    ) -> Result<FitReport, Error>
    where
        P: Module,
        F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
    {
        let inner = model.device();
        let device = inner.clone().autodiff();
        let mut shuffle = Rng::seed_from_u64(vi.get_seed() ^ 0x5B0F_F1E5);
        match (guide.as_deref_mut(), latents.first()) {
            (None, Some(latent)) => {
                return Err(Error::LatentWithoutGuide {
                    variable: latent.name.to_string(),
                });
            }
            (Some(g), _) => {
                // A q-model's networks start from the fit's seed too.
                if let Some(params) = g.parameters() {
                    params.initialize_lazy(&inner, vi.get_seed() ^ 0x0A0D_E15E);
                }
                g.prepare(latents, &first_inner, first_rows, &inner)?;
                g.keep_distributions(elbo.closed_form_kl());
            }
            (None, None) => {}
        }
        let mut state = State {
            // Freshly initialised networks start where the data puts them.
            params: crate::runtime::apply_inits(model.params.clone(), inits).train(),
            shared: guide
                .as_ref()
                .and_then(|g| g.parameters())
                .map(|m| m.train_box()),
            rows: guide
                .as_ref()
                .and_then(|g| g.row_parameters())
                .map(|m| m.train_box()),
        };
        if let Some(g) = group.as_deref_mut() {
            // Every rank starts from rank 0's parameters (a network started from the data
            // would otherwise start from each rank's shard).
            let layout = Layout::of(&state.params).then(
                state
                    .shared
                    .as_ref()
                    .map_or_else(Layout::default, |m| m.layout()),
            );
            g.ready(layout)?;
            let mut values = state.values();
            g.broadcast(&mut values)?;
            state = state.with_values(&values);
        }
        let mut rng = Rng::seed_from_u64(vi.get_seed());
        // The last fit's optimizer: put back if this fit fails on anything but a non-finite
        // loss, whether it resumes it or not.
        let before = match model.optimizer.get_mut() {
            Ok(state) => state.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        let resumed = before.clone().filter(|_| vi.resumes());
        let (mut optimizer, mut row_optimizer) = match resumed {
            Some(state) => (state.module, state.rows),
            None => (
                vi.optimizer_kind().init(),
                RowOptimizer::new(*vi.optimizer_kind()),
            ),
        };
        let epochs = vi.epochs();
        // Only rank 0 of a data-parallel fit shows progress.
        let quiet = vi.is_quiet() || group.as_deref().is_some_and(|g| g.rank() != 0);
        let bar = progress_bar(epochs, quiet);
        let log_every = if quiet { 0 } else { vi.log_interval() };
        let rows_in_all = group.as_deref().map_or(total, |g| g.plan().total());

        let start = Instant::now();
        let mut losses = Vec::with_capacity(epochs);
        // What the model keeps when the fit fails: the parameters it started from, or on a
        // non-finite loss those whose loss was the last finite one.
        let initial = state.snapshot();
        let mut last_good = state.snapshot();
        let mut baseline: Option<f64> = None;
        let mut check = vi
            .convergence()
            .map(|rule| ConvergenceCheck::new(rule, epochs));
        let mut converged = None;
        let mut constants = ConstantSites::default();
        // A full-batch fit in one process may step on its bound's tape, once checked against
        // burn's autodiff at the first step (`tape_step.rs`).
        let (mut tape, mut gradient) = match (&full, &group) {
            _ if !vi.takes_tape() => (None, "VI::tape(false)".to_string()),
            (None, _) => (None, "a minibatch or streamed fit".to_string()),
            (_, Some(_)) => (None, "a data-parallel fit".to_string()),
            _ if batch_size.is_some() && state.rows.is_some() => {
                (None, "local variables stepped by rows".to_string())
            }
            (Some(observed), None) => {
                match TapeStep::record(
                    &model.f,
                    state.step_params(),
                    guide.as_deref_mut(),
                    (observed, total),
                    &*elbo,
                ) {
                    Ok(t) => (Some(t), "the fit took no step".to_string()),
                    Err(why) => (None, why),
                }
            }
        };
        let mut tape_checked = false;
        let outcome: Result<(), Error> = (|| {
            for epoch in 0..epochs {
                let lr = vi.rate_at(epoch, !inits.is_empty());
                let mut epoch_loss = 0.0;
                let mut run_batch = |observed: &Values,
                                     rows: Rows,
                                     state: &mut State<P>,
                                     guide: &mut Option<&mut (dyn Guide + 'static)>,
                                     constants: Option<&mut ConstantSites>|
                 -> Result<f64, Error> {
                    if let Some(g) = guide.as_deref_mut() {
                        g.set_parameters(
                            state.shared.as_ref().map(|m| m.clone_box()),
                            state.rows.as_ref().map(|m| m.clone_box()),
                        );
                    }
                    let count = rows.count();
                    if let Some(t) = tape.as_mut().filter(|_| tape_checked) {
                        let (bound, grads) = t.run(&state.step_params(), &mut rng);
                        // Non-finite as the model's `f32` would be (the tape is `f64`).
                        if !(bound as f32).is_finite() {
                            return Err(Error::NonFiniteLoss {
                                epoch: epoch + 1,
                                loss: -bound,
                                kept_epoch: epoch,
                            });
                        }
                        last_good = state.snapshot();
                        baseline = Some(baseline.map_or(bound, |b| 0.9 * b + 0.1 * bound));
                        state.step_with(&mut optimizer, lr, grads);
                        if epoch % TAPE_SWEEP_EVERY == 0 {
                            sweep_autodiff_graphs(&device);
                        }
                        return Ok(-bound);
                    }
                    let probe = tape.as_ref().map(|_| rng.clone());
                    let estimate = estimate_batch(
                        &model.f,
                        &state.params,
                        guide.as_deref(),
                        observed,
                        &rows,
                        total,
                        &*elbo,
                        baseline,
                        (&device, &mut rng),
                        constants,
                        None,
                    )?;
                    let value = -scalar(&estimate.value)?;
                    if !value.is_finite() {
                        return Err(Error::NonFiniteLoss {
                            epoch: epoch + 1,
                            loss: value,
                            kept_epoch: epoch,
                        });
                    }
                    last_good = state.snapshot();
                    baseline = Some(baseline.map_or(-value, |b| 0.9 * b - 0.1 * value));
                    let loss: Tensor<1> = -estimate.surrogate;
                    if !loss.is_tracked() {
                        // Nothing to train (no parameter and no latent variable): the fit
                        // only scores the data.
                        return Ok(value * count as f64 / total as f64);
                    }
                    let mut grads = loss.backward();
                    let model_grads = GradientsParams::from_module(&mut grads, &state.params);
                    let shared_grads = state.shared.as_ref().map(|m| m.grads(&mut grads));
                    let rows_grads = match batch_size {
                        None => state.rows.as_ref().map(|m| m.grads(&mut grads)),
                        Some(_) => None,
                    };
                    let mut checked_step = None;
                    if let (Some(t), Some(mut probe)) = (tape.as_mut(), probe) {
                        // The first step: the tape at the same point and draws. Where they
                        // agree, the step is the tape's, so that every step of the fit is
                        // (and a resumed fit repeats the whole one bit for bit).
                        let mut flat = crate::distributed::Flat::default();
                        crate::distributed::exchange::flatten_grads(
                            &state.params,
                            &model_grads,
                            &mut flat,
                        );
                        for (m, g) in [(&state.shared, &shared_grads), (&state.rows, &rows_grads)] {
                            if let (Some(m), Some(g)) = (m, g) {
                                m.flatten_grads(g, &mut flat);
                            }
                        }
                        let (bound, tape_grads) = t.run(&state.step_params(), &mut probe);
                        match TapeStep::agrees((bound, &t.last_loss_grad()), (-value, &flat.values))
                        {
                            Ok(()) => {
                                tape_checked = true;
                                checked_step = Some((bound, tape_grads));
                            }
                            Err(why) => {
                                tape = None;
                                gradient = why;
                            }
                        }
                    }
                    if let Some((bound, tape_grads)) = checked_step {
                        state.step_with(&mut optimizer, lr, tape_grads);
                        return Ok(-bound);
                    }
                    state.params = optimizer.step(lr, state.params.clone(), model_grads);
                    if let (Some(shared), Some(g)) = (state.shared.take(), shared_grads) {
                        state.shared = Some(shared.step_with(&mut optimizer, lr, g));
                    }
                    // On minibatches, only the batch's rows of local variables move; on all
                    // rows, every row does, and burn's optimizer is the same thing.
                    if let Some(rows) = state.rows.take() {
                        state.rows = Some(match (batch_size, rows_grads) {
                            (None, Some(g)) => rows.step_with(&mut optimizer, lr, g),
                            _ => row_optimizer.step(rows, lr, &mut grads),
                        });
                    }
                    Ok(value * count as f64 / total as f64)
                };
                if let Some(g) = group.as_deref_mut() {
                    let plan = g.plan().clone();
                    // An epoch that cannot be read is this rank's failure, told at its first
                    // step.
                    let mut failure = None;
                    let mut batches = match (&full, batch_size) {
                        (None, Some(m)) => match source.epoch(m, Some(&mut shuffle)) {
                            Ok(b) => Some(b),
                            Err(e) => {
                                failure = Some(e);
                                None
                            }
                        },
                        _ => None,
                    };
                    for s in 0..plan.steps() {
                        let scale = plan.scale(s);
                        let expected = plan.rows_of(g.rank(), s);
                        let read = match (&failure, &full) {
                            (None, None) => read_step(batches.as_mut(), expected, s, streamed)
                                .unwrap_or_else(|e| {
                                    failure = Some(e);
                                    None
                                }),
                            _ => None,
                        };
                        let observed = read.as_ref().map(|b| b.data.tensors(&device, &[]));
                        let batch = match (&full, &observed, &read) {
                            (Some(observed), _, _) => Some((observed, Rows::all(total))),
                            (None, Some(observed), Some(b)) => {
                                Some((observed, Rows::batch(&b.indices, total, &device)))
                            }
                            _ => None,
                        };
                        let batch = if failure.is_some() { None } else { batch };
                        let constants = full.as_ref().map(|_| &mut constants);
                        let step = SharedStep {
                            scale,
                            epoch,
                            lr,
                            full: full.is_some(),
                        };
                        let value = step.run(
                            g,
                            batch,
                            failure.take(),
                            &mut state,
                            &mut guide,
                            constants,
                            &mut StepParts {
                                f: &model.f,
                                total,
                                elbo: &*elbo,
                                device: &device,
                                rng: &mut rng,
                                optimizer: &mut optimizer,
                                row_optimizer: &mut row_optimizer,
                                baseline: &mut baseline,
                                last_good: &mut last_good,
                            },
                        )?;
                        epoch_loss += value * scale.rows as f64 / rows_in_all as f64;
                    }
                } else {
                    match &full {
                        Some(observed) => {
                            epoch_loss += run_batch(
                                observed,
                                Rows::all(total),
                                &mut state,
                                &mut guide,
                                Some(&mut constants),
                            )?;
                        }
                        None => {
                            let m = batch_size.unwrap_or(total);
                            for batch in source.epoch(m, Some(&mut shuffle))? {
                                let batch = batch?;
                                if let Some(supports) = streamed {
                                    supports.check(&batch.data, Some(&batch.indices))?;
                                }
                                let observed = batch.data.tensors(&device, &[]);
                                let rows = Rows::batch(&batch.indices, total, &device);
                                epoch_loss +=
                                    run_batch(&observed, rows, &mut state, &mut guide, None)?;
                            }
                        }
                    }
                }
                losses.push(epoch_loss);
                let done = epoch + 1;
                if log_every > 0 && done % log_every == 0 {
                    let line = format!("{done} epochs\t{epoch_loss}");
                    bar.suspend(|| println!("{line}"));
                }
                if done % 50 == 0 || done == epochs {
                    bar.set_position(done as u64);
                    bar.set_message(format!("{epoch_loss:.3}"));
                }
                if let Some(stop) = check.as_mut().and_then(|c| c.observe(&losses)) {
                    converged = Some(stop);
                    break;
                }
            }
            Ok(())
        })();
        // The ranks of a data-parallel fit end with the same parameters.
        let outcome = outcome.and_then(|()| match group.as_deref() {
            Some(g) => g.check_final(&state.values(), losses.len()),
            None => Ok(()),
        });
        // The parameters after the last step were never scored: check them.
        let outcome = outcome.and_then(|()| {
            let finite = crate::runtime::module_is_finite(&state.params)
                && state.shared.as_ref().is_none_or(|m| m.parameters_finite())
                && state.rows.as_ref().is_none_or(|m| m.parameters_finite());
            if finite {
                Ok(())
            } else {
                Err(Error::NonFiniteParameters { epoch: epochs })
            }
        });
        let kept = match outcome {
            Ok(()) => {
                bar.finish_and_clear();
                state
            }
            Err(e) => {
                bar.abandon();
                let kept = if keeps_progress(&e) {
                    last_good
                } else {
                    model.optimizer = std::sync::Mutex::new(before);
                    initial
                };
                restore(&mut model.params, guide, kept);
                return Err(e);
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        restore(&mut model.params, guide, kept);
        model.optimizer = std::sync::Mutex::new(Some(OptimizerState {
            kind: *vi.optimizer_kind(),
            module: optimizer,
            rows: row_optimizer,
        }));
        // The data of the fit, for posterior queries: already on the device when the first
        // batch was all of it.
        let observed = match source.in_memory() {
            Some(_) if first_rows == total => first_inner,
            Some(data) => data.tensors(&inner, &[]),
            None => Values::new(),
        };
        model.fit_data = Some(FitData {
            observed,
            rows: total,
            columns: source.names(),
            // The prior draws served the guide's start; the model keeps the rest.
            latents: latents
                .iter()
                .map(|l| LatentSite {
                    prior: Vec::new(),
                    ..l.clone()
                })
                .collect(),
        });
        model.set_seed(vi.get_seed());
        Ok(FitReport {
            losses,
            rows: rows_in_all,
            seconds,
            converged,
            ranks: group.as_deref().map_or(1, Group::size),
            gradient: Some(match &tape {
                Some(t) if tape_checked => t.gradient(),
                _ => Gradient::Autodiff { why: gradient },
            }),
        })
    }
}

/// Steps on the tape between two sweeps of burn's autodiff graphs
/// ([`sweep_autodiff_graphs`]).
const TAPE_SWEEP_EVERY: usize = 32;

/// Frees the autodiff graphs of tracked tensors that are gone. burn frees them only in a
/// backward pass; the optimizer makes every parameter a new tracked leaf at each step, so a
/// fit stepping on its tape (no backward pass) would otherwise keep every step's leaves
/// (about 7 KB a step for eight schools). A backward pass of one tracked zero is that sweep.
fn sweep_autodiff_graphs(device: &Device) {
    let _ = Tensor::<1>::zeros([1], device)
        .require_grad()
        .sum()
        .backward();
}

/// The bound's estimate for one batch: `particles` draws of the guide, the model run on each
/// with the data conditioned, the draw substituted and local sites scaled by `N / M`.
#[allow(clippy::too_many_arguments)]
pub(super) fn estimate_batch<P, F>(
    f: &F,
    params: &P,
    guide: Option<&(dyn Guide + 'static)>,
    observed: &Values,
    rows: &Rows,
    total: usize,
    elbo: &dyn Elbo,
    baseline: Option<f64>,
    (device, rng): (&Device, &mut Rng),
    constants: Option<&mut ConstantSites>,
    shared: Option<Scale>,
) -> Result<super::elbo::Estimate, Error>
where
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    let mut particles = draw_particles(
        f,
        params,
        guide,
        (observed, rows, total),
        elbo.particles(),
        (device, shared.map(|s| s.local)),
        rng,
    )?;
    if shared.is_some()
        && let Some((name, _)) = particles
            .iter()
            .flat_map(|p| p.guide.iter())
            .find(|(_, d)| !d.reparameterized)
    {
        return Err(Error::InvalidOption {
            option: "distributed",
            reason: format!(
                "variable `{name}` is drawn without a reparameterisation: its score-function \
                 term does not add up over ranks"
            ),
        });
    }
    if let Some(constants) = constants {
        for particle in &mut particles {
            constants.score(&mut particle.model);
        }
    }
    let estimate = elbo.estimate(particles, baseline, device)?;
    Ok(match shared {
        Some(scale) if scale.weight != 1.0 => super::elbo::Estimate {
            surrogate: estimate.surrogate.mul_scalar(scale.weight),
            value: estimate.value.mul_scalar(scale.weight),
        },
        _ => estimate,
    })
}

/// The log densities of a full-batch fit's constant sites, computed at its first step: an
/// observed site whose parameters are host constants (`x ~ Normal(0, 10)` over a data column)
/// has the same log density at every step and no gradient, so scoring it again (a pass over
/// the column forward, and a node in the graph) is wasted. Only for full-batch fits, where
/// every step sees the same rows.
#[derive(Debug, Default)]
pub(crate) struct ConstantSites {
    scored: std::collections::HashMap<&'static str, Tensor<1>>,
}

impl ConstantSites {
    /// Sets the stored log density of every constant site of `trace` (computing it the first
    /// time).
    fn score(&mut self, trace: &mut crate::runtime::Trace) {
        for site in trace.iter_mut() {
            if site.observed && !site.value.is_tracked() && site.dist.constant_parameters() {
                let lp = self
                    .scored
                    .entry(site.name)
                    .or_insert_with(|| site.dist.log_prob(site.value.clone()).detach());
                site.scored = Some(lp.clone());
            }
        }
    }
}

/// `k` particles: draws of `guide` (none without one) on `rows` of `observed` (of `total`
/// rows), each with the model's trace run on it, the data conditioned, the draw substituted
/// and local sites scaled by `N / M`.
pub(crate) fn draw_particles<P, F>(
    f: &F,
    params: &P,
    guide: Option<&(dyn Guide + 'static)>,
    (observed, rows, total): (&Values, &Rows, usize),
    k: usize,
    (device, local_factor): (&Device, Option<f64>),
    rng: &mut Rng,
) -> Result<Vec<Particle>, Error>
where
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    let count = rows.count();
    // Local terms stand for the whole data: `N / M`, or the data-parallel plan's factor.
    let factor = local_factor.unwrap_or(total as f64 / count as f64);
    (0..k)
        .map(|_| {
            let draw = match guide {
                Some(g) => g.draw(observed, rows, device, rng)?,
                None => GuideTrace::new(),
            };
            let values = draw_values(&draw);
            let mut ctx = Ctx::new(count, device.clone(), rng, Unfilled::RequireGuide)
                .with(Handler::Condition(observed))
                .with(Handler::Substitute(&values));
            if factor != 1.0 {
                ctx = ctx.with(Handler::ScaleLocal(factor));
            }
            f(params, &mut ctx)?;
            Ok(Particle {
                model: ctx.into_trace(),
                guide: draw,
            })
        })
        .collect()
}

pub(super) fn scalar(t: &Tensor<1>) -> Result<f64, Error> {
    t.clone()
        .try_into_scalar::<f32>()
        .map(f64::from)
        .map_err(|e| Error::Device(format!("{e:?}")))
}

/// Whether a failed fit keeps the parameters of its last step with a finite loss (a
/// divergence, whose error says which epoch it kept) rather than those it started from.
fn keeps_progress(e: &Error) -> bool {
    matches!(
        e,
        Error::NonFiniteLoss { .. } | Error::NonFiniteParameters { .. }
    )
}

/// Puts `state` (moved off autodiff) into the model and its guide.
fn restore<P: Module>(params: &mut P, guide: Option<&mut (dyn Guide + 'static)>, state: State<P>) {
    *params = state.params.valid();
    if let Some(g) = guide {
        g.set_parameters(
            state.shared.map(|m| m.valid_box()),
            state.rows.map(|m| m.valid_box()),
        );
    }
}

/// The first batch of `m` rows of an unshuffled epoch.
fn first_batch(source: &mut dyn DataSource, m: usize) -> Result<Batch, Error> {
    let mut batches = source.epoch(m, None)?;
    batches.next().unwrap_or_else(|| Err(no_rows()))
}

fn no_rows() -> Error {
    Error::Data {
        column: "(none)".to_string(),
        reason: "the data has no rows".to_string(),
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

/// The latent variables of `model` found by a run on `observed` (`rows` of the data's
/// `total` rows): a local one has `total` rows; each with `draws` draws from the prior (the
/// first that run's, the others from further runs), from a stream of `seed`; and the
/// supports of the observed ones.
pub(crate) fn discover<P, F>(
    model: &Model<P, F>,
    observed: &Values,
    (rows, total): (usize, usize),
    (seed, draws): (u64, usize),
    device: &Device,
    fresh: bool,
) -> Result<(Vec<LatentSite>, ObservedSupports, Vec<ParamInit>), Error>
where
    P: Module,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    // Its own stream, so that the fit's stream does not depend on whether there are latents.
    let mut rng = Rng::seed_from_u64(seed ^ 0x5EED_1A7E);
    let run = |rng: &mut Rng| -> Result<_, Error> {
        let mut ctx =
            Ctx::new(rows, device.clone(), rng, Unfilled::Draw).with(Handler::Condition(observed));
        (model.f)(&model.params, &mut ctx)?;
        Ok(ctx.into_trace())
    };
    let (observed, latent): (Vec<_>, Vec<_>) = run(&mut rng)?.into_iter().partition(|s| s.observed);
    let mut latents: Vec<LatentSite> = latent
        .into_iter()
        .map(|s| {
            let [r, e] = s.value.dims();
            LatentSite {
                name: s.name,
                shape: [if s.local { total } else { r }, e],
                local: s.local,
                support: s.support(),
                prior: vec![s.value],
                seed: name_seed(seed, s.name),
            }
        })
        .collect();
    for _ in 1..draws {
        for site in run(&mut rng)? {
            if let Some(latent) = latents.iter_mut().find(|l| l.name == site.name) {
                latent.prior.push(site.value);
            }
        }
    }
    // Networks initialised by this fit take their starting values from the observed data
    // where the distribution they parameterise proposes some (`Distribution::data_init`).
    let inits = if fresh {
        observed
            .iter()
            .flat_map(|s| s.dist.data_init(&s.value))
            .collect()
    } else {
        Vec::new()
    };
    let supports = observed
        .into_iter()
        .map(|s| (s.name.to_string(), s.support()))
        .collect();
    Ok((latents, ObservedSupports::new(supports), inits))
}

/// A seed for variable `name` of a fit with `seed` (FNV-1a of the name, mixed with it).
fn name_seed(seed: u64, name: &str) -> u64 {
    let hash = name.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    });
    hash ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}
