//! [`Model::psis`]: how good a fitted guide is, as Pareto-smoothed importance sampling sees
//! it (Yao, Vehtari, Simpson, Gelman 2018, "Yes, but did it work?").

use burn::module::Module;
use inferrs_diagnostics::Psis;
use inferrs_distributions::Rng;
use rand::SeedableRng;

use super::elbo::particle_terms;
use super::svi::draw_particles;
use crate::guide::Rows;
use crate::runtime::Ctx;
use crate::source::DataSource;
use crate::{Data, Error, Model};

impl<P, F> Model<P, F>
where
    P: Module,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    /// Pareto-smoothed importance sampling of the fitted guide against the posterior given
    /// `data`: `draws` draws `z` of the guide, each weighted by `log p(data, z) - log q(z)`
    /// (the ELBO's terms for that draw), smoothed by
    /// [`inferrs_diagnostics::psis`]. The Pareto shape [`Psis::k_hat`] says whether the guide
    /// can be trusted: below 0.5 the guide is close, up to
    /// [`K_HAT_WARN`](inferrs_diagnostics::K_HAT_WARN) (0.7) usable, above it the
    /// approximation is poor (its tails miss the posterior's) and the VI fit should be
    /// checked, for example against MCMC. The draws come from the model's seed, so a call is
    /// reproducible.
    ///
    /// `data` is normally the data of the fit (the posterior whose approximation is checked).
    ///
    /// # Errors
    /// [`Error::Query`] when the model has no fitted guide, or when the weights cannot be
    /// smoothed (fewer than 2 draws, a weight that is NaN); the errors of the model on `data`.
    pub fn psis(&self, data: &Data, draws: usize) -> Result<Psis, Error> {
        let query = |reason: String| Error::Query {
            variable: self.variable_names().join(", "),
            reason,
        };
        let Some(guide) = self.guide.as_deref() else {
            return Err(query(
                "the model has no fitted guide: PSIS weighs a guide's draws against the \
                 posterior (fit it with `VI::new(n).guide(AutoNormal::default())`)"
                    .to_string(),
            ));
        };
        let total = self.check_source(data as &dyn DataSource)?;
        let device = self.device();
        let observed = data.tensors(&device, &[]);
        let mut rng = Rng::seed_from_u64(self.seed ^ 0x9515_0000_0000_0001);
        let particles = draw_particles(
            &self.f,
            &self.params,
            Some(guide),
            (&observed, &Rows::all(total), total),
            draws,
            (&device, None),
            &mut rng,
        )?;
        if let Some(layer) = particles.first().and_then(|p| p.model.layer_kls().first()) {
            return Err(Error::BayesianLayer {
                layer: layer.layer.clone(),
                reason: "PSIS weighs the guide's draws of every latent variable, and this \
                         layer's weights are not drawn by the guide"
                    .to_string(),
            });
        }
        let mut log_weights = Vec::with_capacity(draws);
        for particle in &particles {
            let (weight, _) = particle_terms(particle, false, &device)?;
            let value = weight
                .into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .map_err(|e| query(format!("{e:?}")))?;
            log_weights.push(value.first().copied().unwrap_or(f64::NAN));
        }
        inferrs_diagnostics::psis(&log_weights).map_err(|e| query(e.to_string()))
    }
}
