"""Mean ± std over seeds of `koopman compare` JSON files, as the EXPERIMENTS.md table and a CSV.

Usage: python table.py [--csv OUT.csv] DATA=FILE.json[,FILE.json...] ...
(writes runs.csv beside this file unless --csv names another)
"""
import json
import pathlib
import statistics
import sys

here = pathlib.Path(__file__).parent
args = sys.argv[1:]
csv = here / "runs.csv"
if args[:1] == ["--csv"]:
    csv, args = pathlib.Path(args[1]), args[2:]
rows = []
for arg in args:
    data, files = arg.split("=", 1)
    runs = [json.load(open(f)) for f in files.split(",")]
    for i, model in enumerate(r["model"] for r in runs[0]):
        per = [run[i] for run in runs]
        state = [p["state_mse"][0] for p in per]
        reward = [p["reward_mse"][0] for p in per]
        steps = {k: statistics.mean(p["state_mse_per_step"][k - 1] for p in per) for k in (1, 10, 50, 100)}
        sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
        rows.append((data, model, per[0]["parameters"], len(per), statistics.mean(state), sd(state),
                     statistics.mean(reward), sd(reward), steps, state, reward))
for d, m, params, n, sm, ss, rm, rs, steps, _, _ in rows:
    st = " / ".join(f"{steps[k]:.3f}" for k in (1, 10, 50, 100))
    print(f"| {d} | {m} | {params:,} | {sm:.3f} ± {ss:.3f} | {rm:.3f} ± {rs:.3f} | {st} |")
with open(csv, "w") as f:
    f.write("data,model,seeds,state_mse_mean,state_mse_std,reward_mse_mean,reward_mse_std,state_mse_step1,state_mse_per_seed,reward_mse_per_seed\n")
    for d, m, params, n, sm, ss, rm, rs, steps, state, reward in rows:
        f.write(f"{d},{m},{n},{sm:.4f},{ss:.4f},{rm:.4f},{rs:.4f},{steps[1]:.4f},"
                f"{' '.join(f'{v:.4f}' for v in state)},{' '.join(f'{v:.4f}' for v in reward)}\n")
