#!/usr/bin/env python3
"""Records the Gymnasium Hopper-v5, Walker2d-v5 and HalfCheetah-v5 trajectories that
tests/mujoco_envs.rs replays in Rust.

Pinned: gymnasium==1.4.0, mujoco==3.17.0 (the library the `mujoco` feature links). Run in a venv:

    python3 -m venv target/gym-venv
    target/gym-venv/bin/pip install gymnasium==1.4.0 mujoco==3.17.0 imageio packaging
    target/gym-venv/bin/python scripts/record_gym_fixtures.py

No RNG parity is needed: after `reset`, the start state is set explicitly with `set_state`, and the
actions are fixed float32-representable values passed as float64 (so the control cost is computed
in float64, as in Rust). The unwrapped env keeps stepping after termination, so the Hopper and
Walker2d fixtures hold both healthy and unhealthy steps (HalfCheetah never terminates). Floats are stored as the hex of their IEEE-754 bits (exact).
"""
import json
import struct
import sys
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
# Gymnasium id -> (fixture file, steps). The 6-actuator models get fewer steps so that each file
# stays under 150 KB.
ENVS = {
    "Hopper-v5": ("gym_hopper_v5.json", 200),
    "Walker2d-v5": ("gym_walker2d_v5.json", 160),
    "HalfCheetah-v5": ("gym_half_cheetah_v5.json", 160),
}


def bits(xs):
    return [format(struct.unpack("<Q", struct.pack("<d", float(x)))[0], "016x") for x in xs]


def record(env_id, out, n_steps):
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    i = np.arange(env.model.nq)
    qpos0 = env.init_qpos + 0.01 * np.sin(1.0 + i)
    qvel0 = env.init_qvel + 0.1 * np.cos(2.0 + i)
    env.set_state(qpos0, qvel0)
    actions = np.random.default_rng(1234).uniform(-1, 1, (n_steps, env.model.nu))
    actions = actions.astype(np.float32).astype(np.float64)
    steps = []
    for a in actions:
        obs, reward, terminated, truncated, _ = env.step(a)
        assert not truncated
        steps.append(
            {
                "action": bits(a),
                "obs": bits(obs),
                "reward": bits([reward])[0],
                "terminated": bool(terminated),
                "qpos": bits(env.data.qpos),
                "qvel": bits(env.data.qvel),
            }
        )
    fixture = {
        "env": env_id,
        "gymnasium": gym.__version__,
        "mujoco": mujoco.__version__,
        "qpos0": bits(qpos0),
        "qvel0": bits(qvel0),
        "steps": steps,
    }
    out.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    n_term = sum(s["terminated"] for s in steps)
    first = next((k for k, s in enumerate(steps) if s["terminated"]), None)
    print(f"wrote {out} ({out.stat().st_size} bytes); {n_term}/{n_steps} terminated, first at {first}",
          file=sys.stderr)


def main():
    assert gym.__version__ == "1.4.0", gym.__version__
    assert mujoco.__version__ == "3.17.0", mujoco.__version__
    for env_id, (name, n_steps) in ENVS.items():
        record(env_id, DATA / name, n_steps)


if __name__ == "__main__":
    main()
