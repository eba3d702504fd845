//! Supports of distributions: the set of values with positive density.

/// The support of a distribution: where its values live.
///
/// Automatic guides and the ELBO use it to fit a constrained latent variable in an
/// unconstrained space (a bijector maps the real line onto the support); discrete supports
/// mark variables that cannot be reparameterised.
#[derive(Clone, Debug, PartialEq)]
pub enum Support {
    /// Every real number (per element of the event).
    Real,
    /// `(0, inf)`.
    Positive,
    /// `(low, inf)`.
    GreaterThan(f64),
    /// `(0, 1)`.
    UnitInterval,
    /// `(low, high)` with constant bounds.
    Interval {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// `{0, 1}`.
    Boolean,
    /// `{0, 1, 2, ...}`.
    NonNegativeInteger,
    /// `{low, ..., high}`.
    IntegerInterval {
        /// Smallest value.
        low: i64,
        /// Largest value.
        high: i64,
    },
    /// Rows of positive entries summing to one.
    Simplex,
    /// A support that depends on tensor parameters (e.g. `Uniform` with tensor bounds); it is
    /// treated as real for fitting.
    Dependent,
}

impl Support {
    /// True for supports made of integers (`Boolean`, `NonNegativeInteger`,
    /// `IntegerInterval`): such variables cannot be reparameterised.
    pub fn is_discrete(&self) -> bool {
        matches!(
            self,
            Support::Boolean | Support::NonNegativeInteger | Support::IntegerInterval { .. }
        )
    }
}
