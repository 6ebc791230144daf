//! The pixel augmentations (`rl::augment`): shapes, per-sample randomness, seeded determinism,
//! the identity shift, replicate padding at the border, the intensity factor's range, and no
//! allocation.
use koopman::rl::augment::{intensity, random_shift, shift, Frames, INTENSITY_SCALE, SHIFT_PAD};
use koopman::util::rng::Rng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts the allocations of the calling thread (tests run in parallel threads).
struct Counting;
thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> usize {
    ALLOCS.with(|c| c.get())
}

fn frames(f: Frames, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..f.len().unwrap()).map(|_| r.normal() as f32).collect()
}

/// The shift (dy, dx) in −pad..=pad that maps sample `s` of `src` onto the same sample of `out`.
fn find_shift(src: &[f32], out: &[f32], f: Frames, s: usize, pad: isize) -> Option<(isize, isize)> {
    let one = Frames { n: 1, ..f };
    let per = f.c * f.h * f.w;
    let (a, b) = (&src[s * per..][..per], &out[s * per..][..per]);
    let mut buf = vec![0.0; per];
    let mut found = None;
    for dy in -pad..=pad {
        for dx in -pad..=pad {
            shift(a, &mut buf, one, dy, dx).unwrap();
            if buf == b {
                assert!(found.is_none(), "two shifts match sample {s}");
                found = Some((dy, dx));
            }
        }
    }
    found
}

#[test]
fn shapes_are_checked() {
    let f = Frames::new(2, 3, 5, 4);
    let src = frames(f, 1);
    let mut dst = vec![0.0; src.len()];
    let mut short = vec![0.0; src.len() - 1];
    let r = &mut Rng::new(0);
    assert!(random_shift(&src, &mut dst, f, 4, r).is_ok());
    let e = random_shift(&src, &mut short, f, 4, r)
        .unwrap_err()
        .to_string();
    assert!(e.contains("output") && e.contains("119"), "{e}");
    assert!(random_shift(&src[1..], &mut dst, f, 4, r).is_err());
    assert!(shift(&src, &mut short, f, 0, 0).is_err());
    assert!(intensity(&mut short, f, INTENSITY_SCALE, r).is_err());
    let huge = Frames::new(usize::MAX, 2, 2, 2);
    assert!(intensity(&mut dst, huge, INTENSITY_SCALE, r).is_err());
    // An empty batch is fine.
    let none = Frames::new(0, 3, 84, 84);
    assert!(random_shift(&[], &mut [], none, 4, r).is_ok());
}

#[test]
fn zero_shift_is_the_identity() {
    let f = Frames::new(3, 9, 12, 10);
    let src = frames(f, 2);
    let mut dst = vec![f32::NAN; src.len()];
    shift(&src, &mut dst, f, 0, 0).unwrap();
    assert_eq!(src, dst);
    // pad 0: every random shift is the zero shift.
    random_shift(&src, &mut dst, f, 0, &mut Rng::new(5)).unwrap();
    assert_eq!(src, dst);
}

#[test]
fn shift_repeats_the_border() {
    // One 3 x 4 channel, values 10·row + col.
    let f = Frames::new(1, 1, 3, 4);
    let src: Vec<f32> = (0..3)
        .flat_map(|i| (0..4).map(move |j| (10 * i + j) as f32))
        .collect();
    let mut dst = vec![0.0; 12];
    // Down-left by (1, -2): out[i][j] = src[clamp(i + 1)][clamp(j - 2)].
    shift(&src, &mut dst, f, 1, -2).unwrap();
    #[rustfmt::skip]
    let want = [
        10.0, 10.0, 10.0, 11.0,
        20.0, 20.0, 20.0, 21.0,
        20.0, 20.0, 20.0, 21.0,
    ];
    assert_eq!(dst, want);
    // Past the whole image: every pixel is the nearest corner's.
    shift(&src, &mut dst, f, -4, 4).unwrap();
    assert!(dst.iter().all(|&v| v == 3.0), "{dst:?}");
    // The crop of a replicate-padded image at offset (pad + dy, pad + dx), built explicitly.
    let f = Frames::new(1, 2, 7, 6);
    let src = frames(f, 3);
    let pad = SHIFT_PAD;
    let (hp, wp) = (f.h + 2 * pad, f.w + 2 * pad);
    let mut padded = vec![0.0; f.c * hp * wp];
    for c in 0..f.c {
        for i in 0..hp {
            for j in 0..wp {
                let si = i.saturating_sub(pad).min(f.h - 1);
                let sj = j.saturating_sub(pad).min(f.w - 1);
                padded[(c * hp + i) * wp + j] = src[(c * f.h + si) * f.w + sj];
            }
        }
    }
    let mut out = vec![0.0; src.len()];
    for (oy, ox) in [(0, 0), (8, 8), (3, 7), (4, 4), (8, 1)] {
        shift(&src, &mut out, f, oy as isize - 4, ox as isize - 4).unwrap();
        for c in 0..f.c {
            for i in 0..f.h {
                for j in 0..f.w {
                    let want = padded[(c * hp + i + oy) * wp + j + ox];
                    assert_eq!(out[(c * f.h + i) * f.w + j], want, "crop ({oy}, {ox})");
                }
            }
        }
    }
}

#[test]
fn random_shift_differs_per_sample_and_stays_in_range() {
    let f = Frames::new(16, 3, 9, 8);
    let src = frames(f, 4);
    let mut dst = vec![0.0; src.len()];
    random_shift(&src, &mut dst, f, SHIFT_PAD, &mut Rng::new(7)).unwrap();
    let shifts: Vec<(isize, isize)> = (0..f.n)
        .map(|s| find_shift(&src, &dst, f, s, SHIFT_PAD as isize).expect("a shift in range"))
        .collect();
    let distinct: std::collections::BTreeSet<_> = shifts.iter().collect();
    assert!(distinct.len() > 4, "shifts {shifts:?}");
    // Every channel of a sample moves together.
    let one = Frames { n: 1, ..f };
    let per = f.c * f.h * f.w;
    let mut buf = vec![0.0; per];
    for (s, &(dy, dx)) in shifts.iter().enumerate() {
        shift(&src[s * per..][..per], &mut buf, one, dy, dx).unwrap();
        assert_eq!(buf, dst[s * per..][..per]);
    }
}

#[test]
fn a_seed_fixes_the_augmentation() {
    let f = Frames::new(8, 9, 84, 84);
    let src = frames(f, 5);
    let run = |seed: u64| {
        let mut out = vec![0.0; src.len()];
        let r = &mut Rng::new(seed);
        random_shift(&src, &mut out, f, SHIFT_PAD, r).unwrap();
        intensity(&mut out, f, INTENSITY_SCALE, r).unwrap();
        out
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11), run(12));
}

#[test]
fn intensity_scales_each_sample_by_its_own_bounded_factor() {
    let f = Frames::new(12, 2, 4, 5);
    let src: Vec<f32> = (0..f.len().unwrap()).map(|i| 1.0 + i as f32).collect();
    let mut x = src.clone();
    intensity(&mut x, f, INTENSITY_SCALE, &mut Rng::new(9)).unwrap();
    let per = f.c * f.h * f.w;
    let mut factors = Vec::new();
    for s in 0..f.n {
        let k = x[s * per] / src[s * per];
        // 1 + 0.05·clip(ε, ±2): within [0.9, 1.1].
        assert!((0.9 - 1e-6..=1.1 + 1e-6).contains(&k), "factor {k}");
        for i in 0..per {
            let (a, b) = (x[s * per + i], src[s * per + i] * k);
            assert!((a - b).abs() <= 1e-5 * b.abs(), "sample {s} element {i}");
        }
        factors.push(k);
    }
    factors.dedup();
    assert_eq!(factors.len(), f.n, "every sample gets its own factor");
}

#[test]
fn augmentation_allocates_nothing() {
    let f = Frames::new(4, 9, 84, 84);
    let src = frames(f, 6);
    let mut out = vec![0.0; src.len()];
    let r = &mut Rng::new(1);
    let before = allocs();
    random_shift(&src, &mut out, f, SHIFT_PAD, r).unwrap();
    intensity(&mut out, f, INTENSITY_SCALE, r).unwrap();
    shift(&src, &mut out, f, 2, -3).unwrap();
    assert_eq!(allocs(), before);
}
