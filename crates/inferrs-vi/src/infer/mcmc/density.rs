//! What NUTS samples: the model's log-joint on one flat vector of the latent variables in
//! their unconstrained spaces, with its gradient from burn's autodiff.
//!
//! **Where the f32 model meets the f64 sampler.** nuts-rs keeps the position, the momentum
//! and the energy in `f64`. Each evaluation rounds the position to `f32`, runs the model on
//! burn's autodiff device (in `f32`, as every other inference does), and hands back the
//! log-joint and its gradient widened to `f64`. So the sampler's own arithmetic (the leapfrog,
//! the energy error, the adaptation) is `f64`, and the density is exact to `f32`: a relative
//! error of about `1e-7` of the log-joint, far below the energy errors NUTS acts on (it calls
//! a transition divergent at 1000).

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use inferrs_distributions::{Bijector, Rng};
use inferrs_tape::Tape;
use nuts_rs::{CpuLogpFunc, CpuMathError, HasDims, LogpError};
use rand::SeedableRng;

use crate::Error;
use crate::guide::LatentSite;
use crate::guide::auto_sites;
use crate::runtime::{Ctx, Handler, Unfilled, Values};

/// One latent variable's place in the flat vector.
#[derive(Clone, Debug)]
pub(crate) struct FlatSite {
    pub(crate) name: &'static str,
    /// `[rows, event]` of its value.
    pub(crate) shape: [usize; 2],
    /// `[rows, unconstrained event]`.
    pub(crate) free: [usize; 2],
    pub(crate) bijector: Bijector,
    /// Its first element in the flat vector.
    pub(crate) offset: usize,
}

impl FlatSite {
    /// Elements of it in the flat vector.
    pub(crate) fn len(&self) -> usize {
        self.free[0] * self.free[1]
    }
}

/// The latent variables laid out one after the other, each row-major in its unconstrained
/// space.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub(crate) sites: Vec<FlatSite>,
    pub(crate) dim: usize,
}

impl Layout {
    /// The layout of `latents`, in the order the model visits them.
    ///
    /// # Errors
    /// [`Error::Guide`] naming a discrete variable (NUTS moves in a continuous space) or a
    /// support without a bijector.
    pub(crate) fn new(latents: &[LatentSite]) -> Result<Self, Error> {
        // The automatic guides' unconstrained spaces, with NUTS's own word for what it
        // cannot sample.
        if let Some(l) = latents.iter().find(|l| l.support.is_discrete()) {
            return Err(Error::Guide {
                guide: "NUTS",
                variable: l.name.to_string(),
                reason: format!(
                    "it is discrete ({:?}): NUTS samples continuous variables only; observe \
                     it, or marginalise it out of the model",
                    l.support
                ),
            });
        }
        let mut offset = 0;
        let sites = auto_sites("NUTS", latents)?
            .into_iter()
            .map(|a| {
                let site = FlatSite {
                    name: a.name,
                    shape: a.shape,
                    free: a.free,
                    bijector: a.bijector,
                    offset,
                };
                offset += site.len();
                site
            })
            .collect();
        Ok(Self { sites, dim: offset })
    }

    /// The constrained values of `positions` (`n` flat vectors one after the other), by
    /// site: `n` values of `[rows, event]` each, row-major, one after the other.
    ///
    /// # Errors
    /// [`Error::Device`] when a tensor cannot be read back.
    pub(crate) fn constrain(
        &self,
        positions: &[f64],
        n: usize,
        device: &Device,
    ) -> Result<Vec<Vec<f32>>, Error> {
        self.sites
            .iter()
            .map(|site| {
                let free: Vec<f32> = (0..n)
                    .flat_map(|i| {
                        let start = i * self.dim + site.offset;
                        positions[start..start + site.len()]
                            .iter()
                            .map(|&u| u as f32)
                    })
                    .collect();
                let u = Tensor::<2>::from_data(
                    TensorData::new(free, [n * site.free[0], site.free[1]]),
                    device,
                );
                site.bijector
                    .forward(u)
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .map_err(|e| Error::Device(format!("{e:?}")))
            })
            .collect()
    }
}

/// Why an evaluation of the log-joint gave no number.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DensityError {
    /// The log-joint or its gradient is NaN or infinite there: a divergence.
    #[error("the log-density is not finite there (it is {0})")]
    NonFinite(f64),
    /// The model refused the position (a distribution built from the values there is
    /// invalid): also a divergence.
    #[error("{0}")]
    Refused(Error),
    /// The model failed in a way no position avoids (a shape error): sampling stops.
    #[error("{0}")]
    Model(Error),
}

impl LogpError for DensityError {
    fn is_recoverable(&self) -> bool {
        !matches!(self, DensityError::Model(_))
    }
}

/// The log-joint `log p(data, T(u)) + log |det dT/du|` of a model at a flat unconstrained
/// `u`, with its gradient: the conditioned data and the draw substituted, the model's
/// parameters held at their values (NUTS samples latent variables; a network's weights are
/// sampled when the model lifts them, [`Model::lift`](crate::Model::lift)).
pub(crate) struct LogJoint<'m, P, F> {
    f: &'m F,
    /// The model's parameters on the autodiff device, not tracked.
    params: P,
    /// The data on the autodiff device.
    observed: Values,
    rows: usize,
    layout: &'m Layout,
    device: Device,
    /// The model's run draws nothing (every latent is substituted); a context needs a stream.
    rng: Rng,
    /// The same log-joint compiled, replayed in place of burn's autodiff when present.
    tape: Option<Tape>,
}

impl<'m, P, F> LogJoint<'m, P, F>
where
    P: Module,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    /// The log-joint of the model `f` with parameters `params` (off autodiff) given
    /// `observed` (`rows` rows, on the autodiff `device`).
    pub(crate) fn new(
        f: &'m F,
        params: &P,
        (observed, rows): (Values, usize),
        layout: &'m Layout,
        device: Device,
    ) -> Self {
        Self {
            f,
            params: params.clone().train().no_grad(),
            observed,
            rows,
            layout,
            device,
            rng: Rng::seed_from_u64(0),
            tape: None,
        }
    }

    /// The log-joint at `position`, its gradient written into `grad`: by the model's tape
    /// when it has one ([`LogJoint::with_tape`]), by burn's autodiff otherwise.
    ///
    /// # Errors
    /// [`DensityError::NonFinite`] when the value or the gradient is not finite;
    /// [`DensityError::Refused`] when a distribution cannot be built there;
    /// [`DensityError::Model`] for any other error of the model function.
    pub(crate) fn value_and_grad(
        &mut self,
        position: &[f64],
        grad: &mut [f64],
    ) -> Result<f64, DensityError> {
        let value = match &mut self.tape {
            Some(tape) => tape.value_and_grad(position, grad),
            None => self.autodiff_value_and_grad(position, grad)?,
        };
        if !value.is_finite() {
            return Err(DensityError::NonFinite(value));
        }
        if let Some(bad) = grad.iter().find(|g| !g.is_finite()) {
            return Err(DensityError::NonFinite(*bad));
        }
        Ok(value)
    }

    /// Evaluations from now on replay `tape`, the same log-joint compiled
    /// ([`super::compiled`]).
    pub(crate) fn with_tape(mut self, tape: Option<Tape>) -> Self {
        self.tape = tape;
        self
    }

    /// [`LogJoint::value_and_grad`] by burn's autodiff, whatever the tape.
    pub(crate) fn autodiff_value_and_grad(
        &mut self,
        position: &[f64],
        grad: &mut [f64],
    ) -> Result<f64, DensityError> {
        let leaves: Vec<Tensor<2>> = self
            .layout
            .sites
            .iter()
            .map(|site| {
                let u: Vec<f32> = position[site.offset..site.offset + site.len()]
                    .iter()
                    .map(|&u| u as f32)
                    .collect();
                Tensor::<2>::from_data(TensorData::new(u, site.free), &self.device).require_grad()
            })
            .collect();
        let Some(total) = log_joint_tensor(
            self.f,
            &self.params,
            (&self.observed, self.rows),
            self.layout,
            &leaves,
            &self.device,
            &mut self.rng,
        )?
        else {
            return Ok(0.0);
        };
        let value = total
            .clone()
            .try_into_scalar::<f32>()
            .map_or(f64::NAN, f64::from);
        if !value.is_finite() {
            return Err(DensityError::NonFinite(value));
        }
        let grads = total.backward();
        for (site, leaf) in self.layout.sites.iter().zip(&leaves) {
            let out = &mut grad[site.offset..site.offset + site.len()];
            match leaf.grad(&grads) {
                Some(g) => {
                    let g = g
                        .into_data()
                        .convert::<f32>()
                        .try_to_vec::<f32>()
                        .map_err(|e| DensityError::Model(Error::Device(format!("{e:?}"))))?;
                    for (o, g) in out.iter_mut().zip(g) {
                        *o = f64::from(g);
                    }
                }
                // The log-joint does not depend on it (a variable the model never reads).
                None => out.fill(0.0),
            }
        }
        Ok(value)
    }
}

/// The log-joint as one tensor on the leaves' device: `leaves` are the sites' unconstrained
/// values (`[rows, unconstrained event]` each, in the layout's order), mapped onto their
/// supports with their log-Jacobians, the data in `observed` conditioned on. `None` when the
/// model has no site. The same code builds burn's autodiff graph and the graph the tape is
/// captured from.
///
/// # Errors
/// [`DensityError::Refused`] when a distribution cannot be built; [`DensityError::Model`]
/// for any other error of the model function, and for a Bayesian layer.
pub(crate) fn log_joint_tensor<P, F>(
    f: &F,
    params: &P,
    (observed, rows): (&Values, usize),
    layout: &Layout,
    leaves: &[Tensor<2>],
    device: &Device,
    rng: &mut Rng,
) -> Result<Option<Tensor<1>>, DensityError>
where
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    let mut values = Values::new();
    let mut log_det: Option<Tensor<1>> = None;
    for (site, u) in layout.sites.iter().zip(leaves) {
        // The identity's log-Jacobian is 0: no node for it.
        if site.bijector != Bijector::Identity {
            let jac = site.bijector.log_abs_det_jacobian(u.clone()).sum();
            log_det = Some(match log_det {
                Some(total) => total + jac,
                None => jac,
            });
        }
        values.insert(site.name.to_string(), site.bijector.forward(u.clone()));
    }
    let mut ctx = Ctx::new(rows, device.clone(), rng, Unfilled::RequireGuide)
        .with(Handler::Condition(observed))
        .with(Handler::Substitute(&values));
    f(params, &mut ctx).map_err(|e| match e {
        Error::Distribution { .. } => DensityError::Refused(e),
        e => DensityError::Model(e),
    })?;
    let trace = ctx.into_trace();
    if let Some(layer) = trace.layer_kls().first() {
        return Err(DensityError::Model(Error::BayesianLayer {
            layer: layer.layer.clone(),
            reason: "its weights are a distribution the layer holds, not latent variables \
                     that NUTS can sample; for MCMC, lift a plain layer into latent \
                     variables with `Model::lift`"
                .to_string(),
        }));
    }
    let mut total = log_det;
    for site in trace {
        let term = site.log_prob().sum();
        total = Some(match total {
            Some(t) => t + term,
            None => term,
        });
    }
    Ok(total)
}

/// nuts-rs's view of a [`LogJoint`].
pub(crate) struct NutsDensity<'m, P, F>(pub(crate) LogJoint<'m, P, F>);

impl<P, F> HasDims for NutsDensity<'_, P, F> {
    fn dim_sizes(&self) -> std::collections::HashMap<String, u64> {
        let dim = self.0.layout.dim as u64;
        [
            ("unconstrained_parameter".to_string(), dim),
            ("expanded_parameter".to_string(), dim),
        ]
        .into()
    }
}

impl<P, F> CpuLogpFunc for NutsDensity<'_, P, F>
where
    P: Module,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    type LogpError = DensityError;
    type FlowParameters = ();
    type ExpandedVector = Vec<f64>;

    fn dim(&self) -> usize {
        self.0.layout.dim
    }

    fn logp(&mut self, position: &[f64], grad: &mut [f64]) -> Result<f64, DensityError> {
        self.0.value_and_grad(position, grad)
    }

    fn expand_vector<R>(&mut self, _rng: &mut R, array: &[f64]) -> Result<Vec<f64>, CpuMathError>
    where
        R: nuts_rs::rand::Rng + ?Sized,
    {
        // The draws are mapped onto their supports once, after sampling (`Layout::constrain`).
        Ok(array.to_vec())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use burn::tensor::{Device, Tensor, TensorData};
    use inferrs_distributions::{HalfCauchy, Normal, Support};

    use super::*;

    pub(crate) fn column(values: &[f32], device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values.to_vec(), [values.len(), 1]), device)
    }

    pub(crate) fn latent(name: &'static str, rows: usize, support: Support) -> LatentSite {
        LatentSite {
            name,
            shape: [rows, 1],
            local: rows > 1,
            support,
            prior: Vec::new(),
            seed: 0,
        }
    }

    /// A model without trainable parameters.
    pub(crate) type NoParams = Vec<crate::Parameter>;

    /// Eight schools, non-centred: a real, a positive (softplus, with its log-Jacobian) and
    /// a local variable.
    pub(crate) fn schools(_: &NoParams, ctx: &mut Ctx<'_>) -> Result<(), Error> {
        let mu = ctx.sample_global("mu", Normal::new(0.0, 5.0))?;
        let tau = ctx.sample_global("tau", HalfCauchy::new(5.0))?;
        let sigma = ctx.input("sigma")?;
        let theta = ctx.sample("theta_t", Normal::new(0.0, 1.0))?;
        ctx.sample("y", Normal::new(mu + tau * theta, sigma))?;
        Ok(())
    }

    /// `(f(x + h e_i) - f(x - h e_i)) / 2h` for each coordinate `i` of `x`.
    pub(crate) fn central_differences(
        mut f: impl FnMut(&[f64]) -> f64,
        x: &[f64],
        h: f64,
    ) -> Vec<f64> {
        (0..x.len())
            .map(|i| {
                let mut at = |d: f64| {
                    let mut p = x.to_vec();
                    p[i] += d;
                    f(&p)
                };
                (at(h) - at(-h)) / (2.0 * h)
            })
            .collect()
    }

    /// Eight schools' data on `device`, with its layout.
    pub(crate) fn schools_data(device: &Device) -> (Values, Layout) {
        let observed: Values = [
            (
                "y".to_string(),
                column(&[28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0], device),
            ),
            (
                "sigma".to_string(),
                column(&[15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0], device),
            ),
        ]
        .into();
        let latents = [
            latent("mu", 1, Support::Real),
            latent("tau", 1, Support::Positive),
            latent("theta_t", 8, Support::Real),
        ];
        (observed, Layout::new(&latents).unwrap())
    }

    /// The gradient of the log-joint matches central finite differences of its value, to
    /// `2e-3 (1 + |g|)`: the differences are of `f32` evaluations (rounding about `1e-6` of a
    /// log-joint near 40, over `2h = 2e-2`) with a truncation error of order `h^2`.
    #[test]
    fn the_gradient_matches_finite_differences() {
        let device = Device::flex().autodiff();
        let (observed, layout) = schools_data(&device);
        assert_eq!(layout.dim, 10);
        let mut density = LogJoint::new(&schools, &NoParams::new(), (observed, 8), &layout, device);
        let position: Vec<f64> = (0..10).map(|i| 0.3 * (i as f64) - 1.2).collect();
        let mut grad = vec![0.0f64; 10];
        let value = density.value_and_grad(&position, &mut grad).unwrap();
        assert!(value.is_finite());
        let value_at = |p: &[f64]| density.value_and_grad(p, &mut [0.0; 10]).unwrap();
        let fd = central_differences(value_at, &position, 1e-2);
        for (i, fd) in fd.into_iter().enumerate() {
            assert!(
                (grad[i] - fd).abs() < 2e-3 * (1.0 + grad[i].abs()),
                "element {i}: autodiff {} vs finite differences {fd}",
                grad[i]
            );
        }
    }

    /// The value is the closed form: `ln N(mu | 0, 10) + sum ln N(y | mu, 2)` for the
    /// Normal-Normal, whose real latent has no Jacobian; within `1e-5` relative (f32).
    #[test]
    fn the_value_is_the_log_joint() {
        let device = Device::flex().autodiff();
        let ys = [1.0f32, 2.5, -0.5];
        let observed: Values = [("y".to_string(), column(&ys, &device))].into();
        let f = |_: &NoParams, ctx: &mut Ctx<'_>| -> Result<(), Error> {
            let mu = ctx.sample_global("mu", Normal::new(0.0, 10.0))?;
            ctx.sample("y", Normal::new(mu, 2.0))?;
            Ok(())
        };
        let latents = [latent("mu", 1, Support::Real)];
        let layout = Layout::new(&latents).unwrap();
        let mut density = LogJoint::new(&f, &NoParams::new(), (observed, 3), &layout, device);
        let mu = 0.7;
        let mut grad = [0.0];
        let got = density.value_and_grad(&[mu], &mut grad).unwrap();
        let ln = |x: f64, m: f64, s: f64| {
            -0.5 * ((x - m) / s).powi(2) - s.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
        };
        let want = ln(mu, 0.0, 10.0) + ys.iter().map(|&y| ln(f64::from(y), mu, 2.0)).sum::<f64>();
        assert!((got - want).abs() < 1e-5 * want.abs(), "{got} vs {want}");
        let dwant = -mu / 100.0 + ys.iter().map(|&y| (f64::from(y) - mu) / 4.0).sum::<f64>();
        assert!((grad[0] - dwant).abs() < 1e-5, "{} vs {dwant}", grad[0]);
    }
}
