//! A full-batch fit's step without burn's autodiff: the whole bound (the guide's draw, the
//! model on it, the estimator) recorded once on burn's capture device as a function of every
//! trainable parameter and of the guide's standard-normal noise, compiled into an
//! `inferrs-tape` [`Tape`] (or [`RowTape`]), checked against burn's autodiff at the first
//! step, and replayed at every later step; its gradient goes to the fit's optimizer as burn's
//! would.
//!
//! A small model's step is dominated by burn-autodiff's fixed cost per operation (graph
//! bookkeeping and allocations, a few microseconds each, for eight schools about twenty
//! operations) and not by arithmetic; the tape has none of it. What depends on the data
//! alone is computed once, when the tape is compiled.
//!
//! **What the record sees.** The parameters (the model's networks and the guide's shared and
//! per-row parameters) and every standard-normal draw of the guide ([`recorded_noise`])
//! enter as inputs, in that order; the data and the options are constants. Each input
//! reaches the model through one recorded operation, so a model or guide that reads a value
//! fails to record. Randomness drawn any other way would be a constant of the record: the
//! recording runs on a generator of its own, and a generator that moved refuses the tape. The
//! draws of each replayed step come from the fit's generator in the order and number the
//! guide's own draw takes them, so a fit on the tape and one on burn's autodiff see the same
//! noise.
//!
//! **When.** A full-batch fit in one process ([`VI::tape`](crate::VI::tape) on, the default)
//! whose draws are all reparameterised, whose record the tape replays, and whose tape agrees
//! with burn's autodiff at the first step. A step that touches at most
//! [`MAX_ELEMENTS_TOUCHED`] elements replays the whole-tensor `f64` [`Tape`]; a larger one the
//! row-blocked `f32` [`RowTape`] (a block of data rows at a time, on rayon's threads), when its
//! rows run by blocks, when it has a network layer of its own (a matrix product on its rows
//! with [`MIN_LAYER_OUTPUTS`] outputs or more) and when it asks for neither of the library's
//! fused networks (an `Mlp`, a `MixtureNet`), which are faster on burn's autodiff than the
//! replay of their composed ops; as are burn's fused densities and affine map on a step with
//! no layer.
//! [`FitReport::gradient`](crate::FitReport::gradient) says which path ran, and why. The
//! choice depends on the model and the data alone, never on timing.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use burn::backend::Capture;
use burn::backend::capture::TensorId;
use burn::module::{Module, ModuleMapper, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use inferrs_distributions::Rng;
use inferrs_tape::{RowTape, Tape};
use rand::{RngCore, SeedableRng};

use super::elbo::Elbo;
use super::mcmc::compiled::{
    Gradient, QuietPanics, RECORDING_LOCK, agreement, captured_of, compile_quietly,
};
use super::svi::draw_particles;
use crate::Error;
use crate::distributed::exchange::{Flat, Layout, flatten_values, unflatten_grads};
use crate::guide::{Guide, Rows, std_normal_values};
use crate::runtime::{Ctx, DynModule, Values};

/// The most elements a step on the `f64` tape may read and write ([`Tape::elements_touched`]).
/// Above it burn's autodiff with its fused `f32` kernels is faster than the `f64` tape's
/// scalar loops, and a larger step takes the row-blocked tape or burn's autodiff. Measured with
/// `bench_models` (1000 steps, medians of 3 fits, tape against `VI::tape(false)`, ms per
/// step): eight schools (978 elements) 0.024 against 0.060, probabilistic PCA at 500 rows
/// (95,543) 0.072 against 0.091, logistic regression at 1000 rows (40,374) 0.047 against
/// 0.048; at 3000 rows (118,374) 0.110 against 0.056, and the BNN (144,570) 0.285 against
/// 0.119.
const MAX_ELEMENTS_TOUCHED: usize = 100_000;

/// The fewest outputs of a matrix product on the rows that make it a network's layer, for the
/// row-blocked tape to take a large step. A step without one is a likelihood on the data (a
/// linear predictor at most), where burn's fused densities and affine map are faster:
/// measured with `bench_models` (500 steps, medians of 3 fits, ms per step, the row tape
/// against `VI::tape(false)`), the logistic regression (10^4 rows, one output) 0.25 to 0.27
/// against 0.094 to 0.10, a Normal mean on 20,000 to 120,000 rows (no product) 10 to 20%
/// slower; the BNN (500 rows, 32 outputs) 0.080 to 0.085 against 0.116 to 0.124, the user MDN
/// (24 and 30) 1.2 to 1.5 against 7.9 to 10.5.
const MIN_LAYER_OUTPUTS: usize = 8;

/// The most data values a step is recorded with. The record holds the data as constants, and
/// the tapes' compiler copies them (in `f64`, then in `f32` by blocks): at this size about
/// 100 MB, once per fit.
const MAX_DATA: usize = 4_000_000;

/// The replay of a recorded step: the whole-tensor `f64` tape of a small step, the
/// row-blocked `f32` one of a large step whose rows run by blocks.
#[derive(Debug)]
enum Replay {
    Exact(Tape),
    Rows(Box<RowTape>),
}

impl Replay {
    fn value_and_grad(&mut self, inputs: &[f64], grad: &mut [f64]) -> f64 {
        match self {
            Self::Exact(t) => t.value_and_grad(inputs, grad),
            Self::Rows(t) => t.value_and_grad(inputs, grad),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Exact(t) => t.len(),
            Self::Rows(t) => t.len(),
        }
    }

    fn input_lens(&self) -> &[usize] {
        match self {
            Self::Exact(t) => t.input_lens(),
            Self::Rows(t) => t.input_lens(),
        }
    }
}

/// The guide's standard-normal draws of a record: the capture tensors that stand for them,
/// and their shapes.
type Draws = Vec<(TensorId, [usize; 2])>;

thread_local! {
    /// While a step is recorded on this thread: its draws so far.
    static NOISE: RefCell<Option<Draws>> = const { RefCell::new(None) };
}

/// While a step is recorded: an input of the record standing for a `shape` draw of standard
/// normals on `device` (the guide's [`std_normal`](crate::guide) asks it first). `None`
/// otherwise.
pub(crate) fn recorded_noise(shape: [usize; 2], device: &Device) -> Option<Tensor<2>> {
    NOISE.with(|n| {
        let mut n = n.borrow_mut();
        let draws = n.as_mut()?;
        let leaf = Tensor::<2>::from_data(
            TensorData::new(vec![0.0f32; shape[0] * shape[1]], shape),
            device,
        );
        let id = leaf.clone().try_into_primitive::<Capture>().ok()?.id();
        draws.push((id, shape));
        // Seen through one operation: a guide that reads the draw fails to record.
        Some(leaf.mul_scalar(1.0))
    })
}

/// Records the guide's draws while it lives (see [`recorded_noise`]).
struct NoiseRecord;

impl NoiseRecord {
    fn start() -> Self {
        NOISE.with(|n| *n.borrow_mut() = Some(Vec::new()));
        Self
    }

    fn take(&self) -> Draws {
        NOISE.with(|n| n.borrow_mut().take().unwrap_or_default())
    }
}

impl Drop for NoiseRecord {
    fn drop(&mut self) {
        NOISE.with(|n| *n.borrow_mut() = None);
    }
}

/// `module` with every float parameter replaced by a capture tensor of its value (an input of
/// the record, whose id is appended to `ids`), seen through one operation; `failed` is set
/// when a value is not a capture tensor.
pub(crate) fn capture_leaves<M: Module>(
    module: M,
    device: &Device,
    ids: &mut Vec<TensorId>,
    failed: &mut bool,
) -> M {
    struct Leaves<'a> {
        device: &'a Device,
        ids: &'a mut Vec<TensorId>,
        failed: &'a mut bool,
    }
    impl ModuleMapper for Leaves<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let (id, tensor, mapper) = param.consume();
            let leaf = Tensor::<D>::from_data(tensor.into_data(), self.device);
            match leaf.clone().try_into_primitive::<Capture>() {
                Ok(p) => self.ids.push(p.id()),
                Err(_) => *self.failed = true,
            }
            Param::from_mapped_value(id, leaf.mul_scalar(1.0), mapper)
        }
    }
    module.valid().map(&mut Leaves {
        device,
        ids,
        failed,
    })
}

/// The parameters a step moves: the model's, and the guide's shared and per-row ones.
pub(crate) struct StepParams<'a, P> {
    pub(crate) model: &'a P,
    pub(crate) shared: Option<&'a dyn DynModule>,
    pub(crate) rows: Option<&'a dyn DynModule>,
}

/// The gradients of a step's loss (the negative bound) for each of [`StepParams`]'s parts.
pub(crate) struct StepGrads {
    pub(crate) model: GradientsParams,
    pub(crate) shared: Option<GradientsParams>,
    pub(crate) rows: Option<GradientsParams>,
}

/// A recorded step (see the module docs).
pub(crate) struct TapeStep {
    tape: Replay,
    /// Values of the model's parameters, the guide's shared ones and its per-row ones.
    lens: [usize; 3],
    /// Their parameter tensors.
    params: [usize; 3],
    /// The shapes of the guide's standard-normal draws, in the order it takes them.
    noise: Vec<[usize; 2]>,
    inputs: Vec<f64>,
    grad: Vec<f64>,
    values: Vec<f32>,
}

impl std::fmt::Debug for TapeStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapeStep")
            .field("instructions", &self.tape.len())
            .field("lens", &self.lens)
            .field("noise", &self.noise)
            .finish()
    }
}

impl TapeStep {
    /// Records the bound `elbo` estimates for `f` with its guide (if any) on all `total` rows
    /// of `observed`, at parameters `params`, and compiles it. The guide holds `params`'
    /// shared and per-row modules again afterwards.
    ///
    /// # Errors
    /// Why there is no tape, in words.
    pub(crate) fn record<P, F>(
        f: &F,
        params: StepParams<'_, P>,
        mut guide: Option<&mut (dyn Guide + 'static)>,
        (observed, total): (&Values, usize),
        elbo: &dyn Elbo,
    ) -> Result<Self, String>
    where
        P: Module,
        F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
    {
        let data: usize = observed.values().map(|t| t.shape().num_elements()).sum();
        if data > MAX_DATA {
            return Err(format!(
                "the data has {data} values, above the {MAX_DATA} a step is recorded with"
            ));
        }
        let layouts = [
            Layout::of(params.model),
            params.shared.map_or_else(Layout::default, |m| m.layout()),
            params.rows.map_or_else(Layout::default, |m| m.layout()),
        ];
        let lens = layouts.map(|l| l.values);
        if lens.iter().sum::<usize>() == 0 {
            return Err("the fit has no parameter".to_string());
        }
        let device = Device::capture();
        let mut failure: Option<String> = None;
        let mut noise = Vec::new();
        let mut rng = Rng::seed_from_u64(0);
        let mut untouched = rng.clone();
        let recorded = {
            let _one_at_a_time = RECORDING_LOCK
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let _quiet = QuietPanics::new();
            let record = NoiseRecord::start();
            inferrs_kernels::watch_network_kernels(|| {
                catch_unwind(AssertUnwindSafe(|| {
                    device.capture_scope(|scope| {
                        let mut ids = Vec::new();
                        let mut failed = false;
                        let model =
                            capture_leaves(params.model.clone(), &device, &mut ids, &mut failed);
                        let shared = params
                            .shared
                            .map(|m| m.capture_leaves(&device, &mut ids, &mut failed));
                        let rows = params
                            .rows
                            .map(|m| m.capture_leaves(&device, &mut ids, &mut failed));
                        if let Some(g) = guide.as_deref_mut() {
                            g.set_parameters(shared, rows);
                        }
                        let observed: Values = observed
                            .iter()
                            .map(|(k, v)| (k.clone(), Tensor::from_data(v.to_data(), &device)))
                            .collect();
                        let particles = draw_particles(
                            f,
                            &model,
                            guide.as_deref(),
                            (&observed, &Rows::all(total), total),
                            elbo.particles(),
                            (&device, None),
                            &mut rng,
                        );
                        let estimate = particles.and_then(|particles| {
                            if let Some((name, _)) = particles
                                .iter()
                                .flat_map(|p| p.guide.iter())
                                .find(|(_, d)| !d.reparameterized)
                            {
                                return Err(Error::InvalidOption {
                                    option: "tape",
                                    reason: format!("variable `{name}` is not reparameterised"),
                                });
                            }
                            elbo.estimate(particles, None, &device)
                        });
                        let out = match estimate {
                            Ok(e) => e.surrogate.try_into_primitive::<Capture>().map(|p| p.id()),
                            Err(e) => {
                                failure = Some(format!("the step could not be recorded: {e}"));
                                return scope.complete([], []);
                            }
                        };
                        noise = record.take();
                        match (failed, out) {
                            (false, Ok(out)) => {
                                ids.extend(noise.iter().map(|(id, _)| *id));
                                scope.complete(ids, [out])
                            }
                            _ => {
                                failure = Some(
                                    "a tensor of the record is not a capture tensor".to_string(),
                                );
                                scope.complete([], [])
                            }
                        }
                    })
                }))
            })
        };
        let (recorded, network_kernels) = recorded;
        if let Some(g) = guide {
            g.set_parameters(
                params.shared.map(|m| m.clone_box()),
                params.rows.map(|m| m.clone_box()),
            );
        }
        let captured = captured_of(recorded, failure, "the step")?;
        if rng.next_u64() != untouched.next_u64() {
            return Err(
                "the model or the guide draws random numbers other than the guide's \
                        standard normals"
                    .to_string(),
            );
        }
        let exact = compile_quietly(|| Tape::compile(&captured))?;
        let touched = exact.elements_touched();
        let tape = if touched <= MAX_ELEMENTS_TOUCHED {
            Replay::Exact(exact)
        } else if network_kernels {
            return Err(format!(
                "a step touches {touched} elements, above the {MAX_ELEMENTS_TOUCHED} of the f64 \
                 tape, and runs the library's fused networks (Mlp, MixtureNet), faster than a replay of \
                 their composed ops"
            ));
        } else {
            drop(exact);
            let rows = compile_quietly(|| RowTape::compile(&captured, total)).map_err(|e| {
                format!(
                    "a step touches {touched} elements, above the {MAX_ELEMENTS_TOUCHED} of the \
                     f64 tape, and {e}"
                )
            })?;
            let widest = rows.widest_row_product();
            if widest < MIN_LAYER_OUTPUTS {
                return Err(format!(
                    "a step touches {touched} elements, above the {MAX_ELEMENTS_TOUCHED} of the \
                     f64 tape, with no network layer of its own (its widest product on the \
                     rows has {widest} outputs, under {MIN_LAYER_OUTPUTS}): burn's fused \
                     densities and affine map are faster there"
                ));
            }
            Replay::Rows(Box::new(rows))
        };
        let noise: Vec<[usize; 2]> = noise.into_iter().map(|(_, s)| s).collect();
        let n = lens.iter().sum::<usize>() + noise.iter().map(|s| s[0] * s[1]).sum::<usize>();
        if tape.input_lens().iter().sum::<usize>() != n {
            return Err("the record's inputs are not the step's parameters and draws".to_string());
        }
        Ok(Self {
            tape,
            lens,
            params: layouts.map(|l| l.params),
            noise,
            inputs: vec![0.0; n],
            grad: vec![0.0; n],
            values: Vec::with_capacity(n),
        })
    }

    /// How the step's gradient is computed.
    pub(crate) fn gradient(&self) -> Gradient {
        match &self.tape {
            Replay::Exact(t) => Gradient::Tape {
                instructions: t.len(),
            },
            Replay::Rows(t) => Gradient::Rows {
                instructions: t.len(),
                block_rows: t.block_rows(),
            },
        }
    }

    /// The bound at `params` with the guide's draws taken from `rng` (as the guide's own
    /// draw takes them), and the gradients of the loss (its negative).
    pub(crate) fn run<P: Module>(
        &mut self,
        params: &StepParams<'_, P>,
        rng: &mut Rng,
    ) -> (f64, StepGrads) {
        self.values.clear();
        flatten_values(params.model, &mut self.values);
        if let Some(m) = params.shared {
            m.flatten_values(&mut self.values);
        }
        if let Some(m) = params.rows {
            m.flatten_values(&mut self.values);
        }
        for shape in &self.noise {
            self.values
                .extend(std_normal_values(shape[0] * shape[1], rng));
        }
        for (i, v) in self.inputs.iter_mut().zip(&self.values) {
            *i = f64::from(*v);
        }
        let bound = self.tape.value_and_grad(&self.inputs, &mut self.grad);
        let [m, s, r] = self.lens;
        let [pm, ps, pr] = self.params;
        let flat = |from: usize, len: usize, params: usize| Flat {
            flags: vec![1; params],
            values: self.grad[from..from + len]
                .iter()
                .map(|g| -*g as f32)
                .collect(),
        };
        let grads = StepGrads {
            model: unflatten_grads(params.model, &flat(0, m, pm), (0, 0)).0,
            shared: params
                .shared
                .map(|module| module.unflatten_grads(&flat(m, s, ps), (0, 0)).0),
            rows: params
                .rows
                .map(|module| module.unflatten_grads(&flat(m + s, r, pr), (0, 0)).0),
        };
        (bound, grads)
    }

    /// The loss gradient of the last [`run`](Self::run), for the parameters, in their order.
    pub(crate) fn last_loss_grad(&self) -> Vec<f32> {
        let n: usize = self.lens.iter().sum();
        self.grad[..n].iter().map(|g| -*g as f32).collect()
    }

    /// Whether the tape's bound and loss gradient at a point agree with burn's autodiff there
    /// (`value`, and `grads` flattened in the tape's order), as NUTS's check points ask
    /// ([`agreement`]).
    ///
    /// # Errors
    /// The disagreement, in words.
    pub(crate) fn agrees(
        (tape_value, tape_grads): (f64, &[f32]),
        (value, grads): (f64, &[f32]),
    ) -> Result<(), String> {
        let wide = |g: &[f32]| g.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>();
        agreement((tape_value, &wide(tape_grads)), (value, &wide(grads)))
            .map_err(|how| format!("the tape disagrees with autodiff at the first step ({how})"))
    }
}

#[cfg(test)]
mod tests {
    use super::TapeStep;

    /// The first step's check: within the tolerances it keeps the tape; a gradient off by
    /// more, a value off by more, a non-finite gradient (which `max` would skip) or a
    /// gradient of another length drops it.
    #[test]
    fn the_first_step_check_keeps_only_an_agreeing_tape() {
        let grads = [1.0f32, -2.0, 0.5];
        assert!(TapeStep::agrees((10.0, &grads), (10.0005, &grads)).is_ok());
        let near = [1.0f32, -2.0 + 2e-3, 0.5];
        assert!(TapeStep::agrees((10.0, &near), (10.0, &grads)).is_ok());
        let off = [1.0f32, -2.0 + 5e-3, 0.5];
        assert!(TapeStep::agrees((10.0, &off), (10.0, &grads)).is_err());
        assert!(TapeStep::agrees((10.01, &grads), (10.0, &grads)).is_err());
        let nan = [1.0f32, f32::NAN, 0.5];
        assert!(TapeStep::agrees((10.0, &grads), (10.0, &nan)).is_err());
        assert!(TapeStep::agrees((10.0, &grads[..2]), (10.0, &grads)).is_err());
    }
}
