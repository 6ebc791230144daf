#!/usr/bin/env bash
# Back-to-back Rust vs JAX (CPU) Koopman training step, both on 2 threads (BENCHMARKS.md, "Against JAX").
# Usage: scripts/jax_vs_rust.sh OUT_DIR [LENGTHS=10,100] [ITERS=10] [ROUNDS=2]
# Needs: cargo build --release (binary under $CARGO_TARGET_DIR) and the venv of scripts/jax_koopman_bench.py.
# Each round runs Rust then JAX per length; rounds alternate which goes first so drift in the machine's
# load hits both sides alike. Compare the ratios, not the absolute numbers across runs.
set -euo pipefail
out=${1:?output directory}
lengths=${2:-10,100}
iters=${3:-10}
rounds=${4:-2}
target=${CARGO_TARGET_DIR:-target}
py=${JAX_PYTHON:-$target/jaxvenv/bin/python}
mkdir -p "$out"
export RAYON_NUM_THREADS=2
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads=2"
rust() { "$target/release/koopman" bench --models koopman --lengths "$1" --batch 256 --iters "$iters" --warmup 2 --json "$out/rust_T$1_r$2.json" | tail -1; }
jax() { "$py" scripts/jax_koopman_bench.py --lengths "$1" --batch 256 --iters "$iters" --warmup 2 --json "$out/jax_T$1_r$2.json" 2>/dev/null; }
for r in $(seq 1 "$rounds"); do
  for t in ${lengths//,/ }; do
    echo "round $r, T=$t ($(cut -d' ' -f1-3 /proc/loadavg) load)"
    if (( r % 2 )); then rust "$t" "$r"; jax "$t" "$r"; else jax "$t" "$r"; rust "$t" "$r"; fi
  done
done
