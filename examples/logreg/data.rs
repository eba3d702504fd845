//! The Bayesian logistic regression of the SVI benchmarks (`bench_stream`, `mpi_logreg`):
//! `y ~ Bernoulli(logits = x w + b)` with 20 standard-normal features, its rows generated
//! block by block and written to Parquet.

use std::path::{Path, PathBuf};

use inferrs::ParquetWriter;
use inferrs::prelude::*;
use rand::SeedableRng;
use rand_distr::{Bernoulli as RBernoulli, Distribution as _, StandardNormal};

/// The model: `w ~ N(0, 1)^20`, `b ~ N(0, 1)`, `y ~ Bernoulli(logits = x w + b)` with `x` an
/// input (not modelled), as `shared/peers/models/logreg.py`.
#[macro_export]
macro_rules! logreg_model {
    () => {
        inferrs::probmodel! {
            w ~ Normal(vec![0.0; D], 1.0);
            b ~ Normal(0.0, 1.0);
            datamodel {
                input x;
                y ~ Bernoulli(x.matmul(w.transpose()) + b);
            }
        }
    };
}

/// Features per row.
pub const D: usize = 20;
/// Rows generated (and written) at a time: the file's row groups.
pub const WRITE_ROWS: usize = 1 << 16;

/// The true weights and bias.
pub fn truth() -> ([f64; D], f64) {
    (std::array::from_fn(|j| (0.7 * j as f64).sin()), -0.5)
}

/// Rows `start..start + n` of the data: a block's rows depend only on its index, so every
/// file is a prefix of a longer one.
pub fn block(start: usize, n: usize) -> Result<Data, Error> {
    let (w, b) = truth();
    let mut rng = rand::rngs::StdRng::seed_from_u64(start as u64 ^ 0xDA7A);
    let mut x = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let row: [f32; D] = std::array::from_fn(|_| {
            let v: f64 = StandardNormal.sample(&mut rng);
            v as f32
        });
        let logit: f64 = b + row
            .iter()
            .zip(w)
            .map(|(&a, w)| f64::from(a) * w)
            .sum::<f64>();
        let p = 1.0 / (1.0 + (-logit).exp());
        let one = RBernoulli::new(p).is_ok_and(|d| d.sample(&mut rng));
        x.push(row);
        y.push(if one { 1.0f32 } else { 0.0 });
    }
    Data::new().with("x", x)?.with("y", y)
}

/// The Parquet file of `rows` rows, written unless it exists.
pub fn file(dir: &Path, rows: usize) -> Result<PathBuf, Error> {
    let path = dir.join(format!("logreg_{rows}.parquet"));
    if path.exists() {
        return Ok(path);
    }
    let mut writer = ParquetWriter::create(&path, WRITE_ROWS)?;
    for start in (0..rows).step_by(WRITE_ROWS) {
        writer.write(&block(start, WRITE_ROWS.min(rows - start))?)?;
    }
    writer.finish()?;
    Ok(path)
}
