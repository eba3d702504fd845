//! [`affine`] and [`matmul`]: `x W + b` and `x W`, the linear predictor of a regression or
//! one dense layer, as one op.

use burn::tensor::Tensor;

/// `x W + b`: the linear predictor of a generalised linear model, or one dense layer whose
/// weights are random variables.
///
/// On `flex` it is one op and one autodiff node, threaded over blocks of rows, where burn's
/// ops make two or three (`matmul`, the broadcast `+ b` with its reduction over the rows
/// backward, often a `transpose`). Elsewhere, and for a bias that is not one row `[1,
/// outputs]`, it is `x.matmul(w) + b` in burn's ops ([`affine_composed`], the reference the
/// tests compare it with). Inside `datamodel!` and `probmodel!`, `x.matmul(w) + b` is written
/// as this call when `x` and `b` are names of the model.
///
/// # Shapes
///
/// * `x`: `[rows, inputs]`; `w`: `[inputs, outputs]`; `b`: `[1, outputs]` (or anything that
///   broadcasts, through burn's ops)
/// * returns: `[rows, outputs]`
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// let d = Device::default();
/// let x = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &d);
/// let w = Tensor::<2>::from_floats([[0.5], [-1.0]], &d);
/// let b = Tensor::<2>::from_floats([[0.25]], &d);
/// let y = inferrs_nn::affine(x, w, b);
/// assert_eq!(y.into_data().to_vec::<f32>().unwrap(), vec![-1.25, -2.25]);
/// ```
pub fn affine(x: Tensor<2>, w: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    match inferrs_kernels::affine(&x, &w, Some(&b)) {
        Some(y) => y,
        None => affine_composed(x, w, b),
    }
}

/// [`affine`] in burn's ops: `x.matmul(w) + b`.
pub fn affine_composed(x: Tensor<2>, w: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    x.matmul(w) + b
}

/// `x W`: [`affine`] without a bias (burn's `x.matmul(w)` off flex). Inside `datamodel!` and
/// `probmodel!`, `x.matmul(w)` is written as this call when `x` is a name of the model.
///
/// # Shapes
///
/// * `x`: `[rows, inputs]`; `w`: `[inputs, outputs]`
/// * returns: `[rows, outputs]`
pub fn matmul(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    match inferrs_kernels::affine(&x, &w, None) {
        Some(y) => y,
        None => x.matmul(w),
    }
}
