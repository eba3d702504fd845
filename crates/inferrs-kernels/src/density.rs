//! Fused log densities of the common families, one autodiff node each: the log density of
//! every element and its partial derivatives in one pass ([`Pointwise`]), summed over each
//! row. Each family's composed burn ops (its `log_prob` on other backends) are the reference
//! that `tests/pointwise.rs` checks the values and gradients against.

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;

use super::flex::runs_fused;
use super::kernel::{SOFTPLUS_THRESHOLD, softplus_and_sigmoid};
use super::pointwise::{Output, Pointwise, forward_autodiff, forward_flex};
use super::vmath::ln;

/// `ln(sqrt(2 pi))`.
const HALF_LN_2PI: f32 = crate::HALF_LN_2PI as f32;

/// The fused log densities as a burn backend extension. Every input is `[rows or 1, cols or
/// 1]` (broadcast), the output `[rows]`: the sum over each row's columns.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait DensityKernel: Backend {
    /// `log N(value; loc, scale)`.
    fn normal_log_prob(
        value: FloatTensor<Self>,
        loc: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// `log Bernoulli(value; sigmoid(logits))`, `-inf` where the value is not 0 or 1.
    fn bernoulli_logits_log_prob(
        value: FloatTensor<Self>,
        logits: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// `log Gamma(value; concentration, rate)`, `-inf` where the value is not positive.
    fn gamma_log_prob(
        value: FloatTensor<Self>,
        concentration: FloatTensor<Self>,
        rate: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// `log Poisson(value; rate)`, `-inf` where the value is not a count.
    fn poisson_log_prob(value: FloatTensor<Self>, rate: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `log StudentT(value; df, loc, scale)` for a constant `df`; `norm` is its normalising
    /// constant `lgamma((df + 1) / 2) - lgamma(df / 2) - ln(df pi) / 2`.
    fn student_t_log_prob(
        value: FloatTensor<Self>,
        loc: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        df: f32,
        norm: f32,
    ) -> FloatTensor<Self>;

    /// `log HalfStudentT(value; df, scale)` for a constant `df` (`df = 1`: the half-Cauchy),
    /// `-inf` where the value is negative; `norm` is its normalising constant, `ln 2` included.
    fn half_student_t_log_prob(
        value: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        df: f32,
        norm: f32,
    ) -> FloatTensor<Self>;

    /// `log HalfNormal(value; scale)`, `-inf` where the value is negative.
    fn half_normal_log_prob(
        value: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// `log t_df(x; m, s) = norm - ln s - (df + 1) / 2 ln(1 + z^2 / df)`, `z = (x - m) / s`, for a
/// constant `df`.
#[derive(Clone, Copy, Debug)]
pub(super) struct StudentTLogProb {
    df: f32,
    norm: f32,
}

impl Pointwise<3> for StudentTLogProb {
    #[inline(always)]
    fn eval(self, [x, m, s]: [f32; 3]) -> (f32, [f32; 3]) {
        let z = (x - m) / s;
        let q = z * z / self.df;
        let u = 1.0 + q;
        // ln(1 + q), exact where 1 + q rounds (as the softplus kernel's log1p).
        let log1p = if u == 1.0 { q } else { ln(u) * (q / (u - 1.0)) };
        let half = 0.5 * (self.df + 1.0);
        let lp = self.norm - ln(s) - half * log1p;
        // d lp / dz = -(df + 1) z / (df (1 + q)).
        let dz = -2.0 * half * z / (self.df * u);
        (lp, [dz / s, -dz / s, (-1.0 - dz * z) / s])
    }
}

/// `log 2 t_df(x; 0, s) = norm - ln s - (df + 1) / 2 ln(1 + z^2 / df)`, `z = x / s`, for
/// `x >= 0` and a constant `df` (`norm` with `ln 2`); `-inf`, with zero partials, for `x < 0`
/// (as the composed ops' mask).
#[derive(Clone, Copy, Debug)]
pub(super) struct HalfStudentTLogProb {
    t: StudentTLogProb,
}

impl Pointwise<2> for HalfStudentTLogProb {
    #[inline(always)]
    fn eval(self, [x, s]: [f32; 2]) -> (f32, [f32; 2]) {
        let (lp, [dx, _, ds]) = self.t.eval([x, 0.0, s]);
        if x < 0.0 {
            (f32::NEG_INFINITY, [0.0, 0.0])
        } else {
            (lp, [dx, ds])
        }
    }
}

/// `log 2 N(x; 0, s) = ln 2 - z^2 / 2 - ln s - ln(2 pi) / 2`, `z = x / s`, for `x >= 0`;
/// `-inf`, with zero partials, for `x < 0`.
#[derive(Clone, Copy, Debug)]
pub(super) struct HalfNormalLogProb;

impl Pointwise<2> for HalfNormalLogProb {
    #[inline(always)]
    fn eval(self, [x, s]: [f32; 2]) -> (f32, [f32; 2]) {
        let (lp, [dx, _, ds]) = NormalLogProb.eval([x, 0.0, s]);
        if x < 0.0 {
            (f32::NEG_INFINITY, [0.0, 0.0])
        } else {
            (lp + std::f32::consts::LN_2, [dx, ds])
        }
    }
}

/// `log N(x; m, s) = -z^2 / 2 - ln s - ln(2 pi) / 2`, `z = (x - m) / s`.
#[derive(Clone, Copy, Debug)]
pub(super) struct NormalLogProb;

impl Pointwise<3> for NormalLogProb {
    #[inline(always)]
    fn eval(self, [x, m, s]: [f32; 3]) -> (f32, [f32; 3]) {
        let z = (x - m) / s;
        let lp = -0.5 * (z * z) - ln(s) - HALF_LN_2PI;
        let dz = z / s;
        (lp, [-dz, dz, (z * z - 1.0) / s])
    }
}

/// `x ln sigmoid(l) + (1 - x) ln sigmoid(-l) = ln sigmoid(t) = -softplus(-t)`, `t = (2x - 1) l`,
/// for `x` in {0, 1} (`-inf` otherwise): no cancellation, so an almost certain outcome keeps
/// its tiny negative log mass; `d/dl = (2x - 1) sigmoid(-t) = x - sigmoid(l)`, and `d/dx = l` as
/// the composed ops.
#[derive(Clone, Copy, Debug)]
pub(super) struct BernoulliLogitsLogProb;

impl Pointwise<2> for BernoulliLogitsLogProb {
    #[inline(always)]
    fn eval(self, [x, l]: [f32; 2]) -> (f32, [f32; 2]) {
        let sign = 2.0 * x - 1.0;
        let (sp, sig) = softplus_and_sigmoid(-(sign * l), SOFTPLUS_THRESHOLD);
        let valid = x == 0.0 || x == 1.0;
        if valid {
            (-sp, [l, sign * sig])
        } else {
            (f32::NEG_INFINITY, [0.0, 0.0])
        }
    }
}

/// `ln Gamma(x)` for `x > 0` and its derivative, the same formula as the composed
/// `special::lgamma` (the recurrence to `z = x + 4` and four Stirling terms), so that the
/// fused and composed Poisson agree to f32 rounding: within `2e-6 + 5e-7 |ln Gamma(x)|`.
#[inline(always)]
fn lgamma_and_digamma(x: f32) -> (f32, f32) {
    let z = x + 4.0;
    let inv = 1.0 / z;
    let inv2 = inv * inv;
    let series = (((-1.0 / 1680.0) * inv2 + 1.0 / 1260.0) * inv2 - 1.0 / 360.0) * inv2 + 1.0 / 12.0;
    let ln_z = ln(z);
    let (a, b) = (x * (x + 1.0), (x + 2.0) * (x + 3.0));
    let value = (z - 0.5) * ln_z - z + series * inv + HALF_LN_2PI - ln(a) - ln(b);
    // d/dz of the series: -1/(12 z^2) + 1/(120 z^4) - 1/(252 z^6) + 1/(240 z^8).
    let d_series = (((1.0 / 240.0) * inv2 - 1.0 / 252.0) * inv2 + 1.0 / 120.0) * inv2 - 1.0 / 12.0;
    let derivative = ln_z - 0.5 * inv + d_series * inv2 - (2.0 * x + 1.0) / a - (2.0 * x + 5.0) / b;
    (value, derivative)
}

/// `k ln r - r - ln Gamma(k + 1)` for a count `k` (`-inf` otherwise), with `0 ln 0 = 0`;
/// `d/dr = k / r - 1` (`-1` at `r = 0`, as the composed ops' masked logarithm), and
/// `d/dk = ln r - digamma(k + 1)` (`ln r` taken as 0 where `r <= 0`, as there).
#[derive(Clone, Copy, Debug)]
pub(super) struct PoissonLogProb;

impl Pointwise<2> for PoissonLogProb {
    #[inline(always)]
    fn eval(self, [k, r]: [f32; 2]) -> (f32, [f32; 2]) {
        let count = k >= 0.0 && k.is_finite() && k == k.floor();
        if !count {
            return (f32::NEG_INFINITY, [0.0, 0.0]);
        }
        let (lg, dlg) = lgamma_and_digamma(k + 1.0);
        if r > 0.0 {
            let lr = ln(r);
            (k * lr - r - lg, [lr - dlg, k / r - 1.0])
        } else if k == 0.0 {
            (-r - lg, [-dlg, -1.0])
        } else {
            (f32::NEG_INFINITY, [-dlg, -1.0])
        }
    }
}

/// `a ln b - ln Gamma(a) + (a - 1) ln x - b x` for `x > 0` (`-inf` otherwise), with
/// `d/dx = (a - 1) / x - b`, `d/da = ln b - digamma(a) + ln x` and `d/db = a / b - x`.
#[derive(Clone, Copy, Debug)]
pub(super) struct GammaLogProb;

impl Pointwise<3> for GammaLogProb {
    #[inline(always)]
    fn eval(self, [x, a, b]: [f32; 3]) -> (f32, [f32; 3]) {
        // Not positive, or NaN.
        if x.is_nan() || x <= 0.0 {
            return (f32::NEG_INFINITY, [0.0, 0.0, 0.0]);
        }
        let (lg, dlg) = lgamma_and_digamma(a);
        let (lx, lb) = (ln(x), ln(b));
        let lp = a * lb - lg + (a - 1.0) * lx - b * x;
        (lp, [(a - 1.0) / x - b, lb - dlg + lx, a / b - x])
    }
}

impl DensityKernel for Flex {
    fn gamma_log_prob(
        value: FloatTensor<Self>,
        concentration: FloatTensor<Self>,
        rate: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        forward_flex(GammaLogProb, [&value, &concentration, &rate], Output::Rows)
    }

    fn poisson_log_prob(value: FloatTensor<Self>, rate: FloatTensor<Self>) -> FloatTensor<Self> {
        forward_flex(PoissonLogProb, [&value, &rate], Output::Rows)
    }

    fn student_t_log_prob(
        value: FloatTensor<Self>,
        loc: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        df: f32,
        norm: f32,
    ) -> FloatTensor<Self> {
        let f = StudentTLogProb { df, norm };
        forward_flex(f, [&value, &loc, &scale], Output::Rows)
    }

    fn half_student_t_log_prob(
        value: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        df: f32,
        norm: f32,
    ) -> FloatTensor<Self> {
        let f = HalfStudentTLogProb {
            t: StudentTLogProb { df, norm },
        };
        forward_flex(f, [&value, &scale], Output::Rows)
    }

    fn half_normal_log_prob(
        value: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        forward_flex(HalfNormalLogProb, [&value, &scale], Output::Rows)
    }

    fn normal_log_prob(
        value: FloatTensor<Self>,
        loc: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        forward_flex(NormalLogProb, [&value, &loc, &scale], Output::Rows)
    }

    fn bernoulli_logits_log_prob(
        value: FloatTensor<Self>,
        logits: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        forward_flex(BernoulliLogitsLogProb, [&value, &logits], Output::Rows)
    }
}

impl<C: CheckpointStrategy> DensityKernel for Autodiff<Flex, C> {
    fn gamma_log_prob(
        value: FloatTensor<Self>,
        concentration: FloatTensor<Self>,
        rate: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        forward_autodiff::<C, _, 3>(GammaLogProb, [value, concentration, rate], Output::Rows)
    }

    fn poisson_log_prob(value: FloatTensor<Self>, rate: FloatTensor<Self>) -> FloatTensor<Self> {
        forward_autodiff::<C, _, 2>(PoissonLogProb, [value, rate], Output::Rows)
    }

    fn student_t_log_prob(
        value: FloatTensor<Self>,
        loc: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        df: f32,
        norm: f32,
    ) -> FloatTensor<Self> {
        let f = StudentTLogProb { df, norm };
        forward_autodiff::<C, _, 3>(f, [value, loc, scale], Output::Rows)
    }

    fn half_student_t_log_prob(
        value: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        df: f32,
        norm: f32,
    ) -> FloatTensor<Self> {
        let f = HalfStudentTLogProb {
            t: StudentTLogProb { df, norm },
        };
        forward_autodiff::<C, _, 2>(f, [value, scale], Output::Rows)
    }

    fn half_normal_log_prob(
        value: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        forward_autodiff::<C, _, 2>(HalfNormalLogProb, [value, scale], Output::Rows)
    }

    fn normal_log_prob(
        value: FloatTensor<Self>,
        loc: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        forward_autodiff::<C, _, 3>(NormalLogProb, [value, loc, scale], Output::Rows)
    }

    fn bernoulli_logits_log_prob(
        value: FloatTensor<Self>,
        logits: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        forward_autodiff::<C, _, 2>(BernoulliLogitsLogProb, [value, logits], Output::Rows)
    }
}

/// Whether every tensor can go through the fused kernels (`f32` on flex).
fn all_fused(tensors: &[&Tensor<2>]) -> bool {
    tensors.iter().all(|t| runs_fused(t.dtype(), &t.device()))
}

/// The fused `log N(value; loc, scale)` summed over each row, or `None` when it does not apply
/// (not every tensor `f32` on flex).
pub(crate) fn normal_log_prob(
    value: &Tensor<2>,
    loc: &Tensor<2>,
    scale: &Tensor<2>,
) -> Option<Tensor<1>> {
    if !all_fused(&[value, loc, scale]) {
        return None;
    }
    let out = <Dispatch as DensityKernel>::normal_log_prob(
        value.clone().into_dispatch(),
        loc.clone().into_dispatch(),
        scale.clone().into_dispatch(),
    );
    Some(Tensor::from_dispatch(out))
}

/// The fused Bernoulli log mass on logits summed over each row, or `None` when it does not
/// apply.
pub(crate) fn bernoulli_logits_log_prob(
    value: &Tensor<2>,
    logits: &Tensor<2>,
) -> Option<Tensor<1>> {
    if !all_fused(&[value, logits]) {
        return None;
    }
    let out = <Dispatch as DensityKernel>::bernoulli_logits_log_prob(
        value.clone().into_dispatch(),
        logits.clone().into_dispatch(),
    );
    Some(Tensor::from_dispatch(out))
}

/// The fused Student's t log density for a constant `df` (normalising constant `norm`) summed
/// over each row, or `None` when it does not apply.
pub(crate) fn student_t_log_prob(
    value: &Tensor<2>,
    loc: &Tensor<2>,
    scale: &Tensor<2>,
    df: f64,
    norm: f64,
) -> Option<Tensor<1>> {
    if !all_fused(&[value, loc, scale]) {
        return None;
    }
    let out = <Dispatch as DensityKernel>::student_t_log_prob(
        value.clone().into_dispatch(),
        loc.clone().into_dispatch(),
        scale.clone().into_dispatch(),
        df as f32,
        norm as f32,
    );
    Some(Tensor::from_dispatch(out))
}

/// The fused half-Student's t log density for a constant `df` (normalising constant `norm`,
/// `ln 2` included) summed over each row, or `None` when it does not apply.
pub(crate) fn half_student_t_log_prob(
    value: &Tensor<2>,
    scale: &Tensor<2>,
    df: f64,
    norm: f64,
) -> Option<Tensor<1>> {
    if !all_fused(&[value, scale]) {
        return None;
    }
    let out = <Dispatch as DensityKernel>::half_student_t_log_prob(
        value.clone().into_dispatch(),
        scale.clone().into_dispatch(),
        df as f32,
        norm as f32,
    );
    Some(Tensor::from_dispatch(out))
}

/// The fused half-normal log density summed over each row, or `None` when it does not apply.
pub(crate) fn half_normal_log_prob(value: &Tensor<2>, scale: &Tensor<2>) -> Option<Tensor<1>> {
    if !all_fused(&[value, scale]) {
        return None;
    }
    let out = <Dispatch as DensityKernel>::half_normal_log_prob(
        value.clone().into_dispatch(),
        scale.clone().into_dispatch(),
    );
    Some(Tensor::from_dispatch(out))
}

/// The fused Poisson log mass summed over each row, or `None` when it does not apply.
pub(crate) fn poisson_log_prob(value: &Tensor<2>, rate: &Tensor<2>) -> Option<Tensor<1>> {
    if !all_fused(&[value, rate]) {
        return None;
    }
    let out = <Dispatch as DensityKernel>::poisson_log_prob(
        value.clone().into_dispatch(),
        rate.clone().into_dispatch(),
    );
    Some(Tensor::from_dispatch(out))
}

/// The fused Gamma log density summed over each row, or `None` when it does not apply.
pub(crate) fn gamma_log_prob(
    value: &Tensor<2>,
    concentration: &Tensor<2>,
    rate: &Tensor<2>,
) -> Option<Tensor<1>> {
    if !all_fused(&[value, concentration, rate]) {
        return None;
    }
    let out = <Dispatch as DensityKernel>::gamma_log_prob(
        value.clone().into_dispatch(),
        concentration.clone().into_dispatch(),
        rate.clone().into_dispatch(),
    );
    Some(Tensor::from_dispatch(out))
}
