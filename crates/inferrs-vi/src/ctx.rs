//! The one primitive: [`Ctx::sample`] (and [`Ctx::sample_global`]). A model is a function over a
//! context; what a sample site does (take its value from the data, take it from the q-model's
//! draw, draw it, score it) is decided here at run time, never by the macro.

use burn::tensor::{Device, Tensor};
use indexmap::IndexMap;
use inferrs_distributions::{DistError, Distribution, Normal, Rng, Support};

use crate::Error;

/// What a run of a model function is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The model in a fit: score every site; latent values come from the q-model's draw.
    Fit,
    /// A q-model: variables in the data are inputs (not scored); the others are drawn and scored
    /// (`log q`).
    Guide,
    /// Queries: values from the data or the q-model's draw where given, else drawn; nothing
    /// scored.
    Predict,
    /// Score the named variables; every latent must come from the data or the q-model.
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
    /// `[rows, event]`: `rows` is 1 for a global variable.
    pub value: Tensor<2>,
    /// Its log-density at `value` given its parents, when the run scores it.
    ///
    /// # Shapes
    /// `[rows]`.
    pub log_prob: Option<Tensor<1>>,
    /// Whether the value came from the data.
    pub observed: bool,
    /// Whether the variable is local (one value per data row) rather than global.
    pub local: bool,
    /// The support of its distribution.
    pub support: Support,
    /// Whether its distribution samples with a reparameterisation (a drawn value carries the
    /// gradient of its parameters).
    pub reparameterized: bool,
    /// The distribution, when it is a Normal (for the closed-form KL of the ELBO).
    pub normal: Option<Normal>,
}

/// The context a model function runs in: the data, the q-model's draws, the device, the random
/// stream and the trace.
///
/// Users do not build one; the model macros expand `x ~ Normal(a, b)` to
/// `let x = ctx.sample("x", <Normal as FromArgs<_>>::from_args((a, b,)))?;` and a global
/// variable to `ctx.sample_global(..)`.
pub struct Ctx<'a> {
    mode: Mode,
    observed: &'a IndexMap<String, Tensor<2>>,
    latents: Option<&'a IndexMap<String, Tensor<2>>>,
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
            latents: None,
            rows,
            device,
            rng,
            sites: Vec::new(),
        }
    }

    /// Values for latent variables, drawn by a q-model, used instead of drawing them.
    pub(crate) fn with_latents(mut self, latents: &'a IndexMap<String, Tensor<2>>) -> Self {
        self.latents = Some(latents);
        self
    }

    /// Number of data rows of this run.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The device tensors of this run live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The local sample site `name ~ dist`: one value per data row. Returns the value.
    ///
    /// The value is taken from the data when the data has a column `name`; otherwise from the
    /// q-model's draw when there is one; otherwise it is drawn (queries, q-models) or reported as
    /// a latent variable without a q-model (fit).
    ///
    /// # Shapes
    /// Returns `[rows, event]`, rows the number of data rows of this run.
    ///
    /// # Errors
    /// [`Error::Distribution`] when `dist` could not be built; [`Error::Shape`] when the data
    /// column or the distribution's parameters do not fit the rows of the run;
    /// [`Error::LatentWithoutGuide`] when fitting and `name` is neither in the data nor drawn by
    /// a q-model.
    pub fn sample<D: Distribution>(
        &mut self,
        name: &'static str,
        dist: Result<D, DistError>,
    ) -> Result<Tensor<2>, Error> {
        self.site(name, dist, true)
    }

    /// The global sample site `name ~ dist`: one value shared by every row (`[1, event]`,
    /// broadcast in expressions). Otherwise as [`Ctx::sample`].
    ///
    /// # Errors
    /// As [`Ctx::sample`]; [`Error::Shape`] also when the distribution's parameters have more
    /// than one row (a global variable cannot depend on a local one).
    pub fn sample_global<D: Distribution>(
        &mut self,
        name: &'static str,
        dist: Result<D, DistError>,
    ) -> Result<Tensor<2>, Error> {
        self.site(name, dist, false)
    }

    fn site<D: Distribution>(
        &mut self,
        name: &'static str,
        dist: Result<D, DistError>,
        local: bool,
    ) -> Result<Tensor<2>, Error> {
        let dist = dist.map_err(|source| Error::Distribution {
            variable: name.to_string(),
            source,
        })?;
        let shape_error = |e: DistError| Error::Shape {
            variable: name.to_string(),
            detail: e.to_string(),
        };
        let rows = if local { self.rows } else { 1 };
        dist.check_rows(rows).map_err(shape_error)?;
        let (value, observed) = match self.observed.get(name) {
            Some(value) => {
                check_given(name, &dist, value, rows, "the data")?;
                (value.clone(), true)
            }
            None => match self.latents.and_then(|l| l.get(name)) {
                Some(value) => {
                    check_given(name, &dist, value, rows, "the q-model")?;
                    (value.clone(), false)
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
                            reason: "it is latent and the model has no q-model to infer it"
                                .to_string(),
                        });
                    }
                    Mode::Predict | Mode::Guide => {
                        (dist.sample(rows, &self.device, self.rng), false)
                    }
                },
            },
        };
        let scored = match self.mode {
            Mode::Fit | Mode::LogProb => true,
            Mode::Guide => !observed,
            Mode::Predict => false,
        };
        let log_prob = scored.then(|| dist.log_prob(value.clone()));
        self.sites.push(Site {
            name,
            value: value.clone(),
            log_prob,
            observed,
            local,
            support: dist.support(),
            reparameterized: dist.has_rsample(),
            normal: dist.as_normal().cloned(),
        });
        Ok(value)
    }

    /// The recorded sites, in the order the model visited them.
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    pub(crate) fn into_sites(self) -> Vec<Site> {
        self.sites
    }
}

/// Checks a value given for `name` (from the data or a q-model) against its distribution.
fn check_given<D: Distribution>(
    name: &str,
    dist: &D,
    value: &Tensor<2>,
    rows: usize,
    from: &str,
) -> Result<(), Error> {
    let [value_rows, cols] = value.dims();
    let detail = if value_rows != rows {
        Some(if rows == 1 {
            format!(
                "it is a global variable (one value) but {from} gives {value_rows} rows; \
                 a global variable cannot be a data column"
            )
        } else {
            format!("{from} gives {value_rows} rows but the run has {rows}")
        })
    } else if cols != dist.event_size() {
        // Strict: a scalar distribution does not silently take a wide column.
        Some(format!(
            "{from} gives values of size {cols} but {} has values of size {}",
            dist.name(),
            dist.event_size()
        ))
    } else {
        dist.check_value(value.dims()).err().map(|e| e.to_string())
    };
    match detail {
        Some(detail) => Err(Error::Shape {
            variable: name.to_string(),
            detail,
        }),
        None => Ok(()),
    }
}
