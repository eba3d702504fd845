//! The fused kernels as a burn backend extension for `Flex` and `Autodiff<Flex, C>`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::{DType, Tensor, TensorData};

use super::kernel::{self, Inputs, Output, View, Wanted};

/// The fused mixture log density as a burn backend extension.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait MixtureKernel: Backend {
    /// `log sum_k softmax(logits)_k N(value; locs_k, scales_k)` per row.
    ///
    /// # Shapes
    ///
    /// * `value`: `[rows, 1]`; `locs`, `scales`, `logits`: `[rows, K]` (any strides)
    /// * returns: `[rows]`
    fn mixture_gaussian_log_prob(
        value: FloatTensor<Self>,
        locs: FloatTensor<Self>,
        scales: FloatTensor<Self>,
        logits: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// `softplus(x) + floor` elementwise (burn's `softplus(x, 1.0)`, threshold 20).
    ///
    /// # Shapes
    ///
    /// * `x`: `[rows, cols]` (any strides); returns `[rows, cols]`
    fn softplus_floor(x: FloatTensor<Self>, floor: f32) -> FloatTensor<Self>;

    /// [`Self::mixture_gaussian_log_prob`] with the parameters packed side by side in one
    /// `[rows, 3K]` tensor (locations, scales, logits), whose gradient is one `[rows, 3K]`
    /// tensor.
    ///
    /// # Shapes
    ///
    /// * `value`: `[rows, 1]`; `packed`: `[rows, 3K]` (any strides)
    /// * returns: `[rows]`
    fn mixture_gaussian_log_prob_packed(
        value: FloatTensor<Self>,
        packed: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// Whether a tensor of `dtype` on `device` can go through the fused kernels: `f32` on flex.
pub(super) fn runs_fused(dtype: DType, device: &burn::tensor::Device) -> bool {
    dtype == DType::F32 && super::fused_kernels_available(device)
}

/// The fused `MixtureGaussian` log density, or `None` when the tensors are not `f32` tensors
/// on a `flex` device (the caller then uses composed ops).
///
/// # Shapes
///
/// * `value`: `[rows or 1, 1]`; `locs`, `scales`, `logits`: `[rows or 1, K or 1]`
/// * returns: `[rows]`
///
/// # Panics
///
/// When the shapes do not broadcast (the distribution checks them when it is built).
pub(crate) fn mixture_gaussian_log_prob(
    value: &Tensor<2>,
    locs: &Tensor<2>,
    scales: &Tensor<2>,
    logits: &Tensor<2>,
) -> Option<Tensor<1>> {
    let all = [value, locs, scales, logits];
    if !all.iter().all(|t| runs_fused(t.dtype(), &t.device())) {
        return None;
    }
    let rows = all.iter().map(|t| t.dims()[0]).max().unwrap_or(1);
    let k = [locs, scales, logits]
        .iter()
        .map(|t| t.dims()[1])
        .max()
        .unwrap_or(1);
    let fit = |t: &Tensor<2>, shape: [usize; 2]| {
        if t.dims() == shape {
            t.clone()
        } else {
            t.clone().expand(shape)
        }
    };
    let out = <Dispatch as MixtureKernel>::mixture_gaussian_log_prob(
        fit(value, [rows, 1]).into_dispatch(),
        fit(locs, [rows, k]).into_dispatch(),
        fit(scales, [rows, k]).into_dispatch(),
        fit(logits, [rows, k]).into_dispatch(),
    );
    Some(Tensor::from_dispatch(out))
}

/// The fused `MixtureGaussian` log density of packed `[rows, 3K]` parameters (locations,
/// scales, logits side by side), or `None` when the tensors are not `f32` tensors on a `flex`
/// device.
pub(crate) fn mixture_gaussian_log_prob_packed(
    value: &Tensor<2>,
    packed: &Tensor<2>,
) -> Option<Tensor<1>> {
    if ![value, packed]
        .iter()
        .all(|t| runs_fused(t.dtype(), &t.device()))
    {
        return None;
    }
    let [rows, _] = packed.dims();
    let value = if value.dims() == [rows, 1] {
        value.clone()
    } else {
        value.clone().expand([rows, 1])
    };
    let out = <Dispatch as MixtureKernel>::mixture_gaussian_log_prob_packed(
        value.into_dispatch(),
        packed.clone().into_dispatch(),
    );
    Some(Tensor::from_dispatch(out))
}

/// The fused `softplus(x) + floor`, or `None` when `x` is not an `f32` tensor on a `flex`
/// device.
pub(crate) fn softplus_floor(x: &Tensor<2>, floor: f64) -> Option<Tensor<2>> {
    if !runs_fused(x.dtype(), &x.device()) {
        return None;
    }
    let out = <Dispatch as MixtureKernel>::softplus_floor(x.clone().into_dispatch(), floor as f32);
    Some(Tensor::from_dispatch(out))
}

/// A 1-d flex tensor as a one-row view (a bias of the network kernels).
pub(super) fn row_view(t: &FloatTensor<Flex>) -> View<'_> {
    let layout = t.layout();
    View {
        data: t.storage::<f32>(),
        offset: layout.start_offset(),
        row_stride: 0,
        col_stride: layout.strides()[0],
    }
}

/// A strided view of a 2-d flex tensor.
pub(super) fn view(t: &FloatTensor<Flex>) -> View<'_> {
    let layout = t.layout();
    let strides = layout.strides();
    View {
        data: t.storage::<f32>(),
        offset: layout.start_offset(),
        row_stride: strides[0],
        col_stride: strides[1],
    }
}

/// Runs the kernel on a value and packed `[rows, 3K]` parameters.
fn run_packed(value: &FloatTensor<Flex>, packed: &FloatTensor<Flex>, wanted: Wanted) -> Output {
    let [rows, width] = packed.layout().shape().dims::<2>();
    let k = width / 3;
    let all = view(packed);
    let block = |j: usize| View {
        offset: (all.offset as isize + (j * k) as isize * all.col_stride) as usize,
        ..all
    };
    kernel::mixture_gaussian(
        &Inputs {
            rows,
            k,
            value: view(value),
            locs: block(0),
            scales: block(1),
            logits: block(2),
        },
        wanted,
    )
}

/// Runs the kernel on flex tensors.
fn run(
    value: &FloatTensor<Flex>,
    locs: &FloatTensor<Flex>,
    scales: &FloatTensor<Flex>,
    logits: &FloatTensor<Flex>,
    wanted: Wanted,
) -> Output {
    let [rows, k] = locs.layout().shape().dims::<2>();
    kernel::mixture_gaussian(
        &Inputs {
            rows,
            k,
            value: view(value),
            locs: view(locs),
            scales: view(scales),
            logits: view(logits),
        },
        wanted,
    )
}

pub(super) fn flex_tensor(
    data: Vec<f32>,
    shape: impl Into<burn::tensor::Shape>,
) -> FloatTensor<Flex> {
    Flex::float_from_data(TensorData::new(data, shape.into()), &Default::default())
}

impl MixtureKernel for Flex {
    fn mixture_gaussian_log_prob(
        value: FloatTensor<Self>,
        locs: FloatTensor<Self>,
        scales: FloatTensor<Self>,
        logits: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let out = run(&value, &locs, &scales, &logits, Wanted::default());
        let rows = out.log_prob.len();
        flex_tensor(out.log_prob, [rows])
    }

    fn softplus_floor(x: FloatTensor<Self>, floor: f32) -> FloatTensor<Self> {
        let [rows, cols] = x.layout().shape().dims::<2>();
        let (y, _) = kernel::softplus_floor(&view(&x), rows, cols, floor, false);
        flex_tensor(y, [rows, cols])
    }

    fn mixture_gaussian_log_prob_packed(
        value: FloatTensor<Self>,
        packed: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let out = run_packed(&value, &packed, Wanted::default());
        let rows = out.log_prob.len();
        flex_tensor(out.log_prob, [rows])
    }
}

/// Backward step of the packed mixture density: the stored `[rows, 3K]` gradient (and the
/// value's), each row times its incoming gradient.
#[derive(Debug)]
struct PackedMixtureBackward;

/// The gradients of each row's log density with respect to the value and the packed
/// parameters, computed in the forward pass.
#[derive(Clone, Debug)]
struct PackedGrads {
    rows: usize,
    width: usize,
    d_value: Option<Vec<f32>>,
    d_packed: Option<Vec<f32>>,
}

impl Backward<Flex, 2> for PackedMixtureBackward {
    type State = PackedGrads;

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let upstream = grads.consume::<Flex>(&ops.node);
        let g = row_gradient(&upstream);
        let PackedGrads {
            rows,
            width,
            d_value,
            d_packed,
        } = ops.state;
        let [node_value, node_packed] = ops.parents;
        for (node, d, cols) in [(node_value, d_value, 1), (node_packed, d_packed, width)] {
            if let (Some(node), Some(mut d)) = (node, d) {
                kernel::scale_rows(&mut d, cols, &g);
                grads.register::<Flex>(node.id, flex_tensor(d, [rows, cols]));
            }
        }
    }
}

/// The gradients of each row's log density, computed in the forward pass.
#[derive(Clone, Debug)]
struct MixtureGrads {
    rows: usize,
    k: usize,
    d_value: Option<Vec<f32>>,
    d_locs: Option<Vec<f32>>,
    d_scales: Option<Vec<f32>>,
    d_logits: Option<Vec<f32>>,
}

/// The incoming gradient of each row of a `[rows]` output, as a function of the row.
fn row_gradient(upstream: &FloatTensor<Flex>) -> impl Fn(usize) -> f32 + Sync + '_ {
    let layout = upstream.layout();
    let (data, offset, stride) = (
        upstream.storage::<f32>(),
        layout.start_offset() as isize,
        layout.strides()[0],
    );
    move |r: usize| data[(offset + r as isize * stride) as usize]
}

/// Backward step: each stored gradient row times the incoming gradient of that row.
#[derive(Debug)]
struct MixtureBackward;

impl Backward<Flex, 4> for MixtureBackward {
    type State = MixtureGrads;

    fn backward(
        self,
        ops: Ops<Self::State, 4>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let upstream = grads.consume::<Flex>(&ops.node);
        let g = row_gradient(&upstream);
        let MixtureGrads {
            rows,
            k,
            d_value,
            d_locs,
            d_scales,
            d_logits,
        } = ops.state;
        let [node_value, node_locs, node_scales, node_logits] = ops.parents;
        for (node, d, cols) in [
            (node_value, d_value, 1),
            (node_locs, d_locs, k),
            (node_scales, d_scales, k),
            (node_logits, d_logits, k),
        ] {
            if let (Some(node), Some(mut d)) = (node, d) {
                kernel::scale_rows(&mut d, cols, &g);
                grads.register::<Flex>(node.id, flex_tensor(d, [rows, cols]));
            }
        }
    }
}

impl<C: CheckpointStrategy> MixtureKernel for Autodiff<Flex, C> {
    fn mixture_gaussian_log_prob(
        value: FloatTensor<Self>,
        locs: FloatTensor<Self>,
        scales: FloatTensor<Self>,
        logits: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let wanted = Wanted {
            value: value.is_tracked(),
            locs: locs.is_tracked(),
            scales: scales.is_tracked(),
            logits: logits.is_tracked(),
            packed: false,
        };
        let prep = MixtureBackward
            .prepare::<C>([value.node(), locs.node(), scales.node(), logits.node()])
            .compute_bound()
            .stateful();
        let (v, l, s, w) = (
            value.primitive(),
            locs.primitive(),
            scales.primitive(),
            logits.primitive(),
        );
        match prep {
            OpsKind::Tracked(prep) => {
                let out = run(v, l, s, w, wanted);
                let [rows, k] = l.layout().shape().dims::<2>();
                let state = MixtureGrads {
                    rows,
                    k,
                    d_value: out.d_value,
                    d_locs: out.d_locs,
                    d_scales: out.d_scales,
                    d_logits: out.d_logits,
                };
                prep.finish(state, flex_tensor(out.log_prob, [rows]))
            }
            OpsKind::UnTracked(prep) => {
                let out = run(v, l, s, w, Wanted::default());
                let rows = out.log_prob.len();
                prep.finish(flex_tensor(out.log_prob, [rows]))
            }
        }
    }

    fn mixture_gaussian_log_prob_packed(
        value: FloatTensor<Self>,
        packed: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let wanted = Wanted {
            value: value.is_tracked(),
            packed: packed.is_tracked(),
            ..Wanted::default()
        };
        let prep = PackedMixtureBackward
            .prepare::<C>([value.node(), packed.node()])
            .compute_bound()
            .stateful();
        let (v, p) = (value.primitive(), packed.primitive());
        let [rows, width] = p.layout().shape().dims::<2>();
        match prep {
            OpsKind::Tracked(prep) => {
                let out = run_packed(v, p, wanted);
                let state = PackedGrads {
                    rows,
                    width,
                    d_value: out.d_value,
                    d_packed: out.packed,
                };
                prep.finish(state, flex_tensor(out.log_prob, [rows]))
            }
            OpsKind::UnTracked(prep) => {
                let out = run_packed(v, p, Wanted::default());
                prep.finish(flex_tensor(out.log_prob, [rows]))
            }
        }
    }

    fn softplus_floor(x: FloatTensor<Self>, floor: f32) -> FloatTensor<Self> {
        let prep = SoftplusBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful();
        let input = x.primitive();
        let [rows, cols] = input.layout().shape().dims::<2>();
        match prep {
            OpsKind::Tracked(prep) => {
                let (y, d) = kernel::softplus_floor(&view(input), rows, cols, floor, true);
                let state = SoftplusDeriv {
                    rows,
                    cols,
                    deriv: d.unwrap_or_default(),
                };
                prep.finish(state, flex_tensor(y, [rows, cols]))
            }
            OpsKind::UnTracked(prep) => {
                let (y, _) = kernel::softplus_floor(&view(input), rows, cols, floor, false);
                prep.finish(flex_tensor(y, [rows, cols]))
            }
        }
    }
}

/// `sigmoid(x)`, the derivative of softplus, from the forward pass.
#[derive(Clone, Debug)]
struct SoftplusDeriv {
    rows: usize,
    cols: usize,
    deriv: Vec<f32>,
}

/// Backward step of `softplus_floor`: the incoming gradient times `sigmoid(x)`.
#[derive(Debug)]
struct SoftplusBackward;

impl Backward<Flex, 1> for SoftplusBackward {
    type State = SoftplusDeriv;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let upstream = grads.consume::<Flex>(&ops.node);
        let [node] = ops.parents;
        let SoftplusDeriv {
            rows,
            cols,
            mut deriv,
        } = ops.state;
        if let Some(node) = node {
            kernel::mul_by_view(&mut deriv, &view(&upstream), cols);
            grads.register::<Flex>(node.id, flex_tensor(deriv, [rows, cols]));
        }
    }
}
