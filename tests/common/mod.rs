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
#[allow(dead_code)]
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

/// `mu ~ N(0, 10^2)` global, `y ~ N(mu, 2^2)` per row: the conjugate Normal-Normal.
#[allow(unused_macros)]
macro_rules! normal_normal {
    () => {
        inferrs::probmodel! {
            mu ~ Normal(0.0, 10.0);
            datamodel {
                y ~ Normal(mu, 2.0);
            }
        }
    };
}

/// `n` draws of `N(mean, 2^2)` from `seed`.
#[allow(dead_code)]
pub fn normal_rows(n: usize, mean: f64, seed: u64) -> Vec<f32> {
    use rand::SeedableRng;
    use rand_distr::Distribution;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let d = rand_distr::Normal::new(mean, 2.0).unwrap();
    (0..n).map(|_| d.sample(&mut rng) as f32).collect()
}

/// `mu ~ N(0, 10^2)` global, `z_i ~ N(mu, 1)` and `y_i ~ N(z_i, 0.5^2)` per row: a local
/// latent variable per row.
#[allow(unused_macros)]
macro_rules! hierarchical {
    () => {
        inferrs::probmodel! {
            mu ~ Normal(0.0, 10.0);
            datamodel {
                z ~ Normal(mu, 1.0);
                y ~ Normal(z, 0.5);
            }
        }
    };
}

/// `n` rows of the hierarchical model's `y` (`z_i ~ N(1, 1)`, `y_i ~ N(z_i, 0.5^2)`) from
/// `seed`, and `E[mu | y]` under its prior (`y_i | mu ~ N(mu, 1.25)`, `mu ~ N(0, 10^2)`).
#[allow(dead_code)]
pub fn hierarchical_rows(n: usize, seed: u64) -> (Vec<f32>, f64) {
    use rand::SeedableRng;
    use rand_distr::Distribution;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let z_true = rand_distr::Normal::new(1.0, 1.0).unwrap();
    let noise = rand_distr::Normal::new(0.0, 0.5).unwrap();
    let y: Vec<f32> = (0..n)
        .map(|_| (z_true.sample(&mut rng) + noise.sample(&mut rng)) as f32)
        .collect();
    let precision_mu = 1.0 / 100.0 + n as f64 / 1.25;
    let mu_hat = y.iter().map(|&v| f64::from(v)).sum::<f64>() / 1.25 / precision_mu;
    (y, mu_hat)
}
