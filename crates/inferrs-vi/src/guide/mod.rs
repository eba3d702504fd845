//! Guides (q-models): what a fit draws the latent variables from. [`QModel`] is written by the
//! user with `qmodel!`; [`AutoNormal`], [`AutoDelta`] and [`AutoMultivariateNormal`] build
//! themselves from the model's latent variables. One guide a file; `sites.rs` holds what the
//! automatic guides share.

mod auto_delta;
mod auto_mvn;
mod auto_normal;
mod empirical;
mod init;
mod qmodel;
mod rows;
mod sites;
pub(crate) use sites::{auto_sites, inverse_softplus, std_normal, std_normal_values};

use burn::tensor::{Device, Tensor};
use indexmap::IndexMap;
use inferrs_distributions::{Distribution, Rng, Support};

pub use auto_delta::AutoDelta;
pub use auto_mvn::AutoMultivariateNormal;
pub use auto_normal::AutoNormal;
pub use empirical::Empirical;
pub use init::Init;
pub use qmodel::QModel;
pub use rows::Rows;

use crate::Error;
use crate::runtime::{DynModule, Values};

/// A latent variable of a model: a random variable that the data does not give, as found by a
/// run of the model at the start of `fit`.
#[derive(Clone, Debug)]
pub struct LatentSite {
    /// The variable's name.
    pub name: &'static str,
    /// The shape of its value, `[rows, event]` (`rows` is 1 for a global variable, the rows of
    /// the whole data for a local one).
    pub shape: [usize; 2],
    /// Whether it is local (one value per data row).
    pub local: bool,
    /// The support of its distribution in the model.
    pub support: Support,
    /// Draws of it from the model's prior, `[rows, event]` each (`rows` those of the run
    /// that found it: a minibatch fit's first batch), as many as the guide asked for
    /// ([`Guide::prior_draws`]; at least the one of that run while the fit prepares its
    /// guide, none afterwards).
    pub prior: Vec<Tensor<2>>,
    /// A seed for the guide's random choices about this variable (its starting point),
    /// derived from the fit's seed and the variable's name.
    pub seed: u64,
}

/// One latent variable drawn by a guide.
#[derive(Debug)]
pub struct GuideDraw {
    /// The drawn value, `[rows, event]`.
    pub value: Tensor<2>,
    /// `log q(value)`, `[rows]` (or `[1]` for a joint density of several variables; only the
    /// sum over all draws enters the ELBO).
    pub log_q: Tensor<1>,
    /// Whether `value` carries the gradient of the guide's parameters (a reparameterised draw).
    /// Draws that do not get a score-function gradient in the ELBO.
    pub reparameterized: bool,
    /// The guide's distribution of `value` when the value is a plain draw of it (no bijector
    /// between them): the mean-field ELBO uses it for a closed-form KL divergence. Automatic
    /// guides fill it when a fit's ELBO asks for it ([`Guide::keep_distributions`]).
    pub dist: Option<Box<dyn Distribution>>,
}

/// The draws of one run of a guide, by variable name.
pub type GuideTrace = IndexMap<&'static str, GuideDraw>;

/// The values of a guide's draw, by name (what a substitute handler takes).
pub(crate) fn draw_values(trace: &GuideTrace) -> Values {
    trace
        .iter()
        .map(|(name, d)| (name.to_string(), d.value.clone()))
        .collect()
}

/// A guide: a distribution `q` over a model's latent variables with trainable parameters.
///
/// A fit calls [`prepare`](Guide::prepare) once, then per step and particle
/// [`draw`](Guide::draw). The guide owns no optimizer state: it hands its parameters to the
/// inference loop as burn modules ([`parameters`](Guide::parameters) for those every row
/// shares, [`row_parameters`](Guide::row_parameters) for those of local variables, one row
/// per data row) and takes them back with [`set_parameters`](Guide::set_parameters).
pub trait Guide: Send + Sync {
    /// A short name for messages, e.g. `"AutoNormal"`.
    fn kind(&self) -> &'static str;

    /// Fits the guide to the model's latent variables: an automatic guide creates its
    /// parameters (keeping those of an earlier fit of the same variables); a q-model checks that
    /// it draws exactly these variables.
    ///
    /// # Arguments
    /// * `latents` - the model's latent variables.
    /// * `observed` - the data of the fit (on `device`), or its first batch.
    /// * `rows` - the rows of `observed`.
    /// * `device` - the device of the model's parameters (without autodiff).
    ///
    /// # Errors
    /// A latent variable the guide cannot draw, or a guide variable that is not latent, each
    /// naming the variable.
    fn prepare(
        &mut self,
        latents: &[LatentSite],
        observed: &Values,
        rows: usize,
        device: &Device,
    ) -> Result<(), Error>;

    /// How many draws of each latent variable from the model's prior
    /// [`prepare`](Guide::prepare) reads ([`LatentSite::prior`]): an automatic guide that
    /// starts from a prior draw or median asks for them ([`Init`]). The default is 1.
    fn prior_draws(&self) -> usize {
        1
    }

    /// Prepares the guide to take parameters read from a model file
    /// ([`Model::load`](crate::Model::load)): as [`prepare`](Guide::prepare), with the data
    /// of the saved fit in `observed` (empty when the fit was streamed). The loader then
    /// loads the file's parameters into [`parameters`](Guide::parameters) and
    /// [`row_parameters`](Guide::row_parameters) and hands them back with
    /// [`set_parameters`](Guide::set_parameters).
    ///
    /// The default is [`prepare`](Guide::prepare); a q-model, whose parameters exist
    /// already, checks its variables when it has the data to run on.
    ///
    /// # Errors
    /// As [`prepare`](Guide::prepare).
    fn prepare_loaded(
        &mut self,
        latents: &[LatentSite],
        observed: &Values,
        rows: usize,
        device: &Device,
    ) -> Result<(), Error> {
        self.prepare(latents, observed, rows, device)
    }

    /// Whether [`draw`](Guide::draw) must fill [`GuideDraw::dist`], which the closed-form KL of
    /// [`TraceMeanFieldElbo`](crate::TraceMeanFieldElbo) reads. A fit sets it from its ELBO
    /// ([`Elbo::closed_form_kl`](crate::infer::Elbo::closed_form_kl)) before its first
    /// step; an automatic guide then builds those distributions only when asked (each costs
    /// an autodiff node a site and step). The default ignores it (the guide always fills
    /// `dist` where it can).
    fn keep_distributions(&mut self, keep: bool) {
        let _ = keep;
    }

    /// One draw of every latent variable the guide covers for the rows `rows`.
    ///
    /// An automatic guide draws a local variable for the rows of the fit or a batch of them
    /// ([`Rows::batch`]), and leaves it out for data with other rows (the model then draws it
    /// from its prior).
    ///
    /// # Errors
    /// Any error of a q-model's function.
    fn draw(
        &self,
        observed: &Values,
        rows: &Rows,
        device: &Device,
        rng: &mut Rng,
    ) -> Result<GuideTrace, Error>;

    /// As [`draw`](Guide::draw), with the variables in `given` held at their values: a query
    /// that runs in chunks of rows draws the global variables once, on its first chunk, and
    /// holds them for the others.
    ///
    /// The default draws and then replaces the given values, which is exact for a guide whose
    /// variables are independent of each other (the automatic mean-field guides); the
    /// `log_q` of a replaced value is not recomputed (queries read values only). A guide whose
    /// local draws depend on its global ones (a q-model) conditions on them instead.
    ///
    /// # Errors
    /// As [`draw`](Guide::draw).
    fn draw_given(
        &self,
        observed: &Values,
        rows: &Rows,
        given: &Values,
        device: &Device,
        rng: &mut Rng,
    ) -> Result<GuideTrace, Error> {
        let mut trace = self.draw(observed, rows, device, rng)?;
        for (name, draw) in trace.iter_mut() {
            if let Some(value) = given.get(*name) {
                draw.value = value.clone();
            }
        }
        Ok(trace)
    }

    /// Whether the guide reads the data column `column` (an amortised q-model's input): its
    /// posterior then needs the data, which a streamed fit does not keep.
    fn reads(&self, column: &str) -> bool {
        let _ = column;
        false
    }

    /// The parameters every row shares (`None` before [`prepare`](Guide::prepare)).
    fn parameters(&self) -> Option<Box<dyn DynModule>>;

    /// The parameters of local variables, one row per data row of the fit, each
    /// `[rows, ..]`: a minibatch reads and updates only its rows (`None` when there are none).
    fn row_parameters(&self) -> Option<Box<dyn DynModule>> {
        None
    }

    /// Takes back parameters handed out by [`parameters`](Guide::parameters) and
    /// [`row_parameters`](Guide::row_parameters) (stepped, moved or restored).
    ///
    /// # Panics
    /// When a module is not of the guide's own type (a programmer's mistake in an
    /// inference algorithm).
    fn set_parameters(
        &mut self,
        shared: Option<Box<dyn DynModule>>,
        rows: Option<Box<dyn DynModule>>,
    );

    /// The guide as `Any`, to reach its own methods after a fit:
    /// `model.guide().and_then(|g| g.as_any().downcast_ref::<AutoNormal>())`.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// `module` back as `M`.
///
/// # Panics
/// When it is another type: see [`Guide::set_parameters`].
pub(crate) fn downcast<M: 'static>(module: Box<dyn DynModule>, guide: &str) -> M {
    match module.into_any().downcast::<M>() {
        Ok(m) => *m,
        Err(_) => panic!("{guide}: set_parameters was given a module of another guide"),
    }
}
