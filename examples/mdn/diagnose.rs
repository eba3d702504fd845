//! Why a fit is stuck: what `--diagnose` prints after the MDN's fit.
//!
//! * hidden layer 1: the units whose ReLU kink (`-b / w`) lies inside the range of the
//!   training `x`; the others are linear over the data (all their kinks at one point makes the
//!   first layer's output piecewise linear with a single break);
//! * hidden layer 2: the units active on no training row (dead: no gradient reaches them);
//! * the components whose mean weight over the training rows is below 1e-3 (unused);
//! * the excess NLL over the Bayes-optimal one by band of the held-out `y`: a branch that no
//!   component covers shows as a large excess in the bands it spans.

use inferrs::prelude::*;

/// `tensor` on the host.
fn host<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().try_to_vec::<f32>().unwrap_or_default()
}

/// Prints the diagnosis of `net` fitted on `x_train`; `excess` is the held-out points' NLL
/// minus their Bayes-optimal NLL, at the held-out `y_test`.
pub fn print(device: &Device, net: &MixtureNet, x_train: &[f32], y_test: &[f32], excess: &[f64]) {
    let [l1, l2, _, _, _] = net.layers();
    let (w1, b1) = (host(l1.weight.val()), bias(l1));
    let hidden = b1.len();
    let (lo, hi) = x_train
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    let inside = (0..hidden)
        .filter(|&j| w1[j] != 0.0 && (lo..=hi).contains(&(-b1[j] / w1[j])))
        .count();
    let kinks: Vec<String> = (0..hidden)
        .map(|j| format!("{:.1}", -b1[j] / w1[j]))
        .collect();
    println!(
        "hidden 1: {inside} of {hidden} kinks inside the data's x in [{lo:.1}, {hi:.1}]: {}",
        kinks.join(" ")
    );
    let (w2, b2) = (host(l2.weight.val()), bias(l2));
    let mut active = vec![0usize; hidden];
    for &x in x_train {
        let h1: Vec<f32> = (0..hidden).map(|j| (w1[j] * x + b1[j]).max(0.0)).collect();
        for (j, count) in active.iter_mut().enumerate() {
            let z: f32 = (0..hidden).map(|i| h1[i] * w2[i * hidden + j]).sum::<f32>() + b2[j];
            *count += usize::from(z > 0.0);
        }
    }
    let dead = active.iter().filter(|&&c| c == 0).count();
    let shares: Vec<String> = active
        .iter()
        .map(|&c| format!("{:.2}", c as f64 / x_train.len() as f64))
        .collect();
    println!(
        "hidden 2: {dead} of {hidden} units dead on every training row; share of rows active: {}",
        shares.join(" ")
    );
    let x = Tensor::<2>::from_data(
        burn::tensor::TensorData::new(x_train.to_vec(), [x_train.len(), 1]),
        device,
    );
    let (_, _, logits) = net.forward(x).into_parts();
    let weights = host(burn::tensor::activation::softmax(logits, 1).mean_dim(0));
    let unused = weights.iter().filter(|&&w| w < 1e-3).count();
    println!(
        "components: {unused} of {} with a mean weight below 1e-3",
        weights.len()
    );
    let bands: Vec<String> = (0..7)
        .map(|b| {
            let (a, z) = (-10.5 + 3.0 * b as f32, -7.5 + 3.0 * b as f32);
            let total: f64 = y_test
                .iter()
                .zip(excess)
                .filter(|(y, _)| (a..z).contains(*y))
                .map(|(_, e)| e)
                .sum();
            format!("[{a:.1},{z:.1}) {:.3}", total / y_test.len() as f64)
        })
        .collect();
    println!("excess by band of y: {}", bands.join("  "));
}

/// A layer's bias on the host (zeros when it has none).
fn bias(layer: &burn::nn::Linear) -> Vec<f32> {
    match &layer.bias {
        Some(b) => host(b.val()),
        None => vec![0.0; layer.weight.dims()[1]],
    }
}
