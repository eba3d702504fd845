//! The example's figure: the marginals of `mu` and `log tau` under NUTS and under the VI
//! fit, as normalised histograms side by side.

use plotters::prelude::*;
use std::path::Path;

#[path = "../mdn/plots.rs"]
mod plots;

pub use plots::PlotResult;

const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const BINS: usize = 40;

/// One panel: a title and the two sets of draws.
pub struct Panel<'a> {
    pub title: &'a str,
    pub nuts: &'a [f64],
    pub vi: &'a [f64],
}

/// Density of `draws` in `BINS` bins over `(lo, hi)`, as the corners of a step line.
fn steps(draws: &[f64], (lo, hi): (f64, f64)) -> Vec<(f64, f64)> {
    let width = (hi - lo) / BINS as f64;
    let mut counts = [0usize; BINS];
    for &d in draws {
        if d >= lo && d < hi {
            counts[(((d - lo) / width) as usize).min(BINS - 1)] += 1;
        }
    }
    let norm = draws.len() as f64 * width;
    let mut line = vec![(lo, 0.0)];
    for (i, &c) in counts.iter().enumerate() {
        let (a, b, h) = (
            lo + i as f64 * width,
            lo + (i + 1) as f64 * width,
            c as f64 / norm,
        );
        line.extend([(a, h), (b, h)]);
    }
    line.push((hi, 0.0));
    line
}

/// The 0.5% and 99.5% quantiles of both sets: the panel's range.
fn range(a: &[f64], b: &[f64]) -> (f64, f64) {
    let mut all: Vec<f64> = a
        .iter()
        .chain(b)
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    all.sort_by(f64::total_cmp);
    let q = |p: f64| all[((all.len() - 1) as f64 * p) as usize];
    (q(0.005), q(0.995))
}

/// Writes the panels side by side to `path` (PNG, 1200 x 500).
pub fn marginals(path: impl AsRef<Path>, panels: &[Panel<'_>]) -> PlotResult {
    plots::register_fonts();
    let root = BitMapBackend::new(path.as_ref(), (1200, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    for (area, panel) in root.split_evenly((1, panels.len())).iter().zip(panels) {
        let bounds = range(panel.nuts, panel.vi);
        let (nuts, vi) = (steps(panel.nuts, bounds), steps(panel.vi, bounds));
        let top = nuts.iter().chain(&vi).map(|p| p.1).fold(0.0, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(area)
            .caption(panel.title, ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(bounds.0..bounds.1, 0.0..top.max(1e-9))?;
        chart
            .configure_mesh()
            .y_desc("density")
            .label_style(("sans-serif", 14))
            .draw()?;
        chart
            .draw_series(LineSeries::new(nuts, BLUE.stroke_width(2)))?
            .label(format!("NUTS ({} draws)", panel.nuts.len()))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(vi, ORANGE.stroke_width(2)))?
            .label(format!("AutoNormal ({} draws)", panel.vi.len()))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], ORANGE.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(160, 160, 160))
            .label_font(("sans-serif", 14))
            .draw()?;
    }
    root.present()?;
    Ok(())
}
