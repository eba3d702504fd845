//! `Model::psis`: Pareto-smoothed importance sampling of a fitted guide against the posterior
//! (Yao et al. 2018). A guide fitted to the conjugate Normal-Normal posterior it approximates
//! has a small k-hat; the same guide weighed against the posterior of other data (shifted by
//! 6 prior units, 40 posterior sds) has a k-hat above the 0.7 warning. Fixed seeds.

use inferrs::diagnostics::K_HAT_WARN;
use inferrs::prelude::*;

#[macro_use]
mod common;
use common::normal_rows as rows;

#[test]
fn a_good_guide_has_a_small_k_hat_and_a_misplaced_one_a_large_one() -> Result<(), Error> {
    let fit_data = Data::new().with("y", rows(200, 3.0, 21))?;
    let mut model = normal_normal!();
    let vi = VI::new(2000)
        .lr(0.05)
        .particles(8)
        .guide(AutoNormal::default())
        .seed(5)
        .quiet(true);
    model.fit(&fit_data, vi)?;
    let good = model.psis(&fit_data, 1000)?;
    assert!(good.k_hat < 0.5, "k-hat {}", good.k_hat);
    assert_eq!(good.log_weights.len(), 1000);
    // Reproducible: the draws come from the model's seed.
    assert_eq!(model.psis(&fit_data, 1000)?.k_hat, good.k_hat);
    let other = Data::new().with("y", rows(200, -3.0, 22))?;
    let bad = model.psis(&other, 1000)?;
    assert!(bad.k_hat > K_HAT_WARN, "k-hat {}", bad.k_hat);
    Ok(())
}

#[test]
fn a_model_without_a_guide_is_an_error() {
    let data = Data::new().with("y", rows(10, 3.0, 1)).unwrap();
    let model = normal_normal!();
    let err = model.psis(&data, 100).unwrap_err();
    assert!(matches!(err, Error::Query { .. }), "{err}");
    assert!(err.to_string().contains("no fitted guide"), "{err}");
}
