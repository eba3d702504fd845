//! Continuous uniform distributions.

use burn::tensor::{Device, Tensor};
use rand_distr::{Distribution as _, StandardUniform};

use crate::param::{HostParam, Wording, broadcast_params, check_finite};
use crate::shared::{
    assert_rows, batch_shape, expand_value, from_args_pair, host_noise, sum_event_masked,
};
use crate::{DistError, Distribution, Param, Rng, Support};

const NAME: &str = "Uniform";

/// Independent continuous uniform distributions on `[low, high]`, one per element of a value
/// `[rows, event]`.
///
/// The log density is `-ln(high - low)` inside `[low, high]` (both ends included) and `-inf`
/// outside. Mean `(low + high) / 2`, variance `(high - low)^2 / 12`. Sampling is
/// reparameterised: `low + (high - low) u`, `u ~ U[0, 1)` drawn on the host; gradients flow to
/// tensor bounds.
#[derive(Clone, Debug)]
pub struct Uniform {
    low: Param,
    high: Param,
    rows: usize,
    cols: usize,
}

impl Uniform {
    /// Builds a uniform distribution (TensorFlow Probability's `Uniform(low, high)`).
    ///
    /// # Arguments
    ///
    /// * `low` - the lower bound; a constant must be finite.
    /// * `high` - the upper bound; a constant must be finite and, where `low` is a constant
    ///   too, greater than `low` (element by element, after broadcasting). Tensors are not
    ///   checked.
    ///
    /// # Shapes
    ///
    /// * `low`: `[r1, c1]`, `high`: `[r2, c2]`, broadcastable (equal or 1 in each dimension).
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with the offending constant (for `low >= high`: the
    ///   value of `high`).
    /// * [`DistError::Shape`] when the shapes do not broadcast or a vector is empty.
    pub fn new(low: impl Into<Param>, high: impl Into<Param>) -> Result<Self, DistError> {
        let (low, high) = (low.into(), high.into());
        let [rows, cols] =
            broadcast_params(NAME, &[("low", &low), ("high", &high)], Wording::Trailing)?;
        check_finite(NAME, "low", &low)?;
        check_finite(NAME, "high", &high)?;
        if low.is_constant() && high.is_constant() {
            let (lo, hi) = (HostParam::new(&low), HostParam::new(&high));
            for c in 0..cols {
                let (l, h) = (lo.get(0, c), hi.get(0, c));
                if l >= h {
                    return Err(DistError::InvalidParameter {
                        dist: NAME,
                        param: "high",
                        value: h,
                        reason: "must be greater than `low`",
                    });
                }
            }
        }
        Ok(Self {
            low,
            high,
            rows,
            cols,
        })
    }

    /// The lower bound.
    pub fn low(&self) -> &Param {
        &self.low
    }

    /// The upper bound.
    pub fn high(&self) -> &Param {
        &self.high
    }

    /// `high - low` broadcast to `[batch_rows, event]`.
    fn width(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        self.high.to_tensor_as(device, shape) - self.low.to_tensor_as(device, shape)
    }

    /// The constant bounds when every element shares them.
    fn constant_bounds(&self) -> Option<(f64, f64)> {
        let (low, high) = (self.low.constants()?, self.high.constants()?);
        let (l, h) = (low[0], high[0]);
        (low.iter().all(|&x| x == l) && high.iter().all(|&x| x == h)).then_some((l, h))
    }
}

impl Distribution for Uniform {
    batch_shape!(NAME);

    /// `sum_cols(-ln(high - low))` where `low <= value <= high`, `-inf` elsewhere.
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let value = expand_value(NAME, value, self.rows, self.cols);
        let shape = value.dims();
        let device = value.device();
        let low = self.low.to_tensor_as(&device, shape);
        let high = self.high.to_tensor_as(&device, shape);
        let outside = value
            .clone()
            .lower(low.clone())
            .bool_or(value.greater(high.clone()));
        sum_event_masked((high - low).log().neg(), outside)
    }

    /// `low + (high - low) u`, `u ~ U[0, 1)` drawn on the host (row-major). With constant
    /// bounds shared by every element the result is clamped to `[low, high]` (in `f32` the
    /// affine map can round one ulp past `high`).
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(NAME, self.rows, rows);
        let u = host_noise(rows, self.cols, device, rng, |rng| {
            StandardUniform.sample(rng)
        });
        let x = match (&self.low, &self.high) {
            (Param::Scalar(l), Param::Scalar(h)) => u.mul_scalar(h - l).add_scalar(*l),
            (low, high) => {
                let low = low.to_tensor(device);
                u * (high.to_tensor(device) - low.clone()) + low
            }
        };
        match self.constant_bounds() {
            Some((l, h)) => x.clamp(l, h),
            None => x,
        }
    }

    fn has_rsample(&self) -> bool {
        true
    }

    /// [`Support::Interval`] when the bounds are constants shared by every element,
    /// [`Support::Dependent`] otherwise (tensor bounds, or constants that differ by column).
    fn support(&self) -> Support {
        match self.constant_bounds() {
            Some((low, high)) => Support::Interval { low, high },
            None => Support::Dependent,
        }
    }

    /// `(low + high) / 2`.
    fn mean(&self, device: &Device) -> Tensor<2> {
        let shape = [self.rows, self.cols];
        (self.low.to_tensor_as(device, shape) + self.high.to_tensor_as(device, shape))
            .mul_scalar(0.5)
    }

    /// `(high - low)^2 / 12`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        self.width(device).square().div_scalar(12.0)
    }
}

from_args_pair!(Uniform(low: L, high: H));
