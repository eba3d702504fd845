//! Helpers shared by the distribution families for `log_prob` and `sample`: broadcasting a
//! value against the parameters, masking values outside the support, arithmetic between a
//! tensor and a [`Param`] (scalar ops for scalar constants), host noise, and two macros for
//! the families' boilerplate: `batch_shape!` (`name`, `event_size` and `batch_rows` of a
//! [`Distribution`](crate::Distribution) impl) and `from_args_pair!` (the `FromArgs` impls of a
//! two-parameter family).
//!
//! Parameter validation and broadcasting of the parameters themselves live in
//! [`param`](crate::param).

use burn::tensor::{Bool, Device, Tensor, TensorData};

use crate::param::broadcast_dim;
use crate::{DistError, Param, Rng};

/// `t` broadcast to `shape` (a no-op when it already has it).
///
/// # Panics
///
/// When `t` does not broadcast to `shape`.
pub(crate) fn expand_to(t: Tensor<2>, shape: [usize; 2]) -> Tensor<2> {
    if t.dims() == shape {
        t
    } else {
        t.expand(shape)
    }
}

/// Broadcasts a value to the shape it has jointly with parameters of `[rows, cols]`, so that
/// masks and log-density terms all have one shape.
///
/// # Panics
///
/// When the shapes do not broadcast (see [`Distribution::check_value`](crate::Distribution)).
pub(crate) fn expand_value(dist: &str, value: Tensor<2>, rows: usize, cols: usize) -> Tensor<2> {
    let [vr, vc] = value.dims();
    let (Some(r), Some(c)) = (broadcast_dim(rows, vr), broadcast_dim(cols, vc)) else {
        panic!(
            "{dist}::log_prob: value of shape [{vr}, {vc}] does not broadcast with parameters \
             of shape [{rows}, {cols}]"
        );
    };
    expand_to(value, [r, c])
}

/// Expands `value` (see [`expand_value`]), marks its entries outside the open support with
/// `outside`, and replaces them by `fill` (a point inside the support) so that the density's
/// logarithms stay finite and the gradients free of NaN; the caller sets those entries to
/// `-inf` at the end (see [`sum_event_masked`]).
///
/// # Returns
///
/// The value with the outside entries filled, and the mask of those entries.
pub(crate) fn restrict(
    dist: &str,
    value: Tensor<2>,
    rows: usize,
    cols: usize,
    outside: impl Fn(Tensor<2>) -> Tensor<2, Bool>,
    fill: f64,
) -> (Tensor<2>, Tensor<2, Bool>) {
    let value = expand_value(dist, value, rows, cols);
    let mask = outside(value.clone());
    (value.mask_fill(mask.clone(), fill), mask)
}

/// [`restrict`] to the open support `(0, inf)`: entries `<= 0` are marked and replaced by 1.
pub(crate) fn restrict_positive(
    dist: &str,
    value: Tensor<2>,
    rows: usize,
    cols: usize,
) -> (Tensor<2>, Tensor<2, Bool>) {
    restrict(dist, value, rows, cols, |v| v.lower_equal_elem(0.0), 1.0)
}

/// Asserts that a value for a distribution over vectors of `cols` entries has `cols` columns.
///
/// # Panics
///
/// When it has another number of columns (see
/// [`Distribution::check_value`](crate::Distribution::check_value)).
pub(crate) fn assert_event_columns(dist: &str, value: &Tensor<2>, cols: usize) {
    let [vr, vc] = value.dims();
    assert!(
        vc == cols,
        "{dist}::log_prob: value of shape [{vr}, {vc}] must have {cols} columns"
    );
}

/// Sums an elementwise log density `[rows, cols]` over the event: `[rows]`.
pub(crate) fn sum_event(lp: Tensor<2>) -> Tensor<1> {
    lp.sum_dim(1).squeeze_dim::<1>(1)
}

/// Sums an elementwise log density over the event, with `-inf` where `outside` is set.
pub(crate) fn sum_event_masked(lp: Tensor<2>, outside: Tensor<2, Bool>) -> Tensor<1> {
    sum_event(lp.mask_fill(outside, f32::NEG_INFINITY))
}

/// Checks that a value has exactly `cols` columns and rows broadcasting with `rows` (for
/// distributions whose event is a vector: the columns cannot broadcast).
///
/// # Errors
///
/// [`DistError::Shape`] when the value does not fit.
pub(crate) fn check_value_exact(
    dist: &'static str,
    shape: [usize; 2],
    rows: usize,
    cols: usize,
) -> Result<(), DistError> {
    let [vr, vc] = shape;
    if vc != cols || broadcast_dim(rows, vr).is_none() {
        return Err(DistError::Shape {
            dist,
            detail: format!(
                "value of shape [{vr}, {vc}] does not fit: expected [{rows} or 1, {cols}]"
            ),
        });
    }
    Ok(())
}

/// Asserts that `rows` draws can be taken from parameters with `batch` rows.
///
/// # Panics
///
/// When `batch` is neither 1 nor `rows` (see
/// [`Distribution::check_rows`](crate::Distribution::check_rows)).
pub(crate) fn assert_rows(dist: &str, batch: usize, rows: usize) {
    assert!(
        batch == 1 || batch == rows,
        "{dist}::sample: cannot draw {rows} rows from parameters with {batch} rows"
    );
}

/// A `[rows, cols]` tensor on `device` from host draws `draw(row, col)`, each rounded to
/// `f32`, called in row-major order (so the caller's generator is consumed in a fixed order).
pub(crate) fn host_tensor(
    rows: usize,
    cols: usize,
    device: &Device,
    mut draw: impl FnMut(usize, usize) -> f64,
) -> Tensor<2> {
    let mut out = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            out.push(draw(r, c) as f32);
        }
    }
    Tensor::<2>::from_data(TensorData::new(out, [rows, cols]), device)
}

/// Noise `[rows, cols]` drawn on the host, row-major, one call of `draw` per element, moved to
/// `device` as `f32` (see [`host_tensor`]).
pub(crate) fn host_noise(
    rows: usize,
    cols: usize,
    device: &Device,
    rng: &mut Rng,
    mut draw: impl FnMut(&mut Rng) -> f64,
) -> Tensor<2> {
    host_tensor(rows, cols, device, |_, _| draw(rng))
}

/// A tensor's values read back in `f64` (row-major), for the unit tests.
#[cfg(test)]
pub(crate) fn to_f64<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

/// `p` as a tensor on `device`, with `f` applied: `host(x)` in `f64` for constants,
/// `tensor(t)` with tensor ops for a [`Param::Tensor`].
///
/// # Shapes
///
/// * returns: the parameter's own shape (see [`Param::to_tensor`]).
pub(crate) fn map_param(
    p: &Param,
    device: &Device,
    host: impl Fn(f64) -> f64,
    tensor: impl FnOnce(Tensor<2>) -> Tensor<2>,
) -> Tensor<2> {
    match p {
        Param::Tensor(t) => tensor(t.clone()),
        constant => crate::param::map_constant(constant, host)
            .expect("a constant parameter")
            .to_tensor(device),
    }
}

/// `t + p` (a scalar op for a [`Param::Scalar`]; other constants are created on `t`'s device).
pub(crate) fn add_param(t: Tensor<2>, p: &Param) -> Tensor<2> {
    match p {
        Param::Scalar(x) => t.add_scalar(*x),
        p => {
            let device = t.device();
            t + p.to_tensor(&device)
        }
    }
}

/// `t - p`.
pub(crate) fn sub_param(t: Tensor<2>, p: &Param) -> Tensor<2> {
    match p {
        Param::Scalar(x) => t.sub_scalar(*x),
        p => {
            let device = t.device();
            t - p.to_tensor(&device)
        }
    }
}

/// `t * p`.
pub(crate) fn mul_param(t: Tensor<2>, p: &Param) -> Tensor<2> {
    match p {
        Param::Scalar(x) => t.mul_scalar(*x),
        p => {
            let device = t.device();
            t * p.to_tensor(&device)
        }
    }
}

/// `t * (p + offset)`: an exponent such as `alpha - 1` (`offset = -1`) applied to a logarithm.
pub(crate) fn mul_offset_param(t: Tensor<2>, p: &Param, offset: f64) -> Tensor<2> {
    match p {
        Param::Scalar(x) => t.mul_scalar(x + offset),
        p => {
            let device = t.device();
            t * p.to_tensor(&device).add_scalar(offset)
        }
    }
}

/// `t / p`.
pub(crate) fn div_param(t: Tensor<2>, p: &Param) -> Tensor<2> {
    match p {
        Param::Scalar(x) => t.div_scalar(*x),
        p => {
            let device = t.device();
            t / p.to_tensor(&device)
        }
    }
}

/// `t - ln(p)`.
pub(crate) fn sub_ln_param(t: Tensor<2>, p: &Param) -> Tensor<2> {
    match p {
        Param::Scalar(x) => t.sub_scalar(x.ln()),
        p => {
            let device = t.device();
            t - p.to_tensor(&device).log()
        }
    }
}

/// The `name`, `event_size` and `batch_rows` methods of a [`Distribution`](crate::Distribution)
/// impl for a family that keeps its batch shape in fields: `batch_shape!(NAME)` reads `rows`
/// and `cols`, `batch_shape!(NAME; rows, d)` names the fields.
macro_rules! batch_shape {
    ($name:expr) => {
        $crate::shared::batch_shape!($name; rows, cols);
    };
    ($name:expr; $rows:ident, $cols:ident) => {
        fn name(&self) -> &'static str {
            $name
        }

        fn event_size(&self) -> usize {
            self.$cols
        }

        fn batch_rows(&self) -> usize {
            self.$rows
        }
    };
}
pub(crate) use batch_shape;

/// Implements [`FromArgs`](crate::FromArgs) for a family built by `Family::new(a, b)`: from the
/// pair written in a model, `Family(a, b)`, and from a pair returned by a network,
/// `Family(nn(x))`.
///
/// `from_args_pair!(Gamma(concentration: C, rate: R))` converts both arguments with
/// `Into<Param>`; `from_args_pair!(F(loc: L => Param, scale_tril: T => ScaleTril))` names the
/// target of each conversion.
macro_rules! from_args_pair {
    ($family:ident($a:ident: $A:ident, $b:ident: $B:ident)) => {
        $crate::shared::from_args_pair!(
            $family($a: $A => $crate::Param, $b: $B => $crate::Param)
        );
    };
    ($family:ident($a:ident: $A:ident => $TA:ty, $b:ident: $B:ident => $TB:ty)) => {
        impl<$A: Into<$TA>, $B: Into<$TB>> $crate::FromArgs<($A, $B)> for $family {
            #[doc = concat!(
                "`", stringify!($family), "(", stringify!($a), ", ", stringify!($b), ")`."
            )]
            fn from_args(($a, $b): ($A, $B)) -> Result<Self, $crate::DistError> {
                $family::new($a, $b)
            }
        }

        impl<$A: Into<$TA>, $B: Into<$TB>> $crate::FromArgs<(($A, $B),)> for $family {
            #[doc = concat!("A pair returned by a network: `", stringify!($family), "(nn(x))`.")]
            fn from_args((($a, $b),): (($A, $B),)) -> Result<Self, $crate::DistError> {
                $family::new($a, $b)
            }
        }
    };
}
pub(crate) use from_args_pair;
