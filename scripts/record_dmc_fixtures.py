#!/usr/bin/env python3
"""Records the dm_control cheetah-run and walker-walk trajectories that tests/mujoco_dmc.rs
replays in Rust.

Pinned: dm_control==1.0.50, mujoco==3.17.0 (the library the `mujoco` feature links). Run in a venv:

    python3 -m venv target/dmc-venv
    target/dmc-venv/bin/pip install dm_control==1.0.50 mujoco==3.17.0
    target/dmc-venv/bin/python scripts/record_dmc_fixtures.py

No RNG parity is needed: the task is reset with a fixed seed (dm_control's own initial-state
randomisation, incl. cheetah's 200 settling steps), its qpos/qvel are then re-applied inside
`physics.reset_context()` (mj_resetData, write, mj_forward) exactly as the Rust `reset_to` does, and
fixed float32-representable actions in ±1.2 (so MuJoCo's ctrlrange clamp is exercised) are passed
as float64. Floats are stored as the hex of their IEEE-754 bits (exact).
"""
import json
import struct
import sys
from pathlib import Path

import dm_control
import mujoco
import numpy as np
from dm_control import suite

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
STEPS = 100
TASKS = {
    ("cheetah", "run"): "dmc_cheetah_run.json",
    ("walker", "walk"): "dmc_walker_walk.json",
}


def bits(xs):
    return [format(struct.unpack("<Q", struct.pack("<d", float(x)))[0], "016x") for x in xs]


def flat(obs):
    return np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in obs.values()])


def record(domain, task, out):
    env = suite.load(domain, task, task_kwargs={"random": 0})
    env.reset()
    physics = env.physics
    qpos0 = physics.data.qpos.copy()
    qvel0 = physics.data.qvel.copy()
    with physics.reset_context():
        physics.data.qpos[:] = qpos0
        physics.data.qvel[:] = qvel0
    nu = env.action_spec().shape[0]
    actions = np.random.default_rng(4321).uniform(-1.2, 1.2, (STEPS, nu))
    actions = actions.astype(np.float32).astype(np.float64)
    steps = []
    for a in actions:
        ts = env.step(a)
        assert not ts.last()
        steps.append(
            {
                "action": bits(a),
                "obs": bits(flat(ts.observation)),
                "reward": bits([ts.reward])[0],
                "qpos": bits(physics.data.qpos),
                "qvel": bits(physics.data.qvel),
            }
        )
    fixture = {
        "env": f"{domain}-{task}",
        "dm_control": dm_control.__version__ if hasattr(dm_control, "__version__") else "1.0.50",
        "mujoco": mujoco.__version__,
        "control_timestep": env.control_timestep(),
        "qpos0": bits(qpos0),
        "qvel0": bits(qvel0),
        "steps": steps,
    }
    out.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    rewards = [struct.unpack("<d", struct.pack("<Q", int(s["reward"], 16)))[0] for s in steps]
    print(f"wrote {out} ({out.stat().st_size} bytes); dt {env.control_timestep()}, "
          f"reward min {min(rewards):.4g} max {max(rewards):.4g}, "
          f"nonzero {sum(r > 0 for r in rewards)}/{STEPS}", file=sys.stderr)


def main():
    assert mujoco.__version__ == "3.17.0", mujoco.__version__
    for (domain, task), name in TASKS.items():
        record(domain, task, DATA / name)


if __name__ == "__main__":
    main()
