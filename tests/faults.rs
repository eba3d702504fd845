//! Faults a new user runs into, each a regression test of a defect: the rollback after a
//! non-finite loss, a failed fit, observations out of their support, options and files that
//! make no sense, empty queries, misleading messages, the predictive log-density, and a fit
//! that continues its optimizer.

use inferrs::prelude::*;
use inferrs::{Error, Model};

#[macro_use]
mod common;
use common::line;

fn quiet(epochs: usize) -> VI {
    VI::new(epochs).seed(5).quiet(true)
}

fn auto_normal<P, F>(model: &Model<P, F>) -> &AutoNormal
where
    P: burn::module::Module,
    F: Fn(&P, &mut inferrs::runtime::Ctx<'_>) -> Result<(), Error>,
{
    model
        .guide()
        .and_then(|g| g.as_any().downcast_ref::<AutoNormal>())
        .expect("an AutoNormal guide")
}

#[test]
fn a_non_finite_loss_keeps_the_guide_parameters_whose_loss_was_finite() {
    let mut model = regression!();
    // SGD at an absurd rate: epoch 1's loss is finite and its step throws the guide's
    // locations to ~1e37, so epoch 2's loss overflows.
    let vi = quiet(20)
        .optimizer(Optimizer::sgd())
        .lr(1e35)
        .schedule(Schedule::Constant)
        .guide(AutoNormal::default());
    let err = model.fit(&line(50), vi).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFiniteLoss {
                epoch: 2,
                kept_epoch: 1,
                ..
            }
        ),
        "{err}"
    );
    // The guide keeps epoch 1's parameters, the initial ones: locations 0, scales 0.1.
    let (loc, scale) = auto_normal(&model).loc_scale("w").unwrap();
    assert_eq!(loc, vec![0.0]);
    assert!((scale[0] - 0.1).abs() < 1e-6, "{scale:?}");
}

#[test]
fn parameters_that_the_last_step_made_non_finite_are_an_error() {
    let mut model = regression!();
    // One epoch: the loss is finite, the one step makes the locations infinite, and no
    // later loss would see it.
    let vi = quiet(1)
        .optimizer(Optimizer::sgd())
        .lr(1e38)
        .schedule(Schedule::Constant)
        .guide(AutoNormal::default());
    let err = model.fit(&line(50), vi).unwrap_err();
    assert!(matches!(err, Error::NonFiniteParameters { .. }), "{err}");
    let (loc, _) = auto_normal(&model).loc_scale("w").unwrap();
    assert!(loc.iter().all(|v| v.is_finite()), "{loc:?}");
}

#[test]
fn a_failed_fit_leaves_the_fitted_posterior_as_it_was() -> Result<(), Error> {
    let mut model = regression!();
    model.fit(&line(100), quiet(800).lr(0.05).guide(AutoNormal::default()))?;
    model.set_seed(1);
    let before = model.posterior(["w", "b"])?.sample_n(100)?;
    assert!((before["w"].mean()[0] - 1.5).abs() < 0.2);
    let missing_b = qmodel! {
        w ~ Normal(Parameter(0.0), 1.0);
    };
    let err = model
        .fit(&line(100), quiet(10).qmodel(missing_b))
        .unwrap_err();
    assert!(matches!(err, Error::NotInQModel { .. }), "{err}");
    assert_eq!(model.guide().map(|g| g.kind()), Some("AutoNormal"));
    model.set_seed(1);
    assert_eq!(model.posterior(["w", "b"])?.sample_n(100)?, before);
    Ok(())
}

/// The error of fitting `model` to a column `name` of `values`, which must be out of
/// support at `row`.
fn support_error(err: Error, name: &str, row: usize, value: &str, support: &str) {
    match &err {
        Error::Data { column, reason } => {
            assert_eq!(column, name, "{err}");
            assert!(reason.contains(&format!("row {row} ")), "{err}");
            assert!(reason.contains(&format!("value {value},")), "{err}");
            assert!(reason.contains(support), "{err}");
        }
        other => panic!("expected a data error, got {other}"),
    }
}

#[test]
fn observations_out_of_their_support_are_errors_naming_the_row_before_any_step() {
    let fit = |model: &mut dyn FnMut(&Data) -> Result<FitReport, Error>, values: &[f32]| {
        model(&Data::new().with("k", values).unwrap()).unwrap_err()
    };
    let mut poisson = datamodel! { k ~ Poisson(2.0); };
    let mut bernoulli = datamodel! { k ~ Bernoulli(Probs(0.3)); };
    let mut beta = datamodel! { k ~ Beta(2.0, 2.0); };
    let mut gamma = datamodel! { k ~ Gamma(2.0, 1.0); };
    let mut poisson_fit = |d: &Data| poisson.fit(d, quiet(5));
    support_error(
        fit(&mut poisson_fit, &[1.0, 0.0, 1.5]),
        "k",
        2,
        "1.5",
        "counts",
    );
    support_error(fit(&mut poisson_fit, &[-1.0, 2.0]), "k", 0, "-1", "counts");
    let mut bernoulli_fit = |d: &Data| bernoulli.fit(d, quiet(5));
    support_error(
        fit(&mut bernoulli_fit, &[1.0, 0.5]),
        "k",
        1,
        "0.5",
        "{0, 1}",
    );
    let mut beta_fit = |d: &Data| beta.fit(d, quiet(5));
    support_error(fit(&mut beta_fit, &[0.5, 1.5]), "k", 1, "1.5", "(0, 1)");
    support_error(fit(&mut beta_fit, &[0.0, 0.5]), "k", 0, "0", "(0, 1)");
    let mut gamma_fit = |d: &Data| gamma.fit(d, quiet(5));
    support_error(
        fit(&mut gamma_fit, &[1.0, 3.0, -2.0]),
        "k",
        2,
        "-2",
        "positive",
    );
}

#[test]
fn a_streamed_row_out_of_support_is_named_by_its_row_in_the_file() {
    let path = std::env::temp_dir().join(format!("inferrs-support-{}.csv", std::process::id()));
    let mut text = String::from("k\n");
    for i in 0..100 {
        text.push_str(if i == 73 { "2.5\n" } else { "1\n" });
    }
    std::fs::write(&path, text).unwrap();
    let mut model = datamodel! { k ~ Poisson(2.0); };
    let mut source = CsvSource::open(&path).unwrap();
    let err = model
        .fit_source(&mut source, quiet(3).batch_size(10))
        .unwrap_err();
    std::fs::remove_file(&path).ok();
    support_error(err, "k", 73, "2.5", "counts");
}

#[test]
fn adam_constants_out_of_range_are_invalid_options() {
    let mut model = regression!();
    for (beta1, epsilon) in [(1.5, 1e-8), (0.9, -1.0)] {
        let adam = Optimizer::Adam {
            beta1,
            beta2: 0.999,
            epsilon,
        };
        let vi = quiet(5).optimizer(adam).guide(AutoNormal::default());
        let err = model.fit(&line(10), vi).unwrap_err();
        assert!(matches!(err, Error::InvalidOption { .. }), "{err}");
    }
}

#[test]
fn bad_csv_files_are_errors_naming_the_file() {
    let dir = std::env::temp_dir();
    let cases = [
        ("empty", "", "empty"),
        (
            "trailing",
            "x,y,\n1,2,3\n",
            "column 3 of the header has no name",
        ),
        ("header-only", "x,y\n", "no rows"),
    ];
    for (name, text, says) in cases {
        let path = dir.join(format!("inferrs-{name}-{}.csv", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let from_csv = Data::from_csv(&path).unwrap_err();
        let source = CsvSource::open(&path).unwrap_err();
        std::fs::remove_file(&path).ok();
        for err in [from_csv, source] {
            let message = err.to_string();
            assert!(
                message.contains(&format!("inferrs-{name}-")),
                "{name}: {message}"
            );
            assert!(message.contains(says), "{name}: {message}");
        }
    }
}

#[test]
fn sample_n_of_zero_draws_has_the_shapes_of_none() -> Result<(), Error> {
    let mut model = regression!();
    model.fit(&line(20), quiet(50).guide(AutoNormal::default()))?;
    let rows = Data::new().with("x", vec![0.0f32, 1.0, 2.0])?;
    let mut query = model.posterior_predictive(["y", "w"], &rows)?;
    let none = query.sample_n(0)?;
    assert_eq!(none["y"].shape, vec![0, 3, 1]);
    assert_eq!(none["w"].shape, vec![0, 1, 1]);
    assert!(none["y"].is_empty());
    // The query's stream did not move: its next draws are those of a fresh query.
    let after = query.sample_n(2)?;
    model.set_seed(model.seed());
    assert_eq!(
        after,
        model.posterior_predictive(["y", "w"], &rows)?.sample_n(2)?
    );
    Ok(())
}

#[test]
fn the_posterior_of_a_model_without_latent_variables_says_so() -> Result<(), Error> {
    let mut model = datamodel! {
        x ~ Normal(0.0, 1.0);
    };
    model.fit(&Data::new().with("x", vec![0.5f32, -0.2])?, quiet(5))?;
    let err = model.posterior(["x"]).map(|_| ()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("no latent variables"), "{message}");
    assert!(!message.contains("fit it"), "{message}");
    Ok(())
}

#[test]
fn the_predictive_log_density_averages_over_posterior_draws() -> Result<(), Error> {
    // w ~ N(0, 1), y_i ~ N(w, 1) with an AutoNormal fit: the exact posterior of w is
    // N(s / (n + 1), 1 / (n + 1)), and a q near it gives the predictive y ~ N(m, 1 + v).
    let mut model = probmodel! {
        w ~ Normal(0.0, 1.0);
        datamodel {
            y ~ Normal(w, 1.0);
        }
    };
    let y: Vec<f32> = (0..4).map(|i| 0.5 * i as f32 - 0.25).collect();
    let n = y.len() as f64;
    let s: f64 = y.iter().map(|&v| f64::from(v)).sum();
    let (m, v) = (s / (n + 1.0), 1.0 / (n + 1.0));
    model.fit(
        &Data::new().with("y", &y)?,
        quiet(3000).lr(0.02).guide(AutoNormal::default()),
    )?;
    let held_out = Data::new().with("y", vec![3.0f32])?;
    let exact = -0.5 * (2.0 * std::f64::consts::PI * (1.0 + v)).ln()
        - (3.0 - m).powi(2) / (2.0 * (1.0 + v));
    let predictive = model.log_predictive(["y"], &held_out, 4000)?.sum();
    // 4000 draws: the Monte Carlo error of the log-mean is about 0.01 here; the fit's q
    // is within a few percent of the exact posterior. Tolerance 0.03.
    assert!(
        (predictive - exact).abs() < 0.03,
        "predictive {predictive} vs exact {exact}"
    );
    // One draw (log_prob) is not the predictive density: by Jensen it is lower on average.
    let single: f64 = (0..200)
        .map(|k| {
            model.set_seed(k);
            model.log_prob(["y"], &held_out).map(|l| l.sum())
        })
        .sum::<Result<f64, _>>()?
        / 200.0;
    assert!(single < predictive - 0.05, "{single} vs {predictive}");
    assert!(model.log_predictive(["y"], &held_out, 0).is_err());
    Ok(())
}

#[test]
fn a_fit_that_resumes_continues_the_optimizer_as_one_fit() -> Result<(), Error> {
    // No latent variable and full batches: nothing is random, so the two halves of a fit
    // with its optimizer resumed are the whole fit, bit for bit.
    macro_rules! ml {
        () => {
            datamodel! {
                a = Parameter(0.0);
                b = Parameter(0.0);
                x ~ Normal(0.0, 10.0);
                y ~ Normal(a * x + b, 1.0);
            }
        };
    }
    let vi = |n: usize| quiet(n).lr(0.05).schedule(Schedule::Constant);
    let mut whole = ml!();
    let losses = whole.fit(&line(50), vi(60))?.losses;
    let mut halves = ml!();
    let first = halves.fit(&line(50), vi(30))?.losses;
    let second = halves.fit(&line(50), vi(30).resume())?.losses;
    assert_eq!([first, second.clone()].concat(), losses);
    // Without resume the second fit restarts Adam: its steps differ.
    let mut restarted = ml!();
    restarted.fit(&line(50), vi(30))?;
    let again = restarted.fit(&line(50), vi(30))?.losses;
    assert_ne!(again, second);
    // A fit resumes only the same optimizer.
    let err = halves
        .fit(&line(50), vi(5).optimizer(Optimizer::sgd()).resume())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                option: "resume",
                ..
            }
        ),
        "{err}"
    );
    // A fit that fails part-way (a bad value in a later batch of a file), resuming or not,
    // leaves the optimizer to resume as it was.
    let mut resumed = ml!();
    resumed.fit(&line(50), vi(30))?;
    let path = std::env::temp_dir().join(format!("inferrs-resume-{}.csv", std::process::id()));
    let mut text = String::from("x,y\n");
    for i in 0..40 {
        text.push_str(if i == 35 { "1,oops\n" } else { "0.5,0.1\n" });
    }
    std::fs::write(&path, text).unwrap();
    let mut source = CsvSource::open(&path)?;
    assert!(
        resumed
            .fit_source(&mut source, vi(2).batch_size(10))
            .is_err()
    );
    assert!(
        resumed
            .fit_source(&mut source, vi(2).batch_size(10).resume())
            .is_err()
    );
    std::fs::remove_file(&path).ok();
    assert_eq!(resumed.fit(&line(50), vi(30).resume())?.losses, second);
    Ok(())
}

/// `y = a x + b` as a burn module, initialised lazily as burn does.
#[derive(burn::module::Module, Debug)]
struct Line {
    linear: burn::nn::Linear,
}

impl Line {
    fn new(device: &Device) -> Self {
        Self {
            linear: burn::nn::LinearConfig::new(1, 1).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.linear.forward(x)
    }
}

/// Held by the tests that use burn's device stream, which is one for the process: one of them
/// reseeds it (`device.seed`), and a reseed in the middle of the other's initialisation
/// changed that fit's start (`fits_on_parallel_threads_start_from_their_own_seeds` failed
/// about one run in ten with the tests of this file run together).
static DEVICE_STREAM: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn the_fit_seed_alone_fixes_a_networks_starting_weights() -> Result<(), Error> {
    let _stream = DEVICE_STREAM
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let fit = |device_seed: u64, fit_seed: u64| -> Result<Vec<f64>, Error> {
        let device = Device::default();
        // Whatever the device's stream was when the network was built...
        device.seed(device_seed);
        let mut model = datamodel! {
            net = Line::new(&device);
            x ~ Normal(0.0, 10.0);
            y ~ Normal(net(x), 1.0);
        };
        Ok(model
            .fit(&line(30), VI::new(20).seed(fit_seed).quiet(true))?
            .losses)
    };
    // ... the fit's seed fixes the start, so the losses from the first one on.
    assert_eq!(fit(1, 7)?, fit(99, 7)?);
    assert_ne!(fit(1, 7)?[0], fit(1, 8)?[0]);
    Ok(())
}

/// A network wide enough that initialising it draws about 130,000 numbers from burn's
/// device stream, so that two fits initialising at once overlap.
#[derive(burn::module::Module, Debug)]
struct Wide {
    layers: Vec<burn::nn::Linear>,
}

impl Wide {
    fn new(device: &Device) -> Self {
        let widths = [1, 256, 256, 256, 1];
        Self {
            layers: widths
                .windows(2)
                .map(|w| burn::nn::LinearConfig::new(w[0], w[1]).init(device))
                .collect(),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.layers.iter().fold(x, |h, l| l.forward(h))
    }
}

/// burn's random stream on a device is one for the process: two fits on two threads that
/// initialise their networks at once used to interleave their draws from it, so a fit's
/// start depended on the other thread's timing. Started together at a barrier (four rounds),
/// each thread's losses equal those of the same fit run alone.
#[test]
fn fits_on_parallel_threads_start_from_their_own_seeds() -> Result<(), Error> {
    let _stream = DEVICE_STREAM
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let fit = |fit_seed: u64| -> Result<Vec<f64>, Error> {
        let device = Device::default();
        let mut model = datamodel! {
            net = Wide::new(&device);
            x ~ Normal(0.0, 10.0);
            y ~ Normal(net(x), 1.0);
        };
        Ok(model
            .fit(&line(30), VI::new(3).seed(fit_seed).quiet(true))?
            .losses)
    };
    let alone = [fit(1)?, fit(2)?];
    for round in 0..4 {
        let barrier = std::sync::Barrier::new(2);
        let together: Vec<Vec<f64>> = std::thread::scope(|s| {
            let handles: Vec<_> = [1u64, 2]
                .map(|seed| {
                    let (barrier, fit) = (&barrier, &fit);
                    s.spawn(move || {
                        barrier.wait();
                        fit(seed)
                    })
                })
                .into_iter()
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("the thread ran").expect("the fit ran"))
                .collect()
        });
        assert_eq!(together[0], alone[0], "round {round}: seed 1");
        assert_eq!(together[1], alone[1], "round {round}: seed 2");
    }
    Ok(())
}
