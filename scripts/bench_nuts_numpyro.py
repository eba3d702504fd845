"""NumPyro's NUTS on the models of `examples/bench_nuts.rs`: ESS per second, for the ratio
printed by `scripts/bench_nuts.sh`.

Models:
  schools  eight schools, non-centred: mu ~ N(0, 5), tau ~ HalfCauchy(5),
           theta_t ~ N(0, 1)^8, y ~ N(mu + tau theta_t, sigma) (the classic data).
  logreg   logistic regression, N = 10^4 rows, D = 20 features: w ~ N(0, 1)^D, b ~ N(0, 1),
           y ~ Bernoulli(logits = x w + b); the rows are simulated by `logreg_data`
           (x, w ~ N(0, 1) with numpy seeds 0 and 1, b = 0.5, y with seed 2) and, with
           --write-data PATH, written as JSON {"x", "y", "w", "b"} of float32 values for
           the Rust side (`bench_nuts --data PATH`).

NUTS with NumPyro's defaults (target accept 0.8, max tree depth 10, diagonal mass matrix).
Each model is run once in full first (with seed --seed + --reps) to compile it; then
--reps runs with seeds --seed, --seed + 1, ... are timed: run_s, the wall time of
`mcmc.run`, warm-up and sampling included, up to the draws being on the host. NumPyro 0.22
traces and compiles its sampling loop again on every `mcmc.run` (and for every chain when
sequential); a persistent compilation cache makes those compiles loads, and jit_s, the
time of jax's trace / lower / compile-or-load events within the run, is subtracted:
wall_s = run_s - jit_s. ESS per second is the minimum over the scalar parameters of the
bulk ESS (`arviz.ess(method="bulk")` on the chains x draws) over wall_s; over several
reps the run of median ESS per second is reported. One JSON line per model on stdout;
compile time, step sizes and a few posterior moments on stderr.

--threads 1 runs the chains one after the other in one single-threaded XLA device
("sequential"); --threads > 1 gives XLA one host device per chain ("parallel"). Pin the
CPUs with taskset: the script narrows its affinity to the first --threads allowed CPUs.

    python3 -m venv /work/venv-numpyro
    /work/venv-numpyro/bin/pip install numpyro jax jaxlib arviz
    taskset -c 0-1 /work/venv-numpyro/bin/python scripts/bench_nuts_numpyro.py --threads 2

Not part of CI (it needs NumPyro).
"""
import argparse
import json
import os
import sys
import tempfile
import time

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS

N, D, B_TRUE = 10_000, 20, 0.5
SCHOOLS_Y = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]
SCHOOLS_SIGMA = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0]


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=["schools", "logreg"], help="default: both")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--write-data", metavar="PATH", help="write the logreg rows as JSON")
    return p.parse_args()


def logreg_data():
    """The logistic regression's rows, float32: x (N, D), y (N,) in {0, 1}, w (D,)."""
    x = np.random.default_rng(0).standard_normal((N, D)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal(D).astype(np.float32)
    logits = x.astype(np.float64) @ w.astype(np.float64) + B_TRUE
    u = np.random.default_rng(2).random(N)
    y = (u < 1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
    return x, y, w


def write_data(path, x, y, w):
    # float32 -> float: Python's repr of the float64 holding the float32 value, which
    # parses back to that same value as f32 or as f64.
    rows = {"x": x.astype(float).tolist(), "y": y.astype(float).tolist()}
    rows.update(w=w.astype(float).tolist(), b=B_TRUE)
    with open(path, "w") as f:
        json.dump(rows, f)


def setup_jax(threads, chains, cache_dir):
    """Pins the CPUs and XLA's threads, sets the compilation cache and the JIT timer; must
    run before jax's first computation."""
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, set(cpus[:threads]))
    jax.config.update("jax_platforms", "cpu")
    # NumPyro 0.22's `mcmc.run` traces and compiles its loop again on every call (and per
    # chain when sequential): the persistent cache turns those compiles into loads.
    jax.config.update("jax_compilation_cache_dir", cache_dir)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    jax.monitoring.register_event_duration_secs_listener(on_event)
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = flags.strip()
    numpyro.set_host_device_count(chains if threads > 1 else 1)


def schools_model(sigma, y):
    mu = numpyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = numpyro.sample("tau", dist.HalfCauchy(5.0))
    with numpyro.plate("schools", sigma.shape[0]):
        theta_t = numpyro.sample("theta_t", dist.Normal(0.0, 1.0))
        numpyro.sample("y", dist.Normal(mu + tau * theta_t, sigma), obs=y)


def logreg_model(x, y):
    w = numpyro.sample("w", dist.Normal(jnp.zeros(x.shape[1]), 1.0).to_event(1))
    b = numpyro.sample("b", dist.Normal(0.0, 1.0))
    with numpyro.plate("rows", x.shape[0]):
        numpyro.sample("y", dist.Bernoulli(logits=x @ w + b), obs=y)


def scalar_draws(samples):
    """{"name" or "name[i]": (chains, draws)} from NumPyro's samples grouped by chain."""
    out = {}
    for name, a in samples.items():
        a = np.asarray(a)
        if a.ndim == 2:
            out[name] = a
        else:
            flat = a.reshape(a.shape[0], a.shape[1], -1)
            for i in range(flat.shape[2]):
                out[f"{name}[{i}]"] = flat[:, :, i]
    return out


JIT_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",  # includes loads from the cache
)
jit_spans = []  # (start, end) of each of JIT_EVENTS, perf_counter seconds


def on_event(event, duration, **_):
    if event in JIT_EVENTS:
        end = time.perf_counter()
        jit_spans.append((end - duration, end))


def union_length(spans):
    """The time covered by possibly nested intervals."""
    total, reach = 0.0, float("-inf")
    for a, b in sorted(spans):
        if b > reach:
            total += b - max(a, reach)
            reach = b
    return total


def timed_run(mcmc, seed, model_args):
    """One `mcmc.run`: (run seconds, JIT seconds within, draws and extra fields by chain)."""
    jit_spans.clear()
    t = time.perf_counter()
    mcmc.run(
        jax.random.PRNGKey(seed), *model_args, extra_fields=("diverging", "num_steps")
    )
    samples = jax.block_until_ready(mcmc.get_samples(group_by_chain=True))
    run = time.perf_counter() - t
    extra = mcmc.get_extra_fields(group_by_chain=True)
    return run, union_length(jit_spans), samples, extra


def figures(run, jit, samples, extra):
    """The figures of one timed run; ESS per second over the run less its JIT time."""
    wall = run - jit
    ess = {k: float(az.ess(v, method="bulk")) for k, v in scalar_draws(samples).items()}
    slowest = min(ess, key=ess.get)
    steps = np.asarray(extra["num_steps"]).astype(np.int64)
    depth = np.floor(np.log2(np.maximum(steps, 1))) + 1  # the tree's doublings
    return {
        "wall_s": round(wall, 3),
        "run_s": round(run, 3),
        "jit_s": round(jit, 3),
        "min_ess_bulk": round(ess[slowest], 1),
        "slowest": slowest,
        "ess_per_s": round(ess[slowest] / wall, 1),
        "divergences": int(np.asarray(extra["diverging"]).sum()),
        "mean_num_steps": round(float(steps.mean()), 2),
        "mean_tree_depth": round(float(depth.mean()), 2),
    }


def bench(name, model, model_args, args, chain_method):
    """Compiles with one full run, times --reps runs; prints the JSON line of the median."""
    mcmc = MCMC(
        NUTS(model),
        num_warmup=args.warmup,
        num_samples=args.draws,
        num_chains=args.chains,
        chain_method=chain_method,
        progress_bar=False,
    )
    compile_seed = args.seed + args.reps
    first_s = timed_run(mcmc, compile_seed, model_args)[0]
    runs = []
    for rep in range(args.reps):
        run, jit, samples, extra = timed_run(mcmc, args.seed + rep, model_args)
        step_size = np.asarray(mcmc.last_state.adapt_state.step_size).reshape(-1)
        row = figures(run, jit, samples, extra)
        runs.append((row, samples, step_size, args.seed + rep))
    runs.sort(key=lambda r: r[0]["ess_per_s"])
    row, samples, step_size, seed = runs[len(runs) // 2]
    log(f"{name}: compile run (seed {compile_seed}, compile included) {first_s:.2f} s")
    log(f"{name}: step size per chain {np.round(step_size, 4).tolist()}")
    for k in ("mu", "tau", "b"):
        if k in samples:
            a = np.asarray(samples[k])
            log(f"{name}: posterior {k} mean {a.mean():.3f} sd {a.std(ddof=1):.3f}")
    out = {"model": name, "impl": "numpyro", **row}
    out.update(
        step_size_mean=round(float(step_size.mean()), 4),
        chains=args.chains,
        chain_method=chain_method,
        warmup=args.warmup,
        draws=args.draws,
        seed=seed,
        compile="excluded: a full run with seed compile_seed first; wall_s = run_s - jit_s",
        compile_seed=compile_seed,
        reps=args.reps,
        ess_per_s_reps=[r[0]["ess_per_s"] for r in runs],
        threads=args.threads,
        numpyro=numpyro.__version__,
        jax=jax.__version__,
    )
    print(json.dumps(out), flush=True)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_all(args, x, y):
    devices = jax.local_device_count()
    chain_method = "parallel" if devices >= args.chains else "sequential"
    log(f"{devices} host device(s), {args.chains} chains: chain_method={chain_method}")
    jax_args = {
        "schools": (schools_model, (jnp.array(SCHOOLS_SIGMA), jnp.array(SCHOOLS_Y))),
        "logreg": (logreg_model, (jnp.asarray(x), jnp.asarray(y))),
    }
    for name in [args.model] if args.model else ["schools", "logreg"]:
        model, model_args = jax_args[name]
        bench(name, model, model_args, args, chain_method)


def main():
    args = parse()
    x, y, w = logreg_data()
    if args.write_data:
        write_data(args.write_data, x, y, w)
        log(f"logreg: rows written to {args.write_data}")
    with tempfile.TemporaryDirectory(prefix="jaxcc-") as cache_dir:
        setup_jax(args.threads, args.chains, cache_dir)
        run_all(args, x, y)


if __name__ == "__main__":
    main()
