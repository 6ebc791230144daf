#!/usr/bin/env python3
"""Records the 84x84 frames of dm_control cheetah-run, walker-walk, acrobot-swingup,
cartpole-swingup, ball_in_cup-catch and finger-spin (camera 0) and quadruped-walk (camera 2, the one
pixel-based agents use) that tests/mujoco_render.rs renders in Rust and compares pixel for pixel.
Finger-spin's frames show its reset's model edits (target and tip sites hidden).

Pinned: dm_control==1.0.50, mujoco==3.17.0 (the library the `mujoco` feature links), rendered
headless with MUJOCO_GL=egl on Mesa's llvmpipe (Debian: libegl1 libegl-mesa0 libgl1-mesa-dri).
In the venv of scripts/record_dmc_fixtures.py:

    target/dmc-venv/bin/python scripts/record_dmc_pixels.py

As there: the task is reset with a fixed seed, its qpos/qvel re-applied inside
`physics.reset_context()` (what the Rust `reset_to` does), then fixed float32-representable actions
in +-1.2 are stepped. Quadruped's actuator ranges are not [-1, 1], so, as in
record_dmc_fixtures.py, it is recorded behind `action_scale.Wrapper(env, -1, 1)` (the Rust task
maps its actions the same way) with the actions clipped to [-1, 1]; its random reset orientation
(and the height search's result) is carried by the re-applied qpos. A frame is taken with
`physics.render(84, 84, camera_id=camera)` (DMC's pixel observation; the camera is the task's
Rust `pixel_camera()`: 2 for quadruped, else 0) before the first action and after steps 10, 30
and 60, at DMC's default quality and, in a second run, with the model's quality.shadowsize and
quality.offsamples set to 0 before the first render (the Rust `Quality::Fast`). Each task gets one
compressed .npz (20-60 KB): qpos0, qvel0, actions (float64), steps (int64, the step count at each
frame), qpos (float64, the state at each frame, to tell a physics difference from a rendering
one), frames and frames_fast (uint8, 4 x 84 x 84 x 3). Pass Rust registry names (e.g.
`quadruped-walk dmc-acrobot-swingup`) to record only those tasks; recording is deterministic
(re-running reproduces the .npz files byte for byte).
"""
import os

# Headless: EGL on whatever device is there (llvmpipe without a GPU). Set before importing.
os.environ.setdefault("MUJOCO_GL", "egl")

import sys
from pathlib import Path

import mujoco
import numpy as np
from dm_control import suite
from dm_control.suite.wrappers import action_scale

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SIZE = 84
FRAME_STEPS = [0, 10, 30, 60]
# (domain, task): (Rust registry name, fixture file, camera, actions rescaled from [-1, 1]).
TASKS = {
    ("cheetah", "run"): ("cheetah-run", "dmc_cheetah_run_pixels.npz", 0, False),
    ("walker", "walk"): ("walker-walk", "dmc_walker_walk_pixels.npz", 0, False),
    ("quadruped", "walk"): ("quadruped-walk", "dmc_quadruped_walk_pixels.npz", 2, True),
    ("acrobot", "swingup"): ("dmc-acrobot-swingup", "dmc_acrobot_swingup_pixels.npz", 0, False),
    ("cartpole", "swingup"): ("dmc-cartpole-swingup", "dmc_cartpole_swingup_pixels.npz", 0, False),
    ("ball_in_cup", "catch"): ("ball_in_cup-catch", "dmc_ball_in_cup_catch_pixels.npz", 0, False),
    ("finger", "spin"): ("finger-spin", "dmc_finger_spin_pixels.npz", 0, False),
}


def run(domain, task, camera, scaled, fast):
    env = suite.load(domain, task, task_kwargs={"random": 0})
    if scaled:
        env = action_scale.Wrapper(env, minimum=-1.0, maximum=1.0)
    env.reset()
    physics = env.physics
    if fast:
        # Read when the rendering context is made, i.e. at the first render.
        physics.model.vis.quality.shadowsize = 0
        physics.model.vis.quality.offsamples = 0
    qpos0 = physics.data.qpos.copy()
    qvel0 = physics.data.qvel.copy()
    with physics.reset_context():
        physics.data.qpos[:] = qpos0
        physics.data.qvel[:] = qvel0
    nu = env.action_spec().shape[0]
    actions = np.random.default_rng(4321).uniform(-1.2, 1.2, (max(FRAME_STEPS), nu))
    if scaled:
        actions = np.clip(actions, -1.0, 1.0)
    actions = actions.astype(np.float32).astype(np.float64)
    frames, qpos = [], []
    for t in range(max(FRAME_STEPS) + 1):
        if t in FRAME_STEPS:
            frames.append(physics.render(SIZE, SIZE, camera_id=camera))
            qpos.append(physics.data.qpos.copy())
        if t < len(actions):
            assert not env.step(actions[t]).last()
    return qpos0, qvel0, actions, np.stack(qpos), np.stack(frames).astype(np.uint8)


def record(domain, task, camera, scaled, out):
    qpos0, qvel0, actions, qpos, frames = run(domain, task, camera, scaled, fast=False)
    *_, qpos_fast, frames_fast = run(domain, task, camera, scaled, fast=True)
    assert (qpos_fast == qpos).all()
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        qpos0=qpos0,
        qvel0=qvel0,
        actions=actions,
        steps=np.asarray(FRAME_STEPS, dtype=np.int64),
        qpos=qpos,
        frames=frames,
        frames_fast=frames_fast,
    )
    os.replace(tmp, out)
    print(f"wrote {out} ({out.stat().st_size} bytes); frames {frames.shape}, "
          f"mean {frames.mean():.2f}, fast differs in {(frames != frames_fast).mean():.1%} of bytes", file=sys.stderr)


def main():
    assert mujoco.__version__ == "3.17.0", mujoco.__version__
    only = set(sys.argv[1:])
    for (domain, task), (name, file, camera, scaled) in TASKS.items():
        if not only or name in only:
            record(domain, task, camera, scaled, DATA / file)
    sys.stderr.flush()
    # dm_control frees its EGL context in atexit hooks after EGL itself is torn down, which
    # prints harmless EGL_BAD_DISPLAY tracebacks; everything is written, so leave directly.
    os._exit(0)


if __name__ == "__main__":
    main()
