#!/usr/bin/env python3
"""JAX-on-CPU yardstick for the Koopman training step (BENCHMARKS.md, "Against JAX").

Pinned: jax==0.10.2, jaxlib==0.10.2 (CPU wheels from PyPI), Python 3.11; see PINNED below.
Setup:  python3 -m venv $CARGO_TARGET_DIR/jaxvenv && $CARGO_TARGET_DIR/jaxvenv/bin/pip install jax==0.10.2
Run:    XLA_FLAGS="--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads=2" \
        $CARGO_TARGET_DIR/jaxvenv/bin/python scripts/jax_koopman_bench.py --lengths 10,100 --batch 256

The same model as src/models/koopman.rs (default KoopmanConfig at halfcheetah size, d_s = 17, d_a = 6):
  encoder      d_s → 256 → 256 → 2m   (ELU between layers, none after the last)
  act encoder  d_a → 256 → 2m
  decoder      2m → 256 → 256 → d_s
  reward head  [x̂_k ‖ a_k] (2m + d_a) → 256 → 1, with x̂_0 = x₀
  eigenvalues  μ = −0.2 fixed, ω_j = jπ learned, scalar Δt learned as log Δt from 1/m; m = 512
  ZOH          λ̄ = exp(λΔt), gain b = (λ̄ − 1)/λ; c_k = b ⊙ u_k
  rollout      x̂_{k+1} = λ̄ ⊙ x̂_k + c_k, planar [Re ‖ Im] (lax.scan), or the paper's Vandermonde
               + FFT causal convolution (--rollout conv)
  loss         MSE(states) + 0.1·MSE(x̂, stop_gradient(enc(s_{1..T}))) + 1·MSE(rewards), each a mean
  optimiser    global-norm clip at 10, Adam(1e-3, β = (0.9, 0.999), ε = 1e-8)
Xavier-uniform weights, zero biases (as the Rust model). fp32 throughout.

Timing: the whole step (loss, grad, clip, Adam) is one jitted function with donated buffers; the first
calls (compile) are excluded; every timed step ends in block_until_ready. Prints one JSON line per
length, and writes all of them atomically with --json.
"""
import argparse
import json
import os
import statistics
import sys
import time

PINNED = {"jax": "0.10.2", "jaxlib": "0.10.2"}

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")  # fp32, not bf16/TF32 passes

OBS, ACT, M = 17, 6, 512
HID = 256


def xavier(key, fan_in, fan_out):
    lim = (6.0 / (fan_in + fan_out)) ** 0.5
    return jax.random.uniform(key, (fan_in, fan_out), jnp.float32, -lim, lim)


def mlp_init(key, widths):
    keys = jax.random.split(key, len(widths) - 1)
    return [
        (xavier(k, a, b), jnp.zeros((b,), jnp.float32))
        for k, a, b in zip(keys, widths[:-1], widths[1:])
    ]


def mlp(layers, x):
    for w, b in layers[:-1]:
        x = jax.nn.elu(x @ w + b)
    w, b = layers[-1]
    return x @ w + b


def init_params(seed):
    k = jax.random.split(jax.random.PRNGKey(seed), 4)
    return {
        "enc": mlp_init(k[0], [OBS, HID, HID, 2 * M]),
        "act_enc": mlp_init(k[1], [ACT, HID, 2 * M]),
        "dec": mlp_init(k[2], [2 * M, HID, HID, OBS]),
        "rew": mlp_init(k[3], [2 * M + ACT, HID, 1]),
        "omega": jnp.arange(1, M + 1, dtype=jnp.float32) * jnp.pi,
        "log_dt": jnp.full((1,), jnp.log(1.0 / M), jnp.float32),
    }


def zoh(params):
    """(λ̄_re, λ̄_im, b_re, b_im), each [m]."""
    dt = jnp.exp(params["log_dt"][0])
    lam = (-0.2 + 1j * params["omega"]).astype(jnp.complex64)
    lbar = jnp.exp(lam * dt)
    gain = (lbar - 1.0) / lam
    return lbar.real, lbar.imag, gain.real, gain.imag


def rollout_scan(x0, c, lr, li):
    """x0 [B, 2m], c [B, T, 2m] planar → x̂_1..x̂_T [B, T, 2m]."""

    def step(z, ck):
        zr, zi = z[:, :M], z[:, M:]
        nr = lr * zr - li * zi + ck[:, :M]
        ni = lr * zi + li * zr + ck[:, M:]
        z = jnp.concatenate([nr, ni], axis=-1)
        return z, z

    _, xs = lax.scan(step, x0, jnp.swapaxes(c, 0, 1))
    return jnp.swapaxes(xs, 0, 1)


def rollout_conv(x0, c, lr, li):
    """The paper's form: x̂_{k+1} = λ̄^{k+1} x₀ + Σ_{l≤k} λ̄^{k−l} c_l, convolution by FFT over time."""
    t = c.shape[1]
    lbar = (lr + 1j * li).astype(jnp.complex64)
    k = jnp.arange(t + 1, dtype=jnp.float32)
    v = jnp.exp(jnp.log(lbar)[None, :] * k[:, None])  # [T+1, m], λ̄^k
    cz = (c[..., :M] + 1j * c[..., M:]).astype(jnp.complex64)  # [B, T, m]
    n = 2 * t
    conv = jnp.fft.ifft(
        jnp.fft.fft(cz, n=n, axis=1) * jnp.fft.fft(v[:t], n=n, axis=0)[None], axis=1
    )[:, :t]
    z = conv + v[None, 1:] * (x0[:, :M] + 1j * x0[:, M:])[:, None, :]
    return jnp.concatenate([z.real, z.imag], axis=-1).astype(jnp.float32)


def loss_fn(params, states, actions, rewards, rollout):
    s0, nxt = states[:, 0], states[:, 1:]
    x0 = mlp(params["enc"], s0)
    u = mlp(params["act_enc"], actions)
    lr, li, br, bi = zoh(params)
    ur, ui = u[..., :M], u[..., M:]
    c = jnp.concatenate([ur * br - ui * bi, ur * bi + ui * br], axis=-1)
    xh = rollout(x0, c, lr, li)
    pred = mlp(params["dec"], xh)
    prev = jnp.concatenate([x0[:, None], xh[:, :-1]], axis=1)
    r = mlp(params["rew"], jnp.concatenate([prev, actions], axis=-1))[..., 0]
    target = lax.stop_gradient(mlp(params["enc"], nxt))
    mse = lambda a, b: jnp.mean((a - b) ** 2)  # noqa: E731
    return mse(pred, nxt) + 0.1 * mse(xh, target) + 1.0 * mse(r, rewards)


def make_step(rollout, lr=1e-3, clip=10.0, b1=0.9, b2=0.999, eps=1e-8):
    grad_fn = jax.value_and_grad(lambda p, s, a, r: loss_fn(p, s, a, r, rollout))

    def step(params, m, v, t, states, actions, rewards):
        loss, g = grad_fn(params, states, actions, rewards)
        leaves = jax.tree_util.tree_leaves(g)
        norm = jnp.sqrt(sum(jnp.sum(x * x) for x in leaves))
        scale = jnp.minimum(1.0, clip / (norm + 1e-12))
        g = jax.tree_util.tree_map(lambda x: x * scale, g)
        t = t + 1
        m = jax.tree_util.tree_map(lambda m_, g_: b1 * m_ + (1 - b1) * g_, m, g)
        v = jax.tree_util.tree_map(lambda v_, g_: b2 * v_ + (1 - b2) * g_ * g_, v, g)
        c1, c2 = 1 - b1**t, 1 - b2**t
        params = jax.tree_util.tree_map(
            lambda p, m_, v_: p - lr * (m_ / c1) / (jnp.sqrt(v_ / c2) + eps), params, m, v
        )
        return params, m, v, t, loss

    return jax.jit(step, donate_argnums=(0, 1, 2))


def bench(seq_len, batch, iters, warmup, rollout_name, seed):
    rollout = {"scan": rollout_scan, "conv": rollout_conv}[rollout_name]
    params = init_params(seed)
    m = jax.tree_util.tree_map(jnp.zeros_like, params)
    v = jax.tree_util.tree_map(jnp.zeros_like, params)
    t = jnp.zeros((), jnp.float32)
    key = jax.random.PRNGKey(seed + 1)
    k1, k2, k3 = jax.random.split(key, 3)
    states = jax.random.normal(k1, (batch, seq_len + 1, OBS), jnp.float32)
    actions = jax.random.normal(k2, (batch, seq_len, ACT), jnp.float32)
    rewards = jax.random.normal(k3, (batch, seq_len), jnp.float32)
    step = make_step(rollout)
    t0 = time.perf_counter()
    params, m, v, t, loss = step(params, m, v, t, states, actions, rewards)
    loss.block_until_ready()
    compile_s = time.perf_counter() - t0
    for _ in range(warmup):
        params, m, v, t, loss = step(params, m, v, t, states, actions, rewards)
        loss.block_until_ready()
    secs = []
    for _ in range(iters):
        t0 = time.perf_counter()
        params, m, v, t, loss = step(params, m, v, t, states, actions, rewards)
        loss.block_until_ready()
        secs.append(time.perf_counter() - t0)
    if not bool(jnp.isfinite(loss)):
        raise SystemExit(f"non-finite loss at T={seq_len}")
    secs.sort()
    med = statistics.median(secs)
    q = lambda p: secs[min(len(secs) - 1, int(round(p * (len(secs) - 1))))]  # noqa: E731
    return {
        "impl": f"jax-{jax.__version__}-cpu",
        "rollout": rollout_name,
        "seq_len": seq_len,
        "batch": batch,
        "iters": iters,
        "warmup": warmup,
        "compile_s": compile_s,
        "secs_median": med,
        "its_median": 1.0 / med,
        "its_p10": 1.0 / q(0.9),
        "its_p90": 1.0 / q(0.1),
        "loss": float(loss),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", default="10,100")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rollout", choices=["scan", "conv"], default="scan")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write all results here (atomically)")
    args = ap.parse_args()
    if jax.__version__ != PINNED["jax"]:
        print(f"warning: jax {jax.__version__}, script pinned to {PINNED['jax']}", file=sys.stderr)
    print(
        f"device: {jax.devices()[0]} | XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}",
        file=sys.stderr,
    )
    results = []
    for t in [int(x) for x in args.lengths.split(",")]:
        r = bench(t, args.batch, args.iters, args.warmup, args.rollout, args.seed)
        print(json.dumps(r), flush=True)
        results.append(r)
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"benchmark": "jax_koopman_train", "results": results}, f, indent=2)
        os.replace(tmp, args.json)


if __name__ == "__main__":
    main()
