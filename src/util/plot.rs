//! Line charts (e.g. per-step prediction error, one series per model; optionally with a shaded
//! [`Band`] per series, such as a confidence interval) and scatter charts (e.g. Koopman
//! eigenvalues, optionally with the unit circle), drawn with `plotters`: SVG (text as text,
//! no font needed to write it) or PNG through the bitmap backend, with text in DejaVu Sans embedded
//! in the binary (`src/util/fonts/`, Bitstream Vera licence), so no system font is looked up.
//! Files are written atomically with [`crate::util::files::write_bytes`].
//!
//! Bad input never panics: points with a NaN or infinite coordinate, or with a magnitude above
//! `1e300`, are skipped (in [`Kind::Lines`] they break the line), as are points with `y <= 0` when
//! [`Chart::log_y`] is set. Empty input draws empty axes over `[0, 1]`; a single point or an all-equal
//! coordinate gets a small range around it.
//!
//! ```no_run
//! use koopman::util::plot::{write_png, Chart, Kind, Series};
//! let mse = [(1.0, 0.01), (2.0, 0.02), (3.0, 0.05)];
//! let chart = Chart {
//!     title: "Prediction error",
//!     x_label: "step",
//!     y_label: "MSE",
//!     log_y: true,
//!     kind: Kind::Lines,
//! };
//! let series = [Series { name: "koopman", points: &mse }];
//! write_png(std::path::Path::new("err.png"), &chart, &series, None).unwrap();
//! ```
use std::io;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

/// Image width in pixels.
pub const WIDTH: u32 = 800;
/// Image height in pixels.
pub const HEIGHT: u32 = 500;

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Consecutive points joined by line segments (an isolated point gets a dot).
    Lines,
    /// One filled dot per point (scatter).
    Points,
}

/// One named data series; its colour is picked from a fixed palette by its index.
#[derive(Clone, Copy, Debug)]
pub struct Series<'a> {
    /// Legend entry; an empty name leaves the series out of the legend.
    pub name: &'a str,
    /// `(x, y)` pairs in data units, drawn in order.
    pub points: &'a [(f64, f64)],
}

/// A shaded band (e.g. a 95% confidence interval) drawn under the lines in the colour of one
/// series, at 20% opacity. Points with a non-finite or oversized value (or, on a log axis, a
/// bound `<= 0`) are skipped and break the band; the band counts towards the axis ranges.
#[derive(Clone, Copy, Debug)]
pub struct Band<'a> {
    /// Index of the series whose colour the band takes.
    pub series: usize,
    /// `(x, lo, hi)` triples in data units, in x order.
    pub points: &'a [(f64, f64, f64)],
}

/// Chart text and style.
#[derive(Clone, Copy, Debug)]
pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Logarithmic y axis.
    pub log_y: bool,
    pub kind: Kind,
}

/// Renders the chart and writes it to `path` as a PNG, atomically (see [`crate::util::files`]).
///
/// `circle` is an optional `(centre_x, centre_y, radius)` in data units, drawn as a grey outline
/// (e.g. `Some((0.0, 0.0, 1.0))` for the unit circle) and included in the axis ranges. The axes are
/// not forced to equal scale, so a circle may look like an ellipse.
///
/// Errors only for I/O problems.
pub fn write_png(
    path: &Path,
    chart: &Chart,
    series: &[Series],
    circle: Option<(f64, f64, f64)>,
) -> io::Result<()> {
    let bytes = encode_png(chart, series, circle)?;
    super::files::write_bytes(path, &bytes)
}

/// As [`write_png`], with shaded bands under the series (see [`Band`]) and no circle.
pub fn write_png_bands(
    path: &Path,
    chart: &Chart,
    series: &[Series],
    bands: &[Band],
) -> io::Result<()> {
    let bytes = encode(chart, series, bands, None)?;
    super::files::write_bytes(path, &bytes)
}

/// As [`write_png`], as SVG.
pub fn write_svg(
    path: &Path,
    chart: &Chart,
    series: &[Series],
    circle: Option<(f64, f64, f64)>,
) -> io::Result<()> {
    let text = render_svg(chart, series, circle)?;
    super::files::write_bytes(path, text.as_bytes())
}

/// Renders the chart (as [`write_png`] does) and returns the PNG file's bytes.
pub fn encode_png(
    chart: &Chart,
    series: &[Series],
    circle: Option<(f64, f64, f64)>,
) -> io::Result<Vec<u8>> {
    encode(chart, series, &[], circle)
}

fn encode(
    chart: &Chart,
    series: &[Series],
    bands: &[Band],
    circle: Option<(f64, f64, f64)>,
) -> io::Result<Vec<u8>> {
    register_font();
    let prepared = Prepared::new(chart, series, bands, circle);
    let mut rgb = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, chart, &prepared).map_err(io::Error::other)?;
        root.present()
            .map_err(|e| io::Error::other(e.to_string()))?;
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(io::Error::other)?;
    writer.write_image_data(&rgb).map_err(io::Error::other)?;
    writer.finish().map_err(io::Error::other)?;
    Ok(out)
}

/// Renders the chart as an SVG document.
pub fn render_svg(
    chart: &Chart,
    series: &[Series],
    circle: Option<(f64, f64, f64)>,
) -> io::Result<String> {
    register_font();
    let prepared = Prepared::new(chart, series, &[], circle);
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, chart, &prepared).map_err(io::Error::other)?;
        root.present()
            .map_err(|e| io::Error::other(e.to_string()))?;
    }
    Ok(text)
}

/// The embedded font, registered once as plotters' "sans-serif".
fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let font: &'static [u8] = include_bytes!("fonts/DejaVuSans.ttf");
        // The bytes are a valid TrueType font (checked by `tests/plot.rs`); should registration
        // fail, plotters draws no text rather than failing.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, font);
    });
}

/// Matplotlib's "tab10" colours.
const PALETTE: [RGBColor; 10] = [
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
const CIRCLE: RGBColor = RGBColor(140, 140, 140);
/// Coordinates with a larger magnitude are skipped, so spans and scales stay finite.
const MAX_ABS: f64 = 1e300;

/// A band's `(x, lo, hi)` in plot space, `None` for a skipped point.
type BandPoints = Vec<Option<(f64, f64, f64)>>;

/// The data in plot space (y as log10 when the axis is logarithmic), `None` for a skipped point,
/// and the axis ranges over everything drawn.
struct Prepared {
    names: Vec<String>,
    series: Vec<Vec<Option<(f64, f64)>>>,
    /// Per band: its series index and points.
    bands: Vec<(usize, BandPoints)>,
    circle: Vec<Option<(f64, f64)>>,
    x: (f64, f64),
    y: (f64, f64),
}

impl Prepared {
    fn new(
        chart: &Chart,
        series: &[Series],
        bands: &[Band],
        circle: Option<(f64, f64, f64)>,
    ) -> Self {
        let log_y = chart.log_y;
        let to_plot = |(x, y): (f64, f64)| -> Option<(f64, f64)> {
            if !(x.is_finite() && y.is_finite() && x.abs() <= MAX_ABS && y.abs() <= MAX_ABS) {
                return None;
            }
            if log_y {
                (y > 0.0).then(|| (x, y.log10()))
            } else {
                Some((x, y))
            }
        };
        let data: Vec<Vec<Option<(f64, f64)>>> = series
            .iter()
            .map(|s| s.points.iter().map(|&p| to_plot(p)).collect())
            .collect();
        let bands: Vec<(usize, BandPoints)> = bands
            .iter()
            .map(|b| {
                let pts = b.points.iter().map(|&(x, lo, hi)| {
                    let (x, lo) = to_plot((x, lo))?;
                    let (_, hi) = to_plot((x, hi))?;
                    Some((x, lo, hi))
                });
                (b.series, pts.collect())
            })
            .collect();
        let band_ends: Vec<Option<(f64, f64)>> = bands
            .iter()
            .flat_map(|(_, pts)| pts.iter().flatten())
            .flat_map(|&(x, lo, hi)| [Some((x, lo)), Some((x, hi))])
            .collect();
        let circle = circle.filter(|&(cx, cy, r)| {
            [cx, cy, r]
                .iter()
                .all(|v| v.is_finite() && v.abs() <= MAX_ABS)
                && r > 0.0
        });
        let circle_pts: Vec<Option<(f64, f64)>> = match circle {
            Some((cx, cy, r)) => (0..=256)
                .map(|i| {
                    let t = i as f64 / 256.0 * std::f64::consts::TAU;
                    to_plot((cx + r * t.cos(), cy + r * t.sin()))
                })
                .collect(),
            None => Vec::new(),
        };
        let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        let all = data.iter().flatten().chain(&circle_pts).chain(&band_ends);
        for &(x, y) in all.flatten() {
            x_lo = x_lo.min(x);
            x_hi = x_hi.max(x);
            y_lo = y_lo.min(y);
            y_hi = y_hi.max(y);
        }
        Prepared {
            names: series.iter().map(|s| s.name.to_string()).collect(),
            series: data,
            bands,
            circle: circle_pts,
            x: padded_range(x_lo, x_hi),
            y: padded_range(y_lo, y_hi),
        }
    }
}

/// `[lo, hi]` with 5% padding; a degenerate or empty range gets a small one around it.
fn padded_range(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) || lo > hi {
        return (0.0, 1.0);
    }
    let (lo, hi) = if hi - lo <= 1e-12 * lo.abs().max(hi.abs()) || hi - lo < 1e-300 {
        let d = if lo == 0.0 { 1.0 } else { 0.1 * lo.abs() };
        (lo - d, hi + d)
    } else {
        (lo, hi)
    };
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

/// A tick label: short, in scientific notation for very large or small magnitudes.
fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".to_string()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.1e}")
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

/// Ticks for a log10 axis spanning `[lo, hi]` (in log10 units): 1, 2, 5 × 10^k over at most two
/// decades, whole decades (thinned to at most 8) beyond.
fn log_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return Vec::new();
    }
    if hi - lo < 1.0 {
        // Less than a decade: evenly spaced round values, placed on the log axis.
        let (a, b) = (10f64.powf(lo), 10f64.powf(hi));
        let raw = (b - a) / 5.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * mag)
            .find(|&st| st >= raw)
            .unwrap_or(10.0 * mag);
        let mut out = Vec::new();
        let mut v = (a / step).ceil() * step;
        while v <= b && out.len() < 20 {
            if v > 0.0 {
                out.push((v.log10(), tick_label(v)));
            }
            v += step;
        }
        if out.len() >= 2 {
            return out;
        }
    }
    let mantissas: &[f64] = if hi - lo <= 2.5 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    let (k0, k1) = (lo.floor() as i64, hi.ceil() as i64);
    let step = ((k1 - k0) / 8 + 1).max(1);
    let mut out = Vec::new();
    for k in (k0..=k1).filter(|k| (k - k0) % step == 0) {
        for &m in mantissas {
            let v = (m * 10f64.powi(k as i32)).log10();
            if v >= lo && v <= hi {
                out.push((v, tick_label(10f64.powf(v))));
            }
        }
    }
    // Too few ticks on a narrow range: add the ends.
    if out.len() < 2 {
        out = vec![
            (lo, tick_label(10f64.powf(lo))),
            (hi, tick_label(10f64.powf(hi))),
        ];
    }
    out
}

/// Draws axes, grid, labels, the data and a legend on `root`.
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    p: &Prepared,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let mut cc = ChartBuilder::on(root)
        .caption(chart.title, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(78)
        .build_cartesian_2d(p.x.0..p.x.1, p.y.0..p.y.1)
        .map_err(e)?;
    let log_y = chart.log_y;
    // A tick within rounding of zero (e.g. -2.2e-16 on a symmetric axis) reads as 0.
    let snap = |v: f64, (lo, hi): (f64, f64)| if v.abs() < 1e-9 * (hi - lo) { 0.0 } else { v };
    let (xr, yr) = (p.x, p.y);
    let y_fmt = move |v: &f64| {
        if log_y {
            tick_label(10f64.powf(*v))
        } else {
            tick_label(snap(*v, yr))
        }
    };
    let x_fmt = move |v: &f64| tick_label(snap(*v, xr));
    let mut mesh = cc.configure_mesh();
    mesh.x_desc(chart.x_label)
        .y_desc(chart.y_label)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215));
    if log_y {
        // Plotters would place ticks evenly in log10 space (labels like 2.5119); draw ticks at
        // 1, 2, 5 × 10^k (or whole decades over a wide range) instead.
        mesh.disable_y_mesh().y_labels(0);
    }
    mesh.draw().map_err(e)?;
    if log_y {
        let style = ("sans-serif", 14).into_font().color(&BLACK);
        for (v, label) in log_ticks(p.y.0, p.y.1) {
            cc.draw_series(LineSeries::new(
                [(p.x.0, v), (p.x.1, v)],
                RGBColor(215, 215, 215).stroke_width(1),
            ))
            .map_err(e)?;
            let (px, py) = cc.backend_coord(&(p.x.0, v));
            let (w, h) = root.estimate_text_size(&label, &style).unwrap_or((0, 0));
            root.draw(&Text::new(
                label,
                (px - 6 - w as i32, py - h as i32 / 2),
                style.clone(),
            ))
            .map_err(e)?;
            root.draw(&PathElement::new(
                vec![(px - 4, py), (px, py)],
                BLACK.stroke_width(1),
            ))
            .map_err(e)?;
        }
    }
    // Bands under everything else: one polygon per run of valid points.
    for (si, pts) in &p.bands {
        let fill = PALETTE[si % PALETTE.len()].mix(0.2).filled();
        let mut run: Vec<(f64, f64, f64)> = Vec::new();
        for q in pts.iter().chain(std::iter::once(&None)) {
            match q {
                Some(t) => run.push(*t),
                None if !run.is_empty() => {
                    let mut outline: Vec<(f64, f64)> =
                        run.iter().map(|&(x, _, hi)| (x, hi)).collect();
                    outline.extend(run.iter().rev().map(|&(x, lo, _)| (x, lo)));
                    cc.draw_series(std::iter::once(Polygon::new(outline, fill)))
                        .map_err(e)?;
                    run.clear();
                }
                None => {}
            }
        }
    }
    // The circle: consecutive valid points joined.
    for run in runs(&p.circle) {
        cc.draw_series(LineSeries::new(run, CIRCLE.stroke_width(1)))
            .map_err(e)?;
    }
    let mut any_label = false;
    for (si, pts) in p.series.iter().enumerate() {
        let colour = PALETTE[si % PALETTE.len()];
        let name = p.names[si].clone();
        let mut labelled = false;
        let mut label = |anno: &mut plotters::chart::SeriesAnno<'_, DB>| {
            if !name.is_empty() && !labelled {
                labelled = true;
                any_label = true;
                anno.label(name.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3))
                });
            }
        };
        match chart.kind {
            Kind::Points => {
                let anno = cc
                    .draw_series(
                        pts.iter()
                            .flatten()
                            .map(|&q| Circle::new(q, 3, colour.filled())),
                    )
                    .map_err(e)?;
                label(anno);
            }
            Kind::Lines => {
                for run in runs(pts) {
                    let anno = if run.len() == 1 {
                        cc.draw_series(std::iter::once(Circle::new(run[0], 3, colour.filled())))
                            .map_err(e)?
                    } else {
                        cc.draw_series(LineSeries::new(run, colour.stroke_width(2)))
                            .map_err(e)?
                    };
                    label(anno);
                }
            }
        }
    }
    if any_label {
        cc.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(e)?;
    }
    Ok(())
}

/// Maximal runs of consecutive valid points.
fn runs(pts: &[Option<(f64, f64)>]) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for p in pts {
        match p {
            Some(q) => cur.push(*q),
            None if !cur.is_empty() => out.push(std::mem::take(&mut cur)),
            None => {}
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}
