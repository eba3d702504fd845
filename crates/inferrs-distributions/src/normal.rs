//! Independent Gaussians.

use burn::tensor::{Device, Tensor, TensorData};
use rand_distr::{Distribution as _, StandardNormal};

use crate::math::gaussian_log_density;
use crate::param::{broadcast_dim, check_constants, check_nonempty};
use crate::{DistError, Distribution, FromArgs, Param, Rng, Support};

const NAME: &str = "Normal";

/// Independent Gaussians `N(loc, scale^2)`, one per element of a value `[rows, event]`.
///
/// `loc` and `scale` broadcast against each other (and against the value) over rows and
/// columns; the event size is their broadcast number of columns.
#[derive(Clone, Debug)]
pub struct Normal {
    loc: Param,
    scale: Param,
    rows: usize,
    cols: usize,
}

impl Normal {
    /// Builds a Normal distribution.
    ///
    /// # Arguments
    ///
    /// * `loc` - the mean; a constant must be finite.
    /// * `scale` - the standard deviation; a constant must be positive and finite. Tensors are
    ///   not checked (keep them positive, e.g. with `softplus`).
    ///
    /// # Shapes
    ///
    /// * `loc`: `[r1, c1]`, `scale`: `[r2, c2]`, broadcastable (equal or 1 in each dimension).
    ///
    /// # Errors
    ///
    /// * [`DistError::InvalidParameter`] with the offending constant.
    /// * [`DistError::Shape`] when the shapes do not broadcast or a vector is empty.
    pub fn new(loc: impl Into<Param>, scale: impl Into<Param>) -> Result<Self, DistError> {
        let loc = loc.into();
        let scale = scale.into();
        check_nonempty(NAME, "loc", &loc)?;
        check_nonempty(NAME, "scale", &scale)?;
        check_constants(NAME, "loc", &loc, f64::is_finite, "must be finite")?;
        check_constants(
            NAME,
            "scale",
            &scale,
            |s| s > 0.0 && s.is_finite(),
            "must be positive and finite",
        )?;
        let [lr, lc] = loc.shape();
        let [sr, sc] = scale.shape();
        let (Some(rows), Some(cols)) = (broadcast_dim(lr, sr), broadcast_dim(lc, sc)) else {
            return Err(DistError::Shape {
                dist: NAME,
                detail: format!(
                    "parameters `loc` [{lr}, {lc}] and `scale` [{sr}, {sc}] cannot broadcast"
                ),
            });
        };
        Ok(Self {
            loc,
            scale,
            rows,
            cols,
        })
    }

    /// The mean parameter.
    pub fn loc(&self) -> &Param {
        &self.loc
    }

    /// The standard-deviation parameter.
    pub fn scale(&self) -> &Param {
        &self.scale
    }

    /// [`Distribution::log_prob`] in composed burn ops (four elementwise passes and a row sum,
    /// each an autodiff node): the reference the fused kernel is tested against, and the
    /// version used on backends other than flex.
    ///
    /// # Shapes
    ///
    /// * `value`: `[rows, cols]`, broadcast with the parameters; returns `[rows]`.
    pub fn log_prob_composed(&self, value: Tensor<2>) -> Tensor<1> {
        let lp = gaussian_log_density(value, &self.loc, &self.scale);
        lp.sum_dim(1).squeeze_dim::<1>(1)
    }

    /// The Kullback-Leibler divergence `KL(self || other)` per row, summed over the event:
    /// `ln(s_p / s_q) + (s_q^2 + (m_q - m_p)^2) / (2 s_p^2) - 1/2` per element.
    ///
    /// Differentiable in tensor parameters of both.
    ///
    /// # Shapes
    ///
    /// * returns: `[rows]`, the rows of both broadcast.
    ///
    /// # Errors
    ///
    /// [`DistError::Shape`] when the two distributions' shapes do not broadcast.
    pub fn kl_divergence(&self, other: &Normal, device: &Device) -> Result<Tensor<1>, DistError> {
        let (Some(rows), Some(cols)) = (
            broadcast_dim(self.rows, other.rows),
            broadcast_dim(self.cols, other.cols),
        ) else {
            return Err(DistError::Shape {
                dist: NAME,
                detail: format!(
                    "KL divergence between shapes [{}, {}] and [{}, {}]",
                    self.rows, self.cols, other.rows, other.cols
                ),
            });
        };
        let shape = [rows, cols];
        let mq = self.loc.to_tensor_as(device, shape);
        let sq = self.scale.to_tensor_as(device, shape);
        let mp = other.loc.to_tensor_as(device, shape);
        let sp = other.scale.to_tensor_as(device, shape);
        let kl = (sp.clone().log() - sq.clone().log())
            + (sq.square() + (mq - mp).square()) / sp.square().mul_scalar(2.0)
            - 0.5;
        Ok(kl.sum_dim(1).squeeze_dim::<1>(1))
    }
}

impl Distribution for Normal {
    fn name(&self) -> &'static str {
        NAME
    }

    fn event_size(&self) -> usize {
        self.cols
    }

    fn batch_rows(&self) -> usize {
        self.rows
    }

    /// `sum_cols(-z^2 / 2 - ln(scale) - ln(2 pi) / 2)` with `z = (value - loc) / scale`.
    ///
    /// On burn's `flex` backend one fused op (one autodiff node with analytic gradients,
    /// `inferrs-kernels/src/density.rs`); elsewhere [`Normal::log_prob_composed`].
    fn log_prob(&self, value: Tensor<2>) -> Tensor<1> {
        let device = value.device();
        if crate::fused_kernels_available(&device) {
            let loc = self.loc.to_tensor(&device);
            let scale = self.scale.to_tensor(&device);
            if let Some(lp) = inferrs_kernels::normal_log_prob(&value, &loc, &scale) {
                return lp;
            }
        }
        self.log_prob_composed(value)
    }

    /// `loc + scale * eps`, `eps ~ N(0, 1)` drawn on the host (row-major).
    fn sample(&self, rows: usize, device: &Device, rng: &mut Rng) -> Tensor<2> {
        assert!(
            self.rows == 1 || self.rows == rows,
            "Normal::sample: cannot draw {rows} rows from parameters with {} rows",
            self.rows
        );
        let cols = self.cols;
        let eps: Vec<f32> = (0..rows * cols)
            .map(|_| {
                let e: f64 = StandardNormal.sample(rng);
                e as f32
            })
            .collect();
        let eps = Tensor::<2>::from_data(TensorData::new(eps, [rows, cols]), device);
        let scaled = match &self.scale {
            Param::Scalar(s) => eps.mul_scalar(*s),
            scale => eps * scale.to_tensor(device),
        };
        match &self.loc {
            Param::Scalar(l) => scaled.add_scalar(*l),
            loc => scaled + loc.to_tensor(device),
        }
    }

    fn has_rsample(&self) -> bool {
        true
    }

    fn constant_parameters(&self) -> bool {
        self.loc.is_constant() && self.scale.is_constant()
    }

    fn support(&self) -> Support {
        Support::Real
    }

    fn mean(&self, device: &Device) -> Tensor<2> {
        self.loc.to_tensor_as(device, [self.rows, self.cols])
    }

    fn variance(&self, device: &Device) -> Tensor<2> {
        self.scale
            .to_tensor_as(device, [self.rows, self.cols])
            .square()
    }
}

impl<L: Into<Param>, S: Into<Param>> FromArgs<(L, S)> for Normal {
    fn from_args((loc, scale): (L, S)) -> Result<Self, DistError> {
        Normal::new(loc, scale)
    }
}

impl<L: Into<Param>, S: Into<Param>> FromArgs<((L, S),)> for Normal {
    /// A pair returned by a network: `Normal(nn(x))`.
    fn from_args(((loc, scale),): ((L, S),)) -> Result<Self, DistError> {
        Normal::new(loc, scale)
    }
}
