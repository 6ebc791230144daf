//! Tiny PNG charts with no plotting dependency: line charts (e.g. per-step prediction error, one
//! series per model) and scatter charts (e.g. Koopman eigenvalues, optionally with the unit circle).
//!
//! The chart is rasterised by hand into a [`WIDTH`]×[`HEIGHT`] RGB buffer (axes, grid, ticks with
//! numeric labels, title, axis labels, a legend) using the embedded 5×7 bitmap font, encoded with
//! the `png` crate and written atomically with [`crate::util::files::write_bytes`].
//!
//! Bad input never panics: points with a NaN or infinite coordinate, or with a magnitude above
//! `1e300`, are skipped (in [`Kind::Lines`] they break the line), as are points with `y <= 0` when
//! [`Chart::log_y`] is set. Empty input draws empty axes over `[0, 1]`; a single point or an all-equal
//! coordinate gets a small range around it. Text outside printable ASCII is drawn as `?`.
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

use super::font5x7::{glyph, GLYPH_H, GLYPH_W};

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

/// Chart text and style.
#[derive(Clone, Copy, Debug)]
pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Logarithmic y axis (ticks at powers of ten when the range spans a decade or more).
    pub log_y: bool,
    pub kind: Kind,
}

/// Renders the chart and writes it to `path` as a PNG, atomically (see [`crate::util::files`]).
///
/// `circle` is an optional `(centre_x, centre_y, radius)` in data units, drawn as a dashed grey
/// outline (e.g. `Some((0.0, 0.0, 1.0))` for the unit circle) and included in the axis ranges. The
/// axes are not forced to equal scale, so a circle may look like an ellipse.
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

/// Renders the chart (as [`write_png`] does) and returns the PNG file's bytes.
pub fn encode_png(
    chart: &Chart,
    series: &[Series],
    circle: Option<(f64, f64, f64)>,
) -> io::Result<Vec<u8>> {
    let rgb = render_rgb(chart, series, circle);
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(io::Error::other)?;
    writer.write_image_data(&rgb).map_err(io::Error::other)?;
    writer.finish().map_err(io::Error::other)?;
    Ok(out)
}

type Rgb = [u8; 3];

const BACKGROUND: Rgb = [255, 255, 255];
const INK: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];
const CIRCLE: Rgb = [140, 140, 140];
/// Matplotlib's "tab10" colours.
const PALETTE: [Rgb; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

const TEXT_SCALE: i64 = 2;
const TITLE_SCALE: i64 = 2;
/// Coordinates with a larger magnitude are skipped, so spans and scales stay finite.
const MAX_ABS: f64 = 1e300;
/// Pixel coordinates are clamped to this magnitude before rasterising lines.
const MAX_PX: f64 = 20_000.0;

/// Renders the chart into a row-major RGB buffer of `WIDTH * HEIGHT * 3` bytes.
fn render_rgb(chart: &Chart, series: &[Series], circle: Option<(f64, f64, f64)>) -> Vec<u8> {
    let log_y = chart.log_y;
    // Valid points per series in plot space (y as log10 when log_y); None marks a skipped point.
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

    // Axis ranges over everything drawn.
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in data.iter().flatten().chain(circle_pts.iter()).flatten() {
        x_lo = x_lo.min(x);
        x_hi = x_hi.max(x);
        y_lo = y_lo.min(y);
        y_hi = y_hi.max(y);
    }
    let (x_lo, x_hi) = padded_range(x_lo, x_hi);
    let (y_lo, y_hi) = padded_range(y_lo, y_hi);
    let x_ticks = linear_ticks(x_lo, x_hi);
    let y_ticks = if log_y {
        log_ticks(y_lo, y_hi)
    } else {
        linear_ticks(y_lo, y_hi)
    };

    // Layout: the left margin fits the widest y tick label plus the rotated y label.
    let (w, h) = (WIDTH as i64, HEIGHT as i64);
    let char_h = GLYPH_H as i64 * TEXT_SCALE;
    let max_tick_w = y_ticks
        .iter()
        .map(|t| text_width(&t.1, TEXT_SCALE))
        .max()
        .unwrap_or(0);
    let left = (12 + char_h + 10 + max_tick_w + 8).min(w / 2);
    let right = w - 24;
    let top = 16 + GLYPH_H as i64 * TITLE_SCALE + 14;
    let bottom = h - (8 + char_h + 12 + char_h + 12);
    let plot = Rect {
        x0: left,
        y0: top,
        x1: right,
        y1: bottom,
    };
    let map = |(x, y): (f64, f64)| -> (i64, i64) {
        let fx = (x - x_lo) / (x_hi - x_lo);
        let fy = (y - y_lo) / (y_hi - y_lo);
        let px = plot.x0 as f64 + fx * (plot.x1 - plot.x0) as f64;
        let py = plot.y1 as f64 - fy * (plot.y1 - plot.y0) as f64;
        (
            px.round().clamp(-MAX_PX, MAX_PX) as i64,
            py.round().clamp(-MAX_PX, MAX_PX) as i64,
        )
    };

    let mut c = Canvas::new(w, h);

    // Grid, ticks and tick labels.
    for (v, label) in &x_ticks {
        let (px, _) = map((*v, y_lo));
        c.vline(px, plot.y0 + 1, plot.y1 - 1, GRID);
        c.vline(px, plot.y1, plot.y1 + 5, INK);
        let tw = text_width(label, TEXT_SCALE);
        c.text(px - tw / 2, plot.y1 + 8, label, TEXT_SCALE, INK);
    }
    for (v, label) in &y_ticks {
        let (_, py) = map((x_lo, *v));
        c.hline(plot.x0 + 1, plot.x1 - 1, py, GRID);
        c.hline(plot.x0 - 5, plot.x0, py, INK);
        let tw = text_width(label, TEXT_SCALE);
        c.text(plot.x0 - 8 - tw, py - char_h / 2, label, TEXT_SCALE, INK);
    }

    // Data, clipped to the inside of the frame.
    c.clip = Rect {
        x0: plot.x0 + 1,
        y0: plot.y0 + 1,
        x1: plot.x1 - 1,
        y1: plot.y1 - 1,
    };
    for (i, seg) in circle_pts.windows(2).enumerate() {
        if let (0, [Some(a), Some(b)]) = (i % 2, seg) {
            let (a, b) = (map(*a), map(*b));
            c.line(a, b, CIRCLE);
        }
    }
    for (si, pts) in data.iter().enumerate() {
        let colour = PALETTE[si % PALETTE.len()];
        match chart.kind {
            Kind::Points => {
                for p in pts.iter().flatten() {
                    c.disc(map(*p), 3, colour);
                }
            }
            Kind::Lines => {
                for (i, p) in pts.iter().enumerate() {
                    let Some(p) = p else { continue };
                    let next = pts.get(i + 1).copied().flatten();
                    let prev = if i > 0 { pts[i - 1] } else { None };
                    if let Some(q) = next {
                        c.line(map(*p), map(q), colour);
                    } else if prev.is_none() {
                        c.disc(map(*p), 3, colour);
                    }
                }
            }
        }
    }
    c.clip = Rect {
        x0: 0,
        y0: 0,
        x1: w - 1,
        y1: h - 1,
    };

    // Frame, title and axis labels.
    c.hline(plot.x0, plot.x1, plot.y0, INK);
    c.hline(plot.x0, plot.x1, plot.y1, INK);
    c.vline(plot.x0, plot.y0, plot.y1, INK);
    c.vline(plot.x1, plot.y0, plot.y1, INK);
    let tw = text_width(chart.title, TITLE_SCALE);
    c.text((w - tw) / 2, 16, chart.title, TITLE_SCALE, INK);
    let xw = text_width(chart.x_label, TEXT_SCALE);
    c.text(
        (plot.x0 + plot.x1 - xw) / 2,
        h - 12 - char_h,
        chart.x_label,
        TEXT_SCALE,
        INK,
    );
    let yw = text_width(chart.y_label, TEXT_SCALE);
    c.text_up(
        12,
        (plot.y0 + plot.y1 + yw) / 2,
        chart.y_label,
        TEXT_SCALE,
        INK,
    );

    draw_legend(&mut c, plot, series, &data, &map);
    c.px
}

/// Draws the legend box in the plot corner that hides the fewest data points.
fn draw_legend(
    c: &mut Canvas,
    plot: Rect,
    series: &[Series],
    data: &[Vec<Option<(f64, f64)>>],
    map: &dyn Fn((f64, f64)) -> (i64, i64),
) {
    let char_h = GLYPH_H as i64 * TEXT_SCALE;
    let row_h = char_h + 6;
    let swatch = 24;
    let max_rows = ((plot.y1 - plot.y0 - 20) / row_h).max(0) as usize;
    let entries: Vec<(usize, &str)> = series
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.name.is_empty())
        .map(|(i, s)| (i, s.name))
        .take(max_rows)
        .collect();
    if entries.is_empty() {
        return;
    }
    let name_w = entries
        .iter()
        .map(|e| text_width(e.1, TEXT_SCALE))
        .max()
        .unwrap_or(0);
    let box_w = (8 + swatch + 8 + name_w + 8).min(plot.x1 - plot.x0 - 20);
    let box_h = 6 + row_h * entries.len() as i64;
    let corners = [
        (plot.x1 - 10 - box_w, plot.y0 + 10),
        (plot.x0 + 10, plot.y0 + 10),
        (plot.x1 - 10 - box_w, plot.y1 - 10 - box_h),
        (plot.x0 + 10, plot.y1 - 10 - box_h),
    ];
    let hidden = |&(bx, by): &(i64, i64)| {
        data.iter()
            .flatten()
            .flatten()
            .filter(|p| {
                let (px, py) = map(**p);
                px >= bx && px <= bx + box_w && py >= by && py <= by + box_h
            })
            .count()
    };
    // min_by_key keeps the first of equals, so ties go to the top-right corner.
    let (bx, by) = corners
        .iter()
        .copied()
        .min_by_key(hidden)
        .unwrap_or(corners[0]);
    let frame = Rect {
        x0: bx,
        y0: by,
        x1: bx + box_w,
        y1: by + box_h,
    };
    c.fill_rect(frame, BACKGROUND);
    c.hline(frame.x0, frame.x1, frame.y0, INK);
    c.hline(frame.x0, frame.x1, frame.y1, INK);
    c.vline(frame.x0, frame.y0, frame.y1, INK);
    c.vline(frame.x1, frame.y0, frame.y1, INK);
    c.clip = Rect {
        x0: frame.x0 + 1,
        y0: frame.y0 + 1,
        x1: frame.x1 - 1,
        y1: frame.y1 - 1,
    };
    for (row, (si, name)) in entries.iter().enumerate() {
        let colour = PALETTE[si % PALETTE.len()];
        let y = by + 6 + row as i64 * row_h;
        let mid = y + char_h / 2;
        c.line((bx + 8, mid), (bx + 8 + swatch, mid), colour);
        c.disc((bx + 8 + swatch / 2, mid), 3, colour);
        c.text(bx + 8 + swatch + 8, y, name, TEXT_SCALE, INK);
    }
    c.clip = Rect {
        x0: 0,
        y0: 0,
        x1: c.w - 1,
        y1: c.h - 1,
    };
}

/// `[lo, hi]` of the data, widened when degenerate (single value) and padded by 5% each side;
/// `[0, 1]` when there is no data.
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

/// A 1, 2 or 5 times a power of ten close to `raw`.
fn nice_step(raw: f64) -> f64 {
    let mag = 10f64.powf(raw.log10().floor());
    let r = raw / mag;
    let m = if r < 1.5 {
        1.0
    } else if r < 3.0 {
        2.0
    } else if r < 7.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// Round-number ticks within `[lo, hi]`: `(position, label)`.
fn linear_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    ticks_with(lo, hi, |v| v)
}

/// Ticks for a log10 axis whose plot range is `[lo, hi]` (exponents): powers of ten when the
/// range holds at least two, otherwise round numbers of the original value.
fn log_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let (e_lo, e_hi) = (lo.ceil(), hi.floor());
    if e_hi - e_lo >= 1.0 {
        let n = e_hi - e_lo + 1.0;
        let every = (n / 8.0).ceil().max(1.0);
        let mut out = Vec::new();
        let mut e = e_lo;
        while e <= e_hi && out.len() < 64 {
            let label = match e as i64 {
                k @ 0..=3 => format!("{}", 10i64.pow(k as u32)),
                k => format!("1e{k}"),
            };
            out.push((e, label));
            e += every;
        }
        return out;
    }
    let (raw_lo, raw_hi) = (10f64.powf(lo), 10f64.powf(hi));
    ticks_with(raw_lo, raw_hi, |v| v.log10())
        .into_iter()
        .filter(|(p, _)| p.is_finite())
        .collect()
}

/// Round-number ticks of the values in `[lo, hi]`, placed at `pos(value)`.
fn ticks_with(lo: f64, hi: f64, pos: impl Fn(f64) -> f64) -> Vec<(f64, String)> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return Vec::new();
    }
    let step = nice_step(span / 5.0);
    if !(step.is_finite() && step > 0.0) {
        return Vec::new();
    }
    let first = (lo / step).ceil();
    let mut out = Vec::new();
    let mut k = first;
    while k * step <= hi && out.len() < 64 {
        let mut v = k * step;
        if v.abs() < step * 1e-9 {
            v = 0.0;
        }
        out.push((pos(v), format_tick(v, step)));
        k += 1.0;
    }
    out
}

/// Short label for a tick value on a grid of `step`: fixed-point for moderate magnitudes,
/// otherwise scientific with trailing zeros dropped (`2.5e-4`, `1e6`).
fn format_tick(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    if step >= 1e-3 && v.abs() < 1e5 {
        let decimals = (-step.log10().floor()).clamp(0.0, 6.0) as usize;
        return format!("{v:.decimals$}");
    }
    let digits = (v.abs().log10().floor() - step.log10().floor()).clamp(0.0, 6.0) as usize;
    let s = format!("{v:.digits$e}");
    match s.split_once('e') {
        Some((mant, exp)) if mant.contains('.') => {
            let mant = mant.trim_end_matches('0').trim_end_matches('.');
            format!("{mant}e{exp}")
        }
        _ => s,
    }
}

/// Width in pixels of `s` drawn at `scale`.
fn text_width(s: &str, scale: i64) -> i64 {
    let n = s.chars().count() as i64;
    if n == 0 {
        0
    } else {
        n * (GLYPH_W as i64 + 1) * scale - scale
    }
}

/// Inclusive pixel rectangle.
#[derive(Clone, Copy, Debug)]
struct Rect {
    x0: i64,
    y0: i64,
    x1: i64,
    y1: i64,
}

struct Canvas {
    w: i64,
    h: i64,
    px: Vec<u8>,
    /// Pixels outside are not drawn.
    clip: Rect,
}

impl Canvas {
    fn new(w: i64, h: i64) -> Self {
        let px = BACKGROUND.repeat((w * h) as usize);
        let clip = Rect {
            x0: 0,
            y0: 0,
            x1: w - 1,
            y1: h - 1,
        };
        Canvas { w, h, px, clip }
    }

    fn put(&mut self, x: i64, y: i64, c: Rgb) {
        let r = self.clip;
        if x >= r.x0.max(0)
            && x <= r.x1.min(self.w - 1)
            && y >= r.y0.max(0)
            && y <= r.y1.min(self.h - 1)
        {
            let i = ((y * self.w + x) * 3) as usize;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }

    fn fill_rect(&mut self, r: Rect, c: Rgb) {
        for y in r.y0.max(0)..=r.y1.min(self.h - 1) {
            for x in r.x0.max(0)..=r.x1.min(self.w - 1) {
                self.put(x, y, c);
            }
        }
    }

    fn hline(&mut self, x0: i64, x1: i64, y: i64, c: Rgb) {
        self.fill_rect(
            Rect {
                x0,
                y0: y,
                x1,
                y1: y,
            },
            c,
        );
    }

    fn vline(&mut self, x: i64, y0: i64, y1: i64, c: Rgb) {
        self.fill_rect(
            Rect {
                x0: x,
                y0,
                x1: x,
                y1,
            },
            c,
        );
    }

    /// A 2-pixel-wide Bresenham line.
    fn line(&mut self, (mut x0, mut y0): (i64, i64), (x1, y1): (i64, i64), c: Rgb) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let mut err = dx + dy;
        loop {
            for (ox, oy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                self.put(x0 + ox, y0 + oy, c);
            }
            if x0 == x1 && y0 == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x0 += sx;
            }
            if e2 <= dx {
                err += dx;
                y0 += sy;
            }
        }
    }

    fn disc(&mut self, (cx, cy): (i64, i64), r: i64, c: Rgb) {
        for y in -r..=r {
            for x in -r..=r {
                if x * x + y * y <= r * r + r {
                    self.put(cx + x, cy + y, c);
                }
            }
        }
    }

    /// Draws `s` with its top-left corner at `(x, y)`.
    fn text(&mut self, x: i64, y: i64, s: &str, scale: i64, c: Rgb) {
        self.glyphs(s, scale, c, |tx, ty| (x + tx, y + ty));
    }

    /// Draws `s` rotated a quarter turn anticlockwise (reading upwards), starting at the bottom-left
    /// corner `(x, y)`.
    fn text_up(&mut self, x: i64, y: i64, s: &str, scale: i64, c: Rgb) {
        self.glyphs(s, scale, c, |tx, ty| (x + ty, y - tx));
    }

    /// Draws the glyphs of `s`, mapping text-space pixel `(along, down)` to the canvas with `at`.
    fn glyphs(&mut self, s: &str, scale: i64, c: Rgb, at: impl Fn(i64, i64) -> (i64, i64)) {
        for (i, ch) in s.chars().enumerate() {
            let ox = i as i64 * (GLYPH_W as i64 + 1) * scale;
            if ox > self.w.max(self.h) {
                break;
            }
            let (rows, drop) = glyph(ch);
            for (row, bits) in rows.iter().enumerate() {
                let row = row + drop;
                for col in 0..GLYPH_W {
                    if bits & (1 << (GLYPH_W - 1 - col)) == 0 {
                        continue;
                    }
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let (px, py) =
                                at(ox + col as i64 * scale + dx, row as i64 * scale + dy);
                            self.put(px, py, c);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(format_tick(0.2, 0.1), "0.2");
        assert_eq!(format_tick(40.0, 20.0), "40");
        assert_eq!(format_tick(2.5e-4, 5e-5), "2.5e-4");
        assert_eq!(format_tick(3e-4, 1e-4), "3e-4");
        assert_eq!(format_tick(2e6, 1e6), "2e6");
        assert_eq!(format_tick(0.0, 1e-4), "0");
    }

    #[test]
    fn ticks_cover_the_range() {
        let t = linear_ticks(-4.0, 105.0);
        let pos: Vec<f64> = t.iter().map(|t| t.0).collect();
        assert_eq!(pos, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let t = log_ticks(-3.2, 0.1);
        let labels: Vec<&str> = t.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, vec!["1e-3", "1e-2", "1e-1", "1"]);
    }
}
