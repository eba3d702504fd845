//! Distribution parameters: host constants or device tensors.

use burn::tensor::{Device, Tensor, TensorData};

/// A distribution parameter: a constant or a tensor `[rows, cols]`.
///
/// A parameter with one row broadcasts over the rows of the other parameters and of the value;
/// one with one column broadcasts over their columns.
///
/// # Shapes
///
/// * [`Param::Scalar`]: `[1, 1]`
/// * [`Param::Vector`] of length `K`: `[1, K]` (one row shared by every batch row)
/// * [`Param::Tensor`]: its own `[rows, cols]`
///
/// Constants are validated by the distribution constructors; tensors are not read (that would
/// need a device synchronisation), only their shapes are checked.
// The tensor handle is larger than the constants, but `Param` is built once per distribution
// and boxing would leak into the public API (`Param::Tensor(t)`).
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Param {
    /// A constant, broadcast over rows and columns.
    Scalar(f64),
    /// A constant row `[1, K]`, broadcast over rows.
    Vector(Vec<f64>),
    /// A tensor `[rows, cols]`, possibly tracked by autodiff.
    Tensor(Tensor<2>),
}

impl Param {
    /// Materialises the parameter as a tensor on `device`.
    ///
    /// # Arguments
    ///
    /// * `device` - where constants are created; a [`Param::Tensor`] is returned as is (a cheap
    ///   clone that keeps its autodiff graph) and is not moved.
    ///
    /// # Shapes
    ///
    /// `Scalar -> [1, 1]`, `Vector(K) -> [1, K]`, `Tensor -> [rows, cols]`.
    ///
    /// # Returns
    ///
    /// The parameter as an `f32` tensor (constants are rounded from `f64`).
    pub fn to_tensor(&self, device: &Device) -> Tensor<2> {
        match self {
            Param::Scalar(x) => {
                Tensor::<2>::from_data(TensorData::new(vec![*x as f32], [1, 1]), device)
            }
            Param::Vector(v) => {
                let data: Vec<f32> = v.iter().map(|&x| x as f32).collect();
                Tensor::<2>::from_data(TensorData::new(data, [1, v.len()]), device)
            }
            Param::Tensor(t) => t.clone(),
        }
    }

    /// Materialises the parameter as a tensor broadcast to `shape` on `device`.
    ///
    /// # Panics
    ///
    /// When the parameter's shape does not broadcast to `shape`.
    pub fn to_tensor_as(&self, device: &Device, shape: [usize; 2]) -> Tensor<2> {
        let t = self.to_tensor(device);
        if t.dims() == shape {
            t
        } else {
            t.expand(shape)
        }
    }

    /// Number of rows (1 for constants).
    pub fn rows(&self) -> usize {
        self.shape()[0]
    }

    /// Number of columns (1 for a scalar, `K` for a vector of length `K`).
    pub fn cols(&self) -> usize {
        self.shape()[1]
    }

    /// The shape `[rows, cols]`, known on the host without reading a tensor.
    pub fn shape(&self) -> [usize; 2] {
        match self {
            Param::Scalar(_) => [1, 1],
            Param::Vector(v) => [1, v.len()],
            Param::Tensor(t) => t.dims(),
        }
    }

    /// True for [`Param::Scalar`] and [`Param::Vector`].
    pub fn is_constant(&self) -> bool {
        !matches!(self, Param::Tensor(_))
    }

    /// The constant values (row-major), or `None` for a tensor.
    pub fn constants(&self) -> Option<&[f64]> {
        match self {
            Param::Scalar(x) => Some(std::slice::from_ref(x)),
            Param::Vector(v) => Some(v),
            Param::Tensor(_) => None,
        }
    }

    /// The values on the host, row-major `[rows, cols]` in `f64`.
    ///
    /// Reads a tensor back from its device (a synchronisation).
    pub(crate) fn to_host(&self) -> Vec<f64> {
        match self {
            Param::Scalar(x) => vec![*x],
            Param::Vector(v) => v.clone(),
            Param::Tensor(t) => t
                .clone()
                .detach()
                .try_into_vec_as::<f32>()
                .map(|v| v.into_iter().map(f64::from).collect())
                .unwrap_or_else(|e| panic!("reading a parameter tensor back failed: {e:?}")),
        }
    }
}

impl From<f64> for Param {
    fn from(x: f64) -> Self {
        Param::Scalar(x)
    }
}

impl From<f32> for Param {
    fn from(x: f32) -> Self {
        Param::Scalar(f64::from(x))
    }
}

impl From<i32> for Param {
    fn from(x: i32) -> Self {
        Param::Scalar(f64::from(x))
    }
}

impl From<Vec<f64>> for Param {
    fn from(v: Vec<f64>) -> Self {
        Param::Vector(v)
    }
}

impl From<&[f64]> for Param {
    fn from(v: &[f64]) -> Self {
        Param::Vector(v.to_vec())
    }
}

impl<const N: usize> From<[f64; N]> for Param {
    fn from(v: [f64; N]) -> Self {
        Param::Vector(v.to_vec())
    }
}

impl From<Tensor<2>> for Param {
    fn from(t: Tensor<2>) -> Self {
        Param::Tensor(t)
    }
}

impl From<Tensor<1>> for Param {
    /// A tensor `[n]` becomes a column `[n, 1]` (one value per row).
    fn from(t: Tensor<1>) -> Self {
        let [n] = t.dims();
        Param::Tensor(t.reshape([n, 1]))
    }
}

/// Broadcast of two dimension sizes (equal, or one of them is 1).
pub(crate) fn broadcast_dim(a: usize, b: usize) -> Option<usize> {
    if a == b || b == 1 {
        Some(a)
    } else if a == 1 {
        Some(b)
    } else {
        None
    }
}

/// How [`broadcast_params`] words its error: each family keeps the message it has always
/// given.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wording {
    /// ``parameters cannot broadcast: `loc` [2, 1], `scale` [3, 1]`` (the univariate families).
    Trailing,
    /// ``parameters `concentration` [2, 1], `rate` [3, 1] cannot broadcast`` (the gamma family
    /// and `MultivariateNormalDiag`).
    Inline,
    /// ``parameters `total_count` [2, 1] and `logits` [3, 1] cannot broadcast`` (the counts
    /// with a success probability).
    Pair,
}

/// Checks that every parameter has columns and that all of them broadcast together.
///
/// # Arguments
///
/// * `dist` - the distribution being built, for the error.
/// * `params` - each parameter with its name.
/// * `wording` - how the error names the shapes.
///
/// # Returns
///
/// The broadcast `[rows, cols]`.
///
/// # Errors
///
/// [`DistError::Shape`](crate::DistError::Shape) for a parameter without columns (see
/// [`check_nonempty`]), or naming every parameter and its shape when they do not broadcast.
pub(crate) fn broadcast_params(
    dist: &'static str,
    params: &[(&'static str, &Param)],
    wording: Wording,
) -> Result<[usize; 2], crate::DistError> {
    for (name, p) in params {
        check_nonempty(dist, name, p)?;
    }
    let fold = |axis: usize| {
        params
            .iter()
            .try_fold(1, |acc, (_, p)| broadcast_dim(acc, p.shape()[axis]))
    };
    if let (Some(rows), Some(cols)) = (fold(0), fold(1)) {
        return Ok([rows, cols]);
    }
    let shapes = |sep: &str| {
        params
            .iter()
            .map(|(n, p)| {
                let [r, c] = p.shape();
                format!("`{n}` [{r}, {c}]")
            })
            .collect::<Vec<_>>()
            .join(sep)
    };
    let detail = match wording {
        Wording::Trailing => format!("parameters cannot broadcast: {}", shapes(", ")),
        Wording::Inline => format!("parameters {} cannot broadcast", shapes(", ")),
        Wording::Pair => format!("parameters {} cannot broadcast", shapes(" and ")),
    };
    Err(crate::DistError::Shape { dist, detail })
}

/// True for a positive and finite value (the constraint on scales, rates and
/// concentrations).
pub(crate) fn positive_finite(x: f64) -> bool {
    x > 0.0 && x.is_finite()
}

/// Checks every constant of `param` with `ok`; tensors are not read.
pub(crate) fn check_constants(
    dist: &'static str,
    name: &'static str,
    param: &Param,
    ok: impl Fn(f64) -> bool,
    reason: &'static str,
) -> Result<(), crate::DistError> {
    if let Some(values) = param.constants()
        && let Some(&value) = values.iter().find(|&&v| !ok(v))
    {
        return Err(crate::DistError::InvalidParameter {
            dist,
            param: name,
            value,
            reason,
        });
    }
    Ok(())
}

/// Rejects a parameter with no columns (an empty vector).
pub(crate) fn check_nonempty(
    dist: &'static str,
    name: &'static str,
    param: &Param,
) -> Result<(), crate::DistError> {
    if param.cols() == 0 {
        return Err(crate::DistError::Shape {
            dist,
            detail: format!(
                "parameter `{name}` has shape {:?}: it has no columns",
                param.shape()
            ),
        });
    }
    Ok(())
}

/// Rejects a parameter with no columns, then constants that fail `ok` (see
/// [`check_nonempty`] and [`check_constants`]).
pub(crate) fn check_param(
    dist: &'static str,
    name: &'static str,
    param: &Param,
    ok: impl Fn(f64) -> bool,
    reason: &'static str,
) -> Result<(), crate::DistError> {
    check_nonempty(dist, name, param)?;
    check_constants(dist, name, param, ok, reason)
}

/// Rejects a parameter with no columns and constants that are not finite.
pub(crate) fn check_finite(
    dist: &'static str,
    name: &'static str,
    param: &Param,
) -> Result<(), crate::DistError> {
    check_param(dist, name, param, f64::is_finite, "must be finite")
}

/// Rejects a parameter with no columns and constants that are not positive and finite.
pub(crate) fn check_positive(
    dist: &'static str,
    name: &'static str,
    param: &Param,
) -> Result<(), crate::DistError> {
    check_param(
        dist,
        name,
        param,
        positive_finite,
        "must be positive and finite",
    )
}

/// A constant parameter with `f` applied to every value (in `f64`), or `None` for a tensor.
pub(crate) fn map_constant(p: &Param, f: impl Fn(f64) -> f64) -> Option<Param> {
    match p {
        Param::Scalar(x) => Some(Param::Scalar(f(*x))),
        Param::Vector(v) => Some(Param::Vector(v.iter().map(|&x| f(x)).collect())),
        Param::Tensor(_) => None,
    }
}

/// A parameter read back to the host (`f64`), indexed with broadcasting over rows and columns:
/// what the host samplers draw from.
pub(crate) struct HostParam {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl HostParam {
    /// Reads `p` (a tensor is read back from its device: a synchronisation).
    pub(crate) fn new(p: &Param) -> Self {
        let [rows, cols] = p.shape();
        Self {
            rows,
            cols,
            data: p.to_host(),
        }
    }

    /// Applies `f` to every value.
    pub(crate) fn map(mut self, f: impl Fn(f64) -> f64) -> Self {
        self.data.iter_mut().for_each(|x| *x = f(*x));
        self
    }

    /// The element at `(r, c)` of the broadcast parameter.
    pub(crate) fn get(&self, r: usize, c: usize) -> f64 {
        let r = if self.rows == 1 { 0 } else { r };
        let c = if self.cols == 1 { 0 } else { c };
        self.data[r * self.cols + c]
    }
}
