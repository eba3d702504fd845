//! PSIS against the numbers ArviZ's `az.psislw` computes on the same log-weights
//! (`scripts/arviz_psis_reference.py` writes `tests/data/arviz_psis.json`): k-hat and the
//! smoothed log-weights to 1e-6 relative (1e-9 absolute for values near zero).

use inferrs_diagnostics::{K_HAT_WARN, psis_with_reff};
use serde::Deserialize;

/// Relative tolerance of the comparison.
const RTOL: f64 = 1e-6;
/// Absolute tolerance, for values near zero.
const ATOL: f64 = 1e-9;

#[derive(Deserialize)]
struct Reference {
    arviz_version: String,
    cases: Vec<Case>,
}

/// One log-weight vector; `None` stands for `-inf` (JSON has no infinities).
#[derive(Deserialize)]
struct Case {
    name: String,
    reff: f64,
    log_weights: Vec<Option<f64>>,
    k_hat: f64,
    logsumexp: f64,
    head: Vec<Option<f64>>,
    largest_indices: Vec<usize>,
    smoothed: Option<Vec<Option<f64>>>,
}

fn reference() -> Reference {
    let text = include_str!("data/arviz_psis.json");
    serde_json::from_str(text).expect("tests/data/arviz_psis.json parses")
}

fn decode(v: &[Option<f64>]) -> Vec<f64> {
    v.iter().map(|x| x.unwrap_or(f64::NEG_INFINITY)).collect()
}

fn check(failures: &mut Vec<String>, case: &str, what: &str, got: f64, want: f64) {
    if got == want {
        return; // also both -inf
    }
    let diff = (got - want).abs();
    if diff > 1e-12 * want.abs().max(1.0) {
        eprintln!("{case}: {what}: difference {diff:.2e}");
    }
    if !(diff <= RTOL * want.abs() || diff <= ATOL) {
        failures.push(format!(
            "{case}: {what}: got {got:.12e}, ArviZ {want:.12e} (diff {diff:.2e})"
        ));
    }
}

#[test]
fn matches_arviz_psislw() {
    let r = reference();
    assert!(
        r.arviz_version.starts_with("0.23"),
        "reference from ArviZ {}",
        r.arviz_version
    );
    assert!(r.cases.len() >= 8);
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in &r.cases {
        let lw = decode(&case.log_weights);
        let p = psis_with_reff(&lw, case.reff).unwrap();
        assert_eq!(p.log_weights.len(), lw.len());
        check(&mut failures, &case.name, "k_hat", p.k_hat, case.k_hat);
        let lse = {
            let m = p
                .log_weights
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            m + p
                .log_weights
                .iter()
                .map(|w| (w - m).exp())
                .sum::<f64>()
                .ln()
        };
        check(&mut failures, &case.name, "logsumexp", lse, case.logsumexp);
        for (i, &want) in decode(&case.head).iter().enumerate() {
            check(
                &mut failures,
                &case.name,
                &format!("head[{i}]"),
                p.log_weights[i],
                want,
            );
        }
        // The largest smoothed weights are the same ones as ArviZ's (values checked below or
        // through `smoothed`); ties at the truncation point may be ordered differently.
        let max = p
            .log_weights
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let i0 = case.largest_indices[0];
        check(&mut failures, &case.name, "largest", p.log_weights[i0], max);
        checked += 2 + case.head.len();
        if let Some(smoothed) = &case.smoothed {
            for (i, (&got, want)) in p.log_weights.iter().zip(decode(smoothed)).enumerate() {
                check(
                    &mut failures,
                    &case.name,
                    &format!("smoothed[{i}]"),
                    got,
                    want,
                );
            }
            checked += smoothed.len();
        }
    }
    assert!(checked > 5000, "{checked}");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn heavy_tail_warns_and_light_tail_does_not() {
    let r = reference();
    let get = |name: &str| {
        let case = r.cases.iter().find(|c| c.name == name).unwrap();
        psis_with_reff(&decode(&case.log_weights), case.reff).unwrap()
    };
    // A Normal proposal for a Student-t target, and outliers: k-hat above 0.7.
    for name in [
        "t_target_normal_proposal_4000",
        "outliers_1000",
        "outliers_4000",
    ] {
        let p = get(name);
        assert!(p.k_hat > K_HAT_WARN && !p.reliable(), "{name}: {}", p.k_hat);
    }
    // A wider Normal for a narrower one: bounded weights, k-hat well below 0.5.
    for name in ["wide_normal_proposal_1000", "wide_normal_proposal_4000"] {
        let p = get(name);
        assert!(p.k_hat < 0.0 && p.reliable(), "{name}: {}", p.k_hat);
    }
}
