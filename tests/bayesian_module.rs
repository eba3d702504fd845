//! Bayesian modules (`Model::lift`, the lift handler): the weights of a burn module as latent
//! variables with a prior, covered by the automatic guides.
//!
//! * A Bayesian `Linear` regression with known noise against the closed-form conjugate
//!   posterior (`AutoNormal`: its means and mean-field sds; `AutoDelta`: the posterior mode).
//! * The sites of a lifted two-layer MLP: names, shapes, order, the graph, the queries, the
//!   errors, and the lift handler composed by hand.
//! * Priors that differ per module (and per layer), against their closed forms.
//!
//! Every tolerance is stated at its check; every fit has a fixed seed.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::tanh;
use burn::tensor::{Device, Tensor, TensorData};
use inferrs::prelude::*;
use inferrs::runtime::{Ctx, Handler, Unfilled, Values};
use inferrs::{Error, Model, distributions::Rng};
use rand::{Rng as _, SeedableRng};
use rand_distr::StandardNormal;

/// Small dense linear algebra in `f64` for the references.
mod linalg {
    /// `a x = b` by Gauss-Jordan elimination with partial pivoting (`a` square, invertible).
    pub fn solve(a: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
        let n = b.len();
        let mut m: Vec<Vec<f64>> = a
            .iter()
            .zip(b)
            .map(|(row, &bi)| row.iter().copied().chain([bi]).collect())
            .collect();
        for col in 0..n {
            let pivot = (col..n)
                .max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs()))
                .expect("non-empty");
            m.swap(col, pivot);
            let p = m[col][col];
            assert!(p.abs() > 1e-12, "singular matrix");
            for v in m[col].iter_mut() {
                *v /= p;
            }
            let pivot_row = m[col].clone();
            for (r, row) in m.iter_mut().enumerate() {
                if r != col {
                    let f = row[col];
                    for (v, pv) in row.iter_mut().zip(&pivot_row) {
                        *v -= f * pv;
                    }
                }
            }
        }
        m.iter().map(|row| row[n]).collect()
    }
}

/// Inputs of the regression.
const D: usize = 3;
/// The known noise sd.
const NOISE: f64 = 0.5;
/// The weights and bias that generate the data.
const TRUE_W: [f64; D] = [0.8, -1.2, 0.4];
const TRUE_B: f64 = 0.3;

/// `n` rows `x ~ N(0, I_D)`, `y = x w + b + N(0, NOISE^2)`, from `seed`.
fn regression_data(n: usize, seed: u64) -> (Vec<[f64; D]>, Vec<f64>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let x: Vec<[f64; D]> = (0..n)
        .map(|_| std::array::from_fn(|_| rng.sample(StandardNormal)))
        .collect();
    let y = x
        .iter()
        .map(|r| {
            let e: f64 = rng.sample(StandardNormal);
            r.iter().zip(TRUE_W).map(|(a, w)| a * w).sum::<f64>() + TRUE_B + NOISE * e
        })
        .collect();
    (x, y)
}

/// The conjugate posterior of `(w, b)` for `y ~ N(x w + b, NOISE^2)` with independent priors
/// `N(0, prior_sd[j]^2)` (the bias last): its precision matrix and its mean. The model's
/// values are `f32`, so the reference uses the data rounded to `f32`, as the fit sees them.
fn conjugate(x: &[[f64; D]], y: &[f64], prior_sd: &[f64; D + 1]) -> (Vec<Vec<f64>>, Vec<f64>) {
    let rows: Vec<Vec<f64>> = x
        .iter()
        .map(|r| {
            r.iter()
                .map(|&v| f64::from(v as f32))
                .chain([1.0])
                .collect()
        })
        .collect();
    let noise_var = NOISE * NOISE;
    let precision: Vec<Vec<f64>> = (0..=D)
        .map(|i| {
            (0..=D)
                .map(|j| {
                    let xx: f64 = rows.iter().map(|r| r[i] * r[j]).sum();
                    let prior = if i == j {
                        1.0 / (prior_sd[i] * prior_sd[i])
                    } else {
                        0.0
                    };
                    xx / noise_var + prior
                })
                .collect()
        })
        .collect();
    let xty: Vec<f64> = (0..=D)
        .map(|i| {
            rows.iter()
                .zip(y)
                .map(|(r, &v)| r[i] * f64::from(v as f32))
                .sum::<f64>()
                / noise_var
        })
        .collect();
    let mean = linalg::solve(&precision, &xty);
    (precision, mean)
}

macro_rules! regression {
    ($device:expr) => {
        datamodel! {
            nn = LinearConfig::new(D, 1).init($device);
            input x;
            y ~ Normal(nn(x), NOISE);
        }
    };
}

/// The fitted AutoNormal location and scale of the weights then the bias.
fn auto_normal_coefficients<P, F>(model: &Model<P, F>) -> (Vec<f64>, Vec<f64>)
where
    P: Module,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    let guide = model
        .guide()
        .and_then(|g| g.as_any().downcast_ref::<AutoNormal>())
        .expect("an AutoNormal guide");
    let (mut loc, mut scale) = guide.loc_scale("nn.weight").expect("nn.weight");
    let (b_loc, b_scale) = guide.loc_scale("nn.bias").expect("nn.bias");
    loc.extend(b_loc);
    scale.extend(b_scale);
    (
        loc.into_iter().map(f64::from).collect(),
        scale.into_iter().map(f64::from).collect(),
    )
}

#[test]
fn bayesian_linear_regression_matches_the_conjugate_posterior() {
    let device = Device::default();
    device.seed(0);
    let n = 200;
    let (x, y) = regression_data(n, 0);
    let data = Data::new()
        .with("x", x.clone())
        .unwrap()
        .with("y", &y)
        .unwrap();
    let (precision, mean) = conjugate(&x, &y, &[1.0; D + 1]);
    // The mean-field optimum for a Gaussian posterior: the exact means, and sds
    // 1 / sqrt(precision_ii) (the conditional sds).
    let mf_sd: Vec<f64> = (0..=D).map(|i| 1.0 / precision[i][i].sqrt()).collect();

    let mut model = regression!(&device)
        .lift("nn", Normal::new(0.0, 1.0).unwrap())
        .unwrap();
    let report = model
        .fit(
            &data,
            VI::new(3000)
                .lr(0.02)
                .particles(4)
                .guide(AutoNormal::default())
                .seed(0)
                .quiet(true),
        )
        .unwrap();
    assert_eq!(report.losses.len(), 3000);
    let (loc, scale) = auto_normal_coefficients(&model);
    println!("conjugate mean {mean:?}\nmean-field sd {mf_sd:?}\nVI loc {loc:?}\nVI sd {scale:?}");
    for i in 0..=D {
        // Posterior sds are about NOISE / sqrt(n) = 0.035. The guide's means: within 0.1
        // posterior sd of the exact means (the noise of the stochastic optimum after the
        // cosine decay, 4 particles per step; measured at most 0.03 sd with this seed).
        assert!(
            (loc[i] - mean[i]).abs() < 0.1 * mf_sd[i],
            "coefficient {i}: VI mean {} vs conjugate {} (sd {})",
            loc[i],
            mean[i],
            mf_sd[i]
        );
        // Its sds within 5% of the mean-field optimum (measured within 2% with this seed).
        assert!(
            (scale[i] / mf_sd[i] - 1.0).abs() < 0.05,
            "coefficient {i}: VI sd {} vs mean-field sd {}",
            scale[i],
            mf_sd[i]
        );
    }
    // The posterior query knows the weights by name, with the tensor's elements per row.
    let draws = model
        .posterior(["nn.weight", "nn.bias"])
        .unwrap()
        .sample_n(4000)
        .unwrap();
    assert_eq!(draws["nn.weight"].shape, [4000, 1, D]);
    assert_eq!(draws["nn.bias"].shape, [4000, 1, 1]);
    // 4000 draws: the sample mean within 4 standard errors (sd / 63) of the guide's location.
    let sample_means = draws["nn.weight"].mean();
    for i in 0..D {
        assert!(
            (sample_means[i] - loc[i]).abs() < 4.0 * scale[i] / 4000f64.sqrt(),
            "posterior draws of weight {i}: mean {} vs loc {}",
            sample_means[i],
            loc[i]
        );
    }
    // The posterior predictive at one new input: mean x* m, sd sqrt(x* S x* + NOISE^2) under the
    // guide (the independent sds), from 4000 draws: within 4 standard errors.
    let x_new = [[1.0f64, -0.5, 2.0]];
    let inputs = Data::new().with("x", x_new.to_vec()).unwrap();
    let pred = model
        .posterior_predictive(["y"], &inputs)
        .unwrap()
        .sample_n(4000)
        .unwrap();
    let features = [1.0, -0.5, 2.0, 1.0];
    let pred_mean: f64 = features.iter().zip(&loc).map(|(a, m)| a * m).sum();
    let pred_sd = (features
        .iter()
        .zip(&scale)
        .map(|(a, s)| (a * s).powi(2))
        .sum::<f64>()
        + NOISE * NOISE)
        .sqrt();
    let (got_mean, got_sd) = (pred["y"].mean()[0], pred["y"].sd()[0]);
    println!("predictive mean {got_mean} sd {got_sd}; expected {pred_mean} sd {pred_sd}");
    assert!((got_mean - pred_mean).abs() < 4.0 * pred_sd / 4000f64.sqrt());
    // The sd of a sample sd of 4000 Normal draws is sd / sqrt(2 * 4000).
    assert!((got_sd - pred_sd).abs() < 4.0 * pred_sd / 8000f64.sqrt());
}

#[test]
fn map_of_a_bayesian_linear_module_is_the_posterior_mode() {
    let device = Device::default();
    device.seed(0);
    let (x, y) = regression_data(200, 1);
    let data = Data::new()
        .with("x", x.clone())
        .unwrap()
        .with("y", &y)
        .unwrap();
    let (_, mode) = conjugate(&x, &y, &[1.0; D + 1]);
    let mut model = regression!(&device)
        .lift("nn", Normal::new(0.0, 1.0).unwrap())
        .unwrap();
    model
        .fit(
            &data,
            VI::new(2000)
                .lr(0.02)
                .guide(AutoDelta::default())
                .seed(0)
                .quiet(true),
        )
        .unwrap();
    let guide = model
        .guide()
        .and_then(|g| g.as_any().downcast_ref::<AutoDelta>())
        .expect("an AutoDelta guide");
    let mut point: Vec<f64> = guide
        .point("nn.weight")
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect();
    point.extend(guide.point("nn.bias").unwrap().into_iter().map(f64::from));
    println!("MAP {point:?}\nmode {mode:?}");
    // A deterministic objective (a point guide): Adam with the cosine decay lands on the mode
    // to float32 precision, within 1e-4 (measured 3e-7; the posterior sds are 0.035).
    for i in 0..=D {
        assert!(
            (point[i] - mode[i]).abs() < 1e-4,
            "coefficient {i}: MAP {} vs mode {}",
            point[i],
            mode[i]
        );
    }
}

/// `D -> H (tanh) -> 1`.
#[derive(Module, Debug)]
struct Mlp {
    fc1: Linear,
    fc2: Linear,
}

impl Mlp {
    fn new(device: &Device, inputs: usize, hidden: usize) -> Self {
        Self {
            fc1: LinearConfig::new(inputs, hidden).init(device),
            fc2: LinearConfig::new(hidden, 1).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.fc2.forward(tanh(self.fc1.forward(x)))
    }
}

macro_rules! mlp_model {
    ($device:expr) => {
        datamodel! {
            nn = Mlp::new($device, 2, 5);
            x ~ Normal(vec![0.0, 0.0], 10.0); // modelled, so that `prior` can draw it
            y ~ Normal(nn(x), 0.1);
        }
    };
}

#[test]
fn a_lifted_mlp_has_one_global_site_per_tensor_named_by_its_path() {
    let device = Device::default();
    device.seed(0);
    let model = mlp_model!(&device)
        .lift("nn", Normal::new(0.0, 1.0).unwrap())
        .unwrap();
    let expected = [
        ("nn.fc1.weight", 2 * 5),
        ("nn.fc1.bias", 5),
        ("nn.fc2.weight", 5),
        ("nn.fc2.bias", 1),
    ];
    // The graph: one global Normal per tensor, declared before the module, which uses them.
    let graph = model.graph();
    let order: Vec<&str> = graph.order();
    assert_eq!(
        order,
        [
            "nn.fc1.weight",
            "nn.fc1.bias",
            "nn.fc2.weight",
            "nn.fc2.bias",
            "nn",
            "x",
            "y"
        ]
    );
    for (name, _) in expected {
        let node = graph.node(name).unwrap();
        assert!(node.is_random() && !node.local, "{name}");
        assert_eq!(node.distribution(), Some("Normal"));
        assert_eq!(graph.children(name).unwrap(), ["nn"]);
    }
    assert_eq!(
        graph.parents("nn").unwrap(),
        expected.map(|(n, _)| n.to_string())
    );
    assert!(graph.to_dot().contains("nn.fc1.weight"));

    // The lift itself (what the lifted model's function does first), on the same module in
    // a parameters struct of our own: the sites in the module's order, global, [1, elements],
    // latent, drawn from the prior.
    let params = Params {
        nn: Mlp::new(&device, 2, 5),
    };
    let lift = Lift::new().module("nn", Normal::new(0.0, 1.0).unwrap());
    let mut rng = Rng::seed_from_u64(0);
    let mut ctx = Ctx::new(3, device.clone(), &mut rng, Unfilled::Draw);
    let lifted = ctx.lift(&lift, &params).unwrap();
    let x = Tensor::<2>::from_data(
        TensorData::new(vec![0.1f32, 0.2, -0.3, 0.4, 0.5, -0.6], [3, 2]),
        &device,
    );
    assert_eq!(lifted.nn.forward(x).dims(), [3, 1]);
    let trace = ctx.into_trace();
    let sites: Vec<(&str, [usize; 2], bool, bool)> = trace
        .iter()
        .map(|s| (s.name, s.value.dims(), s.local, s.observed))
        .collect();
    let want: Vec<(&str, [usize; 2], bool, bool)> = expected
        .iter()
        .map(|&(n, k)| (n, [1, k], false, false))
        .collect();
    assert_eq!(sites, want);
    // The lifted module computes with the drawn values, reshaped: fc1's weight is [2, 5].
    let drawn = trace.get("nn.fc1.weight").unwrap().value.clone();
    assert_eq!(
        lifted
            .nn
            .fc1
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap(),
        drawn.into_data().try_to_vec::<f32>().unwrap()
    );
    assert_eq!(lifted.nn.fc1.weight.val().dims(), [2, 5]);

    // Prior draws by name: [draws, 1, elements].
    let prior = model
        .prior(expected.map(|(n, _)| n), 3)
        .unwrap()
        .sample_n(7)
        .unwrap();
    for (name, k) in expected {
        assert_eq!(prior[name].shape, [7, 1, k], "{name}");
    }
}

#[test]
fn a_lifted_mlp_fits_and_answers_queries() {
    let device = Device::default();
    device.seed(0);
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let x: Vec<[f64; 2]> = (0..60)
        .map(|_| [rng.random_range(-2.0..2.0), rng.random_range(-2.0..2.0)])
        .collect();
    let y: Vec<f64> = x.iter().map(|r| (r[0] - 0.5 * r[1]).sin()).collect();
    let data = Data::new()
        .with("x", x.clone())
        .unwrap()
        .with("y", &y)
        .unwrap();
    let mut model = mlp_model!(&device)
        .lift("nn", Normal::new(0.0, 1.0).unwrap())
        .unwrap();
    let report = model
        .fit(
            &data,
            VI::new(300)
                .lr(0.05)
                .guide(AutoNormal::default())
                .seed(1)
                .quiet(true),
        )
        .unwrap();
    // The fit trains the guide: the loss falls (by orders of magnitude from the prior's start).
    let first = report.losses[0];
    let last = report.losses[report.losses.len() - 10..]
        .iter()
        .sum::<f64>()
        / 10.0;
    assert!(last < 0.5 * first, "loss {first} -> {last}");
    let post = model
        .posterior(["nn.fc1.weight", "nn.fc2.bias"])
        .unwrap()
        .sample_n(3)
        .unwrap();
    assert_eq!(post["nn.fc1.weight"].shape, [3, 1, 10]);
    assert_eq!(post["nn.fc2.bias"].shape, [3, 1, 1]);
    // The posterior predictive on new rows, with the weights among the targets.
    let inputs = Data::new().with("x", vec![[0.0f64, 0.0]; 4]).unwrap();
    let pred = model
        .posterior_predictive(["y", "nn.fc2.bias"], &inputs)
        .unwrap()
        .sample_n(5)
        .unwrap();
    assert_eq!(pred["y"].shape, [5, 4, 1]);
    assert_eq!(pred["nn.fc2.bias"].shape, [5, 1, 1]);
    // The module's own (unused) weights are not what the queries see: the guide's are.
    let guide = model
        .guide()
        .and_then(|g| g.as_any().downcast_ref::<AutoNormal>())
        .unwrap();
    let names = [
        "nn.fc1.weight",
        "nn.fc1.bias",
        "nn.fc2.weight",
        "nn.fc2.bias",
    ];
    assert!(names.iter().all(|n| guide.loc_scale(n).is_some()));
}

#[test]
fn lifting_errors_name_the_module_or_the_tensor() {
    let device = Device::default();
    let prior = || Normal::new(0.0, 1.0).unwrap();
    let lift_err = |r: Result<(), Error>| r.unwrap_err();
    // A name that is not a parameter of the model.
    let err = lift_err(mlp_model!(&device).lift("net", prior()).map(|_| ()));
    assert!(
        matches!(&err, Error::Lift { module, reason } if module == "net" && reason.contains("nn")),
        "{err}"
    );
    // A path under the parameter with no tensor (`nn.fc` is not a prefix of `nn.fc1`).
    let err = lift_err(mlp_model!(&device).lift("nn.fc", prior()).map(|_| ()));
    assert!(
        matches!(&err, Error::Lift { module, reason }
            if module == "nn.fc" && reason.contains("nn.fc1.weight")),
        "{err}"
    );
    // Lifting the same tensors twice.
    let once = mlp_model!(&device).lift("nn.fc2", prior()).unwrap();
    let err = lift_err(once.lift("nn", prior()).map(|_| ()));
    assert!(
        matches!(&err, Error::Lift { module, .. } if module == "nn.fc2.weight"),
        "{err}"
    );
    // A prior whose size fits no tensor: refused when lifting, naming the tensor.
    let wide = Normal::new(vec![0.0; 3], 1.0).unwrap();
    let err = lift_err(mlp_model!(&device).lift("nn", wide).map(|_| ()));
    assert!(
        matches!(&err, Error::Distribution { variable, .. } if variable == "nn.fc1.weight"),
        "{err}"
    );
    // A prior closure that fails for one tensor.
    let picky = |p: &ParamInfo| {
        if p.name.ends_with("fc2.bias") {
            Normal::new(0.0, -1.0)
        } else {
            Normal::new(0.0, 1.0)
        }
    };
    let err = lift_err(mlp_model!(&device).lift("nn", picky).map(|_| ()));
    assert!(
        matches!(&err, Error::Distribution { variable, .. } if variable == "nn.fc2.bias"),
        "{err}"
    );
}

/// The model's parameters as a struct of our own (the one `datamodel!` generates cannot be
/// named), for the runtime's API.
#[derive(Module, Debug)]
struct Params {
    nn: Mlp,
}

/// The lift handler composed by hand with `Ctx::parameters`: a substituted value for a lifted
/// tensor is the value the module computes with, a blocked one still runs, and the tensors
/// outside the lifted module are the module's own.
#[test]
fn the_lift_handler_replaces_parameters_by_site_values() {
    let device = Device::default();
    device.seed(0);
    let params = Params {
        nn: Mlp::new(&device, 2, 5),
    };
    let lift = Lift::new().module("nn.fc2", Normal::new(0.0, 2.0).unwrap());
    let values: Values = [
        (
            "nn.fc2.weight".to_string(),
            Tensor::<2>::zeros([1, 5], &device),
        ),
        (
            "nn.fc2.bias".to_string(),
            Tensor::<2>::from_data(TensorData::new(vec![7.5f32], [1, 1]), &device),
        ),
    ]
    .into();
    let blocked = ["nn.fc2.weight"];
    let mut rng = Rng::seed_from_u64(0);
    let mut ctx = Ctx::new(2, device.clone(), &mut rng, Unfilled::Draw)
        .with(Handler::Substitute(&values))
        .with(Handler::Block(&blocked))
        .with(Handler::Lift(&lift));
    let lifted = ctx.parameters(&params).unwrap();
    // With fc2's weight 0 the network's output is fc2's bias, 7.5, on every row.
    let x = Tensor::<2>::from_data(
        TensorData::new(vec![0.3f32, -1.0, 2.0, 0.1], [2, 2]),
        &device,
    );
    let out = lifted
        .nn
        .forward(x)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(out, vec![7.5, 7.5]);
    // fc1 is not lifted: the module's own tensor.
    assert_eq!(
        lifted
            .nn
            .fc1
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap(),
        params
            .nn
            .fc1
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    );
    let trace = ctx.into_trace();
    // The weight is blocked (it ran, it is not recorded); the bias is latent with the lift's
    // prior: log N(7.5; 0, 2) in closed form, to 1e-5.
    let names: Vec<&str> = trace.iter().map(|s| s.name).collect();
    assert_eq!(names, ["nn.fc2.bias"]);
    let site = trace.get("nn.fc2.bias").unwrap();
    assert!(!site.observed && !site.local);
    let lp = site.log_prob().into_data().try_to_vec::<f32>().unwrap()[0];
    let want = -0.5 * (7.5f64 / 2.0).powi(2) - 2f64.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln();
    assert!((f64::from(lp) - want).abs() < 1e-5, "{lp} vs {want}");
    // Without a lift handler the parameters are the model's own, borrowed.
    let mut rng = Rng::seed_from_u64(0);
    let mut ctx = Ctx::new(2, device.clone(), &mut rng, Unfilled::Draw);
    assert!(matches!(
        ctx.parameters(&params).unwrap(),
        std::borrow::Cow::Borrowed(_)
    ));
    assert!(ctx.into_trace().is_empty());
}

#[test]
fn priors_given_per_module_and_per_layer() {
    let device = Device::default();
    device.seed(0);
    // fc1 under N(0, 1), fc2 by its fan-in, N(0, 1 / H) (H = 5 hidden units).
    let fan_in = |p: &ParamInfo| Normal::new(0.0, 1.0 / (p.shape[0] as f64).sqrt());
    let model = mlp_model!(&device)
        .lift_with(
            Lift::new()
                .module("nn.fc1", Normal::new(0.0, 1.0).unwrap())
                .module("nn.fc2", fan_in),
        )
        .unwrap();
    let draws = model
        .prior(["nn.fc1.weight", "nn.fc2.weight", "nn.fc2.bias"], 1)
        .unwrap()
        .sample_n(4000)
        .unwrap();
    let pooled_sd = |name: &str| {
        let v = draws[name].as_slice();
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let var = v
            .iter()
            .map(|&x| (f64::from(x) - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0);
        (mean, var.sqrt(), n)
    };
    for (name, sd) in [
        ("nn.fc1.weight", 1.0),
        ("nn.fc2.weight", 1.0 / 5f64.sqrt()),
        // fc2's bias has shape [1]: a fan-in of 1.
        ("nn.fc2.bias", 1.0),
    ] {
        let (mean, got, n) = pooled_sd(name);
        println!("{name}: mean {mean:.4} sd {got:.4} (prior sd {sd:.4}, {n} values)");
        // n values: the mean within 4 sd / sqrt(n), the sd within 4 sd / sqrt(2 n).
        assert!(mean.abs() < 4.0 * sd / n.sqrt(), "{name}: mean {mean}");
        assert!(
            (got - sd).abs() < 4.0 * sd / (2.0 * n).sqrt(),
            "{name}: sd {got} vs {sd}"
        );
    }

    // Two Bayesian modules in one model, each with its scale: the regression's weights
    // under N(0, 1) and its bias under N(0, 0.1^2), against the conjugate mode.
    let (x, y) = regression_data(50, 2);
    let data = Data::new()
        .with("x", x.clone())
        .unwrap()
        .with("y", &y)
        .unwrap();
    let (_, mode) = conjugate(&x, &y, &[1.0, 1.0, 1.0, 0.1]);
    let (_, mode_unit) = conjugate(&x, &y, &[1.0; D + 1]);
    let mut model = datamodel! {
        w = LinearConfig::new(D, 1).with_bias(false).init(&device);
        b = Parameter(0.0);
        input x;
        y ~ Normal(w(x) + b, NOISE);
    }
    .lift_with(
        Lift::new()
            .module("w", Normal::new(0.0, 1.0).unwrap())
            .module("b", Normal::new(0.0, 0.1).unwrap()),
    )
    .unwrap();
    assert!(model.graph().is_random("w.weight") && model.graph().is_random("b.value"));
    model
        .fit(
            &data,
            VI::new(2000)
                .lr(0.02)
                .guide(AutoDelta::default())
                .seed(0)
                .quiet(true),
        )
        .unwrap();
    let guide = model
        .guide()
        .and_then(|g| g.as_any().downcast_ref::<AutoDelta>())
        .unwrap();
    let mut point: Vec<f64> = guide
        .point("w.weight")
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect();
    point.push(f64::from(guide.point("b.value").unwrap()[0]));
    println!("MAP {point:?}\nmode {mode:?}\nmode with a unit prior on b {mode_unit:?}");
    // As for the MAP test above: within 1e-4 of the mode with these priors; the bias's prior
    // matters (50 rows give b a likelihood sd of 0.07: the mode under a unit prior on b is
    // more than 0.03 away).
    for i in 0..=D {
        assert!(
            (point[i] - mode[i]).abs() < 1e-4,
            "coefficient {i}: MAP {} vs mode {}",
            point[i],
            mode[i]
        );
    }
    assert!((mode[D] - mode_unit[D]).abs() > 0.03);
}
