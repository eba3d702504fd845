#!/usr/bin/env bash
# Times the MDN fit of inferrs against its Python peers on this machine, in one run: for REPS reps
# (default 3), alternating, a STEPS-step fit (default 4000) of
#   inferrs          target/release/examples/bench_mdn --only inferrs (its "X ms/step" x STEPS),
#   NumPyro svi.run  mdn_numpyro.py --variants svi.run,scan_aot: train_s of svi.run is its first
#                    call less a 1-step call (which pays SVI init, trace and XLA compile); every
#                    svi.run call re-traces and re-compiles and the first also pays one-time
#                    warm-ups, so the same process also times
#   NumPyro scan_aot the scan of svi.update that svi.run runs, compiled ahead of time (exact),
#   JAX + optax      mdn_jax.py, a compiled lax.scan (train_s, without compile),
#   TFP xla          mdn_tfp.py --variant xla, the whole loop XLA-compiled (train_s: the second
#                    call),
# all with seed SEED (0) and THREADS threads (2), then prints a table: the median seconds per
# system, the min..max of the reps, foreign_cores (CPU cores other processes used while timed;
# ~0 = clean), the held-out NLL the peers print (bench_mdn prints none for inferrs), and the
# ratios inferrs / each peer and inferrs / fastest peer (medians of this run).
#
# Not part of CI: a full run takes about 10 minutes on 2 cores; on a machine that never goes quiet
# each run first waits the full 900 s (below), so use PEERS_NO_WAIT=1 there.
#
# Usage:  scripts/bench_peers.sh [REPS]
# Environment (defaults):
#   PEERS_DIR=/work/shared/peers       the peers' scripts (mdn_*.py, common.py)
#   PEERS_VENV=/work/peerenv/venv      venv with numpyro, jax, optax (NumPyro and JAX peers)
#   PEERS_VENV_TF=/work/peerenv/venv-tf  venv with tensorflow-cpu, tensorflow-probability, tf-keras
#   STEPS=4000 SEED=0 THREADS=2        the workload
#   PEERS_TIMEOUT=1500                 seconds after which one run is killed (quiet wait included)
#   PEERS_NO_WAIT=                     set to 1 to skip the wait for a quiet machine
#   LOG_DIR=out/bench_peers            each run's output, kept for inspection
# A peer whose venv is missing is skipped (said so); a run that fails or times out is reported
# and left out of the medians.
#
# Needs: cargo, python3 (standard library only) and the venvs below. Every run (inferrs too) first
# waits for a quiet machine (other processes below 0.15 cores over 3 s, at most 900 s: the rule of
# the peers' common.py) and records foreign_cores; `timeout` bounds each run so the script cannot
# hang. inferrs runs on the first THREADS CPUs (taskset, RAYON_NUM_THREADS), as the peers pin
# themselves.
#
# Installing the venvs (from the peers' README; PyTorch and Pyro are not timed here):
#   cd /work/peerenv   # or anywhere, then point PEERS_VENV / PEERS_VENV_TF there
#   python3 -m venv venv && venv/bin/pip install numpyro jax jaxlib optax
#   python3 -m venv venv-tf &&
#     venv-tf/bin/pip install tensorflow-cpu tensorflow-probability tf-keras
# The peers by hand:
#   venv/bin/python mdn_numpyro.py --steps 4000 --seed 0 --threads 2 --no-save
#   venv-tf/bin/python mdn_tfp.py --variant xla --steps 4000 --seed 0 --threads 2 --no-save
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${1:-${REPS:-3}}
STEPS=${STEPS:-4000}
SEED=${SEED:-0}
THREADS=${THREADS:-2}
PEERS_DIR=${PEERS_DIR:-/work/shared/peers}
PEERS_VENV=${PEERS_VENV:-/work/peerenv/venv}
PEERS_VENV_TF=${PEERS_VENV_TF:-/work/peerenv/venv-tf}
PEERS_TIMEOUT=${PEERS_TIMEOUT:-1500}
LOG_DIR=${LOG_DIR:-out/bench_peers}
export PYTHONDONTWRITEBYTECODE=1

mkdir -p "$LOG_DIR"
results="$LOG_DIR/results.tsv" # system, rep, seconds, foreign_cores, waited_s, held-out NLL, note
: >"$results"

echo "bench_peers: $STEPS steps, seed $SEED, $THREADS threads, $REPS reps (alternating)"
echo "  $(uptime)"

echo "building bench_mdn (cargo build --release --example bench_mdn) ..."
if ! cargo build --release --example bench_mdn >"$LOG_DIR/build.log" 2>&1; then
  echo "build failed: see $LOG_DIR/build.log"
  tail -n 20 "$LOG_DIR/build.log"
  exit 1
fi

# The peers to run: name, venv, script and its extra flags.
peers=()
have_peer() { # name venv script
  if [[ -x "$2/bin/python" ]]; then
    if [[ -r "$PEERS_DIR/$3" ]]; then
      peers+=("$1")
    else
      echo "skipping $1: $PEERS_DIR/$3 not found"
    fi
  else
    echo "skipping $1: no venv at $2 (see the header of $0 to install it)"
  fi
}
have_peer NumPyro "$PEERS_VENV" mdn_numpyro.py
have_peer "JAX+optax scan" "$PEERS_VENV" mdn_jax.py
have_peer "TFP xla" "$PEERS_VENV_TF" mdn_tfp.py

# First THREADS CPUs of this process's affinity, as the peers' common.setup_threads picks them.
cpus=$(python3 -c \
  "import os; print(','.join(map(str, sorted(os.sched_getaffinity(0))[:$THREADS])))")
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "$cpus"); fi

# Python helpers (standard library only), written next to the logs.
# timed.py OUT CMD...: runs CMD after the peers' quiet wait and writes rc, wall_s, foreign_cores,
# waited_s (JSON) to OUT; the peers measure these themselves, this is for inferrs.
cat >"$LOG_DIR/timed.py" <<'PY'
import json, os, resource, subprocess, sys, time


def busy():
    with open("/proc/stat") as f:
        v = [int(t) for t in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.time()
while not os.environ.get("PEERS_NO_WAIT"):
    b0 = busy(); time.sleep(3.0); b1 = busy()
    if (b1 - b0) / 3.0 < 0.15 or time.time() - t0 > 900:
        break
waited = time.time() - t0
c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
b0, w0 = busy(), time.perf_counter()
rc = subprocess.call(cmd)
s = time.perf_counter() - w0
c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
own = c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime
with open(out, "w") as f:
    json.dump(dict(rc=rc, wall_s=s, foreign_cores=max(0.0, (busy() - b0 - own) / s),
                   waited_s=waited), f)
sys.exit(rc)
PY

# row.py inferrs META MS STEPS LOSS | row.py NAME LOG: prints result rows,
# "name<TAB>seconds<TAB>foreign_cores<TAB>waited_s<TAB>held-out NLL<TAB>note". A peer's records are
# its stdout lines starting with "{" (common.save prints one JSON line per variant); NumPyro's rows
# are named by variant.
cat >"$LOG_DIR/row.py" <<'PY'
import json, sys

if sys.argv[1] == "inferrs":
    meta, ms, steps, loss = sys.argv[2:6]
    with open(meta) as f:
        m = json.load(f)
    print(f"inferrs\t{float(ms) * int(steps) / 1e3:.4f}\t{m['foreign_cores']:.3f}\t"
          f"{m['waited_s']:.1f}\tNA\t{ms} ms/step, final train loss/row {loss}")
else:
    with open(sys.argv[2]) as f:
        recs = [json.loads(line) for line in f if line.startswith("{")]
    if not recs:
        sys.exit("no JSON result line")
    for r in recs:
        name = sys.argv[1]
        note = f"compile {r.get('compile_s', 0):.1f} s"
        if r["peer"] == "numpyro":
            name = f"NumPyro {r['variant']}"
        if "total_second_s" in r:  # svi.run: every call re-traces and re-compiles
            note += (f"; first call {r['total_first_s']:.2f} s, second {r['total_second_s']:.2f} s,"
                     f" 1-step {r['one_step_call_s']:.2f} s")
        if r.get("diverged"):
            note += "; DIVERGED (NaN)"
        note += "; " + " ".join(f"{k} {v}" for k, v in r.get("versions", {}).items())
        print(f"{name}\t{r['train_s']:.4f}\t{r['foreign_cores']:.3f}\t{r.get('waited_s', 0):.1f}\t"
              f"{r['test_nll']:.4f}\t{note}")
PY

# Records a failed run: name rep log "why".
failed() {
  printf '%s\t%s\tNA\tNA\tNA\tNA\t%s, see %s\n' "$1" "$2" "$4" "$3" >>"$results"
  printf 'rep %s: %-16s %s: %s\n' "$2" "$1" "$4" "$(tail -n 1 "$3" 2>/dev/null || true)"
}

# Why a command failed, from its exit status.
why() {
  if [[ $1 -eq 124 || $1 -eq 137 ]]; then
    echo "timed out after $PEERS_TIMEOUT s"
  else
    echo "failed (rc $1)"
  fi
}

run_inferrs() { # rep
  local log="$LOG_DIR/inferrs.$1.log" meta="$LOG_DIR/inferrs.$1.json" rc=0 ms loss line
  RAYON_NUM_THREADS=$THREADS timeout -k 10 "$PEERS_TIMEOUT" python3 "$LOG_DIR/timed.py" "$meta" \
    "${pin[@]}" target/release/examples/bench_mdn --epochs "$STEPS" --reps 1 --seed "$SEED" \
    --only inferrs >"$log" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]]; then failed inferrs "$1" "$log" "$(why "$rc")"; return; fi
  ms=$(sed -n 's/^inferrs: \([0-9.]*\) ms\/step.*/\1/p' "$log")
  loss=$(sed -n 's/.*final loss\/row \([^)]*\)).*/\1/p' "$log" | tail -n 1)
  if [[ -z $ms ]]; then failed inferrs "$1" "$log" "no 'inferrs: X ms/step' line"; return; fi
  line=$(python3 "$LOG_DIR/row.py" inferrs "$meta" "$ms" "$STEPS" "${loss:-NA}")
  record "$1" "$line"
}

run_peer() { # name rep
  local venv script flags=() tag
  case $1 in
    NumPyro)
      venv=$PEERS_VENV script=mdn_numpyro.py flags=(--variants svi.run,scan_aot) tag=numpyro ;;
    "JAX+optax scan") venv=$PEERS_VENV script=mdn_jax.py tag=jax ;;
    "TFP xla") venv=$PEERS_VENV_TF script=mdn_tfp.py flags=(--variant xla) tag=tfp ;;
  esac
  local log="$LOG_DIR/$tag.$2.log" rc=0 lines
  timeout -k 10 "$PEERS_TIMEOUT" "$venv/bin/python" "$PEERS_DIR/$script" "${flags[@]}" \
    --steps "$STEPS" --seed "$SEED" --threads "$THREADS" --no-save >"$log" 2>"$log.err" || rc=$?
  if [[ $rc -ne 0 ]]; then failed "$1" "$2" "$log.err" "$(why "$rc")"; return; fi
  if ! lines=$(python3 "$LOG_DIR/row.py" "$1" "$log" 2>>"$log.err"); then
    failed "$1" "$2" "$log.err" "no result line"
    return
  fi
  record "$2" "$lines"
}

# Appends row.py's rows to the results (with the rep) and prints them: rep rows.
record() {
  local name s f w n note
  while IFS=$'\t' read -r name s f w n note; do
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$1" "$s" "$f" "$w" "$n" "$note" >>"$results"
    printf 'rep %s: %-16s %8.2f s  foreign_cores %s  waited %s s  held-out NLL %s  (%s)\n' \
      "$1" "$name" "$s" "$f" "$w" "$n" "$note"
  done <<<"$2"
}

for ((rep = 0; rep < REPS; rep++)); do
  run_inferrs "$rep"
  for p in "${peers[@]}"; do run_peer "$p" "$rep"; done
done

echo "  $(uptime)"
python3 - "$results" "$STEPS" <<'PY'
import statistics, sys

rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
steps = sys.argv[2]
order = []
for r in rows:
    if r[0] not in order:
        order.append(r[0])
ok = {n: [r for r in rows if r[0] == n and r[2] != "NA"] for n in order}
med = {n: statistics.median(float(r[2]) for r in v) for n, v in ok.items() if v}
print(f"\nmedians over the reps that ran ({steps} steps; spread = min..max of the reps):")
print(f"  {'system':16} {'seconds':>8}  {'min..max s':>15}  {'foreign_cores':>13}  "
      f"{'held-out NLL':>12}  {'inferrs / this':>14}  runs")
for n in order:
    v, total = ok[n], sum(1 for r in rows if r[0] == n)
    if not v:
        print(f"  {n:16} {'-':>8}  all {total} runs failed")
        continue
    s = [float(r[2]) for r in v]
    f = statistics.median(float(r[3]) for r in v)
    nll = [float(r[5]) for r in v if r[5] != "NA"]
    nll = f"{statistics.median(nll):.4f}" if nll else "-"
    ratio = "-"
    if "inferrs" in med and n != "inferrs" and med[n] > 0:
        ratio = f"{med['inferrs'] / med[n]:.3f}"
    spread = f"{min(s):.2f}..{max(s):.2f}"
    print(f"  {n:16} {med[n]:8.2f}  {spread:>15}  {f:13.2f}  {nll:>12}  {ratio:>14}  "
          f"{len(v)}/{total}")
peers = {n: m for n, m in med.items() if n != "inferrs" and m > 0}
if "inferrs" in med and peers:
    fastest = min(peers, key=peers.get)
    print(f"  inferrs / fastest peer ({fastest}) = {med['inferrs'] / peers[fastest]:.3f}")
print("  (held-out NLL: mean -log p(y|x) over the 5000 held-out points, as the peers print it;\n"
      "   bench_mdn prints none for inferrs: its rep lines give the fit's final loss per row,\n"
      "   which also counts x ~ Normal(0, 10) and so is not comparable)")
PY
echo "per-run output: $LOG_DIR"
