#!/usr/bin/env python3
"""Records the Gymnasium Hopper-v5 trajectory that tests/mujoco_envs.rs replays in Rust.

Pinned: gymnasium==1.4.0, mujoco==3.17.0 (the library the `mujoco` feature links). Run in a venv:

    python3 -m venv target/gym-venv
    target/gym-venv/bin/pip install gymnasium==1.4.0 mujoco==3.17.0 imageio packaging
    target/gym-venv/bin/python scripts/record_gym_fixtures.py

No RNG parity is needed: after `reset`, the start state is set explicitly with `set_state`, and the
actions are fixed float32-representable values passed as float64 (so the control cost is computed
in float64, as in Rust). The unwrapped env keeps stepping after termination, so the fixture holds
both healthy and unhealthy steps. Floats are stored as the hex of their IEEE-754 bits (exact).
"""
import json
import struct
import sys
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np

STEPS = 200
OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "gym_hopper_v5.json"


def bits(xs):
    return [format(struct.unpack("<Q", struct.pack("<d", float(x)))[0], "016x") for x in xs]


def main():
    assert gym.__version__ == "1.4.0", gym.__version__
    assert mujoco.__version__ == "3.17.0", mujoco.__version__
    env = gym.make("Hopper-v5").unwrapped
    env.reset(seed=0)
    i = np.arange(env.model.nq)
    qpos0 = env.init_qpos + 0.01 * np.sin(1.0 + i)
    qvel0 = env.init_qvel + 0.1 * np.cos(2.0 + i)
    env.set_state(qpos0, qvel0)
    actions = np.random.default_rng(1234).uniform(-1, 1, (STEPS, 3))
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
        "env": "Hopper-v5",
        "gymnasium": gym.__version__,
        "mujoco": mujoco.__version__,
        "qpos0": bits(qpos0),
        "qvel0": bits(qvel0),
        "steps": steps,
    }
    OUT.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    n_term = sum(s["terminated"] for s in steps)
    first = next((k for k, s in enumerate(steps) if s["terminated"]), None)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes); {n_term}/{STEPS} terminated, first at {first}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
