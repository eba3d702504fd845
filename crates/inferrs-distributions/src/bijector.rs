//! Bijectors: smooth invertible maps from the real line onto the support of a distribution.
//!
//! Automatic guides fit a constrained latent variable `x` in an unconstrained space: they
//! learn a distribution over `u` in `R^d` and set `x = T(u)`, and the ELBO adds
//! `log |det dT/du|` (the change of variables). [`Bijector::for_support`] picks `T` for a
//! [`Support`].

use burn::tensor::activation::{log_sigmoid, sigmoid, softplus_with_threshold};
use burn::tensor::{DType, Tensor, TensorData};

use crate::{DistError, Support};

const NAME: &str = "Bijector";

/// Above this input softplus returns its input: `ln(1 + e^u) - u < 2.1e-9` there, below half
/// an f32 ulp of `u`, and `e^u` is never evaluated where it could overflow.
const SOFTPLUS_THRESHOLD: f64 = 20.0;

/// An invertible, differentiable map `x = T(u)` from unconstrained rows `u` (`[rows, d]`) onto
/// a constrained set, applied row by row.
///
/// | variant | `T(u)` (elementwise unless said) | image | log-determinant per element |
/// |---|---|---|---|
/// | `Identity` | `u` | `R` | `0` |
/// | `Exp` | `e^u` | `(0, inf)` | `u` |
/// | `Softplus` | `ln(1 + e^u)` | `(0, inf)` | `log_sigmoid(u)` |
/// | `Sigmoid` | `1 / (1 + e^-u)` | `(0, 1)` | `log_sigmoid(u) + log_sigmoid(-u)` |
/// | `Interval` | `low + (high - low) sigmoid(u)` | `(low, high)` | `ln(high - low) + log_sigmoid(u) + log_sigmoid(-u)` |
/// | `GreaterThan` | `low + softplus(u)` | `(low, inf)` | `log_sigmoid(u)` |
/// | `StickBreaking` | `[rows, d]` onto rows of `d + 1` | simplex | see the variant |
///
/// Everything is composed of burn tensor operations, so it is differentiable on an autodiff
/// device, and written to stay finite in the tails: for `|u|` up to 80 in f32 the values, the
/// log-determinants and their gradients contain no NaN or infinity.
///
/// [`forward`](Bijector::forward) keeps its output inside the open support in the tensor's
/// precision (f32 or f64): where the exact value rounds onto a boundary (`sigmoid(20) = 1` in
/// f32, `1.5 + softplus(-20) = 1.5`) it returns the nearest representable value inside
/// instead, as NumPyro clips `sigmoid` to `[tiny, 1 - eps]`. The gradient is zero there (the
/// exact one is below the precision too). [`log_abs_det_jacobian`] is always the exact
/// formula at `u`, never clipped.
///
/// The bounds of `Interval` and `GreaterThan` are not checked when the variants are written
/// directly; [`Bijector::interval`], [`Bijector::greater_than`] and
/// [`Bijector::for_support`] check them.
///
/// ```
/// use burn::tensor::{Device, Tensor, TensorData};
/// use inferrs_distributions::{Bijector, Support};
///
/// let device = Device::flex();
/// let simplex = Bijector::for_support(&Support::Simplex).unwrap();
/// let u = Tensor::<2>::zeros([2, 3], &device); // [rows, d]
/// let x = simplex.forward(u.clone()); // [rows, d + 1]: the uniform simplex, 0.25 each
/// assert_eq!(x.dims(), [2, 4]);
/// assert_eq!(simplex.log_abs_det_jacobian(u).dims(), [2]);
///
/// let positive = Bijector::for_support(&Support::Positive).unwrap(); // softplus
/// let x = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, 3.0], [2, 1]), &device);
/// let u = positive.inverse(x);
/// assert_eq!(u.dims(), [2, 1]);
/// ```
///
/// [`log_abs_det_jacobian`]: Bijector::log_abs_det_jacobian
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bijector {
    /// `x = u`, onto the real line.
    Identity,
    /// `x = exp(u)`, onto `(0, inf)`.
    Exp,
    /// `x = softplus(u) = ln(1 + e^u)`, onto `(0, inf)`; `x = u` for `u > 20`.
    Softplus,
    /// `x = sigmoid(u)`, onto `(0, 1)`.
    Sigmoid,
    /// `x = low + (high - low) sigmoid(u)`, onto `(low, high)`.
    Interval {
        /// Lower bound (finite, below `high`).
        low: f64,
        /// Upper bound (finite, above `low`).
        high: f64,
    },
    /// `x = low + softplus(u)`, onto `(low, inf)`.
    GreaterThan {
        /// Lower bound (finite).
        low: f64,
    },
    /// Stick breaking, from `R^d` onto the simplex of `K = d + 1` entries (NumPyro's and
    /// TensorFlow Probability's `StickBreakingTransform`).
    ///
    /// With `x_i = u_i - ln(d - i)` (`i = 0..d`; the offset makes `u = 0` the uniform simplex
    /// `1/K`) and `z_i = sigmoid(x_i)`, the fraction of the remaining stick taken by entry `i`:
    /// `y_i = z_i prod_{j<i} (1 - z_j)` for `i < d` and `y_d = prod_{j<d} (1 - z_j)`.
    ///
    /// `log |det|` of the Jacobian of the first `d` outputs with respect to `u` (it is
    /// triangular) is `sum_i [ln y_i + ln(1 - z_i)]` (NumPyro's formula; Stan reference
    /// manual, "Unit simplex"). Everything is evaluated in log space
    /// (`ln z = log_sigmoid(x)`, `ln(1 - z) = log_sigmoid(-x)`).
    StickBreaking,
}

impl Bijector {
    /// The bijector from the real line (`R^d`) onto `support`.
    ///
    /// * `Real`, `Dependent` → [`Identity`](Bijector::Identity) (a dependent support is fitted
    ///   as real).
    /// * `Positive` → [`Softplus`](Bijector::Softplus), not `Exp`: far above 0 softplus is
    ///   linear, so the gradient of `x` (and of a loss through it) with respect to `u` stays 1
    ///   instead of growing as `e^u`, and one large optimiser step cannot overflow `x`. This is
    ///   what Pyro/NumPyro users reach for with `softplus_positive` when `biject_to(positive)`
    ///   (`exp`) trains badly. [`Exp`](Bijector::Exp) remains available.
    /// * `GreaterThan(low)` → [`GreaterThan`](Bijector::GreaterThan) (`low + softplus`).
    /// * `UnitInterval` → [`Sigmoid`](Bijector::Sigmoid).
    /// * `Interval { low, high }` → [`Interval`](Bijector::Interval)
    ///   (`low + (high - low) sigmoid`).
    /// * `Simplex` → [`StickBreaking`](Bijector::StickBreaking).
    ///
    /// # Arguments
    ///
    /// * `support` - the set the variable lives in.
    ///
    /// # Errors
    ///
    /// [`DistError::InvalidParameter`] with `param: "support"` when the support is discrete
    /// (`Boolean`, `NonNegativeInteger`, `IntegerInterval`): the reason names it, and the value
    /// is NaN (there is no number to report). Such variables cannot be transformed to the real
    /// line. Also the errors of [`Bijector::interval`] and [`Bijector::greater_than`] for
    /// invalid bounds.
    pub fn for_support(support: &Support) -> Result<Self, DistError> {
        let discrete = |reason: &'static str| DistError::InvalidParameter {
            dist: NAME,
            param: "support",
            value: f64::NAN,
            reason,
        };
        match *support {
            Support::Real | Support::Dependent => Ok(Bijector::Identity),
            Support::Positive => Ok(Bijector::Softplus),
            Support::GreaterThan(low) => Bijector::greater_than(low),
            Support::UnitInterval => Ok(Bijector::Sigmoid),
            Support::Interval { low, high } => Bijector::interval(low, high),
            Support::Simplex => Ok(Bijector::StickBreaking),
            Support::Boolean => Err(discrete(
                "the support Boolean ({0, 1}) is discrete and cannot be transformed to the real \
                 line",
            )),
            Support::NonNegativeInteger => Err(discrete(
                "the support NonNegativeInteger ({0, 1, 2, ...}) is discrete and cannot be \
                 transformed to the real line",
            )),
            Support::IntegerInterval { .. } => Err(discrete(
                "the support IntegerInterval ({low, ..., high}) is discrete and cannot be \
                 transformed to the real line",
            )),
        }
    }

    /// The bijector onto `(low, high)`: `low + (high - low) sigmoid(u)`.
    ///
    /// # Arguments
    ///
    /// * `low` - the lower bound; finite.
    /// * `high` - the upper bound; finite, above `low`, with `high - low` finite.
    ///
    /// # Errors
    ///
    /// [`DistError::InvalidParameter`] naming `low` or `high` with the offending value.
    pub fn interval(low: f64, high: f64) -> Result<Self, DistError> {
        let invalid = |param, value, reason| DistError::InvalidParameter {
            dist: NAME,
            param,
            value,
            reason,
        };
        if !low.is_finite() {
            return Err(invalid("low", low, "must be finite"));
        }
        if !high.is_finite() {
            return Err(invalid("high", high, "must be finite"));
        }
        if high <= low {
            return Err(invalid("high", high, "must be greater than `low`"));
        }
        if !(high - low).is_finite() {
            return Err(invalid("high", high, "`high - low` must be finite"));
        }
        Ok(Bijector::Interval { low, high })
    }

    /// The bijector onto `(low, inf)`: `low + softplus(u)`.
    ///
    /// # Arguments
    ///
    /// * `low` - the lower bound; finite.
    ///
    /// # Errors
    ///
    /// [`DistError::InvalidParameter`] with the offending `low`.
    pub fn greater_than(low: f64) -> Result<Self, DistError> {
        if !low.is_finite() {
            return Err(DistError::InvalidParameter {
                dist: NAME,
                param: "low",
                value: low,
                reason: "must be finite",
            });
        }
        Ok(Bijector::GreaterThan { low })
    }

    /// Maps unconstrained rows onto the support: `x = T(u)`.
    ///
    /// Differentiable in `u`. The output is kept inside the open support in the tensor's
    /// precision (see [`Bijector`]).
    ///
    /// # Arguments
    ///
    /// * `u` - unconstrained values.
    ///
    /// # Shapes
    ///
    /// * `u`: `[rows, d]`
    /// * returns: `[rows, d]`, or `[rows, d + 1]` for [`StickBreaking`](Bijector::StickBreaking)
    pub fn forward(&self, u: Tensor<2>) -> Tensor<2> {
        let dtype = u.dtype();
        match *self {
            Bijector::Identity => u,
            Bijector::Exp => u.exp().clamp_min(above(0.0, dtype)),
            Bijector::Softplus => softplus(u).clamp_min(above(0.0, dtype)),
            Bijector::Sigmoid => sigmoid(u).clamp(above(0.0, dtype), below(1.0, dtype)),
            Bijector::Interval { low, high } => sigmoid(u)
                .mul_scalar(high - low)
                .add_scalar(low)
                .clamp(above(low, dtype), below(high, dtype)),
            Bijector::GreaterThan { low } => {
                softplus(u).add_scalar(low).clamp_min(above(low, dtype))
            }
            Bijector::StickBreaking => {
                let [rows, d] = u.dims();
                if d == 0 {
                    return Tensor::ones([rows, 1], (&u.device(), dtype));
                }
                let StickLogs {
                    log_head, log_rest, ..
                } = stick_logs(u);
                let log_last = log_rest.narrow(1, d - 1, 1);
                Tensor::cat(vec![log_head, log_last], 1)
                    .exp()
                    .clamp_min(above(0.0, dtype))
            }
        }
    }

    /// Maps constrained rows back to the unconstrained space: `u = T^-1(x)`.
    ///
    /// * `Exp`: `ln x`; `Softplus`: `x + ln(-expm1(-x))`, evaluated as
    ///   `x + ln(2t) - ln(1 + t)` with `t = tanh(x / 2)` (the identity
    ///   `1 - e^-x = 2t / (1 + t)`, with no cancellation for small or large `x`).
    /// * `Sigmoid`: `ln x - ln(1 - x)`; `Interval`: `ln(x - low) - ln(high - x)`;
    ///   `GreaterThan`: the softplus inverse of `x - low`.
    /// * `StickBreaking`: `u_i = ln y_i - ln(sum_{j>i} y_j) + ln(d - i)`. The remaining stick is
    ///   summed from the tail rather than computed as `1 - cumsum`, which avoids cancellation;
    ///   the result depends only on ratios of entries, so a row that sums to 1 only within
    ///   rounding maps to the same `u` as its normalised version.
    ///
    /// Points on the boundary give infinite `u` (e.g. `Sigmoid` at `x = 1`); points outside
    /// the support give NaN. Differentiable in `x` inside the support.
    ///
    /// # Arguments
    ///
    /// * `x` - constrained values.
    ///
    /// # Shapes
    ///
    /// * `x`: `[rows, d]`, or `[rows, d + 1]` for [`StickBreaking`](Bijector::StickBreaking)
    /// * returns: `[rows, d]`
    ///
    /// # Panics
    ///
    /// For [`StickBreaking`](Bijector::StickBreaking) when `x` has no columns (a simplex has at
    /// least one entry).
    pub fn inverse(&self, x: Tensor<2>) -> Tensor<2> {
        match *self {
            Bijector::Identity => x,
            Bijector::Exp => x.log(),
            Bijector::Softplus => inverse_softplus(x),
            Bijector::Sigmoid => x.clone().log() - x.neg().log1p(),
            Bijector::Interval { low, high } => {
                x.clone().sub_scalar(low).log() - x.neg().add_scalar(high).log()
            }
            Bijector::GreaterThan { low } => inverse_softplus(x.sub_scalar(low)),
            Bijector::StickBreaking => {
                let [rows, k] = x.dims();
                assert!(
                    k > 0,
                    "Bijector::StickBreaking::inverse: a simplex needs at least one column, got \
                     [{rows}, 0]"
                );
                let d = k - 1;
                if d == 0 {
                    return Tensor::zeros([rows, 0], (&x.device(), x.dtype()));
                }
                // Suffix sums S_i = sum_{j>=i} y_j; the stick left after entry i is S_{i+1}.
                let suffix = x.clone().flip([1]).cumsum(1).flip([1]);
                let rest = suffix.narrow(1, 1, d);
                let offsets = stick_offsets(d, &x);
                x.narrow(1, 0, d).log() - rest.log() + offsets
            }
        }
    }

    /// `log |det dT/du|` at `u`, summed over each row: the term the ELBO adds for a variable
    /// fitted as `x = T(u)`.
    ///
    /// Differentiable in `u`, stable in the tails (every term is a `log_sigmoid`, never the
    /// log of a rounded sigmoid). For [`StickBreaking`](Bijector::StickBreaking) the Jacobian
    /// is that of the first `d` outputs (the last is determined by the others).
    ///
    /// # Arguments
    ///
    /// * `u` - unconstrained values (the input of [`forward`](Bijector::forward)).
    ///
    /// # Shapes
    ///
    /// * `u`: `[rows, d]`
    /// * returns: `[rows]`
    pub fn log_abs_det_jacobian(&self, u: Tensor<2>) -> Tensor<1> {
        let [rows, d] = u.dims();
        let per_element = match *self {
            Bijector::Identity => return Tensor::zeros([rows], (&u.device(), u.dtype())),
            Bijector::Exp => u,
            Bijector::Softplus | Bijector::GreaterThan { .. } => log_sigmoid(u),
            Bijector::Sigmoid => log_sigmoid(u.clone()) + log_sigmoid(u.neg()),
            Bijector::Interval { low, high } => {
                (log_sigmoid(u.clone()) + log_sigmoid(u.neg())).add_scalar((high - low).ln())
            }
            Bijector::StickBreaking => {
                if d == 0 {
                    return Tensor::zeros([rows], (&u.device(), u.dtype()));
                }
                let StickLogs {
                    log_head,
                    log_one_minus_z,
                    ..
                } = stick_logs(u);
                log_head + log_one_minus_z
            }
        };
        per_element.sum_dim(1).squeeze_dim::<1>(1)
    }

    /// The number of unconstrained columns `d` for a constrained value of `constrained`
    /// columns: `constrained - 1` for [`StickBreaking`](Bijector::StickBreaking) (0 for 0),
    /// `constrained` otherwise.
    pub fn unconstrained_size(&self, constrained: usize) -> usize {
        match self {
            Bijector::StickBreaking => constrained.saturating_sub(1),
            _ => constrained,
        }
    }
}

/// Softplus with the linear branch above [`SOFTPLUS_THRESHOLD`] (burn's implementation keeps
/// the discarded branch finite, so no NaN reaches the gradient).
fn softplus(u: Tensor<2>) -> Tensor<2> {
    softplus_with_threshold(u, 1.0, SOFTPLUS_THRESHOLD)
}

/// `ln(e^x - 1) = x + ln(1 - e^-x)` with `1 - e^-x = 2t / (1 + t)`, `t = tanh(x / 2)`: both
/// factors keep full relative precision for small `x` (where `1 - e^-x` cancels) and large `x`
/// (where `t` rounds to 1 and the correction is below the precision of `x`).
fn inverse_softplus(x: Tensor<2>) -> Tensor<2> {
    let t = x.clone().mul_scalar(0.5).tanh();
    x + t.clone().mul_scalar(2.0).log() - t.log1p()
}

/// The logarithms stick breaking is built from, for `u: [rows, d]` with `d >= 1`.
struct StickLogs {
    /// `ln y_i = ln z_i + sum_{j<i} ln(1 - z_j)`, `[rows, d]`.
    log_head: Tensor<2>,
    /// `ln(1 - z_i)`, `[rows, d]`.
    log_one_minus_z: Tensor<2>,
    /// `sum_{j<=i} ln(1 - z_j)`, the log of the stick left after entry `i`, `[rows, d]`.
    log_rest: Tensor<2>,
}

fn stick_logs(u: Tensor<2>) -> StickLogs {
    let [rows, d] = u.dims();
    let x = u.clone() - stick_offsets(d, &u);
    let log_z = log_sigmoid(x.clone());
    let log_one_minus_z = log_sigmoid(x.neg());
    let log_rest = log_one_minus_z.clone().cumsum(1);
    // The exclusive cumulative sum, shifted rather than `log_rest - log_one_minus_z`, which
    // would lose the small terms next to a large one.
    let log_before = if d == 1 {
        Tensor::zeros([rows, 1], (&u.device(), u.dtype()))
    } else {
        Tensor::cat(
            vec![
                Tensor::zeros([rows, 1], (&u.device(), u.dtype())),
                log_rest.clone().narrow(1, 0, d - 1),
            ],
            1,
        )
    };
    StickLogs {
        log_head: log_z + log_before,
        log_one_minus_z,
        log_rest,
    }
}

/// `ln(d - i)` for `i = 0..d`, `[1, d]`, on `like`'s device and dtype: the shift that maps
/// `u = 0` to the uniform simplex.
fn stick_offsets(d: usize, like: &Tensor<2>) -> Tensor<2> {
    let offsets: Vec<f64> = (0..d).map(|i| ((d - i) as f64).ln()).collect();
    Tensor::from_data(
        TensorData::new(offsets, [1, d]),
        (&like.device(), like.dtype()),
    )
}

/// The smallest value above `low` representable in `dtype` (f64, otherwise f32), and a
/// normal number when `low` is 0 (a subnormal may be flushed to 0 on accelerators).
fn above(low: f64, dtype: DType) -> f64 {
    if dtype == DType::F64 {
        let next = low.next_up();
        if next > 0.0 && next < f64::MIN_POSITIVE {
            f64::MIN_POSITIVE
        } else {
            next
        }
    } else {
        // The f32 nearest to `low`, then its successor: above `low` whichever way it rounded.
        let next = (low as f32).next_up();
        if next > 0.0 && next < f32::MIN_POSITIVE {
            f64::from(f32::MIN_POSITIVE)
        } else {
            f64::from(next)
        }
    }
}

/// The largest value below `high` representable in `dtype` (f64, otherwise f32).
fn below(high: f64, dtype: DType) -> f64 {
    -above(-high, dtype)
}
