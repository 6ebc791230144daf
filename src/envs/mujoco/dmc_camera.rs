//! A dm_control task's camera for pixel agents: DMC's render quality (what the pixel-based DMC
//! literature trains on), square frames (84 × 84 in DrQ), the camera DrQ uses for the task.
//!
//! MuJoCo's renderer holds an EGL context, which belongs to the thread that made it (it is not
//! `Send`), while an environment may move between threads. So the renderer lives on a thread of
//! its own, made there, and the task is lent to it for each frame (a pointer sent both ways).
use super::render::{Quality, Renderer};
use super::DmcTask;
use crate::envs::{Camera, Env};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::JoinHandle;

type Lent = (Box<dyn DmcTask>, Result<Vec<u8>, String>);

pub struct DmcCamera {
    /// The task; away only while `frame` waits for the render thread.
    task: Option<Box<dyn DmcTask>>,
    to_renderer: Option<Sender<Box<dyn DmcTask>>>,
    from_renderer: Receiver<Lent>,
    worker: Option<JoinHandle<()>>,
    frame: Vec<u8>,
    side: usize,
}

impl DmcCamera {
    /// `task` drawn in frames of `side` × `side` pixels.
    pub fn new(task: Box<dyn DmcTask>, side: usize) -> Result<Self, String> {
        let (to_renderer, inbox) = channel::<Box<dyn DmcTask>>();
        let (outbox, from_renderer) = channel::<Lent>();
        let worker = std::thread::Builder::new()
            .name("koopman-render".into())
            .spawn(move || render_loop(inbox, outbox, side))
            .map_err(|e| format!("could not start the render thread: {e}"))?;
        let mut cam = DmcCamera {
            task: Some(task),
            to_renderer: Some(to_renderer),
            from_renderer,
            worker: Some(worker),
            frame: Vec::new(),
            side,
        };
        // The first frame makes the renderer; its failure (no EGL) is the constructor's.
        cam.frame()?;
        Ok(cam)
    }
}

/// Makes the renderer from the first task it is lent, then draws each task lent to it and sends
/// it back with its frame (or the error), until the camera hangs up.
fn render_loop(inbox: Receiver<Box<dyn DmcTask>>, outbox: Sender<Lent>, side: usize) {
    let mut renderer: Option<Renderer> = None;
    while let Ok(mut task) = inbox.recv() {
        let frame = catch_unwind(AssertUnwindSafe(|| {
            if renderer.is_none() {
                let r = Renderer::new(task.sim(), task.pixel_camera(), side, side, Quality::Dmc)?;
                renderer = Some(r);
            }
            let r = renderer.as_mut().expect("made above");
            r.render(task.sim_mut()).map(<[u8]>::to_vec)
        }))
        .unwrap_or_else(|_| Err("the renderer panicked".into()));
        if outbox.send((task, frame)).is_err() {
            return;
        }
    }
}

impl Camera for DmcCamera {
    fn env(&mut self) -> Option<&mut dyn Env> {
        self.task.as_deref_mut().map(|t| t as &mut dyn Env)
    }
    fn env_ref(&self) -> Option<&dyn Env> {
        self.task.as_deref().map(|t| t as &dyn Env)
    }
    fn side(&self) -> usize {
        self.side
    }
    fn frame(&mut self) -> Result<&[u8], String> {
        let gone = || "the render thread has stopped".to_string();
        let task = self.task.take().ok_or_else(gone)?;
        let tx = self.to_renderer.as_ref().ok_or_else(gone)?;
        tx.send(task).map_err(|_| gone())?;
        let (task, frame) = self.from_renderer.recv().map_err(|_| gone())?;
        self.task = Some(task);
        self.frame = frame?;
        Ok(&self.frame)
    }
}

impl Drop for DmcCamera {
    fn drop(&mut self) {
        // Hanging up ends the render loop; its EGL context is released on its own thread.
        self.to_renderer = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}
