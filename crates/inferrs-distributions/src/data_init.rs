//! [`ParamInit`]: a starting value for a module parameter, chosen from the data by the
//! distribution the module's output parameterises ([`Distribution::data_init`]).
//!
//! [`Distribution::data_init`]: crate::Distribution::data_init

use burn::module::ParamId;
use burn::tensor::TensorData;

/// A starting value for one parameter of a burn module, by the parameter's id: what
/// [`Distribution::data_init`](crate::Distribution::data_init) proposes and a fit writes into
/// the model's parameters before its first step.
#[derive(Clone, Debug)]
pub struct ParamInit {
    /// The parameter ([`burn::module::Param::id`]).
    pub id: ParamId,
    /// Its new value, of the parameter's shape.
    pub value: TensorData,
}
