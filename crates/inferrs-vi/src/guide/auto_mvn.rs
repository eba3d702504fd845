//! [`AutoMultivariateNormal`]: the full-rank automatic guide.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use inferrs_distributions::Rng;

use super::sites::{
    AutoSite, auto_sites, check_init_scale, inverse_softplus, same_sites, std_normal,
};
use super::{Guide, GuideDraw, GuideTrace, Init, LatentSite, Rows, downcast};
use crate::runtime::{DynModule, Values};
use crate::{Error, Parameter};

#[derive(Module, Debug)]
pub(crate) struct FullRank {
    loc: Parameter,
    /// Lower triangle of the scale matrix; its diagonal goes through softplus.
    tril: Parameter,
}

/// The full-rank automatic guide: one multivariate Normal over all latent variables together
/// (flattened in the order the model declares them), in the unconstrained space, with a
/// lower-triangular scale matrix `L` (diagonal kept positive by softplus, starting at
/// `init_scale` 0.1, off-diagonal at 0). It captures posterior correlations that
/// [`AutoNormal`](crate::AutoNormal) cannot.
///
/// It covers global variables only (a local variable would make the matrix grow with the
/// square of the data).
///
/// The location starts where [`AutoMultivariateNormal::init`] says ([`Init`]; 0 in the
/// unconstrained space by default).
#[derive(Debug)]
pub struct AutoMultivariateNormal {
    init_scale: f64,
    init: Init,
    sites: Vec<AutoSite>,
    params: Option<FullRank>,
}

impl Default for AutoMultivariateNormal {
    fn default() -> Self {
        Self {
            init_scale: 0.1,
            init: Init::default(),
            sites: Vec::new(),
            params: None,
        }
    }
}

impl AutoMultivariateNormal {
    /// Where the location starts ([`Init`]; `Init::Feasible`, 0 in the unconstrained space, by default).
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    fn prepare_with(
        &mut self,
        latents: &[LatentSite],
        init: &Init,
        fresh: bool,
        device: &Device,
    ) -> Result<(), Error> {
        check_init_scale("AutoMultivariateNormal", self.init_scale)?;
        init.check("AutoMultivariateNormal")?;
        if let Some(local) = latents.iter().find(|l| l.local) {
            return Err(Error::Guide {
                guide: "AutoMultivariateNormal",
                variable: local.name.to_string(),
                reason: "it is local (one value per data row); this guide covers global \
                         variables: use AutoNormal or a q-model"
                    .to_string(),
            });
        }
        if !fresh && self.params.is_some() && same_sites(&self.sites, latents) {
            return Ok(());
        }
        let sites = auto_sites(self.kind(), latents)?;
        let mut parts = Vec::with_capacity(sites.len());
        for (site, latent) in sites.iter().zip(latents) {
            let n = site.free[0] * site.free[1];
            parts.push(
                init.location(self.kind(), site, latent, device)?
                    .reshape([1, n]),
            );
        }
        self.sites = sites;
        let d = self.dim();
        let loc = if parts.is_empty() {
            Tensor::zeros([1, d], device)
        } else {
            Tensor::cat(parts, 1)
        };
        let raw = inverse_softplus(self.init_scale);
        let tril = Tensor::<2>::eye(d, device).mul_scalar(raw);
        self.params = Some(FullRank {
            loc: Parameter::from_tensor(loc),
            tril: Parameter::from_tensor(tril),
        });
        Ok(())
    }

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

    super::sites::automatic_preparation!();

    fn draw(
        &self,
        _observed: &Values,
        _rows: &Rows,
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
                    dist: None,
                },
            );
        }
        Ok(trace)
    }

    fn parameters(&self) -> Option<Box<dyn DynModule>> {
        self.params
            .clone()
            .map(|p| Box::new(p) as Box<dyn DynModule>)
    }

    fn set_parameters(
        &mut self,
        shared: Option<Box<dyn DynModule>>,
        _rows: Option<Box<dyn DynModule>>,
    ) {
        self.params = shared.map(|m| downcast(m, "AutoMultivariateNormal"));
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
