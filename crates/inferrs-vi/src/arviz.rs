//! [`Model::inference_data`]: a fitted or sampled model as ArviZ's InferenceData (feature
//! `arviz`), for `arviz.from_zarr` and the rest of the Python ecosystem.
//!
//! The posterior's joint draws come from the MCMC run ([`Empirical`]: its chains and draws as
//! they are) or from the fitted guide (one chain of [`ArvizOptions::draws`] draws). At each
//! joint draw the model runs twice on the data: once conditioned on it, for the pointwise
//! log-likelihood of every observed variable, and once given only the inputs, for a
//! posterior-predictive draw of the observed variables. Both runs substitute the same
//! latent values, so the groups agree draw by draw, as `az.loo` and `az.plot_ppc` assume.

use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use indexmap::IndexMap;
use inferrs_arviz::{
    CONSTANT_DATA, Group, InferenceData, LOG_LIKELIHOOD, OBSERVED_DATA, POSTERIOR,
    POSTERIOR_PREDICTIVE, SAMPLE_STATS,
};
use inferrs_distributions::Rng;
use rand::SeedableRng;

use crate::draws::host_values;
use crate::guide::{Empirical, Rows};
use crate::runtime::{Ctx, Handler, Unfilled, Values};
use crate::{Data, Error, Model, Samples};

/// The options of [`Model::inference_data`].
///
/// ```
/// use inferrs_vi::ArvizOptions;
/// let options = ArvizOptions::new().draws(500).log_likelihood(false);
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
pub struct ArvizOptions {
    draws: usize,
    predictive: bool,
    log_likelihood: bool,
}

impl Default for ArvizOptions {
    fn default() -> Self {
        Self {
            draws: 1000,
            predictive: true,
            log_likelihood: true,
        }
    }
}

impl ArvizOptions {
    /// 1000 draws of a guide; the posterior-predictive and log-likelihood groups included.
    pub fn new() -> Self {
        Self::default()
    }

    /// Draws of the fitted guide, as one chain (default 1000). An MCMC posterior keeps its
    /// own chains and draws.
    pub fn draws(mut self, draws: usize) -> Self {
        self.draws = draws;
        self
    }

    /// Whether to add the `posterior_predictive` group (default true).
    pub fn posterior_predictive(mut self, on: bool) -> Self {
        self.predictive = on;
        self
    }

    /// Whether to add the `log_likelihood` group, one value per draw and data row of every
    /// observed variable (default true). It holds `chains x draws x rows` numbers.
    pub fn log_likelihood(mut self, on: bool) -> Self {
        self.log_likelihood = on;
        self
    }
}

/// The joint draws of the latent variables: `chains * draws` of them, each variable's as
/// `[rows, event]` values.
struct Joint<'s> {
    chains: usize,
    draws: usize,
    vars: Vec<JointVar>,
    /// The MCMC run, when the draws are its own.
    samples: Option<&'s Samples>,
    /// What made the draws: `NUTS` or the guide's kind.
    inference: &'static str,
}

struct JointVar {
    name: String,
    shape: [usize; 2],
    local: bool,
    /// `chains * draws * rows * event`, row-major.
    values: Vec<f32>,
}

impl JointVar {
    /// The `[rows, event]` values of draw `k` (counting over chains, then draws).
    fn draw(&self, k: usize) -> &[f32] {
        let len = self.shape[0] * self.shape[1];
        &self.values[k * len..(k + 1) * len]
    }
}

/// Per observed variable, what the runs at every draw left: values (`[rows, event]` each)
/// or log-likelihoods (`[rows]` each), draw after draw.
#[derive(Default)]
struct PerDraw {
    vars: IndexMap<String, (usize, usize, Vec<f32>)>,
}

impl PerDraw {
    fn push(&mut self, name: &str, shape: [usize; 2], values: Vec<f32>) {
        let entry = self
            .vars
            .entry(name.to_string())
            .or_insert((shape[0], shape[1], Vec::new()));
        entry.2.extend(values);
    }
}

impl<P, F> Model<P, F>
where
    P: Module,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    /// The model's posterior on `data` as ArviZ's InferenceData: the groups `posterior`,
    /// `sample_stats` (after MCMC: `diverging`, `tree_depth`, `n_steps`,
    /// `reached_max_treedepth`, `step_size`, `energy`, `energy_error`, `lp`),
    /// `posterior_predictive` and `log_likelihood` (of every random variable `data` gives,
    /// at every draw), `observed_data` (those columns) and `constant_data` (the inputs).
    /// [`InferenceData::write_zarr`] writes it for `arviz.from_zarr`.
    ///
    /// After [`Model::sample`] the draws are the run's, chain by chain. After a fit they are
    /// `options.draws` joint draws of the guide, as one chain (ArviZ's layout for VI draws),
    /// fixed by the model's seed. `data` should be the data of the fit or run (its rows are
    /// those of any local latent variable). Dims are ArviZ's defaults: `chain`, `draw`, then
    /// `{name}_dim_0` (data rows, for local variables) and `{name}_dim_1` (event).
    ///
    /// The model runs on all of `data`'s rows at once (not in chunks), twice per draw.
    ///
    /// # Errors
    /// [`Error::Query`] when the model has no posterior (neither a run nor a fitted guide),
    /// or when a local variable's draws are not on `data`'s rows;
    /// [`Error::UnknownColumn`] for a column that names no random variable or input;
    /// [`Error::InvalidOption`] for 0 draws; any error of the model function.
    pub fn inference_data(
        &self,
        data: &Data,
        options: &ArvizOptions,
    ) -> Result<InferenceData, Error> {
        let rows = self.check_columns(data)?;
        let device = self.device();
        let mut rng = Rng::seed_from_u64(self.stream_seed(u64::MAX));
        let joint = self.joint_draws(data, rows, options, &mut rng)?;
        let observed_names: Vec<String> = data
            .names()
            .filter(|n| self.graph().is_random(n))
            .map(str::to_string)
            .collect();
        let all = data.tensors(&device, &[]);
        let inputs = data.tensors(&device, &observed_names);

        let mut predictive = PerDraw::default();
        let mut log_lik = PerDraw::default();
        for k in 0..joint.chains * joint.draws {
            let latents: Values = joint
                .vars
                .iter()
                .map(|v| {
                    let value = Tensor::<2>::from_data(
                        TensorData::new(v.draw(k).to_vec(), v.shape),
                        &device,
                    );
                    (v.name.clone(), value)
                })
                .collect();
            if options.log_likelihood {
                let mut ctx = Ctx::new(rows, device.clone(), &mut rng, Unfilled::RequireValue)
                    .with(Handler::Condition(&all))
                    .with(Handler::Substitute(&latents));
                (self.f)(&self.params, &mut ctx)?;
                for site in ctx.into_trace() {
                    if observed_names.iter().any(|n| n == site.name) {
                        let n = site.value.dims()[0];
                        log_lik.push(site.name, [n, 1], host_values(site.log_prob())?);
                    }
                }
            }
            if options.predictive {
                let trace = self.run_predict(&inputs, &latents, rows, &mut rng)?;
                self.check_posterior(&trace, &inputs, &latents, &observed_names)?;
                for site in trace {
                    if observed_names.iter().any(|n| n == site.name) {
                        let [n, e] = site.value.dims();
                        predictive.push(site.name, [n, e], host_values(site.value)?);
                    }
                }
            }
        }

        let mut idata = InferenceData::new();
        let (c, d) = (joint.chains, joint.draws);
        {
            let posterior = idata.group_mut(POSTERIOR);
            for v in &joint.vars {
                add_draws(posterior, &v.name, c, d, v.shape, v.local, v.values.clone())?;
            }
            attrs(posterior, joint.inference);
            if let Some(s) = joint.samples {
                posterior.set_attr("sampling_time", s.wall_time().as_secs_f64());
            }
        }
        if let Some(s) = joint.samples {
            sample_stats(idata.group_mut(SAMPLE_STATS), s)?;
            attrs(idata.group_mut(SAMPLE_STATS), joint.inference);
        }
        for (group, per) in [
            (POSTERIOR_PREDICTIVE, &predictive),
            (LOG_LIKELIHOOD, &log_lik),
        ] {
            if per.vars.is_empty() {
                continue;
            }
            let g = idata.group_mut(group);
            for (name, (n, e, values)) in &per.vars {
                add_draws(g, name, c, d, [*n, *e], self.is_local(name), values.clone())?;
            }
            attrs(g, joint.inference);
        }
        for (group, names) in [
            (OBSERVED_DATA, observed_names.clone()),
            (
                CONSTANT_DATA,
                data.names()
                    .filter(|n| self.graph().is_input(n))
                    .map(str::to_string)
                    .collect(),
            ),
        ] {
            if names.is_empty() {
                continue;
            }
            let g = idata.group_mut(group);
            for name in &names {
                let Some(column) = data.get(name) else {
                    continue;
                };
                let (r, e) = (column.rows(), column.cols());
                let mut dims = vec![format!("{name}_dim_0")];
                let mut shape = vec![r];
                if e > 1 {
                    dims.push(format!("{name}_dim_1"));
                    shape.push(e);
                }
                g.add(name, dims, shape, column.values().to_vec())?;
            }
            attrs(g, joint.inference);
        }
        Ok(idata)
    }

    /// Whether the random variable `name` is local (one value per data row).
    fn is_local(&self, name: &str) -> bool {
        self.graph()
            .random_variables()
            .any(|node| node.name == name && node.local)
    }

    /// The posterior's joint draws: the MCMC run's, or `options.draws` of the guide.
    fn joint_draws<'s>(
        &'s self,
        data: &Data,
        rows: usize,
        options: &ArvizOptions,
        rng: &mut Rng,
    ) -> Result<Joint<'s>, Error> {
        let Some(guide) = self.guide() else {
            return Err(Error::Query {
                variable: "(posterior)".to_string(),
                reason: "the model has no posterior yet: fit it with a guide or sample it \
                         (`Model::sample`) before exporting its InferenceData"
                    .to_string(),
            });
        };
        if let Some(empirical) = guide.as_any().downcast_ref::<Empirical>() {
            let s = empirical.samples();
            let mut vars = Vec::new();
            for (i, name) in s.names.iter().enumerate() {
                let shape = s.shapes[i];
                if s.local[i] && shape[0] != rows {
                    return Err(local_rows_error(name, shape[0], rows));
                }
                vars.push(JointVar {
                    name: name.to_string(),
                    shape,
                    local: s.local[i],
                    values: s.values[i].clone(),
                });
            }
            return Ok(Joint {
                chains: s.chains,
                draws: s.draws,
                vars,
                samples: Some(s),
                inference: "NUTS",
            });
        }
        if options.draws == 0 {
            return Err(Error::InvalidOption {
                option: "draws",
                reason: "an InferenceData of a guide needs at least 1 draw".to_string(),
            });
        }
        let device = self.device();
        let observed = data.tensors(&device, &[]);
        let mut vars: Vec<JointVar> = Vec::new();
        for k in 0..options.draws {
            let trace = guide.draw(&observed, &Rows::all(rows), &device, rng)?;
            for (i, (name, draw)) in trace.into_iter().enumerate() {
                let [r, e] = draw.value.dims();
                let values = host_values(draw.value)?;
                if k == 0 {
                    let local = self.is_local(name);
                    if local && r != rows {
                        return Err(local_rows_error(name, r, rows));
                    }
                    vars.push(JointVar {
                        name: name.to_string(),
                        shape: [r, e],
                        local,
                        values: Vec::with_capacity(options.draws * values.len()),
                    });
                }
                let var = vars
                    .get_mut(i)
                    .filter(|v| v.name == name && v.shape == [r, e]);
                let Some(var) = var else {
                    return Err(Error::Shape {
                        variable: name.to_string(),
                        detail: "the guide's draws change their variables or shapes from \
                                 draw to draw"
                            .to_string(),
                    });
                };
                var.values.extend(values);
            }
        }
        Ok(Joint {
            chains: 1,
            draws: options.draws,
            vars,
            samples: None,
            inference: guide.kind(),
        })
    }
}

fn local_rows_error(name: &str, drawn: usize, rows: usize) -> Error {
    Error::Query {
        variable: name.to_string(),
        reason: format!(
            "its draws are on {drawn} rows and the data has {rows}: export the InferenceData \
             on the data of the fit"
        ),
    }
}

/// Adds the `chains x draws` draws of a `[rows, event]` variable to `group`, with ArviZ's
/// default dims (`{name}_dim_0` for the rows of a local variable, then the event's).
fn add_draws(
    group: &mut Group,
    name: &str,
    chains: usize,
    draws: usize,
    [rows, event]: [usize; 2],
    local: bool,
    values: Vec<f32>,
) -> Result<(), Error> {
    let mut dims = vec!["chain".to_string(), "draw".to_string()];
    let mut shape = vec![chains, draws];
    let mut axis = 0;
    if local {
        dims.push(format!("{name}_dim_{axis}"));
        shape.push(rows);
        axis += 1;
    }
    if event > 1 || (!local && rows > 1) {
        dims.push(format!("{name}_dim_{axis}"));
        shape.push(if local { event } else { rows * event });
    }
    group.add(name, dims, shape, values)?;
    Ok(())
}

/// ArviZ's `sample_stats`, named as ArviZ names them, per chain and draw.
fn sample_stats(group: &mut Group, s: &Samples) -> Result<(), Error> {
    let stats: Vec<_> = s.stats().iter().flatten().collect();
    let shape = vec![s.n_chains(), s.n_draws()];
    let dims = ["chain", "draw"];
    let f64s =
        |f: fn(&crate::DrawStats) -> f64| -> Vec<f64> { stats.iter().map(|x| f(x)).collect() };
    group.add(
        "diverging",
        dims,
        shape.clone(),
        stats.iter().map(|x| x.diverging).collect::<Vec<_>>(),
    )?;
    group.add(
        "reached_max_treedepth",
        dims,
        shape.clone(),
        stats
            .iter()
            .map(|x| x.max_depth_reached)
            .collect::<Vec<_>>(),
    )?;
    group.add(
        "tree_depth",
        dims,
        shape.clone(),
        stats.iter().map(|x| x.depth as i64).collect::<Vec<_>>(),
    )?;
    group.add(
        "n_steps",
        dims,
        shape.clone(),
        stats.iter().map(|x| x.steps as i64).collect::<Vec<_>>(),
    )?;
    group.add("step_size", dims, shape.clone(), f64s(|x| x.step_size))?;
    group.add("energy", dims, shape.clone(), f64s(|x| x.energy))?;
    group.add(
        "energy_error",
        dims,
        shape.clone(),
        f64s(|x| x.energy_error),
    )?;
    group.add("lp", dims, shape, f64s(|x| x.log_density))?;
    Ok(())
}

/// The attributes ArviZ's converters set on every group.
fn attrs(group: &mut Group, inference: &str) {
    group
        .set_attr("inference_library", "inferrs")
        .set_attr("inference_library_version", env!("CARGO_PKG_VERSION"))
        .set_attr("inference", inference);
}

impl From<inferrs_arviz::ArvizError> for Error {
    fn from(e: inferrs_arviz::ArvizError) -> Self {
        Error::InferenceData(e.to_string())
    }
}
