//! Variational inference options: [`VI`], its optimizer and learning-rate schedule, and the
//! [`FitReport`] that `fit` returns.

use burn::optim::{ModuleOptimizer, SgdConfig, momentum::MomentumConfig};
use serde::{Deserialize, Serialize};

use super::convergence::{Converged, Convergence};
use super::elbo::{Elbo, TraceElbo, TraceMeanFieldElbo};
use crate::{Error, Guide, QModel};

/// The default learning rate of Adam (see `docs/design.md` for the measurements behind it).
pub const DEFAULT_LR: f64 = 0.01;

/// The gradient-based optimizer of a fit.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Optimizer {
    /// Adam (Kingma and Ba 2015).
    Adam {
        /// Decay of the first moment.
        beta1: f32,
        /// Decay of the second moment.
        beta2: f32,
        /// Added to the root of the second moment.
        epsilon: f32,
    },
    /// Stochastic gradient descent, with optional momentum.
    Sgd {
        /// Momentum factor (0: plain SGD).
        momentum: f64,
    },
}

impl Optimizer {
    /// Adam with the usual constants (0.9, 0.999, 1e-8), as Keras, PyTorch and optax use.
    pub fn adam() -> Self {
        Self::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        }
    }

    /// Plain stochastic gradient descent.
    pub fn sgd() -> Self {
        Self::Sgd { momentum: 0.0 }
    }

    pub(crate) fn init(&self) -> ModuleOptimizer {
        match *self {
            Self::Adam {
                beta1,
                beta2,
                epsilon,
            } => ModuleOptimizer::from(super::fused_adam::FusedAdam::new(beta1, beta2, epsilon)),
            Self::Sgd { momentum } => {
                let config = SgdConfig::new();
                if momentum > 0.0 {
                    config
                        .with_momentum(Some(
                            MomentumConfig::new()
                                .with_momentum(momentum)
                                .with_dampening(0.0),
                        ))
                        .init()
                } else {
                    config.init()
                }
            }
        }
    }
}

/// How the learning rate moves over the epochs of a fit.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    /// The same rate at every epoch.
    Constant,
    /// Cosine decay from the rate to `final_fraction * rate` at the last epoch. A fit of one
    /// epoch runs at the rate (a streamed minibatch fit of one pass, say).
    Cosine {
        /// The fraction of the rate left at the end.
        final_fraction: f64,
    },
}

impl Schedule {
    /// The rate at 0-based `epoch` of `epochs`.
    pub fn rate(&self, lr: f64, epoch: usize, epochs: usize) -> f64 {
        match *self {
            Self::Constant => lr,
            Self::Cosine { final_fraction } => {
                // One epoch is the first epoch, not the last: no decay.
                let t = if epochs > 1 {
                    epoch as f64 / (epochs - 1) as f64
                } else {
                    0.0
                };
                let cos = 0.5 * (1.0 + (std::f64::consts::PI * t).cos());
                lr * (final_fraction + (1.0 - final_fraction) * cos)
            }
        }
    }
}

/// Variational inference: maximise the ELBO by gradient steps over the whole data.
///
/// With no q-model (the default) the ELBO is the log-likelihood of the data, so fitting is
/// maximum likelihood over the model's parameters (the weights of its networks).
///
/// ```
/// use inferrs_vi::{VI, Optimizer};
/// let vi = VI::new(4000).lr(0.005).optimizer(Optimizer::adam()).seed(7).quiet(true);
/// assert_eq!(vi.epochs(), 4000);
/// ```
///
/// With latent variables (random variables that the data does not give) the ELBO needs a
/// guide: a q-model ([`VI::qmodel`]) or an automatic guide ([`VI::guide`]). It is then
/// estimated by Monte Carlo with [`VI::particles`] draws of the guide per epoch, reparameterised
/// where the guide's distributions allow and with a score-function term otherwise.
pub struct VI {
    epochs: usize,
    lr: f64,
    optimizer: Optimizer,
    schedule: Schedule,
    seed: u64,
    quiet: bool,
    log_every: usize,
    particles: usize,
    analytic_kl: bool,
    elbo: Option<Box<dyn Elbo>>,
    batch_size: Option<usize>,
    guide: Option<Box<dyn Guide>>,
    resume: bool,
    warmup: Option<f64>,
    convergence: Option<Convergence>,
    group: Option<std::sync::Arc<dyn crate::distributed::Collective>>,
    check_every: usize,
    tape: bool,
}

/// Steps between two checks that the ranks of a data-parallel fit have the same parameters,
/// unless [`VI::check_every`] says otherwise.
pub const DEFAULT_CHECK_EVERY: usize = 100;

/// The share of the epochs over which the rate warms up when a fit starts networks from the
/// data and [`VI::warmup`] does not say otherwise.
pub const DATA_START_WARMUP: f64 = 0.05;

impl std::fmt::Debug for VI {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VI")
            .field("epochs", &self.epochs)
            .field("lr", &self.lr)
            .field("optimizer", &self.optimizer)
            .field("schedule", &self.schedule)
            .field("seed", &self.seed)
            .field("quiet", &self.quiet)
            .field("log_every", &self.log_every)
            .field("particles", &self.particles)
            .field("analytic_kl", &self.analytic_kl)
            .field("elbo", &self.elbo)
            .field("batch_size", &self.batch_size)
            .field("guide", &self.guide.as_ref().map(|g| g.kind()))
            .field("resume", &self.resume)
            .field("warmup", &self.warmup)
            .field("convergence", &self.convergence)
            .field(
                "distributed",
                &self.group.as_ref().map(|g| (g.rank(), g.size())),
            )
            .field("check_every", &self.check_every)
            .field("tape", &self.tape)
            .finish()
    }
}

impl VI {
    /// `epochs` full passes over the data with the default options: Adam, learning rate
    /// [`DEFAULT_LR`], the default schedule, seed 0, progress shown.
    pub fn new(epochs: usize) -> Self {
        Self {
            epochs,
            lr: DEFAULT_LR,
            optimizer: Optimizer::adam(),
            schedule: Schedule::Cosine {
                final_fraction: 0.01,
            },
            seed: 0,
            quiet: false,
            log_every: 200,
            particles: 1,
            analytic_kl: false,
            elbo: None,
            batch_size: None,
            guide: None,
            resume: false,
            warmup: None,
            convergence: None,
            group: None,
            check_every: DEFAULT_CHECK_EVERY,
            tape: true,
        }
    }

    /// Fits the latent variables with a q-model written with `qmodel!`: its random variables
    /// are matched to the model's latent variables by name.
    pub fn qmodel<P, F>(self, q: QModel<P, F>) -> Self
    where
        P: burn::module::Module + Sync + 'static,
        F: Fn(&P, &mut crate::runtime::Ctx<'_>) -> Result<(), Error> + Send + Sync + 'static,
    {
        self.guide(q)
    }

    /// Fits the latent variables with a guide: an automatic one ([`AutoNormal`](crate::AutoNormal),
    /// [`AutoDelta`](crate::AutoDelta), [`AutoMultivariateNormal`](crate::AutoMultivariateNormal))
    /// or any [`Guide`]. The model keeps it after the fit for its posterior queries, and a later
    /// fit without a guide goes on training it.
    pub fn guide(mut self, guide: impl Guide + 'static) -> Self {
        self.guide = Some(Box::new(guide));
        self
    }

    /// Draws of the guide per epoch in the Monte Carlo estimate of the ELBO (default 1).
    pub fn particles(mut self, n: usize) -> Self {
        self.particles = n;
        self
    }

    /// Uses the closed-form KL divergence `KL(q || p)` instead of its Monte Carlo estimate for
    /// every latent variable whose prior and guide are both Normal (default off).
    pub fn analytic_kl(mut self, on: bool) -> Self {
        self.analytic_kl = on;
        self
    }

    /// The estimator of the bound: [`TraceElbo`] (the default, with [`VI::particles`]),
    /// [`TraceMeanFieldElbo`] (what [`VI::analytic_kl`] picks), or
    /// [`RenyiElbo`](crate::RenyiElbo) (the importance-weighted bound). It replaces the
    /// estimator that `particles` and `analytic_kl` describe.
    pub fn elbo(mut self, elbo: impl Elbo + 'static) -> Self {
        self.elbo = Some(Box::new(elbo));
        self
    }

    /// Stochastic VI on minibatches (InferPy's `SVI(q, epochs, batch_size)`): each epoch is a
    /// seeded shuffle of the rows into `ceil(N / m)` batches of `m` rows (the last one
    /// possibly fewer), one optimizer step per batch. A local site's log-density (and its
    /// guide's `log q`) is scaled by `N / (rows in the batch)`; global ones are not. The loss
    /// reported per epoch is the full-data estimate: the batches' estimates, each weighted by
    /// its share of the rows. A batch size of at least `N` is a full-batch fit.
    pub fn batch_size(mut self, m: usize) -> Self {
        self.batch_size = Some(m);
        self
    }

    /// Data-parallel SVI over the ranks of `group` ([`Mpi`](crate::distributed::Mpi)'s world,
    /// or a [`LocalGroup`](crate::distributed::LocalGroup)'s rank): every rank runs the same
    /// program, and fits on its shard of the data (rows `rank, rank + size, ...` of data in
    /// memory or a CSV file, the row groups `rank, rank + size, ...` of a Parquet file).
    ///
    /// - At each step every rank computes the gradient of its batch's bound, scaled so that
    ///   the ranks' bounds add up to one estimate of the whole data's (a global term counted
    ///   once, the local terms by `N / M` for the `M` rows of the step on all ranks).
    /// - One all-gather exchanges the gradients; each rank sums them in rank order, and every
    ///   rank takes the same optimizer step. Every rank draws the global latent variables
    ///   from the same stream, so a step is the step of one process on the union of the
    ///   batches.
    /// - Rank 0's starting parameters are everyone's, and the ranks check every
    ///   [`VI::check_every`] steps (and after the last) that their parameters are the same
    ///   bits ([`Error::RanksDiverged`] otherwise).
    /// - A rank that fails stops every rank: the others return [`Error::RankFailed`] naming
    ///   it. Only rank 0 shows progress.
    /// - Global latent variables and their guide are on every rank; a local one's q is on the
    ///   rank of its rows, indexed by the row in the shard.
    ///
    /// It needs an estimator that sums over rows ([`Elbo::sums_over_rows`]: the Monte Carlo
    /// and mean-field ELBOs) and reparameterised draws.
    pub fn distributed(mut self, group: impl crate::distributed::Collective + 'static) -> Self {
        self.group = Some(std::sync::Arc::new(group));
        self
    }

    /// With [`VI::distributed`]: the ranks compare their parameters every `k` steps (at
    /// least 1; default [`DEFAULT_CHECK_EVERY`]).
    pub fn check_every(mut self, k: usize) -> Self {
        self.check_every = k;
        self
    }

    /// The group of a data-parallel fit.
    pub(crate) fn group(&self) -> Option<&std::sync::Arc<dyn crate::distributed::Collective>> {
        self.group.as_ref()
    }

    /// Steps between two checks that the ranks' parameters agree.
    pub(crate) fn checks_every(&self) -> usize {
        self.check_every
    }

    /// The batch size, if the fit is on minibatches.
    pub fn get_batch_size(&self) -> Option<usize> {
        self.batch_size
    }

    pub(crate) fn take_guide(&mut self) -> Option<Box<dyn Guide>> {
        self.guide.take()
    }

    /// The estimator this fit uses (see [`VI::elbo`]).
    pub(crate) fn take_elbo(&mut self) -> Box<dyn Elbo> {
        match self.elbo.take() {
            Some(elbo) => elbo,
            None if self.analytic_kl => Box::new(TraceMeanFieldElbo {
                particles: self.particles,
            }),
            None => Box::new(TraceElbo {
                particles: self.particles,
            }),
        }
    }

    /// Sets the (initial) learning rate.
    pub fn lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }

    /// Sets the optimizer.
    pub fn optimizer(mut self, optimizer: Optimizer) -> Self {
        self.optimizer = optimizer;
        self
    }

    /// Sets the learning-rate schedule.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Sets the seed of every random draw of the fit and of the model's later queries.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Continues the optimizer of the model's last successful fit: Adam's moments and step
    /// counts (or SGD's velocity) carry on from where that fit left them, as if the two fits
    /// were one (with a constant schedule and no randomness, `fit(n)` then
    /// `fit(m).resume()` is `fit(n + m)` bit for bit). The schedule runs over this fit's
    /// epochs. Without it (the default) every fit starts a fresh optimizer from the model's
    /// current parameters. With no earlier fit, the optimizer starts fresh.
    pub fn resume(mut self) -> Self {
        self.resume = true;
        self
    }

    /// Warms the learning rate up linearly over the first `fraction` of the epochs: the
    /// schedule's rate at 0-based epoch `e` is scaled by `min(1, (e + 1) / (fraction *
    /// epochs))`. `0.0` turns the warm-up off.
    ///
    /// Without this option a fit warms up over [`DATA_START_WARMUP`] of its epochs exactly
    /// when it starts networks from the data (a fresh [`MixtureNet`]'s components placed at
    /// quantiles of the observed values, [`Distribution::data_init`]), and not otherwise.
    /// Adam's first steps move every weight by about the full rate whatever its gradient;
    /// a Mixture Density Network whose components lose the data in those steps never gets
    /// them back and misses a branch (`docs/design.md` has the measurements).
    ///
    /// [`MixtureNet`]: https://docs.rs/inferrs-nn
    /// [`Distribution::data_init`]: inferrs_distributions::Distribution::data_init
    pub fn warmup(mut self, fraction: f64) -> Self {
        self.warmup = Some(fraction);
        self
    }

    /// Stops the fit early when the ELBO has stopped moving, by Stan's ADVI rule on its
    /// relative change ([`Convergence`]; `Convergence::default()` is Stan's `eval_elbo = 100`,
    /// `tol_rel_obj = 0.01`). The epochs given to [`VI::new`] are then the most it runs;
    /// [`FitReport::converged`] says when it stopped. Off by default: every fit runs all its
    /// epochs.
    pub fn converge(mut self, rule: Convergence) -> Self {
        self.convergence = Some(rule);
        self
    }

    /// Whether a full-batch fit may run its steps on the tape of its bound (default on): the
    /// step recorded once on burn's capture device and replayed in `f64`, without burn's
    /// autodiff, where the model and guide allow it and it pays (a small model: the tape
    /// touches at most 100,000 elements a step) and it agrees with burn's autodiff at the
    /// first step. [`FitReport::gradient`] says which ran. Off: every step on burn's
    /// autodiff, in `f32`.
    pub fn tape(mut self, on: bool) -> Self {
        self.tape = on;
        self
    }

    /// Whether the fit may take the tape ([`VI::tape`]).
    pub(crate) fn takes_tape(&self) -> bool {
        self.tape
    }

    /// The stopping rule, if any ([`VI::converge`]).
    pub fn convergence(&self) -> Option<Convergence> {
        self.convergence
    }

    /// The guide the options give, if any.
    pub(crate) fn guide_ref(&self) -> Option<&dyn Guide> {
        self.guide.as_deref()
    }

    /// Whether the fit continues the last fit's optimizer ([`VI::resume`]).
    pub fn resumes(&self) -> bool {
        self.resume
    }

    /// Hides the progress bar and the loss lines.
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }

    /// Prints InferPy's line `{epoch} epochs\t{loss}` every `n` epochs (200 by default; 0: never).
    pub fn log_every(mut self, n: usize) -> Self {
        self.log_every = n;
        self
    }

    /// Number of epochs.
    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// The learning rate.
    pub fn learning_rate(&self) -> f64 {
        self.lr
    }

    /// The seed.
    pub fn get_seed(&self) -> u64 {
        self.seed
    }

    pub(crate) fn optimizer_kind(&self) -> &Optimizer {
        &self.optimizer
    }

    pub(crate) fn is_quiet(&self) -> bool {
        self.quiet
    }

    pub(crate) fn log_interval(&self) -> usize {
        self.log_every
    }

    /// The learning rate at 0-based `epoch` under the schedule and the warm-up
    /// [`VI::warmup`] sets (none when it is not set: see [`VI::rate_at`] for a fit's).
    pub fn learning_rate_at(&self, epoch: usize) -> f64 {
        self.rate_at(epoch, false)
    }

    /// The learning rate a fit steps with at 0-based `epoch`: the schedule's, warmed up
    /// over [`VI::warmup`]'s share of the epochs, or when that is not set over
    /// [`DATA_START_WARMUP`] if `data_start` (the fit started networks from the data).
    pub fn rate_at(&self, epoch: usize, data_start: bool) -> f64 {
        let warmup = self
            .warmup
            .unwrap_or(if data_start { DATA_START_WARMUP } else { 0.0 });
        let lr = if warmup > 0.0 {
            self.lr * ((epoch as f64 + 1.0) / (warmup * self.epochs as f64)).min(1.0)
        } else {
            self.lr
        };
        self.schedule.rate(lr, epoch, self.epochs)
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.batch_size == Some(0) {
            return Err(Error::InvalidOption {
                option: "batch_size",
                reason: "must be at least 1".into(),
            });
        }
        if self.group.is_some() && self.check_every == 0 {
            return Err(Error::InvalidOption {
                option: "check_every",
                reason: "must be at least 1".into(),
            });
        }
        if self.group.is_some() && self.elbo.as_ref().is_some_and(|e| !e.sums_over_rows()) {
            return Err(Error::InvalidOption {
                option: "distributed",
                reason: format!(
                    "the estimator {:?} does not sum over rows, so the ranks' estimates do not \
                     add up: use TraceElbo or TraceMeanFieldElbo",
                    self.elbo
                ),
            });
        }
        if self.elbo.as_ref().is_some_and(|e| e.particles() == 0) {
            return Err(Error::InvalidOption {
                option: "elbo",
                reason: "the estimator needs at least 1 particle".into(),
            });
        }
        if let Optimizer::Adam {
            beta1,
            beta2,
            epsilon,
        } = self.optimizer
        {
            for (name, beta) in [("beta1", beta1), ("beta2", beta2)] {
                if !(0.0..1.0).contains(&beta) {
                    return Err(Error::InvalidOption {
                        option: "optimizer",
                        reason: format!("Adam {name} must be in [0, 1), got {beta}"),
                    });
                }
            }
            if !(epsilon.is_finite() && epsilon > 0.0) {
                return Err(Error::InvalidOption {
                    option: "optimizer",
                    reason: format!("Adam epsilon must be positive and finite, got {epsilon}"),
                });
            }
        }
        if self.particles == 0 {
            return Err(Error::InvalidOption {
                option: "particles",
                reason: "must be at least 1".into(),
            });
        }
        if self.epochs == 0 {
            return Err(Error::InvalidOption {
                option: "epochs",
                reason: "must be at least 1".into(),
            });
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::InvalidOption {
                option: "lr",
                reason: format!("must be positive and finite, got {}", self.lr),
            });
        }
        if let Schedule::Cosine { final_fraction } = self.schedule
            && !(0.0..=1.0).contains(&final_fraction)
        {
            return Err(Error::InvalidOption {
                option: "schedule",
                reason: format!("final_fraction must be in [0, 1], got {final_fraction}"),
            });
        }
        if let Some(rule) = self.convergence
            && (rule.every == 0 || !(rule.rel_tol.is_finite() && rule.rel_tol >= 0.0))
        {
            return Err(Error::InvalidOption {
                option: "converge",
                reason: format!(
                    "every must be at least 1 and rel_tol finite and at least 0, got {rule:?}"
                ),
            });
        }
        if let Some(warmup) = self.warmup
            && !(0.0..=1.0).contains(&warmup)
        {
            return Err(Error::InvalidOption {
                option: "warmup",
                reason: format!("must be in [0, 1], got {warmup}"),
            });
        }
        if let Optimizer::Sgd { momentum } = self.optimizer
            && !(0.0..1.0).contains(&momentum)
        {
            return Err(Error::InvalidOption {
                option: "optimizer",
                reason: format!("SGD momentum must be in [0, 1), got {momentum}"),
            });
        }
        Ok(())
    }
}

/// What a fit did: the loss of every epoch and the time it took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// The loss (negative ELBO, summed over rows, as InferPy reports it) of every epoch, before
    /// that epoch's step.
    pub losses: Vec<f64>,
    /// The number of data rows.
    pub rows: usize,
    /// Wall-clock seconds of the fit.
    pub seconds: f64,
    /// Ranks of a data-parallel fit (1 for one process); `rows` are all ranks' rows.
    #[serde(default = "one")]
    pub ranks: usize,
    /// When the fit stopped early by its stopping rule ([`VI::converge`]); `None` when it ran
    /// all its epochs.
    #[serde(default)]
    pub converged: Option<Converged>,
    /// How the steps' gradients were computed: the tape of the bound ([`VI::tape`]) or burn's
    /// autodiff, and why (`None` in a report written before it was kept).
    #[serde(default)]
    pub gradient: Option<crate::Gradient>,
}

fn one() -> usize {
    1
}

impl FitReport {
    /// The loss of every epoch divided by the number of rows.
    pub fn losses_per_row(&self) -> Vec<f64> {
        self.losses.iter().map(|l| l / self.rows as f64).collect()
    }

    /// The loss of the last epoch (summed over rows).
    pub fn final_loss(&self) -> f64 {
        self.losses.last().copied().unwrap_or(f64::NAN)
    }

    /// The loss of the last epoch per row.
    pub fn final_loss_per_row(&self) -> f64 {
        self.final_loss() / self.rows as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fit of one epoch runs at the rate: it used to run at the decayed rate of the last
    /// epoch (1% of it), so that a one-pass minibatch fit barely moved.
    #[test]
    fn a_one_epoch_fit_runs_at_the_rate() {
        let cosine = Schedule::Cosine {
            final_fraction: 0.01,
        };
        assert_eq!(cosine.rate(0.5, 0, 1), 0.5);
        assert_eq!(VI::new(1).lr(0.5).learning_rate_at(0), 0.5);
        assert_eq!(cosine.rate(0.5, 1, 2), 0.5 * 0.01);
    }

    /// The rate against its closed form: `lr min(1, (e + 1) / (w n))` times the cosine
    /// factor `0.01 + 0.99 (1 + cos(pi e / (n - 1))) / 2`, with `w` the warm-up share.
    #[test]
    fn the_rate_warms_up_when_asked_or_after_a_data_start() {
        let closed = |e: usize, w: f64| {
            let warm = if w > 0.0 {
                ((e as f64 + 1.0) / (w * 4000.0)).min(1.0)
            } else {
                1.0
            };
            let cos = 0.5 * (1.0 + (std::f64::consts::PI * e as f64 / 3999.0).cos());
            DEFAULT_LR * warm * (0.01 + 0.99 * cos)
        };
        let vi = VI::new(4000);
        let given = VI::new(4000).warmup(0.1);
        let off = VI::new(4000).warmup(0.0);
        for e in [0, 1, 99, 198, 199, 200, 399, 400, 1000, 3999] {
            let near = |a: f64, b: f64| (a - b).abs() <= 1e-15;
            assert!(near(vi.rate_at(e, false), closed(e, 0.0)), "{e}");
            assert!(near(vi.learning_rate_at(e), closed(e, 0.0)), "{e}");
            assert!(
                near(vi.rate_at(e, true), closed(e, DATA_START_WARMUP)),
                "{e}"
            );
            assert!(near(given.rate_at(e, false), closed(e, 0.1)), "{e}");
            assert!(near(given.rate_at(e, true), closed(e, 0.1)), "{e}");
            assert!(near(off.rate_at(e, true), closed(e, 0.0)), "{e}");
        }
        assert!((vi.rate_at(0, true) - DEFAULT_LR / 200.0).abs() < 1e-12);
    }

    #[test]
    fn a_warmup_outside_zero_to_one_is_refused() {
        for warmup in [-0.1, 1.5, f64::NAN] {
            let vi = VI::new(10).warmup(warmup);
            assert!(
                matches!(
                    vi.validate(),
                    Err(Error::InvalidOption {
                        option: "warmup",
                        ..
                    })
                ),
                "{warmup}"
            );
        }
    }
}
