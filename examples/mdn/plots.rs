//! PNG figures for the MDN example, drawn with `plotters` (bitmap backend, ab_glyph text).
//!
//! Text uses the DejaVu Sans fonts embedded by the `dejavu` crate, registered once by
//! [`register_fonts`], so the figures render identically on machines without system fonts.
//! Every function writes one PNG and returns `Err` on I/O or drawing failure.

// Shared by the example and the throwaway demo; each uses a subset.
#![allow(dead_code)]

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};
use std::error::Error;
use std::path::Path;
use std::sync::Once;

/// Result type of the plotting functions.
pub type PlotResult = Result<(), Box<dyn Error>>;

/// Font family registered by [`register_fonts`] and used for all text.
const FONT: &str = "sans-serif";

/// matplotlib's tab10 blue.
const BLUE: RGBColor = RGBColor(31, 119, 180);
/// matplotlib's tab10 orange.
const ORANGE: RGBColor = RGBColor(255, 127, 14);
/// matplotlib's tab10 red.
const RED: RGBColor = RGBColor(214, 39, 40);
/// Light grey for grid lines.
const GRID: RGBColor = RGBColor(225, 225, 225);
/// Dark grey for the reference (true) density.
const DARK: RGBColor = RGBColor(40, 40, 40);

/// Registers the embedded DejaVu Sans fonts (regular, bold, oblique) as the `"sans-serif"`
/// family for plotters' ab_glyph text renderer. Idempotent and thread-safe (`std::sync::Once`);
/// every plotting function here calls it first.
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

/// `[lo, hi]` of the finite values, widened by `pad` of the span on each side; `(0, 1)` when
/// there are none, and a unit-wide interval around a constant.
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
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let p = pad * (hi - lo);
    (lo - p, hi + p)
}

/// Tick label with at most three decimals and no trailing zeros (`-10`, `2.5`, `0.125`).
fn tick(v: &f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Standard legend box: upper left, white background, thin grey border.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(160, 160, 160))
        .label_font((FONT, 16))
        .margin(10)
        .draw()?;
    Ok(())
}

/// A titled `x`-`y` chart with a light grid, the frame of both scatter plots.
fn xy_chart<'a, 'b>(
    root: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    title: &str,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> Result<
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    Box<dyn Error>,
> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 26))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc("x")
        .y_desc("y")
        .axis_desc_style((FONT, 20))
        .label_style((FONT, 15))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .draw()?;
    Ok(chart)
}

/// Scatter of the training data (`x` horizontal, `y` vertical) with a fitted curve on top:
/// meant for the plain regression net, whose least-squares fit is the conditional mean
/// `E[y | x]`, a line through the middle of the multimodal data.
///
/// # Arguments
/// * `path`: PNG file to write (900 x 650).
/// * `x`, `y`: the data points, same length (drawn as small semi-transparent dots).
/// * `curve`: `(x, y_hat)` points of the fitted function, drawn in the given order.
/// * `curve_label`: legend text for the curve.
pub fn scatter_with_curve(
    path: impl AsRef<Path>,
    title: &str,
    x: &[f32],
    y: &[f32],
    curve: &[(f32, f32)],
    curve_label: &str,
) -> PlotResult {
    register_fonts();
    let root = BitMapBackend::new(path.as_ref(), (900, 650)).into_drawing_area();
    root.fill(&WHITE)?;
    let xs = x
        .iter()
        .chain(curve.iter().map(|p| &p.0))
        .map(|&v| v as f64);
    let ys = y
        .iter()
        .chain(curve.iter().map(|p| &p.1))
        .map(|&v| v as f64);
    let (x0, x1) = padded_range(xs, 0.03);
    let (y0, y1) = padded_range(ys, 0.05);
    let mut chart = xy_chart(&root, title, (x0, x1), (y0, y1))?;
    let dot = BLUE.mix(0.3).filled();
    chart
        .draw_series(
            x.iter()
                .zip(y)
                .map(|(&a, &b)| Circle::new((a as f64, b as f64), 2, dot)),
        )?
        .label(format!("data ({} points)", x.len()))
        .legend(|(a, b)| Circle::new((a + 10, b), 4, BLUE.filled()));
    chart
        .draw_series(LineSeries::new(
            curve.iter().map(|&(a, b)| (a as f64, b as f64)),
            RED.stroke_width(3),
        ))?
        .label(curve_label)
        .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], RED.stroke_width(3)));
    draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present()?;
    Ok(())
}

/// Two point clouds over the same axes (`x` horizontal, `y` vertical), e.g. the held-out
/// test data against samples from the fitted model's posterior predictive `p(y | x)`.
///
/// # Arguments
/// * `path`: PNG file to write (900 x 650).
/// * `a`, `b`: `(x, y, label)` of each cloud; `a` is blue and drawn first, `b` orange on top,
///   both as small semi-transparent dots so that overlap shows as a blend.
pub fn scatter_two(
    path: impl AsRef<Path>,
    title: &str,
    a: (&[f32], &[f32], &str),
    b: (&[f32], &[f32], &str),
) -> PlotResult {
    register_fonts();
    let root = BitMapBackend::new(path.as_ref(), (900, 650)).into_drawing_area();
    root.fill(&WHITE)?;
    let xs = a.0.iter().chain(b.0).map(|&v| v as f64);
    let ys = a.1.iter().chain(b.1).map(|&v| v as f64);
    let (x0, x1) = padded_range(xs, 0.03);
    let (y0, y1) = padded_range(ys, 0.05);
    let mut chart = xy_chart(&root, title, (x0, x1), (y0, y1))?;
    for ((xs, ys, label), color) in [(a, BLUE), (b, ORANGE)] {
        let dot = color.mix(0.3).filled();
        chart
            .draw_series(
                xs.iter()
                    .zip(ys)
                    .map(|(&u, &v)| Circle::new((u as f64, v as f64), 2, dot)),
            )?
            .label(format!("{label} ({} points)", xs.len()))
            .legend(move |(u, v)| Circle::new((u + 10, v), 4, color.filled()));
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present()?;
    Ok(())
}

/// One panel of [`mixture_densities`]: densities over `y` at a fixed input `x`.
#[derive(Debug, Clone, Default)]
pub struct Panel {
    /// The input `x` this panel conditions on (shown in the panel title).
    pub x: f32,
    /// Grid of `y` values, increasing; every density below is evaluated on it.
    pub ys: Vec<f64>,
    /// The fitted mixture density `p_model(y | x)` on `ys`.
    pub model_density: Vec<f64>,
    /// The true `p(y | x)` on `ys` (e.g. from `toy::true_density_grid`); may be empty.
    pub true_density: Vec<f64>,
    /// Each mixture component times its weight, `pi_k N(y; mu_k, sigma_k)`, on `ys`
    /// (they sum to `model_density`); may be empty.
    pub components: Vec<Vec<f64>>,
}

/// The InferPy tutorial's `plot_normal_mix` as a grid of small panels, one per input `x`:
/// the fitted mixture density over `y` (thick solid blue), its weighted components (thin
/// orange), and the true `p(y | x)` (dashed dark grey). One shared legend under the title.
///
/// # Arguments
/// * `path`: PNG file to write; about 420 x 330 pixels per panel, at most 3 panels a row.
/// * `panels`: at least one; the vectors of each panel must have the length of its `ys`.
///
/// # Errors
/// If `panels` is empty or a density's length differs from its `ys`, or on drawing failure.
pub fn mixture_densities(path: impl AsRef<Path>, title: &str, panels: &[Panel]) -> PlotResult {
    register_fonts();
    if panels.is_empty() {
        return Err("mixture_densities: no panels".into());
    }
    for p in panels {
        let n = p.ys.len();
        let ok = p.model_density.len() == n
            && (p.true_density.is_empty() || p.true_density.len() == n)
            && p.components.iter().all(|c| c.len() == n);
        if !ok {
            return Err(format!(
                "mixture_densities: panel x = {}: lengths differ from ys",
                p.x
            )
            .into());
        }
    }
    let cols = match panels.len() {
        4 => 2,
        n => n.min(3),
    };
    let rows = panels.len().div_ceil(cols);
    let (w, h) = (420 * cols as u32, 330 * rows as u32 + 95);
    let root = BitMapBackend::new(path.as_ref(), (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let (head, body) = root.split_vertically(95);
    let (title_area, legend_area) = head.split_vertically(55);
    title_area.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 15),
        (FONT, 26)
            .into_font()
            .into_text_style(&title_area)
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    draw_shared_legend(&legend_area, w)?;

    for (area, p) in body.split_evenly((rows, cols)).iter().zip(panels) {
        let (y0, y1) = padded_range(p.ys.iter().copied(), 0.0);
        let top = p
            .model_density
            .iter()
            .chain(&p.true_density)
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let top = if top > 0.0 { top * 1.1 } else { 1.0 };
        let mut chart = ChartBuilder::on(area)
            .caption(format!("x = {:.2}", p.x), (FONT, 18))
            .margin(8)
            .margin_right(22)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(y0..y1, 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc("y")
            .y_desc("density")
            .axis_desc_style((FONT, 15))
            .label_style((FONT, 13))
            .x_labels(6)
            .y_labels(5)
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .draw()?;
        // Thick model density first, thin components over it (where they are not negligible,
        // so the zero tails do not paint the axis), the dashed truth on top.
        chart.draw_series(LineSeries::new(
            p.ys.iter().copied().zip(p.model_density.iter().copied()),
            BLUE.mix(0.85).stroke_width(3),
        ))?;
        for c in &p.components {
            for run in visible_runs(&p.ys, c, 1e-3 * top) {
                chart.draw_series(LineSeries::new(run, ORANGE.stroke_width(1)))?;
            }
        }
        if !p.true_density.is_empty() {
            chart.draw_series(DashedLineSeries::new(
                p.ys.iter().copied().zip(p.true_density.iter().copied()),
                7,
                5,
                DARK.stroke_width(2),
            ))?;
        }
    }
    root.present()?;
    Ok(())
}

/// Maximal runs of consecutive `(y, v)` points with `v > threshold`.
fn visible_runs(ys: &[f64], v: &[f64], threshold: f64) -> Vec<Vec<(f64, f64)>> {
    let mut runs = vec![];
    let mut cur = vec![];
    for (&y, &d) in ys.iter().zip(v) {
        if d > threshold && d.is_finite() {
            cur.push((y, d));
        } else if !cur.is_empty() {
            runs.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    runs
}

/// Legend strip for [`mixture_densities`]: three line samples with labels, centred.
fn draw_shared_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, width: u32) -> PlotResult
where
    DB::ErrorType: 'static,
{
    let style = (FONT, 16).into_font().into_text_style(area);
    let items: [(&str, ShapeStyle, bool); 3] = [
        ("model mixture density", BLUE.stroke_width(3), false),
        ("weighted components", ORANGE.stroke_width(1), false),
        ("true p(y | x)", DARK.stroke_width(2), true),
    ];
    let sample = 36;
    let gap = 14;
    let spacing = 40;
    let widths: Vec<i32> = items
        .iter()
        .map(|(label, _, _)| {
            let (tw, _) = area.estimate_text_size(label, &style).unwrap_or((120, 16));
            sample + 8 + tw as i32
        })
        .collect();
    let total: i32 = widths.iter().sum::<i32>() + spacing * (items.len() as i32 - 1) + 2 * gap;
    let (mut x, y) = ((width as i32 - total) / 2 + gap, 18);
    area.draw(&Rectangle::new(
        [
            ((width as i32 - total) / 2, 2),
            ((width as i32 + total) / 2, 34),
        ],
        RGBColor(160, 160, 160).stroke_width(1),
    ))?;
    for ((label, line, dashed), item_w) in items.iter().zip(&widths) {
        if *dashed {
            area.draw(&DashedPathElement::new(
                vec![(x, y), (x + sample, y)],
                7,
                5,
                *line,
            ))?;
        } else {
            area.draw(&PathElement::new(vec![(x, y), (x + sample, y)], *line))?;
        }
        area.draw(&Text::new(
            label.to_string(),
            (x + sample + 8, y),
            style.pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        x += item_w + spacing;
    }
    Ok(())
}

/// Training loss against step, with the y axis clipped so that the long tail is readable.
///
/// The y range is fitted to the losses after the first 5% of steps (plus a margin); the
/// early transient, which may be orders of magnitude larger, runs off the top and the
/// legend says where the axis was clipped. The raw per-step losses are drawn thin and light;
/// when there are more than 200 steps a centred moving average (window about 1% of the
/// steps, at least 5) is drawn on top. Non-finite losses are skipped.
///
/// # Arguments
/// * `path`: PNG file to write (900 x 600).
/// * `losses`: loss at steps 1, 2, ...; may be negative (e.g. a negative log-likelihood).
/// * `ylabel`: y-axis description, e.g. `"negative log-likelihood"`.
pub fn loss_curve(path: impl AsRef<Path>, title: &str, losses: &[f64], ylabel: &str) -> PlotResult {
    register_fonts();
    let root = BitMapBackend::new(path.as_ref(), (900, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = losses.len();
    let tail_start = n / 20;
    let (tail_lo, tail_hi) = padded_range(losses[tail_start..].iter().copied(), 0.0);
    let (all_lo, all_hi) = padded_range(losses.iter().copied(), 0.0);
    let span = (tail_hi - tail_lo).max(1e-9);
    let lo = all_lo.min(tail_lo) - 0.05 * span;
    // Clip only if the early values would squash the tail into a small part of the axis.
    let clipped = all_hi > tail_hi + 0.5 * span;
    let hi = if clipped {
        tail_hi + 0.25 * span
    } else {
        all_hi + 0.05 * span
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 26))
        .margin(15)
        .margin_right(25)
        .x_label_area_size(50)
        .y_label_area_size(75)
        .build_cartesian_2d(1f64..(n.max(2) as f64), lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc(ylabel)
        .axis_desc_style((FONT, 20))
        .label_style((FONT, 15))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&tick)
        .draw()?;
    // Clamp values above the axis to it so the line leaves the plot instead of vanishing.
    let clamp = |v: f64| v.min(hi);
    let raw_label = if clipped {
        format!("per step (axis clipped at {hi:.3}; max {all_hi:.3})")
    } else {
        "per step".to_string()
    };
    let smooth = n > 200;
    let raw_color = if smooth {
        BLUE.mix(0.35)
    } else {
        BLUE.mix(1.0)
    };
    chart
        .draw_series(LineSeries::new(
            losses
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(i, &v)| ((i + 1) as f64, clamp(v))),
            raw_color.stroke_width(1),
        ))?
        .label(raw_label)
        .legend(move |(a, b)| {
            PathElement::new(vec![(a, b), (a + 20, b)], raw_color.stroke_width(2))
        });
    if smooth {
        let window = (n / 100).max(5);
        let avg = moving_average(losses, window);
        chart
            .draw_series(LineSeries::new(
                avg.iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(i, &v)| ((i + 1) as f64, clamp(v))),
                RED.stroke_width(2),
            ))?
            .label(format!("moving average ({window} steps)"))
            .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], RED.stroke_width(2)));
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present()?;
    Ok(())
}

/// Centred moving average over the finite values in a window of `window` steps (shrinking at
/// the ends); NaN where the window holds no finite value.
fn moving_average(v: &[f64], window: usize) -> Vec<f64> {
    let half = window / 2;
    // Prefix sums of the finite values and of their count.
    let mut sum = vec![0.0; v.len() + 1];
    let mut cnt = vec![0usize; v.len() + 1];
    for (i, &x) in v.iter().enumerate() {
        let fin = x.is_finite();
        sum[i + 1] = sum[i] + if fin { x } else { 0.0 };
        cnt[i + 1] = cnt[i] + fin as usize;
    }
    (0..v.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(half), (i + half + 1).min(v.len()));
            let c = cnt[b] - cnt[a];
            if c == 0 {
                f64::NAN
            } else {
                (sum[b] - sum[a]) / c as f64
            }
        })
        .collect()
}
