//! [`QModel`]: a guide written by the user with `qmodel!`.

use burn::module::Module;
use burn::tensor::Device;
use inferrs_distributions::Rng;
use inferrs_graph::Graph;

use super::sites::names;
use super::{Guide, GuideDraw, GuideTrace, LatentSite, Rows, downcast};
use crate::Error;
use crate::runtime::{Ctx, DynModule, Handler, Unfilled, Values};

/// A q-model written with `qmodel!`: parameters, and a function drawing the latent variables.
///
/// Its random variables are matched to the model's latent variables by name; a variable of the
/// q-model that the data gives is an input (as InferPy's amortised q-models take `x`), and so
/// is a declared `input`. A minibatch runs it on the batch's rows.
pub struct QModel<P, F> {
    graph: Graph,
    params: P,
    f: F,
}

impl<P, F> QModel<P, F>
where
    P: Module + Sync + 'static,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error> + Send + Sync + 'static,
{
    /// Assembles a q-model; `qmodel!` calls this.
    pub fn new(graph: Graph, params: P, f: F) -> Self {
        Self { graph, params, f }
    }

    /// The q-model's graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Its trainable parameters.
    pub fn params(&self) -> &P {
        &self.params
    }

    /// A run: the data condition its variables, `given` ones are held at their values, the
    /// others are drawn and scored (`log q`).
    fn run(
        &self,
        observed: &Values,
        given: &Values,
        rows: usize,
        device: &Device,
        rng: &mut Rng,
    ) -> Result<GuideTrace, Error> {
        let mut ctx = Ctx::new(rows, device.clone(), rng, Unfilled::Draw)
            .with(Handler::Condition(observed))
            .with(Handler::Substitute(given));
        (self.f)(&self.params, &mut ctx)?;
        let mut trace = GuideTrace::new();
        for site in ctx.into_trace() {
            if site.observed {
                continue;
            }
            let log_q = site.log_prob();
            let reparameterized = site.reparameterized();
            trace.insert(
                site.name,
                GuideDraw {
                    value: site.value,
                    log_q,
                    reparameterized,
                    dist: Some(site.dist),
                },
            );
        }
        Ok(trace)
    }
}

impl<P, F> Guide for QModel<P, F>
where
    P: Module + Sync + 'static,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error> + Send + Sync + 'static,
{
    fn kind(&self) -> &'static str {
        "q-model"
    }

    fn prepare(
        &mut self,
        latents: &[LatentSite],
        observed: &Values,
        rows: usize,
        device: &Device,
    ) -> Result<(), Error> {
        let mut rng = <Rng as rand::SeedableRng>::seed_from_u64(0);
        let trace = self.run(observed, &Values::new(), rows, device, &mut rng)?;
        for name in trace.keys() {
            if !latents.iter().any(|l| l.name == *name) {
                return Err(Error::NotLatent {
                    variable: name.to_string(),
                    latents: names(latents),
                });
            }
        }
        for latent in latents {
            if !trace.contains_key(latent.name) {
                return Err(Error::NotInQModel {
                    variable: latent.name.to_string(),
                });
            }
        }
        Ok(())
    }

    fn prepare_loaded(
        &mut self,
        latents: &[LatentSite],
        observed: &Values,
        rows: usize,
        device: &Device,
    ) -> Result<(), Error> {
        // After a streamed fit the file holds no rows to run an amortised q-model on: its
        // variables are then checked by the first query instead.
        if observed.is_empty() && !latents.is_empty() {
            return Ok(());
        }
        self.prepare(latents, observed, rows, device)
    }

    fn draw(
        &self,
        observed: &Values,
        rows: &Rows,
        device: &Device,
        rng: &mut Rng,
    ) -> Result<GuideTrace, Error> {
        self.run(observed, &Values::new(), rows.count(), device, rng)
    }

    fn draw_given(
        &self,
        observed: &Values,
        rows: &Rows,
        given: &Values,
        device: &Device,
        rng: &mut Rng,
    ) -> Result<GuideTrace, Error> {
        self.run(observed, given, rows.count(), device, rng)
    }

    fn reads(&self, column: &str) -> bool {
        self.graph.is_random(column) || self.graph.is_input(column)
    }

    fn parameters(&self) -> Option<Box<dyn DynModule>> {
        Some(Box::new(self.params.clone()))
    }

    fn set_parameters(
        &mut self,
        shared: Option<Box<dyn DynModule>>,
        _rows: Option<Box<dyn DynModule>>,
    ) {
        if let Some(m) = shared {
            self.params = downcast(m, "q-model");
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
