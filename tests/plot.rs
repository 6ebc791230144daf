//! Charts (plotters): PNG files decode, have the documented size, are not blank; SVG files hold the
//! text; bad input never panics.
use std::path::{Path, PathBuf};

use koopman::util::plot::{write_png, Chart, Kind, Series, HEIGHT, WIDTH};

fn tmp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("koopman-plot-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Decodes an 8-bit RGB PNG: (width, height, pixels).
fn decode(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    let px = buf.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    (info.width, info.height, px)
}

/// Checks size, and that the image is mostly background with some drawing on it; returns the
/// number of distinct colours.
fn check_image(path: &Path) -> usize {
    let (w, h, px) = decode(path);
    assert_eq!((w, h), (WIDTH, HEIGHT));
    assert_eq!(px.len(), (w * h) as usize);
    let background = px[0];
    let drawn = px.iter().filter(|&&p| p != background).count();
    assert!(drawn > 1000, "only {drawn} drawn pixels");
    assert!(
        drawn < px.len() / 2,
        "{drawn} drawn pixels: background not dominant"
    );
    let mut colours: Vec<[u8; 3]> = px.clone();
    colours.sort_unstable();
    colours.dedup();
    colours.len()
}

fn chart(kind: Kind, log_y: bool) -> Chart<'static> {
    Chart {
        title: "Prediction error per step",
        x_label: "prediction step",
        y_label: "MSE",
        log_y,
        kind,
    }
}

#[test]
fn lines_chart_with_several_series() {
    let dir = tmp_dir("lines");
    let a: Vec<(f64, f64)> = (1..=100)
        .map(|k| (k as f64, 1e-4 * (k as f64).powf(1.5)))
        .collect();
    let b: Vec<(f64, f64)> = (1..=100)
        .map(|k| (k as f64, 2e-3 * (k as f64).sqrt()))
        .collect();
    let c: Vec<(f64, f64)> = (1..=100)
        .map(|k| (k as f64, 0.05 + 1e-3 * k as f64))
        .collect();
    let series = [
        Series {
            name: "koopman",
            points: &a,
        },
        Series {
            name: "mlp",
            points: &b,
        },
        Series {
            name: "linear (dmd)",
            points: &c,
        },
    ];
    for log_y in [false, true] {
        let path = dir.join(format!("err_log{log_y}.png"));
        write_png(&path, &chart(Kind::Lines, log_y), &series, None).unwrap();
        // Background, black ink, grid grey and at least the three series colours.
        assert!(check_image(&path) >= 6);
        assert!(!dir.join(format!("err_log{log_y}.png.tmp")).exists());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn points_chart_with_unit_circle() {
    let dir = tmp_dir("points");
    let eig: Vec<(f64, f64)> = (0..24)
        .map(|k| {
            let t = k as f64 * 0.26;
            let r = 0.6 + 0.4 * (k as f64 / 24.0);
            (r * t.cos(), r * t.sin())
        })
        .collect();
    let series = [Series {
        name: "eigenvalues",
        points: &eig,
    }];
    let chart = Chart {
        title: "Koopman eigenvalues",
        x_label: "Re",
        y_label: "Im",
        log_y: false,
        kind: Kind::Points,
    };
    let path = dir.join("eig.png");
    write_png(&path, &chart, &series, Some((0.0, 0.0, 1.0))).unwrap();
    assert!(check_image(&path) >= 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn degenerate_inputs_do_not_panic() {
    let dir = tmp_dir("degenerate");
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    let empty: [(f64, f64); 0] = [];
    let single = [(3.0, 0.5)];
    let flat = [(1.0, 2.0), (2.0, 2.0), (3.0, 2.0)];
    let zeros = [(0.0, 0.0), (0.0, 0.0)];
    let bad = [
        (nan, 1.0),
        (1.0, nan),
        (inf, 1.0),
        (2.0, -inf),
        (3.0, 1e308),
        (4.0, 2.0),
    ];
    let all_bad = [(nan, nan), (inf, -inf)];
    let non_positive = [
        (1.0, 0.0),
        (2.0, -1.0),
        (3.0, 1e-3),
        (4.0, -5.0),
        (5.0, 1e-2),
    ];
    let all_non_positive = [(1.0, 0.0), (2.0, -1.0)];
    let tiny_span = [(1.0, 1.0), (2.0, 1.0 + 1e-15)];
    let huge = [(-1e300, -1e300), (1e300, 1e300)];
    let cases: [&[(f64, f64)]; 11] = [
        &empty,
        &single,
        &flat,
        &zeros,
        &bad,
        &all_bad,
        &non_positive,
        &all_non_positive,
        &tiny_span,
        &huge,
        &flat,
    ];
    let mut n = 0;
    for (i, pts) in cases.iter().enumerate() {
        for kind in [Kind::Lines, Kind::Points] {
            for log_y in [false, true] {
                for circle in [None, Some((0.0, 0.0, 1.0))] {
                    let series = [
                        Series {
                            name: "s",
                            points: pts,
                        },
                        Series {
                            name: "",
                            points: &single,
                        },
                    ];
                    for series in [&series[..], &series[..1]] {
                        let path = dir.join(format!("case{i}_{n}.png"));
                        n += 1;
                        let c = Chart {
                            title: "",
                            x_label: "",
                            y_label: "x\u{e9}\u{3bb}",
                            log_y,
                            kind,
                        };
                        write_png(&path, &c, series, circle).unwrap();
                        let (w, h, px) = decode(&path);
                        assert_eq!((w, h), (WIDTH, HEIGHT));
                        // The axes frame is always drawn.
                        assert!(px.iter().any(|&p| p != px[0]));
                    }
                }
            }
        }
    }
    // No series at all, and circles that are invalid or give no valid point on a log axis.
    for (k, circle) in [
        (nan, 0.0, 1.0),
        (0.0, 0.0, -1.0),
        (0.0, inf, 1.0),
        (0.0, -5.0, 1.0),
    ]
    .into_iter()
    .enumerate()
    {
        for log_y in [false, true] {
            let path = dir.join(format!("nothing_{k}_{log_y}.png"));
            write_png(&path, &chart(Kind::Points, log_y), &[], Some(circle)).unwrap();
            assert_eq!(decode(&path).0, WIDTH);
        }
    }
    // Many series and long names: the legend is truncated to fit, colours cycle.
    let many: Vec<Vec<(f64, f64)>> = (0..40)
        .map(|k| vec![(0.0, k as f64), (1.0, k as f64 + 1.0)])
        .collect();
    let names: Vec<String> = (0..40)
        .map(|k| format!("a very long series name number {k}"))
        .collect();
    let series: Vec<Series> = many
        .iter()
        .zip(&names)
        .map(|(p, name)| Series { name, points: p })
        .collect();
    let path = dir.join("many.png");
    write_png(&path, &chart(Kind::Lines, false), &series, None).unwrap();
    check_image(&path);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn io_errors_are_reported() {
    let dir = tmp_dir("ioerr");
    let missing = dir.join("no_such_dir").join("x.png");
    let err = write_png(&missing, &chart(Kind::Lines, false), &[], None);
    assert!(err.is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn svg_needs_no_font_and_holds_the_text() {
    let dir = tmp_dir("svg");
    let a: Vec<(f64, f64)> = (1..=50).map(|k| (k as f64, 1e-3 * k as f64)).collect();
    let series = [Series {
        name: "koopman",
        points: &a,
    }];
    let path = dir.join("err.svg");
    koopman::util::plot::write_svg(&path, &chart(Kind::Lines, true), &series, None).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("<svg"), "{}", &text[..text.len().min(200)]);
    for s in [
        "koopman",
        "prediction step",
        "MSE",
        "Prediction error per step",
    ] {
        assert!(text.contains(s), "missing {s:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The embedded font draws text: a title adds ink.
#[test]
fn text_is_drawn_with_the_embedded_font() {
    let pts = [(0.0, 1.0), (1.0, 2.0)];
    let series = [Series {
        name: "",
        points: &pts,
    }];
    let ink = |title: &str| {
        let c = Chart {
            title,
            x_label: "",
            y_label: "",
            log_y: false,
            kind: Kind::Lines,
        };
        let bytes = koopman::util::plot::encode_png(&c, &series, None).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        buf.iter().filter(|&&b| b < 128).count()
    };
    assert!(ink("A TITLE WITH INK") > ink("") + 200);
}

/// A band is filled in a pale shade of its series' colour under the line; bad band points are
/// skipped (they split the band) and never panic.
#[test]
fn bands_are_shaded_and_bad_points_skipped() {
    use koopman::util::plot::{write_png_bands, Band};
    let dir = tmp_dir("bands");
    let line: Vec<(f64, f64)> = (0..=20).map(|k| (k as f64, (k as f64).sqrt())).collect();
    let band: Vec<(f64, f64, f64)> = line.iter().map(|&(x, y)| (x, y - 0.5, y + 0.5)).collect();
    let series = [Series {
        name: "agent",
        points: &line,
    }];
    let plain = dir.join("plain.png");
    write_png_bands(&plain, &chart(Kind::Lines, false), &series, &[]).unwrap();
    let shaded = dir.join("shaded.png");
    let bands = [Band {
        series: 0,
        points: &band,
    }];
    write_png_bands(&shaded, &chart(Kind::Lines, false), &series, &bands).unwrap();
    check_image(&shaded);
    // tab10 blue (31, 119, 180) at 20% over white.
    let pale = |p: &[u8; 3]| p[2] > 230 && p[0] > 190 && p[0] < 225 && p[1] > 215 && p[1] < 240;
    let count = |path: &Path| decode(path).2.iter().filter(|p| pale(p)).count();
    assert!(
        count(&shaded) > count(&plain) + 2000,
        "{} vs {}",
        count(&shaded),
        count(&plain)
    );
    // NaN, infinite and log-axis-invalid bounds, and a series index past the end.
    let bad = [
        (0.0, 0.1, 1.0),
        (1.0, f64::NAN, 2.0),
        (2.0, -1.0, f64::INFINITY),
        (3.0, 0.5, 3.0),
        (4.0, 1.0, 3.0),
    ];
    for log_y in [false, true] {
        let bands = [Band {
            series: 7,
            points: &bad,
        }];
        let path = dir.join(format!("bad_{log_y}.png"));
        write_png_bands(&path, &chart(Kind::Lines, log_y), &series, &bands).unwrap();
        assert_eq!(decode(&path).0, WIDTH);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
