//! What the automatic guides share: their view of a latent variable (an unconstrained space
//! and a bijector onto its support), and how a per-row parameter is read for a run.

use burn::tensor::{Device, Tensor, TensorData};
use inferrs_distributions::{Bijector, Rng};
use rand_distr::{Distribution as _, StandardNormal};

use super::{LatentSite, Rows, downcast};
use crate::runtime::DynModule;
use crate::{Error, Parameter};

/// One latent variable as an automatic guide sees it.
#[derive(Clone, Debug)]
pub(crate) struct AutoSite {
    pub(crate) name: &'static str,
    pub(crate) shape: [usize; 2],
    /// `[rows, unconstrained event]`.
    pub(crate) free: [usize; 2],
    pub(crate) bijector: Bijector,
    pub(crate) local: bool,
    /// Its index among the guide's shared parameters (global) or row parameters (local).
    pub(crate) slot: usize,
}

impl AutoSite {
    /// The site's parameter `p` as this run reads it: whole for a global variable; for a local
    /// one whole on the rows of the fit, at the batch's rows for a batch, and `None` for other
    /// data.
    pub(crate) fn read(&self, p: &Parameter, rows: &Rows) -> Option<Tensor<2>> {
        if !self.local {
            return Some(p.val());
        }
        match rows.of_fit(self.shape[0])? {
            None => Some(p.val()),
            Some(indices) => Some(p.val().select(0, indices.clone())),
        }
    }
}

/// The automatic guides' sites for `latents`, with a bijector from the real line onto each
/// support; global and local ones numbered separately (`slot`).
pub(crate) fn auto_sites(
    kind: &'static str,
    latents: &[LatentSite],
) -> Result<Vec<AutoSite>, Error> {
    let (mut globals, mut locals) = (0, 0);
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
            let counter = if l.local { &mut locals } else { &mut globals };
            let slot = *counter;
            *counter += 1;
            Ok(AutoSite {
                name: l.name,
                shape: l.shape,
                free: [rows, bijector.unconstrained_size(event)],
                bijector,
                local: l.local,
                slot,
            })
        })
        .collect()
}

/// Whether the prepared sites are those of `latents` (then an earlier fit's parameters are
/// kept: fitting again continues).
pub(crate) fn same_sites(sites: &[AutoSite], latents: &[LatentSite]) -> bool {
    sites.len() == latents.len()
        && sites
            .iter()
            .zip(latents)
            .all(|(s, l)| s.name == l.name && s.shape == l.shape)
}

/// Standard normal noise `[rows, cols]` from the host stream.
pub(crate) fn std_normal(shape: [usize; 2], device: &Device, rng: &mut Rng) -> Tensor<2> {
    // A full-batch fit's step being recorded for its tape: an input of the record, which the
    // tape's replays fill from `std_normal_values`.
    if let Some(leaf) = crate::infer::recorded_noise(shape, device) {
        return leaf;
    }
    let eps: Vec<f32> = std_normal_values(shape[0] * shape[1], rng).collect();
    Tensor::<2>::from_data(TensorData::new(eps, shape), device)
}

/// `n` standard normals from `rng`, as [`std_normal`] draws them.
pub(crate) fn std_normal_values(n: usize, rng: &mut Rng) -> impl Iterator<Item = f32> + '_ {
    (0..n).map(|_| {
        let e: f64 = StandardNormal.sample(rng);
        e as f32
    })
}

/// `softplus^-1(s) = ln(exp(s) - 1)`, stable for large `s`.
pub(crate) fn inverse_softplus(s: f64) -> f64 {
    s + (-(-s).exp_m1()).ln()
}

pub(crate) fn check_init_scale(kind: &'static str, scale: f64) -> Result<(), Error> {
    if scale.is_finite() && scale > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidOption {
            option: kind,
            reason: format!("init_scale must be positive and finite, got {scale}"),
        })
    }
}

/// The latent variables' names, comma separated ("none" for none).
pub(crate) fn names(latents: &[LatentSite]) -> String {
    if latents.is_empty() {
        return "none".to_string();
    }
    latents
        .iter()
        .map(|l| l.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// An automatic guide's parameters in two groups of one module type `M`: those of global
/// variables (shared by every row, stepped by the fit's optimizer) and those of local ones
/// (one row per data row, stepped row by row).
#[derive(Debug)]
pub(crate) struct Groups<M> {
    pub(crate) shared: Option<M>,
    pub(crate) rows: Option<M>,
}

impl<M> Default for Groups<M> {
    fn default() -> Self {
        Self {
            shared: None,
            rows: None,
        }
    }
}

impl<M: burn::module::Module + Sync + 'static> Groups<M> {
    /// The group of `site`.
    pub(crate) fn of(&self, site: &AutoSite) -> Option<&M> {
        if site.local {
            self.rows.as_ref()
        } else {
            self.shared.as_ref()
        }
    }

    /// [`Guide::parameters`](super::Guide::parameters).
    pub(crate) fn shared_module(&self) -> Option<Box<dyn DynModule>> {
        self.shared
            .clone()
            .map(|p| Box::new(p) as Box<dyn DynModule>)
    }

    /// [`Guide::row_parameters`](super::Guide::row_parameters).
    pub(crate) fn rows_module(&self) -> Option<Box<dyn DynModule>> {
        self.rows.clone().map(|p| Box::new(p) as Box<dyn DynModule>)
    }

    /// [`Guide::set_parameters`](super::Guide::set_parameters).
    pub(crate) fn set(
        &mut self,
        shared: Option<Box<dyn DynModule>>,
        rows: Option<Box<dyn DynModule>>,
        guide: &str,
    ) {
        self.shared = shared.map(|m| downcast(m, guide));
        self.rows = rows.map(|m| downcast(m, guide));
    }
}

/// The `Guide` methods every automatic guide shares, over its own
/// `prepare_with(latents, init, fresh, device)` and `init` field: `prepare` starts from the
/// guide's `Init` (keeping the parameters of an earlier fit of the same variables),
/// `prepare_loaded` makes fresh parameters at 0 for a model file's to replace.
macro_rules! automatic_preparation {
    () => {
        fn prepare(
            &mut self,
            latents: &[LatentSite],
            _observed: &Values,
            _rows: usize,
            device: &Device,
        ) -> Result<(), Error> {
            let init = self.init.clone();
            self.prepare_with(latents, &init, false, device)
        }

        fn prior_draws(&self) -> usize {
            self.init.prior_draws()
        }

        fn prepare_loaded(
            &mut self,
            latents: &[LatentSite],
            _observed: &Values,
            _rows: usize,
            device: &Device,
        ) -> Result<(), Error> {
            // The file's parameters replace the start: no draw is needed to make it.
            self.prepare_with(latents, &Init::Feasible, true, device)
        }
    };
}
pub(crate) use automatic_preparation;
