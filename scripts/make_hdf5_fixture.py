#!/usr/bin/env python3
"""Writes the small D4RL-layout test fixtures under tests/data/.

Tested with: Python 3.11.7, h5py==3.16.0, numpy==2.4.6
    python3 -m venv .venv && .venv/bin/pip install h5py==3.16.0 numpy==2.4.6
    .venv/bin/python scripts/make_hdf5_fixture.py

Outputs (same transitions in each):
- d4rl_tiny.hdf5         exact D4RL v2 layout: gzip-chunked root datasets, bools as h5py's
                         int8 enum, next_observations, infos/*, metadata/* (string + int);
- d4rl_tiny_nonext.hdf5  the same without next_observations, rewards stored as float64
                         (values are float32-exact, so they read back identically);
- d4rl_tiny.npz          np.savez_compressed with the D4RL core keys;
- d4rl_tiny_expected.txt a few values the Rust tests compare against ("name v1 v2 ...").

Three episodes: 120 rows ending in a terminal, 100 ending in a timeout, and 80 that stop with
the file (neither flag set), the case where the last row must still close an episode.
"""
import os

import h5py
import numpy as np

OBS, ACT = 11, 3
LENGTHS = [120, 100, 80]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")


def make():
    rng = np.random.default_rng(20240501)
    obs, nxt, act, rew, term, tout = [], [], [], [], [], []
    for e, length in enumerate(LENGTHS):
        # A random walk, so next_observations[i] == observations[i+1] inside an episode.
        states = np.cumsum(rng.normal(0.0, 0.1, size=(length + 1, OBS)), axis=0) + e
        states = states.astype(np.float32)
        obs.append(states[:-1])
        nxt.append(states[1:])
        act.append(rng.uniform(-1.0, 1.0, size=(length, ACT)).astype(np.float32))
        rew.append(rng.normal(1.0, 0.5, size=length).astype(np.float32))
        t = np.zeros(length, dtype=bool)
        o = np.zeros(length, dtype=bool)
        if e == 0:
            t[-1] = True
        elif e == 1:
            o[-1] = True
        term.append(t)
        tout.append(o)
    return {
        "observations": np.concatenate(obs),
        "actions": np.concatenate(act),
        "rewards": np.concatenate(rew),
        "next_observations": np.concatenate(nxt),
        "terminals": np.concatenate(term),
        "timeouts": np.concatenate(tout),
    }


def write_hdf5(path, data, with_next, rewards_dtype):
    # track_times=False keeps the bytes reproducible from run to run.
    kw = dict(compression="gzip", track_times=False)
    with h5py.File(path, "w", libver="earliest") as f:
        for key, value in data.items():
            if key == "next_observations" and not with_next:
                continue
            if key == "rewards":
                value = value.astype(rewards_dtype)
            f.create_dataset(key, data=value, **kw)
        n = len(data["rewards"])
        f.create_dataset("infos/action_log_probs", data=-np.ones(n, np.float32), **kw)
        f.create_dataset("metadata/algorithm", data="SAC")
        f.create_dataset("metadata/iteration", data=np.int32(42))


def main():
    os.makedirs(OUT, exist_ok=True)
    data = make()
    write_hdf5(os.path.join(OUT, "d4rl_tiny.hdf5"), data, True, np.float32)
    write_hdf5(os.path.join(OUT, "d4rl_tiny_nonext.hdf5"), data, False, np.float64)
    np.savez_compressed(os.path.join(OUT, "d4rl_tiny.npz"), **data)

    starts = np.cumsum([0] + LENGTHS)
    lines = [
        f"n {len(data['rewards'])}",
        f"obs_dim {OBS}",
        f"act_dim {ACT}",
        "episodes " + " ".join(f"{a} {b}" for a, b in zip(starts[:-1], starts[1:])),
        "obs_row0 " + " ".join(str(np.float32(v)) for v in data["observations"][0]),
        "actions_last " + " ".join(str(np.float32(v)) for v in data["actions"][-1]),
        "rewards_first5 " + " ".join(str(np.float32(v)) for v in data["rewards"][:5]),
        f"obs_sum {float(data['observations'].astype(np.float64).sum())!r}",
        f"terminal_rows {' '.join(map(str, np.flatnonzero(data['terminals'])))}",
        f"timeout_rows {' '.join(map(str, np.flatnonzero(data['timeouts'])))}",
    ]
    with open(os.path.join(OUT, "d4rl_tiny_expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)))


if __name__ == "__main__":
    main()
