#!/usr/bin/env python3
"""Attributes perf samples of a `koopman bench` run to op categories (GEMM, ELU, page faults, ...).

    perf record -F 199 --call-graph dwarf,32768 -o k.data target/release/koopman bench \
        --models koopman --lengths 100 --iters 4 --warmup 1
    perf script -i k.data -F tid,ip,sym > k.txt && python3 scripts/perf_attribute.py k.txt

Each sample goes to the innermost frame that matches a rule (kernel frames included), so a page fault
inside a memset counts as a page fault. Samples under model construction or data generation are left
out. Release builds carry line tables (profile.release debug = 1), which dwarf unwinding needs.
"""
import collections
import re
import sys

rules = [
    ("setup (model init, data)", r"KoopmanModel::new|RandomBatch::new|build_default|Init::make"),
    ("page faults (kernel)", r"exc_page_fault|clear_page|do_anonymous_page|handle_mm_fault|asm_exc_page_fault"),
    ("elementwise: ELU fwd (expm1)", r"unary::cpu::forward|__expm1f"),
    ("elementwise: ELU bwd (exp)", r"unary::cpu::backward|__expf"),
    ("gemm (matmul fwd+bwd)", r"gemm_f32::|gemm_common::|gemm::gemm|matmul::cpu::gemm"),
    ("bias add / bias grad", r"add_bias|bias_grad"),
    ("scan fwd+bwd", r"koopman::scan"),
    ("cmul fwd+bwd", r"koopman::cmul"),
    ("concat/narrow/reshape", r"ops::shape"),
    ("mse loss", r"ops::loss"),
    ("Adam + clip", r"optim::"),
    ("memset/memcpy (zeroing, copies)", r"__memset|__memmove|__memcpy"),
    ("alloc/free", r"malloc|free|realloc|mremap|munmap|mmap|_int_"),
    ("rayon idle/sync", r"rayon_core::sleep|futex|sched_yield|rayon_core::latch|wait_until"),
]
samples, cur = [], None
for line in open(sys.argv[1]):
    if not line.startswith("\t") and line.strip():
        if cur is not None: samples.append(cur)
        cur = []
    elif line.strip():
        parts = line.strip().split(None, 1)
        cur.append(parts[1] if len(parts) > 1 else "")
if cur is not None: samples.append(cur)
cnt = collections.Counter()
for frames in samples:
    cat = "other"
    # setup is decided on the whole stack; the rest by innermost matching frame
    if any(re.search(rules[0][1], f) for f in frames):
        cat = rules[0][0]
    else:
        for f in frames:
            hit = next((name for name, pat in rules[1:] if re.search(pat, f)), None)
            if hit: cat = hit; break
    cnt[cat] += 1
tot = sum(v for k, v in cnt.items() if not k.startswith("setup"))
print(f"{len(samples)} samples, {tot} outside setup")
for k, v in cnt.most_common():
    if k.startswith("setup"): continue
    print(f"{100*v/tot:6.1f}%  {k}")
