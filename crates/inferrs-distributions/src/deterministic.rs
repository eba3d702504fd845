//! A point mass: [`Deterministic`].

use burn::tensor::{Device, Tensor};

use crate::param::check_finite;
use crate::shared::{assert_rows, batch_shape, expand_value};
use crate::{DistError, Distribution, FromArgs, Param, Rng, Support};

const NAME: &str = "Deterministic";

/// A point mass at `loc`, one per row: every draw equals `loc`.
///
/// `loc` is a tensor `[rows, event]` (one row broadcasts over rows) or a constant. Sampling
/// returns `loc` itself, so it is reparameterised: gradients flow to a tensor `loc` (this is
/// how a deterministic transformation of other variables enters a model). The log density is
/// `0` at `loc` and `-inf` elsewhere (exact `f32` equality of every event entry, as
/// TensorFlow Probability's `Deterministic` with zero tolerances); it carries no gradient.
#[derive(Clone, Debug)]
pub struct Deterministic {
    loc: Param,
    rows: usize,
    cols: usize,
}

impl Deterministic {
    /// Builds a point mass (TensorFlow Probability's `Deterministic(loc)`).
    ///
    /// # Arguments
    ///
    /// * `loc` - the point; constants must be finite.
    ///
    /// # Shapes
    ///
    /// * `loc`: `[rows, cols]`; the event size is `cols`.
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with a non-finite constant.
    /// * [`DistError::Shape`] for an empty vector.
    pub fn new(loc: impl Into<Param>) -> Result<Self, DistError> {
        let loc = loc.into();
        check_finite(NAME, "loc", &loc)?;
        let [rows, cols] = loc.shape();
        Ok(Self { loc, rows, cols })
    }

    /// The point.
    pub fn loc(&self) -> &Param {
        &self.loc
    }
}

impl Distribution for Deterministic {
    batch_shape!(NAME);

    /// `0` for a row equal to `loc` in every column, `-inf` otherwise (detached: the density
    /// is piecewise constant).
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let device = value.device();
        let value = expand_value(NAME, value, self.rows, self.cols).detach();
        let [rows, cols] = value.dims();
        let loc = self.loc.to_tensor_as(&device, [rows, cols]).detach();
        let hit = value.equal(loc).all_dim(1);
        Tensor::<2>::zeros([rows, 1], &device)
            .mask_fill(hit.bool_not(), f32::NEG_INFINITY)
            .squeeze_dim::<1>(1)
    }

    /// `loc` broadcast to `[rows, event]`; draws nothing from `rng`. Differentiable in a tensor
    /// `loc`.
    fn sample(&self, rows: usize, device: &Device, _rng: &mut Rng) -> Tensor<2> {
        assert_rows(NAME, self.rows, rows);
        self.loc.to_tensor_as(device, [rows, self.cols])
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn support(&self) -> Support {
        Support::Real
    }

    fn mean(&self, device: &Device) -> Tensor<2> {
        self.loc.to_tensor_as(device, [self.rows, self.cols])
    }

    /// Zeros.
    fn variance(&self, device: &Device) -> Tensor<2> {
        Tensor::<2>::zeros([self.rows, self.cols], device)
    }
}

impl<L: Into<Param>> FromArgs<(L,)> for Deterministic {
    /// `Deterministic(loc)`, also `Deterministic(nn(x))` with a network returning a tensor.
    fn from_args((loc,): (L,)) -> Result<Self, DistError> {
        Deterministic::new(loc)
    }
}
