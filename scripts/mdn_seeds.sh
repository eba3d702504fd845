#!/usr/bin/env bash
# Runs the default MDN example for seeds 0..N-1 (default 10) and prints one line per seed:
# held-out NLL, Bayes-optimal NLL, excess, fit seconds, or the error if the fit failed (NaN).
# Then the median excess of the first three seeds. Not part of CI (about a minute per seed).
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-10}
cargo build --release --example mdn >/dev/null 2>&1 || { echo "build failed"; exit 1; }
out=${OUT:-out/seeds}
for ((s = 0; s < n; s++)); do
  if target/release/examples/mdn --seed "$s" --quiet --out "$out/$s" >"$out.$s.log" 2>&1; then
    python3 -c "import json,sys; d=json.load(open('$out/$s/summary.json')); print(f\"seed {d['seed']}: heldout {d['heldout_nll']:.4f} bayes {d['bayes_nll']:.4f} excess {d['excess_nll']:.4f} fit {d['fit_seconds']:.1f}s\")"
  else
    echo "seed $s: FAILED: $(tail -1 "$out.$s.log")"
  fi
done
python3 - "$out" <<'PY'
import json, sys, statistics
ex = []
for s in range(3):
    try:
        ex.append(json.load(open(f"{sys.argv[1]}/{s}/summary.json"))["excess_nll"])
    except OSError:
        pass
if ex:
    print(f"median excess of seeds 0-2: {statistics.median(ex):.4f}")
PY
