#!/usr/bin/env python3
"""Records the dm_control cheetah-run, walker-walk, quadruped-walk, quadruped-run, acrobot-swingup,
cartpole-swingup, ball_in_cup-catch and finger-spin trajectories that tests/mujoco_dmc.rs replays
in Rust.

Pinned: dm_control==1.0.50, mujoco==3.17.0 (the library the `mujoco` feature links). Run in a venv:

    python3 -m venv target/dmc-venv
    target/dmc-venv/bin/pip install dm_control==1.0.50 mujoco==3.17.0
    target/dmc-venv/bin/python scripts/record_dmc_fixtures.py [REGISTRY_NAME ...]

No RNG parity is needed here (the seeded resets themselves are checked by
scripts/record_dmc_resets.py): the task is reset with a fixed seed (dm_control's own initial-state
randomisation, incl. cheetah's 200 settling steps), its qpos/qvel are then re-applied inside
`physics.reset_context()` (mj_resetData, write, mj_forward) exactly as the Rust `reset_to` does, and
fixed float32-representable actions in ±1.2 (so MuJoCo's ctrlrange clamp is exercised) are passed
as float64. Floats are stored as the hex of their IEEE-754 bits (exact). `obs0` is the first
observation of `env.reset()` (for quadruped it follows the collision-free height search, which
the Rust side replays from the same orientation, `qpos0[3:7]`).

Quadruped's actuator ranges are not [-1, 1], so it is recorded behind
`action_scale.Wrapper(env, -1, 1)` (as agents use it; the Rust task maps its actions the same
way), with the actions clipped to [-1, 1] so that both sides compute the same controls; it runs
40 steps to keep the fixture small (78-dim observations). The cheetah fixture also holds
`settle`: its initialize_episode settling (Physics.step(200) inside reset_context) from a joint
draw of RandomState(1).

Both ball_in_cup-catch and finger-spin have sparse rewards that random actions from a reset never
earn, so their trajectories start from a state of START instead (written inside reset_context over
the seeded reset, as the Rust `reset_to` does): the ball resting in the cup, which the actions
later shake out; the spinner turning at -40 rad/s next to the finger, with each action held for 5
steps (HOLD) so that the finger presses on the spinner (non-zero touch sensors) and slows it down
below the spin threshold.
"""
import json
import struct
import sys
from pathlib import Path

import dm_control
import mujoco
import numpy as np
from dm_control import suite
from dm_control.suite.utils import randomizers
from dm_control.suite.wrappers import action_scale

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
# (domain, task): (Rust registry name, fixture file, steps, actions rescaled from [-1, 1]).
TASKS = {
    ("cheetah", "run"): ("cheetah-run", "dmc_cheetah_run.json", 100, False),
    ("walker", "walk"): ("walker-walk", "dmc_walker_walk.json", 100, False),
    ("quadruped", "walk"): ("quadruped-walk", "dmc_quadruped_walk.json", 40, True),
    ("quadruped", "run"): ("quadruped-run", "dmc_quadruped_run.json", 40, True),
    ("acrobot", "swingup"): ("dmc-acrobot-swingup", "dmc_acrobot_swingup.json", 100, False),
    ("cartpole", "swingup"): ("dmc-cartpole-swingup", "dmc_cartpole_swingup.json", 100, False),
    ("ball_in_cup", "catch"): ("ball_in_cup-catch", "dmc_ball_in_cup_catch.json", 100, False),
    ("finger", "spin"): ("finger-spin", "dmc_finger_spin.json", 100, False),
}
# Start states (qpos, qvel) replacing the seeded reset's, for the sparse-reward tasks.
START = {
    "ball_in_cup-catch": ([0.0, 0.0, 0.0, 0.35], [0.0, 0.0, 0.0, 0.0]),
    "finger-spin": ([-0.2, -0.6, 1.6], [0.0, 0.0, -40.0]),
}
# Each random action is held for this many steps (default 1).
HOLD = {"finger-spin": 5}


def bits(xs):
    return [format(struct.unpack("<Q", struct.pack("<d", float(x)))[0], "016x") for x in xs]


def flat(obs):
    return np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in obs.values()])


def record(domain, task, name, out, steps_n, scaled):
    env = suite.load(domain, task, task_kwargs={"random": 0})
    if scaled:
        env = action_scale.Wrapper(env, minimum=-1.0, maximum=1.0)
    obs0 = flat(env.reset().observation)
    physics = env.physics
    qpos0 = physics.data.qpos.copy()
    qvel0 = physics.data.qvel.copy()
    if name in START:
        qpos0[:], qvel0[:] = START[name]
    with physics.reset_context():
        physics.data.qpos[:] = qpos0
        physics.data.qvel[:] = qvel0
    if name in START:
        obs0 = flat(env.task.get_observation(physics))
    # Re-applying the state reproduces the reset observation (the Rust replay starts here).
    assert np.array_equal(flat(env.task.get_observation(physics)), obs0)
    nu = env.action_spec().shape[0]
    hold = HOLD.get(name, 1)
    actions = np.random.default_rng(4321).uniform(-1.2, 1.2, (steps_n // hold, nu))
    actions = np.repeat(actions, hold, axis=0)
    if scaled:
        actions = np.clip(actions, -1.0, 1.0)
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
    extra = {}
    if domain == "cheetah":
        # cheetah's initialize_episode from a known joint draw: randomise, then Physics.step(200)
        # inside reset_context (its first mj_step2 still sees qpos0's derived quantities).
        with physics.reset_context():
            randomizers.randomize_limited_and_rotational_joints(physics, np.random.RandomState(1))
            qpos_in = physics.data.qpos.copy()
            physics.step(nstep=200)
        extra["settle"] = {"qpos_in": bits(qpos_in), "qpos": bits(physics.data.qpos),
                           "qvel": bits(physics.data.qvel)}
    fixture = {
        "env": name,
        "dm_control": dm_control.__version__ if hasattr(dm_control, "__version__") else "1.0.50",
        "mujoco": mujoco.__version__,
        "control_timestep": env.control_timestep(),
        "qpos0": bits(qpos0),
        "qvel0": bits(qvel0),
        "obs0": bits(obs0),
        "steps": steps,
        **extra,
    }
    out.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    rewards = [struct.unpack("<d", struct.pack("<Q", int(s["reward"], 16)))[0] for s in steps]
    print(f"wrote {out} ({out.stat().st_size} bytes); dt {env.control_timestep()}, "
          f"reward min {min(rewards):.4g} max {max(rewards):.4g}, "
          f"nonzero {sum(r > 0 for r in rewards)}/{steps_n}", file=sys.stderr)


def main():
    assert mujoco.__version__ == "3.17.0", mujoco.__version__
    only = set(sys.argv[1:])
    for (domain, task), (name, file, steps_n, scaled) in TASKS.items():
        if not only or name in only:
            record(domain, task, name, DATA / file, steps_n, scaled)


if __name__ == "__main__":
    main()
