//! The one primitive: [`Ctx::sample`]. A model is a function over a context; what a sample site
//! does (take its value from the data, draw it, score it) is decided here at run time, never by
//! the macro.

use burn::tensor::{Device, Tensor};
use indexmap::IndexMap;
use inferrs_distributions::{DistError, Distribution, Rng};

use crate::Error;

/// What a run of the model is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Fit: every variable must be observed (no q-model yet); score every site.
    Fit,
    /// Predictive sampling: draw every variable not in the data.
    Predict,
    /// Score the observed variables; every variable must be observed.
    LogProb,
}

/// One recorded sample site.
#[derive(Clone, Debug)]
pub struct Site {
    /// The variable's name.
    pub name: &'static str,
    /// Its value.
    ///
    /// # Shapes
    /// `[rows, event]`.
    pub value: Tensor<2>,
    /// Its log-density at `value` given its parents, when the run scores it.
    ///
    /// # Shapes
    /// `[rows]`.
    pub log_prob: Option<Tensor<1>>,
    /// Whether the value came from the data.
    pub observed: bool,
}

/// The context a model function runs in: the data, the device, the random stream and the trace.
///
/// Users do not build one; `datamodel!` expands `x ~ Normal(a, b)` to
/// `let x = ctx.sample("x", <Normal as FromArgs<_>>::from_args((a, b,)))?;`.
pub struct Ctx<'a> {
    mode: Mode,
    observed: &'a IndexMap<String, Tensor<2>>,
    rows: usize,
    device: Device,
    rng: &'a mut Rng,
    sites: Vec<Site>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        mode: Mode,
        observed: &'a IndexMap<String, Tensor<2>>,
        rows: usize,
        device: Device,
        rng: &'a mut Rng,
    ) -> Self {
        Self {
            mode,
            observed,
            rows,
            device,
            rng,
            sites: Vec::new(),
        }
    }

    /// Number of data rows of this run.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The device tensors of this run live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The sample site `name ~ dist`: returns the variable's value.
    ///
    /// The value is taken from the data when the data has a column `name`; otherwise it is drawn
    /// (predictive queries) or reported as a latent variable without a guide (fit).
    ///
    /// # Shapes
    /// Returns `[rows, event]`, rows the number of data rows of this run.
    ///
    /// # Errors
    /// [`Error::Distribution`] when `dist` could not be built; [`Error::Shape`] when the data
    /// column or the distribution's parameters do not fit the rows of the run;
    /// [`Error::LatentWithoutGuide`] when fitting and `name` is not in the data.
    pub fn sample<D: Distribution>(
        &mut self,
        name: &'static str,
        dist: Result<D, DistError>,
    ) -> Result<Tensor<2>, Error> {
        let dist = dist.map_err(|source| Error::Distribution {
            variable: name.to_string(),
            source,
        })?;
        let shape_error = |e: DistError| Error::Shape {
            variable: name.to_string(),
            detail: e.to_string(),
        };
        dist.check_rows(self.rows).map_err(shape_error)?;
        let site = match self.observed.get(name) {
            Some(value) => {
                dist.check_value(value.dims()).map_err(shape_error)?;
                // Strict: a scalar distribution does not silently take a wide column.
                let [_, cols] = value.dims();
                if cols != dist.event_size() {
                    return Err(Error::Shape {
                        variable: name.to_string(),
                        detail: format!(
                            "the data gives values of size {cols} but {} has values of size {}",
                            dist.name(),
                            dist.event_size()
                        ),
                    });
                }
                let log_prob = match self.mode {
                    Mode::Predict => None,
                    Mode::Fit | Mode::LogProb => Some(dist.log_prob(value.clone())),
                };
                Site {
                    name,
                    value: value.clone(),
                    log_prob,
                    observed: true,
                }
            }
            None => match self.mode {
                Mode::Fit => {
                    return Err(Error::LatentWithoutGuide {
                        variable: name.to_string(),
                    });
                }
                Mode::LogProb => {
                    return Err(Error::MissingForLogProb {
                        variable: name.to_string(),
                        reason: "the model has no q-model to infer it".to_string(),
                    });
                }
                Mode::Predict => Site {
                    name,
                    value: dist.sample(self.rows, &self.device, self.rng),
                    log_prob: None,
                    observed: false,
                },
            },
        };
        let value = site.value.clone();
        self.sites.push(site);
        Ok(value)
    }

    /// The recorded sites, in the order the model visited them.
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    pub(crate) fn into_sites(self) -> Vec<Site> {
        self.sites
    }

    /// Sum over sites and rows of the recorded log-densities (the log joint), `[1]`.
    pub(crate) fn log_joint(&self) -> Option<Tensor<1>> {
        self.sites
            .iter()
            .filter_map(|s| s.log_prob.clone())
            .map(Tensor::sum)
            .reduce(|a, b| a + b)
    }
}
