//! The InferenceData types: groups of named, dimensioned variables.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::ArvizError;

/// ArviZ's group of posterior draws (dims `chain`, `draw`, ...).
pub const POSTERIOR: &str = "posterior";
/// ArviZ's group of per-draw sampler statistics (`diverging`, `tree_depth`, `lp`, ...).
pub const SAMPLE_STATS: &str = "sample_stats";
/// ArviZ's group of observed data (no `chain`/`draw` dims).
pub const OBSERVED_DATA: &str = "observed_data";
/// ArviZ's group of posterior predictive draws.
pub const POSTERIOR_PREDICTIVE: &str = "posterior_predictive";
/// ArviZ's group of pointwise log-likelihoods (for `az.loo` and `az.waic`).
pub const LOG_LIKELIHOOD: &str = "log_likelihood";
/// ArviZ's group of constant (non-observed) data.
pub const CONSTANT_DATA: &str = "constant_data";

/// ArviZ's group names in ArviZ's order; [`InferenceData::read_zarr`](crate::InferenceData::read_zarr)
/// returns groups in this order, then any other groups by name.
pub const GROUP_ORDER: [&str; 6] = [
    POSTERIOR,
    POSTERIOR_PREDICTIVE,
    LOG_LIKELIHOOD,
    SAMPLE_STATS,
    OBSERVED_DATA,
    CONSTANT_DATA,
];

/// The values of a [`Variable`], flattened in row-major (C) order.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// 64-bit floats (Zarr `<f8`).
    F64(Vec<f64>),
    /// 32-bit floats (Zarr `<f4`).
    F32(Vec<f32>),
    /// 64-bit integers (Zarr `<i8`).
    I64(Vec<i64>),
    /// Booleans (Zarr `|b1`), e.g. `diverging`.
    Bool(Vec<bool>),
}

impl Values {
    /// The number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::F64(v) => v.len(),
            Self::F32(v) => v.len(),
            Self::I64(v) => v.len(),
            Self::Bool(v) => v.len(),
        }
    }

    /// Whether there are no values.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Zarr v2 (NumPy) data type string: `<f8`, `<f4`, `<i8` or `|b1`.
    #[must_use]
    pub fn zarr_dtype(&self) -> &'static str {
        match self {
            Self::F64(_) => "<f8",
            Self::F32(_) => "<f4",
            Self::I64(_) => "<i8",
            Self::Bool(_) => "|b1",
        }
    }
}

impl From<Vec<f64>> for Values {
    fn from(v: Vec<f64>) -> Self {
        Self::F64(v)
    }
}

impl From<Vec<f32>> for Values {
    fn from(v: Vec<f32>) -> Self {
        Self::F32(v)
    }
}

impl From<Vec<i64>> for Values {
    fn from(v: Vec<i64>) -> Self {
        Self::I64(v)
    }
}

impl From<Vec<bool>> for Values {
    fn from(v: Vec<bool>) -> Self {
        Self::Bool(v)
    }
}

/// One array of a group: its dimension names, its shape and its values (row-major).
///
/// The fields are public; [`Variable::new`] checks that they fit, and
/// [`InferenceData::write_zarr`](crate::InferenceData::write_zarr) checks again.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// One name per axis, e.g. `["chain", "draw", "mu_dim_0"]`.
    pub dims: Vec<String>,
    /// The length of each axis.
    pub shape: Vec<usize>,
    /// The values, in row-major (C) order.
    pub values: Values,
}

impl Variable {
    /// A variable named `name` (used only in the error), checked: one dim per axis, and the
    /// shape's product equals the number of values.
    ///
    /// # Errors
    /// [`ArvizError::Shape`], naming the variable, when they do not fit.
    pub fn new<D: Into<String>>(
        name: &str,
        dims: impl IntoIterator<Item = D>,
        shape: Vec<usize>,
        values: impl Into<Values>,
    ) -> Result<Self, ArvizError> {
        let variable = Self {
            dims: dims.into_iter().map(Into::into).collect(),
            shape,
            values: values.into(),
        };
        variable.check(name)?;
        Ok(variable)
    }

    /// Checks that the dims, shape and values fit (as [`Variable::new`] does).
    ///
    /// # Errors
    /// [`ArvizError::Shape`], naming the variable `name`, when they do not.
    pub fn check(&self, name: &str) -> Result<(), ArvizError> {
        let count = self
            .shape
            .iter()
            .try_fold(1usize, |acc, &n| acc.checked_mul(n));
        if self.dims.len() != self.shape.len() || count != Some(self.values.len()) {
            return Err(ArvizError::Shape {
                variable: name.to_string(),
                dims: self.dims.clone(),
                shape: self.shape.clone(),
                values: self.values.len(),
            });
        }
        Ok(())
    }
}

/// One InferenceData group (an xarray Dataset): named variables and the group's attributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Group {
    /// The variables, by name. A variable named after one of the group's dims is that dim's
    /// coordinate; dims without one get the default coordinate `0..len` when written.
    pub variables: IndexMap<String, Variable>,
    /// The group's attributes (ArviZ's `created_at`, `inference_library`,
    /// `inference_library_version`, ...).
    pub attrs: Map<String, Value>,
}

impl Group {
    /// Checks and adds (or replaces) the variable `name`; returns the group for chaining.
    ///
    /// # Errors
    /// [`ArvizError::Shape`], naming the variable, when the dims, shape and values do not fit.
    pub fn add<D: Into<String>>(
        &mut self,
        name: &str,
        dims: impl IntoIterator<Item = D>,
        shape: Vec<usize>,
        values: impl Into<Values>,
    ) -> Result<&mut Self, ArvizError> {
        let variable = Variable::new(name, dims, shape, values)?;
        self.variables.insert(name.to_string(), variable);
        Ok(self)
    }

    /// Sets the attribute `key` to `value`; returns the group for chaining.
    pub fn set_attr(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        self.attrs.insert(key.to_string(), value.into());
        self
    }

    /// The length of every dim the group's variables use, in first-use order.
    ///
    /// # Errors
    /// [`ArvizError::Shape`] for a variable whose dims, shape and values disagree, and
    /// [`ArvizError::DimLength`] when two variables give one dim different lengths.
    pub fn dim_lengths(&self, group: &str) -> Result<IndexMap<String, usize>, ArvizError> {
        let mut lengths = IndexMap::<String, usize>::new();
        for (name, variable) in &self.variables {
            variable.check(name)?;
            for (dim, &len) in variable.dims.iter().zip(&variable.shape) {
                match lengths.get(dim) {
                    Some(&expected) if expected != len => {
                        return Err(ArvizError::DimLength {
                            group: group.to_string(),
                            dim: dim.clone(),
                            variable: name.clone(),
                            len,
                            expected,
                        });
                    }
                    Some(_) => {}
                    None => {
                        lengths.insert(dim.clone(), len);
                    }
                }
            }
        }
        Ok(lengths)
    }
}

/// ArviZ's InferenceData: named groups (see [`GROUP_ORDER`]), written and read as a Zarr
/// store by [`write_zarr`](InferenceData::write_zarr) and [`read_zarr`](InferenceData::read_zarr).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InferenceData {
    /// The groups, by name (`"posterior"`, `"sample_stats"`, ...).
    pub groups: IndexMap<String, Group>,
}

impl InferenceData {
    /// An InferenceData without groups.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The group `name`, created empty if it does not exist yet.
    pub fn group_mut(&mut self, name: &str) -> &mut Group {
        self.groups.entry(name.to_string()).or_default()
    }

    /// The group `name`, if there is one.
    #[must_use]
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.get(name)
    }
}
