//! A variational autoencoder, as InferPy's VAE tutorial (Kingma and Welling 2014), on the UCI
//! 8x8 handwritten digits (`data/digits.csv.gz`, 1797 images, binarised at half intensity).
//!
//! The model: per image a latent `z ~ N(0, I_2)` and the 64 pixels
//! `x ~ Bernoulli(logits = decoder(z))`, the decoder a `2 -> 100 -> 64` ReLU network whose
//! weights are trained. The q-model is amortised: an encoder `64 -> 100 -> (2, 2)` (ReLU; the
//! scales through softplus) reads the image `x` and gives the Normal q of its `z`, so it infers
//! `z` for images it was not fitted on. Fitted by SVI on minibatches with the closed-form KL.
//!
//! The last 297 images are held out. The run prints the held-out ELBO per image (a lower bound
//! of `log p(x)`), its importance-weighted tightening (IWAE), and beside them the held-out
//! log-likelihood of independent Bernoulli pixels with the training frequencies: the VAE must
//! beat that baseline to have learnt anything about how pixels go together. It draws
//! reconstructions of held-out images and the 2-D latent means of all images coloured by digit
//! to `OUT/reconstructions.png` and `OUT/latent.png`.
//!
//! ```text
//! cargo run --release --example vae -- --epochs 100 --seed 0 --out out/vae
//! ```

pub mod digits;
mod plots;

use std::any::Any;
use std::path::PathBuf;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::TensorData;
use burn::tensor::activation::relu;
use clap::Parser;
use inferrs::QModel;
use inferrs::prelude::*;

use digits::{Digits, PIXELS};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Dimension of the latent space (2, as InferPy's tutorial, so that it can be drawn).
pub const LATENT: usize = 2;
/// Held-out images reconstructed in `reconstructions.png`.
pub const SHOWN: usize = 12;
/// Neighbours of the nearest-neighbour classifier in the latent space.
pub const NEIGHBOURS: usize = 10;

/// The decoder `z -> relu(z W1 + b1) W2 + b2`: the logits of the 64 pixels.
#[derive(Module, Debug)]
pub struct Decoder {
    hidden: Linear,
    out: Linear,
}

impl Decoder {
    /// A decoder `latent -> hidden -> pixels` with burn's default initialisation.
    pub fn new(device: &Device, latent: usize, hidden: usize, pixels: usize) -> Self {
        Self {
            hidden: LinearConfig::new(latent, hidden).init(device),
            out: LinearConfig::new(hidden, pixels).init(device),
        }
    }

    /// The pixels' logits.
    ///
    /// # Shapes
    /// `z`: `[n, latent]`; returns `[n, pixels]`.
    pub fn forward(&self, z: Tensor<2>) -> Tensor<2> {
        self.out.forward(relu(self.hidden.forward(z)))
    }
}

/// The encoder `x -> h = relu(x W1 + b1) -> (h Wl + bl, softplus(h Ws + bs) + 1e-3)`: the
/// location and scale of the Normal q of `z` given an image.
#[derive(Module, Debug)]
pub struct Encoder {
    hidden: Linear,
    loc: Linear,
    scale: Linear,
}

impl Encoder {
    /// An encoder `pixels -> hidden -> (latent, latent)` with burn's default initialisation.
    pub fn new(device: &Device, pixels: usize, hidden: usize, latent: usize) -> Self {
        Self {
            hidden: LinearConfig::new(pixels, hidden).init(device),
            loc: LinearConfig::new(hidden, latent).init(device),
            scale: LinearConfig::new(hidden, latent).init(device),
        }
    }

    /// The location and the scale (softplus plus a floor of 1e-3, so that `ln(scale)` stays
    /// finite) of `q(z | x)`.
    ///
    /// # Shapes
    /// `x`: `[n, pixels]`; returns two `[n, latent]`.
    pub fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let h = relu(self.hidden.forward(x));
        (
            self.loc.forward(h.clone()),
            softplus(self.scale.forward(h)).add_scalar(1e-3),
        )
    }
}

/// Options of a run.
#[derive(Clone, Debug, Parser)]
#[command(about = "A variational autoencoder (InferPy's tutorial) on the 8x8 digits, with inferrs")]
pub struct Options {
    /// Epochs of the fit (each a pass over the training images in minibatches).
    #[arg(long, default_value_t = 100)]
    pub epochs: usize,
    /// Images per minibatch.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Initial learning rate of Adam (cosine decay to 1% of it).
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// Hidden units of the encoder and of the decoder.
    #[arg(long, default_value_t = 100)]
    pub hidden: usize,
    /// Images held out (the last ones of the file).
    #[arg(long, default_value_t = 297)]
    pub test: usize,
    /// Draws of q per image in the held-out ELBO estimate.
    #[arg(long, default_value_t = 32)]
    pub eval_particles: usize,
    /// Importance samples per image of the held-out IWAE bound (0: not computed).
    #[arg(long, default_value_t = 64)]
    pub iwae: usize,
    /// Seed of the weights' initialisation, the fit and the evaluations.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The digits file (CSV, gzipped when it ends with `.gz`).
    #[arg(long, default_value_os_t = digits::default_path())]
    pub data: PathBuf,
    /// Where `reconstructions.png` and `latent.png` go.
    #[arg(long, default_value = "out/vae")]
    pub out: PathBuf,
    /// Do not write the figures.
    #[arg(long)]
    pub no_plots: bool,
    /// Hide progress bars and loss lines.
    #[arg(long)]
    pub quiet: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self::parse_from(["vae"])
    }
}

/// What a run measured.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The ELBO per held-out image (nats), `eval_particles` draws of q per image.
    pub heldout_elbo: f64,
    /// The same on the training images.
    pub train_elbo: f64,
    /// The importance-weighted bound per held-out image with `iwae` samples (`None` when
    /// `iwae` is 0): no lower than the ELBO, and still a lower bound of `log p(x)`.
    pub heldout_iwae: Option<f64>,
    /// The log-likelihood per held-out image of independent Bernoulli pixels with the smoothed
    /// training frequencies (exact, closed form).
    pub baseline_heldout: f64,
    /// The same on the training images.
    pub baseline_train: f64,
    /// The fraction of held-out images whose digit is the most common among the [`NEIGHBOURS`]
    /// training images nearest to it in the latent space (locations of q): how much of the
    /// digit the two latent coordinates keep, though the fit never saw a label.
    pub knn_accuracy: f64,
    /// The loss (negative ELBO, summed over training images) of every epoch.
    pub losses: Vec<f64>,
    /// Wall-clock seconds of the fit.
    pub fit_seconds: f64,
    /// Training images.
    pub n_train: usize,
    /// Held-out images.
    pub n_test: usize,
    /// The location of `q(z | x)` of every image, training ones first.
    pub latent_means: Vec<[f64; LATENT]>,
    /// The digit of every image, in the same order.
    pub labels: Vec<u8>,
    /// The raw pixel values (0..16) of the first [`SHOWN`] held-out images.
    pub shown_raw: Vec<[u8; PIXELS]>,
    /// Their binarised pixels (what the model sees).
    pub shown_binary: Vec<[f32; PIXELS]>,
    /// Their reconstructions: `sigmoid(decoder(loc of q(z | x)))`, the pixel probabilities.
    pub shown_reconstruction: Vec<[f64; PIXELS]>,
}

/// A function that finds a `QModel` of the type of `q` behind a guide's `as_any()`: the
/// q-model's type is the macro's, which has no name to write, so it is taken from the value.
fn downcaster<P: 'static, F: 'static>(_: &QModel<P, F>) -> fn(&dyn Any) -> Option<&QModel<P, F>> {
    |any| any.downcast_ref()
}

/// `[n, cols]` on `device` from rows of `f32`.
fn tensor<const C: usize>(rows: &[[f32; C]], device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Tensor::<2>::from_data(TensorData::new(flat, [rows.len(), C]), device)
}

/// A `[n, cols]` tensor back on the host, row by row.
fn rows_of<const C: usize>(t: Tensor<2>) -> Result<Vec<[f64; C]>, Box<dyn std::error::Error>> {
    let flat = t.into_data().try_to_vec::<f32>()?;
    Ok(flat
        .chunks_exact(C)
        .map(|r| std::array::from_fn(|j| f64::from(r[j])))
        .collect())
}

/// The fraction of `test` points whose label is the most common among the `k` nearest (in
/// Euclidean distance) `train` points; ties go to the smaller label.
pub fn knn_accuracy(
    train: (&[[f64; LATENT]], &[u8]),
    test: (&[[f64; LATENT]], &[u8]),
    k: usize,
) -> f64 {
    let dist = |a: &[f64; LATENT], b: &[f64; LATENT]| -> f64 {
        a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum()
    };
    let correct = test
        .0
        .iter()
        .zip(test.1)
        .filter(|(point, label)| {
            let mut order: Vec<usize> = (0..train.0.len()).collect();
            order.sort_by(|&i, &j| dist(point, &train.0[i]).total_cmp(&dist(point, &train.0[j])));
            let mut votes = [0usize; 10];
            for &i in order.iter().take(k) {
                votes[usize::from(train.1[i].min(9))] += 1;
            }
            let best = (0..10).max_by_key(|&d| (votes[d], std::cmp::Reverse(d)));
            best == Some(usize::from(**label))
        })
        .count();
    correct as f64 / test.0.len().max(1) as f64
}

/// Loads the digits, fits the VAE on the training images, evaluates it and the baseline on
/// the held-out images, and computes the figures' data.
///
/// # Errors
/// An unreadable data file, invalid options, or any error of the fit and the evaluations.
pub fn run(opts: &Options) -> Result<Outcome, Box<dyn std::error::Error>> {
    let all = Digits::load(&opts.data)?;
    if all.is_empty() || opts.test == 0 || opts.test >= all.len() {
        return Err(format!(
            "--test {} must be between 1 and {} (the file has {} images)",
            opts.test,
            all.len() - 1,
            all.len()
        )
        .into());
    }
    let (train_digits, test_digits) = all.split(opts.test);
    let (x_train, x_test) = (train_digits.binarised(), test_digits.binarised());
    let train = Data::new().with("x", x_train.clone())?;
    let test = Data::new().with("x", x_test.clone())?;

    let device = Device::default();
    device.seed(opts.seed);
    let hidden = opts.hidden;
    let mut model = probmodel! {
        decoder = Decoder::new(&device, LATENT, hidden, PIXELS);
        datamodel {
            z ~ Normal(vec![0.0; LATENT], 1.0);          // latent, [N, 2]
            x ~ Bernoulli(decoder(z));                   // observed, [N, 64], logits
        }
    };
    let q = qmodel! {
        encoder = Encoder::new(&device, PIXELS, hidden, LATENT);
        datamodel {
            input x;                                     // the image: the encoder's input
            z ~ Normal(encoder(x));
        }
    };
    let as_qmodel = downcaster(&q);
    let report = model.fit(
        &train,
        VI::new(opts.epochs)
            .batch_size(opts.batch_size)
            .lr(opts.lr)
            .analytic_kl(true)
            .qmodel(q)
            .seed(opts.seed)
            .quiet(opts.quiet),
    )?;

    // The ELBO with the fitted encoder on images it was not fitted on: the q-model reads them.
    let elbo_per_image = |data: &Data, n: usize| -> Result<f64, Error> {
        let vi = VI::new(1)
            .elbo(TraceMeanFieldElbo {
                particles: opts.eval_particles,
            })
            .seed(opts.seed.wrapping_add(1));
        Ok(-Svi::new(vi).evaluate(&model, data, None)? / n as f64)
    };
    let heldout_elbo = elbo_per_image(&test, x_test.len())?;
    let train_elbo = elbo_per_image(&train, x_train.len())?;
    // RenyiElbo's bound is over the whole data's joint; the IWAE of a VAE is per image, so each
    // image is its own data set (of one row: no minibatch scaling inside the exponential).
    let heldout_iwae = if opts.iwae == 0 {
        None
    } else {
        let mut total = 0.0;
        for (i, x) in x_test.iter().enumerate() {
            let one = Data::new().with("x", vec![*x])?;
            let vi = VI::new(1)
                .elbo(RenyiElbo::iwae(opts.iwae))
                .seed(opts.seed.wrapping_add(2 + i as u64));
            total -= Svi::new(vi).evaluate(&model, &one, None)?;
        }
        Some(total / x_test.len() as f64)
    };

    let p = digits::pixel_frequencies(&x_train);
    let baseline_heldout = digits::pixel_log_likelihood(&p, &x_test);
    let baseline_train = digits::pixel_log_likelihood(&p, &x_train);

    // The fitted networks: the decoder is the model's parameter, the encoder the q-model's.
    let qmodel = model
        .guide()
        .and_then(|g| as_qmodel(g.as_any()))
        .ok_or("the fitted model has no q-model")?;
    let encoder = &qmodel.params().encoder;
    let decoder = &model.params().decoder;
    let device = model.device();
    let images: Vec<[f32; PIXELS]> = x_train.iter().chain(&x_test).copied().collect();
    let (loc, _) = encoder.forward(tensor(&images, &device));
    let latent_means = rows_of::<LATENT>(loc)?;
    let knn_accuracy = knn_accuracy(
        (&latent_means[..x_train.len()], &train_digits.labels),
        (&latent_means[x_train.len()..], &test_digits.labels),
        NEIGHBOURS,
    );
    let shown_binary: Vec<[f32; PIXELS]> = x_test.iter().take(SHOWN).copied().collect();
    let (shown_loc, _) = encoder.forward(tensor(&shown_binary, &device));
    let shown_reconstruction = rows_of::<PIXELS>(sigmoid(decoder.forward(shown_loc)))?;

    Ok(Outcome {
        heldout_elbo,
        train_elbo,
        heldout_iwae,
        baseline_heldout,
        baseline_train,
        knn_accuracy,
        losses: report.losses,
        fit_seconds: report.seconds,
        n_train: x_train.len(),
        n_test: x_test.len(),
        latent_means,
        labels: train_digits
            .labels
            .iter()
            .chain(&test_digits.labels)
            .copied()
            .collect(),
        shown_raw: test_digits.pixels.iter().take(SHOWN).copied().collect(),
        shown_binary,
        shown_reconstruction,
    })
}

impl Outcome {
    /// Writes `reconstructions.png` and `latent.png` to `dir`.
    ///
    /// # Errors
    /// On I/O or drawing failure.
    pub fn plot(&self, dir: &std::path::Path) -> plots::PlotResult {
        std::fs::create_dir_all(dir)?;
        plots::reconstructions(
            dir.join("reconstructions.png"),
            &self.shown_raw,
            &self.shown_binary,
            &self.shown_reconstruction,
        )?;
        plots::latent_scatter(
            dir.join("latent.png"),
            &self.latent_means,
            &self.labels,
            self.n_train,
        )
    }
}

fn main() {
    let opts = Options::parse();
    let o = match run(&opts) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "images: {} training, {} held out (binarised: pixel > {})",
        o.n_train,
        o.n_test,
        digits::THRESHOLD
    );
    println!(
        "held-out ELBO per image          {:9.3} nats ({} draws of q per image)",
        o.heldout_elbo, opts.eval_particles
    );
    if let Some(iwae) = o.heldout_iwae {
        println!(
            "held-out IWAE per image          {iwae:9.3} nats ({} importance samples)",
            opts.iwae
        );
    }
    println!(
        "independent-pixel baseline       {:9.3} nats (held-out log-likelihood per image)",
        o.baseline_heldout
    );
    println!(
        "ELBO minus baseline              {:9.3} nats per image",
        o.heldout_elbo - o.baseline_heldout
    );
    println!(
        "training images: ELBO {:.3}, baseline {:.3}",
        o.train_elbo, o.baseline_train
    );
    println!(
        "held-out digits recognised from z by their {NEIGHBOURS} nearest training images: {:.1}% \
         (labels unseen by the fit; chance 10%)",
        100.0 * o.knn_accuracy
    );
    println!(
        "fit: {} epochs of batches of {} in {:.1} s",
        o.losses.len(),
        opts.batch_size,
        o.fit_seconds
    );
    if !opts.no_plots {
        if let Err(e) = o.plot(&opts.out) {
            eprintln!("error: writing the figures to {}: {e}", opts.out.display());
            std::process::exit(1);
        }
        println!(
            "wrote {} and {}",
            opts.out.join("reconstructions.png").display(),
            opts.out.join("latent.png").display()
        );
    }
}
