//! The ELBO estimators, as values a fit is given ([`VI::elbo`](crate::VI::elbo)):
//! [`TraceElbo`] (Monte Carlo), [`TraceMeanFieldElbo`] (closed-form KL where the pair of
//! families has one) and [`RenyiElbo`] (the Rényi / importance-weighted bound, IWAE for
//! `alpha = 0`).

use burn::tensor::{Device, Tensor};
use inferrs_distributions::kl_divergence;

use crate::Error;
use crate::guide::GuideTrace;
use crate::runtime::Trace;

/// The traces of one particle: the guide's draw and the model run on it.
#[derive(Debug)]
pub struct Particle {
    /// The model's trace (every site, observed or substituted from `guide`).
    pub model: Trace,
    /// The guide's draw.
    pub guide: GuideTrace,
}

/// What an estimator returns for one step.
#[derive(Debug)]
pub struct Estimate {
    /// The surrogate objective, to be maximised: its gradient is the estimator's gradient of
    /// the bound. `[1]`.
    pub surrogate: Tensor<1>,
    /// The estimate of the bound (detached), `[1]`.
    pub value: Tensor<1>,
}

/// An estimator of a variational bound from a number of particles.
pub trait Elbo: std::fmt::Debug + Send {
    /// Particles per step (at least 1).
    fn particles(&self) -> usize;

    /// Whether the estimator reads the guide's distributions ([`GuideDraw::dist`](
    /// crate::guide::GuideDraw::dist)) for closed-form KLs: the fit then asks the guide to
    /// build them ([`Guide::keep_distributions`](crate::guide::Guide::keep_distributions)).
    /// The default is `false`.
    fn closed_form_kl(&self) -> bool {
        false
    }

    /// Whether the estimate is a sum of the particles' log densities and `log q`s (weighted
    /// alike), so that estimates of disjoint rows with the same draws add up to the estimate
    /// of all of them: data-parallel SVI ([`VI::distributed`](crate::VI::distributed)) needs
    /// it. The default is `false`; the Rényi bound's log-mean-exp is not one.
    fn sums_over_rows(&self) -> bool {
        false
    }

    /// The surrogate and the estimate from `particles` (as many as
    /// [`particles`](Elbo::particles)); `baseline` is a running mean of past estimates for
    /// the score-function terms of draws that are not reparameterised.
    ///
    /// # Errors
    /// A closed-form KL of shapes that do not broadcast; an estimator that cannot use a draw
    /// (the Rényi bound of a draw that is not reparameterised), naming the variable.
    fn estimate(
        &self,
        particles: Vec<Particle>,
        baseline: Option<f64>,
        device: &Device,
    ) -> Result<Estimate, Error>;
}

/// The Monte Carlo ELBO, `E_q[log p(data, z) - log q(z)]`, averaged over `particles` draws.
/// Reparameterised draws give pathwise gradients; the others add the score-function term
/// `(elbo - b) * log q(z)` with the elbo detached and `b` the baseline (REINFORCE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceElbo {
    /// Draws of the guide per step.
    pub particles: usize,
}

impl Default for TraceElbo {
    fn default() -> Self {
        Self { particles: 1 }
    }
}

/// As [`TraceElbo`], with `-KL(q || p)` in closed form in place of `log p(z) - log q(z)` for
/// every latent site whose guide and prior families have one
/// ([`Kl`](inferrs_distributions::Kl): Normal-Normal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceMeanFieldElbo {
    /// Draws of the guide per step.
    pub particles: usize,
}

impl Default for TraceMeanFieldElbo {
    fn default() -> Self {
        Self { particles: 1 }
    }
}

/// The Rényi bound of order `alpha` (Li and Turner 2016),
/// `1 / (1 - alpha) * ln mean_k exp((1 - alpha) w_k)` over `particles` log-weights
/// `w_k = log p(data, z_k) - log q(z_k)`. `alpha = 0` is the importance-weighted bound (IWAE,
/// Burda et al. 2016), no lower than the ELBO and equal to it for one particle; `alpha -> 1`
/// is the ELBO. Needs reparameterised draws.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RenyiElbo {
    /// The order, not 1.
    pub alpha: f64,
    /// Particles `k`.
    pub particles: usize,
}

impl RenyiElbo {
    /// The importance-weighted bound with `k` particles (`alpha = 0`).
    pub fn iwae(k: usize) -> Self {
        Self {
            alpha: 0.0,
            particles: k,
        }
    }
}

/// The longest term of an ELBO that is concatenated with the others before the sum; longer
/// ones are summed alone.
const CAT_MAX_LEN: usize = 256;

/// One particle's ELBO (`[1]`) and the sum of the `log q` of its draws that are not
/// reparameterised (for the score-function term), with closed-form KLs when `analytic_kl`.
///
/// The per-row terms are gathered into two concatenations, the model's log densities and the
/// guide's `log q` (with the closed-form KLs), each summed once: five autodiff nodes whatever
/// the number of sites, where a sum per site and an addition per term cost two nodes a site
/// (about 5 µs each, the dominant cost of a small model's step). The gradient of every term is
/// the same (1 or -1 per row). A term longer than [`CAT_MAX_LEN`] rows is summed alone first
/// (its sum joins the concatenation), which saves copying it.
pub(crate) fn particle_terms(
    particle: &Particle,
    analytic_kl: bool,
    device: &Device,
) -> Result<(Tensor<1>, Option<Tensor<1>>), Error> {
    let mut added: Vec<Tensor<1>> = Vec::new();
    let mut subtracted: Vec<Tensor<1>> = Vec::new();
    let mut closed_form: Vec<&str> = Vec::new();
    for site in &particle.model {
        if analytic_kl
            && !site.observed
            && let Some(q) = particle
                .guide
                .get(site.name)
                .and_then(|d| d.dist.as_deref())
            && let Some(kl) = kl_divergence(q, &*site.dist, device)
        {
            let kl = kl.map_err(|e| Error::Shape {
                variable: site.name.to_string(),
                detail: e.to_string(),
            })?;
            subtracted.push(site.scaled(kl));
            closed_form.push(site.name);
            continue;
        }
        added.push(site.log_prob());
    }
    // A Bayesian layer's weights are not sites: its closed-form KL stands for their
    // `log p - log q` (global, so never scaled by `N / M`).
    subtracted.extend(particle.model.layer_kls().iter().map(|l| l.kl.clone()));
    let mut score: Option<Tensor<1>> = None;
    for (name, d) in &particle.guide {
        if closed_form.contains(name) {
            continue;
        }
        // A local variable's log q is scaled as its log p is (N / M in a minibatch).
        let log_q = match particle.model.get(name) {
            Some(site) => site.scaled(d.log_q.clone()),
            None => d.log_q.clone(),
        };
        if !d.reparameterized {
            let total = log_q.clone().sum();
            score = Some(match score {
                Some(s) => s + total,
                None => total,
            });
        }
        subtracted.push(log_q);
    }
    let total = |terms: Vec<Tensor<1>>| match terms.len() {
        0 => None,
        1 => terms.into_iter().next().map(Tensor::sum),
        _ => {
            // A long term is summed alone: `cat` would copy it (7% of a logistic regression's
            // step at 10^4 rows). The short ones and those sums go through one `cat`.
            let parts: Vec<Tensor<1>> = terms
                .into_iter()
                .map(|t| {
                    if t.dims()[0] > CAT_MAX_LEN {
                        t.sum()
                    } else {
                        t
                    }
                })
                .collect();
            Some(Tensor::cat(parts, 0).sum())
        }
    };
    let elbo = match (total(added), total(subtracted)) {
        (Some(a), Some(b)) => a - b,
        (Some(a), None) => a,
        (None, Some(b)) => b.neg(),
        (None, None) => Tensor::zeros([1], device),
    };
    Ok((elbo, score))
}

fn check_particles(particles: &[Particle]) -> Result<(), Error> {
    if particles.is_empty() {
        return Err(Error::InvalidOption {
            option: "particles",
            reason: "must be at least 1".into(),
        });
    }
    Ok(())
}

/// The average over particles of the ELBO with its score-function terms.
fn average_elbo(
    particles: Vec<Particle>,
    analytic_kl: bool,
    baseline: Option<f64>,
    device: &Device,
) -> Result<Estimate, Error> {
    check_particles(&particles)?;
    let n = particles.len();
    let mut surrogate: Option<Tensor<1>> = None;
    let mut value: Option<Tensor<1>> = None;
    for particle in &particles {
        let (elbo, score) = particle_terms(particle, analytic_kl, device)?;
        let particle_surrogate = match score {
            Some(log_q) => {
                let advantage = elbo.clone().detach().sub_scalar(baseline.unwrap_or(0.0));
                elbo.clone() + advantage * log_q
            }
            None => elbo.clone(),
        };
        surrogate = Some(match surrogate {
            Some(s) => s + particle_surrogate,
            None => particle_surrogate,
        });
        value = Some(match value {
            Some(s) => s + elbo.detach(),
            None => elbo.detach(),
        });
    }
    let (Some(surrogate), Some(value)) = (surrogate, value) else {
        unreachable!("at least one particle was checked");
    };
    if n == 1 {
        Ok(Estimate { surrogate, value })
    } else {
        Ok(Estimate {
            surrogate: surrogate.div_scalar(n as f64),
            value: value.div_scalar(n as f64),
        })
    }
}

impl Elbo for TraceElbo {
    fn particles(&self) -> usize {
        self.particles
    }

    fn sums_over_rows(&self) -> bool {
        true
    }

    fn estimate(
        &self,
        particles: Vec<Particle>,
        baseline: Option<f64>,
        device: &Device,
    ) -> Result<Estimate, Error> {
        average_elbo(particles, false, baseline, device)
    }
}

impl Elbo for TraceMeanFieldElbo {
    fn particles(&self) -> usize {
        self.particles
    }

    fn closed_form_kl(&self) -> bool {
        true
    }

    fn sums_over_rows(&self) -> bool {
        true
    }

    fn estimate(
        &self,
        particles: Vec<Particle>,
        baseline: Option<f64>,
        device: &Device,
    ) -> Result<Estimate, Error> {
        average_elbo(particles, true, baseline, device)
    }
}

impl Elbo for RenyiElbo {
    fn particles(&self) -> usize {
        self.particles
    }

    fn estimate(
        &self,
        particles: Vec<Particle>,
        _baseline: Option<f64>,
        device: &Device,
    ) -> Result<Estimate, Error> {
        check_particles(&particles)?;
        if !(self.alpha.is_finite() && self.alpha != 1.0) {
            return Err(Error::InvalidOption {
                option: "RenyiElbo",
                reason: format!(
                    "alpha must be finite and not 1 (alpha = 1 is the ELBO: TraceElbo), got {}",
                    self.alpha
                ),
            });
        }
        let k = particles.len();
        let mut weights = Vec::with_capacity(k);
        for particle in &particles {
            if let Some((name, _)) = particle.guide.iter().find(|(_, d)| !d.reparameterized) {
                return Err(Error::Guide {
                    guide: "RenyiElbo",
                    variable: name.to_string(),
                    reason: "the Rényi bound needs reparameterised draws; use TraceElbo for \
                             this variable's guide"
                        .to_string(),
                });
            }
            if let Some(layer) = particle.model.layer_kls().first() {
                return Err(Error::BayesianLayer {
                    layer: layer.layer.clone(),
                    reason: "the Rényi bound needs a log-weight per draw of every latent \
                             weight, and this layer's weights are integrated out per row \
                             (their KL is in closed form); use TraceElbo, or lift a plain \
                             layer with `Model::lift`"
                        .to_string(),
                });
            }
            weights.push(particle_terms(particle, false, device)?.0);
        }
        // (1 - alpha) w_k, then ln mean exp with the max shifted out (detached).
        let one_minus = 1.0 - self.alpha;
        let scaled = Tensor::cat(weights, 0).mul_scalar(one_minus);
        let max = scaled.clone().detach().max();
        let lme = (scaled - max.clone()).exp().mean().log() + max;
        let bound = lme.div_scalar(one_minus);
        Ok(Estimate {
            value: bound.clone().detach(),
            surrogate: bound,
        })
    }
}
