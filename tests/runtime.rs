//! The runtime end to end on small models: data checks, errors naming the culprit, fit against
//! closed-form least squares, non-finite losses, seeds, queries on new row counts, save/load.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use inferrs::prelude::*;
use inferrs::{Error, Graph};

/// `y = a x + b` as a burn module.
#[derive(Module, Debug)]
struct Line {
    linear: Linear,
}

impl Line {
    fn new(device: &Device) -> Self {
        Self {
            linear: LinearConfig::new(1, 1).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.linear.forward(x)
    }

    fn coefficients(&self) -> (f64, f64) {
        let w = self
            .linear
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()[0];
        let b = self
            .linear
            .bias
            .as_ref()
            .unwrap()
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()[0];
        (f64::from(w), f64::from(b))
    }
}

/// Points on a noisy line, deterministic (no RNG): x in [-2, 2], y = 1.5 x - 0.7 + wiggle.
fn line_data(n: usize) -> (Vec<f32>, Vec<f32>) {
    let x: Vec<f32> = (0..n)
        .map(|i| -2.0 + 4.0 * i as f32 / (n - 1) as f32)
        .collect();
    let y = x
        .iter()
        .enumerate()
        .map(|(i, &x)| 1.5 * x - 0.7 + 0.3 * ((i * 7919 % 113) as f32 / 113.0 - 0.5))
        .collect();
    (x, y)
}

/// Ordinary least squares in f64: the closed-form maximum-likelihood line.
fn least_squares(x: &[f32], y: &[f32]) -> (f64, f64) {
    let n = x.len() as f64;
    let mx = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let my = y.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let sxy: f64 = x
        .iter()
        .zip(y)
        .map(|(&a, &b)| (f64::from(a) - mx) * (f64::from(b) - my))
        .sum();
    let sxx: f64 = x.iter().map(|&a| (f64::from(a) - mx).powi(2)).sum();
    let slope = sxy / sxx;
    (slope, my - slope * mx)
}

macro_rules! line_model {
    ($device:expr) => {
        datamodel! {
            line = Line::new($device);
            x ~ Normal(0.0, 2.0);
            y ~ Normal(line(x), 0.5);
        }
    };
}

#[test]
fn fit_matches_closed_form_least_squares() -> Result<(), Error> {
    let device = Device::default();
    device.seed(1);
    let (x, y) = line_data(200);
    let data = Data::new().with("x", &x)?.with("y", &y)?;
    let mut model = line_model!(&device);
    let report = model.fit(&data, VI::new(1500).lr(0.05).quiet(true))?;
    let (a, b) = model.params().line.coefficients();
    let (a0, b0) = least_squares(&x, &y);
    // Adam with a cosine schedule to 1% of 0.05 converges to the optimum within 1e-3.
    assert!((a - a0).abs() < 1e-3, "slope {a} vs least squares {a0}");
    assert!((b - b0).abs() < 1e-3, "intercept {b} vs least squares {b0}");
    assert_eq!(report.losses.len(), 1500);
    assert_eq!(report.rows, 200);
    assert!(report.final_loss() < report.losses[0]);
    // The loss is the negative log joint summed over rows: check the last one against the
    // closed-form Gaussian log densities at the fitted parameters (f64, tolerance 1e-3 relative).
    let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    let nll: f64 = x
        .iter()
        .zip(&y)
        .map(|(&xi, &yi)| {
            let (xi, yi) = (f64::from(xi), f64::from(yi));
            let zx = xi / 2.0;
            let zy = (yi - (a * xi + b)) / 0.5;
            0.5 * zx * zx + 2f64.ln() + half_log_2pi + 0.5 * zy * zy + 0.5f64.ln() + half_log_2pi
        })
        .sum();
    let lp = model.log_prob(["x", "y"], &data)?;
    assert!(
        (-lp.sum() - nll).abs() < 1e-3 * nll.abs(),
        "log_prob {} vs closed form {nll}",
        -lp.sum()
    );
    Ok(())
}

#[test]
fn same_seed_gives_bit_identical_losses_and_samples() -> Result<(), Error> {
    type Outputs = (Vec<f64>, Vec<f32>, Vec<f32>);
    let run = || -> Result<Outputs, Error> {
        let device = Device::default();
        device.seed(3);
        let (x, y) = line_data(64);
        let data = Data::new().with("x", &x)?.with("y", &y)?;
        let mut model = line_model!(&device);
        let report = model.fit(&data, VI::new(50).seed(11).quiet(true))?;
        let new_x = Data::new().with("x", vec![0.0f32, 1.0, 2.0])?;
        let draws = model.posterior_predictive(["y"], &new_x)?.sample()?;
        let many = model.posterior_predictive(["y"], &new_x)?.sample_n(4)?;
        Ok((report.losses, draws["y"].to_vec(), many["y"].to_vec()))
    };
    let (l1, s1, m1) = run()?;
    let (l2, s2, m2) = run()?;
    assert_eq!(
        l1.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        l2.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(
        s1.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        s2.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(m1, m2);
    // Successive queries draw fresh values.
    assert_ne!(&m1[..3], &m1[3..6]);
    Ok(())
}

#[test]
fn predictive_works_on_any_number_of_rows() -> Result<(), Error> {
    let device = Device::default();
    device.seed(5);
    let (x, y) = line_data(100);
    let data = Data::new().with("x", &x)?.with("y", &y)?;
    let mut model = line_model!(&device);
    model.fit(&data, VI::new(300).lr(0.05).quiet(true))?;
    for rows in [1usize, 7, 1000] {
        let new_x: Vec<f32> = (0..rows).map(|i| i as f32 / rows as f32).collect();
        let new = Data::new().with("x", &new_x)?;
        let one = model.posterior_predictive(["y"], &new)?.sample()?;
        assert_eq!(one["y"].shape, vec![rows, 1]);
        let many = model.posterior_predictive(["y"], &new)?.sample_n(3)?;
        assert_eq!(many["y"].shape, vec![3, rows, 1]);
    }
    // With no data at all for x, x is drawn from its prior too, then y given it.
    let both = model
        .posterior_predictive(["x", "y"], &Data::new().with("x", vec![0.0f32; 2000])?)?
        .sample()?;
    let xs = both["x"].to_vec();
    let mean = xs.iter().map(|&v| f64::from(v)).sum::<f64>() / xs.len() as f64;
    let var = xs
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / xs.len() as f64;
    // x ~ Normal(0, 2): 2000 draws, mean within 5 standard errors (5 * 2 / sqrt(2000) = 0.22),
    // variance within about 6 (4 * sqrt(2 / 2000) = 0.13 each).
    assert!(mean.abs() < 0.23, "mean of x draws {mean}");
    assert!((var - 4.0).abs() < 0.8, "variance of x draws {var}");
    Ok(())
}

#[test]
fn posterior_predictive_mean_tracks_the_fitted_line() -> Result<(), Error> {
    let device = Device::default();
    device.seed(2);
    let (x, y) = line_data(200);
    let data = Data::new().with("x", &x)?.with("y", &y)?;
    let mut model = line_model!(&device);
    model.fit(&data, VI::new(800).lr(0.05).quiet(true))?;
    let (a, b) = model.params().line.coefficients();
    let new = Data::new().with("x", vec![1.0f32; 4000])?;
    let draws = model.posterior_predictive(["y"], &new)?.sample()?;
    let ys = draws["y"].to_vec();
    let mean = ys.iter().map(|&v| f64::from(v)).sum::<f64>() / ys.len() as f64;
    // y | x=1 ~ Normal(a + b, 0.5): 4000 draws, 5 standard errors = 5 * 0.5 / sqrt(4000) = 0.04.
    assert!((mean - (a + b)).abs() < 0.04, "mean {mean} vs {}", a + b);
    Ok(())
}

#[test]
fn save_and_load_give_identical_predictions() -> Result<(), Error> {
    let device = Device::default();
    device.seed(9);
    let (x, y) = line_data(100);
    let data = Data::new().with("x", &x)?.with("y", &y)?;
    let mut model = line_model!(&device);
    model.fit(&data, VI::new(200).lr(0.05).quiet(true))?;
    let path = std::env::temp_dir().join(format!("inferrs-save-{}.bpk", std::process::id()));
    model.save(&path)?;

    device.seed(1234); // a different initialisation, replaced by the loaded parameters
    let mut loaded = line_model!(&device);
    assert_ne!(
        loaded.params().line.coefficients(),
        model.params().line.coefficients()
    );
    loaded.load(&path)?;
    std::fs::remove_file(&path).ok();
    assert_eq!(
        loaded.params().line.coefficients(),
        model.params().line.coefficients()
    );
    let new = Data::new().with("x", vec![-1.0f32, 0.5, 3.0])?;
    let a = model
        .posterior_predictive(["y"], &new)?
        .seed(7)
        .sample_n(5)?;
    let b = loaded
        .posterior_predictive(["y"], &new)?
        .seed(7)
        .sample_n(5)?;
    assert_eq!(a, b);
    assert_eq!(
        model.log_prob(["y"], &data)?,
        loaded.log_prob(["y"], &data)?
    );
    Ok(())
}

#[test]
fn loading_a_missing_file_names_it_and_keeps_the_parameters() {
    let device = Device::default();
    let mut model = line_model!(&device);
    let before = model.params().line.coefficients();
    let err = model.load("/nonexistent/inferrs.bpk").unwrap_err();
    assert!(matches!(&err, Error::Record { path, .. } if path == "/nonexistent/inferrs.bpk"));
    assert_eq!(model.params().line.coefficients(), before);
}

#[test]
fn a_non_finite_loss_stops_fit_naming_the_epoch_and_keeps_finite_parameters() -> Result<(), Error> {
    let device = Device::default();
    device.seed(4);
    let (x, y) = line_data(50);
    let data = Data::new().with("x", &x)?.with("y", &y)?;
    let mut model = line_model!(&device);
    let before = model.params().line.coefficients();
    // SGD with an absurd rate: the first step throws the weights to ~1e35, so the loss of the
    // second epoch overflows f32.
    let err = model
        .fit(
            &data,
            VI::new(100)
                .optimizer(Optimizer::sgd())
                .lr(1e35)
                .schedule(Schedule::Constant)
                .quiet(true),
        )
        .unwrap_err();
    match err {
        Error::NonFiniteLoss {
            epoch, kept_epoch, ..
        } => {
            assert_eq!(epoch, 2);
            assert_eq!(kept_epoch, 1);
        }
        other => panic!("expected NonFiniteLoss, got {other}"),
    }
    // The model keeps the parameters that gave epoch 1's finite loss: the initial ones.
    assert_eq!(model.params().line.coefficients(), before);
    Ok(())
}

#[test]
fn bad_data_is_an_error_naming_the_column() {
    let err = Data::new().with("x", vec![1.0f32, f32::NAN]).unwrap_err();
    assert!(
        matches!(&err, Error::Data { column, reason } if column == "x" && reason.contains("row 1")),
        "{err}"
    );
    let err = Data::new()
        .with("x", vec![1.0f32, 2.0])
        .and_then(|d| d.with("y", vec![1.0f32]))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Data { column, reason } if column == "y" && reason.contains("`x` has 2")),
        "{err}"
    );
    let err = Data::new().with("x", Vec::<f32>::new()).unwrap_err();
    assert!(
        matches!(&err, Error::Data { column, .. } if column == "x"),
        "{err}"
    );
}

#[test]
fn unknown_names_latents_and_bad_constants_are_errors_naming_them() -> Result<(), Error> {
    let device = Device::default();
    let mut model = line_model!(&device);
    let (x, y) = line_data(10);

    let data = Data::new().with("x", &x)?.with("z", &y)?;
    let err = model.fit(&data, VI::new(1).quiet(true)).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownColumn { column, .. } if column == "z"),
        "{err}"
    );
    assert!(err.to_string().contains("x, y"), "{err}");

    let only_y = Data::new().with("y", &y)?;
    let err = model.fit(&only_y, VI::new(1).quiet(true)).unwrap_err();
    assert!(
        matches!(&err, Error::LatentWithoutGuide { variable } if variable == "x"),
        "{err}"
    );

    let data = Data::new().with("x", &x)?;
    let err = model.posterior_predictive(["w"], &data).err().unwrap();
    assert!(
        matches!(&err, Error::UnknownVariable { name, .. } if name == "w"),
        "{err}"
    );
    let err = model.log_prob(["y"], &data).unwrap_err();
    assert!(
        matches!(&err, Error::MissingForLogProb { variable, .. } if variable == "y"),
        "{err}"
    );

    let err = model
        .fit(
            &Data::new().with("x", &x)?.with("y", &y)?,
            VI::new(10).lr(-1.0),
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidOption { option: "lr", .. }),
        "{err}"
    );

    let wide = Data::new()
        .with("x", vec![[1.0f32, 2.0]; 10])?
        .with("y", &y)?;
    let err = model.fit(&wide, VI::new(1).quiet(true)).unwrap_err();
    assert!(
        matches!(&err, Error::Shape { variable, .. } if variable == "x"),
        "{err}"
    );

    let scale = -1.0;
    let mut bad = datamodel! {
        x ~ Normal(0.0, scale);
    };
    let err = bad
        .fit(&Data::new().with("x", &x)?, VI::new(1).quiet(true))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Distribution { variable, .. } if variable == "x"),
        "{err}"
    );
    assert!(err.to_string().contains("-1"), "{err}");
    Ok(())
}

#[test]
fn the_graph_has_names_parents_children_order_and_dot() {
    let device = Device::default();
    let model = datamodel! {
        nn = MixtureNet::new(&device, 4, 3);
        x ~ Normal(1.0, 1.0);
        y ~ MixtureGaussian(nn(x));
    };
    let graph: &Graph = model.graph();
    assert_eq!(graph.order(), vec!["nn", "x", "y"]);
    assert_eq!(
        graph.parents("y").unwrap(),
        &["nn".to_string(), "x".to_string()]
    );
    assert_eq!(graph.children("x").unwrap(), &["y".to_string()]);
    assert!(graph.is_parameter("nn") && graph.is_random("x") && graph.is_random("y"));
    let dot = graph.to_dot();
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("\"x\" -> \"y\""), "{dot}");
    assert!(dot.contains("\"nn\" -> \"y\""), "{dot}");
}

#[test]
fn mdn_model_fits_and_predicts_with_the_contract_syntax() -> Result<(), Error> {
    let device = Device::default();
    device.seed(0);
    let x: Vec<f32> = (0..300).map(|i| -3.0 + 6.0 * i as f32 / 299.0).collect();
    // Two branches: y = +x or y = -x, alternating.
    let y: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| if i % 2 == 0 { v } else { -v })
        .collect();
    let train = Data::new().with("x", &x)?.with("y", &y)?;
    let mut model = datamodel! {
        nn = MixtureNet::new(&device, 15, 3);
        x ~ Normal(1.0, 1.0);
        y ~ MixtureGaussian(nn(x));
    };
    let report = model.fit(&train, VI::new(600).quiet(true))?;
    assert!(report.final_loss_per_row() < report.losses_per_row()[0]);
    // Both branches are captured: at x = 2.5 about half of the draws are near +2.5, half near -2.5.
    let test = Data::new().with("x", vec![2.5f32; 2000])?;
    let draws = model.posterior_predictive(["y"], &test)?.sample()?;
    let ys = draws["y"].to_vec();
    let upper = ys.iter().filter(|&&v| (v - 2.5).abs() < 0.75).count() as f64 / 2000.0;
    let lower = ys.iter().filter(|&&v| (v + 2.5).abs() < 0.75).count() as f64 / 2000.0;
    assert!(upper > 0.3 && lower > 0.3, "upper {upper}, lower {lower}");
    Ok(())
}

#[test]
fn mixture_net_scale_floor_is_validated_and_applied() {
    let device = Device::default();
    let err = MixtureNet::new(&device, 4, 3)
        .with_min_scale(-1.0)
        .unwrap_err();
    assert!(
        err.to_string().contains("min_scale") && err.to_string().contains("-1"),
        "{err}"
    );
    assert!(
        MixtureNet::new(&device, 4, 3)
            .with_min_scale(f64::NAN)
            .is_err()
    );
    let net = MixtureNet::new(&device, 4, 3).with_min_scale(0.25).unwrap();
    assert_eq!(net.min_scale(), 0.25);
    let x = Tensor::<2>::from_data(
        burn::tensor::TensorData::new(vec![-50.0f32, 0.0, 50.0], [3, 1]),
        &device,
    );
    let (_, scales, _) = net.forward(x).into_parts();
    let scales = scales.into_data().try_to_vec::<f32>().unwrap();
    assert!(scales.iter().all(|&s| s >= 0.25), "{scales:?}");
}

#[test]
fn data_from_csv_reads_columns_and_names_bad_values() -> Result<(), Error> {
    let dir = std::env::temp_dir();
    let good = dir.join(format!("inferrs-good-{}.csv", std::process::id()));
    std::fs::write(&good, "x, y\n0.5, 1.0\n-2, 3.25\n").unwrap();
    let data = Data::from_csv(&good)?;
    std::fs::remove_file(&good).ok();
    assert_eq!(data.names().collect::<Vec<_>>(), ["x", "y"]);
    assert_eq!(data.get("y").unwrap().values(), &[1.0, 3.25]);
    assert_eq!(data.rows(), Some(2));

    let bad = dir.join(format!("inferrs-bad-{}.csv", std::process::id()));
    std::fs::write(&bad, "x,y\n0.5,1.0\n0.7,oops\n").unwrap();
    let err = Data::from_csv(&bad).unwrap_err();
    std::fs::remove_file(&bad).ok();
    assert!(
        matches!(&err, Error::Data { column, reason } if column == "y" && reason.contains("row 1")),
        "{err}"
    );
    let err = Data::from_csv(dir.join("inferrs-no-such-file.csv")).unwrap_err();
    assert!(
        err.to_string().contains("inferrs-no-such-file.csv"),
        "{err}"
    );
    Ok(())
}
