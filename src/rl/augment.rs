//! Image augmentation for pixel RL: no-grad batch transforms on host f32 frames in NCHW layout
//! (e.g. a stack of 3 RGB frames: C = 9), applied to replay batches before the encoder.
//!
//! - [`random_shift`] (DrQ, SPR): each sample is padded by `pad` pixels that repeat its border
//!   (replicate padding) and cropped back to its size at a random offset in `0..=2·pad` per axis,
//!   i.e. shifted by up to ±`pad` pixels. The padded image is never built: an output pixel reads
//!   the input at its shifted position clamped to the image.
//! - [`intensity`] (SPR): each sample is scaled by 1 + σ·clip(ε, −2, 2), ε ~ N(0, 1), σ = 0.05.
//!
//! Every draw comes from the caller's [`Rng`], one shift or one ε per sample in sample order, so a
//! seed fixes the result; nothing allocates.
use crate::util::rng::Rng;
use crate::{Error, Result};

/// The padding of DrQ's and SPR's random shift (84 × 84 frames).
pub const SHIFT_PAD: usize = 4;
/// σ of SPR's intensity jitter.
pub const INTENSITY_SCALE: f32 = 0.05;

/// The layout of a batch of frames: `n` samples of `c` channels of `h` × `w` pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frames {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
}

impl Frames {
    pub fn new(n: usize, c: usize, h: usize, w: usize) -> Self {
        Frames { n, c, h, w }
    }
    /// Floats of one sample, or None when the size overflows.
    fn sample_len(&self) -> Option<usize> {
        self.c.checked_mul(self.h)?.checked_mul(self.w)
    }
    /// Floats of the whole batch, or None when the size overflows.
    pub fn len(&self) -> Option<usize> {
        self.sample_len()?.checked_mul(self.n)
    }
    /// Whether the batch holds no pixel.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
    /// Checks that `buf` (named `what`) holds exactly this batch; returns one sample's length.
    fn check(&self, buf: usize, what: &str) -> Result<usize> {
        match (self.len(), self.sample_len()) {
            (Some(len), Some(per)) if len == buf => Ok(per),
            (Some(len), _) => Err(Error::Shape(format!(
                "augment: {what} holds {buf} floats, frames {self:?} need {len}"
            ))),
            _ => Err(Error::Shape(format!("augment: frames {self:?} overflow"))),
        }
    }
}

/// dst = src with every sample shifted by (`dy`, `dx`) pixels: dst[.., i, j] =
/// src[.., clamp(i + dy), clamp(j + dx)], the border repeated where the shift reaches past it.
/// (0, 0) copies the input.
pub fn shift(src: &[f32], dst: &mut [f32], f: Frames, dy: isize, dx: isize) -> Result<()> {
    f.check(src.len(), "source")?;
    f.check(dst.len(), "output")?;
    if f.h == 0 || f.w == 0 {
        return Ok(());
    }
    let clamp =
        |i: usize, d: isize, len: usize| (i as isize + d).clamp(0, len as isize - 1) as usize;
    // Output columns lo..hi read inside the row; the ones before and after repeat its ends.
    let lo = (-dx).clamp(0, f.w as isize) as usize;
    let hi = (f.w as isize - dx).clamp(lo as isize, f.w as isize) as usize;
    let plane = f.h * f.w;
    for (s, d) in src.chunks_exact(plane).zip(dst.chunks_exact_mut(plane)) {
        for (i, out) in d.chunks_exact_mut(f.w).enumerate() {
            let row = &s[clamp(i, dy, f.h) * f.w..][..f.w];
            out[..lo].fill(row[0]);
            out[hi..].fill(row[f.w - 1]);
            if lo < hi {
                let first = (lo as isize + dx) as usize;
                out[lo..hi].copy_from_slice(&row[first..first + hi - lo]);
            }
        }
    }
    Ok(())
}

/// dst = src with each sample shifted by its own random offset in −`pad`..=`pad` on each axis
/// (replicate padding by `pad`, then a random crop back to h × w).
pub fn random_shift(
    src: &[f32],
    dst: &mut [f32],
    f: Frames,
    pad: usize,
    rng: &mut Rng,
) -> Result<()> {
    let per = f.check(src.len(), "source")?;
    f.check(dst.len(), "output")?;
    if per == 0 {
        return Ok(());
    }
    let one = Frames { n: 1, ..f };
    let span = pad
        .checked_mul(2)
        .and_then(|s| s.checked_add(1))
        .ok_or_else(|| Error::Invalid(format!("augment: shift padding {pad} too large")))?;
    for (s, d) in src.chunks_exact(per).zip(dst.chunks_exact_mut(per)) {
        let dy = rng.below(span) as isize - pad as isize;
        let dx = rng.below(span) as isize - pad as isize;
        shift(s, d, one, dy, dx)?;
    }
    Ok(())
}

/// x *= 1 + `scale`·clip(ε, −2, 2) per sample, ε ~ N(0, 1), in place.
pub fn intensity(x: &mut [f32], f: Frames, scale: f32, rng: &mut Rng) -> Result<()> {
    let per = f.check(x.len(), "frames")?;
    if per == 0 {
        return Ok(());
    }
    for s in x.chunks_exact_mut(per) {
        let k = 1.0 + scale * rng.normal().clamp(-2.0, 2.0) as f32;
        s.iter_mut().for_each(|v| *v *= k);
    }
    Ok(())
}
