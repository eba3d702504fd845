//! [`AutoDelta`]: the MAP guide.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use inferrs_distributions::Rng;

use super::sites::{AutoSite, Groups, auto_sites, same_sites};
use super::{Guide, GuideDraw, GuideTrace, Init, LatentSite, Rows};
use crate::runtime::{DynModule, Values};
use crate::{Error, Parameter};

#[derive(Module, Debug)]
pub(crate) struct Points {
    locs: Vec<Parameter>,
}

impl Points {
    fn new(locs: Vec<Tensor<2>>) -> Self {
        Self {
            locs: locs.into_iter().map(Parameter::from_tensor).collect(),
        }
    }
}

/// The MAP guide: a point (a Dirac delta) per latent variable, so fitting maximises the log
/// joint `log p(data, z)` over `z` (`log q` is 0). Points live in the unconstrained space
/// (the bijector maps them onto the support) and start where [`AutoDelta::init`] says
/// ([`Init`]; 0 by default).
#[derive(Debug, Default)]
pub struct AutoDelta {
    init: Init,
    sites: Vec<AutoSite>,
    params: Groups<Points>,
}

impl AutoDelta {
    /// Where the points start ([`Init`]; `Init::Feasible`, 0 in the unconstrained space, by default).
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
        init.check("AutoDelta")?;
        if !fresh && self.params.shared.is_some() && same_sites(&self.sites, latents) {
            return Ok(());
        }
        let sites = auto_sites(self.kind(), latents)?;
        let (mut globals, mut locals) = (Vec::new(), Vec::new());
        for (site, latent) in sites.iter().zip(latents) {
            let loc = init.location(self.kind(), site, latent, device)?;
            if site.local {
                locals.push(loc);
            } else {
                globals.push(loc);
            }
        }
        self.params.shared = Some(Points::new(globals));
        self.params.rows = (!locals.is_empty()).then(|| Points::new(locals));
        self.sites = sites;
        Ok(())
    }

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

    super::sites::automatic_preparation!();

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
