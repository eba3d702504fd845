//! The UCI 8x8 optical digits (`data/digits.csv.gz`, see `data/README.md`): loading, the
//! binarisation the VAE models, the train / held-out split, and the independent-pixel baseline.
//!
//! The file is gzipped (57 KB against 265 KB as text) and read with `flate2`, so that it stays
//! byte for byte the copy scikit-learn ships (its checksum is in `data/README.md`).

use std::error::Error;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Pixels of an image (8 x 8, row by row).
pub const PIXELS: usize = 64;
/// Side of an image.
pub const SIDE: usize = 8;
/// Largest pixel value (the count of "on" pixels in a 4x4 block).
pub const MAX_VALUE: u8 = 16;
/// A pixel is 1 after binarisation when its value is above this (half of [`MAX_VALUE`]).
pub const THRESHOLD: u8 = 8;

/// The file shipped in the repository.
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits.csv.gz")
}

/// Images and their labels.
#[derive(Clone, Debug, Default)]
pub struct Digits {
    /// Pixel values `0..=16`, row by row.
    pub pixels: Vec<[u8; PIXELS]>,
    /// The digit of each image, `0..=9`.
    pub labels: Vec<u8>,
}

impl Digits {
    /// Reads the CSV file at `path`, gzipped when its name ends with `.gz`.
    ///
    /// # Errors
    /// On I/O failure, or a line that [`Digits::parse`] rejects.
    pub fn load(path: &Path) -> Result<Self, Box<dyn Error>> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut text = String::new();
        if path.extension().is_some_and(|e| e == "gz") {
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        } else {
            text = String::from_utf8(bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()).into())
    }

    /// Parses lines of 65 comma-separated integers: 64 pixels in `0..=16`, then the label in
    /// `0..=9`. Blank lines are skipped.
    ///
    /// # Errors
    /// A message naming the line for a wrong number of fields, a field that is not an integer,
    /// or a value out of range; also for text without any image.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut digits = Self::default();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != PIXELS + 1 {
                return Err(format!(
                    "line {}: {} fields, want {} (64 pixels and the label)",
                    i + 1,
                    fields.len(),
                    PIXELS + 1
                ));
            }
            let value = |j: usize, max: u8| -> Result<u8, String> {
                match fields[j].parse::<u8>() {
                    Ok(v) if v <= max => Ok(v),
                    _ => Err(format!(
                        "line {}, field {}: {:?} is not an integer in 0..={max}",
                        i + 1,
                        j + 1,
                        fields[j]
                    )),
                }
            };
            let mut pixels = [0u8; PIXELS];
            for (j, p) in pixels.iter_mut().enumerate() {
                *p = value(j, MAX_VALUE)?;
            }
            digits.pixels.push(pixels);
            digits.labels.push(value(PIXELS, 9)?);
        }
        if digits.pixels.is_empty() {
            return Err("no image".to_string());
        }
        Ok(digits)
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.pixels.len()
    }

    /// Whether there is no image.
    pub fn is_empty(&self) -> bool {
        self.pixels.is_empty()
    }

    /// The first `len() - test` images and the last `test` (all in the second when `test`
    /// exceeds `len()`).
    pub fn split(&self, test: usize) -> (Self, Self) {
        let at = self.len().saturating_sub(test);
        let part = |r: std::ops::Range<usize>| Self {
            pixels: self.pixels[r.clone()].to_vec(),
            labels: self.labels[r].to_vec(),
        };
        (part(0..at), part(at..self.len()))
    }

    /// The images binarised: 1 where the value is above [`THRESHOLD`], else 0.
    pub fn binarised(&self) -> Vec<[f32; PIXELS]> {
        self.pixels
            .iter()
            .map(|p| std::array::from_fn(|j| f32::from(u8::from(p[j] > THRESHOLD))))
            .collect()
    }
}

/// The independent-pixel baseline: a Bernoulli per pixel with the smoothed frequency of ones
/// in `train`, `(count + 1) / (n + 2)` (Laplace's rule, the posterior mean under a uniform
/// prior; never 0 or 1, so every held-out image has a finite log-likelihood).
pub fn pixel_frequencies(train: &[[f32; PIXELS]]) -> [f64; PIXELS] {
    let n = train.len() as f64;
    std::array::from_fn(|j| {
        let ones: f64 = train.iter().map(|x| f64::from(x[j])).sum();
        (ones + 1.0) / (n + 2.0)
    })
}

/// The mean over `images` of `sum_j x_j ln p_j + (1 - x_j) ln(1 - p_j)`: the log-likelihood
/// per image of independent Bernoulli pixels of probabilities `p`.
pub fn pixel_log_likelihood(p: &[f64; PIXELS], images: &[[f32; PIXELS]]) -> f64 {
    let total: f64 = images
        .iter()
        .map(|x| {
            x.iter()
                .zip(p)
                .map(|(&x, &p)| if x > 0.5 { p.ln() } else { (1.0 - p).ln() })
                .sum::<f64>()
        })
        .sum();
    total / images.len().max(1) as f64
}
