//! [`AutoDelta`]: the MAP guide.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use inferrs_distributions::Rng;

use super::sites::{AutoSite, Groups, auto_sites, same_sites};
use super::{Guide, GuideDraw, GuideTrace, LatentSite, Rows};
use crate::runtime::{DynModule, Values};
use crate::{Error, Parameter};

#[derive(Module, Debug)]
pub(crate) struct Points {
    locs: Vec<Parameter>,
}

impl Points {
    fn new<'s>(sites: impl Iterator<Item = &'s AutoSite>, device: &Device) -> Self {
        Self {
            locs: sites
                .map(|s| Parameter::from_tensor(Tensor::zeros(s.free, device)))
                .collect(),
        }
    }
}

/// The MAP guide: a point (a Dirac delta) per latent variable, so fitting maximises the log
/// joint `log p(data, z)` over `z` (`log q` is 0). Points live in the unconstrained space and
/// start at 0 there (the bijector maps them onto the support).
#[derive(Debug, Default)]
pub struct AutoDelta {
    sites: Vec<AutoSite>,
    params: Groups<Points>,
}

impl AutoDelta {
    /// The fitted point of `name` (in the variable's own space), on the host.
    pub fn point(&self, name: &str) -> Option<Vec<f32>> {
        let site = self.sites.iter().find(|s| s.name == name)?;
        let p = self.params.of(site)?;
        site.bijector
            .forward(p.locs[site.slot].val())
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
        _observed: &Values,
        _rows: usize,
        device: &Device,
    ) -> Result<(), Error> {
        if self.params.shared.is_some() && same_sites(&self.sites, latents) {
            return Ok(());
        }
        let sites = auto_sites(self.kind(), latents)?;
        self.params.shared = Some(Points::new(sites.iter().filter(|s| !s.local), device));
        self.params.rows = sites
            .iter()
            .any(|s| s.local)
            .then(|| Points::new(sites.iter().filter(|s| s.local), device));
        self.sites = sites;
        Ok(())
    }

    fn draw(
        &self,
        _observed: &Values,
        rows: &Rows,
        device: &Device,
        _rng: &mut Rng,
    ) -> Result<GuideTrace, Error> {
        let mut trace = GuideTrace::new();
        for site in &self.sites {
            let Some(loc) = self
                .params
                .of(site)
                .and_then(|p| site.read(&p.locs[site.slot], rows))
            else {
                continue;
            };
            let n = loc.dims()[0];
            trace.insert(
                site.name,
                GuideDraw {
                    value: site.bijector.forward(loc),
                    log_q: Tensor::zeros([n], device),
                    reparameterized: true,
                    dist: None,
                },
            );
        }
        Ok(trace)
    }

    fn parameters(&self) -> Option<Box<dyn DynModule>> {
        self.params.shared_module()
    }

    fn row_parameters(&self) -> Option<Box<dyn DynModule>> {
        self.params.rows_module()
    }

    fn set_parameters(
        &mut self,
        shared: Option<Box<dyn DynModule>>,
        rows: Option<Box<dyn DynModule>>,
    ) {
        self.params.set(shared, rows, "AutoDelta");
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
