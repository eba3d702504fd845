//! One NUTS chain: nuts-rs's sampler on a model's log-joint, from a start to its draws and
//! the statistics of each.

use burn::module::Module;
use inferrs_distributions::Rng;
use nuts_rs::rand::SeedableRng as _;
use nuts_rs::{Chain as _, CpuMath, DiagNutsSettings, Settings as _};
use rand::{Rng as _, SeedableRng};

use super::density::{LogJoint, NutsDensity};
use crate::Error;
use crate::runtime::Ctx;

/// Starts tried before a chain gives up: each a uniform draw in `(-radius, radius)` of the
/// unconstrained space, as NumPyro's `init_to_uniform`.
pub(crate) const INIT_ATTEMPTS: usize = 100;

/// What the sampler says of one draw after warm-up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DrawStats {
    /// Whether the trajectory diverged (an energy error above 1000, or a log-density that is
    /// not finite or that the model refused).
    pub diverging: bool,
    /// Depth of the trajectory's tree.
    pub depth: u64,
    /// Whether the tree reached the maximum depth ([`Nuts::max_depth`](super::Nuts::max_depth)).
    pub max_depth_reached: bool,
    /// Leapfrog steps of the trajectory.
    pub steps: u64,
    /// The step size.
    pub step_size: f64,
    /// The Hamiltonian (potential plus kinetic energy) at the draw.
    pub energy: f64,
    /// The energy error of the draw against the trajectory's start.
    pub energy_error: f64,
    /// The log-joint (in the unconstrained space, with the log-Jacobian) at the draw.
    pub log_density: f64,
}

/// A chain's output.
pub(crate) struct ChainDraws {
    /// `draws x dim`, row-major, in the unconstrained space.
    pub(crate) positions: Vec<f64>,
    pub(crate) stats: Vec<DrawStats>,
    pub(crate) warmup_divergences: usize,
}

/// What a chain runs with.
pub(crate) struct ChainPlan<'s> {
    pub(crate) settings: &'s DiagNutsSettings,
    pub(crate) chain: u64,
    pub(crate) seed: u64,
    pub(crate) init_radius: f64,
}

/// Runs chain `plan.chain` on `density`: a start, `num_tune` warm-up draws, `num_draws` draws.
///
/// # Errors
/// [`Error::Sampling`] naming the chain when no start in [`INIT_ATTEMPTS`] has a finite
/// log-density, or when the model fails in a way no position avoids.
pub(crate) fn run_chain<P, F>(
    density: LogJoint<'_, P, F>,
    plan: &ChainPlan<'_>,
) -> Result<ChainDraws, Error>
where
    P: Module,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    let failed = |reason: String| Error::Sampling {
        chain: plan.chain as usize,
        reason,
    };
    let settings = plan.settings;
    let mut rng = nuts_rs::rand::rngs::ChaCha8Rng::seed_from_u64(plan.seed);
    let math = CpuMath::new(NutsDensity(density));
    let mut sampler = settings
        .new_chain(plan.chain, math, &mut rng)
        .map_err(|e| failed(format!("{e:#}")))?;
    let dim = sampler.dim();
    let mut init = Rng::seed_from_u64(plan.seed ^ 0x1A17_0000_0000_0001);
    let mut last = None;
    for _ in 0..INIT_ATTEMPTS {
        let start: Vec<f64> = (0..dim)
            .map(|_| init.random_range(-plan.init_radius..plan.init_radius))
            .collect();
        match sampler.set_position(&start) {
            Ok(()) => {
                last = None;
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    if let Some(e) = last {
        return Err(failed(format!(
            "no start of {INIT_ATTEMPTS} drawn uniformly in (-{r}, {r}) of the unconstrained \
             space has a finite log-density; the last: {e:#}",
            r = plan.init_radius
        )));
    }
    let total = settings.num_tune + settings.num_draws;
    let mut out = ChainDraws {
        positions: Vec::with_capacity(settings.num_draws as usize * dim),
        stats: Vec::with_capacity(settings.num_draws as usize),
        warmup_divergences: 0,
    };
    for _ in 0..total {
        let (position, _, stats, progress) = sampler
            .expanded_draw()
            .map_err(|e| failed(format!("{e:#}")))?;
        if progress.tuning {
            out.warmup_divergences += usize::from(progress.diverging);
            continue;
        }
        out.positions.extend_from_slice(&position);
        out.stats.push(DrawStats {
            diverging: progress.diverging,
            depth: stats.depth,
            max_depth_reached: stats.maxdepth_reached,
            steps: progress.num_steps,
            step_size: progress.step_size,
            energy: stats.point.energy,
            energy_error: stats.point.energy_error,
            log_density: stats.point.logp,
        });
    }
    Ok(out)
}
