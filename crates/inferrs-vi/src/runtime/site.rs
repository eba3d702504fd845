//! What a run of a model leaves: its sample sites, in the order the model visited them.

use burn::tensor::Tensor;
use inferrs_distributions::{Distribution, Support};

/// One sample site of a run: the variable's value, its distribution and what the handlers
/// said of it.
///
/// The log-density is not computed by the run: whoever reads the trace scores the sites it
/// needs ([`Site::log_prob`]), so queries that only draw never pay for it.
#[derive(Debug)]
pub struct Site {
    /// The variable's name.
    pub name: &'static str,
    /// Its value.
    ///
    /// # Shapes
    /// `[rows, event]`: `rows` is 1 for a global variable.
    pub value: Tensor<2>,
    /// Its distribution given its parents' values in this run.
    pub dist: Box<dyn Distribution>,
    /// Whether the value came from the data (the condition handler).
    pub observed: bool,
    /// Whether the variable is local (one value per data row) rather than global.
    pub local: bool,
    /// The factor of its log-density (the scale handlers': `N / M` for a local site of a
    /// minibatch; 1 otherwise).
    pub scale: f64,
    /// A `[rows]` mask of 0 and 1 multiplying its log-density row by row (the mask handler).
    pub mask: Option<Tensor<1>>,
    /// Its log-density, `[rows]` unscaled, when it was computed before: a site whose value
    /// and parameters are constants is scored once per full-batch fit
    /// ([`Distribution::constant_parameters`]), not at every step.
    pub scored: Option<Tensor<1>>,
}

impl Site {
    /// The log-density of the value, scaled and masked.
    ///
    /// # Shapes
    /// Returns `[rows]`.
    pub fn log_prob(&self) -> Tensor<1> {
        match &self.scored {
            Some(lp) => self.scaled(lp.clone()),
            None => self.scaled(self.dist.log_prob(self.value.clone())),
        }
    }

    /// `term` (a `[rows]` log-density of this site, or a KL) with the site's mask and scale.
    pub fn scaled(&self, term: Tensor<1>) -> Tensor<1> {
        let term = match &self.mask {
            Some(mask) => term * mask.clone(),
            None => term,
        };
        // No node for the factor 1: a full-batch fit computes exactly what it always did.
        if self.scale == 1.0 {
            term
        } else {
            term.mul_scalar(self.scale)
        }
    }

    /// The support of its distribution.
    pub fn support(&self) -> Support {
        self.dist.support()
    }

    /// Whether its distribution samples with a reparameterisation (a drawn value carries the
    /// gradient of its parameters).
    pub fn reparameterized(&self) -> bool {
        self.dist.has_rsample()
    }
}

/// The closed-form `KL(q || p)` of a layer whose weights are a distribution that the layer
/// itself holds ([`BayesianDense`](crate::BayesianDense)): the weights are not sample sites
/// of the run, so the ELBO subtracts this term in place of their `log p - log q`.
#[derive(Debug, Clone)]
pub struct LayerKl {
    /// The layer, as its error messages name it (`BayesianDense 2x32`).
    pub layer: String,
    /// `KL(q || p)` summed over the layer's weights, `[1]`.
    pub kl: Tensor<1>,
}

/// The sites of one run of a model, in the order the model visited them, and the KL terms
/// of its Bayesian layers.
#[derive(Debug, Default)]
pub struct Trace {
    sites: Vec<Site>,
    kls: Vec<LayerKl>,
}

impl Trace {
    pub(crate) fn push(&mut self, site: Site) {
        self.sites.push(site);
    }

    pub(crate) fn set_layer_kls(&mut self, kls: Vec<LayerKl>) {
        self.kls = kls;
    }

    /// The KL terms of the run's Bayesian layers ([`BayesianDense`](crate::BayesianDense)),
    /// one per layer called in the run, in the order of their first call. Empty for a model
    /// without such a layer.
    pub fn layer_kls(&self) -> &[LayerKl] {
        &self.kls
    }

    /// The sites in visiting order.
    pub fn iter(&self) -> std::slice::Iter<'_, Site> {
        self.sites.iter()
    }

    pub(crate) fn iter_mut(&mut self) -> std::slice::IterMut<'_, Site> {
        self.sites.iter_mut()
    }

    /// The site of `name`, if the run visited it (and no handler blocked it).
    pub fn get(&self, name: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.name == name)
    }

    /// Number of sites.
    pub fn len(&self) -> usize {
        self.sites.len()
    }

    /// Whether the run left no site.
    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }
}

impl IntoIterator for Trace {
    type Item = Site;
    type IntoIter = std::vec::IntoIter<Site>;

    fn into_iter(self) -> Self::IntoIter {
        self.sites.into_iter()
    }
}

impl<'t> IntoIterator for &'t Trace {
    type Item = &'t Site;
    type IntoIter = std::slice::Iter<'t, Site>;

    fn into_iter(self) -> Self::IntoIter {
        self.sites.iter()
    }
}
