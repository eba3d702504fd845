//! Sampling: moments against closed forms (tolerance 5 standard errors of the estimator at
//! n = 200 000), per-row parameters, bit-identical reproduction for a seed.
mod common;

use common::*;
use inferrs_distributions::{Distribution, MixtureGaussian, Normal, Rng};
use rand::SeedableRng;

const N: usize = 200_000;

/// Sample mean and (unbiased) variance in f64.
fn moments(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// Checks mean and variance within 5 standard errors: se(mean) = sqrt(var / n),
/// se(var) = sqrt((mu4 - var^2) / n) with mu4 the central fourth moment.
fn check_moments(x: &[f64], mean: f64, var: f64, mu4: f64, what: &str) {
    let n = x.len() as f64;
    let (m, v) = moments(x);
    let se_m = (var / n).sqrt();
    let se_v = ((mu4 - var * var) / n).sqrt();
    assert!(
        (m - mean).abs() < 5.0 * se_m,
        "{what}: mean {m} vs {mean} (se {se_m})"
    );
    assert!(
        (v - var).abs() < 5.0 * se_v,
        "{what}: variance {v} vs {var} (se {se_v})"
    );
}

#[test]
fn normal_moments() {
    let d = cpu();
    let normal = Normal::new(1.5, 2.0).unwrap();
    let mut rng = Rng::seed_from_u64(42);
    let x = normal.sample(N, &d, &mut rng);
    assert_eq!(x.dims(), [N, 1]);
    // Gaussian: mu4 = 3 sigma^4.
    check_moments(&to_vec(x), 1.5, 4.0, 3.0 * 16.0, "Normal(1.5, 2)");
}

#[test]
fn normal_vector_event_moments() {
    // [1, 2] parameters: two independent columns with their own moments.
    let d = cpu();
    let normal = Normal::new(vec![-1.0, 3.0], vec![0.5, 1.5]).unwrap();
    let mut rng = Rng::seed_from_u64(43);
    let x = to_vec(normal.sample(N, &d, &mut rng));
    for (c, (mean, sd)) in [(-1.0f64, 0.5f64), (3.0, 1.5)].into_iter().enumerate() {
        let col: Vec<f64> = x.iter().skip(c).step_by(2).cloned().collect();
        let var = sd * sd;
        check_moments(&col, mean, var, 3.0 * var * var, &format!("column {c}"));
    }
}

#[test]
fn mixture_moments() {
    let d = cpu();
    let (w, mu, s) = ([0.3, 0.7], [-2.0, 3.0], [0.5, 1.0]);
    let mix = MixtureGaussian::from_probs(mu.to_vec(), s.to_vec(), w.to_vec()).unwrap();
    let mut rng = Rng::seed_from_u64(44);
    let x = mix.sample(N, &d, &mut rng);
    assert_eq!(x.dims(), [N, 1]);
    let mean: f64 = (0..2).map(|k| w[k] * mu[k]).sum();
    let var: f64 = (0..2)
        .map(|k| w[k] * (s[k] * s[k] + mu[k] * mu[k]))
        .sum::<f64>()
        - mean * mean;
    // Central fourth moment: sum_k w_k (d^4 + 6 d^2 s^2 + 3 s^4), d = mu_k - mean.
    let mu4: f64 = (0..2)
        .map(|k| {
            let dk = mu[k] - mean;
            w[k] * (dk.powi(4) + 6.0 * dk * dk * s[k] * s[k] + 3.0 * s[k].powi(4))
        })
        .sum();
    check_moments(&to_vec(x.clone()), mean, var, mu4, "mixture");
    // The same mixture from logits samples the same way.
    let logits: Vec<f64> = w.iter().map(|p| p.ln()).collect();
    let mix2 = MixtureGaussian::new(mu.to_vec(), s.to_vec(), logits).unwrap();
    let x2 = to_vec(mix2.sample(N, &d, &mut Rng::seed_from_u64(44)));
    let diff = to_vec(x)
        .iter()
        .zip(&x2)
        .filter(|(a, b)| (*a - *b).abs() > 1e-5)
        .count();
    assert!(
        diff < 10,
        "{diff} draws differ between probs and logits forms"
    );
}

#[test]
fn mixture_per_row_parameters() {
    // Row r has one dominant component (logit 0 vs -1e4 elsewhere) at loc 10 r with scale 0.01:
    // every draw lies within 0.1 of its row's location.
    let d = cpu();
    let (rows, k) = (5, 3);
    let mut locs = vec![0.0; rows * k];
    let mut logits = vec![-1e4; rows * k];
    for r in 0..rows {
        let j = r % k;
        locs[r * k + j] = 10.0 * r as f64;
        logits[r * k + j] = 0.0;
    }
    let mix = MixtureGaussian::new(t2(&locs, rows, k, &d), 0.01, t2(&logits, rows, k, &d)).unwrap();
    let x = to_vec(mix.sample(rows, &d, &mut Rng::seed_from_u64(1)));
    for (r, v) in x.iter().enumerate() {
        assert!((v - 10.0 * r as f64).abs() < 0.1, "row {r}: {v}");
    }
}

#[test]
fn same_seed_same_bits() {
    let d = cpu();
    let normal = Normal::new(0.0, 1.0).unwrap();
    let mix = MixtureGaussian::new(vec![-1.0, 1.0], vec![0.5, 0.5], vec![0.0, 0.0]).unwrap();
    for dist in [&normal as &dyn Distribution, &mix] {
        let a = dist
            .sample(1000, &d, &mut Rng::seed_from_u64(9))
            .into_data();
        let b = dist
            .sample(1000, &d, &mut Rng::seed_from_u64(9))
            .into_data();
        let c = dist
            .sample(1000, &d, &mut Rng::seed_from_u64(10))
            .into_data();
        let bits = |t: burn::tensor::TensorData| -> Vec<u32> {
            t.try_to_vec::<f32>()
                .unwrap()
                .into_iter()
                .map(f32::to_bits)
                .collect()
        };
        let (a, b, c) = (bits(a), bits(b), bits(c));
        assert_eq!(a, b, "{}: same seed, different samples", dist.name());
        assert_ne!(a, c, "{}: different seeds, same samples", dist.name());
    }
}
