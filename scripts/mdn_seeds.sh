#!/usr/bin/env bash
# The MDN example over many seeds: one line per seed (held-out NLL, the Bayes-optimal NLL, the
# excess, fit seconds; or the error), then the median and largest excess, how many seeds have
# an excess above 0.1 (stuck in a local optimum), and the median fit time.
#
#   scripts/mdn_seeds.sh [-n SEEDS] [-H HIDDEN] [-K COMPONENTS] [-j JOBS] [-o DIR] [-x "ARGS"]
#
# Defaults: 50 seeds (0-49) of the example's defaults (15 hidden units, 20 components), one
# run at a time (-j 2 runs two at once: faster, but each fit's time is then not its own).
# -x passes further options to the example (-x "--lr 0.005").
# Not part of CI: about 10 s per seed.
set -uo pipefail
cd "$(dirname "$0")/.."
n=50 hidden=15 components=20 jobs=1 out="" extra=""
while getopts "n:H:K:j:o:x:" opt; do
  case $opt in
    n) n=$OPTARG ;;
    H) hidden=$OPTARG ;;
    K) components=$OPTARG ;;
    j) jobs=$OPTARG ;;
    o) out=$OPTARG ;;
    x) extra=$OPTARG ;;
    *) echo "usage: $0 [-n SEEDS] [-H HIDDEN] [-K COMPONENTS] [-j JOBS] [-o DIR] [-x ARGS]"; exit 2 ;;
  esac
done
out=${out:-out/seeds-$hidden-$components}
mkdir -p "$out"
cargo build --release --example mdn >/dev/null 2>&1 || { echo "build failed"; exit 1; }
export hidden components out extra
seq 0 $((n - 1)) | xargs -P "$jobs" -I{} sh -c \
  'target/release/examples/mdn --seed {} --hidden $hidden --components $components $extra --quiet --out $out/{} >$out/{}.log 2>&1'
python3 - "$out" "$n" "$hidden" "$components" <<'PY'
import json, statistics, sys
out, n, hidden, components = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
excess, fits = [], []
for s in range(n):
    try:
        d = json.load(open(f"{out}/{s}/summary.json"))
    except OSError:
        tail = open(f"{out}/{s}.log").read().strip().splitlines()[-1:] or ["no output"]
        print(f"seed {s:2}: FAILED: {tail[0]}")
        continue
    excess.append(d["excess_nll"])
    fits.append(d["fit_seconds"])
    flag = "  STUCK" if d["excess_nll"] > 0.1 else ""
    print(f"seed {s:2}: heldout {d['heldout_nll']:.4f} bayes {d['bayes_nll']:.4f} "
          f"excess {d['excess_nll']:.4f} fit {d['fit_seconds']:.1f} s{flag}")
if excess:
    print(f"MixtureNet {hidden}-{hidden}, K={components}: {len(excess)} of {n} seeds ran; "
          f"median excess {statistics.median(excess):.4f}, max {max(excess):.4f}, "
          f"above 0.1: {sum(e > 0.1 for e in excess)}; median fit {statistics.median(fits):.1f} s")
PY
