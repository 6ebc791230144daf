#!/usr/bin/env bash
# The recipe for D4RL-style datasets made from the project's own agents (the paper's §4.1 data,
# which cannot be downloaded here): train an agent on ENV (TD-MPC, or AGENT=sac), then write
#   runs/datasets/ENV/expert.npz       the agent's noise-free episodes (D4RL "expert")
#   runs/datasets/ENV/noisy.npz        the same agent with N(0, σ²) action noise (σ = NOISE)
#   runs/datasets/ENV/full-replay.npz  every episode the agent trained on (D4RL "full-replay";
#                                      one row per agent step)
# and, given MEDIUM (a `rl train` run folder of a less-trained agent on the same task),
#   runs/datasets/ENV/medium.npz         that agent's noise-free episodes (D4RL "medium")
#   runs/datasets/ENV/medium-expert.npz  medium.npz then expert.npz (`koopman concat`, as D4RL)
# and compare the four dynamics models on each. The datasets stay out of the repository.
#
#   scripts/make-datasets.sh cartpole-swingup 100000        # pure Rust, ~1 h on 2 cores
#   FEATURES=mujoco AGENT=sac scripts/make-datasets.sh hopper 1000000 # needs scripts/setup-mujoco.sh first
#   FEATURES=mujoco AGENT=sac AGENT_ARGS="--mlp-dim 256 --batch 256" scripts/make-datasets.sh halfcheetah 300000
#   FEATURES=mujoco AGENT=sac AGENT_ARGS="--mlp-dim 256 --batch 256 --lr 3e-4 --init-alpha 1 --seed-steps 10000" \
#       scripts/make-datasets.sh walker2d 300000                   # SAC's Gym settings (EXPERIMENTS.md)
#
# Environment: AGENT (tdmpc, koopman-tdmpc or sac; default tdmpc), MEDIUM (see above), EPISODES (default 40), NOISE
# (0.3), SEED (0), AGENT_ARGS (extra `rl train` flags,
# e.g. "--mlp-dim 256 --batch 256" as in EXPERIMENTS.md), COMPARE_ARGS (extra `compare` flags, e.g.
# "--preset small --steps 600"), FEATURES (cargo features).
set -euo pipefail
cd "$(dirname "$0")/.."
ENV="${1:?usage: scripts/make-datasets.sh ENV [ENV_STEPS]}"
STEPS="${2:-100000}"
EPISODES="${EPISODES:-40}"
NOISE="${NOISE:-0.3}"
SEED="${SEED:-0}"
AGENT="${AGENT:-tdmpc}"
RUN="runs/agents/$AGENT-$ENV-s$SEED"
OUT="runs/datasets/$ENV"
mkdir -p "$OUT"

cargo build --release ${FEATURES:+--features "$FEATURES"}
K=target/release/koopman
RESUME=""
if [ -f "$RUN/checkpoint.safetensors" ]; then RESUME="--resume"; fi
# shellcheck disable=SC2086
"$K" rl train --agent "$AGENT" --env "$ENV" --steps "$STEPS" --seed "$SEED" --checkpoint-every 5 \
    --out "$RUN" $RESUME ${AGENT_ARGS:-}
"$K" collect --policy "$RUN" --episodes "$EPISODES" --seed 1 --out "$OUT/expert.npz"
"$K" collect --policy "$RUN" --episodes "$EPISODES" --seed 2 --noise "$NOISE" --out "$OUT/noisy.npz"
"$K" rl export --ckpt "$RUN" --out "$OUT/full-replay.npz"
SETS="expert noisy full-replay"
if [ -n "${MEDIUM:-}" ]; then
    "$K" collect --policy "$MEDIUM" --episodes "$EPISODES" --seed 3 --out "$OUT/medium.npz"
    "$K" concat "$OUT/medium.npz" "$OUT/expert.npz" --out "$OUT/medium-expert.npz"
    SETS="$SETS medium medium-expert"
fi
for d in $SETS; do
    # shellcheck disable=SC2086
    "$K" compare --data "$OUT/$d.npz" --seeds 3 --out-dir "runs/compare/$ENV-$d" \
        --json "runs/compare/$ENV-$d.json" ${COMPARE_ARGS:-}
done
