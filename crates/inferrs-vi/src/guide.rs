//! Guides (q-models): what `fit` draws the latent variables from. [`QModel`] is written by the
//! user with `qmodel!`; [`AutoNormal`], [`AutoDelta`] and [`AutoMultivariateNormal`] build
//! themselves from the model's latent variables.

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use indexmap::IndexMap;
use inferrs_distributions::{Bijector, Distribution, Normal, Rng, Support};
use inferrs_graph::Graph;
use rand_distr::{Distribution as _, StandardNormal};

use crate::ctx::{Ctx, Mode};
use crate::{Error, Parameter};

/// A latent variable of a model: a random variable that the data does not give, as found by a
/// run of the model at the start of `fit`.
#[derive(Clone, Debug)]
pub struct LatentSite {
    /// The variable's name.
    pub name: &'static str,
    /// The shape of its value, `[rows, event]` (`rows` is 1 for a global variable).
    pub shape: [usize; 2],
    /// Whether it is local (one value per data row).
    pub local: bool,
    /// The support of its distribution in the model.
    pub support: Support,
}

/// One latent variable drawn by a guide.
#[derive(Clone, Debug)]
pub struct GuideDraw {
    /// The drawn value, `[rows, event]`.
    pub value: Tensor<2>,
    /// `log q(value)`, `[rows]` (or `[1]` for a joint density of several variables; only the
    /// sum over all draws enters the ELBO).
    pub log_q: Tensor<1>,
    /// Whether `value` carries the gradient of the guide's parameters (a reparameterised draw).
    /// Draws that do not get a score-function gradient in the ELBO.
    pub reparameterized: bool,
    /// The guide's distribution of the value when it is a Normal (for the closed-form KL).
    pub normal: Option<Normal>,
}

/// The draws of one run of a guide, by variable name.
pub type GuideTrace = IndexMap<&'static str, GuideDraw>;

/// A guide: a distribution `q` over a model's latent variables with trainable parameters.
///
/// `fit` calls [`prepare`](Guide::prepare) once, then per particle [`draw`](Guide::draw), and
/// per epoch [`step`](Guide::step) with the gradients of the negative ELBO.
pub trait Guide: Send {
    /// A short name for messages, e.g. `"AutoNormal"`.
    fn kind(&self) -> &'static str;

    /// Fits the guide to the model's latent variables: an automatic guide creates its
    /// parameters (keeping those of an earlier fit of the same variables); a q-model checks that
    /// it draws exactly these variables.
    ///
    /// # Arguments
    /// * `latents` - the model's latent variables.
    /// * `observed` - the data of the fit (on `device`).
    /// * `rows` - its number of rows.
    /// * `device` - the device of the model's parameters (without autodiff).
    ///
    /// # Errors
    /// A latent variable the guide cannot draw, or a guide variable that is not latent, each
    /// naming the variable.
    fn prepare(
        &mut self,
        latents: &[LatentSite],
        observed: &IndexMap<String, Tensor<2>>,
        rows: usize,
        device: &Device,
    ) -> Result<(), Error>;

    /// One draw of every latent variable the guide covers for data with `rows` rows.
    ///
    /// An automatic guide leaves out a local variable when `rows` differs from the rows it was
    /// fitted on (the model then draws it from its prior).
    ///
    /// # Errors
    /// Any error of a q-model's function.
    fn draw(
        &self,
        observed: &IndexMap<String, Tensor<2>>,
        rows: usize,
        device: &Device,
        rng: &mut Rng,
    ) -> Result<GuideTrace, Error>;

    /// One optimizer step of the guide's parameters with their gradients in `grads`.
    fn step(&mut self, optimizer: &mut ModuleOptimizer, lr: f64, grads: &mut Gradients);

    /// Moves the parameters to the autodiff device, tracked (before a fit).
    fn train(&mut self);

    /// Moves the parameters off autodiff (after a fit).
    fn valid(&mut self);

    /// Remembers the current parameters (the last ones with a finite loss).
    fn checkpoint(&mut self);

    /// Restores the parameters of the last [`checkpoint`](Guide::checkpoint).
    fn rollback(&mut self);

    /// The guide as `Any`, to reach its own methods after a fit:
    /// `model.guide().and_then(|g| g.as_any().downcast_ref::<AutoNormal>())`.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// A q-model written with `qmodel!`: parameters, and a function drawing the latent variables.
///
/// Its random variables are matched to the model's latent variables by name; a variable of the
/// q-model that the data gives is an input (as InferPy's amortised q-models take `x`).
pub struct QModel<P, F> {
    graph: Graph,
    params: P,
    saved: Option<P>,
    f: F,
}

impl<P, F> QModel<P, F>
where
    P: Module + 'static,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error> + Send + 'static,
{
    /// Assembles a q-model; `qmodel!` calls this.
    pub fn new(graph: Graph, params: P, f: F) -> Self {
        Self {
            graph,
            params,
            saved: None,
            f,
        }
    }

    /// The q-model's graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Its trainable parameters.
    pub fn params(&self) -> &P {
        &self.params
    }

    fn run(
        &self,
        observed: &IndexMap<String, Tensor<2>>,
        rows: usize,
        device: &Device,
        rng: &mut Rng,
    ) -> Result<GuideTrace, Error> {
        let mut ctx = Ctx::new(Mode::Guide, observed, rows, device.clone(), rng);
        (self.f)(&self.params, &mut ctx)?;
        let mut trace = GuideTrace::new();
        for site in ctx.into_sites() {
            if site.observed {
                continue;
            }
            let log_q = site.log_prob.ok_or_else(|| Error::Shape {
                variable: site.name.to_string(),
                detail: "the q-model did not score its draw".to_string(),
            })?;
            trace.insert(
                site.name,
                GuideDraw {
                    value: site.value,
                    log_q,
                    reparameterized: site.reparameterized,
                    normal: site.normal,
                },
            );
        }
        Ok(trace)
    }
}

impl<P, F> Guide for QModel<P, F>
where
    P: Module + 'static,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error> + Send + 'static,
{
    fn kind(&self) -> &'static str {
        "q-model"
    }

    fn prepare(
        &mut self,
        latents: &[LatentSite],
        observed: &IndexMap<String, Tensor<2>>,
        rows: usize,
        device: &Device,
    ) -> Result<(), Error> {
        let mut rng = <Rng as rand::SeedableRng>::seed_from_u64(0);
        let trace = self.run(observed, rows, device, &mut rng)?;
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

    fn draw(
        &self,
        observed: &IndexMap<String, Tensor<2>>,
        rows: usize,
        device: &Device,
        rng: &mut Rng,
    ) -> Result<GuideTrace, Error> {
        self.run(observed, rows, device, rng)
    }

    fn step(&mut self, optimizer: &mut ModuleOptimizer, lr: f64, grads: &mut Gradients) {
        let g = GradientsParams::from_module(grads, &self.params);
        self.params = optimizer.step(lr, self.params.clone(), g);
    }

    fn train(&mut self) {
        self.params = self.params.clone().train();
    }

    fn valid(&mut self) {
        self.params = self.params.valid();
    }

    fn checkpoint(&mut self) {
        self.saved = Some(self.params.clone());
    }

    fn rollback(&mut self) {
        if let Some(saved) = self.saved.take() {
            self.params = saved;
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn names(latents: &[LatentSite]) -> String {
    if latents.is_empty() {
        return "none".to_string();
    }
    latents
        .iter()
        .map(|l| l.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `softplus^-1(s) = ln(exp(s) - 1)`, stable for large `s`.
fn inverse_softplus(s: f64) -> f64 {
    s + (-(-s).exp_m1()).ln()
}

/// One latent variable as an automatic guide sees it.
#[derive(Clone, Debug)]
struct AutoSite {
    name: &'static str,
    shape: [usize; 2],
    /// `[rows, unconstrained event]`.
    free: [usize; 2],
    bijector: Bijector,
    local: bool,
}

/// The automatic guides' sites for `latents`, with a bijector from the real line onto each
/// support.
fn auto_sites(kind: &'static str, latents: &[LatentSite]) -> Result<Vec<AutoSite>, Error> {
    latents
        .iter()
        .map(|l| {
            if l.support.is_discrete() {
                return Err(Error::Guide {
                    guide: kind,
                    variable: l.name.to_string(),
                    reason: format!(
                        "it is discrete ({:?}) and cannot be fitted in a continuous space: \
                         write a q-model for it (qmodel!), whose draws get a score-function \
                         gradient",
                        l.support
                    ),
                });
            }
            let bijector = Bijector::for_support(&l.support).map_err(|e| Error::Guide {
                guide: kind,
                variable: l.name.to_string(),
                reason: e.to_string(),
            })?;
            let [rows, event] = l.shape;
            Ok(AutoSite {
                name: l.name,
                shape: l.shape,
                free: [rows, bijector.unconstrained_size(event)],
                bijector,
                local: l.local,
            })
        })
        .collect()
}

/// Whether the prepared sites are those of `latents` (then an earlier fit's parameters are
/// kept: fitting again continues).
fn same_sites(sites: &[AutoSite], latents: &[LatentSite]) -> bool {
    sites.len() == latents.len()
        && sites
            .iter()
            .zip(latents)
            .all(|(s, l)| s.name == l.name && s.shape == l.shape)
}

/// The sites drawn for a run with `rows` rows, with their indices: every global one, and the
/// local ones only when `rows` are the rows of the fit.
fn covered(sites: &[AutoSite], rows: usize) -> impl Iterator<Item = (usize, &AutoSite)> {
    sites
        .iter()
        .enumerate()
        .filter(move |(_, s)| !s.local || s.shape[0] == rows)
}

/// Standard normal noise `[rows, cols]` from the host stream.
fn std_normal(shape: [usize; 2], device: &Device, rng: &mut Rng) -> Tensor<2> {
    let eps: Vec<f32> = (0..shape[0] * shape[1])
        .map(|_| {
            let e: f64 = StandardNormal.sample(rng);
            e as f32
        })
        .collect();
    Tensor::<2>::from_data(TensorData::new(eps, shape), device)
}

#[derive(Module, Debug)]
struct LocScale {
    locs: Vec<Parameter>,
    scales: Vec<Parameter>,
}

/// The mean-field automatic guide: an independent Normal per element of every latent
/// variable, in an unconstrained space mapped onto the variable's support by a bijector
/// (`Bijector::for_support`: softplus for positive variables, sigmoid for the unit interval,
/// stick-breaking for the simplex), with the log-det-Jacobian in `log q`.
///
/// As Pyro's `AutoNormal`: locations start at 0 in the unconstrained space, scales at
/// [`AutoNormal::init_scale`] (0.1), kept positive by softplus. Local variables get one
/// Normal per data row.
#[derive(Debug)]
pub struct AutoNormal {
    init_scale: f64,
    sites: Vec<AutoSite>,
    params: Option<LocScale>,
    saved: Option<LocScale>,
}

impl Default for AutoNormal {
    fn default() -> Self {
        Self {
            init_scale: 0.1,
            sites: Vec::new(),
            params: None,
            saved: None,
        }
    }
}

impl AutoNormal {
    /// The initial standard deviation of every Normal (default 0.1).
    pub fn init_scale(mut self, scale: f64) -> Self {
        self.init_scale = scale;
        self
    }

    /// The fitted location and scale of `name` in the unconstrained space, on the host
    /// (row-major `[rows, event]`), or `None` before a fit or for an unknown name.
    pub fn loc_scale(&self, name: &str) -> Option<(Vec<f32>, Vec<f32>)> {
        let i = self.sites.iter().position(|s| s.name == name)?;
        let p = self.params.as_ref()?;
        let loc = p.locs[i]
            .val()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .ok()?;
        let scale = crate::parameter::softplus(p.scales[i].val())
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .ok()?;
        Some((loc, scale))
    }
}

fn check_init_scale(kind: &'static str, scale: f64) -> Result<(), Error> {
    if scale.is_finite() && scale > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidOption {
            option: kind,
            reason: format!("init_scale must be positive and finite, got {scale}"),
        })
    }
}

macro_rules! module_guide_methods {
    () => {
        fn step(&mut self, optimizer: &mut ModuleOptimizer, lr: f64, grads: &mut Gradients) {
            if let Some(params) = self.params.take() {
                let g = GradientsParams::from_module(grads, &params);
                self.params = Some(optimizer.step(lr, params, g));
            }
        }

        fn train(&mut self) {
            self.params = self.params.take().map(Module::train);
        }

        fn valid(&mut self) {
            self.params = self.params.as_ref().map(Module::valid);
        }

        fn checkpoint(&mut self) {
            self.saved = self.params.clone();
        }

        fn rollback(&mut self) {
            if let Some(saved) = self.saved.take() {
                self.params = Some(saved);
            }
        }

        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    };
}

impl Guide for AutoNormal {
    fn kind(&self) -> &'static str {
        "AutoNormal"
    }

    fn prepare(
        &mut self,
        latents: &[LatentSite],
        _observed: &IndexMap<String, Tensor<2>>,
        _rows: usize,
        device: &Device,
    ) -> Result<(), Error> {
        check_init_scale("AutoNormal", self.init_scale)?;
        if self.params.is_some() && same_sites(&self.sites, latents) {
            return Ok(());
        }
        self.sites = auto_sites(self.kind(), latents)?;
        let raw = inverse_softplus(self.init_scale);
        let (locs, scales) = self
            .sites
            .iter()
            .map(|s| {
                (
                    Parameter::from_tensor(Tensor::zeros(s.free, device)),
                    Parameter::from_tensor(Tensor::full(s.free, raw, device)),
                )
            })
            .unzip();
        self.params = Some(LocScale { locs, scales });
        Ok(())
    }

    fn draw(
        &self,
        _observed: &IndexMap<String, Tensor<2>>,
        rows: usize,
        device: &Device,
        rng: &mut Rng,
    ) -> Result<GuideTrace, Error> {
        let mut trace = GuideTrace::new();
        let Some(p) = &self.params else {
            return Ok(trace);
        };
        for (i, site) in covered(&self.sites, rows) {
            let loc = p.locs[i].val();
            let scale = crate::parameter::softplus(p.scales[i].val());
            let q = Normal::new(loc, scale).map_err(|source| Error::Distribution {
                variable: site.name.to_string(),
                source,
            })?;
            let u = q.sample(site.free[0], device, rng);
            let log_q = q.log_prob(u.clone());
            let identity = matches!(site.bijector, Bijector::Identity);
            let (value, log_q) = if identity {
                (u, log_q)
            } else {
                let jac = site.bijector.log_abs_det_jacobian(u.clone());
                (site.bijector.forward(u), log_q - jac)
            };
            trace.insert(
                site.name,
                GuideDraw {
                    value,
                    log_q,
                    reparameterized: true,
                    normal: identity.then_some(q),
                },
            );
        }
        Ok(trace)
    }

    module_guide_methods!();
}

#[derive(Module, Debug)]
struct Points {
    locs: Vec<Parameter>,
}

/// The MAP guide: a point (a Dirac delta) per latent variable, so fitting maximises the log
/// joint `log p(data, z)` over `z` (`log q` is 0). Points live in the unconstrained space and
/// start at 0 there (the bijector maps them onto the support).
#[derive(Debug, Default)]
pub struct AutoDelta {
    sites: Vec<AutoSite>,
    params: Option<Points>,
    saved: Option<Points>,
}

impl AutoDelta {
    /// The fitted point of `name` (in the variable's own space), on the host.
    pub fn point(&self, name: &str) -> Option<Vec<f32>> {
        let i = self.sites.iter().position(|s| s.name == name)?;
        let p = self.params.as_ref()?;
        self.sites[i]
            .bijector
            .forward(p.locs[i].val())
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .ok()
    }
}

impl Guide for AutoDelta {
    fn kind(&self) -> &'static str {
        "AutoDelta"
    }

    fn prepare(
        &mut self,
        latents: &[LatentSite],
        _observed: &IndexMap<String, Tensor<2>>,
        _rows: usize,
        device: &Device,
    ) -> Result<(), Error> {
        if self.params.is_some() && same_sites(&self.sites, latents) {
            return Ok(());
        }
        self.sites = auto_sites(self.kind(), latents)?;
        let locs = self
            .sites
            .iter()
            .map(|s| Parameter::from_tensor(Tensor::zeros(s.free, device)))
            .collect();
        self.params = Some(Points { locs });
        Ok(())
    }

    fn draw(
        &self,
        _observed: &IndexMap<String, Tensor<2>>,
        rows: usize,
        device: &Device,
        _rng: &mut Rng,
    ) -> Result<GuideTrace, Error> {
        let mut trace = GuideTrace::new();
        let Some(p) = &self.params else {
            return Ok(trace);
        };
        for (i, site) in covered(&self.sites, rows) {
            trace.insert(
                site.name,
                GuideDraw {
                    value: site.bijector.forward(p.locs[i].val()),
                    log_q: Tensor::zeros([site.shape[0]], device),
                    reparameterized: true,
                    normal: None,
                },
            );
        }
        Ok(trace)
    }

    module_guide_methods!();
}

#[derive(Module, Debug)]
struct FullRank {
    loc: Parameter,
    /// Lower triangle of the scale matrix; its diagonal goes through softplus.
    tril: Parameter,
}

/// The full-rank automatic guide: one multivariate Normal over all latent variables together
/// (flattened in the order the model declares them), in the unconstrained space, with a
/// lower-triangular scale matrix `L` (diagonal kept positive by softplus, starting at
/// `init_scale` 0.1, off-diagonal at 0). It captures posterior correlations that
/// [`AutoNormal`] cannot.
///
/// It covers global variables only (a local variable would make the matrix grow with the
/// square of the data).
#[derive(Debug)]
pub struct AutoMultivariateNormal {
    init_scale: f64,
    sites: Vec<AutoSite>,
    params: Option<FullRank>,
    saved: Option<FullRank>,
}

impl Default for AutoMultivariateNormal {
    fn default() -> Self {
        Self {
            init_scale: 0.1,
            sites: Vec::new(),
            params: None,
            saved: None,
        }
    }
}

impl AutoMultivariateNormal {
    /// The initial standard deviation of every coordinate (default 0.1).
    pub fn init_scale(mut self, scale: f64) -> Self {
        self.init_scale = scale;
        self
    }

    fn dim(&self) -> usize {
        self.sites.iter().map(|s| s.free[0] * s.free[1]).sum()
    }

    /// The fitted mean (unconstrained space, `[D]`) and covariance `L L^T` (`[D, D]`, row-major)
    /// of the flattened latent variables, on the host.
    pub fn loc_covariance(&self) -> Option<(Vec<f32>, Vec<f32>)> {
        let p = self.params.as_ref()?;
        let l = scale_tril(&p.tril.val());
        let cov = l.clone().matmul(l.transpose());
        let loc = p
            .loc
            .val()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .ok()?;
        Some((
            loc,
            cov.into_data().convert::<f32>().try_to_vec::<f32>().ok()?,
        ))
    }
}

/// `L` from the raw lower triangle: strictly lower part as is, softplus on the diagonal.
fn scale_tril(raw: &Tensor<2>) -> Tensor<2> {
    let [d, _] = raw.dims();
    let device = raw.device();
    let eye = Tensor::<2>::eye(d, &device);
    let strict = Tensor::<2>::ones([d, d], &device).tril(-1);
    raw.clone() * strict + crate::parameter::softplus(raw.clone()) * eye
}

impl Guide for AutoMultivariateNormal {
    fn kind(&self) -> &'static str {
        "AutoMultivariateNormal"
    }

    fn prepare(
        &mut self,
        latents: &[LatentSite],
        _observed: &IndexMap<String, Tensor<2>>,
        _rows: usize,
        device: &Device,
    ) -> Result<(), Error> {
        check_init_scale("AutoMultivariateNormal", self.init_scale)?;
        if let Some(local) = latents.iter().find(|l| l.local) {
            return Err(Error::Guide {
                guide: "AutoMultivariateNormal",
                variable: local.name.to_string(),
                reason: "it is local (one value per data row); this guide covers global \
                         variables: use AutoNormal or a q-model"
                    .to_string(),
            });
        }
        if self.params.is_some() && same_sites(&self.sites, latents) {
            return Ok(());
        }
        self.sites = auto_sites(self.kind(), latents)?;
        let d = self.dim();
        let raw = inverse_softplus(self.init_scale);
        let tril = Tensor::<2>::eye(d, device).mul_scalar(raw);
        self.params = Some(FullRank {
            loc: Parameter::from_tensor(Tensor::zeros([1, d], device)),
            tril: Parameter::from_tensor(tril),
        });
        Ok(())
    }

    fn draw(
        &self,
        _observed: &IndexMap<String, Tensor<2>>,
        _rows: usize,
        device: &Device,
        rng: &mut Rng,
    ) -> Result<GuideTrace, Error> {
        let mut trace = GuideTrace::new();
        let Some(p) = &self.params else {
            return Ok(trace);
        };
        let d = self.dim();
        if d == 0 {
            return Ok(trace);
        }
        let l = scale_tril(&p.tril.val());
        let eps = std_normal([1, d], device, rng);
        let u = p.loc.val() + eps.clone().matmul(l.clone().transpose());
        // log N(u; loc, L L^T) = sum log N(eps; 0, 1) - sum log diag(L).
        let log_diag = (l * Tensor::<2>::eye(d, device)).sum_dim(1).log().sum();
        let log_q = eps.square().sum().mul_scalar(-0.5)
            - log_diag
            - (d as f64) * 0.5 * (2.0 * std::f64::consts::PI).ln();
        let mut offset = 0;
        for (i, site) in self.sites.iter().enumerate() {
            let n = site.free[0] * site.free[1];
            let part = u
                .clone()
                .slice([0..1, offset..offset + n])
                .reshape(site.free);
            offset += n;
            let jac = site.bijector.log_abs_det_jacobian(part.clone()).sum();
            // The joint log q is carried by the first variable; the Jacobians by each.
            let site_log_q = if i == 0 { log_q.clone() - jac } else { -jac };
            trace.insert(
                site.name,
                GuideDraw {
                    value: site.bijector.forward(part),
                    log_q: site_log_q,
                    reparameterized: true,
                    normal: None,
                },
            );
        }
        Ok(trace)
    }

    module_guide_methods!();
}
