//! The PNG figure of the BNN example, drawn with `plotters` (bitmap backend, ab_glyph text) in
//! the style of the MDN example's figures.
//!
//! Text uses the DejaVu Sans fonts embedded by the `dejavu` crate, registered once by
//! [`register_fonts`], so the figure renders identically on machines without system fonts.

use std::error::Error;
use std::ops::Range;
use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::Band;

/// Result type of the plotting functions.
pub type PlotResult = Result<(), Box<dyn Error>>;

/// Font family registered by [`register_fonts`] and used for all text.
const FONT: &str = "sans-serif";
/// matplotlib's tab10 blue.
const BLUE: RGBColor = RGBColor(31, 119, 180);
/// matplotlib's tab10 orange.
const ORANGE: RGBColor = RGBColor(255, 127, 14);
/// Light grey for grid lines.
const GRID: RGBColor = RGBColor(225, 225, 225);
/// Dark grey for the true function.
const DARK: RGBColor = RGBColor(40, 40, 40);

/// Registers the embedded DejaVu Sans fonts as the `"sans-serif"` family (once).
///
/// # Panics
/// If the embedded font bytes fail to parse (cannot happen with the `dejavu` crate's files).
pub fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let fonts = [
            (FontStyle::Normal, dejavu::sans::regular()),
            (FontStyle::Bold, dejavu::sans::bold()),
            (FontStyle::Oblique, dejavu::sans::oblique()),
            (FontStyle::Italic, dejavu::sans::oblique()),
        ];
        for (style, bytes) in fonts {
            if register_font(FONT, style, bytes).is_err() {
                panic!(
                    "embedded DejaVu Sans font ({}) failed to parse",
                    style.as_str()
                );
            }
        }
    });
}

/// Tick label with at most three decimals and no trailing zeros.
fn tick(v: &f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// `[lo, hi]` of the finite values, widened by `pad` of the span on each side.
fn padded_range(values: impl IntoIterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    let p = pad * (hi - lo).max(1e-9);
    (lo - p, hi + p)
}

/// A posterior-predictive band: the gap shaded grey, the 90% band as a light blue area, the
/// predictive mean (blue), the true function (dashed dark grey) and the data (orange dots).
///
/// # Arguments
/// * `path`: PNG file to write (1000 x 620).
/// * `data`: the training points `(x1, y)` as drawn.
/// * `band`: the predictive mean and 5% / 95% quantiles on a grid of increasing `x1`.
/// * `truth`: the function that generated the data, drawn over the grid.
/// * `gap`: the interval without data, shaded.
///
/// # Errors
/// If the band's vectors differ in length from its grid, or on drawing failure.
pub fn predictive_band(
    path: impl AsRef<Path>,
    title: &str,
    data: (&[f64], &[f64]),
    band: &Band,
    truth: fn(f64) -> f64,
    gap: Range<f64>,
) -> PlotResult {
    let n = band.x.len();
    if band.mean.len() != n || band.lo.len() != n || band.hi.len() != n || n < 2 {
        return Err("predictive_band: the band's vectors differ in length from its grid".into());
    }
    register_fonts();
    let root = BitMapBackend::new(path.as_ref(), (1000, 620)).into_drawing_area();
    root.fill(&WHITE)?;
    let grid: Vec<f64> = band.x.iter().map(|x| x[0]).collect();
    let (x0, x1) = (grid[0], grid[n - 1]);
    let (y0, y1) = padded_range(band.lo.iter().chain(&band.hi).chain(data.1).copied(), 0.05);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 26))
        .margin(15)
        .margin_right(25)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc("x1 (x2 = 0)")
        .y_desc("y")
        .axis_desc_style((FONT, 20))
        .label_style((FONT, 15))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .draw()?;
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(gap.start, y0), (gap.end, y1)],
            RGBColor(235, 235, 235).filled(),
        )))?
        .label("no training data")
        .legend(|(a, b)| {
            Rectangle::new(
                [(a, b - 6), (a + 20, b + 6)],
                RGBColor(220, 220, 220).filled(),
            )
        });
    let outline: Vec<(f64, f64)> = grid
        .iter()
        .copied()
        .zip(band.hi.iter().copied())
        .chain(grid.iter().copied().zip(band.lo.iter().copied()).rev())
        .collect();
    chart
        .draw_series(std::iter::once(Polygon::new(
            outline,
            BLUE.mix(0.25).filled(),
        )))?
        .label("90% predictive band")
        .legend(|(a, b)| Rectangle::new([(a, b - 6), (a + 20, b + 6)], BLUE.mix(0.25).filled()));
    chart
        .draw_series(LineSeries::new(
            grid.iter().copied().zip(band.mean.iter().copied()),
            BLUE.stroke_width(3),
        ))?
        .label("predictive mean")
        .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], BLUE.stroke_width(3)));
    chart
        .draw_series(DashedLineSeries::new(
            grid.iter().map(|&x| (x, truth(x))),
            7,
            5,
            DARK.stroke_width(2),
        ))?
        .label("truth at x2 = 0, sin(x1)")
        .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], DARK.stroke_width(2)));
    chart
        .draw_series(
            data.0
                .iter()
                .zip(data.1)
                .map(|(&x, &y)| Circle::new((x, y), 3, ORANGE.mix(0.8).filled())),
        )?
        .label(format!(
            "training data, y - {} x2 ({} points)",
            super::SLOPE2,
            data.0.len()
        ))
        .legend(|(a, b)| Circle::new((a + 10, b), 4, ORANGE.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(160, 160, 160))
        .label_font((FONT, 16))
        .margin(10)
        .draw()?;
    root.present()?;
    Ok(())
}
