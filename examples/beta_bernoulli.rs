//! Beta-Bernoulli: the probability of a coin from its flips, against Laplace's rule of
//! succession. With a Beta(1, 1) prior and `s` heads in `n` flips the posterior is
//! Beta(s + 1, n - s + 1), of mean (s + 1) / (n + 2).
//!
//! ```text
//! cargo run --release --example beta_bernoulli -- --flips 60 --heads 17
//! ```
//!
//! `p` lives in (0, 1): `AutoNormal` fits it through a sigmoid (a logit-normal q), with the
//! log-det-Jacobian of the sigmoid in the ELBO.

use clap::Parser;
use inferrs::Error;
use inferrs::prelude::*;

/// Command-line options of the example.
#[derive(Clone, Debug, Parser)]
pub struct Options {
    /// Number of flips.
    #[arg(long, default_value_t = 60)]
    pub flips: usize,
    /// Number of heads among them.
    #[arg(long, default_value_t = 17)]
    pub heads: usize,
    /// Seed of the fit.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// The posterior of `p`: exact mean and sd, and the fitted guide's draws.
pub struct Outcome {
    /// `(s + 1) / (n + 2)`.
    pub exact_mean: f64,
    /// The sd of Beta(s + 1, n - s + 1).
    pub exact_sd: f64,
    /// 4000 posterior draws of `p`.
    pub draws: inferrs::Array,
}

/// Fits `p` to the flips and draws its posterior.
pub fn run(opts: &Options) -> Result<Outcome, Error> {
    if opts.heads > opts.flips {
        return Err(Error::InvalidOption {
            option: "heads",
            reason: format!("{} heads in {} flips", opts.heads, opts.flips),
        });
    }
    let flips: Vec<f32> = (0..opts.flips)
        .map(|i| if i < opts.heads { 1.0 } else { 0.0 })
        .collect();
    let mut model = probmodel! {
        p ~ Beta(1.0, 1.0);
        datamodel {
            flip ~ Bernoulli(Probs(p));
        }
    };
    let vi = VI::new(3000)
        .lr(0.05)
        .guide(AutoNormal::default())
        .seed(opts.seed)
        .quiet(true);
    model.fit(&Data::new().with("flip", &flips)?, vi)?;
    let draws = model.posterior(["p"])?.sample_n(4000)?["p"].clone();
    let (a, b) = (
        (opts.heads + 1) as f64,
        (opts.flips - opts.heads + 1) as f64,
    );
    Ok(Outcome {
        exact_mean: a / (a + b),
        exact_sd: (a * b / ((a + b).powi(2) * (a + b + 1.0))).sqrt(),
        draws,
    })
}

#[allow(dead_code)]
fn main() -> Result<(), Error> {
    let opts = Options::parse();
    let out = run(&opts)?;
    let s = out.draws.summary();
    println!("{} heads in {} flips", opts.heads, opts.flips);
    println!(
        "exact posterior Beta({}, {}): mean {:.4} sd {:.4}",
        opts.heads + 1,
        opts.flips - opts.heads + 1,
        out.exact_mean,
        out.exact_sd
    );
    println!(
        "AutoNormal (logit-normal):  mean {:.4} sd {:.4}",
        s.mean[0], s.sd[0]
    );
    Ok(())
}
