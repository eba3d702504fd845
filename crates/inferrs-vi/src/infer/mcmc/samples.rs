//! [`Samples`]: the draws of an MCMC run, per chain and variable, in the constrained space,
//! with the sampler's statistics of each draw and the diagnostics of `az.summary`.

use std::time::Duration;

use inferrs_diagnostics::{Chains, Summary, format_table};

use super::chain::DrawStats;
use super::compiled::Gradient;
use crate::Error;
use crate::draws::Array;

/// The draws of [`Model::sample`](crate::Model::sample): for every latent variable
/// `chains x draws` values of its `[rows, event]` shape, in its support (the unconstrained
/// draws mapped through the bijectors), and per draw the sampler's [`DrawStats`].
#[derive(Clone, Debug)]
pub struct Samples {
    pub(crate) names: Vec<&'static str>,
    pub(crate) shapes: Vec<[usize; 2]>,
    /// Whether each is local (one value per data row).
    pub(crate) local: Vec<bool>,
    /// By variable: `chains x draws x rows x event`, row-major.
    pub(crate) values: Vec<Vec<f32>>,
    pub(crate) chains: usize,
    pub(crate) draws: usize,
    pub(crate) stats: Vec<Vec<DrawStats>>,
    pub(crate) warmup_divergences: Vec<usize>,
    pub(crate) wall: Duration,
    pub(crate) gradient: Gradient,
}

impl Samples {
    /// The latent variables, in the order the model visits them.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().copied()
    }

    /// Number of chains.
    pub fn n_chains(&self) -> usize {
        self.chains
    }

    /// Draws per chain (after warm-up).
    pub fn n_draws(&self) -> usize {
        self.draws
    }

    /// `[rows, event]` of one draw of `name` (`rows` is 1 for a global variable).
    pub fn shape(&self, name: &str) -> Option<[usize; 2]> {
        self.index(name).map(|i| self.shapes[i])
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| *n == name)
    }

    /// Every draw of `name`.
    ///
    /// # Shapes
    /// `[chains, draws, rows, event]`.
    pub fn values(&self, name: &str) -> Option<Array> {
        let i = self.index(name)?;
        let [rows, event] = self.shapes[i];
        Some(Array {
            shape: vec![self.chains, self.draws, rows, event],
            values: self.values[i].clone(),
        })
    }

    /// The draws of element `element` (row-major in `[rows, event]`) of `name`, per chain, for
    /// the diagnostics of [`inferrs_diagnostics`].
    ///
    /// # Errors
    /// [`Error::UnknownVariable`] for a name that is not a sampled variable, or an element
    /// out of range; [`Error::Query`] when the draws are too few or not finite for the
    /// diagnostics.
    pub fn chains_of(&self, name: &str, element: usize) -> Result<Chains, Error> {
        let unknown = || Error::UnknownVariable {
            name: format!("{name}[{element}]"),
            known: self.names.join(", "),
        };
        let i = self.index(name).ok_or_else(unknown)?;
        let len = self.shapes[i][0] * self.shapes[i][1];
        if element >= len {
            return Err(unknown());
        }
        let per_chain: Vec<Vec<f64>> = (0..self.chains)
            .map(|c| {
                (0..self.draws)
                    .map(|d| f64::from(self.values[i][(c * self.draws + d) * len + element]))
                    .collect()
            })
            .collect();
        Chains::new(&per_chain).map_err(|e| Error::Query {
            variable: name.to_string(),
            reason: e.to_string(),
        })
    }

    /// The sampler's statistics: one list per chain, one entry per draw after warm-up.
    pub fn stats(&self) -> &[Vec<DrawStats>] {
        &self.stats
    }

    /// Divergent transitions after warm-up, over all chains.
    pub fn divergences(&self) -> usize {
        self.stats.iter().flatten().filter(|s| s.diverging).count()
    }

    /// Divergent transitions during warm-up, per chain (the adaptation's own exploration;
    /// they do not bias the draws, and ArviZ does not count them).
    pub fn warmup_divergences(&self) -> &[usize] {
        &self.warmup_divergences
    }

    /// Wall time of the run, warm-up included.
    pub fn wall_time(&self) -> Duration {
        self.wall
    }

    /// How the gradient of the log-joint was computed: the log-joint's tape, or burn's
    /// autodiff and why.
    pub fn gradient(&self) -> &Gradient {
        &self.gradient
    }

    /// `az.summary`'s table: one row per scalar element of every variable (`mu`, `theta[3]`,
    /// `w[0,2]` for row 0 and event element 2 of a local variable with a wider event), with
    /// mean, sd, the 94% HDI, the MCSEs, bulk and tail ESS and R-hat.
    ///
    /// # Errors
    /// As [`Samples::chains_of`] (fewer than 4 draws a chain, a draw that is not finite).
    pub fn summary(&self) -> Result<Vec<(String, Summary)>, Error> {
        let mut rows = Vec::new();
        for (i, name) in self.names.iter().enumerate() {
            let [r, e] = self.shapes[i];
            for element in 0..r * e {
                let label = match (r, e) {
                    (1, 1) => name.to_string(),
                    (1, _) | (_, 1) => format!("{name}[{element}]"),
                    _ => format!("{name}[{},{}]", element / e, element % e),
                };
                rows.push((label, Summary::new(&self.chains_of(name, element)?)));
            }
        }
        Ok(rows)
    }

    /// What should make a user look again: every variable with R-hat above 1.01 or a bulk or
    /// tail ESS below 400 (ArviZ's thresholds), the divergences after warm-up, and draws
    /// that hit the maximum tree depth.
    ///
    /// # Errors
    /// As [`Samples::summary`].
    pub fn warnings(&self) -> Result<Vec<String>, Error> {
        let mut out: Vec<String> = self
            .summary()?
            .iter()
            .flat_map(|(label, s)| {
                s.warnings()
                    .into_iter()
                    .map(move |w| format!("{label}: {w}"))
            })
            .collect();
        let divergences = self.divergences();
        if divergences > 0 {
            out.push(format!(
                "{divergences} divergent transitions after warm-up (of {} draws): the \
                 posterior has regions the sampler cannot follow (a funnel?); \
                 reparameterise, or raise the target acceptance",
                self.chains * self.draws
            ));
        }
        let deep = self
            .stats
            .iter()
            .flatten()
            .filter(|s| s.max_depth_reached)
            .count();
        if deep > 0 {
            out.push(format!(
                "{deep} draws reached the maximum tree depth: the sampler's trajectories \
                 were cut short"
            ));
        }
        Ok(out)
    }

    /// The summary table, the warnings and the gradient path ([`Samples::gradient`]), as
    /// printed after sampling.
    ///
    /// # Errors
    /// As [`Samples::summary`].
    pub fn report(&self) -> Result<String, Error> {
        let rows = self.summary()?;
        let borrowed: Vec<(&str, Summary)> = rows.iter().map(|(l, s)| (l.as_str(), *s)).collect();
        let mut text = format_table(&borrowed);
        for w in self.warnings()? {
            text.push_str(&format!("warning: {w}\n"));
        }
        text.push_str(&format!("gradient: {}\n", self.gradient));
        Ok(text)
    }
}
