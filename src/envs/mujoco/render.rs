//! Headless RGB frames of a simulation, as dm_control's `physics.render(h, w, camera_id)` draws
//! them: MuJoCo's own OpenGL renderer (`mjv_updateScene` + `mjr_render`) into an EGL pbuffer, so
//! no display is needed; without a GPU, Mesa's llvmpipe rasterises on the CPU.
//!
//! [`Quality::Dmc`] uses the model's visual settings as they are: DMC's `shadowsize` 2048 and
//! `offsamples` 4, what the pixel-based DMC literature renders with. [`Quality::Fast`] sets both
//! to 0 (no shadows, no anti-aliasing): several times faster on a CPU rasteriser, but the images
//! differ from the literature's. With the same libmujoco and Mesa, frames at either setting equal
//! dm_control 1.0.50's bit for bit (`tests/mujoco_render.rs`).

use super::Sim;
use mujoco_rs::prelude::{MjvCamera, RendererError};
use mujoco_rs::renderer::MjRenderer;

/// Side of the square frames pixel-based DMC agents see.
pub const PIXELS: usize = 84;

/// What to install when EGL cannot open a context (Debian/Ubuntu package names).
pub const EGL_HINT: &str = "install libegl1 libegl-mesa0 libgl1-mesa-dri";

/// Render quality; see the module documentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Quality {
    /// The model's own settings (DMC: 2048² shadow map, 4× multisampling).
    #[default]
    Dmc,
    /// No shadow map and no multisampling.
    Fast,
}

/// An offscreen renderer for one model and fixed camera; frames are `height × width × 3` RGB u8,
/// row-major from the top-left (HWC, as NumPy's frames).
pub struct Renderer {
    inner: MjRenderer,
    camera: usize,
    width: usize,
    height: usize,
}

impl Renderer {
    /// Opens an EGL context and MuJoCo's rendering context for `sim`'s model, drawing from fixed
    /// camera `camera` (an index into the model's cameras).
    pub fn new(
        sim: &Sim,
        camera: usize,
        width: usize,
        height: usize,
        quality: Quality,
    ) -> Result<Self, String> {
        // MuJoCo sizes the shadow map and multisampling when it creates the rendering context,
        // from the model it is given: a copy with the fast settings leaves the physics model be.
        let fast;
        let model = match quality {
            Quality::Dmc => sim.model(),
            Quality::Fast => {
                let mut m = sim.model().clone();
                m.vis_mut().quality.shadowsize = 0;
                m.vis_mut().quality.offsamples = 0;
                fast = m;
                &fast
            }
        };
        let ncam = model.ffi().ncam as usize;
        if camera >= ncam {
            return Err(format!(
                "camera {camera} does not exist (the model has {ncam})"
            ));
        }
        // MuJoCo draws into the model's offscreen buffer; a larger frame would read past it.
        let global = &model.vis().global;
        let (max_w, max_h) = (global.offwidth as usize, global.offheight as usize);
        if width == 0 || height == 0 || width > max_w || height > max_h {
            return Err(format!(
                "frame {width}x{height} must be non-empty and fit the model's offscreen buffer \
                 {max_w}x{max_h}"
            ));
        }
        let inner = MjRenderer::builder()
            .width(width as u32)
            .height(height as u32)
            .camera(MjvCamera::new_fixed(camera))
            .build(model)
            .map_err(|e| match e {
                RendererError::GlutinError(g) => format!("EGL not available ({g}): {EGL_HINT}"),
                other => format!("could not create the renderer: {other}"),
            })?;
        Ok(Self {
            inner,
            camera,
            width,
            height,
        })
    }

    /// `(width, height)` of the frames.
    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// Renders `sim`'s current state (its position-dependent quantities, as `mj_forward` leaves
    /// them) and returns the frame, `height · width · 3` bytes. `sim` should hold the model the
    /// renderer was made for (another model makes MuJoCo rebuild its rendering context).
    pub fn render(&mut self, sim: &mut Sim) -> Result<&[u8], String> {
        // mujoco-rs panics on a fixed camera the model lacks.
        let ncam = sim.model().ffi().ncam as usize;
        if self.camera >= ncam {
            return Err(format!(
                "camera {} does not exist (the model has {ncam})",
                self.camera
            ));
        }
        self.inner
            .sync_data(sim.data_mut())
            .map_err(|e| format!("rendering failed: {e} ({e:?})"))?;
        self.inner
            .render()
            .map_err(|e| format!("rendering failed: {e} ({e:?})"))?;
        self.inner
            .rgb_flat()
            .ok_or_else(|| "rendering failed: no RGB buffer".to_string())
    }
}
