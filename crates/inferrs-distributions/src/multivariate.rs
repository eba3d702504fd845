//! Multivariate Gaussians: [`MultivariateNormalDiag`] (independent coordinates) and
//! [`MultivariateNormalTriL`] (a covariance given by its lower-triangular Cholesky factor).
//!
//! Both are reparameterised: standard normal noise is drawn on the host from the caller's
//! [`Rng`] and transformed with tensor ops, so gradients flow to tensor parameters.

use burn::tensor::{Device, Tensor, TensorData};
use rand_distr::{Distribution as _, StandardNormal};

use crate::math::{HALF_LN_2PI, gaussian_log_density};
use crate::param::{Wording, broadcast_params, check_finite, check_positive};
use crate::shared::{
    add_param, assert_event_columns, assert_rows, batch_shape, check_value_exact, expand_value,
    from_args_pair, host_noise, mul_param, sub_param, sum_event,
};
use crate::{DistError, Distribution, Param, Rng, Support};

/// `[rows, cols]` standard normal draws from the host generator (row-major).
fn standard_normal(rows: usize, cols: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
    host_noise(rows, cols, device, rng, |rng| StandardNormal.sample(rng))
}

// ---------------------------------------------------------------------------------------------
// MultivariateNormalDiag.

const MVN_DIAG: &str = "MultivariateNormalDiag";

/// A multivariate Gaussian with diagonal covariance, one per row:
/// `N(loc, diag(scale_diag^2))` over a value row of `d` columns.
///
/// `loc` and `scale_diag` are tensors `[rows, d]` (one row broadcasts over rows, one column
/// over the coordinates) or constants; `d` is their broadcast number of columns. The log
/// density is summed over the `d` coordinates.
#[derive(Clone, Debug)]
pub struct MultivariateNormalDiag {
    loc: Param,
    scale_diag: Param,
    rows: usize,
    d: usize,
}

impl MultivariateNormalDiag {
    /// Builds the distribution (TensorFlow Probability's
    /// `MultivariateNormalDiag(loc, scale_diag)`).
    ///
    /// # Arguments
    ///
    /// * `loc` - the mean; constants must be finite.
    /// * `scale_diag` - the standard deviation of each coordinate; constants must be positive
    ///   and finite. Tensors are not checked (keep them positive, e.g. with `softplus`).
    ///
    /// # Shapes
    ///
    /// * `loc`: `[r1, c1]`, `scale_diag`: `[r2, c2]`, broadcastable; `d = max(c1, c2)`.
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with the offending constant.
    /// * [`DistError::Shape`] when the shapes do not broadcast or a vector is empty.
    pub fn new(loc: impl Into<Param>, scale_diag: impl Into<Param>) -> Result<Self, DistError> {
        let loc = loc.into();
        let scale_diag = scale_diag.into();
        check_finite(MVN_DIAG, "loc", &loc)?;
        check_positive(MVN_DIAG, "scale_diag", &scale_diag)?;
        let [rows, d] = broadcast_params(
            MVN_DIAG,
            &[("loc", &loc), ("scale_diag", &scale_diag)],
            Wording::Inline,
        )?;
        Ok(Self {
            loc,
            scale_diag,
            rows,
            d,
        })
    }

    /// The mean.
    pub fn loc(&self) -> &Param {
        &self.loc
    }

    /// The standard deviations of the coordinates.
    pub fn scale_diag(&self) -> &Param {
        &self.scale_diag
    }
}

impl Distribution for MultivariateNormalDiag {
    batch_shape!(MVN_DIAG; rows, d);

    /// `sum_j (-z_j^2 / 2 - ln(scale_j) - ln(2 pi) / 2)`, `z = (value - loc) / scale_diag`.
    ///
    /// Panics unless `value` has `d` columns.
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        assert_event_columns(MVN_DIAG, &value, self.d);
        let value = expand_value(MVN_DIAG, value, self.rows, self.d);
        sum_event(gaussian_log_density(value, &self.loc, &self.scale_diag))
    }

    /// `loc + scale_diag * eps`, `eps ~ N(0, I)` drawn on the host (row-major).
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(MVN_DIAG, self.rows, rows);
        let eps = standard_normal(rows, self.d, device, rng);
        add_param(mul_param(eps, &self.scale_diag), &self.loc)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn support(&self) -> Support {
        Support::Real
    }

    fn mean(&self, device: &Device) -> Tensor<2> {
        self.loc.to_tensor_as(device, [self.rows, self.d])
    }

    /// `scale_diag^2`.
    fn variance(&self, device: &Device) -> Tensor<2> {
        self.scale_diag
            .to_tensor_as(device, [self.rows, self.d])
            .square()
    }

    /// The value must have exactly `d` columns (its rows broadcast as usual).
    fn check_value(&self, shape: [usize; 2]) -> Result<(), DistError> {
        check_value_exact(MVN_DIAG, shape, self.rows, self.d)
    }
}

from_args_pair!(MultivariateNormalDiag(loc: L, scale_diag: S));

// ---------------------------------------------------------------------------------------------
// MultivariateNormalTriL.

const MVN_TRIL: &str = "MultivariateNormalTriL";

/// The lower-triangular scale `L` of a [`MultivariateNormalTriL`] (covariance `L L^T`),
/// shared by all rows.
///
/// Convert with `.into()` from host rows (`Vec<Vec<f64>>`, `[[f64; d]; d]`) or from a tensor
/// `[d, d]`.
// The tensor handle is larger than the constants; as for `Param`, boxing would leak into the
// public API.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum ScaleTril {
    /// Constant rows of a `d x d` matrix: validated lower-triangular (zeros above the
    /// diagonal) with a positive diagonal when the distribution is built.
    Constant(Vec<Vec<f64>>),
    /// A tensor `[d, d]`, possibly tracked by autodiff. Its upper triangle is ignored (as in
    /// TensorFlow Probability) and its values are not read; keep the diagonal away from zero
    /// (e.g. `softplus` plus a floor).
    Tensor(Tensor<2>),
}

impl ScaleTril {
    /// The dimension `d` (the number of rows).
    pub fn dim(&self) -> usize {
        match self {
            ScaleTril::Constant(rows) => rows.len(),
            ScaleTril::Tensor(t) => t.dims()[0],
        }
    }
}

impl From<Vec<Vec<f64>>> for ScaleTril {
    fn from(rows: Vec<Vec<f64>>) -> Self {
        ScaleTril::Constant(rows)
    }
}

impl From<&[Vec<f64>]> for ScaleTril {
    fn from(rows: &[Vec<f64>]) -> Self {
        ScaleTril::Constant(rows.to_vec())
    }
}

impl<const N: usize> From<[[f64; N]; N]> for ScaleTril {
    fn from(rows: [[f64; N]; N]) -> Self {
        ScaleTril::Constant(rows.iter().map(|r| r.to_vec()).collect())
    }
}

impl From<Tensor<2>> for ScaleTril {
    fn from(t: Tensor<2>) -> Self {
        ScaleTril::Tensor(t)
    }
}

/// A constant scale prepared on the host in `f64`.
#[derive(Clone, Debug)]
struct HostTril {
    /// `L`, row-major `[d, d]`.
    l: Vec<f64>,
    /// `L^-T` (the transposed inverse), row-major `[d, d]`: `z = r L^-T` solves `L z^T = r^T`.
    inv_t: Vec<f64>,
    /// `sum_i ln L_ii`.
    log_det: f64,
}

impl HostTril {
    /// Validates constant rows and precomputes the inverse by forward substitution.
    fn new(rows: &[Vec<f64>]) -> Result<Self, DistError> {
        let d = rows.len();
        if d == 0 {
            return Err(DistError::Shape {
                dist: MVN_TRIL,
                detail: "parameter `scale_tril` has no rows".into(),
            });
        }
        if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != d) {
            return Err(DistError::Shape {
                dist: MVN_TRIL,
                detail: format!(
                    "parameter `scale_tril` must be square: row {i} has {} entries, expected {d}",
                    r.len()
                ),
            });
        }
        let invalid = |value: f64, reason: &'static str| DistError::InvalidParameter {
            dist: MVN_TRIL,
            param: "scale_tril",
            value,
            reason,
        };
        for (i, row) in rows.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                if !v.is_finite() {
                    return Err(invalid(v, "entries must be finite"));
                }
                if j > i && v != 0.0 {
                    return Err(invalid(
                        v,
                        "must be lower-triangular: an entry above the diagonal is not zero",
                    ));
                }
                if j == i && v <= 0.0 {
                    return Err(invalid(v, "diagonal entries must be positive"));
                }
            }
        }
        let l: Vec<f64> = rows.iter().flatten().copied().collect();
        // Rows of L^-1 by forward substitution: L^-1[i, :] = (e_i - L[i, :i] L^-1[:i, :]) / L_ii.
        let mut inv = vec![0.0f64; d * d];
        for i in 0..d {
            for c in 0..d {
                let mut acc = if i == c { 1.0 } else { 0.0 };
                for k in 0..i {
                    acc -= l[i * d + k] * inv[k * d + c];
                }
                inv[i * d + c] = acc / l[i * d + i];
            }
        }
        let inv_t = (0..d * d).map(|idx| inv[(idx % d) * d + idx / d]).collect();
        let log_det = (0..d).map(|i| l[i * d + i].ln()).sum();
        Ok(Self { l, inv_t, log_det })
    }
}

/// A multivariate Gaussian with covariance `L L^T`, one per row:
/// `N(loc, L L^T)` over a value row of `d` columns, with one lower-triangular scale `L`
/// (`scale_tril`) shared by every row.
///
/// The log density is `-|z|^2 / 2 - sum_i ln|L_ii| - d ln(2 pi) / 2` with `z` the solution of
/// the triangular system `L z = value - loc`: for a constant `L` by a product with `L^-1`
/// precomputed in `f64`; for a tensor `L` by forward substitution with tensor ops (burn 0.22
/// has no triangular solve), differentiable in `L`. Sampling is `loc + eps L^T`.
#[derive(Clone, Debug)]
pub struct MultivariateNormalTriL {
    loc: Param,
    scale_tril: ScaleTril,
    prepared: Prepared,
    rows: usize,
    d: usize,
}

/// `scale_tril` as it is used: prepared on the host, or a tensor.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
enum Prepared {
    Host(HostTril),
    Tensor(Tensor<2>),
}

impl MultivariateNormalTriL {
    /// Builds the distribution (TensorFlow Probability's
    /// `MultivariateNormalTriL(loc, scale_tril)`).
    ///
    /// # Arguments
    ///
    /// * `loc` - the mean; constants must be finite.
    /// * `scale_tril` - the Cholesky factor `L` of the covariance, see [`ScaleTril`]: a
    ///   constant must be square, finite, zero above the diagonal and positive on it; a
    ///   tensor must be square (its upper triangle is ignored, its values are not checked).
    ///
    /// # Shapes
    ///
    /// * `loc`: `[rows or 1, d or 1]`
    /// * `scale_tril`: `[d, d]`
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with the offending constant.
    /// * [`DistError::Shape`] when `scale_tril` is not square or `loc` has a number of columns
    ///   other than 1 or `d`.
    pub fn new(loc: impl Into<Param>, scale_tril: impl Into<ScaleTril>) -> Result<Self, DistError> {
        let loc = loc.into();
        let scale_tril = scale_tril.into();
        check_finite(MVN_TRIL, "loc", &loc)?;
        let prepared = match &scale_tril {
            ScaleTril::Constant(rows) => Prepared::Host(HostTril::new(rows)?),
            ScaleTril::Tensor(t) => {
                let [r, c] = t.dims();
                if r != c || r == 0 {
                    return Err(DistError::Shape {
                        dist: MVN_TRIL,
                        detail: format!(
                            "parameter `scale_tril` has shape [{r}, {c}]: it must be a \
                             non-empty square matrix"
                        ),
                    });
                }
                Prepared::Tensor(t.clone())
            }
        };
        let d = scale_tril.dim();
        let [rows, cols] = loc.shape();
        if cols != 1 && cols != d {
            return Err(DistError::Shape {
                dist: MVN_TRIL,
                detail: format!(
                    "parameter `loc` [{rows}, {cols}] does not match `scale_tril` [{d}, {d}]"
                ),
            });
        }
        Ok(Self {
            loc,
            scale_tril,
            prepared,
            rows,
            d,
        })
    }

    /// The mean.
    pub fn loc(&self) -> &Param {
        &self.loc
    }

    /// The lower-triangular scale `L`.
    pub fn scale_tril(&self) -> &ScaleTril {
        &self.scale_tril
    }

    /// `L` as a tensor `[d, d]` on `device` (for a tensor `scale_tril`, its lower triangle).
    fn tril(&self, device: &Device) -> Tensor<2> {
        match &self.prepared {
            Prepared::Host(host) => {
                let data: Vec<f32> = host.l.iter().map(|&x| x as f32).collect();
                Tensor::<2>::from_data(TensorData::new(data, [self.d, self.d]), device)
            }
            Prepared::Tensor(t) => t.clone().tril(0),
        }
    }

    /// `sum_i |z_i|^2` per row for `L z = r` with a tensor `L`, by column-oriented forward
    /// substitution: `z_j = r_j / L_jj`, then `r_i -= z_j L_ij` for `i > j`.
    fn quad_form_tensor(&self, r: Tensor<2>, l: Tensor<2>) -> Tensor<2> {
        let d = self.d;
        let [n, _] = r.dims();
        let mut rest = r;
        let mut quad: Option<Tensor<2>> = None;
        for j in 0..d {
            let l_jj = l.clone().slice([j..j + 1, j..j + 1]);
            let z_j = rest.clone().slice([0..n, 0..1]) / l_jj;
            if j + 1 < d {
                let below = l.clone().slice([j + 1..d, j..j + 1]).transpose();
                rest = rest.slice([0..n, 1..d - j]) - z_j.clone() * below;
            }
            let sq = z_j.square();
            quad = Some(match quad {
                Some(q) => q + sq,
                None => sq,
            });
        }
        quad.expect("d >= 1")
    }
}

impl Distribution for MultivariateNormalTriL {
    batch_shape!(MVN_TRIL; rows, d);

    /// `-|z|^2 / 2 - sum_i ln|L_ii| - d ln(2 pi) / 2`, `L z = value - loc`.
    ///
    /// Panics unless `value` has `d` columns.
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        assert_event_columns(MVN_TRIL, &value, self.d);
        let device = value.device();
        let value = expand_value(MVN_TRIL, value, self.rows, self.d);
        let r = sub_param(value, &self.loc);
        let constant = self.d as f64 * HALF_LN_2PI;
        let lp = match &self.prepared {
            Prepared::Host(host) => {
                let data: Vec<f32> = host.inv_t.iter().map(|&x| x as f32).collect();
                let inv_t =
                    Tensor::<2>::from_data(TensorData::new(data, [self.d, self.d]), &device);
                r.matmul(inv_t)
                    .square()
                    .sum_dim(1)
                    .mul_scalar(-0.5)
                    .sub_scalar(host.log_det + constant)
            }
            Prepared::Tensor(_) => {
                let l = self.tril(&device);
                let log_det = (l.clone() * Tensor::<2>::eye(self.d, &device))
                    .sum_dim(1)
                    .abs()
                    .log()
                    .sum_dim(0);
                self.quad_form_tensor(r, l).mul_scalar(-0.5) - log_det.add_scalar(constant)
            }
        };
        lp.squeeze_dim::<1>(1)
    }

    /// `loc + eps L^T`, `eps ~ N(0, I)` drawn on the host (row-major).
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert_rows(MVN_TRIL, self.rows, rows);
        let eps = standard_normal(rows, self.d, device, rng);
        add_param(eps.matmul(self.tril(device).transpose()), &self.loc)
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn support(&self) -> Support {
        Support::Real
    }

    fn mean(&self, device: &Device) -> Tensor<2> {
        self.loc.to_tensor_as(device, [self.rows, self.d])
    }

    /// The diagonal of `L L^T`: the row sums of `L * L` (elementwise).
    fn variance(&self, device: &Device) -> Tensor<2> {
        self.tril(device)
            .square()
            .sum_dim(1)
            .transpose()
            .expand([self.rows, self.d])
    }

    /// The value must have exactly `d` columns (its rows broadcast as usual).
    fn check_value(&self, shape: [usize; 2]) -> Result<(), DistError> {
        check_value_exact(MVN_TRIL, shape, self.rows, self.d)
    }
}

from_args_pair!(MultivariateNormalTriL(loc: L => Param, scale_tril: T => ScaleTril));
