//! Writes a small InferenceData store for `scripts/arviz_open.py` to open with ArviZ.
//!
//! ```text
//! cargo run -p inferrs-arviz --example write_demo -- /tmp/demo.zarr
//! /work/venv-arviz/bin/python scripts/arviz_open.py /tmp/demo.zarr
//! ```
//!
//! Posterior: 2 chains x 5 draws of `mu` (chain 0 draws 0..4, chain 1 draws 5..9, so the
//! mean is 4.5) and of a 2-vector `theta` (`theta[0]` = `mu`, `theta[1]` = `-2 * mu`, mean -9).
//! Sample stats: `diverging` (one true) and `tree_depth`. Observed data: `y` = 1, 2, 3.
//! Constant data: the scalar `n_obs` = 3.

use inferrs_arviz::{CONSTANT_DATA, InferenceData, OBSERVED_DATA, POSTERIOR, SAMPLE_STATS};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: write_demo PATH (the Zarr store to write)")?;
    let (chains, draws) = (2, 5);
    let mu: Vec<f64> = (0..chains * draws).map(|i| i as f64).collect();
    let theta: Vec<f64> = mu.iter().flat_map(|&m| [m, -2.0 * m]).collect();

    let mut idata = InferenceData::default();
    idata
        .group_mut(POSTERIOR)
        .add("mu", ["chain", "draw"], vec![chains, draws], mu)?
        .add(
            "theta",
            ["chain", "draw", "theta_dim_0"],
            vec![chains, draws, 2],
            theta,
        )?
        .set_attr("inference_library_version", env!("CARGO_PKG_VERSION"));
    let mut diverging = vec![false; chains * draws];
    diverging[3] = true;
    idata
        .group_mut(SAMPLE_STATS)
        .add(
            "diverging",
            ["chain", "draw"],
            vec![chains, draws],
            diverging,
        )?
        .add(
            "tree_depth",
            ["chain", "draw"],
            vec![chains, draws],
            (0..(chains * draws) as i64)
                .map(|i| 1 + i % 4)
                .collect::<Vec<i64>>(),
        )?;
    idata
        .group_mut(OBSERVED_DATA)
        .add("y", ["y_dim_0"], vec![3], vec![1.0_f64, 2.0, 3.0])?;
    idata
        .group_mut(CONSTANT_DATA)
        .add("n_obs", Vec::<String>::new(), vec![], vec![3_i64])?;
    idata.write_zarr(&path)?;
    println!("wrote {path}");
    Ok(())
}
