//! [`AutoNormal`]: the mean-field automatic guide.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use inferrs_distributions::{Bijector, Distribution, Normal, Rng, normal_draw_through};

use super::sites::{
    AutoSite, Groups, auto_sites, check_init_scale, inverse_softplus, same_sites, std_normal,
};
use super::{Guide, GuideDraw, GuideTrace, Init, LatentSite, Rows};
use crate::runtime::{DynModule, Values};
use crate::{Error, Parameter};

/// Locations and raw (pre-softplus) scales, one pair per site of a group.
#[derive(Module, Debug)]
pub(crate) struct LocScale {
    locs: Vec<Parameter>,
    scales: Vec<Parameter>,
}

impl LocScale {
    /// The parameters of `sites`, each location starting at its `locs` entry.
    fn new(sites: &[(&AutoSite, Tensor<2>)], raw_scale: f64, device: &Device) -> Self {
        let (locs, scales) = sites
            .iter()
            .map(|(s, loc)| {
                (
                    Parameter::from_tensor(loc.clone()),
                    Parameter::from_tensor(Tensor::full(s.free, raw_scale, device)),
                )
            })
            .unzip();
        Self { locs, scales }
    }
}

/// The mean-field automatic guide: an independent Normal per element of every latent
/// variable, in an unconstrained space mapped onto the variable's support by a bijector
/// (`Bijector::for_support`: softplus for positive variables, sigmoid for the unit interval,
/// stick-breaking for the simplex), with the log-det-Jacobian in `log q`.
///
/// As NumPyro's `AutoNormal`: locations start where [`AutoNormal::init`] says (by default at 0
/// in the unconstrained space, [`Init`]), scales at
/// [`AutoNormal::init_scale`] (0.1), kept positive by softplus. Local variables get one
/// Normal per data row; a minibatch draws, and updates, only its rows.
#[derive(Debug)]
pub struct AutoNormal {
    init_scale: f64,
    init: Init,
    sites: Vec<AutoSite>,
    params: Groups<LocScale>,
    /// Whether draws carry their Normal ([`Guide::keep_distributions`]).
    keep_dist: bool,
}

impl Default for AutoNormal {
    fn default() -> Self {
        Self {
            init_scale: 0.1,
            init: Init::default(),
            sites: Vec::new(),
            params: Groups::default(),
            keep_dist: true,
        }
    }
}

impl AutoNormal {
    /// Where the locations start ([`Init`]; `Init::Feasible`, 0 in the unconstrained space, by default).
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
        check_init_scale("AutoNormal", self.init_scale)?;
        init.check("AutoNormal")?;
        if !fresh && self.params.shared.is_some() && same_sites(&self.sites, latents) {
            return Ok(());
        }
        let sites = auto_sites(self.kind(), latents)?;
        let raw = inverse_softplus(self.init_scale);
        let mut globals = Vec::new();
        let mut locals = Vec::new();
        for (site, latent) in sites.iter().zip(latents) {
            let loc = init.location(self.kind(), site, latent, device)?;
            if site.local {
                locals.push((site, loc));
            } else {
                globals.push((site, loc));
            }
        }
        self.params.shared = Some(LocScale::new(&globals, raw, device));
        self.params.rows = (!locals.is_empty()).then(|| LocScale::new(&locals, raw, device));
        self.sites = sites;
        Ok(())
    }

    /// The initial standard deviation of every Normal (default 0.1).
    pub fn init_scale(mut self, scale: f64) -> Self {
        self.init_scale = scale;
        self
    }

    /// The fitted location and scale of `name` in the unconstrained space, on the host
    /// (row-major `[rows, event]`), or `None` before a fit or for an unknown name.
    pub fn loc_scale(&self, name: &str) -> Option<(Vec<f32>, Vec<f32>)> {
        let site = self.sites.iter().find(|s| s.name == name)?;
        let p = self.params.of(site)?;
        let loc = p.locs[site.slot]
            .val()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .ok()?;
        let scale = crate::parameter::softplus(p.scales[site.slot].val())
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .ok()?;
        Some((loc, scale))
    }
}

impl Guide for AutoNormal {
    fn kind(&self) -> &'static str {
        "AutoNormal"
    }

    super::sites::automatic_preparation!();

    fn draw(
        &self,
        _observed: &Values,
        rows: &Rows,
        device: &Device,
        rng: &mut Rng,
    ) -> Result<GuideTrace, Error> {
        let mut trace = GuideTrace::new();
        for site in &self.sites {
            let Some(p) = self.params.of(site) else {
                continue;
            };
            let (Some(loc), Some(raw)) = (
                site.read(&p.locs[site.slot], rows),
                site.read(&p.scales[site.slot], rows),
            ) else {
                continue;
            };
            let eps = std_normal(loc.dims(), device, rng);
            let (value, log_q) = normal_draw_through(&site.bijector, &loc, &raw, eps);
            // The Normal itself, for a closed-form KL against the prior, where the draw is
            // not transformed and the fit's ELBO asks for it.
            let dist = match site.bijector {
                Bijector::Identity if self.keep_dist => {
                    let scale = crate::parameter::softplus(raw);
                    let q = Normal::new(loc, scale).map_err(|source| Error::Distribution {
                        variable: site.name.to_string(),
                        source,
                    })?;
                    Some(Box::new(q) as Box<dyn Distribution>)
                }
                _ => None,
            };
            trace.insert(
                site.name,
                GuideDraw {
                    value,
                    log_q,
                    reparameterized: true,
                    dist,
                },
            );
        }
        Ok(trace)
    }

    fn keep_distributions(&mut self, keep: bool) {
        self.keep_dist = keep;
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
        self.params.set(shared, rows, "AutoNormal");
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
