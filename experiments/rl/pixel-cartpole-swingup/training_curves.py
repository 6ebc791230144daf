"""Training-episode returns of the three pixel agents against env steps, side by side (one seed each).

Usage: python training_curves.py  (needs matplotlib; reads */train.csv beside this file, writes curves.png)
"""
import csv
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

here = pathlib.Path(__file__).parent
fig, ax = plt.subplots(figsize=(7, 4))
for run, label in [("sac-s0", "SAC"), ("sac-spr-s0", "SAC + SPR"), ("koopman-spr-s0", "Koopman SPR")]:
    rows = list(csv.DictReader(open(here / run / "train.csv")))
    ax.plot([int(r["env_step"]) for r in rows], [float(r["episode_return"]) for r in rows], marker=".", label=label)
ax.set_xlabel("env steps")
ax.set_ylabel("training episode return")
ax.set_title("dmc-cartpole-swingup from pixels, seed 0 (training episodes)")
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(here / "curves.png", dpi=100)
