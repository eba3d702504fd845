//! `Model::inference_data` (feature `arviz`): eight schools sampled by NUTS and fitted by
//! AutoNormal, exported as ArviZ's InferenceData, checked group by group against the draws
//! and the closed-form Normal log-density, written as Zarr and read back.

#![cfg(feature = "arviz")]

use inferrs::arviz::{
    CONSTANT_DATA, InferenceData, LOG_LIKELIHOOD, OBSERVED_DATA, POSTERIOR, POSTERIOR_PREDICTIVE,
    SAMPLE_STATS, Values, Variable,
};
use inferrs::prelude::*;
use inferrs::{ArvizOptions, Error};

#[macro_use]
#[path = "../examples/eight_schools/schools.rs"]
mod schools;

fn f32s<'a>(idata: &'a InferenceData, group: &str, name: &str) -> (&'a Variable, &'a [f32]) {
    let v = &idata
        .group(group)
        .unwrap_or_else(|| panic!("no group {group}"))
        .variables[name];
    match &v.values {
        Values::F32(values) => (v, values),
        other => panic!("{group}/{name}: {other:?} is not f32"),
    }
}

/// The posterior's `mu`, `tau` and `theta_t` at draw `k` of the flattened `chain x draw`.
fn at(idata: &InferenceData, k: usize) -> (f64, f64, Vec<f64>) {
    let (_, mu) = f32s(idata, POSTERIOR, "mu");
    let (_, tau) = f32s(idata, POSTERIOR, "tau");
    let (_, theta) = f32s(idata, POSTERIOR, "theta_t");
    let theta = theta[k * 8..(k + 1) * 8]
        .iter()
        .map(|&t| f64::from(t))
        .collect();
    (f64::from(mu[k]), f64::from(tau[k]), theta)
}

/// The groups of an eight-schools export with `draws` joint draws in all: the pointwise
/// log-likelihood is `log N(y_j | mu + tau theta_j, sigma_j)` at each draw (to 1e-4,
/// f32 against f64), and the posterior-predictive draws, standardised by the same draw's
/// mean and `sigma_j`, have mean 0 (within 4 standard errors) and sd 1 (within 10%).
fn check_groups(idata: &InferenceData, chains: usize, draws: usize) {
    let (mu, _) = f32s(idata, POSTERIOR, "mu");
    assert_eq!(mu.dims, ["chain", "draw"]);
    assert_eq!(mu.shape, [chains, draws]);
    let (theta, _) = f32s(idata, POSTERIOR, "theta_t");
    assert_eq!(theta.dims, ["chain", "draw", "theta_t_dim_0"]);
    assert_eq!(theta.shape, [chains, draws, 8]);

    let (ll, ll_values) = f32s(idata, LOG_LIKELIHOOD, "y");
    assert_eq!(ll.dims, ["chain", "draw", "y_dim_0"]);
    assert_eq!(ll.shape, [chains, draws, 8]);
    let (pp, pp_values) = f32s(idata, POSTERIOR_PREDICTIVE, "y");
    assert_eq!(pp.dims, ["chain", "draw", "y_dim_0"]);
    assert_eq!(pp.shape, [chains, draws, 8]);
    let mut z = Vec::new();
    for k in 0..chains * draws {
        let (mu, tau, theta) = at(idata, k);
        for j in 0..8 {
            let (y, sigma) = (f64::from(schools::Y[j]), f64::from(schools::SIGMA[j]));
            let mean = mu + tau * theta[j];
            let want = -0.5 * ((y - mean) / sigma).powi(2)
                - sigma.ln()
                - 0.5 * (2.0 * std::f64::consts::PI).ln();
            let got = f64::from(ll_values[k * 8 + j]);
            assert!(
                (got - want).abs() < 1e-4 * want.abs().max(1.0),
                "log_likelihood y[{k}, {j}] {got} vs {want}"
            );
            z.push((f64::from(pp_values[k * 8 + j]) - mean) / sigma);
        }
    }
    let n = z.len() as f64;
    let m = z.iter().sum::<f64>() / n;
    let sd = (z.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    assert!(m.abs() < 4.0 / n.sqrt(), "standardised predictive mean {m}");
    assert!((sd - 1.0).abs() < 0.1, "standardised predictive sd {sd}");

    let (y, y_values) = f32s(idata, OBSERVED_DATA, "y");
    assert_eq!(
        (y.dims.as_slice(), y_values),
        (["y_dim_0".to_string()].as_slice(), &schools::Y[..])
    );
    let (sigma, sigma_values) = f32s(idata, CONSTANT_DATA, "sigma");
    assert_eq!(sigma.dims, ["sigma_dim_0"]);
    assert_eq!(sigma_values, &schools::SIGMA[..]);
    assert!(
        !idata
            .group(OBSERVED_DATA)
            .unwrap()
            .variables
            .contains_key("sigma")
    );
}

/// Writes `idata` to a fresh store and reads it back: the same InferenceData.
fn round_trip(idata: &InferenceData, tag: &str) {
    let dir = std::env::temp_dir().join(format!("inferrs-arviz-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fit.zarr");
    idata.write_zarr(&path).unwrap();
    let back = InferenceData::read_zarr(&path).unwrap();
    for (name, group) in &idata.groups {
        let read = back
            .group(name)
            .unwrap_or_else(|| panic!("no group {name} read back"));
        for (var, v) in &group.variables {
            assert_eq!(read.variables.get(var), Some(v), "{name}/{var}");
        }
        // The writer stamps `created_at` (ArviZ's attribute) when the group has none.
        let mut attrs = read.attrs.clone();
        assert!(
            attrs.remove("created_at").is_some(),
            "{name}: no created_at"
        );
        assert_eq!(attrs, group.attrs, "{name}");
        assert_eq!(read.variables.len(), group.variables.len(), "{name}");
    }
    assert_eq!(back.groups.len(), idata.groups.len());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nuts_draws_export_with_their_stats_predictive_and_log_likelihood() {
    let data = schools::data().unwrap();
    let mut model = noncentred!();
    let nuts = Nuts::new().chains(2).warmup(300).draws(150).seed(3).quiet();
    let samples = model.sample(&data, nuts).unwrap();
    let idata = model.inference_data(&data, &ArvizOptions::new()).unwrap();
    check_groups(&idata, 2, 150);

    // The posterior is the run's draws, chain by chain, unchanged.
    for name in ["mu", "tau", "theta_t"] {
        let (_, values) = f32s(&idata, POSTERIOR, name);
        assert_eq!(
            values,
            samples.values(name).unwrap().values.as_slice(),
            "{name}"
        );
    }
    let stats = idata.group(SAMPLE_STATS).unwrap();
    let flat: Vec<_> = samples.stats().iter().flatten().collect();
    let diverging: Vec<bool> = flat.iter().map(|s| s.diverging).collect();
    let lp: Vec<f64> = flat.iter().map(|s| s.log_density).collect();
    let depth: Vec<i64> = flat.iter().map(|s| s.depth as i64).collect();
    assert_eq!(stats.variables["diverging"].values, Values::Bool(diverging));
    assert_eq!(stats.variables["lp"].values, Values::F64(lp));
    assert_eq!(stats.variables["tree_depth"].values, Values::I64(depth));
    assert_eq!(stats.variables["energy"].shape, [2, 150]);
    assert_eq!(idata.group(POSTERIOR).unwrap().attrs["inference"], "NUTS");

    // Fixed by the model's seed: a second export is the same.
    let again = model.inference_data(&data, &ArvizOptions::new()).unwrap();
    assert_eq!(again, idata);
    round_trip(&idata, "nuts");

    // Groups can be left out.
    let lean = model
        .inference_data(
            &data,
            &ArvizOptions::new()
                .posterior_predictive(false)
                .log_likelihood(false),
        )
        .unwrap();
    assert!(lean.group(POSTERIOR_PREDICTIVE).is_none() && lean.group(LOG_LIKELIHOOD).is_none());
    assert!(lean.group(POSTERIOR).is_some());
}

#[test]
fn guide_draws_export_as_one_chain() {
    let data = schools::data().unwrap();
    let mut model = noncentred!();
    let err = model
        .inference_data(&data, &ArvizOptions::new())
        .unwrap_err();
    assert!(matches!(err, Error::Query { .. }), "{err}");

    model
        .fit(
            &data,
            VI::new(300)
                .guide(AutoNormal::default())
                .seed(1)
                .quiet(true),
        )
        .unwrap();
    let idata = model
        .inference_data(&data, &ArvizOptions::new().draws(200))
        .unwrap();
    check_groups(&idata, 1, 200);
    assert!(idata.group(SAMPLE_STATS).is_none());
    assert_eq!(
        idata.group(POSTERIOR).unwrap().attrs["inference"],
        "AutoNormal"
    );
    // Every draw of tau is in its support.
    let (_, tau) = f32s(&idata, POSTERIOR, "tau");
    assert!(tau.iter().all(|&t| t > 0.0));
    round_trip(&idata, "vi");

    let err = model
        .inference_data(&data, &ArvizOptions::new().draws(0))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                option: "draws",
                ..
            }
        ),
        "{err}"
    );
    // The local theta_t was drawn on the fit's 8 rows: other rows are refused.
    let five = inferrs::Data::new()
        .with("y", &schools::Y[..5])
        .unwrap()
        .with("sigma", &schools::SIGMA[..5])
        .unwrap();
    let err = model
        .inference_data(&five, &ArvizOptions::new())
        .unwrap_err();
    assert!(err.to_string().contains("theta_t"), "{err}");
}
