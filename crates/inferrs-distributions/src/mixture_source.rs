//! Where a [`MixtureGaussian`](crate::MixtureGaussian)'s parameters come from when they are
//! not tensors yet: a network applied to inputs, left unevaluated so that the mixture's
//! `log_prob` can run the network and the likelihood as one fused op.

use burn::tensor::Tensor;

use crate::{MixtureParams, ParamInit};

/// A network's output for a [`MixtureGaussian`](crate::MixtureGaussian), not yet evaluated.
///
/// The mixture asks for [`MixtureSource::fused_log_prob`] first when it scores a value; where
/// that is `None` (the default), and for anything else that needs the parameters (sampling,
/// the mean, `locs()`), it evaluates [`MixtureSource::parts`] once. So a network in another
/// crate gets the fused path by implementing this trait and returning
/// [`MixtureParams::from_source`] from its `forward`; the distributions crate knows nothing of
/// networks. `inferrs::nn::MixtureNet` is one.
pub trait MixtureSource: std::fmt::Debug + Send + Sync {
    /// The number of rows of the parameters.
    fn rows(&self) -> usize;

    /// The number of mixture components `K`.
    fn components(&self) -> usize;

    /// The parameters, evaluated now (three `[rows, K]` tensors, or packed).
    fn parts(&self) -> MixtureParams;

    /// `log p(y)` per row (`[rows]`) in one fused op of the network and the likelihood, or
    /// `None` where that does not run (the default): the mixture then evaluates
    /// [`MixtureSource::parts`] and its own likelihood. `y` is `[rows or 1, 1]`.
    fn fused_log_prob(&self, y: &Tensor<2>) -> Option<Tensor<1>> {
        let _ = y;
        None
    }

    /// Starting values for the network's parameters from observed outputs `y`
    /// ([`Distribution::data_init`](crate::Distribution::data_init)); none by default.
    fn data_init(&self, y: &Tensor<2>) -> Vec<ParamInit> {
        let _ = y;
        Vec::new()
    }
}
