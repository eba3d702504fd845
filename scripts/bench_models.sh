#!/usr/bin/env bash
# Issue 11's model suite against NumPyro, in one run: for REPS reps (default 3), alternating,
#   inferrs  target/release/examples/bench_models (median of its own 3 fits per rep)
#   NumPyro  ../shared/peers/models/{mdn,logreg,schools}.py (svi.run with its compile removed,
#            and the ahead-of-time compiled scan)
# then prints, per model, the medians over the reps and the ratios inferrs / NumPyro.
# The user MDN is timed three ways on the inferrs side: burn's tanh, inferrs::nn::tanh, and
# inferrs::nn::Mlp; NumPyro's is mdn.py --net user (the same 1-24-24 tanh network).
#
# Not part of CI (needs NumPyro). Usage: scripts/bench_models.sh [REPS]
# Environment (defaults): PEERS_MODELS=/work/shared/peers/models, NUMPYRO_PY=/work/venv-numpyro/bin/python,
# STEPS=500 (inferrs) NP_STEPS=2000 (NumPyro), THREADS=2. PEERS_NO_WAIT=1 skips the peers' wait
# for a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-3}
PEERS_MODELS=${PEERS_MODELS:-/work/shared/peers/models}
PY=${NUMPYRO_PY:-/work/venv-numpyro/bin/python}
STEPS=${STEPS:-500}
NP_STEPS=${NP_STEPS:-2000}
THREADS=${THREADS:-2}
OUT=$(mktemp -d)
cargo build --release --example bench_models >/dev/null
for rep in $(seq 1 "$REPS"); do
  target/release/examples/bench_models --steps "$STEPS" --reps 3 >>"$OUT/inferrs.jsonl"
  for m in "mdn.py --net user" logreg.py schools.py; do
    # shellcheck disable=SC2086
    (cd "$PEERS_MODELS" && "$PY" $m --steps "$NP_STEPS" --threads "$THREADS" --rep "$rep") \
      >>"$OUT/numpyro.jsonl" 2>"$OUT/numpyro.err" || { cat "$OUT/numpyro.err"; exit 1; }
  done
done
"$PY" - "$OUT" <<'PYEOF'
import json, statistics, sys
out = sys.argv[1]
inf, npy = {}, {}
for line in open(f"{out}/inferrs.jsonl"):
    r = json.loads(line); inf.setdefault(r["model"], []).append(r["ms_per_step"])
for line in open(f"{out}/numpyro.jsonl"):
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    model = r.get("model", "?")
    npy.setdefault((model, r.get("variant", "?")), []).append(r["ms_per_step"])
peer = {"mdn_user_burn": "mdn_user", "mdn_user_fused": "mdn_user", "mdn_mlp": "mdn_user",
        "logreg": "logreg", "schools": "schools"}
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
print(f"(raw lines in {out})")
PYEOF
