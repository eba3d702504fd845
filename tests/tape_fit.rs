//! A full-batch fit's steps on the tape of its bound (`VI::tape`, on by default): which fits
//! take it and why the others do not, that it computes the bound burn's autodiff computes on
//! the same draws, and that its fit reaches the closed-form posterior. Fixed seeds; each
//! tolerance is stated where it is checked.

#[macro_use]
mod common;

use common::normal_rows;
use inferrs::prelude::*;
use inferrs::{FitReport, Gradient};

#[macro_use]
#[path = "../examples/eight_schools/schools.rs"]
mod schools;

fn on_tape(report: &FitReport) -> bool {
    matches!(report.gradient, Some(Gradient::Tape { .. }))
}

fn why(report: &FitReport) -> String {
    match &report.gradient {
        Some(Gradient::Autodiff { why }) => why.clone(),
        other => panic!("expected burn's autodiff, got {other:?}"),
    }
}

/// Eight schools with AutoNormal, the same seed on the tape and on burn's autodiff: the same
/// draws at every step, so the losses differ only by `f32` against `f64` rounding, which
/// Adam's steps carry forward slowly: the 50 losses agree within `1e-3` relative (a loss is a
/// sum of about twenty terms of size 1 to 100, rounded to `f32` on the autodiff side), the
/// first, at the same parameters, within `1e-5`.
#[test]
fn the_tape_computes_the_bound_autodiff_computes() {
    let data = schools::data().unwrap();
    let vi = || VI::new(50).seed(3).quiet(true).guide(AutoNormal::default());
    let tape = noncentred!().fit(&data, vi()).unwrap();
    let autodiff = noncentred!().fit(&data, vi().tape(false)).unwrap();
    assert!(on_tape(&tape), "{:?}", tape.gradient);
    assert_eq!(why(&autodiff), "VI::tape(false)");
    let (a, b) = (tape.losses[0], autodiff.losses[0]);
    assert!(
        (a - b).abs() <= 1e-5 * b.abs(),
        "first epoch: tape {a}, autodiff {b}"
    );
    for (epoch, (a, b)) in tape.losses.iter().zip(&autodiff.losses).enumerate() {
        assert!(
            (a - b).abs() <= 1e-3 * b.abs(),
            "epoch {epoch}: tape {a}, autodiff {b}"
        );
    }
}

/// The conjugate Normal-Normal (`mu ~ N(0, 10^2)`, `y ~ N(mu, 2^2)`, 200 rows) fitted on the
/// tape: the posterior is `N(m, s^2)` with `1 / s^2 = 1/100 + 200/4`, `m = s^2 sum(y) / 4`.
/// AutoNormal's location within 0.05 (about 0.35 of the posterior sd `s = 0.141`) and its
/// sd within 10% after 3000 steps, as `tests/convergence.rs` asks of the autodiff fit.
#[test]
fn a_fit_on_the_tape_reaches_the_conjugate_posterior() {
    conjugate_on_the_tape(VI::new(3000));
}

/// The same with the mean-field ELBO (the KL in closed form, recorded too) and three
/// particles a step, the same tolerances.
#[test]
fn the_mean_field_elbo_with_particles_steps_on_the_tape_too() {
    conjugate_on_the_tape(VI::new(3000).elbo(TraceMeanFieldElbo { particles: 3 }));
}

fn conjugate_on_the_tape(vi: VI) {
    let y = normal_rows(200, 1.3, 11);
    let data = Data::new().with("y", &y).unwrap();
    let mut model = normal_normal!();
    let report = model
        .fit(&data, vi.seed(5).quiet(true).guide(AutoNormal::default()))
        .unwrap();
    assert!(on_tape(&report), "{:?}", report.gradient);
    let precision = 1.0 / 100.0 + 200.0 / 4.0;
    let s2 = 1.0 / precision;
    let m = s2 * y.iter().map(|&v| f64::from(v)).sum::<f64>() / 4.0;
    let draws = model.posterior(["mu"]).unwrap().sample_n(4000).unwrap();
    let summary = draws["mu"].summary();
    let (mean, sd) = (summary.mean[0], summary.sd[0]);
    assert!((mean - m).abs() < 0.05, "mean {mean}, closed form {m}");
    assert!(
        (sd / s2.sqrt() - 1.0).abs() < 0.1,
        "sd {sd}, closed form {}",
        s2.sqrt()
    );
}

/// The fits the tape does not take say why: a minibatch fit, data too large for it to pay,
/// and the option off.
#[test]
fn the_fits_without_the_tape_say_why() {
    let y = normal_rows(200, 1.3, 11);
    let data = Data::new().with("y", &y).unwrap();
    let vi = || VI::new(5).seed(5).quiet(true).guide(AutoNormal::default());
    let report = normal_normal!().fit(&data, vi().batch_size(50)).unwrap();
    assert_eq!(why(&report), "a minibatch or streamed fit");
    let big = normal_rows(4_000_001, 1.3, 12);
    let big = Data::new().with("y", &big).unwrap();
    let report = normal_normal!()
        .fit(
            &big,
            VI::new(1).seed(5).quiet(true).guide(AutoNormal::default()),
        )
        .unwrap();
    assert!(
        why(&report).starts_with("the data has 4000001 values"),
        "{}",
        why(&report)
    );
    // Data under the rule, a step over the f64 tape's (the likelihood's passes over 60,000
    // rows), and no network: burn's fused Normal density.
    let many = normal_rows(60_000, 1.3, 13);
    let many = Data::new().with("y", &many).unwrap();
    let report = normal_normal!().fit(&many, vi()).unwrap();
    assert!(
        why(&report).starts_with("a step touches") && why(&report).contains("no network layer"),
        "{}",
        why(&report)
    );
    let report = normal_normal!().fit(&data, vi().tape(false)).unwrap();
    assert_eq!(why(&report), "VI::tape(false)");
}

/// `mu` plus zero, read through its value: what burn's autodiff computes, and what the
/// capture device cannot (a computed tensor has no value there).
fn reads_its_value(mu: Tensor<2>) -> Tensor<2> {
    let v: f32 = mu.clone().into_scalar();
    mu.add_scalar(v * 0.0)
}

/// A model that reads a value fails to record and fits on burn's autodiff, saying so.
#[test]
fn a_model_that_reads_a_value_keeps_autodiff() {
    let y = normal_rows(200, 1.3, 11);
    let data = Data::new().with("y", &y).unwrap();
    let mut model = probmodel! {
        mu ~ Normal(0.0, 10.0);
        datamodel {
            y ~ Normal(reads_its_value(mu), 2.0);
        }
    };
    let report = model
        .fit(
            &data,
            VI::new(5).seed(5).quiet(true).guide(AutoNormal::default()),
        )
        .unwrap();
    assert!(
        why(&report).contains("panicked while it was recorded"),
        "{}",
        why(&report)
    );
    assert_eq!(report.losses.len(), 5);
}

/// A q-model draws through its distributions' own sampling (the generator, not the automatic
/// guides' standard normals): the record would hold one draw as a constant, so the fit keeps
/// burn's autodiff and says why.
#[test]
fn draws_the_record_cannot_see_keep_autodiff() {
    let y = normal_rows(200, 1.3, 11);
    let data = Data::new().with("y", &y).unwrap();
    let q = qmodel! {
        loc = Parameter(0.0);
        mu ~ Normal(loc, 0.5);
    };
    let report = normal_normal!()
        .fit(&data, VI::new(5).seed(5).quiet(true).qmodel(q))
        .unwrap();
    assert!(
        why(&report).contains("random numbers other than the guide's standard normals"),
        "{}",
        why(&report)
    );
}

/// A user's own network: burn's `Linear` layers and `tanh`, `1 -> 16 -> 1`.
#[derive(burn::module::Module, Debug)]
struct UserNet {
    l1: burn::nn::Linear,
    l2: burn::nn::Linear,
}

impl UserNet {
    fn new(device: &Device) -> Self {
        Self {
            l1: burn::nn::LinearConfig::new(1, 16).init(device),
            l2: burn::nn::LinearConfig::new(16, 1).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.l2
            .forward(burn::tensor::activation::tanh(self.l1.forward(x)))
    }
}

/// The same layers as the library's `Mlp`, whose fused kernel keeps burn's autodiff.
#[derive(burn::module::Module, Debug)]
struct LibraryNet {
    mlp: inferrs::nn::Mlp,
}

impl LibraryNet {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.mlp.forward(x)
    }
}

/// `y = sin(x) + noise` on 6000 rows: a step of a few hundred thousand elements.
fn sine_rows() -> Data {
    let x: Vec<f32> = (0..6000)
        .map(|i| (i as f32 * 0.618_034).fract() * 6.0 - 3.0)
        .collect();
    let noise = normal_rows(6000, 0.0, 21);
    let y: Vec<f32> = x
        .iter()
        .zip(&noise)
        .map(|(x, e)| x.sin() + 0.05 * e)
        .collect();
    Data::new().with("x", &x).unwrap().with("y", &y).unwrap()
}

/// A user's network written with burn's layers steps on the row-blocked tape; the same seed
/// on burn's autodiff sees the same data and starts from the same weights, so the losses
/// differ only by the two `f32` computations' rounding (different orders of the sums over
/// 6000 rows): the first, at the same parameters, within `1e-4` relative, the 40 of the fit
/// within `1e-3`, and the fit learns (the last loss below half the first).
#[test]
fn a_users_network_steps_on_the_row_blocked_tape() {
    let data = sine_rows();
    let device = Device::default();
    let fit = |tape: bool| {
        let mut model = datamodel! {
            nn = UserNet::new(&device);
            input x;
            y ~ Normal(nn(x), 0.1);
        };
        model
            .fit(&data, VI::new(40).seed(4).lr(0.02).quiet(true).tape(tape))
            .unwrap()
    };
    let rows = fit(true);
    let autodiff = fit(false);
    assert!(
        matches!(rows.gradient, Some(Gradient::Rows { instructions, .. }) if instructions > 5),
        "{:?}",
        rows.gradient
    );
    let (a, b) = (rows.losses[0], autodiff.losses[0]);
    assert!(
        (a - b).abs() <= 1e-4 * b.abs(),
        "first epoch: rows {a}, autodiff {b}"
    );
    for (epoch, (a, b)) in rows.losses.iter().zip(&autodiff.losses).enumerate() {
        assert!(
            (a - b).abs() <= 1e-3 * b.abs(),
            "epoch {epoch}: rows {a}, autodiff {b}"
        );
    }
    assert!(rows.losses[39] < 0.5 * rows.losses[0], "{:?}", rows.losses);
}

/// The library's fused `Mlp` in place of the user's layers, or its `MixtureNet` (the MDN
/// example's network), keeps burn's autodiff, and says why.
#[test]
fn the_librarys_fused_network_keeps_autodiff() {
    let data = sine_rows();
    let device = Device::default();
    let mut model = datamodel! {
        nn = LibraryNet { mlp: inferrs::nn::MlpConfig::new(1, [16], 1).init(&device) };
        input x;
        y ~ Normal(nn(x), 0.1);
    };
    let report = model.fit(&data, VI::new(3).seed(4).quiet(true)).unwrap();
    assert!(why(&report).contains("fused networks"), "{}", why(&report));
    let mut model = datamodel! {
        nn = MixtureNet::new(&device, 15, 5);
        input x;
        y ~ MixtureGaussian(nn(x));
    };
    let report = model.fit(&data, VI::new(3).seed(4).quiet(true)).unwrap();
    assert!(why(&report).contains("fused networks"), "{}", why(&report));
}
