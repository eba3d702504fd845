//! The optimizer of per-row parameters (a local latent variable's q, one row per data row):
//! the fit's optimizer applied row by row, to the rows whose gradient is not zero, with a
//! step count per row. A minibatch so updates only its own rows, and a row's Adam bias
//! correction counts the steps that row took part in (PyTorch's `SparseAdam`, TensorFlow's
//! `LazyAdam`). burn's optimizers step whole tensors: a row outside the batch would move on
//! its stale momentum. Minibatch fits use it; a full-batch fit, where every row takes part,
//! steps these parameters with the fit's own optimizer.

use std::collections::HashMap;

use burn::module::ParamId;
use burn::tensor::{Gradients, Tensor};

use super::vi::Optimizer;
use crate::runtime::DynModule;

/// Per-parameter state: first and second moments (or the velocity) and the step count, per
/// row.
#[derive(Clone)]
struct RowState {
    moment_1: Tensor<2>,
    moment_2: Option<Tensor<2>>,
    steps: Tensor<2>,
}

/// Steps per-row parameters; see the module docs.
#[derive(Clone)]
pub(crate) struct RowOptimizer {
    optimizer: Optimizer,
    states: HashMap<ParamId, RowState>,
}

impl RowOptimizer {
    pub(crate) fn new(optimizer: Optimizer) -> Self {
        Self {
            optimizer,
            states: HashMap::new(),
        }
    }

    /// One step of `module` (on the autodiff device) with its gradients in `grads`.
    pub(crate) fn step(
        &mut self,
        module: Box<dyn DynModule>,
        lr: f64,
        grads: &mut Gradients,
    ) -> Box<dyn DynModule> {
        let mut param_grads = module.grads(grads);
        let optimizer = self.optimizer;
        let states = &mut self.states;
        module.map_params(&mut |id, value| {
            let grad = param_grads.remove::<2>(id)?;
            let state = states.remove(&id);
            let (updated, state) = row_step(optimizer, lr, value, grad, state);
            states.insert(id, state);
            Some(updated)
        })
    }
}

/// One step on the rows of `value` whose gradient is not zero.
fn row_step(
    optimizer: Optimizer,
    lr: f64,
    value: Tensor<2>,
    grad: Tensor<2>,
    state: Option<RowState>,
) -> (Tensor<2>, RowState) {
    let [rows, cols] = value.dims();
    let device = value.device();
    // 1 for the rows that take part in this step, 0 for the others: [rows, 1].
    let active = grad.clone().abs().sum_dim(1).greater_elem(0.0).float();
    let state = state.unwrap_or_else(|| RowState {
        moment_1: Tensor::zeros([rows, cols], &device),
        moment_2: matches!(optimizer, Optimizer::Adam { .. })
            .then(|| Tensor::zeros([rows, cols], &device)),
        steps: Tensor::zeros([rows, 1], &device),
    });
    let steps = state.steps + active.clone();
    match optimizer {
        Optimizer::Adam {
            beta1,
            beta2,
            epsilon,
        } => {
            let (b1, b2) = (f64::from(beta1), f64::from(beta2));
            // m += active (1 - b1)(g - m), and so for v: inactive rows keep theirs.
            let m = state.moment_1.clone()
                + (grad.clone() - state.moment_1).mul_scalar(1.0 - b1) * active.clone();
            let v_old = state
                .moment_2
                .unwrap_or_else(|| Tensor::zeros([rows, cols], &device));
            let v = v_old.clone() + (grad.square() - v_old).mul_scalar(1.0 - b2) * active.clone();
            // Bias corrections 1 - b^t per row; rows that never took part have t = 0 and no
            // step (clamped to t >= 1 to keep the division finite).
            let t = steps.clone().clamp_min(1.0);
            let bc1 = -(t.clone().mul_scalar(b1.ln()).exp()) + 1.0;
            let bc2 = -(t.mul_scalar(b2.ln()).exp()) + 1.0;
            let m_hat = m.clone() / bc1;
            let v_hat = v.clone() / bc2;
            let delta = m_hat / (v_hat.sqrt().add_scalar(f64::from(epsilon))) * active;
            (
                value - delta.mul_scalar(lr),
                RowState {
                    moment_1: m,
                    moment_2: Some(v),
                    steps,
                },
            )
        }
        Optimizer::Sgd { momentum } => {
            // velocity = g + momentum * velocity on active rows (dampening 0, as the fit's SGD).
            let velocity = state.moment_1.clone()
                + (grad + state.moment_1.mul_scalar(momentum - 1.0)) * active.clone();
            let delta = velocity.clone() * active;
            (
                value - delta.mul_scalar(lr),
                RowState {
                    moment_1: velocity,
                    moment_2: None,
                    steps,
                },
            )
        }
    }
}
