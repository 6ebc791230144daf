"""Cross-checks the pure-Rust environment ports (src/envs) against libmujoco.

Usage:
    mkdir -p /tmp/envdump
    KOOPMAN_ENVS_DUMP=/tmp/envdump cargo test --release --test envs -- --ignored
    pip install mujoco numpy && python scripts/envs_vs_mujoco.py /tmp/envdump

The models below are dm_control's suite XMLs with visual-only elements (materials, cameras,
lights, floor and rail geoms) removed; contacts are disabled in all four, so those elements do not
affect the physics. Each run starts from the same state as the Rust dump and applies the same
action schedule; the script prints the largest state difference after 100, 1000 and 2000 steps,
once with MuJoCo's default solver settings and once with the solver run to convergence (the ports
evaluate the soft joint limits' optimum in closed form).
"""

import math
import sys

import mujoco
import numpy as np

CARTPOLE = """<mujoco><option timestep="0.01" integrator="RK4"><flag contact="disable"/></option>
<default><default class="pole"><joint type="hinge" axis="0 1 0" damping="2e-6"/>
<geom type="capsule" fromto="0 0 0 0 0 1" size="0.045" mass=".1"/></default></default>
<worldbody><body name="cart" pos="0 0 1">
<joint name="slider" type="slide" limited="true" axis="1 0 0" range="-1.8 1.8"
 solreflimit=".08 1" damping="5e-4"/>
<geom name="cart" type="box" size="0.2 0.15 0.1" mass="1"/>
<body name="pole_1" childclass="pole"><joint name="hinge_1"/><geom name="pole_1"/></body>
</body></worldbody>
<actuator><motor joint="slider" gear="10" ctrllimited="true" ctrlrange="-1 1"/></actuator>
</mujoco>"""

ACROBOT = """<mujoco><default><joint damping=".05"/><geom type="capsule" mass="1"/></default>
<option timestep="0.01" integrator="RK4"><flag constraint="disable"/></option>
<worldbody><body name="upper_arm" pos="0 0 2"><joint name="shoulder" type="hinge" axis="0 1 0"/>
<geom fromto="0 0 0 0 0 1" size="0.05"/>
<body name="lower_arm" pos="0 0 1"><joint name="elbow" type="hinge" axis="0 1 0"/>
<geom fromto="0 0 0 0 0 1" size="0.049"/></body></body></worldbody>
<actuator><motor joint="elbow" gear="2" ctrllimited="true" ctrlrange="-1 1"/></actuator>
</mujoco>"""

PENDULUM = """<mujoco><option timestep="0.02"><flag contact="disable"/></option>
<worldbody><body name="pole" pos="0 0 .6">
<joint name="hinge" type="hinge" axis="0 1 0" damping="0.1"/>
<geom type="capsule" fromto="0 0 0 0 0 0.5" size="0.02" mass="0"/>
<geom type="sphere" pos="0 0 0.5" size="0.05" mass="1"/></body></worldbody>
<actuator><motor joint="hinge" gear="1" ctrlrange="-1 1" ctrllimited="true"/></actuator>
</mujoco>"""

POINT_MASS = """<mujoco><option timestep="0.02"><flag contact="disable"/></option>
<default><joint type="hinge" axis="0 0 1" limited="true" range="-.29 .29" damping="1"/>
<motor gear=".1" ctrlrange="-1 1" ctrllimited="true"/></default>
<worldbody><body name="pointmass" pos="0 0 .01">
<joint name="root_x" type="slide" pos="0 0 0" axis="1 0 0"/>
<joint name="root_y" type="slide" pos="0 0 0" axis="0 1 0"/>
<geom type="sphere" size=".01" mass=".3"/></body></worldbody>
<tendon><fixed name="t1"><joint joint="root_x" coef="1"/><joint joint="root_y" coef="0"/></fixed>
<fixed name="t2"><joint joint="root_x" coef="0"/><joint joint="root_y" coef="1"/></fixed></tendon>
<actuator><motor tendon="t1"/><motor tendon="t2"/></actuator></mujoco>"""

# name: (xml, qpos0, qvel0, actions per step); mirrors tests/envs.rs.
CASES = {
    "cartpole": (CARTPOLE, [0.1, 3.0], [0.05, -0.2], lambda k, t: [schedule(k, t, 0)]),
    "acrobot": (ACROBOT, [0.7, -2.0], [0.0, 0.0], lambda k, t: [schedule(k, t, 0)]),
    "pendulum": (PENDULUM, [2.5], [0.0], lambda k, t: [schedule(k, t, 0)]),
    "point_mass": (
        POINT_MASS,
        [0.2, -0.1],
        [0.0, 0.0],
        lambda k, t: [schedule(k, t, 0), -schedule(k, t, 1)],
    ),
}
KINDS = ["constant push", "0.5 Hz bang-bang", "pseudo-random"]


def schedule(kind, t, j):
    """Same expressions, in the same order, as `schedule` in tests/envs.rs (f32-rounded)."""
    if kind == 0:
        v = 1.0
    elif kind == 1:
        v = 1.0 if math.sin(math.pi * t * 0.01) >= 0.0 else -1.0
    else:
        x = math.sin((t * 7 + j * 13) * 12.9898) * 43758.5453
        v = (x - math.floor(x)) * 2.0 - 1.0
    return float(np.float32(v))


def simulate(xml, qpos, qvel, actions, kind, steps, converge):
    model = mujoco.MjModel.from_xml_string(xml)
    if converge:
        model.opt.tolerance = 0.0
        model.opt.iterations = 1000
    data = mujoco.MjData(model)
    data.qpos[:] = qpos
    data.qvel[:] = qvel
    out = np.empty((steps, model.nq + model.nv))
    for t in range(steps):
        data.ctrl[:] = actions(kind, t)
        mujoco.mj_step(model, data)
        out[t] = np.concatenate([data.qpos, data.qvel])
    return out


def main(dump_dir):
    print(f"mujoco {mujoco.__version__}")
    for name, (xml, qpos, qvel, actions) in CASES.items():
        for kind, label in enumerate(KINDS):
            rust = np.loadtxt(f"{dump_dir}/{name}_{kind}.csv", delimiter=",", ndmin=2)
            for converge in (False, True):
                ref = simulate(xml, qpos, qvel, actions, kind, len(rust), converge)
                err = np.abs(ref - rust).max(axis=1)
                solver = "converged" if converge else "default  "
                print(
                    f"{name:10s} {label:16s} solver {solver}: max |dstate| "
                    f"@100 {err[:100].max():.1e}  @1000 {err[:1000].max():.1e}  "
                    f"@2000 {err.max():.1e}"
                )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/envdump")
