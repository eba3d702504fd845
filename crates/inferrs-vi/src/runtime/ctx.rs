//! The one primitive: [`Ctx::sample`] (and [`Ctx::sample_global`]). A model is a function over a
//! context; what a sample site does (take its value from the data, take it from a guide's
//! draw, draw it) is decided by the context's [handlers](Handler), never by the macro.

use std::borrow::Cow;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use inferrs_distributions::{DistError, Distribution, Rng};

use super::ambient::Frame;
use super::handler::{Given, Handler, Unfilled, process};
use super::lift::{Lift, Lifter};
use super::site::{Site, Trace};
use crate::Error;

/// The context a model function runs in: its handlers, the rows and device of the run, the
/// random stream and the trace.
///
/// Users do not build one; the model macros expand `x ~ Normal(a, b)` to
/// `let x = ctx.sample("x", <Normal as FromArgs<_>>::from_args((a, b,)))?;`, a global
/// variable to `ctx.sample_global(..)` and `input s;` to `ctx.input("s")?`. An inference
/// algorithm builds one with [`Ctx::new`] and [`Ctx::with`], runs the model and reads
/// [`Ctx::into_trace`].
pub struct Ctx<'a> {
    handlers: Vec<Handler<'a>>,
    unfilled: Unfilled,
    rows: usize,
    device: Device,
    rng: &'a mut Rng,
    trace: Trace,
    // The frame through which layers inside the model's modules reach the run's stream and
    // leave their KL terms (`runtime::ambient`). It also keeps the context on its thread.
    frame: Frame,
}

impl<'a> Ctx<'a> {
    /// A context with no handler for a run over `rows` data rows on `device`; `unfilled` says
    /// what a site that no handler gives a value does.
    ///
    /// The context is not `Send`: a model runs on the thread that built its context, where
    /// the Bayesian layers of its modules find the run ([`BayesianDense`](crate::BayesianDense)).
    pub fn new(rows: usize, device: Device, rng: &'a mut Rng, unfilled: Unfilled) -> Self {
        let frame = Frame::open(rng);
        Self {
            handlers: Vec::new(),
            unfilled,
            rows,
            device,
            rng,
            trace: Trace::default(),
            frame,
        }
    }

    /// Adds `handler` after the ones already there (handlers run in the order added).
    pub fn with(mut self, handler: Handler<'a>) -> Self {
        self.handlers.push(handler);
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

    /// The input `name`: a data column that the model reads but does not model (a covariate, or
    /// eight schools' known `sigma`), declared in a model as `input name;`. It is never scored,
    /// drawn or inferred; it is read from the first condition handler that has it.
    ///
    /// # Shapes
    /// Returns `[rows, cols]`, the column as given.
    ///
    /// # Errors
    /// [`Error::MissingInput`] when the data has no column `name`; [`Error::Shape`] when the
    /// column does not have the rows of the run.
    pub fn input(&mut self, name: &'static str) -> Result<Tensor<2>, Error> {
        let value = self
            .handlers
            .iter()
            .find_map(|h| match h {
                Handler::Condition(values) => values.get(name),
                _ => None,
            })
            .ok_or_else(|| Error::MissingInput {
                variable: name.to_string(),
            })?;
        let [rows, _] = value.dims();
        if rows != self.rows {
            return Err(Error::Shape {
                variable: name.to_string(),
                detail: format!("the data gives {rows} rows but the run has {}", self.rows),
            });
        }
        Ok(value.clone())
    }

    /// The local sample site `name ~ dist`: one value per data row. Returns the value.
    ///
    /// The value is taken from the data when a condition handler has a column `name`;
    /// otherwise from a substitute handler (a guide's draw); otherwise the context's
    /// [`Unfilled`] rule draws it or refuses.
    ///
    /// # Shapes
    /// Returns `[rows, event]`, rows the number of data rows of this run.
    ///
    /// # Errors
    /// [`Error::Distribution`] when `dist` could not be built; [`Error::Shape`] when the data
    /// column or the distribution's parameters do not fit the rows of the run;
    /// [`Error::LatentWithoutGuide`] / [`Error::MissingForLogProb`] when no handler gives the
    /// value and the context may not draw it.
    pub fn sample<D: Distribution + 'static>(
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
    pub fn sample_global<D: Distribution + 'static>(
        &mut self,
        name: &'static str,
        dist: Result<D, DistError>,
    ) -> Result<Tensor<2>, Error> {
        self.site(name, dist, false)
    }

    fn site<D: Distribution + 'static>(
        &mut self,
        name: &'static str,
        dist: Result<D, DistError>,
        local: bool,
    ) -> Result<Tensor<2>, Error> {
        let dist = dist.map_err(|source| Error::Distribution {
            variable: name.to_string(),
            source,
        })?;
        self.site_boxed(name, Box::new(dist), local)
    }

    /// A sample site whose distribution is already built (and boxed): what
    /// [`Ctx::sample`] and the lifted parameters share.
    pub(crate) fn site_boxed(
        &mut self,
        name: &'static str,
        dist: Box<dyn Distribution>,
        local: bool,
    ) -> Result<Tensor<2>, Error> {
        let rows = if local { self.rows } else { 1 };
        dist.check_rows(rows).map_err(|e| Error::Shape {
            variable: name.to_string(),
            detail: e.to_string(),
        })?;
        let verdict = process(&self.handlers, name, local);
        let (value, observed) = match verdict.given {
            Given::Data(value) => {
                check_given(name, &*dist, value, rows, "the data")?;
                (value.clone(), true)
            }
            Given::Latent(value) => {
                check_given(name, &*dist, value, rows, "the guide")?;
                (value.clone(), false)
            }
            Given::None => match self.unfilled {
                Unfilled::Draw => (dist.sample(rows, &self.device, self.rng), false),
                Unfilled::RequireGuide => {
                    return Err(Error::LatentWithoutGuide {
                        variable: name.to_string(),
                    });
                }
                Unfilled::RequireValue => {
                    return Err(Error::MissingForLogProb {
                        variable: name.to_string(),
                        reason: "it is latent and the model has no posterior to infer it"
                            .to_string(),
                    });
                }
            },
        };
        if verdict.recorded {
            self.trace.push(Site {
                name,
                value: value.clone(),
                dist,
                observed,
                local,
                scale: verdict.scale,
                mask: verdict.mask,
                scored: None,
            });
        }
        Ok(value)
    }

    /// The model's parameters as this run sees them: `params` itself, unless a
    /// [`Handler::Lift`] lifts some of them, in which case a copy whose lifted tensors are the
    /// values of their sample sites (see [`Ctx::lift`]).
    ///
    /// # Errors
    /// As [`Ctx::lift`].
    pub fn parameters<'p, P: Module>(&mut self, params: &'p P) -> Result<Cow<'p, P>, Error> {
        let lifts: Vec<&'a Lift> = self
            .handlers
            .iter()
            .filter_map(|h| match h {
                Handler::Lift(lift) => Some(*lift),
                _ => None,
            })
            .collect();
        if lifts.is_empty() {
            return Ok(Cow::Borrowed(params));
        }
        self.lift_all(&lifts, params).map(Cow::Owned)
    }

    /// A copy of `params` in which every float tensor that `lift` lifts is the value of a
    /// global sample site: its name is the tensor's path in `params` (`nn.fc1.weight`), its
    /// distribution the lift's prior for it, and its value, `[1, elements]` reshaped to the
    /// tensor's shape, comes from the handlers as any site's does (a guide's draw, the data)
    /// or is drawn. The forward pass of the copy is differentiable in those values. The sites
    /// are visited in the order of burn's module visitor (the fields in declaration order).
    ///
    /// # Errors
    /// [`Error::Distribution`] when the prior cannot be built for a tensor, and the errors of
    /// [`Ctx::sample_global`] for its site, each naming the tensor's site.
    pub fn lift<P: Module>(&mut self, lift: &Lift, params: &P) -> Result<P, Error> {
        self.lift_all(&[lift], params)
    }

    fn lift_all<P: Module>(&mut self, lifts: &[&Lift], params: &P) -> Result<P, Error> {
        let mut lifter = Lifter {
            ctx: self,
            lifts,
            path: Vec::new(),
            error: None,
        };
        let lifted = params.clone().map(&mut lifter);
        match lifter.error {
            Some(e) => Err(e),
            None => Ok(lifted),
        }
    }

    /// The sites recorded so far, in the order the model visited them.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The trace of the run, with the KL terms of the Bayesian layers it called
    /// ([`Trace::layer_kls`]). When a layer drew noise, the context's random stream advances
    /// by one draw, so that the next run on it draws other noise.
    pub fn into_trace(self) -> Trace {
        let closed = self.frame.close();
        if closed.drew {
            rand::RngCore::next_u64(self.rng);
        }
        let mut trace = self.trace;
        trace.set_layer_kls(closed.kls);
        trace
    }
}

/// Checks a value given for `name` (from the data or a guide) against its distribution.
fn check_given<D: Distribution + ?Sized>(
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
