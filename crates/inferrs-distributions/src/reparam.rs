//! The reparameterised draw of an automatic guide's site: `x = T(loc + scale eps)` with its
//! `log q(x)`.

use burn::tensor::Tensor;

use crate::Bijector;
use crate::math::gaussian_log_density;
use crate::param::Param;
use inferrs_kernels::{DrawMap, normal_draw};

/// A draw `x = T(u)`, `u = loc + scale eps`, from the Normal `N(loc, scale)` with `scale =
/// softplus(raw_scale)` (the automatic guides' parametrisation) pushed through `bijector`
/// (`T`), and its log density `log q(x) = log N(u; loc, scale) - ln |det T'(u)|` summed over
/// each row.
///
/// Both are differentiable in `loc` and `raw_scale` (the pathwise gradient; `eps` is the
/// noise). On burn's `flex` backend and for the identity, `Exp` and `Softplus` bijectors this
/// is two fused ops with analytic gradients (about a dozen composed ops otherwise, which is
/// what other backends and bijectors run).
///
/// # Shapes
///
/// * `loc`, `raw_scale`, `eps`: `[rows, cols]` (`cols` unconstrained columns)
/// * returns: `x` `[rows, T's constrained columns]` and `log q` `[rows]`
///
/// # Panics
///
/// When the shapes differ.
pub fn normal_draw_through(
    bijector: &Bijector,
    loc: &Tensor<2>,
    raw_scale: &Tensor<2>,
    eps: Tensor<2>,
) -> (Tensor<2>, Tensor<1>) {
    assert!(
        loc.dims() == raw_scale.dims() && loc.dims() == eps.dims(),
        "normal_draw_through: loc {:?}, raw_scale {:?} and eps {:?} must have one shape",
        loc.dims(),
        raw_scale.dims(),
        eps.dims()
    );
    let map = match bijector {
        Bijector::Identity => Some(DrawMap::Identity),
        Bijector::Exp => Some(DrawMap::Exp),
        Bijector::Softplus => Some(DrawMap::Softplus),
        _ => None,
    };
    if let Some(map) = map
        && let Some(out) = normal_draw(loc, raw_scale, &eps, map)
    {
        return out;
    }
    normal_draw_through_composed(bijector, loc, raw_scale, eps)
}

/// [`normal_draw_through`] in composed burn ops: the reference the fused ops are tested
/// against, and the version of backends other than flex.
pub fn normal_draw_through_composed(
    bijector: &Bijector,
    loc: &Tensor<2>,
    raw_scale: &Tensor<2>,
    eps: Tensor<2>,
) -> (Tensor<2>, Tensor<1>) {
    let scale = burn::tensor::activation::softplus(raw_scale.clone(), 1.0);
    let u = eps * scale.clone() + loc.clone();
    let log_q = gaussian_log_density(
        u.clone(),
        &Param::Tensor(loc.clone()),
        &Param::Tensor(scale),
    )
    .sum_dim(1)
    .squeeze_dim::<1>(1);
    if matches!(bijector, Bijector::Identity) {
        return (u, log_q);
    }
    let jac = bijector.log_abs_det_jacobian(u.clone());
    (bijector.forward(u), log_q - jac)
}
