//! Errors returned when a distribution is built from invalid parameters.

/// Why a distribution could not be built (or a value does not fit it).
///
/// Constructors validate everything that is known on the host without reading a device
/// tensor: the values of constant parameters ([`Param::Scalar`](crate::Param::Scalar),
/// [`Param::Vector`](crate::Param::Vector)) and the shapes of all parameters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DistError {
    /// A constant parameter has a value outside its support, e.g.
    /// `Normal: parameter `scale` = -1 is invalid: must be positive and finite`.
    #[error("{dist}: parameter `{param}` = {value} is invalid: {reason}")]
    InvalidParameter {
        /// The distribution being built, e.g. `"Normal"`.
        dist: &'static str,
        /// The parameter name, e.g. `"scale"`.
        param: &'static str,
        /// The offending value (for a sum constraint: the sum).
        value: f64,
        /// The constraint that was violated.
        reason: &'static str,
    },
    /// Parameters (or a value) whose shapes cannot broadcast together.
    #[error("{dist}: {detail}")]
    Shape {
        /// The distribution being built, e.g. `"MixtureGaussian"`.
        dist: &'static str,
        /// Which parameters and their shapes.
        detail: String,
    },
}
