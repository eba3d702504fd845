//! Discrete distributions: Bernoulli, Binomial, Categorical, Poisson, Geometric and
//! NegativeBinomial, with the parameter names and conventions of TensorFlow Probability.
//!
//! Values are whole numbers stored as `f32` in tensors `[rows, event]`. Every `log_prob` is
//! computed in log space from the log success and failure probabilities (`log_sigmoid` of the
//! logits, or the logarithms of the probabilities with `log(0) = -inf` and no NaN), is
//! differentiable in tensor parameters (for score-function estimators), and is `-inf` for a
//! value outside the support (negative, not a whole number, not finite, above a count, a class
//! index out of range). None is reparameterised: samples are drawn on the host with
//! `rand_distr` from the caller's seeded generator and are detached.

/// Declares a family whose success (or class) probabilities are given as logits or as
/// probabilities, stored as an [`Odds`](odds::Odds): the struct, `new` (logits: the parameter
/// has columns, constants are finite), `from_probs` (the parameter has columns, constants
/// satisfy `ok`, then an optional further check), the accessors `logits` and `probs`, and
/// `FromArgs` from `Family(logits)` (also a network's output) and `Family(Probs(p))`.
///
/// With `{ total_count where ok, reason }` the family also has a count parameter, checked
/// first and broadcast with the probabilities (Binomial, NegativeBinomial): `new` and
/// `from_probs` take it first, the accessor `total_count` returns it, and `FromArgs` takes
/// `Family(total_count, logits)`, `Family(total_count, Probs(p))`, or such a pair returned by
/// a network. The family writes the docs and its `impl Distribution`; its module imports
/// `DistError` and `Probs` (the signatures name them, so that the docs show `Probs(probs)` and
/// the constructor docs' links to `DistError` resolve there).
macro_rules! logits_or_probs_family {
    (
        $(#[$doc:meta])*
        pub struct $family:ident($name:expr);

        $(#[$new_doc:meta])*
        pub fn new;

        $(#[$probs_doc:meta])*
        pub fn from_probs where $ok:expr, $reason:literal $(, then $then:path)?;
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $family {
            odds: $crate::discrete::odds::Odds,
        }

        impl $family {
            $(#[$new_doc])*
            pub fn new(logits: impl Into<$crate::Param>) -> Result<Self, DistError> {
                Ok(Self {
                    odds: $crate::discrete::odds::Odds::logits($name, logits.into())?,
                })
            }

            $(#[$probs_doc])*
            pub fn from_probs(probs: impl Into<$crate::Param>) -> Result<Self, DistError> {
                let odds = $crate::discrete::odds::Odds::probs($name, probs.into(), $ok, $reason)?;
                $($then(odds.param())?;)?
                Ok(Self { odds })
            }

            /// The logits, when built from logits.
            pub fn logits(&self) -> Option<&$crate::Param> {
                self.odds.as_logits()
            }

            /// The probabilities, when built from probabilities.
            pub fn probs(&self) -> Option<&$crate::Param> {
                self.odds.as_probs()
            }
        }

        impl<L: Into<$crate::Param>> $crate::FromArgs<(L,)> for $family {
            #[doc = concat!(
                "`", stringify!($family), "(logits)`, also a network's output `",
                stringify!($family), "(nn(x))`."
            )]
            fn from_args((logits,): (L,)) -> Result<Self, DistError> {
                $family::new(logits)
            }
        }

        impl<P: Into<$crate::Param>> $crate::FromArgs<(Probs<P>,)> for $family {
            #[doc = concat!("`", stringify!($family), "(Probs(p))`.")]
            fn from_args(
                (Probs(probs),): (Probs<P>,),
            ) -> Result<Self, DistError> {
                $family::from_probs(probs)
            }
        }
    };
    (
        $(#[$doc:meta])*
        pub struct $family:ident($name:expr) { total_count where $n_ok:expr, $n_reason:literal }

        $(#[$new_doc:meta])*
        pub fn new;

        $(#[$probs_doc:meta])*
        pub fn from_probs where $ok:expr, $reason:literal;

        $(#[$count_doc:meta])*
        pub fn total_count;
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $family {
            total_count: $crate::Param,
            odds: $crate::discrete::odds::Odds,
            rows: usize,
            cols: usize,
        }

        impl $family {
            $(#[$new_doc])*
            pub fn new(
                total_count: impl Into<$crate::Param>,
                logits: impl Into<$crate::Param>,
            ) -> Result<Self, DistError> {
                let total_count = total_count.into();
                $crate::param::check_param($name, "total_count", &total_count, $n_ok, $n_reason)?;
                Self::build(
                    total_count,
                    $crate::discrete::odds::Odds::logits($name, logits.into())?,
                )
            }

            $(#[$probs_doc])*
            pub fn from_probs(
                total_count: impl Into<$crate::Param>,
                probs: impl Into<$crate::Param>,
            ) -> Result<Self, DistError> {
                let total_count = total_count.into();
                $crate::param::check_param($name, "total_count", &total_count, $n_ok, $n_reason)?;
                let odds = $crate::discrete::odds::Odds::probs($name, probs.into(), $ok, $reason)?;
                Self::build(total_count, odds)
            }

            fn build(
                total_count: $crate::Param,
                odds: $crate::discrete::odds::Odds,
            ) -> Result<Self, DistError> {
                let [rows, cols] = $crate::param::broadcast_params(
                    $name,
                    &[("total_count", &total_count), (odds.param_name(), odds.param())],
                    $crate::param::Wording::Pair,
                )?;
                Ok(Self {
                    total_count,
                    odds,
                    rows,
                    cols,
                })
            }

            $(#[$count_doc])*
            pub fn total_count(&self) -> &$crate::Param {
                &self.total_count
            }

            /// The logits, when built from logits.
            pub fn logits(&self) -> Option<&$crate::Param> {
                self.odds.as_logits()
            }

            /// The probabilities, when built from probabilities.
            pub fn probs(&self) -> Option<&$crate::Param> {
                self.odds.as_probs()
            }
        }

        impl<N: Into<$crate::Param>, L: Into<$crate::Param>> $crate::FromArgs<(N, L)> for $family {
            #[doc = concat!("`", stringify!($family), "(total_count, logits)`.")]
            fn from_args((total_count, logits): (N, L)) -> Result<Self, DistError> {
                $family::new(total_count, logits)
            }
        }

        impl<N: Into<$crate::Param>, L: Into<$crate::Param>> $crate::FromArgs<((N, L),)>
            for $family
        {
            #[doc = concat!(
                "`", stringify!($family),
                "(nn(x))` with a network returning `(total_count, logits)`."
            )]
            fn from_args(((total_count, logits),): ((N, L),)) -> Result<Self, DistError> {
                $family::new(total_count, logits)
            }
        }

        impl<N: Into<$crate::Param>, P: Into<$crate::Param>>
            $crate::FromArgs<(N, Probs<P>)> for $family
        {
            #[doc = concat!("`", stringify!($family), "(total_count, Probs(p))`.")]
            fn from_args(
                (total_count, Probs(probs)): (N, Probs<P>),
            ) -> Result<Self, DistError> {
                $family::from_probs(total_count, probs)
            }
        }

        impl<N: Into<$crate::Param>, P: Into<$crate::Param>>
            $crate::FromArgs<((N, Probs<P>),)> for $family
        {
            #[doc = concat!(
                "`", stringify!($family),
                "(nn(x))` with a network returning `(total_count, Probs(p))`."
            )]
            fn from_args(
                ((total_count, Probs(probs)),): ((N, Probs<P>),),
            ) -> Result<Self, DistError> {
                $family::from_probs(total_count, probs)
            }
        }
    };
}

mod bernoulli;
mod binomial;
mod categorical;
mod geometric;
mod negative_binomial;
mod odds;
mod poisson;

pub use bernoulli::Bernoulli;
pub use binomial::Binomial;
pub use categorical::Categorical;
pub use geometric::Geometric;
pub use negative_binomial::NegativeBinomial;
pub use poisson::Poisson;

use burn::tensor::{Bool, Tensor};
use rand_distr::Distribution as _;

use crate::Rng;
use crate::shared::restrict;

/// Entries that are not counts: negative, not whole numbers, or not finite (NaN included).
fn not_count(k: &Tensor<2>) -> Tensor<2, Bool> {
    let fractional = k.clone().not_equal(k.clone().floor());
    k.clone()
        .lower_elem(0.0)
        .bool_or(fractional)
        .bool_or(k.clone().is_finite().bool_not())
}

/// Expands a value of counts against parameters of `[rows, cols]`, marks the entries that are
/// not counts (see [`not_count`]) and replaces them by 0 (see
/// [`restrict`]).
fn counts(dist: &str, value: Tensor<2>, rows: usize, cols: usize) -> (Tensor<2>, Tensor<2, Bool>) {
    restrict(dist, value, rows, cols, |k| not_count(&k), 0.0)
}

/// `a * log_b` with `0 * log(0) = 0`.
///
/// Where `a == 0` and `log_b == -inf` the factor `log_b` is replaced by 0 before the product,
/// so neither the value nor the backward pass (`d/da = log_b`, `d/d log_b = a`) sees
/// `0 * inf`. Elsewhere the product and its gradients are the plain ones.
fn xlogy(a: Tensor<2>, log_b: Tensor<2>) -> Tensor<2> {
    let degenerate = a.clone().equal_elem(0.0).bool_and(log_b.clone().is_inf());
    a * log_b.mask_fill(degenerate, 0.0)
}

/// `log(p)` of a probability tensor, with `log(0) = -inf` and a zero (not NaN) gradient there.
fn safe_log(p: Tensor<2>) -> Tensor<2> {
    let zero = p.clone().lower_equal_elem(0.0);
    p.mask_fill(zero.clone(), 1.0)
        .log()
        .mask_fill(zero, f32::NEG_INFINITY)
}

/// `log(1 - p)` of a probability tensor (`log1p(-p)`), with `log(0) = -inf` at `p = 1` and a
/// zero (not NaN) gradient there.
fn safe_log1m(p: Tensor<2>) -> Tensor<2> {
    let one = p.clone().greater_equal_elem(1.0);
    p.mask_fill(one.clone(), 0.0)
        .neg()
        .log1p()
        .mask_fill(one, f32::NEG_INFINITY)
}

/// `log(sigmoid(x))` in f64, without overflow.
fn ln_sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        -(-x).exp().ln_1p()
    } else {
        x - x.exp().ln_1p()
    }
}

/// `sigmoid(x)` in f64, without overflow.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// One `rand_distr::Poisson` draw (0 for a rate of 0); NaN where the rate is negative, not
/// finite or above `rand_distr::Poisson::MAX_LAMBDA` (`1.8e19`).
fn poisson_draw(rate: f64, rng: &mut Rng) -> f64 {
    if rate == 0.0 {
        return 0.0;
    }
    match rand_distr::Poisson::new(rate) {
        Ok(d) => d.sample(rng),
        Err(_) => f64::NAN,
    }
}
