//! MCMC: [`Model::sample`] draws the posterior with the No-U-Turn sampler of nuts-rs
//! (PyMC's sampler core: warm-up, step-size and diagonal mass-matrix adaptation, divergence
//! checks), on the model's log-joint: its tape where the model allows it, burn's autodiff
//! otherwise. One file a concept: the options here, the log-joint on a flat vector in
//! `density.rs`, its tape (recorded once, replayed in `f64`) in `compiled.rs`, one chain in
//! `chain.rs`, the draws and their diagnostics in `samples.rs`.

mod chain;
pub(super) mod compiled;
mod density;
mod samples;

use std::time::Instant;

use burn::module::Module;
use nuts_rs::DiagNutsSettings;

pub use chain::DrawStats;
use chain::{ChainDraws, ChainPlan, run_chain};
pub use compiled::Gradient;
use density::{Layout, LogJoint};
pub use samples::Samples;

use super::svi::discover;
use crate::guide::Empirical;
use crate::model::FitData;
use crate::runtime::Ctx;
use crate::{Data, Error, Model};

/// The options of a NUTS run ([`Model::sample`]); the defaults are NumPyro's and PyMC's.
///
/// ```
/// use inferrs_vi::Nuts;
/// let nuts = Nuts::new().draws(1000).warmup(1000).chains(4).seed(1);
/// # let _ = nuts;
/// ```
#[derive(Clone, Debug)]
pub struct Nuts {
    draws: usize,
    warmup: usize,
    chains: usize,
    seed: u64,
    max_depth: u64,
    target_accept: f64,
    init_radius: f64,
    quiet: bool,
    tape: bool,
}

impl Default for Nuts {
    fn default() -> Self {
        Self {
            draws: 1000,
            warmup: 1000,
            chains: 4,
            seed: 0,
            max_depth: 10,
            target_accept: 0.8,
            init_radius: 2.0,
            quiet: false,
            tape: true,
        }
    }
}

impl Nuts {
    /// 4 chains of 1000 warm-up draws and 1000 draws, seed 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Draws per chain after warm-up (default 1000; at least 4, which the diagnostics need).
    pub fn draws(mut self, draws: usize) -> Self {
        self.draws = draws;
        self
    }

    /// Warm-up (tuning) draws per chain, discarded (default 1000).
    pub fn warmup(mut self, warmup: usize) -> Self {
        self.warmup = warmup;
        self
    }

    /// Chains, each run in a thread of its own (default 4).
    pub fn chains(mut self, chains: usize) -> Self {
        self.chains = chains;
        self
    }

    /// The seed: chain `c` runs from a stream of it alone, so a run repeats bit for bit
    /// whatever the threads' timing.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The maximum depth of a trajectory's tree, `2^depth - 1` leapfrog steps (default 10,
    /// between 1 and 30).
    pub fn max_depth(mut self, depth: u64) -> Self {
        self.max_depth = depth;
        self
    }

    /// The mean acceptance the step-size adaptation aims at (default 0.8; raise it, to 0.95
    /// say, against divergences), in `(0, 1)`.
    pub fn target_accept(mut self, target: f64) -> Self {
        self.target_accept = target;
        self
    }

    /// Chains start at a uniform draw in `(-radius, radius)` of each variable's
    /// unconstrained space (NumPyro's `init_to_uniform`; default 2).
    pub fn init_radius(mut self, radius: f64) -> Self {
        self.init_radius = radius;
        self
    }

    /// No summary table printed after sampling.
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// Whether the gradient may come from the log-joint's tape (default `true`): recorded once
    /// and replayed in `f64`, where the model allows it ([`Gradient`]); `false` keeps burn's
    /// autodiff at every evaluation, in `f32`.
    pub fn tape(mut self, tape: bool) -> Self {
        self.tape = tape;
        self
    }

    fn check(&self) -> Result<(), Error> {
        let invalid =
            |option: &'static str, reason: String| Err(Error::InvalidOption { option, reason });
        if self.draws < inferrs_diagnostics::MIN_DRAWS {
            return invalid(
                "draws",
                format!(
                    "{} draws a chain are too few: the diagnostics need at least {}",
                    self.draws,
                    inferrs_diagnostics::MIN_DRAWS
                ),
            );
        }
        if self.chains == 0 {
            return invalid("chains", "at least one chain is needed".to_string());
        }
        if !(1..=30).contains(&self.max_depth) {
            return invalid(
                "max_depth",
                format!("must be between 1 and 30, got {}", self.max_depth),
            );
        }
        if !(self.target_accept > 0.0 && self.target_accept < 1.0) {
            return invalid(
                "target_accept",
                format!("must be in (0, 1), got {}", self.target_accept),
            );
        }
        if !(self.init_radius.is_finite() && self.init_radius > 0.0) {
            return invalid(
                "init_radius",
                format!("must be positive and finite, got {}", self.init_radius),
            );
        }
        Ok(())
    }

    fn settings(&self) -> DiagNutsSettings {
        let mut settings = DiagNutsSettings {
            num_tune: self.warmup as u64,
            num_draws: self.draws as u64,
            num_chains: self.chains,
            maxdepth: self.max_depth,
            seed: self.seed,
            ..DiagNutsSettings::default()
        };
        settings.adapt_options.step_size_settings.target_accept = self.target_accept;
        settings
    }

    /// The seed of chain `c`.
    fn chain_seed(&self, c: usize) -> u64 {
        self.seed ^ (c as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03)
    }
}

impl<P, F> Model<P, F>
where
    P: Module + Sync,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error> + Sync,
{
    /// Draws the posterior of the latent variables given `data` with NUTS, and makes the
    /// draws the model's posterior: afterwards [`Model::posterior`],
    /// [`Model::posterior_predictive`], [`Model::log_prob`] and [`Model::log_predictive`]
    /// read them in place of a guide ([`Empirical`]), and the query seed is `nuts`'s.
    ///
    /// Every latent variable is sampled in its unconstrained space (the bijector of its
    /// support, with its log-Jacobian), from the model's log-joint and its gradient; the
    /// model's trainable parameters are held at their values (lift a network,
    /// [`Model::lift`], to sample its weights). The gradient comes from the log-joint's tape
    /// (recorded once on burn's capture device, checked against burn's autodiff, replayed in
    /// `f64`) where the model allows it and it pays, from burn's autodiff otherwise;
    /// [`Samples::gradient`] says which, and why ([`Gradient`], [`Nuts::tape`]); the wall
    /// time includes the recording and the checks. Chains run in parallel threads. A position
    /// where the log-density is not finite, or where the model cannot build a distribution, is
    /// a divergence of that trajectory, not an error. Unless `nuts` is
    /// quiet, `az.summary`'s table and its warnings are printed afterwards
    /// ([`Samples::report`]).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for invalid options; the data errors of [`Model::fit`];
    /// [`Error::Query`] when the model has no latent variable given `data`;
    /// [`Error::Guide`] naming a discrete latent variable; [`Error::Sampling`] naming the
    /// chain when no start has a finite log-density or the model fails. On any error the
    /// model is unchanged.
    pub fn sample(&mut self, data: &Data, nuts: Nuts) -> Result<Samples, Error> {
        nuts.check()?;
        let rows = self.check_columns(data)?;
        let inner = self.device();
        crate::runtime::initialize_lazy(&self.params, &inner, nuts.seed);
        let observed = data.tensors(&inner, &[]);
        let (latents, supports, _) =
            discover(self, &observed, (rows, rows), (nuts.seed, 1), &inner, false)?;
        supports.check(data, None)?;
        if latents.is_empty() {
            return Err(Error::Query {
                variable: self.variable_names().join(", "),
                reason: "the data gives every random variable: there is no latent variable \
                         to sample"
                    .to_string(),
            });
        }
        let layout = Layout::new(&latents)?;
        let settings = nuts.settings();
        let started = Instant::now();
        // One copy of the data on the autodiff device for the check and all the chains (a
        // clone of a burn tensor shares its buffer), not one each.
        let shared = data.tensors(&inner.clone().autodiff(), &[]);
        let (tape, gradient) = if nuts.tape {
            let tape = compiled::compile(&self.f, &self.params, (&observed, rows), &layout);
            let device = inner.clone().autodiff();
            let mut reference = LogJoint::new(
                &self.f,
                &self.params,
                (shared.clone(), rows),
                &layout,
                device,
            );
            compiled::checked(tape, &mut reference, layout.dim)
        } else {
            let why = "the tape is turned off (`Nuts::tape(false)`)".to_string();
            (None, Gradient::Autodiff { why })
        };
        let runs: Vec<Result<ChainDraws, Error>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..nuts.chains)
                .map(|c| {
                    let (layout, settings, nuts, inner) = (&layout, &settings, &nuts, &inner);
                    let shared = &shared;
                    let (f, params) = (&self.f, &self.params);
                    let tape = tape.clone();
                    scope.spawn(move || {
                        let device = inner.clone().autodiff();
                        let density =
                            LogJoint::new(f, params, (shared.clone(), rows), layout, device)
                                .with_tape(tape);
                        let plan = ChainPlan {
                            settings,
                            chain: c as u64,
                            seed: nuts.chain_seed(c),
                            init_radius: nuts.init_radius,
                        };
                        run_chain(density, &plan)
                    })
                })
                .collect();
            handles
                .into_iter()
                .enumerate()
                .map(|(c, h)| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::Sampling {
                            chain: c,
                            reason: "the chain's thread panicked".to_string(),
                        })
                    })
                })
                .collect()
        });
        let wall = started.elapsed();
        let runs = runs.into_iter().collect::<Result<Vec<_>, _>>()?;
        let mut values: Vec<Vec<f32>> = vec![Vec::new(); layout.sites.len()];
        for run in &runs {
            let constrained = layout.constrain(&run.positions, nuts.draws, &inner)?;
            for (all, chain) in values.iter_mut().zip(constrained) {
                all.extend(chain);
            }
        }
        let samples = Samples {
            names: layout.sites.iter().map(|s| s.name).collect(),
            shapes: layout.sites.iter().map(|s| s.shape).collect(),
            local: latents.iter().map(|l| l.local).collect(),
            values,
            chains: nuts.chains,
            draws: nuts.draws,
            warmup_divergences: runs.iter().map(|r| r.warmup_divergences).collect(),
            stats: runs.into_iter().map(|r| r.stats).collect(),
            wall,
            gradient,
        };
        if !nuts.quiet {
            println!("{}", samples.report()?);
        }
        self.guide = Some(Box::new(Empirical::new(samples.clone())));
        self.fit_data = Some(FitData {
            observed,
            rows,
            columns: data.names().map(str::to_string).collect(),
            latents,
        });
        self.set_seed(nuts.seed);
        // A later fit cannot resume an optimizer of a posterior that is gone.
        if let Ok(state) = self.optimizer.get_mut() {
            *state = None;
        }
        Ok(samples)
    }
}
