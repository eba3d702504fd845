//! Continuous univariate families: one distribution per element of a value `[rows, event]`.
//!
//! Every family here is reparameterised: standard noise is drawn on the host from the caller's
//! seeded [`Rng`](crate::Rng) with `rand_distr` and moved through tensor ops on the device, so
//! gradients flow to tensor parameters. Parameters broadcast against each other and against
//! the value over rows and columns, as in [`Normal`](crate::Normal).

/// Declares a location-scale family `loc + scale * standard` (Cauchy, Laplace, Logistic,
/// LogNormal): the struct, `new` (the shapes broadcast; a constant `loc` is finite, a constant
/// `scale` positive and finite), the accessors `loc` and `scale`, and `FromArgs` from
/// `Family(loc, scale)` and from a network's pair. The family writes the docs and its
/// `impl Distribution`; its module imports `DistError` (the signatures name it, so the
/// constructor docs' links to it resolve there).
macro_rules! loc_scale_family {
    (
        $(#[$doc:meta])*
        pub struct $family:ident($name:expr);

        $(#[$new_doc:meta])*
        pub fn new;

        $(#[$loc_doc:meta])*
        pub fn loc;

        $(#[$scale_doc:meta])*
        pub fn scale;
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $family {
            params: $crate::univariate::LocScale,
            rows: usize,
            cols: usize,
        }

        impl $family {
            $(#[$new_doc])*
            pub fn new(
                loc: impl Into<$crate::Param>,
                scale: impl Into<$crate::Param>,
            ) -> Result<Self, DistError> {
                let (params, [rows, cols]) =
                    $crate::univariate::LocScale::build($name, loc.into(), scale.into())?;
                Ok(Self { params, rows, cols })
            }

            $(#[$loc_doc])*
            pub fn loc(&self) -> &$crate::Param {
                &self.params.loc
            }

            $(#[$scale_doc])*
            pub fn scale(&self) -> &$crate::Param {
                &self.params.scale
            }
        }

        $crate::shared::from_args_pair!($family(loc: L, scale: S));
    };
}

/// Declares a family of one positive parameter (Exponential, HalfNormal, HalfCauchy): the
/// struct, `new` (the parameter has columns; a constant is positive and finite), the accessor,
/// and `FromArgs` from `Family(param)`, also a network's output. The family writes the docs and
/// its `impl Distribution`; its module imports `DistError`, as for `loc_scale_family`.
macro_rules! positive_family {
    (
        $(#[$doc:meta])*
        pub struct $family:ident($name:expr);

        $(#[$new_doc:meta])*
        pub fn new($param:ident: $P:ident);

        $(#[$get_doc:meta])*
        pub fn $getter:ident;
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $family {
            $param: $crate::Param,
            rows: usize,
            cols: usize,
        }

        impl $family {
            $(#[$new_doc])*
            pub fn new($param: impl Into<$crate::Param>) -> Result<Self, DistError> {
                let $param = $param.into();
                let [rows, cols] = $crate::param::broadcast_params(
                    $name,
                    &[(stringify!($param), &$param)],
                    $crate::param::Wording::Trailing,
                )?;
                $crate::param::check_positive($name, stringify!($param), &$param)?;
                Ok(Self { $param, rows, cols })
            }

            $(#[$get_doc])*
            pub fn $getter(&self) -> &$crate::Param {
                &self.$param
            }
        }

        impl<$P: Into<$crate::Param>> $crate::FromArgs<($P,)> for $family {
            #[doc = concat!(
                "`", stringify!($family), "(", stringify!($param), ")`, also `",
                stringify!($family), "(nn(x))` with a network returning the ",
                stringify!($param), "."
            )]
            fn from_args(($param,): ($P,)) -> Result<Self, DistError> {
                $family::new($param)
            }
        }
    };
}

mod cauchy;
mod exponential;
mod half_cauchy;
mod half_normal;
mod half_student_t;
mod laplace;
mod log_normal;
mod logistic;
mod student_t;
mod uniform;

pub use cauchy::Cauchy;
pub use exponential::Exponential;
pub use half_cauchy::HalfCauchy;
pub use half_normal::HalfNormal;
pub use half_student_t::HalfStudentT;
pub use laplace::Laplace;
pub use log_normal::LogNormal;
pub use logistic::Logistic;
pub use student_t::StudentT;
pub use uniform::Uniform;

use burn::tensor::Tensor;

use crate::param::{Wording, broadcast_params, check_finite, check_positive};
use crate::shared::{add_param, div_param, mul_param, sub_param};
use crate::{DistError, Param};

/// Elementwise `exp(x) - 1`, accurate for small `|x|` (where `exp(x) - 1` in `f32` loses
/// every digit): `2 tanh(x/2) / (1 - tanh(x/2))` for `|x| <= 1/2`, `exp(x) - 1` beyond.
///
/// The small-argument branch only ever sees inputs clamped to `[-1/2, 1/2]`, so the branch
/// that is not selected stays finite and contributes no NaN to gradients.
pub(crate) fn expm1(x: Tensor<2>) -> Tensor<2> {
    let small = x.clone().abs().lower_equal_elem(0.5);
    let th = x.clone().clamp(-0.5, 0.5).mul_scalar(0.5).tanh();
    let accurate = th.clone().mul_scalar(2.0) / th.neg().add_scalar(1.0);
    x.exp().sub_scalar(1.0).mask_where(small, accurate)
}

/// A location-scale pair shared by the families `loc + scale * standard`.
#[derive(Clone, Debug)]
pub(crate) struct LocScale {
    pub(crate) loc: Param,
    pub(crate) scale: Param,
}

impl LocScale {
    /// Validates `loc` (finite) and `scale` (positive and finite) constants.
    pub(crate) fn new(dist: &'static str, loc: Param, scale: Param) -> Result<Self, DistError> {
        check_finite(dist, "loc", &loc)?;
        check_positive(dist, "scale", &scale)?;
        Ok(Self { loc, scale })
    }

    /// Checks that `loc` and `scale` broadcast (a [`DistError::Shape`] first), then validates
    /// them as [`LocScale::new`].
    ///
    /// # Returns
    ///
    /// The pair and the broadcast `[rows, cols]`.
    pub(crate) fn build(
        dist: &'static str,
        loc: Param,
        scale: Param,
    ) -> Result<(Self, [usize; 2]), DistError> {
        let shape = broadcast_params(dist, &[("loc", &loc), ("scale", &scale)], Wording::Trailing)?;
        Ok((Self::new(dist, loc, scale)?, shape))
    }

    /// `(value - loc) / scale`.
    pub(crate) fn standardize(&self, value: Tensor<2>) -> Tensor<2> {
        div_param(sub_param(value, &self.loc), &self.scale)
    }

    /// `loc + scale * noise`.
    pub(crate) fn affine(&self, noise: Tensor<2>) -> Tensor<2> {
        add_param(mul_param(noise, &self.scale), &self.loc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::to_f64;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn expm1_matches_f64_across_branches() {
        let device = Device::flex();
        let xs = [
            -30.0, -3.0, -0.5, -0.3, -1e-3, -1e-7, 0.0, 1e-7, 1e-4, 0.2, 0.5, 0.6, 4.0, 40.0,
        ];
        let data: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
        let t = Tensor::<2>::from_data(TensorData::new(data, [1, xs.len()]), &device);
        for (got, &x) in to_f64(expm1(t)).into_iter().zip(&xs) {
            let want = f64::from(x as f32).exp_m1();
            // A few f32 ulps of the result (the naive `exp(x) - 1` fails by up to 100% at 1e-7).
            assert!(
                (got - want).abs() <= 4.0 * f64::from(f32::EPSILON) * want.abs() + 1e-45,
                "expm1({x}): got {got}, expected {want}"
            );
        }
    }
}
