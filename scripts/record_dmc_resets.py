#!/usr/bin/env python3
"""Records dm_control's seeded initial states, which tests/mujoco_dmc.rs (`dmc_seeded_resets`)
compares with the Rust tasks' `reset_into(seed, ..)` bit for bit.

For each task of scripts/record_dmc_fixtures.py and each seed: a fresh
`suite.load(domain, task, task_kwargs={'random': seed})`, its first `env.reset()`, and the
resulting qpos, qvel and flattened first observation (hex of the IEEE-754 bits). Same pins and
venv as record_dmc_fixtures.py (dm_control==1.0.50, mujoco==3.17.0):

    target/dmc-venv/bin/python scripts/record_dmc_resets.py

Writes tests/data/dmc_resets.json.
"""
import json
import sys
from pathlib import Path

import mujoco
import numpy as np
from dm_control import suite

from record_dmc_fixtures import DATA, TASKS, bits, flat

# 0..3 as the test's main set, plus NumPy's largest seed.
SEEDS = [0, 1, 2, 3, 2**32 - 1]


def main():
    assert mujoco.__version__ == "3.17.0", mujoco.__version__
    out = {"numpy": np.__version__, "mujoco": mujoco.__version__, "tasks": {}}
    for (domain, task), (name, *_rest) in TASKS.items():
        resets = []
        for seed in SEEDS:
            env = suite.load(domain, task, task_kwargs={"random": seed})
            obs0 = flat(env.reset().observation)
            physics = env.physics
            resets.append({"seed": seed, "qpos": bits(physics.data.qpos),
                           "qvel": bits(physics.data.qvel), "obs0": bits(obs0)})
        out["tasks"][name] = resets
    path = DATA / "dmc_resets.json"
    path.write_text(json.dumps(out, indent=0, separators=(",", ":")) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
