//! What several test files share.

use inferrs::Data;

/// Bayesian linear regression: `w, b ~ N(0, 1)` global, `y ~ N(w x + b, 1)` per row.
#[allow(unused_macros)]
macro_rules! regression {
    () => {
        inferrs::probmodel! {
            w ~ Normal(0.0, 1.0);
            b ~ Normal(0.0, 1.0);
            datamodel {
                x ~ Normal(0.0, 10.0);
                y ~ Normal(w * x + b, 1.0);
            }
        }
    };
}

/// `y = 1.5 x - 0.7 + wiggle` on `n` points of `x` in [-2, 2], deterministic (no RNG).
pub fn line(n: usize) -> Data {
    let x: Vec<f32> = (0..n)
        .map(|i| -2.0 + 4.0 * i as f32 / (n - 1) as f32)
        .collect();
    let y: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(i, &x)| 1.5 * x - 0.7 + 0.8 * ((i * 7919 % 113) as f32 / 113.0 - 0.5))
        .collect();
    Data::new().with("x", &x).unwrap().with("y", &y).unwrap()
}
