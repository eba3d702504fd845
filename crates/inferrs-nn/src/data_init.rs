//! Where a [`MixtureNet`]'s mixture components start, from the data: the step a fit asks of
//! it through [`Distribution::data_init`]. `docs/design.md` has the measurements behind it.
//!
//! [`Distribution::data_init`]: inferrs_distributions::Distribution::data_init

use burn::tensor::{Tensor, TensorData};

use inferrs_distributions::ParamInit;

use crate::MixtureNet;

/// The share of the observed `y`'s quantiles that the location head's starting biases span:
/// component `k` of `K` starts at the quantile `0.5 + LOC_SPREAD ((k + 0.5) / K - 0.5)`.
pub const LOC_SPREAD: f64 = 0.3;

/// `p`-quantile of `sorted` (ascending, not empty), interpolated linearly.
fn quantile(sorted: &[f32], p: f64) -> f32 {
    let pos = p.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let t = (pos - lo as f64) as f32;
    sorted[lo] * (1.0 - t) + sorted[hi] * t
}

/// The finite values of `values`, ascending.
fn sorted(values: impl IntoIterator<Item = f32>) -> Vec<f32> {
    let mut v: Vec<f32> = values.into_iter().filter(|v| v.is_finite()).collect();
    v.sort_by(f32::total_cmp);
    v
}

/// `tensor`'s values on the host, as `f32`.
fn host<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .detach()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default()
}

impl MixtureNet {
    /// Starting values from the observed outputs `y`: the location head's biases at
    /// quantiles of `y` (component `k` of `K` at `0.5 + LOC_SPREAD ((k + 0.5) / K - 0.5)`,
    /// the middle [`LOC_SPREAD`] of the data), so that the components start apart, each
    /// nearest to its own share of the rows, instead of all at 0. The weights keep their
    /// Glorot start; the other heads and the hidden layers are untouched. Nothing (an empty
    /// list) when `y` has fewer than two finite values.
    ///
    /// A fit of a model with `y ~ MixtureGaussian(nn(x))` calls this once, before its first
    /// step, when it initialised the network's weights itself
    /// ([`Distribution::data_init`](inferrs_distributions::Distribution::data_init)).
    ///
    /// # Shapes
    /// `y: [rows, 1]`.
    pub fn data_init(&self, y: &Tensor<2>) -> Vec<ParamInit> {
        let ys = sorted(host(y.clone()));
        let Some(bias) = self.locs.bias.as_ref() else {
            return Vec::new();
        };
        if ys.len() < 2 {
            return Vec::new();
        }
        let k = self.components();
        let biases = (0..k)
            .map(|c| quantile(&ys, 0.5 + LOC_SPREAD * ((c as f64 + 0.5) / k as f64 - 0.5)))
            .collect();
        vec![ParamInit {
            id: bias.id,
            value: TensorData::new(biases, [k]),
        }]
    }
}
