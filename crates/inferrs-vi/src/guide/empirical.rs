//! [`Empirical`]: a posterior that is a set of draws (an MCMC run's), drawn from by picking
//! one of them: what `posterior`, `posterior_predictive` and `log_prob` read after
//! [`Model::sample`](crate::Model::sample).

use burn::tensor::{Device, Tensor, TensorData};
use inferrs_distributions::Rng;
use rand::Rng as _;

use super::{Guide, GuideDraw, GuideTrace, LatentSite, Rows};
use crate::Error;
use crate::infer::Samples;
use crate::runtime::{DynModule, Values};

/// The posterior of an MCMC run: each [`draw`](Guide::draw) is one of the run's draws (all
/// chains pooled), picked uniformly at random from the query's stream, with every latent
/// variable taken from that same draw, so their dependence is kept. It has no parameters and
/// cannot be fitted: a fit after sampling needs a guide of its own.
#[derive(Clone, Debug)]
pub struct Empirical {
    samples: Samples,
}

impl Empirical {
    /// The posterior made of `samples`'s draws.
    pub fn new(samples: Samples) -> Self {
        Self { samples }
    }

    /// The draws it picks from.
    pub fn samples(&self) -> &Samples {
        &self.samples
    }
}

impl Guide for Empirical {
    fn kind(&self) -> &'static str {
        "Empirical"
    }

    fn prepare(
        &mut self,
        latents: &[LatentSite],
        _observed: &Values,
        _rows: usize,
        _device: &Device,
    ) -> Result<(), Error> {
        Err(Error::Guide {
            guide: self.kind(),
            variable: latents
                .iter()
                .map(|l| l.name)
                .collect::<Vec<_>>()
                .join(", "),
            reason: "the posterior is a set of MCMC draws, which a fit cannot train: give \
                     the fit a guide (`VI::new(n).guide(AutoNormal::default())`)"
                .to_string(),
        })
    }

    fn draw(
        &self,
        _observed: &Values,
        rows: &Rows,
        device: &Device,
        rng: &mut Rng,
    ) -> Result<GuideTrace, Error> {
        let s = &self.samples;
        let mut trace = GuideTrace::new();
        let total = s.chains * s.draws;
        if total == 0 {
            return Ok(trace);
        }
        let pick = rng.random_range(0..total);
        for (i, name) in s.names.iter().enumerate() {
            let [r, e] = s.shapes[i];
            let read = if s.local[i] {
                rows.of_fit(r)
            } else {
                Some(None)
            };
            let Some(indices) = read else {
                // Rows that are not those of the run: the model draws them.
                continue;
            };
            let len = r * e;
            let values = s.values[i][pick * len..(pick + 1) * len].to_vec();
            let value = Tensor::<2>::from_data(TensorData::new(values, [r, e]), device);
            let value = match indices {
                Some(indices) => value.select(0, indices.clone()),
                None => value,
            };
            let n = value.dims()[0];
            trace.insert(
                name,
                GuideDraw {
                    value,
                    log_q: Tensor::zeros([n], device),
                    reparameterized: false,
                    dist: None,
                },
            );
        }
        Ok(trace)
    }

    fn parameters(&self) -> Option<Box<dyn DynModule>> {
        None
    }

    fn set_parameters(
        &mut self,
        _shared: Option<Box<dyn DynModule>>,
        _rows: Option<Box<dyn DynModule>>,
    ) {
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
