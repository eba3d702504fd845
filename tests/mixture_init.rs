//! A fit starts a freshly built `MixtureNet` from the data (`MixtureNet::data_init`: its
//! location head's biases at quantiles of the observed `y`), and only then: a second fit, or
//! a fit of a loaded model, goes on from the weights it has. Each start is read off a fit of
//! one step at a negligible learning rate.

use inferrs::prelude::*;
use inferrs::{Error, nn::LOC_SPREAD};

const K: usize = 4;

macro_rules! mdn {
    ($device:expr) => {
        datamodel! {
            nn = MixtureNet::new(&$device, 5, K);
            x ~ Normal(0.0, 10.0);
            y ~ MixtureGaussian(nn(x));
        }
    };
}

/// 401 rows with `y` evenly spaced over [-4, 4] (its `p`-quantile is `-4 + 8 p`).
fn data() -> Data {
    let y: Vec<f32> = (0..=400).map(|i| -4.0 + 0.02 * i as f32).collect();
    let x: Vec<f32> = y.iter().map(|y| 3.0 * y.sin()).collect();
    Data::new().with("x", x).unwrap().with("y", y).unwrap()
}

fn one_tiny_step() -> VI {
    VI::new(1).lr(1e-12).quiet(true)
}

/// The network of a model's parameters.
macro_rules! net_of {
    ($model:expr) => {{ $model.params().nn.clone() }};
}

#[test]
fn a_fresh_network_starts_at_the_quantiles_of_y() -> Result<(), Error> {
    let device = Device::default();
    let mut model = mdn!(device);
    model.fit(&data(), one_tiny_step())?;
    let net = net_of!(model);
    let biases = bias_of(&net);
    for (c, b) in biases.iter().enumerate() {
        let p = 0.5 + LOC_SPREAD * ((c as f64 + 0.5) / K as f64 - 0.5);
        let expected = -4.0 + 8.0 * p;
        assert!(
            (f64::from(*b) - expected).abs() < 1e-5,
            "{c}: {b} vs {expected}"
        );
    }
    Ok(())
}

#[test]
fn a_second_fit_and_a_loaded_model_go_on_from_their_weights() -> Result<(), Error> {
    let device = Device::default();
    let mut model = mdn!(device);
    model.fit(&data(), VI::new(30).lr(0.05).quiet(true))?;
    let trained = bias_of(&net_of!(model));
    let start = bias_of(&{
        let mut fresh = mdn!(device);
        fresh.fit(&data(), one_tiny_step())?;
        net_of!(fresh)
    });
    assert!(
        trained
            .iter()
            .zip(&start)
            .any(|(a, b)| (a - b).abs() > 1e-3),
        "30 steps moved the biases: {trained:?} vs {start:?}"
    );
    model.fit(&data(), one_tiny_step())?;
    assert_eq!(
        bias_of(&net_of!(model)),
        trained,
        "the second fit kept them"
    );

    let dir = std::env::temp_dir().join(format!("inferrs-mixture-init-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mdn.inferrs");
    model.save(&path)?;
    let mut loaded = mdn!(device);
    loaded.load(&path)?;
    loaded.fit(&data(), one_tiny_step())?;
    assert_eq!(
        bias_of(&net_of!(loaded)),
        trained,
        "the loaded weights were kept"
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

fn bias_of(net: &MixtureNet) -> Vec<f32> {
    net.layers()[2]
        .bias
        .as_ref()
        .expect("a bias")
        .val()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}
