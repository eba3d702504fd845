//! Numerical helpers shared by the distributions.

use burn::tensor::Tensor;

use crate::Param;

/// `ln(sqrt(2 pi))`.
pub(crate) const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Stable `log(sum(exp(t)))` along `dim`, keeping `dim` with size 1.
///
/// The maximum along `dim` is shifted out and detached (it is a numerical device, not part of
/// the function, so the gradient is the softmax of `t`). A slice whose entries are all `-inf`
/// gives `-inf` (not NaN); one containing `+inf` gives `+inf`.
///
/// # Arguments
///
/// * `t` - the log-terms.
/// * `dim` - the dimension to reduce.
///
/// # Shapes
///
/// * `t`: any `[.., n, ..]`
/// * returns: `[.., 1, ..]` (same rank; `squeeze_dim` it if needed)
///
/// # Panics
///
/// When `dim >= D`.
pub fn logsumexp<const D: usize>(t: Tensor<D>, dim: usize) -> Tensor<D> {
    let max = t.clone().detach().max_dim(dim);
    // A non-finite maximum (a slice of -inf, or +inf) would give inf - inf = NaN: shift by 0.
    let max = max.clone().mask_fill(max.is_finite().bool_not(), 0.0);
    (t - max.clone()).exp().sum_dim(dim).log() + max
}

/// Elementwise `log N(value; loc, scale)` with broadcasting:
/// `-z^2 / 2 - ln(scale) - ln(2 pi) / 2`, `z = (value - loc) / scale`.
///
/// Constants use scalar operations when they are [`Param::Scalar`] and are otherwise created on
/// `value`'s device.
pub(crate) fn gaussian_log_density(value: Tensor<2>, loc: &Param, scale: &Param) -> Tensor<2> {
    let device = value.device();
    let diff = match loc {
        Param::Scalar(l) => value.sub_scalar(*l),
        loc => value - loc.to_tensor(&device),
    };
    match scale {
        Param::Scalar(s) => diff
            .div_scalar(*s)
            .square()
            .mul_scalar(-0.5)
            .sub_scalar(s.ln() + HALF_LN_2PI),
        scale => {
            let scale = scale.to_tensor(&device);
            ((diff / scale.clone()).square().mul_scalar(-0.5) - scale.log()).sub_scalar(HALF_LN_2PI)
        }
    }
}
