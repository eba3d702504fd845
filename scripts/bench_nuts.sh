#!/usr/bin/env bash
# NUTS ESS per second, inferrs against NumPyro, in one run on this machine: eight schools
# (non-centred, HalfCauchy(5)) and a logistic regression (N = 10^4, D = 20, the same rows on
# both sides), 4 chains of 1000 warm-up draws and 1000 draws. ESS per second is the bulk ESS
# of the slowest parameter over the sampling wall time, warm-up included (NumPyro's JIT
# compile excluded: see scripts/bench_nuts_numpyro.py). inferrs runs each model twice, with
# the log-joint's tape (the default) and with burn's autodiff (`Nuts::tape(false)`). Prints
# the ratio inferrs / NumPyro of each (above 1: inferrs is ahead).
#
# Not part of CI (it needs NumPyro). Usage: scripts/bench_nuts.sh
# Environment (defaults):
#   PEERS_VENV=/work/venv-numpyro   a venv with numpyro, jax and arviz:
#                                   python3 -m venv V && V/bin/pip install numpyro jax jaxlib arviz
#   THREADS=2                       both sides pinned to the first THREADS CPUs
#   LOG_DIR=out/bench_nuts          the runs' output
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${PEERS_VENV:-/work/venv-numpyro}
THREADS=${THREADS:-2}
LOG_DIR=${LOG_DIR:-out/bench_nuts}
CPUS="0-$((THREADS - 1))"
mkdir -p "$LOG_DIR"
cargo build --release --example bench_nuts
taskset -c "$CPUS" "$VENV/bin/python" scripts/bench_nuts_numpyro.py --threads "$THREADS" \
    --write-data "$LOG_DIR/logreg.json" | grep '^{' > "$LOG_DIR/numpyro.jsonl"
RAYON_NUM_THREADS=$THREADS taskset -c "$CPUS" target/release/examples/bench_nuts \
    --data "$LOG_DIR/logreg.json" > "$LOG_DIR/inferrs.jsonl"
python3 - "$LOG_DIR" <<'PY'
import json, sys
d = sys.argv[1]
numpyro = {}
for line in open(f"{d}/numpyro.jsonl"):
    r = json.loads(line)
    numpyro[r["model"]] = r
print(f"{'model':8} {'gradient':9} {'inferrs ESS/s':>14} {'NumPyro ESS/s':>14} {'ratio':>7}  (wall s: inferrs, NumPyro)")
for line in open(f"{d}/inferrs.jsonl"):
    a = json.loads(line)
    b = numpyro[a["model"]]
    print(f"{a['model']:8} {a['gradient']:9} {a['ess_per_s']:14.1f} {b['ess_per_s']:14.1f} "
          f"{a['ess_per_s'] / b['ess_per_s']:7.2f}  ({a['wall_s']:.2f}, {b['wall_s']:.2f})")
PY
