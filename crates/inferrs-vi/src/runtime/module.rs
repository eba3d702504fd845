//! [`DynModule`]: a burn module behind a trait object, so that a guide of any type can hand its
//! parameters to the inference loop, which moves them on and off autodiff, steps them,
//! checkpoints them and checks them, without knowing their type.

use std::any::Any;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Gradients, Tensor};

/// A burn [`Module`] seen through an object-safe trait. Implemented for every module.
pub trait DynModule: Send + Sync + std::fmt::Debug {
    /// A copy (burn tensors are reference counted: a handful of pointer copies).
    fn clone_box(&self) -> Box<dyn DynModule>;
    /// The module on the autodiff device, tracked.
    fn train_box(&self) -> Box<dyn DynModule>;
    /// The module off autodiff.
    fn valid_box(&self) -> Box<dyn DynModule>;
    /// One step of `optimizer` with the module's gradients taken out of `grads`.
    fn step_box(
        self: Box<Self>,
        optimizer: &mut ModuleOptimizer,
        lr: f64,
        grads: &mut Gradients,
    ) -> Box<dyn DynModule>;
    /// The module's gradients taken out of `grads` (for an optimizer that is not burn's).
    fn grads(&self, grads: &mut Gradients) -> GradientsParams;
    /// One step of `optimizer` with the module's gradients `grads` (summed over the ranks of
    /// a data-parallel fit).
    fn step_with(
        self: Box<Self>,
        optimizer: &mut ModuleOptimizer,
        lr: f64,
        grads: GradientsParams,
    ) -> Box<dyn DynModule>;
    /// Its float parameters: how many, and their values in all.
    fn layout(&self) -> crate::distributed::exchange::Layout;
    /// Appends its gradients in `grads` to `flat`, in the module's order (data-parallel SVI).
    fn flatten_grads(&self, grads: &GradientsParams, flat: &mut crate::distributed::exchange::Flat);
    /// Its gradients read from `flat` at `offset`, and the offset after them.
    fn unflatten_grads(
        &self,
        flat: &crate::distributed::exchange::Flat,
        offset: (usize, usize),
    ) -> (GradientsParams, (usize, usize));
    /// Appends its parameter values to `values`, in the module's order.
    fn flatten_values(&self, values: &mut Vec<f32>);
    /// The module with its parameter values read from `values` at `offset`, and the offset
    /// after them.
    fn load_values(self: Box<Self>, values: &[f32], offset: usize) -> (Box<dyn DynModule>, usize);
    /// Maps every float parameter's value off autodiff, seen as `[rows, rest]`, with
    /// `f(id, value)`: `Some(new value)` replaces it (tracked again when it was), `None`
    /// keeps it. The row-sparse optimizer steps per-row parameters this way.
    fn map_params(
        self: Box<Self>,
        f: &mut dyn FnMut(burn::module::ParamId, Tensor<2>) -> Option<Tensor<2>>,
    ) -> Box<dyn DynModule>;
    /// Whether every parameter value is finite. (Not `is_finite`: the trait is implemented
    /// for every burn module, `f32` among them, and `.is_finite()` on a `&f32` would resolve
    /// to it wherever the trait is in scope.)
    fn parameters_finite(&self) -> bool;
    /// The module with every float parameter an input of a record on the capture `device`
    /// (its id appended to `ids`; `failed` set when one is not a capture tensor): a
    /// full-batch fit's step recorded for its tape.
    fn capture_leaves(
        &self,
        device: &burn::tensor::Device,
        ids: &mut Vec<burn::backend::capture::TensorId>,
        failed: &mut bool,
    ) -> Box<dyn DynModule>;
    /// The module's parameters as bytes (burn's burnpack record), for a model file.
    ///
    /// # Errors
    /// burn's error, as text.
    fn to_bytes(&self) -> Result<Vec<u8>, String>;
    /// The module with the parameters of `bytes` (written by [`DynModule::to_bytes`] from a
    /// module of the same structure) loaded into it.
    ///
    /// # Errors
    /// burn's error, as text, when the bytes cannot be read or do not fit the module.
    fn load_bytes(&self, bytes: &[u8]) -> Result<Box<dyn DynModule>, String>;
    /// Initialises its lazily initialised parameters from `seed` (see
    /// `initialize_lazy`); a copy shares them with the module it was cloned from.
    fn initialize_lazy(&self, device: &burn::tensor::Device, seed: u64) -> bool;
    /// The module as `Box<dyn Any>`, to take it back as its type.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<M: Module + Sync + 'static> DynModule for M {
    fn clone_box(&self) -> Box<dyn DynModule> {
        Box::new(self.clone())
    }

    fn train_box(&self) -> Box<dyn DynModule> {
        Box::new(self.clone().train())
    }

    fn valid_box(&self) -> Box<dyn DynModule> {
        Box::new(self.valid())
    }

    fn step_box(
        self: Box<Self>,
        optimizer: &mut ModuleOptimizer,
        lr: f64,
        grads: &mut Gradients,
    ) -> Box<dyn DynModule> {
        let g = GradientsParams::from_module(grads, &*self);
        Box::new(optimizer.step(lr, *self, g))
    }

    fn grads(&self, grads: &mut Gradients) -> GradientsParams {
        GradientsParams::from_module(grads, self)
    }

    fn step_with(
        self: Box<Self>,
        optimizer: &mut ModuleOptimizer,
        lr: f64,
        grads: GradientsParams,
    ) -> Box<dyn DynModule> {
        Box::new(optimizer.step(lr, *self, grads))
    }

    fn layout(&self) -> crate::distributed::exchange::Layout {
        crate::distributed::exchange::Layout::of(self)
    }

    fn flatten_grads(
        &self,
        grads: &GradientsParams,
        flat: &mut crate::distributed::exchange::Flat,
    ) {
        crate::distributed::exchange::flatten_grads(self, grads, flat);
    }

    fn unflatten_grads(
        &self,
        flat: &crate::distributed::exchange::Flat,
        offset: (usize, usize),
    ) -> (GradientsParams, (usize, usize)) {
        crate::distributed::exchange::unflatten_grads(self, flat, offset)
    }

    fn flatten_values(&self, values: &mut Vec<f32>) {
        crate::distributed::exchange::flatten_values(self, values);
    }

    fn load_values(self: Box<Self>, values: &[f32], offset: usize) -> (Box<dyn DynModule>, usize) {
        let (module, at) = crate::distributed::exchange::load_values(*self, values, offset);
        (Box::new(module), at)
    }

    fn map_params(
        self: Box<Self>,
        f: &mut dyn FnMut(burn::module::ParamId, Tensor<2>) -> Option<Tensor<2>>,
    ) -> Box<dyn DynModule> {
        type RowMap<'f> = &'f mut dyn FnMut(burn::module::ParamId, Tensor<2>) -> Option<Tensor<2>>;
        struct Mapper<'f>(RowMap<'f>);
        impl burn::module::ModuleMapper for Mapper<'_> {
            fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
                let (id, tensor, mapper) = param.consume();
                let shape = tensor.shape();
                let dims = shape.dims::<D>();
                let rows = dims.first().copied().unwrap_or(1);
                let rest = shape.num_elements() / rows.max(1);
                // Reshaped off autodiff: a reshape of the tracked leaf would be a node of its
                // own, and the leaf's gradient would no longer reach the parameter.
                let flat: Tensor<2> = tensor.clone().inner().reshape([rows, rest]);
                let tensor = match (self.0)(id, flat) {
                    None => tensor,
                    Some(updated) => {
                        let lifted = Tensor::<D>::from_inner(updated.reshape(dims));
                        if tensor.is_require_grad() {
                            lifted.require_grad()
                        } else {
                            lifted
                        }
                    }
                };
                Param::from_mapped_value(id, tensor, mapper)
            }
        }
        Box::new((*self).map(&mut Mapper(f)))
    }

    fn parameters_finite(&self) -> bool {
        is_finite(self)
    }

    fn capture_leaves(
        &self,
        device: &burn::tensor::Device,
        ids: &mut Vec<burn::backend::capture::TensorId>,
        failed: &mut bool,
    ) -> Box<dyn DynModule> {
        Box::new(crate::infer::capture_leaves(
            self.clone(),
            device,
            ids,
            failed,
        ))
    }

    fn to_bytes(&self) -> Result<Vec<u8>, String> {
        module_to_bytes(self)
    }

    fn load_bytes(&self, bytes: &[u8]) -> Result<Box<dyn DynModule>, String> {
        module_from_bytes(self, bytes).map(|m| Box::new(m) as Box<dyn DynModule>)
    }

    fn initialize_lazy(&self, device: &burn::tensor::Device, seed: u64) -> bool {
        initialize_lazy(self, device, seed)
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// `module`'s parameters as burnpack bytes.
pub(crate) fn module_to_bytes<M: Module>(module: &M) -> Result<Vec<u8>, String> {
    let bytes = module
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| format!("{e:?}"))?;
    Ok(bytes[..].to_vec())
}

/// A copy of `module` with the parameters of burnpack `bytes` loaded into it.
pub(crate) fn module_from_bytes<M: Module>(module: &M, bytes: &[u8]) -> Result<M, String> {
    let record =
        burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes.to_vec()))
            .map_err(|e| format!("{e:?}"))?;
    module
        .clone()
        .try_load_record(record)
        .map_err(|e| format!("{e:?}"))
}

/// Whether every float parameter of `module` is finite.
pub(crate) fn is_finite<M: Module>(module: &M) -> bool {
    struct Finite(bool);
    impl ModuleVisitor for Finite {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if self.0 {
                let value = param.val();
                let bad = value.clone().is_nan().any().into_scalar::<bool>()
                    || value.is_inf().any().into_scalar::<bool>();
                self.0 = !bad;
            }
        }
    }
    let mut visitor = Finite(true);
    module.visit(&mut visitor);
    visitor.0
}

/// Initialises the lazily initialised parameters of `module` from `seed`, so that a fit's
/// seed alone fixes a network's starting weights: burn initialises a parameter on its first
/// use from the device's random stream, and which parameter comes first depends on the code
/// path (a fused kernel reads the weights in another order than the composed ops). When
/// any parameter is still uninitialised, the device is seeded with `seed` and every one is
/// initialised now, in the module's own order, under a lock that fits on other threads
/// share (burn's stream is one for the process). Returns whether it did.
pub(crate) fn initialize_lazy<M: Module>(
    module: &M,
    device: &burn::tensor::Device,
    seed: u64,
) -> bool {
    struct Lazy(bool);
    impl ModuleVisitor for Lazy {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0 |= !param.is_initialized();
        }
    }
    struct Touch;
    impl ModuleVisitor for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    let mut lazy = Lazy(false);
    module.visit(&mut lazy);
    if lazy.0 {
        // burn's stream on a device is one for the process: two fits on two threads must not
        // interleave their draws between the seed and the last parameter. (A poisoned lock
        // only means another fit panicked while holding it; the stream is reseeded anyway.)
        let _only = LAZY_INIT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        device.seed(seed);
        module.visit(&mut Touch);
    }
    lazy.0
}

/// Held while a fit seeds burn's device stream and initialises its parameters from it.
static LAZY_INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `module` with the parameters named in `inits` set to their values (on the parameter's
/// device, tracked when it was); the others as they were.
pub(crate) fn apply_inits<M: Module>(module: M, inits: &[inferrs_distributions::ParamInit]) -> M {
    struct Apply<'a>(&'a [inferrs_distributions::ParamInit]);
    impl burn::module::ModuleMapper for Apply<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let Some(init) = self.0.iter().rev().find(|i| i.id == param.id) else {
                return param;
            };
            let (id, tensor, mapper) = param.consume();
            if init.value.shape().as_slice() != tensor.shape().as_slice() {
                return Param::from_mapped_value(id, tensor, mapper);
            }
            let value = Tensor::<D>::from_data(init.value.clone(), &tensor.device());
            let value = if tensor.is_require_grad() {
                value.require_grad()
            } else {
                value
            };
            Param::from_mapped_value(id, value, mapper)
        }
    }
    if inits.is_empty() {
        return module;
    }
    module.map(&mut Apply(inits))
}
