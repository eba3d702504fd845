//! Supports of distributions: the set of values with positive density.

/// The support of a distribution: where its values live.
///
/// Automatic guides and the ELBO use it to fit a constrained latent variable in an
/// unconstrained space (a bijector maps the real line onto the support); discrete supports
/// mark variables that cannot be reparameterised.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// Whether one element `x` of a value lies in the support: open at the ends of `(0, inf)`,
    /// `(low, inf)` and `(0, 1)`, as written above (where a log-density is typically
    /// infinite), closed for `Interval` (a uniform density is finite at its bounds); integers
    /// for the discrete supports; an element of `[0, 1]` for the simplex (whose rows
    /// [`Support::contains_row`] checks whole). `Real` and `Dependent` take every finite
    /// number.
    pub fn contains(&self, x: f64) -> bool {
        if !x.is_finite() {
            return false;
        }
        let integer = x.fract() == 0.0;
        match *self {
            Support::Real | Support::Dependent => true,
            Support::Positive => x > 0.0,
            Support::GreaterThan(low) => x > low,
            Support::UnitInterval => x > 0.0 && x < 1.0,
            Support::Interval { low, high } => (low..=high).contains(&x),
            Support::Boolean => x == 0.0 || x == 1.0,
            Support::NonNegativeInteger => integer && x >= 0.0,
            Support::IntegerInterval { low, high } => {
                integer && (low as f64..=high as f64).contains(&x)
            }
            Support::Simplex => (0.0..=1.0).contains(&x),
        }
    }

    /// Whether `row`, one value of the variable (its event), lies in the support: every
    /// element does ([`Support::contains`]), and a simplex row sums to 1 within `1e-3`.
    pub fn contains_row(&self, row: &[f32]) -> bool {
        row.iter().all(|&x| self.contains(f64::from(x)))
            && (*self != Support::Simplex
                || (row.iter().map(|&x| f64::from(x)).sum::<f64>() - 1.0).abs() <= 1e-3)
    }

    /// True for supports made of integers (`Boolean`, `NonNegativeInteger`,
    /// `IntegerInterval`): such variables cannot be reparameterised.
    pub fn is_discrete(&self) -> bool {
        matches!(
            self,
            Support::Boolean | Support::NonNegativeInteger | Support::IntegerInterval { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Support;

    #[test]
    fn contains_follows_each_support() {
        assert!(Support::Real.contains(-3.0) && !Support::Real.contains(f64::NAN));
        assert!(Support::Positive.contains(1e-9) && !Support::Positive.contains(0.0));
        assert!(!Support::Positive.contains(-2.0));
        assert!(
            Support::GreaterThan(1.0).contains(1.5) && !Support::GreaterThan(1.0).contains(1.0)
        );
        assert!(Support::UnitInterval.contains(0.5));
        assert!(!Support::UnitInterval.contains(0.0) && !Support::UnitInterval.contains(1.5));
        let interval = Support::Interval {
            low: -1.0,
            high: 2.0,
        };
        assert!(interval.contains(-1.0) && interval.contains(2.0) && !interval.contains(2.5));
        assert!(Support::Boolean.contains(1.0) && !Support::Boolean.contains(0.5));
        assert!(Support::NonNegativeInteger.contains(3.0));
        assert!(!Support::NonNegativeInteger.contains(1.5));
        assert!(!Support::NonNegativeInteger.contains(-1.0));
        let dice = Support::IntegerInterval { low: 1, high: 6 };
        assert!(dice.contains(6.0) && !dice.contains(0.0) && !dice.contains(2.5));
        assert!(Support::Simplex.contains_row(&[0.25, 0.75]));
        assert!(!Support::Simplex.contains_row(&[0.5, 0.6]));
        assert!(!Support::Simplex.contains_row(&[1.5, -0.5]));
    }
}
