//! [`Model::log_prob`] and [`Model::log_predictive`]: log-densities of data under a fitted
//! model, at one posterior draw or averaged over many (the pointwise predictive density).

use burn::module::Module;
use indexmap::IndexMap;
use inferrs_distributions::Rng;
use rand::SeedableRng;

use super::predictive::Chunks;
use crate::draws::{LogProbs, host_values};
use crate::runtime::{Ctx, Handler, Unfilled, Values};
use crate::{Data, Error, Model};

impl<P, F> Model<P, F>
where
    P: Module,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    /// Log-density of the named variables at the values given in `data`, row by row, each given
    /// its parents' values in `data` (for example the held-out log-likelihood of `y` given `x`).
    ///
    /// A model with latent variables is scored at **one** draw of them from its posterior (the
    /// guide; the draw is fixed by the model's seed). What users of NumPyro's
    /// `log_likelihood` and ArviZ call the held-out log-likelihood averages over draws:
    /// [`Model::log_predictive`].
    ///
    /// # Errors
    /// [`Error::UnknownVariable`] for a name that is not a random variable;
    /// [`Error::MissingForLogProb`] when `data` lacks a named variable or one the model needs
    /// (a latent variable without a fitted guide among them).
    pub fn log_prob<I, S>(&self, names: I, data: &Data) -> Result<LogProbs, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names = self.scored_names(names, data)?;
        let mut rng = Rng::seed_from_u64(self.seed);
        Ok(LogProbs::new(self.log_prob_draw(&names, data, &mut rng)?))
    }

    /// The pointwise predictive log-density of the named variables at the values in `data`:
    /// for each row and variable, `log (1/k) sum_j p(value | parents, z_j)` over `k` draws
    /// `z_j` of the latent variables from the posterior (the log of a Monte Carlo mean, taken
    /// stably in `f64`). Its mean over held-out rows is the expected log predictive density
    /// that NumPyro's `log_likelihood` and ArviZ's `loo`/`waic` start from. For a model
    /// without latent variables it is [`Model::log_prob`]. The draws are fixed by the model's
    /// seed.
    ///
    /// # Errors
    /// As [`Model::log_prob`]; [`Error::InvalidOption`] when `k` is 0.
    pub fn log_predictive<I, S>(&self, names: I, data: &Data, k: usize) -> Result<LogProbs, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        if k == 0 {
            return Err(Error::InvalidOption {
                option: "k",
                reason: "the predictive density needs at least 1 draw".to_string(),
            });
        }
        let names = self.scored_names(names, data)?;
        let mut rng = Rng::seed_from_u64(self.seed);
        let draws: Vec<IndexMap<String, Vec<f32>>> = (0..k)
            .map(|_| self.log_prob_draw(&names, data, &mut rng))
            .collect::<Result<_, _>>()?;
        let mut mean = IndexMap::new();
        for name in draws[0].keys() {
            let per_draw: Vec<&Vec<f32>> = draws.iter().filter_map(|d| d.get(name)).collect();
            let rows = per_draw[0].len();
            let values = (0..rows)
                .map(|i| log_mean_exp(per_draw.iter().map(|d| f64::from(d[i]))) as f32)
                .collect();
            mean.insert(name.clone(), values);
        }
        Ok(LogProbs::new(mean))
    }

    /// The names, checked to be random variables that `data` gives.
    fn scored_names<I, S>(&self, names: I, data: &Data) -> Result<Vec<String>, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names: Vec<String> = names.into_iter().map(|s| s.as_ref().to_string()).collect();
        self.check_variables(&names)?;
        self.check_columns(data)?;
        for name in &names {
            if !data.contains(name) {
                return Err(Error::MissingForLogProb {
                    variable: name.clone(),
                    reason: "its value is what is scored".to_string(),
                });
            }
        }
        Ok(names)
    }

    /// The log-density of `names` at one draw of the latent variables from the guide, row by
    /// row, run chunk by chunk (a global variable once, held across the chunks).
    fn log_prob_draw(
        &self,
        names: &[String],
        data: &Data,
        rng: &mut Rng,
    ) -> Result<IndexMap<String, Vec<f32>>, Error> {
        let device = self.device();
        let rows = data.rows().unwrap_or(0);
        let mut per_row: IndexMap<String, Vec<f32>> = IndexMap::new();
        let mut given = Values::new();
        for chunk in Chunks::new(rows, self.chunk_rows()) {
            let observed = chunk.tensors(data, &device, &[]);
            let rows = chunk.rows(&device);
            let latents = self.guide_values(&observed, &rows, &given, rng)?;
            let mut ctx = Ctx::new(chunk.len(), device.clone(), rng, Unfilled::RequireValue)
                .with(Handler::Condition(&observed))
                .with(Handler::Substitute(&latents));
            (self.f)(&self.params, &mut ctx)?;
            let trace = ctx.into_trace();
            if chunk.is_first() {
                given = chunk.globals(&trace);
            }
            for site in trace {
                if names.iter().any(|n| n == site.name) && (site.local || chunk.is_first()) {
                    let values = host_values(site.log_prob())?;
                    per_row
                        .entry(site.name.to_string())
                        .or_default()
                        .extend(values);
                }
            }
        }
        Ok(per_row)
    }
}

/// `log((1/n) sum exp(x))`, stable.
fn log_mean_exp(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = xs.clone().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    let n = xs.clone().count() as f64;
    max + (xs.map(|x| (x - max).exp()).sum::<f64>() / n).ln()
}
