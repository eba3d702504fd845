//! Where a `MixtureNet`'s components start from the data (`MixtureNet::data_init`, what a fit
//! asks of an observed `MixtureGaussian` through `Distribution::data_init`): the location
//! head's biases at quantiles of the observed `y`, checked against the closed form of the
//! quantiles of an evenly spaced grid; and the same proposal through the mixture, whichever
//! path evaluates the network.

use burn::tensor::{Device, Tensor, TensorData};
use inferrs_distributions::{Distribution, MixtureGaussian};
use inferrs_nn::{LOC_SPREAD, MixtureNet};

fn column(values: Vec<f32>, device: &Device) -> Tensor<2> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n, 1]), device)
}

/// `y`: 1001 points evenly spaced over [-10, 10], whose `p`-quantile (interpolated) is
/// `-10 + 20 p` exactly.
fn grid(device: &Device) -> Tensor<2> {
    column(
        (0..=1000).map(|i| -10.0 + 0.02 * i as f32).collect(),
        device,
    )
}

#[test]
fn the_locations_start_at_quantiles_of_y() {
    let device = Device::default();
    device.seed(3);
    let k = 5;
    let net = MixtureNet::new(&device, 6, k);
    let inits = net.data_init(&grid(&device));
    assert_eq!(inits.len(), 1, "only the location head's biases move");
    let bias = net.layers()[2].bias.as_ref().expect("a bias");
    assert_eq!(inits[0].id, bias.id);
    let values = inits[0].value.clone().try_to_vec::<f32>().unwrap();
    for (c, v) in values.iter().enumerate() {
        let p = 0.5 + LOC_SPREAD * ((c as f64 + 0.5) / k as f64 - 0.5);
        let expected = -10.0 + 20.0 * p;
        // f32 grid points and interpolation: a few ulps of 10.
        assert!(
            (f64::from(*v) - expected).abs() < 1e-5,
            "component {c}: {v} vs {expected}"
        );
    }
    assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");
}

#[test]
fn too_few_finite_values_propose_nothing() {
    let device = Device::default();
    let net = MixtureNet::new(&device, 4, 3);
    assert!(net.data_init(&column(vec![2.0], &device)).is_empty());
    assert!(
        net.data_init(&column(vec![f32::NAN, 1.0, f32::INFINITY], &device))
            .is_empty()
    );
    // Non-finite values are left out of the quantiles.
    let inits = net.data_init(&column(vec![f32::NAN, 1.0, 3.0], &device));
    let values = inits[0].value.clone().try_to_vec::<f32>().unwrap();
    assert!(values.iter().all(|v| (1.0..=3.0).contains(v)), "{values:?}");
}

#[test]
fn the_mixture_proposes_its_networks_start_and_others_propose_none() {
    let device = Device::default();
    device.seed(5);
    let net = MixtureNet::new(&device, 6, 4);
    let x = column(
        (0..1001).map(|i| (i as f32 * 0.37).sin() * 8.0).collect(),
        &device,
    );
    let y = grid(&device);
    let direct = net.data_init(&y);
    // Deferred (flex) or evaluated (any other backend): the mixture knows its network.
    let mixture = MixtureGaussian::from_params(net.forward(x.clone())).unwrap();
    let through = mixture.data_init(&y);
    assert_eq!(through.len(), direct.len());
    for (a, b) in through.iter().zip(&direct) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.value, b.value);
    }
    // Parameters given as tensors carry no network: nothing to propose.
    let (locs, scales, logits) = net.forward_composed(x).into_parts();
    let plain = MixtureGaussian::new(locs, scales, logits).unwrap();
    assert!(plain.data_init(&y).is_empty());
}
