//! NUTS's gradient without burn's autodiff at every step: the model's log-joint recorded once
//! on burn's capture device, compiled into an `inferrs-tape` [`Tape`], checked against burn's
//! autodiff, and replayed in `f64` at every leapfrog step.
//!
//! burn's autodiff builds its graph again at each evaluation, a few microseconds per operation
//! whatever its size; eight schools' log-joint is about 45 operations, so about 75 µs of
//! bookkeeping for a few hundred flops. The tape has no per-operation bookkeeping, computes
//! what depends on the data alone once, and needs no `f32` round trip.
//!
//! The record is faithful because nothing in a model's run can depend on the values of its
//! latent variables without reading them, and the capture device cannot read a computed value
//! (the model sees each latent variable through one recorded operation): a model that reads
//! one fails to record, and keeps burn's autodiff. So does a model with an
//! operation the tape does not implement ([`inferrs_tape::TapeError`]), one whose tape
//! disagrees with burn's autodiff at the check points, and one large enough that burn's fused
//! kernels are faster ([`MAX_ELEMENTS_TOUCHED`]). The choice depends on the model alone,
//! never on timing, so a seed repeats bit for bit. [`Samples::gradient`](super::Samples::gradient)
//! says which path ran, and why.

use std::panic::{AssertUnwindSafe, catch_unwind};

use burn::backend::Capture;
use burn::backend::capture::CapturedGraph;
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use inferrs_distributions::Rng;
use inferrs_tape::Tape;
use rand::{Rng as _, SeedableRng};

use super::density::{DensityError, Layout, LogJoint, log_joint_tensor};
use crate::Error;
use crate::runtime::{Ctx, Values};

/// How a NUTS run computed the gradient of the log-joint, or a fit the gradient of its bound.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Gradient {
    /// The tape (`inferrs-tape`) of the log-joint (NUTS) or of the step's bound (a fit):
    /// recorded once, replayed in `f64`.
    Tape {
        /// Instructions replayed per evaluation (what depends on the data alone is computed
        /// once).
        instructions: usize,
    },
    /// A fit's step on the row-blocked tape of its bound (`inferrs_tape::RowTape`): recorded
    /// once, replayed in `f32` a block of data rows at a time, the blocks on rayon's threads.
    Rows {
        /// Instructions replayed per evaluation.
        instructions: usize,
        /// Data rows a block.
        block_rows: usize,
    },
    /// burn's autodiff, in `f32`, at every evaluation.
    Autodiff {
        /// Why not the tape (an operation it does not replay, a model that reads a value,
        /// [`Nuts::tape`](super::Nuts::tape) turned off, ...).
        why: String,
    },
}

impl std::fmt::Display for Gradient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tape { instructions } => {
                write!(f, "the tape ({instructions} instructions, f64)")
            }
            Self::Rows {
                instructions,
                block_rows,
            } => write!(
                f,
                "the row-blocked tape ({instructions} instructions, f32, {block_rows} rows a block)"
            ),
            Self::Autodiff { why } => write!(f, "burn's autodiff (f32): {why}"),
        }
    }
}

/// The most elements an evaluation of the tape may read and write
/// ([`Tape::elements_touched`]) for NUTS to take it. Above it the per-element work outweighs
/// burn's fixed cost per operation, and burn's fused `f32` kernels (vectorised, on flex) are
/// faster: measured on the logistic regression with 20 features (`bench_nuts --rows N
/// --warmup 500 --draws 500`, 4 chains), the tape is faster at 1000 rows (39,392 elements:
/// 0.78 s against 0.90 s), slower at 3000 (117,392: 2.55 s against 1.38 s).
const MAX_ELEMENTS_TOUCHED: usize = 50_000;

/// Points of the unconstrained space, drawn uniformly in `(-1, 1)` from a fixed stream, where
/// the tape is checked against burn's autodiff.
const CHECK_POINTS: usize = 3;

/// The tape of `f`'s log-joint with parameters `params` given `observed` (`rows` rows, on a
/// device that is not autodiff), its inputs the layout's flat vector.
///
/// # Errors
/// Why there is none, in words: the model could not be recorded (it reads a value, or fails),
/// or its record has an operation the tape does not replay.
pub(crate) fn compile<P, F>(
    f: &F,
    params: &P,
    (observed, rows): (&Values, usize),
    layout: &Layout,
) -> Result<Tape, String>
where
    P: Module,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    let device = Device::capture();
    let mut failure: Option<String> = None;
    let _one_at_a_time = RECORDING_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let _quiet = QuietPanics::new();
    let recorded = catch_unwind(AssertUnwindSafe(|| {
        device.capture_scope(|scope| {
            let params = params.valid().to_device(&device);
            let observed: Values = observed
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().to_device(&device)))
                .collect();
            let leaves: Vec<Tensor<2>> = layout
                .sites
                .iter()
                .map(|s| Tensor::from_data(TensorData::new(vec![0.0f32; s.len()], s.free), &device))
                .collect();
            let ids: Result<Vec<_>, _> = leaves
                .iter()
                .map(|t| t.clone().try_into_primitive::<Capture>().map(|p| p.id()))
                .collect();
            // The model sees the leaves through one operation each: a computed tensor has no
            // value on the capture device, so a model that reads a latent variable's value
            // fails to record (the leaves themselves hold the zeros they were made from).
            let unreadable: Vec<Tensor<2>> =
                leaves.iter().map(|u| u.clone().mul_scalar(1.0)).collect();
            let mut rng = Rng::seed_from_u64(0);
            let total = log_joint_tensor(
                f,
                &params,
                (&observed, rows),
                layout,
                &unreadable,
                &device,
                &mut rng,
            );
            let out = match total {
                Ok(Some(total)) => total.try_into_primitive::<Capture>().map(|p| p.id()),
                Ok(None) => {
                    failure = Some("the model has no site".to_string());
                    return scope.complete([], []);
                }
                Err(e) => {
                    failure = Some(format!("the model could not be recorded: {e}"));
                    return scope.complete([], []);
                }
            };
            match (ids, out) {
                (Ok(ids), Ok(out)) => scope.complete(ids, [out]),
                _ => {
                    failure = Some("a tensor of the record is not a capture tensor".to_string());
                    scope.complete([], [])
                }
            }
        })
    }));
    tape_of(recorded, failure, "the model")
}

/// The tape of a record (`recorded`: the caught result of `capture_scope`; `failure`: why the
/// record's closure gave up, if it did), or why there is none; `what` was recorded.
pub(crate) fn tape_of(
    recorded: std::thread::Result<Result<CapturedGraph, burn::backend::capture::CaptureError>>,
    failure: Option<String>,
    what: &str,
) -> Result<Tape, String> {
    let captured = captured_of(recorded, failure, what)?;
    compile_quietly(|| Tape::compile(&captured))
}

/// The graph of a record that completed without a failure, or why not.
///
/// # Errors
/// A panic while recording, a failed record, or `failure`.
pub(crate) fn captured_of(
    recorded: std::thread::Result<Result<CapturedGraph, burn::backend::capture::CaptureError>>,
    failure: Option<String>,
    what: &str,
) -> Result<CapturedGraph, String> {
    let captured = match recorded {
        Err(_) => return Err(format!("{what} panicked while it was recorded")),
        Ok(Err(e)) => return Err(format!("the record failed: {e}")),
        Ok(Ok(captured)) => captured,
    };
    match failure {
        Some(why) => Err(why),
        None => Ok(captured),
    }
}

/// Runs a tape's compiler: a defect of it must cost the model its tape, not the run.
///
/// # Errors
/// The compiler's error, or its panic, in words.
pub(crate) fn compile_quietly<T>(
    compile: impl FnOnce() -> Result<T, inferrs_tape::TapeError>,
) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(compile)) {
        Ok(tape) => tape.map_err(|e| e.to_string()),
        Err(_) => Err("the tape's compiler panicked on this record".to_string()),
    }
}

/// Whether a tape's value and gradient (`tape`) agree with burn's autodiff's (`reference`):
/// the same length, all finite (a `NaN` would pass the maxima below unseen), the value within
/// `1e-4 (1 + |v|)` and the gradient within `1e-3 (1 + max |g|)` in its largest element:
/// `f32`'s rounding over sums of up to `10^6` terms. NUTS's check points and a fit's first
/// step both ask it.
///
/// # Errors
/// How they differ, in words.
pub(crate) fn agreement(
    (tape_value, tape_grad): (f64, &[f64]),
    (value, grad): (f64, &[f64]),
) -> Result<(), String> {
    if tape_grad.len() != grad.len() {
        return Err(format!(
            "{} gradients against {}",
            tape_grad.len(),
            grad.len()
        ));
    }
    let finite = |g: &[f64]| g.iter().all(|v| v.is_finite());
    if !(tape_value.is_finite() && value.is_finite() && finite(tape_grad) && finite(grad)) {
        return Err(format!(
            "value {tape_value} against {value}, or a gradient, not finite"
        ));
    }
    let scale = 1.0 + grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    let worst = tape_grad
        .iter()
        .zip(grad)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    if (tape_value - value).abs() <= 1e-4 * (1.0 + value.abs()) && worst <= 1e-3 * scale {
        Ok(())
    } else {
        Err(format!(
            "value {tape_value} against {value}, gradient off by {worst:.3e}"
        ))
    }
}

/// Held while a thread records on burn's capture device. There is one capture device per
/// process, and a second scope opened while one is active fails (`AlreadyActive`): without
/// the lock, two fits or runs recording at once on two threads would take the tape or not
/// depending on their timing.
pub(crate) static RECORDING_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

thread_local! {
    /// Whether this thread is recording a model, whose panics are caught and answered with
    /// burn's autodiff.
    static RECORDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While it lives, a panic on this thread (burn's checks that read a value, such as
/// `one_hot`'s, panic on the capture device) prints nothing: [`compile`] catches it and the
/// model keeps burn's autodiff, so the message would only alarm. Other threads' panics print
/// as before: the hook is installed once and defers to the one it replaced.
pub(crate) struct QuietPanics;

impl QuietPanics {
    pub(crate) fn new() -> Self {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if !RECORDING.with(std::cell::Cell::get) {
                    previous(info);
                }
            }));
        });
        RECORDING.with(|r| r.set(true));
        Self
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        RECORDING.with(|r| r.set(false));
    }
}

/// `tape` if it is small enough to pay ([`MAX_ELEMENTS_TOUCHED`]) and agrees with burn's
/// autodiff (`reference`) at [`CHECK_POINTS`] points of the `dim`-dimensional unconstrained
/// space, with the gradient path that says so; otherwise no tape, and why.
///
/// Agreement: value within `1e-4 (1 + |v|)` and gradient within `1e-3 (1 + max |g|)` in the
/// largest element, `f32`'s rounding over sums of up to `10^6` terms. It guards against a
/// tape that computes another function; the tape's own tests check it to `f32` rounding.
pub(crate) fn checked<P, F>(
    tape: Result<Tape, String>,
    reference: &mut LogJoint<'_, P, F>,
    dim: usize,
) -> (Option<Tape>, Gradient)
where
    P: Module,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    let mut tape = match tape {
        Ok(tape) => tape,
        Err(why) => return (None, Gradient::Autodiff { why }),
    };
    let touched = tape.elements_touched();
    if touched > MAX_ELEMENTS_TOUCHED {
        return (
            None,
            Gradient::Autodiff {
                why: format!(
                    "an evaluation touches {touched} elements, above {MAX_ELEMENTS_TOUCHED}: \
                     burn's fused kernels are faster there"
                ),
            },
        );
    }
    let mut rng = Rng::seed_from_u64(0x7A9E);
    let mut compared = 0;
    for _ in 0..CHECK_POINTS {
        let point: Vec<f64> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut want = vec![0.0; dim];
        let value = match reference.autodiff_value_and_grad(&point, &mut want) {
            Ok(v) if v.is_finite() && want.iter().all(|g| g.is_finite()) => v,
            // Not a point to compare at (the density is not finite there).
            Ok(_) | Err(DensityError::NonFinite(_) | DensityError::Refused(_)) => continue,
            Err(DensityError::Model(e)) => {
                return (
                    None,
                    Gradient::Autodiff {
                        why: format!("the model fails under autodiff: {e}"),
                    },
                );
            }
        };
        let mut got = vec![0.0; dim];
        let tape_value = tape.value_and_grad(&point, &mut got);
        if let Err(how) = agreement((tape_value, &got), (value, &want)) {
            return (
                None,
                Gradient::Autodiff {
                    why: format!("the tape disagrees with autodiff ({how})"),
                },
            );
        }
        compared += 1;
    }
    if compared == 0 {
        return (
            None,
            Gradient::Autodiff {
                why: "no check point has a finite log-density".to_string(),
            },
        );
    }
    let instructions = tape.len();
    (Some(tape), Gradient::Tape { instructions })
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor};
    use inferrs_distributions::Normal;

    use super::super::density::tests::{NoParams, central_differences, schools, schools_data};
    use super::*;

    /// Eight schools with `mu ~ N(0, mu_scale)` and the location of `y` written by `loc` from
    /// `mu`, `tau` and `theta`: variants of one model over one layout.
    fn schools_with(
        ctx: &mut Ctx<'_>,
        mu_scale: f64,
        loc: impl FnOnce(Tensor<2>, Tensor<2>, Tensor<2>) -> Result<Tensor<2>, Error>,
    ) -> Result<(), Error> {
        let mu = ctx.sample_global("mu", Normal::new(0.0, mu_scale))?;
        let tau = ctx.sample_global("tau", inferrs_distributions::HalfCauchy::new(5.0))?;
        let sigma = ctx.input("sigma")?;
        let theta = ctx.sample("theta_t", Normal::new(0.0, 1.0))?;
        ctx.sample("y", Normal::new(loc(mu, tau, theta)?, sigma))?;
        Ok(())
    }

    fn schools_tape() -> Tape {
        let (observed, layout) = schools_data(&Device::flex());
        compile(&schools, &NoParams::new(), (&observed, 8), &layout).unwrap()
    }

    /// The tape's gradient matches central finite differences of its own value, to
    /// `1e-6 (1 + |g|)`: `f64` evaluations, `h = 1e-5`, a truncation error of order `h^2`.
    #[test]
    fn the_tapes_gradient_matches_finite_differences() {
        let mut tape = schools_tape();
        assert_eq!(tape.input_lens(), [1, 1, 8]);
        let position: Vec<f64> = (0..10).map(|i| 0.3 * (i as f64) - 1.2).collect();
        let mut grad = vec![0.0; 10];
        tape.value_and_grad(&position, &mut grad);
        let fd = central_differences(|p| tape.value_and_grad(p, &mut [0.0; 10]), &position, 1e-5);
        for (i, fd) in fd.into_iter().enumerate() {
            assert!(
                (grad[i] - fd).abs() < 1e-6 * (1.0 + grad[i].abs()),
                "element {i}: tape {} against finite differences {fd}",
                grad[i]
            );
        }
    }

    /// The tape agrees with burn's autodiff, and is chosen; a tape of another function is
    /// refused, and the reason says so.
    #[test]
    fn the_tape_is_checked_against_autodiff() {
        let device = Device::flex().autodiff();
        let (observed, layout) = schools_data(&device);
        let mut reference =
            LogJoint::new(&schools, &NoParams::new(), (observed, 8), &layout, device);
        let (tape, gradient) = checked(Ok(schools_tape()), &mut reference, layout.dim);
        assert!(tape.is_some());
        assert!(matches!(gradient, Gradient::Tape { instructions } if instructions > 10));

        // The same model with `mu ~ N(0, 6)`: another log-joint over the same layout.
        let other = |_: &NoParams, ctx: &mut Ctx<'_>| {
            schools_with(ctx, 6.0, |mu, tau, theta| Ok(mu + tau * theta))
        };
        let (host, _) = schools_data(&Device::flex());
        let wrong = compile(&other, &NoParams::new(), (&host, 8), &layout);
        let (tape, gradient) = checked(wrong, &mut reference, layout.dim);
        assert!(tape.is_none());
        assert!(
            matches!(&gradient, Gradient::Autodiff { why } if why.contains("disagrees")),
            "{gradient}"
        );
    }

    /// A log-joint over many rows keeps burn's autodiff (its fused kernels), and says why.
    #[test]
    fn a_large_log_joint_keeps_autodiff() {
        let model = |_: &NoParams, ctx: &mut Ctx<'_>| -> Result<(), Error> {
            let mu = ctx.sample_global("mu", Normal::new(0.0, 10.0))?;
            ctx.sample("y", Normal::new(mu, 2.0))?;
            Ok(())
        };
        let rows = 20_000;
        let ys: Vec<f32> = (0..rows).map(|i| (i % 7) as f32 - 3.0).collect();
        let latents = [super::super::density::tests::latent(
            "mu",
            1,
            inferrs_distributions::Support::Real,
        )];
        let layout = Layout::new(&latents).unwrap();
        let column = super::super::density::tests::column;
        let host: Values = [("y".to_string(), column(&ys, &Device::flex()))].into();
        let tape = compile(&model, &NoParams::new(), (&host, rows), &layout);
        assert!(
            tape.as_ref()
                .is_ok_and(|t| t.elements_touched() > MAX_ELEMENTS_TOUCHED)
        );
        let device = Device::flex().autodiff();
        let observed: Values = [("y".to_string(), column(&ys, &device))].into();
        let mut reference =
            LogJoint::new(&model, &NoParams::new(), (observed, rows), &layout, device);
        let (tape, gradient) = checked(tape, &mut reference, layout.dim);
        assert!(tape.is_none());
        assert!(
            matches!(&gradient, Gradient::Autodiff { why } if why.contains("fused kernels")),
            "{gradient}"
        );
    }

    /// A model that reads a value of its latent variables cannot be recorded, and one with an
    /// operation the tape does not replay is not compiled: both keep burn's autodiff, with the
    /// reason.
    #[test]
    fn what_the_tape_cannot_replay_keeps_autodiff() {
        let (observed, layout) = schools_data(&Device::flex());
        let reads = |_: &NoParams, ctx: &mut Ctx<'_>| {
            schools_with(ctx, 5.0, |mu, tau, theta| {
                // A branch on a value: what the record cannot hold.
                let shift = mu
                    .clone()
                    .try_into_scalar::<f32>()
                    .map_err(|e| Error::Device(format!("{e:?}")))?;
                Ok(mu + tau * theta + f64::from(shift))
            })
        };
        let why = compile(&reads, &NoParams::new(), (&observed, 8), &layout).unwrap_err();
        assert!(why.contains("could not be recorded"), "{why}");

        let erf = |_: &NoParams, ctx: &mut Ctx<'_>| {
            schools_with(ctx, 5.0, |mu, tau, theta| Ok(mu.erf() + tau * theta))
        };
        let why = compile(&erf, &NoParams::new(), (&observed, 8), &layout).unwrap_err();
        assert!(why.contains("Erf"), "{why}");

        // burn's `one_hot` reads its labels' maximum: a panic on the capture device.
        let one_hot = |_: &NoParams, ctx: &mut Ctx<'_>| {
            schools_with(ctx, 5.0, |mu, tau, theta| {
                let k = theta.clone().argmax(1).reshape([8]).one_hot::<2>(2).float();
                Ok(mu + tau * theta + k.sum_dim(1))
            })
        };
        let why = compile(&one_hot, &NoParams::new(), (&observed, 8), &layout).unwrap_err();
        assert!(why.contains("panicked"), "{why}");
        assert!(!RECORDING.with(std::cell::Cell::get));
    }
}
