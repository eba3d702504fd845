//! The part of [`Svi`](crate::Svi) that data-parallel fits add ([`VI::distributed`](
//! crate::VI::distributed)): the exchanges before the first step (every rank's shard size,
//! then its parameters' layout and rank 0's starting values), one exchange per step, and the
//! checks that keep the ranks together.
//!
//! Every exchange carries each rank's status, so a rank that fails tells the others at the
//! next exchange, and every rank stops there: the failed one with its own error, the others
//! with [`Error::RankFailed`] naming it. A rank that fails before the first exchange that it
//! owes sends a failed one in its place ([`Group::abandon`]).

use std::sync::Arc;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Gradients, Tensor};
use inferrs_distributions::Rng;

use super::elbo::Elbo;
use super::row_optimizer::RowOptimizer;
use super::support::ObservedSupports;
use super::svi::{ConstantSites, State, estimate_batch, scalar};
use crate::Error;
use crate::distributed::Collective;
use crate::distributed::Layout;
use crate::distributed::collective::gather;
use crate::distributed::exchange::{self, Hello, Message, Reduced, Status, digest};
use crate::distributed::exchange::{Flat, flatten_grads, unflatten_grads};
use crate::distributed::plan::Plan;
use crate::distributed::plan::Scale;
use crate::guide::{Guide, Rows};
use crate::runtime::{Ctx, Values};
use crate::source::{Batch, Batches};

/// The ranks of a data-parallel fit, seen from one of them.
#[derive(Debug)]
pub(crate) struct Group {
    comm: Arc<dyn Collective>,
    /// Exchanges before the first step not yet made (2, then 1, then 0).
    owed: usize,
    plan: Plan,
    layout: Layout,
    check_every: usize,
    /// Steps exchanged so far.
    steps: usize,
}

impl Group {
    pub(crate) fn new(comm: Arc<dyn Collective>, check_every: usize) -> Self {
        Self {
            comm,
            owed: 2,
            plan: Plan::new(Vec::new(), None),
            layout: Layout::default(),
            check_every: check_every.max(1),
            steps: 0,
        }
    }

    pub(crate) fn rank(&self) -> usize {
        self.comm.rank()
    }

    pub(crate) fn size(&self) -> usize {
        self.comm.size()
    }

    pub(crate) fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The first exchange: every rank's shard has `rows` rows. Returns the plan's batch size
    /// for all ranks (`None` for whole shards: `batch` is at least every shard).
    pub(crate) fn share_rows(
        &mut self,
        rows: usize,
        batch: Option<usize>,
    ) -> Result<Option<usize>, Error> {
        let replies = self.hello(Status::Ok, rows, Layout::default())?;
        let shards: Vec<usize> = replies.iter().map(|h| h.rows).collect();
        let largest = shards.iter().copied().max().unwrap_or(0);
        let batch = batch.filter(|&m| m < largest);
        self.plan = Plan::new(shards, batch);
        Ok(batch)
    }

    /// The second exchange: this rank's parameters have `layout`, which must be every rank's.
    pub(crate) fn ready(&mut self, layout: Layout) -> Result<(), Error> {
        let replies = self.hello(Status::Ok, self.plan.rows_of(self.rank(), 0), layout)?;
        if let Some((r, h)) = replies
            .iter()
            .enumerate()
            .find(|(_, h)| h.layout != replies[0].layout)
        {
            return Err(Error::Collective {
                rank: self.rank(),
                reason: format!(
                    "rank {r}'s model and guide have {} parameters ({} values), rank 0's {} ({}): \
                     every rank must fit the same model",
                    h.layout.params,
                    h.layout.values,
                    replies[0].layout.params,
                    replies[0].layout.values
                ),
            });
        }
        self.layout = layout;
        Ok(())
    }

    /// After a failure of this rank before its first step: the exchange it owes, with the
    /// failure, so that the other ranks stop there too.
    pub(crate) fn abandon(&mut self, error: &Error) {
        if self.owed > 0 {
            // Nothing more can be done if the exchange itself fails.
            let _ = self.hello(Status::Failed(error.to_string()), 0, Layout::default());
            self.owed = 0;
        }
    }

    fn hello(&mut self, status: Status, rows: usize, layout: Layout) -> Result<Vec<Hello>, Error> {
        self.owed = self.owed.saturating_sub(1);
        let replies = exchange::hello(
            &*self.comm,
            &Hello {
                status,
                rows,
                layout,
            },
        )?;
        if let Some((r, h)) = replies
            .iter()
            .enumerate()
            .find(|(_, h)| matches!(h.status, Status::Failed(_)))
            && let Status::Failed(reason) = &h.status
        {
            self.owed = 0;
            return Err(Error::RankFailed {
                rank: r,
                epoch: 0,
                reason: reason.clone(),
            });
        }
        Ok(replies)
    }

    /// Rank 0's `values` (its starting parameters) in place of every rank's.
    pub(crate) fn broadcast(&self, values: &mut [f32]) -> Result<(), Error> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let parts = gather(&*self.comm, &bytes)?;
        for (v, c) in values.iter_mut().zip(parts[0].chunks_exact(4)) {
            *v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Ok(())
    }

    /// The layout every rank's step message has.
    pub(crate) fn layout(&self) -> Layout {
        self.layout
    }

    /// Whether the next step compares the ranks' parameters (the first, then every
    /// `check_every`).
    pub(crate) fn checks_next(&self) -> bool {
        self.steps.is_multiple_of(self.check_every)
    }

    /// One step's exchange: this rank's `message` (and its own failure, if it failed) for
    /// every rank's, summed. At epoch `epoch` (1-based).
    ///
    /// # Errors
    /// This rank's own error; [`Error::RankFailed`] for another's; [`Error::RanksDiverged`]
    /// when the digests of the parameters differ; [`Error::Collective`].
    pub(crate) fn step(
        &mut self,
        message: &Message,
        own: Option<Error>,
        epoch: usize,
    ) -> Result<Reduced, Error> {
        let reduced = exchange::exchange(&*self.comm, message, self.layout)?;
        self.steps += 1;
        if let Some(e) = own {
            return Err(e);
        }
        if let Some((rank, reason)) = reduced.failure() {
            return Err(Error::RankFailed {
                rank,
                epoch,
                reason: reason.to_string(),
            });
        }
        if let Some(rank) = reduced
            .digests
            .iter()
            .position(|&d| d != reduced.digests[0])
        {
            return Err(Error::RanksDiverged { rank, epoch });
        }
        Ok(reduced)
    }

    /// After the last step: the ranks' parameters `values` are the same bits.
    pub(crate) fn check_final(&self, values: &[f32], epoch: usize) -> Result<(), Error> {
        let digests = crate::distributed::collective::gather_u64(&*self.comm, digest(values))?;
        match digests.iter().position(|&d| d != digests[0]) {
            Some(rank) => Err(Error::RanksDiverged { rank, epoch }),
            None => Ok(()),
        }
    }
}

/// What a step of a data-parallel fit borrows from the fit.
pub(crate) struct StepParts<'a, P, F> {
    pub(crate) f: &'a F,
    /// Rows of this rank's shard.
    pub(crate) total: usize,
    pub(crate) elbo: &'a dyn Elbo,
    pub(crate) device: &'a Device,
    pub(crate) rng: &'a mut Rng,
    pub(crate) optimizer: &'a mut ModuleOptimizer,
    pub(crate) row_optimizer: &'a mut RowOptimizer,
    pub(crate) baseline: &'a mut Option<f64>,
    /// The state whose loss was the last finite one (what a divergence keeps).
    pub(crate) last_good: &'a mut State<P>,
}

/// One step of a data-parallel fit at `epoch` (0-based).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SharedStep {
    pub(crate) scale: Scale,
    pub(crate) epoch: usize,
    pub(crate) lr: f64,
    /// Whether each rank's batch is its whole shard (local rows step with the module
    /// optimizer, as in a full-batch fit).
    pub(crate) full: bool,
}

impl SharedStep {
    /// The step: this rank's gradients of its `batch` (none when its shard is done this
    /// epoch, or it failed with `failure`), summed with every rank's; every rank steps the
    /// model's and the shared guide parameters with the sum, and its own rows' guide
    /// parameters with its own gradients. Returns the full-data loss estimate of the step.
    ///
    /// # Errors
    /// As [`Group::step`]; [`Error::NonFiniteLoss`] on every rank when the sum is not
    /// finite.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run<P, F>(
        self,
        group: &mut Group,
        batch: Option<(&Values, Rows)>,
        failure: Option<Error>,
        state: &mut State<P>,
        guide: &mut Option<&mut (dyn Guide + 'static)>,
        constants: Option<&mut ConstantSites>,
        parts: &mut StepParts<'_, P, F>,
    ) -> Result<f64, Error>
    where
        P: Module,
        F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
    {
        let layout = group.layout();
        let digest = if group.checks_next() {
            digest(&state.values())
        } else {
            0
        };
        let mut own = failure;
        let mut loss = 0.0;
        let mut flat: Option<Flat> = None;
        let mut local = None;
        if own.is_none()
            && let Some((observed, rows)) = batch
        {
            match self.gradients(
                layout,
                (observed, &rows),
                state,
                guide.as_deref_mut(),
                constants,
                parts,
            ) {
                Ok((value, grads)) => {
                    loss = value;
                    if let Some((f, g)) = grads {
                        flat = Some(f);
                        local = Some(g);
                    }
                }
                Err(e) => own = Some(e),
            }
        }
        let message = Message {
            status: own
                .as_ref()
                .map_or(Status::Ok, |e| Status::Failed(e.to_string())),
            loss,
            digest,
            grads: flat.unwrap_or_else(|| Flat::zeros(layout)),
        };
        let epoch = self.epoch + 1;
        let reduced = group.step(&message, own, epoch)?;
        if !reduced.loss.is_finite() {
            return Err(Error::NonFiniteLoss {
                epoch,
                loss: reduced.loss,
                kept_epoch: self.epoch,
            });
        }
        *parts.last_good = state.snapshot();
        let b = parts
            .baseline
            .map_or(-reduced.loss, |b| 0.9 * b - 0.1 * reduced.loss);
        *parts.baseline = Some(b);
        let (model_grads, at) = unflatten_grads(&state.params, &reduced.grads, (0, 0));
        if !model_grads.is_empty() {
            state.params = parts
                .optimizer
                .step(self.lr, state.params.clone(), model_grads);
        }
        if let Some(shared) = state.shared.take() {
            let (grads, _) = shared.unflatten_grads(&reduced.grads, at);
            state.shared = Some(if grads.is_empty() {
                shared
            } else {
                shared.step_with(parts.optimizer, self.lr, grads)
            });
        }
        if let Some(mut grads) = local
            && let Some(rows) = state.rows.take()
        {
            state.rows = Some(if self.full {
                rows.step_box(parts.optimizer, self.lr, &mut grads)
            } else {
                parts.row_optimizer.step(rows, self.lr, &mut grads)
            });
        }
        Ok(reduced.loss)
    }

    /// This rank's part of the loss on `observed`, and, when it is finite and something is
    /// trained, the flattened gradients of the model's and the shared guide parameters with
    /// what is left of the autodiff gradients (its rows' guide parameters).
    fn gradients<P, F>(
        self,
        layout: Layout,
        (observed, rows): (&Values, &Rows),
        state: &State<P>,
        mut guide: Option<&mut (dyn Guide + 'static)>,
        constants: Option<&mut ConstantSites>,
        parts: &mut StepParts<'_, P, F>,
    ) -> Result<(f64, Option<(Flat, Gradients)>), Error>
    where
        P: Module,
        F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
    {
        if let Some(g) = guide.as_deref_mut() {
            g.set_parameters(
                state.shared.as_ref().map(|m| m.clone_box()),
                state.rows.as_ref().map(|m| m.clone_box()),
            );
        }
        let estimate = estimate_batch(
            parts.f,
            &state.params,
            guide.as_deref(),
            observed,
            rows,
            parts.total,
            parts.elbo,
            *parts.baseline,
            (parts.device, &mut *parts.rng),
            constants,
            Some(self.scale),
        )?;
        let value = -scalar(&estimate.value)?;
        let loss: Tensor<1> = -estimate.surrogate;
        if !value.is_finite() || !loss.is_tracked() {
            return Ok((value, None));
        }
        let mut grads = loss.backward();
        let model = GradientsParams::from_module(&mut grads, &state.params);
        let mut flat = Flat {
            flags: Vec::with_capacity(layout.params),
            values: Vec::with_capacity(layout.values),
        };
        flatten_grads(&state.params, &model, &mut flat);
        if let Some(m) = &state.shared {
            let shared = m.grads(&mut grads);
            m.flatten_grads(&shared, &mut flat);
        }
        Ok((value, Some((flat, grads))))
    }
}

/// The batch of step `s` of this rank's epoch from `batches`, which must have `expected`
/// rows (none once its shard is done), its observed values checked against their supports
/// when the source is streamed.
///
/// # Errors
/// The source's error; [`Error::Data`] when the batch is not the plan's; the support check's.
pub(crate) fn read_step(
    batches: Option<&mut Batches<'_>>,
    expected: usize,
    s: usize,
    streamed: Option<&ObservedSupports>,
) -> Result<Option<Batch>, Error> {
    if expected == 0 {
        return Ok(None);
    }
    let short = |reason: String| Error::Data {
        column: "(none)".to_string(),
        reason,
    };
    match batches.and_then(Iterator::next) {
        Some(Ok(batch)) if batch.indices.len() == expected => {
            if let Some(supports) = streamed {
                supports.check(&batch.data, Some(&batch.indices))?;
            }
            Ok(Some(batch))
        }
        Some(Ok(batch)) => Err(short(format!(
            "the shard's batch {s} has {} rows, {expected} expected",
            batch.indices.len()
        ))),
        Some(Err(e)) => Err(e),
        None => Err(short(format!("the shard ended before its batch {s}"))),
    }
}
