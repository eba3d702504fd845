#!/usr/bin/env bash
# The JAX peer of the MDN (../shared/peers/mdn_jax.py: plain JAX + optax, Adam 0.01, 4000
# full-batch steps, Keras-default init from --seed) over many seeds at another network size,
# to set inferrs' seed table (scripts/mdn_seeds.sh) beside what the standard recipe reaches at
# that size: one line per seed (held-out NLL and its excess over the true p(y | x) on the
# peers' held-out points), then the median and largest excess and how many seeds are above 0.1.
#
#   scripts/mdn_peer_seeds.sh [-n SEEDS] [-H HIDDEN] [-K COMPONENTS] [-s exp|softplus] [-t THREADS]
#                             [-d DATA.json]
#   scripts/mdn_peer_seeds.sh -w FILE.json
#
# -d fits on other data than the peers' own draws: a JSON object with x_train, y_train, x_test
# and y_test (inferrs' example draws its data with Rust's StdRng, so its points differ from the
# peers' numpy ones, and an excess is only comparable on the same points;
# `target/release/examples/mdn --write-data FILE.json` writes the example's). -w writes the
# peers' own draws in that format and exits, for `scripts/mdn_seeds.sh -x "--data FILE.json"`.
#
# Needs the peers' Python environment (PEERS_PYTHON, default /work/venv-numpyro/bin/python, with
# jax and optax). Not part of CI: about 10 s per seed.
set -uo pipefail
cd "$(dirname "$0")/.."
peers=${PEERS_DIR:-../shared/peers}
python=${PEERS_PYTHON:-/work/venv-numpyro/bin/python}
n=20 hidden=15 components=20 scale=exp threads=2 data="" write=""
while getopts "n:H:K:s:t:d:w:" opt; do
  case $opt in
    n) n=$OPTARG ;;
    H) hidden=$OPTARG ;;
    K) components=$OPTARG ;;
    s) scale=$OPTARG ;;
    t) threads=$OPTARG ;;
    d) data=$(realpath "$OPTARG") ;;
    w) write=$OPTARG ;;
    *) echo "usage: $0 [-n SEEDS] [-H HIDDEN] [-K COMPONENTS] [-s exp|softplus] [-t THREADS]"; exit 2 ;;
  esac
done
export PEERS_NO_WAIT=1
if [ -n "$write" ]; then
  "$python" - "$peers" "$write" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
import common
(xt, yt), (xh, yh) = common.train_data(), common.test_data()
json.dump(dict(x_train=xt[:, 0].tolist(), y_train=yt.tolist(), x_test=xh[:, 0].tolist(),
               y_test=yh.tolist()), open(sys.argv[2], "w"))
PY
  exit
fi
"$python" - "$peers" "$n" "$hidden" "$components" "$scale" "$threads" "$data" <<'PY'
import json, os, runpy, statistics, subprocess, sys
peers, n, hidden, components, scale, threads, data = sys.argv[1], *map(int, sys.argv[2:5]), *sys.argv[5:8]
sys.path.insert(0, peers)
import reference  # noqa: E402  (the true p(y | x) by quadrature)
import common, numpy as np  # noqa: E402
patch = ""
if data:
    patch = f"""
import json, numpy as np
_d = json.load(open({data!r}))
_col = lambda k: np.asarray(_d[k], np.float32)
common.train_data = lambda: (_col('x_train').reshape(-1, 1), _col('y_train'))
common.test_data = lambda: (_col('x_test').reshape(-1, 1), _col('y_test'))
"""
    exec(patch)
x, y = common.test_data()
x, y = x[:, 0].astype(np.float64), y.astype(np.float64)
lp = -0.5 * (x - reference.f(y)) ** 2 - 0.5 * np.log(2 * np.pi) - reference.log_z(x, 200001)
floor = float(-lp.mean())
code = f"""
import sys; sys.path.insert(0, {peers!r})
import common; common.H = {hidden}; common.K = {components}
{patch}
import json
saved = []
common.save = lambda rec, args: saved.append(rec)
import runpy; runpy.run_path({os.path.join(peers, 'mdn_jax.py')!r}, run_name='__main__')
print('RESULT', json.dumps(saved[-1]))
"""
excess = []
for s in range(n):
    out = subprocess.run([sys.executable, "-c", code, "--seed", str(s), "--threads", threads,
                          "--scale", scale, "--no-save"], capture_output=True, text=True)
    line = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
    if not line:
        print(f"seed {s:2}: FAILED: {(out.stderr.strip().splitlines() or ['no output'])[-1]}")
        continue
    rec = json.loads(line[-1][7:])
    e = rec["test_nll"] - floor
    excess.append(e)
    flag = "  STUCK" if e > 0.1 else ""
    print(f"seed {s:2}: heldout {rec['test_nll']:.4f} floor {floor:.4f} excess {e:.4f} "
          f"train {rec['train_nll']:.4f}{flag}", flush=True)
if excess:
    print(f"JAX peer {hidden}-{hidden}, K={components}, {scale} scales, "
          f"{'data ' + os.path.basename(data) if data else 'the peers data'}: {len(excess)} of {n} seeds; "
          f"median excess {statistics.median(excess):.4f}, max {max(excess):.4f}, "
          f"above 0.1: {sum(e > 0.1 for e in excess)}")
PY
