//! Closed-form KL divergences between pairs of distributions: [`Kl`] for a typed pair, and
//! [`kl_divergence`] for two distributions known only as `dyn Distribution` (what the ELBO
//! holds), which dispatches to the pairs that have a closed form.

use burn::tensor::{Device, Tensor};

use crate::{DistError, Distribution, Normal};

/// `KL(self || p)` in closed form, per row, summed over the event.
///
/// Implemented for the pairs that have one; [`kl_divergence`] finds them at run time.
pub trait Kl<P: ?Sized> {
    /// `KL(self || p)`.
    ///
    /// # Shapes
    /// * returns: `[rows]`, the rows of both broadcast.
    ///
    /// # Errors
    /// [`DistError::Shape`] when the two distributions' shapes do not broadcast.
    fn kl(&self, p: &P, device: &Device) -> Result<Tensor<1>, DistError>;
}

impl Kl<Normal> for Normal {
    fn kl(&self, p: &Normal, device: &Device) -> Result<Tensor<1>, DistError> {
        self.kl_divergence(p, device)
    }
}

/// `KL(q || p)` when the pair of families has a closed form ([`Kl`]), else `None`.
///
/// # Shapes
/// * returns: `[rows]`.
///
/// # Errors
/// Inside the `Some`: the pair's [`DistError`] (shapes that do not broadcast).
pub fn kl_divergence(
    q: &dyn Distribution,
    p: &dyn Distribution,
    device: &Device,
) -> Option<Result<Tensor<1>, DistError>> {
    fn pair<Q: Kl<P> + 'static, P: 'static>(
        q: &dyn Distribution,
        p: &dyn Distribution,
        device: &Device,
    ) -> Option<Result<Tensor<1>, DistError>> {
        let q = q.as_any().downcast_ref::<Q>()?;
        let p = p.as_any().downcast_ref::<P>()?;
        Some(q.kl(p, device))
    }
    pair::<Normal, Normal>(q, p, device)
}

/// The distribution as [`std::any::Any`], to find its family at run time ([`kl_divergence`],
/// or a caller downcasting a site's distribution). Implemented for every `'static` type.
pub trait AsAny {
    /// `self` as `Any`.
    fn as_any(&self) -> &dyn std::any::Any;
}

impl<T: std::any::Any> AsAny for T {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
