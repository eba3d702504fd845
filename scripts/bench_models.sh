#!/usr/bin/env bash
# Issue 11's model suite against NumPyro, in one run: for REPS reps (default 3), alternating,
#   inferrs  target/release/examples/bench_models (median of its own 3 fits per rep)
#   NumPyro  ../shared/peers/models/{mdn,logreg,bnn,pca,schools}.py (svi.run with its compile
#            removed, and the ahead-of-time compiled scan)
# then prints, per model, the medians over the reps and the ratios inferrs / NumPyro; and the
# scaling of logistic regression over SCALING_ROWS (one rep each side, after the suite).
# The user MDN is timed three ways on the inferrs side: burn's tanh, inferrs::nn::tanh, and
# inferrs::nn::Mlp; NumPyro's is mdn.py --net user (the same 1-24-24 tanh network).
#
# Not part of CI (needs NumPyro). Usage: scripts/bench_models.sh [REPS]
# Environment (defaults): PEERS_MODELS=/work/shared/peers/models, NUMPYRO_PY=/work/venv-numpyro/bin/python,
# STEPS=500 (inferrs) NP_STEPS=6000 (NumPyro; its svi.run figure is a difference of two timed
# calls, which moved by 40% between reps at 2000 steps on the fast models), THREADS=2, SCALING_ROWS=100,1000,10000,100000,1000000
# (empty: no scaling run). PEERS_NO_WAIT=1 skips the peers' wait for a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-3}
PEERS_MODELS=${PEERS_MODELS:-/work/shared/peers/models}
PY=${NUMPYRO_PY:-/work/venv-numpyro/bin/python}
STEPS=${STEPS:-500}
NP_STEPS=${NP_STEPS:-6000}
THREADS=${THREADS:-2}
SCALING_ROWS=${SCALING_ROWS-100,1000,10000,100000,1000000}
OUT=$(mktemp -d)
cargo build --release --example bench_models >/dev/null
peer() { # script args... -> one JSON line per variant into numpyro.jsonl
  # shellcheck disable=SC2068
  (cd "$PEERS_MODELS" && "$PY" $@ --threads "$THREADS") \
    >>"$OUT/numpyro.jsonl" 2>"$OUT/numpyro.err" || { cat "$OUT/numpyro.err"; exit 1; }
}
for rep in $(seq 1 "$REPS"); do
  target/release/examples/bench_models --steps "$STEPS" --reps 3 >>"$OUT/inferrs.jsonl"
  for m in "mdn.py --net user" logreg.py bnn.py pca.py schools.py; do
    peer $m --steps "$NP_STEPS" --rep "$rep"
  done
done
if [ -n "$SCALING_ROWS" ]; then
  target/release/examples/bench_models --models logreg --rows "$SCALING_ROWS" --steps 200 --reps 3 \
    >>"$OUT/scaling.jsonl"
  for n in ${SCALING_ROWS//,/ }; do
    steps=$(( n >= 1000000 ? 100 : (n >= 100000 ? 300 : NP_STEPS) ))
    peer logreg.py --rows "$n" --steps "$steps" --tag scaling
  done
fi
"$PY" - "$OUT" <<'PYEOF'
import json, os, statistics, sys
out = sys.argv[1]
def lines(name):
    path = f"{out}/{name}"
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip().startswith("{")]
inf = {}
for r in lines("inferrs.jsonl"):
    inf.setdefault(r["model"], []).append(r["ms_per_step"])
npy = {}
for r in lines("numpyro.jsonl"):
    if r.get("tag") == "scaling":
        continue
    npy.setdefault((r.get("model", "?"), r.get("variant", "?")), []).append(r["ms_per_step"])
peer = {"mdn_user_burn": "mdn_user", "mdn_user_fused": "mdn_user", "mdn_mlp": "mdn_user",
        "logreg": "logreg", "bnn": "bnn", "pca": "pca", "schools": "schools"}
print(f"{'model':16} {'inferrs ms':>11} {'NumPyro svi.run':>16} {'scan_aot':>9} {'ratio svi.run':>14} {'ratio scan':>11}")
for m, xs in inf.items():
    a = statistics.median(xs)
    def med(v):
        for (pm, var), ys in npy.items():
            if pm.startswith(peer[m]) and var == v:
                return statistics.median(ys)
        return float("nan")
    s, c = med("svi.run"), med("scan_aot")
    print(f"{m:16} {a:11.3f} {s:16.3f} {c:9.3f} {a / s:14.2f} {a / c:11.2f}")
scaling = lines("scaling.jsonl")
if scaling:
    peer_rows = {}
    for r in lines("numpyro.jsonl"):
        if r.get("tag") == "scaling":
            peer_rows.setdefault((r["rows"], r["variant"]), r["ms_per_step"])
    print("\nlogistic regression scaling (ms/step)")
    print(f"{'rows':>9} {'inferrs':>9} {'svi.run':>9} {'scan_aot':>9} {'ratio svi.run':>14} {'ns/row inferrs':>15}")
    for r in scaling:
        n, a = r["rows"], r["ms_per_step"]
        s = peer_rows.get((n, "svi.run"), float("nan"))
        c = peer_rows.get((n, "scan_aot"), float("nan"))
        print(f"{n:9d} {a:9.3f} {s:9.3f} {c:9.3f} {a / s:14.2f} {1e6 * a / n:15.1f}")
    # Least squares of time per step on rows: fixed cost + per-row cost, each side.
    def fit(points):
        xs, ys = zip(*points)
        mx, my = statistics.mean(xs), statistics.mean(ys)
        b = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)
        return my - b * mx, b
    for name, pts in [("inferrs", [(r["rows"], r["ms_per_step"]) for r in scaling]),
                      ("NumPyro svi.run", [(n, v) for (n, var), v in peer_rows.items() if var == "svi.run"])]:
        if len(pts) >= 2:
            a, b = fit(pts)
            print(f"{name}: {1e3 * a:.1f} us + {1e6 * b:.1f} ns per row")
print(f"(raw lines in {out})")
PYEOF
