#!/usr/bin/env bash
# The GPU check, in two halves.
#
#   scripts/gpu-check.sh prepare   (here, with cargo): builds the release test binaries that touch
#                                  CUDA and the koopman binary, copies them with device-env.sh into
#                                  .gpu/ (git-ignored) for the device tool's `carry`.
#   On the GPU machine (no cargo needed), in two device calls that each fit the lent machine's
#   limits (10 minutes a command, ~15 minutes of device time in all, start-up included):
#   scripts/gpu-check.sh parity    loads the CUDA libraries, runs the NVRTC compile test and the CUDA
#                                  parity tests with REQUIRE_CUDA=1 (a skip is a failure there:
#                                  kernels, every op through the tape, all four models, the 20-step
#                                  loss curve, the planner path). At most ~6 minutes.
#   scripts/gpu-check.sh bench     an end-to-end CUDA train, then `koopman bench` training speed
#                                  (Table 3 protocol, fp32 and tf32) and planner latency on CUDA, and
#                                  the criterion CUDA kernel groups (benches/cuda.rs).
#   Each step writes its log (and JSON) under $OUT as it finishes, so a cut-off call keeps them.
#
# Device calls: run(command="bash scripts/gpu-check.sh parity", carry=[".gpu"], timeout_s=380),
#               then run(command="bash scripts/gpu-check.sh bench", carry=[".gpu"], timeout_s=560).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-}"
case "$mode" in
prepare)
    rm -rf .gpu && mkdir -p .gpu
    json=$(cargo test --release --no-run --message-format=json --test cuda_parity --test nvrtc_compile --test ops 2>/dev/null)
    for t in cuda_parity nvrtc_compile ops; do
        exe=$(printf '%s\n' "$json" | grep '"executable":"[^"]*/'"$t"'-' | sed 's/.*"executable":"\([^"]*\)".*/\1/' | tail -n1)
        [ -n "$exe" ] || { echo "could not find the $t test binary" >&2; exit 1; }
        cp "$exe" ".gpu/$t"
    done
    cargo build --release --bin koopman
    cp target/release/koopman .gpu/koopman
    bjson=$(cargo bench --no-run --message-format=json --bench cuda 2>/dev/null)
    bexe=$(printf '%s\n' "$bjson" | grep '"executable":"[^"]*/cuda-' | sed 's/.*"executable":"\([^"]*\)".*/\1/' | tail -n1)
    [ -n "$bexe" ] || { echo "could not find the cuda bench binary" >&2; exit 1; }
    cp "$bexe" .gpu/cuda_bench
    for f in ../shared/gpu/device-env.sh shared/gpu/device-env.sh; do [ -f "$f" ] && cp "$f" .gpu/ && break; done
    [ -f .gpu/device-env.sh ] || { echo "device-env.sh not found (../shared/gpu/)" >&2; exit 1; }
    grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
    strip --strip-debug .gpu/cuda_parity .gpu/nvrtc_compile .gpu/ops .gpu/koopman .gpu/cuda_bench  # the carry limit is 64 MiB
    du -sh .gpu
    ;;
parity | bench)
    # shellcheck disable=SC1091
    set +eu  # device-env.sh probes paths that may not exist
    source .gpu/device-env.sh
    set -eu
    out="${OUT:-/tmp/gpu-check}"; mkdir -p "$out"
    status=0
    # Each step has its own time limit, so one hang cannot spend the whole device budget.
    if [ "$mode" = parity ]; then
        echo "== NVRTC compile (CUBIN for sm_80, sm_90; PTX for compute_80, compute_90)"
        REQUIRE_NVRTC=1 timeout -k 5 90 .gpu/nvrtc_compile --test-threads=1 2>&1 | tee "$out/nvrtc.log" || status=1
        echo "== CUDA parity (REQUIRE_CUDA=1)"
        REQUIRE_CUDA=1 timeout -k 5 60 .gpu/ops --test-threads=1 2>&1 | tee "$out/ops.log" || status=1
        REQUIRE_CUDA=1 timeout -k 5 200 .gpu/cuda_parity --test-threads=1 --nocapture 2>&1 | tee "$out/parity.log" || status=1
        echo "== summary"
        grep -E "^test .* (ok|FAILED)$|test result" "$out/ops.log" "$out/parity.log" "$out/nvrtc.log" || true
        exit $status
    fi
    echo "== end to end: collect (CPU), train on CUDA, eval"
    { timeout -k 5 60 .gpu/koopman collect --env pendulum-swingup --episodes 20 --out /tmp/p.npz &&
      timeout -k 5 90 .gpu/koopman train --data /tmp/p.npz --model koopman --preset small --steps 200 --device cuda --out /tmp/k.safetensors &&
      timeout -k 5 60 .gpu/koopman eval --data /tmp/p.npz --ckpt /tmp/k.safetensors --horizon 100 --windows 64 --json /tmp/ev.json; } 2>&1 | tail -n 12 | tee "$out/e2e.log" || status=1
    echo "== koopman bench (training, fp32 then tf32; planner)"
    timeout -k 5 120 .gpu/koopman bench --device cuda --lengths 10,50,100,200,500 --iters 10 --warmup 3 --json "$out/bench_fp32.json" 2>&1 | tee "$out/bench_fp32.log" || status=1
    timeout -k 5 60 .gpu/koopman bench --device cuda --precision tf32 --models koopman,gru --lengths 10,100,500 --iters 10 --warmup 3 --json "$out/bench_tf32.json" 2>&1 | tee "$out/bench_tf32.log" || status=1
    timeout -k 5 60 .gpu/koopman bench --device cuda --planner --iters 200 --warmup 20 --json "$out/planner.json" 2>&1 | tee "$out/planner.log" || status=1
    timeout -k 5 45 .gpu/koopman bench --device cuda --precision tf32 --planner --starts 1 --iters 200 --warmup 20 --json "$out/planner_tf32.json" 2>&1 | tee "$out/planner_tf32.log" || status=1
    echo "== criterion CUDA kernels"
    timeout -k 5 120 .gpu/cuda_bench --bench --warm-up-time 0.3 --measurement-time 1 2>&1 | grep -E "^(scan|cconv|gemm|elementwise)/|time:|thrpt:" | tee "$out/kernels.log" || status=1
    exit $status
    ;;
*)
    echo "usage: scripts/gpu-check.sh prepare|parity|bench" >&2
    exit 2
    ;;
esac
