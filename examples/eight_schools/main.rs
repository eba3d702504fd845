//! Eight schools (Rubin 1981; Gelman et al., BDA 5.5), non-centred: NUTS against a mean-field
//! VI fit of the same model.
//!
//! `mu ~ N(0, 5)`, `tau ~ HalfCauchy(5)`, `theta_t ~ N(0, 1)` per school, and the observed
//! effects `y ~ N(mu + tau theta_t, sigma)` with their known standard errors `sigma` (an
//! input). It prints `az.summary`'s table for the NUTS draws and for draws of the AutoNormal
//! guide, the PSIS k-hat of that guide, and writes the two marginals of `mu` and `log tau`.
//!
//! ```text
//! cargo run --release --example eight_schools -- [--seed 0] [--plot eight_schools.png]
//! ```
//!
//! With the feature `arviz` it also writes both posteriors as ArviZ InferenceData
//! (`eight_schools_nuts.zarr`, `eight_schools_vi.zarr`: posterior, sample stats, posterior
//! predictive, pointwise log-likelihood, observed and constant data), which
//! `scripts/arviz_open.py` opens with ArviZ:
//!
//! ```text
//! cargo run --release --features arviz --example eight_schools -- --zarr eight_schools
//! ```

mod plot;
#[macro_use]
mod schools;

use clap::Parser;
use inferrs::diagnostics::{Chains, Summary, format_table};
use inferrs::prelude::*;
use inferrs::{Error, Samples};

// As every example and benchmark of the repository (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Command-line options of the example.
#[derive(Clone, Debug, Parser)]
struct Options {
    /// Seed of the sampler and of the fit.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Chains of NUTS.
    #[arg(long, default_value_t = 4)]
    chains: usize,
    /// Draws per chain, after as many warm-up draws.
    #[arg(long, default_value_t = 1000)]
    draws: usize,
    /// Steps of the VI fit.
    #[arg(long, default_value_t = 5000)]
    steps: usize,
    /// The figure of the marginals (PNG).
    #[arg(long, default_value = "eight_schools.png")]
    plot: String,
    /// The prefix of the InferenceData stores (`{prefix}_nuts.zarr`, `{prefix}_vi.zarr`).
    #[cfg(feature = "arviz")]
    #[arg(long, default_value = "eight_schools")]
    zarr: String,
}

/// `values` as `f64`.
fn wide(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

/// The draws of `mu` and `log tau` of a set of NUTS samples, chains pooled.
fn mu_log_tau(samples: &Samples) -> (Vec<f64>, Vec<f64>) {
    let mu = samples
        .values("mu")
        .map(|a| wide(&a.values))
        .unwrap_or_default();
    let tau = samples
        .values("tau")
        .map(|a| wide(&a.values))
        .unwrap_or_default();
    (mu, tau.iter().map(|t| t.ln()).collect())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opts = Options::parse();
    let data = schools::data()?;

    println!("NUTS, {} chains of {} draws:", opts.chains, opts.draws);
    let mut mcmc = noncentred!();
    let nuts = Nuts::new()
        .chains(opts.chains)
        .draws(opts.draws)
        .warmup(opts.draws)
        .seed(opts.seed);
    let samples = mcmc.sample(&data, nuts)?;
    let (mu, log_tau) = mu_log_tau(&samples);
    println!(
        "{} divergences, {:.2} s",
        samples.divergences(),
        samples.wall_time().as_secs_f64()
    );

    let mut vi = noncentred!();
    let fit = VI::new(opts.steps)
        .guide(AutoNormal::default())
        .seed(opts.seed)
        .quiet(true);
    vi.fit(&data, fit)?;
    let n = opts.chains * opts.draws;
    let draws = vi.posterior(["mu", "tau", "theta_t"])?.sample_n(n)?;
    let get = |name: &str| -> Result<Vec<f64>, Error> {
        Ok(wide(
            &draws
                .get(name)
                .ok_or_else(|| Error::Query {
                    variable: name.to_string(),
                    reason: "not drawn".to_string(),
                })?
                .values,
        ))
    };
    let (vi_mu, vi_tau, vi_theta) = (get("mu")?, get("tau")?, get("theta_t")?);
    // Independent draws of the guide: one chain, whose ESS is about its length.
    let mut rows: Vec<(String, Summary)> = vec![
        ("mu".to_string(), Summary::new(&Chains::new(&[&vi_mu])?)),
        ("tau".to_string(), Summary::new(&Chains::new(&[&vi_tau])?)),
    ];
    for j in 0..schools::Y.len() {
        let theta: Vec<f64> = vi_theta
            .iter()
            .skip(j)
            .step_by(schools::Y.len())
            .copied()
            .collect();
        rows.push((
            format!("theta_t[{j}]"),
            Summary::new(&Chains::new(&[&theta])?),
        ));
    }
    let borrowed: Vec<(&str, Summary)> = rows.iter().map(|(l, s)| (l.as_str(), *s)).collect();
    println!(
        "\nAutoNormal, {} steps ({n} draws of the guide):",
        opts.steps
    );
    print!("{}", format_table(&borrowed));
    let psis = vi.psis(&data, n)?;
    println!(
        "PSIS k-hat of the guide: {:.2} ({})",
        psis.k_hat,
        if psis.reliable() {
            "the guide is usable"
        } else {
            "above 0.7: the guide's tails miss the posterior's, check it against NUTS"
        }
    );

    let vi_log_tau: Vec<f64> = vi_tau.iter().map(|t| t.ln()).collect();
    plot::marginals(
        &opts.plot,
        &[
            plot::Panel {
                title: "mu",
                nuts: &mu,
                vi: &vi_mu,
            },
            plot::Panel {
                title: "log tau",
                nuts: &log_tau,
                vi: &vi_log_tau,
            },
        ],
    )?;
    println!("wrote {}", opts.plot);

    #[cfg(feature = "arviz")]
    {
        let options = inferrs::ArvizOptions::new().draws(n);
        let stores = [
            (mcmc.inference_data(&data, &options)?, "nuts"),
            (vi.inference_data(&data, &options)?, "vi"),
        ];
        for (idata, kind) in stores {
            let path = format!("{}_{kind}.zarr", opts.zarr);
            idata.write_zarr(&path)?;
            println!("wrote {path}");
        }
    }
    Ok(())
}
