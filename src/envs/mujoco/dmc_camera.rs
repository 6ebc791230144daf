//! A dm_control task's camera for pixel agents: DMC's render quality (what the pixel-based DMC
//! literature trains on), 84 × 84, the camera DrQ uses for the task.
use super::render::{Quality, Renderer, PIXELS};
use super::DmcTask;
use crate::envs::{Camera, Env};

pub struct DmcCamera {
    task: Box<dyn DmcTask>,
    renderer: Renderer,
}

impl DmcCamera {
    pub fn new(task: Box<dyn DmcTask>) -> Result<Self, String> {
        let renderer = Renderer::new(
            task.sim(),
            task.pixel_camera(),
            PIXELS,
            PIXELS,
            Quality::Dmc,
        )?;
        Ok(DmcCamera { task, renderer })
    }
}

impl Camera for DmcCamera {
    fn env(&mut self) -> &mut dyn Env {
        &mut *self.task
    }
    fn env_ref(&self) -> &dyn Env {
        &*self.task
    }
    fn side(&self) -> usize {
        PIXELS
    }
    fn frame(&mut self) -> Result<&[u8], String> {
        self.renderer.render(self.task.sim_mut())
    }
}
