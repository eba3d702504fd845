//! A reparameterised Normal draw pushed through a bijector, and its `log q`, as two fused ops:
//! what an automatic guide computes at every site and step. Composed, the draw and its density
//! are about a dozen autodiff nodes (`loc + scale eps`, the bijector, the Normal log density
//! of the draw, the log-det-Jacobian, the row sums); here they are two, with analytic
//! partials ([`Pointwise`]). `tests/pointwise.rs` checks both against the composed ops.
//!
//! With `scale = softplus(raw)` (the automatic guides' parametrisation), `u = loc + scale eps`
//! and `x = T(u)`:
//! * the value is `T(u)`, with `dx/dloc = T'(u)` and `dx/dscale = T'(u) eps`;
//! * `log q(x) = log N(u; loc, scale) - ln |T'(u)| = -eps^2 / 2 - ln scale - ln(2 pi) / 2 -
//!   ln |T'(u)|`, summed over each row. Its total derivative with `eps` held fixed (the
//!   pathwise gradient) is `-g(u)` with respect to `loc` and `-1 / scale - g(u) eps` with
//!   respect to `scale`, `g = d/du ln |T'(u)|`: the `(u - loc) / scale` of the composed
//!   density is `eps` itself, so its own dependence on `loc` and `scale` cancels exactly;
//! * both times `dscale/draw = sigmoid(raw)` with respect to the raw scale.

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;

use super::flex::runs_fused;
use super::kernel::{SOFTPLUS_THRESHOLD, softplus_and_sigmoid};
use super::pointwise::{Output, Pointwise, forward_autodiff, forward_flex};
use super::vmath::{exp, ln};

/// `ln(sqrt(2 pi))`.
const HALF_LN_2PI: f32 = crate::HALF_LN_2PI as f32;

pub(crate) use super::DrawMap;

const IDENTITY: u32 = DrawMap::Identity.code();
const EXP: u32 = DrawMap::Exp.code();
const SOFTPLUS: u32 = DrawMap::Softplus.code();

impl DrawMap {
    const fn code(self) -> u32 {
        self as u32
    }

    const fn from_code(code: u32) -> Self {
        match code {
            0 => Self::Identity,
            1 => Self::Exp,
            _ => Self::Softplus,
        }
    }
}

/// The fused guide draw as a burn backend extension. `loc`, `raw` (the scale before its
/// softplus) and `eps` are `[rows or 1, cols or 1]` (broadcast); `map` is a [`DrawMap`] code.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait ReparamKernel: Backend {
    /// `T(loc + softplus(raw) eps)`, `[rows, cols]`.
    fn normal_draw(
        loc: FloatTensor<Self>,
        raw: FloatTensor<Self>,
        eps: FloatTensor<Self>,
        map: u32,
    ) -> FloatTensor<Self>;

    /// `log q` of that draw, summed over each row, `[rows]`.
    fn normal_draw_log_q(
        loc: FloatTensor<Self>,
        raw: FloatTensor<Self>,
        eps: FloatTensor<Self>,
        map: u32,
    ) -> FloatTensor<Self>;
}

/// `x = T(loc + softplus(raw) eps)` and its partials, `T` the map of code `MAP` (a constant,
/// so the loop over the elements has no branch on it and vectorises).
#[derive(Clone, Copy, Debug)]
struct Draw<const MAP: u32>;

impl<const MAP: u32> Draw<MAP> {
    const MAP: DrawMap = DrawMap::from_code(MAP);
}

impl<const MAP: u32> Pointwise<3> for Draw<MAP> {
    #[inline(always)]
    fn eval(self, [m, r, e]: [f32; 3]) -> (f32, [f32; 3]) {
        let (s, ds) = softplus_and_sigmoid(r, SOFTPLUS_THRESHOLD);
        let u = m + s * e;
        let (x, dx) = match Self::MAP {
            DrawMap::Identity => (u, 1.0),
            DrawMap::Exp => {
                let x = exp(u);
                (x, x)
            }
            DrawMap::Softplus => softplus_and_sigmoid(u, SOFTPLUS_THRESHOLD),
        };
        // As the bijectors' `forward`, a positive value is kept at or above the smallest
        // normal f32 (where the clamp acts, its derivative is 0).
        let (x, dx) = match Self::MAP {
            DrawMap::Identity => (x, dx),
            _ if x < f32::MIN_POSITIVE => (f32::MIN_POSITIVE, 0.0),
            _ => (x, dx),
        };
        (x, [dx, dx * e * ds, dx * s])
    }
}

/// `log q(x)` of the draw and its pathwise partials (`eps` held fixed), `T` of code `MAP`.
#[derive(Clone, Copy, Debug)]
struct DrawLogQ<const MAP: u32>;

impl<const MAP: u32> DrawLogQ<MAP> {
    const MAP: DrawMap = DrawMap::from_code(MAP);
}

impl<const MAP: u32> Pointwise<3> for DrawLogQ<MAP> {
    #[inline(always)]
    fn eval(self, [m, r, e]: [f32; 3]) -> (f32, [f32; 3]) {
        let (s, ds) = softplus_and_sigmoid(r, SOFTPLUS_THRESHOLD);
        let u = m + s * e;
        // ln |T'(u)| and its derivative g(u).
        let (log_jac, g) = match Self::MAP {
            DrawMap::Identity => (0.0, 0.0),
            DrawMap::Exp => (u, 1.0),
            DrawMap::Softplus => {
                // ln sigmoid(u) = -softplus(-u); its derivative is sigmoid(-u).
                let (sp, sig) = softplus_and_sigmoid(-u, SOFTPLUS_THRESHOLD);
                (-sp, sig)
            }
        };
        let lq = -0.5 * (e * e) - ln(s) - HALF_LN_2PI - log_jac;
        (lq, [-g, (-1.0 / s - g * e) * ds, -e - g * s])
    }
}

impl ReparamKernel for Flex {
    fn normal_draw(
        loc: FloatTensor<Self>,
        raw: FloatTensor<Self>,
        eps: FloatTensor<Self>,
        map: u32,
    ) -> FloatTensor<Self> {
        let inputs = [&loc, &raw, &eps];
        match DrawMap::from_code(map) {
            DrawMap::Identity => forward_flex(Draw::<IDENTITY>, inputs, Output::Elements),
            DrawMap::Exp => forward_flex(Draw::<EXP>, inputs, Output::Elements),
            DrawMap::Softplus => forward_flex(Draw::<SOFTPLUS>, inputs, Output::Elements),
        }
    }

    fn normal_draw_log_q(
        loc: FloatTensor<Self>,
        raw: FloatTensor<Self>,
        eps: FloatTensor<Self>,
        map: u32,
    ) -> FloatTensor<Self> {
        let inputs = [&loc, &raw, &eps];
        match DrawMap::from_code(map) {
            DrawMap::Identity => forward_flex(DrawLogQ::<IDENTITY>, inputs, Output::Rows),
            DrawMap::Exp => forward_flex(DrawLogQ::<EXP>, inputs, Output::Rows),
            DrawMap::Softplus => forward_flex(DrawLogQ::<SOFTPLUS>, inputs, Output::Rows),
        }
    }
}

impl<C: CheckpointStrategy> ReparamKernel for Autodiff<Flex, C> {
    fn normal_draw(
        loc: FloatTensor<Self>,
        raw: FloatTensor<Self>,
        eps: FloatTensor<Self>,
        map: u32,
    ) -> FloatTensor<Self> {
        let inputs = [loc, raw, eps];
        let out = Output::Elements;
        match DrawMap::from_code(map) {
            DrawMap::Identity => forward_autodiff::<C, _, 3>(Draw::<IDENTITY>, inputs, out),
            DrawMap::Exp => forward_autodiff::<C, _, 3>(Draw::<EXP>, inputs, out),
            DrawMap::Softplus => forward_autodiff::<C, _, 3>(Draw::<SOFTPLUS>, inputs, out),
        }
    }

    fn normal_draw_log_q(
        loc: FloatTensor<Self>,
        raw: FloatTensor<Self>,
        eps: FloatTensor<Self>,
        map: u32,
    ) -> FloatTensor<Self> {
        let inputs = [loc, raw, eps];
        let out = Output::Rows;
        match DrawMap::from_code(map) {
            DrawMap::Identity => forward_autodiff::<C, _, 3>(DrawLogQ::<IDENTITY>, inputs, out),
            DrawMap::Exp => forward_autodiff::<C, _, 3>(DrawLogQ::<EXP>, inputs, out),
            DrawMap::Softplus => forward_autodiff::<C, _, 3>(DrawLogQ::<SOFTPLUS>, inputs, out),
        }
    }
}

/// The fused draw `T(loc + softplus(raw) eps)` (`[rows, cols]`) and its `log q` (`[rows]`), or
/// `None` when it does not apply (not every tensor `f32` on flex).
pub(crate) fn normal_draw(
    loc: &Tensor<2>,
    raw: &Tensor<2>,
    eps: &Tensor<2>,
    map: DrawMap,
) -> Option<(Tensor<2>, Tensor<1>)> {
    if ![loc, raw, eps]
        .iter()
        .all(|t| runs_fused(t.dtype(), &t.device()))
    {
        return None;
    }
    let args = || {
        (
            loc.clone().into_dispatch(),
            raw.clone().into_dispatch(),
            eps.clone().into_dispatch(),
        )
    };
    let (l, s, e) = args();
    let value = <Dispatch as ReparamKernel>::normal_draw(l, s, e, map.code());
    let (l, s, e) = args();
    let log_q = <Dispatch as ReparamKernel>::normal_draw_log_q(l, s, e, map.code());
    Some((Tensor::from_dispatch(value), Tensor::from_dispatch(log_q)))
}
