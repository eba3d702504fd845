//! The PNG figures of the VAE example, drawn with `plotters` (bitmap backend, ab_glyph text) in
//! the style of the other examples' figures.
//!
//! Text uses the DejaVu Sans fonts embedded by the `dejavu` crate, registered once by
//! [`register_fonts`], so the figures render identically on machines without system fonts.

use std::error::Error;
use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use super::LATENT;
use super::digits::{MAX_VALUE, PIXELS, SIDE};

/// Result type of the plotting functions.
pub type PlotResult = Result<(), Box<dyn Error>>;

/// Font family registered by [`register_fonts`] and used for all text.
const FONT: &str = "sans-serif";
/// Light grey for grid lines.
const GRID: RGBColor = RGBColor(225, 225, 225);
/// matplotlib's tab10, one colour a digit.
const TAB10: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

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

/// Grey level of an intensity in `[0, 1]`: white at 0, black at 1 (ink on paper).
fn ink(v: f64) -> RGBColor {
    let g = (255.0 * (1.0 - v.clamp(0.0, 1.0))).round() as u8;
    RGBColor(g, g, g)
}

/// Side of one image pixel in the reconstructions figure, in screen pixels.
const CELL: i32 = 11;
/// Space between two images.
const GAP: i32 = 14;
/// Width of the row labels on the left.
const LABELS: i32 = 250;

/// Held-out images and their reconstructions, one image a column: the raw pixel values
/// (0..16, grey levels), the binarised image the model sees, and the reconstruction's pixel
/// probabilities `sigmoid(decoder(loc of q(z | x)))`, each as an 8x8 grid of greys.
///
/// # Errors
/// If the three lists differ in length or are empty, or on drawing failure.
pub fn reconstructions(
    path: impl AsRef<Path>,
    raw: &[[u8; PIXELS]],
    binary: &[[f32; PIXELS]],
    reconstruction: &[[f64; PIXELS]],
) -> PlotResult {
    let n = raw.len();
    if n == 0 || binary.len() != n || reconstruction.len() != n {
        return Err("reconstructions: the lists of images differ in length or are empty".into());
    }
    register_fonts();
    let side = CELL * SIDE as i32;
    let (top, row_gap) = (70, 22);
    let w = (LABELS + n as i32 * (side + GAP) + GAP) as u32;
    let h = (top + 3 * (side + row_gap) + 10) as u32;
    let root = BitMapBackend::new(path.as_ref(), (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    root.draw(&Text::new(
        "VAE: held-out digits and their reconstructions",
        (w as i32 / 2, 18),
        (FONT, 24)
            .into_font()
            .into_text_style(&root)
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    // Each row's images as intensities in [0, 1].
    let rows: [(&str, Vec<[f64; PIXELS]>); 3] = [
        (
            "original (0..16)",
            raw.iter()
                .map(|r| std::array::from_fn(|j| f64::from(r[j]) / f64::from(MAX_VALUE)))
                .collect(),
        ),
        (
            "binarised (the data)",
            binary
                .iter()
                .map(|r| std::array::from_fn(|j| f64::from(r[j])))
                .collect(),
        ),
        ("reconstruction p(x = 1)", reconstruction.to_vec()),
    ];
    let label_style = (FONT, 17)
        .into_font()
        .into_text_style(&root)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (r, (label, images)) in rows.iter().enumerate() {
        let y0 = top + r as i32 * (side + row_gap);
        root.draw(&Text::new(
            label.to_string(),
            (LABELS - 12, y0 + side / 2),
            label_style.clone(),
        ))?;
        for (i, image) in images.iter().enumerate() {
            let x0 = LABELS + i as i32 * (side + GAP);
            for (j, &v) in image.iter().enumerate() {
                let (py, px) = ((j / SIDE) as i32, (j % SIDE) as i32);
                let (a, b) = (x0 + px * CELL, y0 + py * CELL);
                root.draw(&Rectangle::new(
                    [(a, b), (a + CELL, b + CELL)],
                    ink(v).filled(),
                ))?;
            }
            root.draw(&Rectangle::new(
                [(x0 - 1, y0 - 1), (x0 + side, y0 + side)],
                RGBColor(160, 160, 160),
            ))?;
        }
    }
    root.present()?;
    Ok(())
}

/// Width of the latent figure.
const WIDTH: i32 = 960;
/// Width of the legend's margin on its right.
const LEGEND: i32 = 120;

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

/// Tick label with at most two decimals and no trailing zeros.
fn tick(v: &f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// The latent means of the images, coloured by digit: the first `n_train` (training images)
/// as small dots, the rest (held out) as larger dots with a dark outline.
///
/// # Errors
/// If `means` and `labels` differ in length, a label is not a digit, or on drawing failure.
pub fn latent_scatter(
    path: impl AsRef<Path>,
    means: &[[f64; LATENT]],
    labels: &[u8],
    n_train: usize,
) -> PlotResult {
    if means.len() != labels.len() || labels.iter().any(|&l| l > 9) {
        return Err("latent_scatter: means and labels differ in length, or a label > 9".into());
    }
    register_fonts();
    let root = BitMapBackend::new(path.as_ref(), (WIDTH as u32, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let (x0, x1) = padded_range(means.iter().map(|m| m[0]), 0.05);
    let (y0, y1) = padded_range(means.iter().map(|m| m[1]), 0.05);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "VAE: locations of q(z | x) for {} images ({} held out, outlined)",
                means.len(),
                means.len().saturating_sub(n_train)
            ),
            (FONT, 22),
        )
        .margin(15)
        .margin_right(LEGEND as u32)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc("z[0]")
        .y_desc("z[1]")
        .axis_desc_style((FONT, 20))
        .label_style((FONT, 15))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .draw()?;
    for digit in 0..10u8 {
        let colour = TAB10[usize::from(digit)];
        let points = || {
            means
                .iter()
                .zip(labels)
                .enumerate()
                .filter(move |(_, (_, l))| **l == digit)
        };
        chart.draw_series(
            points()
                .filter(|(i, _)| *i < n_train)
                .map(|(_, (m, _))| Circle::new((m[0], m[1]), 2, colour.mix(0.55).filled())),
        )?;
        chart.draw_series(
            points()
                .filter(|(i, _)| *i >= n_train)
                .flat_map(|(_, (m, _))| {
                    [
                        Circle::new((m[0], m[1]), 5, colour.filled()),
                        Circle::new((m[0], m[1]), 5, BLACK.stroke_width(1)),
                    ]
                }),
        )?;
    }
    // The legend, in the right margin (outside the points).
    let (lx, ly) = (WIDTH - LEGEND + 12, 70);
    let text = (FONT, 16)
        .into_font()
        .into_text_style(&root)
        .pos(Pos::new(HPos::Left, VPos::Center));
    root.draw(&Text::new("digit", (lx, ly), text.clone()))?;
    for (digit, colour) in TAB10.iter().enumerate() {
        let y = ly + 28 * (digit as i32 + 1);
        root.draw(&Circle::new((lx + 8, y), 6, colour.filled()))?;
        root.draw(&Text::new(format!("{digit}"), (lx + 24, y), text.clone()))?;
    }
    let y = ly + 28 * 12;
    root.draw(&Circle::new((lx + 8, y), 2, TAB10[0].mix(0.55).filled()))?;
    root.draw(&Text::new("training", (lx + 24, y), text.clone()))?;
    root.draw(&Circle::new((lx + 8, y + 28), 5, TAB10[0].filled()))?;
    root.draw(&Circle::new((lx + 8, y + 28), 5, BLACK.stroke_width(1)))?;
    root.draw(&Text::new("held out", (lx + 24, y + 28), text))?;
    root.present()?;
    Ok(())
}
