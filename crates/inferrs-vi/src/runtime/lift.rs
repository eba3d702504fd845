//! The lift handler's side: which trainable parameters of a model become latent variables
//! ([`Lift`]), with which prior ([`Prior`]), and the mapper that replaces them by draws.
//!
//! A lifted parameter tensor is an ordinary global sample site, named by its path in the
//! model's parameters (`nn.fc1.weight`: the model's parameter `nn`, its field `fc1`, that
//! field's `weight`; burn's `Vec` of modules numbers its items, `nn.layers.0.weight`), with
//! the value `[1, elements]` reshaped to the tensor's shape for the forward pass. So the other
//! handlers treat it as any latent variable: a guide's draw substitutes it, a prior query draws
//! it, the trace scores it, and the forward pass is differentiable in the drawn value.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use inferrs_distributions::{DistError, Distribution, Normal, Param as DistParam};

use super::ctx::Ctx;
use crate::Error;

/// What a [`Prior`] sees of one parameter tensor it gives a prior to.
#[derive(Clone, Debug)]
pub struct ParamInfo {
    /// The name of its sample site: its path in the model's parameters, `nn.fc1.weight`.
    pub name: &'static str,
    /// The tensor's shape (burn's `Linear` weight is `[inputs, outputs]`, its bias
    /// `[outputs]`).
    pub shape: Vec<usize>,
    /// The device of the run (where a prior's tensors go).
    pub device: Device,
}

impl ParamInfo {
    /// The number of elements, the event size of the site (its value is `[1, elements]`).
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// The prior of the parameter tensors of a lifted module: for each tensor, a distribution
/// over one row of its [`numel`](ParamInfo::numel) elements.
///
/// Implemented by
/// * [`Normal`] with one location and scale (or one per element): the same independent
///   prior on every element of every tensor, `Normal::new(0.0, 1.0)` (the `Result` too: its
///   error is reported when lifting, naming the first tensor);
/// * closures `|p: &ParamInfo| -> Result<P, DistError>` with `P` a prior, for priors that
///   depend on the tensor: a scale per layer, or by the tensor's fan-in:
///   `|p: &ParamInfo| Normal::new(0.0, if p.name.ends_with("bias") { 1.0 } else { 0.5 })`.
pub trait Prior: Send + Sync {
    /// The prior of the tensor `param`: a distribution over values `[1, param.numel()]`.
    ///
    /// # Errors
    /// A [`DistError`] when the prior cannot be built for this tensor (a size that does not
    /// fit it).
    fn prior(&self, param: &ParamInfo) -> Result<Box<dyn Distribution>, DistError>;
}

impl Prior for Normal {
    /// The Normal as it is when its event size is the tensor's number of elements, else one
    /// location and scale (event size 1) repeated over every element.
    fn prior(&self, param: &ParamInfo) -> Result<Box<dyn Distribution>, DistError> {
        let n = param.numel();
        if self.batch_rows() != 1 {
            return Err(DistError::Shape {
                dist: "Normal",
                detail: format!(
                    "a prior of parameters has one row, this one has {}",
                    self.batch_rows()
                ),
            });
        }
        match self.event_size() {
            k if k == n => Ok(Box::new(self.clone())),
            1 => {
                // The location as a `[1, n]` tensor gives the event size; the scale broadcasts
                // (and stays a constant, which the log-density uses as one).
                let loc = self.loc().to_tensor_as(&param.device, [1, n]);
                Ok(Box::new(Normal::new(
                    DistParam::Tensor(loc),
                    self.scale().clone(),
                )?))
            }
            k => Err(DistError::Shape {
                dist: "Normal",
                detail: format!(
                    "a prior of {k} elements for a parameter of {n} (shape {:?})",
                    param.shape
                ),
            }),
        }
    }
}

/// A prior still to be checked, as a constructor returns it: `Normal::new(0.0, 1.0)`. Its
/// error is the error of every tensor (reported for the first one lifted).
impl<P: Prior> Prior for Result<P, DistError> {
    fn prior(&self, param: &ParamInfo) -> Result<Box<dyn Distribution>, DistError> {
        match self {
            Ok(prior) => prior.prior(param),
            Err(e) => Err(e.clone()),
        }
    }
}

impl<F, P> Prior for F
where
    F: Fn(&ParamInfo) -> Result<P, DistError> + Send + Sync,
    P: Prior,
{
    fn prior(&self, param: &ParamInfo) -> Result<Box<dyn Distribution>, DistError> {
        self(param)?.prior(param)
    }
}

/// Which trainable parameters of a model the lift handler turns into latent variables, and
/// their priors: every float parameter tensor under each named module.
///
/// A name is a path in the model's parameters: `"nn"` (a parameter `nn = Mlp::new(..)` of
/// `datamodel!`, every tensor of it) or `"nn.fc2"` (only its field `fc2`, as a Bayesian last
/// layer). Cheap to clone (the priors are shared).
///
/// ```
/// use inferrs_distributions::Normal;
/// use inferrs_vi::runtime::{Lift, ParamInfo};
/// let lift = Lift::new()
///     .module("encoder", Normal::new(0.0, 1.0).unwrap())
///     .module("head", |p: &ParamInfo| Normal::new(0.0, 1.0 / (p.shape[0] as f64).sqrt()));
/// assert_eq!(lift.modules().collect::<Vec<_>>(), ["encoder", "head"]);
/// ```
#[derive(Clone, Default)]
pub struct Lift {
    entries: Vec<(String, Arc<dyn Prior>)>,
}

impl std::fmt::Debug for Lift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lift")
            .field("modules", &self.modules().collect::<Vec<_>>())
            .finish()
    }
}

impl Lift {
    /// Lifts nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also lifts every float parameter tensor under `module` (a path in the model's
    /// parameters), with `prior`.
    pub fn module(mut self, module: impl Into<String>, prior: impl Prior + 'static) -> Self {
        self.entries.push((module.into(), Arc::new(prior)));
        self
    }

    /// The lifted modules' paths, in the order given.
    pub fn modules(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(m, _)| m.as_str())
    }

    /// Whether nothing is lifted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The prior of the parameter at `path`: that of the first module it is under.
    pub(crate) fn prior_of(&self, path: &str) -> Option<&dyn Prior> {
        self.entries
            .iter()
            .find(|(m, _)| under(path, m))
            .map(|(_, p)| &**p)
    }

    /// The float parameter tensors of `params` that this lifts, in visiting order: the site
    /// name and the shape of each. The model's function meets them in this order.
    ///
    /// # Errors
    /// [`Error::Lift`] for a module under which `params` has no float parameter.
    pub fn sites<P: Module>(&self, params: &P) -> Result<Vec<(String, Vec<usize>)>, Error> {
        let all = float_params(params);
        for module in self.modules() {
            if !all.iter().any(|(path, _)| under(path, module)) {
                let known: Vec<&str> = all.iter().map(|(p, _)| p.as_str()).collect();
                return Err(Error::Lift {
                    module: module.to_string(),
                    reason: format!(
                        "no trainable tensor of the model is under it (its tensors: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                });
            }
        }
        Ok(all
            .into_iter()
            .filter(|(path, _)| self.prior_of(path).is_some())
            .collect())
    }
}

/// Whether the parameter path `path` is `module` or under it (`nn.fc1.weight` is under `nn`
/// and `nn.fc1`, not under `nn.fc`).
fn under(path: &str, module: &str) -> bool {
    path == module
        || path
            .strip_prefix(module)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// Every float parameter tensor of `module`: its path and shape, in visiting order.
fn float_params<M: Module>(module: &M) -> Vec<(String, Vec<usize>)> {
    #[derive(Default)]
    struct Paths {
        path: Vec<String>,
        found: Vec<(String, Vec<usize>)>,
    }
    impl ModuleVisitor for Paths {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.found
                .push((self.path.join("."), param.lazy_shape().to_vec()));
        }
    }
    let mut paths = Paths::default();
    module.visit(&mut paths);
    paths.found
}

/// The `'static` name of a lifted site (sites are named by `&'static str`): each distinct
/// path is allocated once for the life of the program and reused by every later run.
pub(crate) fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(&known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// The prior of the tensor `info` from `prior`, checked to be a distribution over one row of
/// its elements.
///
/// # Errors
/// [`Error::Distribution`] when the prior cannot be built, [`Error::Shape`] when it is not
/// over `[1, elements]`; each naming the tensor's site.
pub(crate) fn build_prior(
    prior: &dyn Prior,
    info: &ParamInfo,
) -> Result<Box<dyn Distribution>, Error> {
    let dist = prior.prior(info).map_err(|source| Error::Distribution {
        variable: info.name.to_string(),
        source,
    })?;
    let n = info.numel();
    if dist.batch_rows() != 1 || dist.event_size() != n {
        return Err(Error::Shape {
            variable: info.name.to_string(),
            detail: format!(
                "its prior {} is over values [{}, {}] but the tensor {:?} needs one row of its \
                 {n} elements",
                dist.name(),
                dist.batch_rows(),
                dist.event_size(),
                info.shape
            ),
        });
    }
    Ok(dist)
}

/// The mapper that replaces every lifted float parameter by the value of its sample site.
pub(crate) struct Lifter<'c, 'a, 'l> {
    pub(crate) ctx: &'c mut Ctx<'a>,
    pub(crate) lifts: &'l [&'l Lift],
    pub(crate) path: Vec<String>,
    /// The first error; the remaining parameters are left as they are.
    pub(crate) error: Option<Error>,
}

impl Lifter<'_, '_, '_> {
    /// The value of the site of the parameter at `path` of shape `dims`, shaped as the
    /// parameter; `None` when it is not lifted (or on an error, kept in `self.error`).
    fn draw<const D: usize>(&mut self, path: &str, dims: [usize; D]) -> Option<Tensor<D>> {
        let lifts = self.lifts;
        let prior = lifts.iter().find_map(|l| l.prior_of(path))?;
        let name = intern(path);
        let info = ParamInfo {
            name,
            shape: dims.to_vec(),
            device: self.ctx.device().clone(),
        };
        let value =
            build_prior(prior, &info).and_then(|dist| self.ctx.site_boxed(name, dist, false));
        match value {
            Ok(value) => Some(value.reshape(dims)),
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }
}

impl ModuleMapper for Lifter<'_, '_, '_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.error.is_some() {
            return param;
        }
        let path = self.path.join(".");
        let dims: [usize; D] = param.lazy_shape().dims();
        match self.draw(&path, dims) {
            Some(value) => {
                let (id, _, mapper) = param.consume();
                Param::from_mapped_value(id, value, mapper)
            }
            None => param,
        }
    }
}
