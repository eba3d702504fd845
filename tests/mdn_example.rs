//! Runs the MDN example (`examples/mdn/main.rs`) with few epochs: it writes every PNG and a
//! `summary.json` with the fields the README promises, and its numbers are sane.

#[allow(dead_code)]
#[path = "../examples/mdn/main.rs"]
mod mdn;

#[test]
fn mdn_example_runs_and_writes_its_outputs() {
    let out = std::env::temp_dir().join(format!("inferrs-mdn-{}", std::process::id()));
    let opts = mdn::Options {
        epochs: 300,
        seed: 0,
        out: out.clone(),
        quiet: true,
        lr: None,
        hidden: 15,
        components: 20,
        diagnose: false,
        data: None,
        write_data: None,
    };
    let summary = mdn::run(&opts).expect("the example runs");
    for png in ["regression.png", "samples.png", "densities.png", "loss.png"] {
        let bytes = std::fs::read(out.join(png)).expect(png);
        assert!(bytes.starts_with(b"\x89PNG"), "{png} is not a PNG");
        assert!(bytes.len() > 10_000, "{png} is suspiciously small");
    }
    let dot = std::fs::read_to_string(out.join("model.dot")).expect("model.dot");
    assert!(dot.contains("\"x\" -> \"y\""), "{dot}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    for key in [
        "heldout_nll",
        "bayes_nll",
        "train_nll",
        "fit_seconds",
        "epochs",
        "seed",
    ] {
        assert!(json.get(key).is_some(), "summary.json lacks {key}");
    }
    assert_eq!(json["epochs"], 300);
    // The Bayes-optimal NLL of these 5000 held-out points (the true density, integrated
    // numerically): about 1.29; no model beats it by more than sampling noise.
    assert!(
        (1.2..1.35).contains(&summary.bayes_nll),
        "{}",
        summary.bayes_nll
    );
    assert!(summary.heldout_nll.is_finite() && summary.train_nll.is_finite());
    assert!(summary.heldout_nll > summary.bayes_nll - 0.05);
    // The two parts of the excess add up to it.
    let parts = summary.excess_edges + summary.excess_interior;
    assert!(
        (parts - summary.excess_nll).abs() < 1e-9,
        "{parts} vs {}",
        summary.excess_nll
    );
    // Even after 300 epochs the MDN is far better than the least-squares network, which
    // predicts the mean of several branches.
    assert!(
        summary.heldout_nll < summary.regression_heldout_nll - 1.0,
        "MDN {} vs regression {}",
        summary.heldout_nll,
        summary.regression_heldout_nll
    );
    std::fs::remove_dir_all(&out).ok();
}

/// The full fit (4000 epochs) of `hidden` units and `components` at `seed`: its excess NLL
/// over the Bayes-optimal one on the held-out points.
fn full_fit_excess(seed: u64, hidden: usize, components: usize) -> f64 {
    let out = std::env::temp_dir().join(format!(
        "inferrs-mdn-{}-{seed}-{hidden}-{components}",
        std::process::id()
    ));
    let opts = mdn::Options {
        epochs: 4000,
        seed,
        out: out.clone(),
        quiet: true,
        lr: None,
        hidden,
        components,
        diagnose: false,
        data: None,
        write_data: None,
    };
    let summary = mdn::run(&opts).expect("the example runs");
    std::fs::remove_dir_all(&out).ok();
    summary.excess_nll
}

/// Regression: these fits landed in a local optimum (a branch of p(y | x) missed, most
/// components unused) before the mixture's components started at quantiles of `y` and the
/// default schedule warmed up: seed 9 of the defaults at an excess of 0.70, seed 0 of
/// `MixtureNet::new(&device, 24, 10)` at 0.49. The other seeds land at 0.035 to 0.065
/// (`scripts/mdn_seeds.sh`); 0.1 is the line between the two.
#[test]
fn the_seeds_that_stuck_find_every_branch() {
    let default = full_fit_excess(9, 15, 20);
    assert!(default < 0.1, "seed 9, 15 hidden, K = 20: excess {default}");
    let wider = full_fit_excess(0, 24, 10);
    assert!(wider < 0.1, "seed 0, 24 hidden, K = 10: excess {wider}");
}
