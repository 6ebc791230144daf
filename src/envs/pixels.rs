//! Pixel observations (DrQ / SAC-AE's DMC setting): a task seen through a camera, with its action
//! repeat inside (one frame per agent step, as `dmc2gym` renders) and the last `frames` frames
//! stacked (DrQ's `FrameStack`: a reset fills the stack with the first frame).
//!
//! An observation is `frames × 3 × side × side` values, channels-first (CHW per frame, oldest
//! frame first), each an integer 0–255 as f32: the encoder scales them, and the replay buffer
//! stores them as bytes.
use super::{Env, Spec};

/// A task that can draw its current state as an RGB frame.
pub trait Camera: Send {
    /// The task (None once a failure has lost it).
    fn env(&mut self) -> Option<&mut dyn Env>;
    fn env_ref(&self) -> Option<&dyn Env>;
    /// Side of the square frames.
    fn side(&self) -> usize;
    /// The current state's frame: `side · side · 3` bytes, row-major RGB (HWC).
    fn frame(&mut self) -> Result<&[u8], String>;
}

pub struct PixelEnv {
    cam: Box<dyn Camera>,
    name: &'static str,
    act_dim: usize,
    repeat: usize,
    frames: usize,
    /// The stacked observation, oldest frame first.
    stack: Vec<f32>,
    /// The wrapped task's own observation (not shown to the agent).
    state: Vec<f32>,
    /// A rendering failure since the last [`Env::take_error`]; its frames are black.
    error: Option<String>,
}

impl PixelEnv {
    /// `cam`'s task with `repeat` env steps per agent step and `frames` stacked frames.
    pub fn new(cam: Box<dyn Camera>, repeat: usize, frames: usize) -> Result<Self, String> {
        if repeat == 0 || frames == 0 {
            return Err(format!(
                "pixels: action repeat {repeat} and frame stack {frames} must both be ≥ 1"
            ));
        }
        let side = cam.side();
        let env = cam
            .env_ref()
            .ok_or_else(|| "pixels: the camera has no task".to_string())?;
        let (name, spec) = (env.name(), env.spec());
        let state = vec![0.0; spec.obs_dim];
        Ok(PixelEnv {
            name,
            act_dim: spec.act_dim,
            stack: vec![0.0; frames * 3 * side * side],
            state,
            cam,
            repeat,
            frames,
            error: None,
        })
    }

    pub fn side(&self) -> usize {
        self.cam.side()
    }

    fn lost(&mut self) {
        self.error
            .get_or_insert_with(|| "pixels: the camera lost its task".into());
    }

    /// Renders the current state into the newest slot of the stack (`fill`: into every slot).
    fn push_frame(&mut self, fill: bool) {
        let per = self.stack.len() / self.frames;
        let plane = per / 3;
        if !fill {
            self.stack.copy_within(per.., 0);
        }
        let newest = self.stack.len() - per;
        match self.cam.frame() {
            Ok(rgb) if rgb.len() == per => {
                let dst = &mut self.stack[newest..];
                for (p, px) in rgb.chunks_exact(3).enumerate() {
                    for (ch, &v) in px.iter().enumerate() {
                        dst[ch * plane + p] = v as f32;
                    }
                }
            }
            Ok(rgb) => {
                self.stack[newest..].fill(0.0);
                self.error.get_or_insert(format!(
                    "pixels: the camera gave {} bytes, a {}×{} RGB frame has {per}",
                    rgb.len(),
                    self.cam.side(),
                    self.cam.side()
                ));
            }
            Err(e) => {
                self.stack[newest..].fill(0.0);
                self.error.get_or_insert(format!("pixels: {e}"));
            }
        }
        if fill {
            let (first, rest) = self.stack.split_at_mut(newest);
            for slot in first.chunks_exact_mut(per) {
                slot.copy_from_slice(&rest[..per]);
            }
        }
    }
}

impl Env for PixelEnv {
    fn name(&self) -> &'static str {
        self.name
    }
    fn spec(&self) -> Spec {
        Spec {
            obs_dim: self.stack.len(),
            act_dim: self.act_dim,
        }
    }
    fn reset_into(&mut self, seed: u64, obs: &mut [f32]) {
        match self.cam.env() {
            Some(env) => env.reset_into(seed, &mut self.state),
            None => self.lost(),
        }
        self.push_frame(true);
        obs.copy_from_slice(&self.stack);
    }
    /// `repeat` env steps of `action` (fewer when the episode ends), then one frame.
    fn step_into(&mut self, action: &[f32], obs: &mut [f32]) -> (f32, bool, bool) {
        let mut total = 0.0;
        let mut end = (false, false);
        for _ in 0..self.repeat {
            let Some(env) = self.cam.env() else {
                self.lost();
                end = (false, true);
                break;
            };
            let (r, term, trunc) = env.step_into(action, &mut self.state);
            total += r;
            if term || trunc {
                end = (term, trunc);
                break;
            }
        }
        self.push_frame(false);
        obs.copy_from_slice(&self.stack);
        (total, end.0, end.1)
    }
    fn take_error(&mut self) -> Option<String> {
        self.error.take()
    }
}

/// `task` seen in pixels: a dm_control task on MuJoCo (feature `mujoco`) drawn at `side` ×
/// `side` (DrQ's 84) by its DrQ camera, `repeat` env steps per frame, `frames` frames stacked.
pub fn make_pixels(
    task: &str,
    repeat: usize,
    frames: usize,
    side: usize,
) -> Result<PixelEnv, String> {
    #[cfg(feature = "mujoco")]
    {
        let t = super::mujoco::make_dmc(task).map_err(|e| format!("pixels: {e}"))?;
        let cam = super::mujoco::DmcCamera::new(t, side).map_err(|e| format!("pixels: {e}"))?;
        PixelEnv::new(Box::new(cam), repeat, frames)
    }
    #[cfg(not(feature = "mujoco"))]
    {
        let _ = (repeat, frames, side);
        Err(not_drawable(task))
    }
}

/// Whether [`make_pixels`] knows `task` (without opening a renderer): the error it would give
/// for an unknown task or a build without MuJoCo.
pub fn check_pixel_task(task: &str) -> Result<(), String> {
    #[cfg(feature = "mujoco")]
    {
        super::mujoco::make_dmc(task)
            .map(|_| ())
            .map_err(|e| format!("pixels: {e}"))
    }
    #[cfg(not(feature = "mujoco"))]
    {
        Err(not_drawable(task))
    }
}

#[cfg(not(feature = "mujoco"))]
fn not_drawable(task: &str) -> String {
    format!(
        "pixels: task '{task}' cannot be drawn: pixel observations render the dm_control tasks \
         on MuJoCo; rebuild with --features mujoco"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envs::PointMass;

    /// point_mass-easy "drawn" as a frame whose every byte is the step count.
    struct Counter {
        env: PointMass,
        steps: u8,
        buf: Vec<u8>,
        fail: bool,
    }
    impl Camera for Counter {
        fn env(&mut self) -> Option<&mut dyn Env> {
            self.steps = self.steps.wrapping_add(1);
            Some(&mut self.env)
        }
        fn env_ref(&self) -> Option<&dyn Env> {
            Some(&self.env)
        }
        fn side(&self) -> usize {
            2
        }
        fn frame(&mut self) -> Result<&[u8], String> {
            if self.fail {
                return Err("no display".into());
            }
            self.buf = (0..12).map(|i| self.steps * 10 + (i % 3) as u8).collect();
            Ok(&self.buf)
        }
    }

    fn env(fail: bool) -> PixelEnv {
        let cam = Counter {
            env: PointMass::new(),
            steps: 0,
            buf: vec![],
            fail,
        };
        PixelEnv::new(Box::new(cam), 3, 2).unwrap()
    }

    #[test]
    fn stacks_channels_first_frames_oldest_first_one_per_agent_step() {
        let mut e = env(false);
        assert_eq!(e.spec().obs_dim, 2 * 3 * 4);
        let mut obs = vec![0.0; 24];
        e.reset_into(0, &mut obs);
        // One env() call for the reset: every byte 10 + channel, both slots the same frame.
        let frame1: Vec<f32> = [10.0, 11.0, 12.0].iter().flat_map(|&v| [v; 4]).collect();
        assert_eq!(&obs[..12], &frame1[..]);
        assert_eq!(&obs[12..], &frame1[..]);
        e.step_into(&[0.0, 0.0], &mut obs);
        // Three env steps (repeat 3), then one frame: step count 4.
        assert_eq!(&obs[..12], &frame1[..]);
        assert_eq!(obs[12], 40.0);
        assert_eq!(obs[16], 41.0);
        assert_eq!(obs[20], 42.0);
        assert!(e.take_error().is_none());
    }

    #[test]
    fn a_failed_frame_is_black_and_reported_once() {
        let mut e = env(true);
        let mut obs = vec![1.0; 24];
        e.reset_into(0, &mut obs);
        assert!(obs.iter().all(|&v| v == 0.0));
        assert!(e.take_error().unwrap().contains("no display"));
        assert!(e.take_error().is_none());
        assert!(PixelEnv::new(
            Box::new(Counter {
                env: PointMass::new(),
                steps: 0,
                buf: vec![],
                fail: false
            }),
            0,
            3
        )
        .is_err());
    }
}
