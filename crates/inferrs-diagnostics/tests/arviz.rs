//! Every diagnostic against the numbers ArviZ itself computes on the same draws
//! (`scripts/arviz_reference.py` writes `tests/data/arviz_reference.json`), to 1e-6 relative.

use std::collections::BTreeMap;

use inferrs_diagnostics::{
    Chains, DEFAULT_HDI_PROB, Summary, ess_bulk, ess_mean, ess_tail, hdi, mcse_mean, mcse_sd, rhat,
};
use serde::Deserialize;

/// Relative tolerance of the comparison.
const RTOL: f64 = 1e-6;

#[derive(Deserialize)]
struct Reference {
    arviz_version: String,
    hdi_prob: f64,
    sets: Vec<Set>,
}

#[derive(Deserialize)]
struct Set {
    name: String,
    draws: Vec<Vec<f64>>,
    expected: BTreeMap<String, serde_json::Value>,
}

fn reference() -> Reference {
    let text = include_str!("data/arviz_reference.json");
    serde_json::from_str(text).expect("tests/data/arviz_reference.json parses")
}

fn check(failures: &mut Vec<String>, set: &str, what: &str, got: f64, want: f64) {
    let rel = (got - want).abs() / want.abs();
    if rel > 1e-12 {
        eprintln!("{set}: {what}: relative difference {rel:.2e}");
    }
    let ok = (got - want).abs() <= RTOL * want.abs();
    if !ok {
        failures.push(format!(
            "{set}: {what}: got {got:.12e}, ArviZ {want:.12e} (rel {:.2e})",
            ((got - want) / want).abs()
        ));
    }
}

fn num(map: &BTreeMap<String, serde_json::Value>, key: &str) -> f64 {
    map[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is a number"))
}

#[test]
fn matches_arviz() {
    let r = reference();
    assert!(
        r.arviz_version.starts_with("0.23"),
        "reference from ArviZ {}",
        r.arviz_version
    );
    assert_eq!(r.hdi_prob, DEFAULT_HDI_PROB);
    assert!(r.sets.len() >= 4);
    let mut failures = Vec::new();
    let mut checked = 0;
    for set in &r.sets {
        let c = Chains::new(&set.draws).unwrap();
        let e = &set.expected;
        let (lo, hi) = hdi(&c, r.hdi_prob).unwrap();
        let s = Summary::new(&c);
        let flat = c.as_flat();
        let mean = flat.iter().sum::<f64>() / flat.len() as f64;
        let values = [
            ("mean", s.mean),
            ("sd", s.sd),
            ("r_hat", rhat(&c)),
            ("ess_bulk", ess_bulk(&c)),
            ("ess_tail", ess_tail(&c)),
            ("ess_mean", ess_mean(&c)),
            ("mcse_mean", mcse_mean(&c)),
            ("mcse_sd", mcse_sd(&c)),
            ("hdi_3%", lo),
            ("hdi_97%", hi),
        ];
        check(&mut failures, &set.name, "plain mean", mean, num(e, "mean"));
        for (k, v) in values {
            check(&mut failures, &set.name, k, v, num(e, k));
            checked += 1;
        }
        // az.summary's own row.
        let row: BTreeMap<String, serde_json::Value> =
            serde_json::from_value(e["summary"].clone()).unwrap();
        let (lo_label, hi_label) = s.hdi_labels();
        let ours = [
            ("mean", s.mean),
            ("sd", s.sd),
            (lo_label.as_str(), s.hdi_low),
            (hi_label.as_str(), s.hdi_high),
            ("mcse_mean", s.mcse_mean),
            ("mcse_sd", s.mcse_sd),
            ("ess_bulk", s.ess_bulk),
            ("ess_tail", s.ess_tail),
            ("r_hat", s.r_hat),
        ];
        assert_eq!(
            row.len(),
            ours.len(),
            "{}: summary columns {:?}",
            set.name,
            row.keys()
        );
        for (k, v) in ours {
            check(
                &mut failures,
                &set.name,
                &format!("summary {k}"),
                v,
                num(&row, k),
            );
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn shifted_means_warn_and_iid_does_not() {
    let r = reference();
    let get = |name: &str| {
        let set = r.sets.iter().find(|s| s.name == name).unwrap();
        Summary::new(&Chains::new(&set.draws).unwrap())
    };
    let iid = get("iid_normal");
    assert!(iid.warnings().is_empty(), "{:?}", iid.warnings());
    // ESS of iid draws is near the draw count (2000).
    assert!((iid.ess_bulk - 2000.0).abs() < 200.0, "{}", iid.ess_bulk);
    let shifted = get("shifted_means");
    assert!(shifted.r_hat > 1.05);
    let table = inferrs_diagnostics::format_table(&[("iid", iid), ("shifted", shifted)]);
    assert!(table.contains("warning: shifted: r_hat"), "{table}");
    assert!(!table.contains("warning: iid"), "{table}");
}
