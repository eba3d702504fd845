//! Inputs end to end: `input name;` reads a data column that the model does not model (a
//! covariate, the known `sigma` of eight schools).
//!
//! These tests need the runtime to accept input columns in the data (a column named by an
//! `input` statement is not an unknown column); until it does, the log-density test fails with
//! `Error::UnknownColumn`.

use inferrs::Error;
use inferrs::prelude::*;

/// `y ~ Normal(0, s)` with `s` an input: `log_prob` of `y` is the closed-form Gaussian log
/// density at each row's own scale (f32 arithmetic: tolerance 1e-5 relative, 1e-5 absolute).
#[test]
fn log_prob_reads_the_input_column() -> Result<(), Error> {
    let model = datamodel! {
        input s;
        y ~ Normal(0.0, s);
    };
    let s = vec![0.5f32, 1.0, 2.0, 4.0, 0.25];
    let y = vec![0.3f32, -1.2, 2.5, 0.0, -0.1];
    let data = Data::new().with("s", &s)?.with("y", &y)?;
    let lp = model.log_prob(["y"], &data)?;
    let got = lp.get("y").expect("y is scored");
    assert_eq!(got.len(), s.len());
    let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    for ((&si, &yi), &gi) in s.iter().zip(&y).zip(got) {
        let (si, yi) = (f64::from(si), f64::from(yi));
        let z = yi / si;
        let expected = -0.5 * z * z - si.ln() - half_log_2pi;
        assert!(
            (f64::from(gi) - expected).abs() < 1e-5 * (1.0 + expected.abs()),
            "log N({yi}; 0, {si}) = {gi}, closed form {expected}"
        );
    }
    assert!(lp.get("s").is_none(), "an input is not scored");
    Ok(())
}

/// A run whose data lacks an input is `Error::MissingInput` naming it.
#[test]
fn data_without_the_input_is_missing_input() -> Result<(), Error> {
    let model = datamodel! {
        input s;
        y ~ Normal(0.0, s);
    };
    let data = Data::new().with("y", vec![0.3f32, -1.2])?;
    let err = model.log_prob(["y"], &data).unwrap_err();
    assert!(
        matches!(&err, Error::MissingInput { variable } if variable == "s"),
        "{err:?}"
    );
    Ok(())
}

/// Eight schools: `sigma` is an input node of the graph, local, not a random variable.
#[test]
fn eight_schools_graph_has_the_input() {
    let model = probmodel! {
        mu ~ Normal(0.0, 5.0);
        tau ~ HalfNormal(5.0);
        datamodel {
            input sigma;
            theta ~ Normal(mu, tau);
            y ~ Normal(theta, sigma);
        }
    };
    let graph = model.graph();
    assert_eq!(graph.order(), ["mu", "tau", "sigma", "theta", "y"]);
    assert!(graph.is_input("sigma") && !graph.is_random("sigma"));
    assert!(graph.node("sigma").is_some_and(|n| n.local));
    assert_eq!(graph.parents("y").unwrap(), ["theta", "sigma"]);
    let inputs: Vec<&str> = graph.inputs().map(|n| n.name.as_str()).collect();
    assert_eq!(inputs, ["sigma"]);
    let random: Vec<&str> = graph.random_variables().map(|n| n.name.as_str()).collect();
    assert_eq!(random, ["mu", "tau", "theta", "y"]);
}
