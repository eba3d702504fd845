"""NumPyro's minibatch SVI step on the model of `examples/bench_stream.rs`, for the ratio in
issue 10's benchmark: Bayesian logistic regression, D=20, w ~ N(0,1)^D, b ~ N(0,1),
y ~ Bernoulli(logits = x w + b) in a plate of N rows subsampled to batches of --batch rows
(scaled by N / batch), AutoNormal (locations 0, scales 0.1), Adam(0.01), 1 particle.

A user's loop: the rows in memory (numpy), a shuffled epoch cut into full batches, one jitted
`svi.update` per batch. The compile (first call) is excluded; the median over --reps runs of
--steps steps is printed as one JSON line.

    ../shared/peers/venv/bin/python scripts/bench_stream_numpyro.py --threads 2

Not part of CI: it needs the peers' Python environment (../shared/peers/README.md).
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "..", "..", "shared", "peers", "models")
sys.path.insert(0, PEERS)
import ptime  # noqa: E402  (pins the threads before jax is imported)

args = ptime.parse(2000, extra=lambda p: (p.add_argument("--batch", type=int, default=1024),
                                           p.add_argument("--reps", type=int, default=3)))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import numpyro  # noqa: E402
import numpyro.distributions as dist  # noqa: E402
from numpyro.infer import SVI, Trace_ELBO  # noqa: E402
from numpyro.infer.autoguide import AutoNormal  # noqa: E402
from numpyro.infer.initialization import init_to_value  # noqa: E402

D = 20
N = args.rows or 100_000
rng = np.random.default_rng(args.seed)
w_true = np.sin(0.7 * np.arange(D))
x = rng.standard_normal((N, D)).astype(np.float32)
y = (rng.random(N) < 1 / (1 + np.exp(-(x @ w_true - 0.5)))).astype(np.float32)


def model(x, y, n):
    w = numpyro.sample("w", dist.Normal(jnp.zeros(D), 1.0).to_event(1))
    b = numpyro.sample("b", dist.Normal(0.0, 1.0))
    with numpyro.plate("data", n, subsample_size=x.shape[0]):
        numpyro.sample("y", dist.Bernoulli(logits=x @ w + b), obs=y)


guide = AutoNormal(model, init_loc_fn=init_to_value(values={"w": jnp.zeros(D), "b": jnp.array(0.0)}),
                   init_scale=0.1)
svi = SVI(model, guide, numpyro.optim.Adam(step_size=args.lr), loss=Trace_ELBO())
m = args.batch
state = svi.init(jax.random.PRNGKey(args.seed), x[:m], y[:m], N)
update = jax.jit(svi.update, static_argnums=(3,))
state, loss = update(state, x[:m], y[:m], N)  # compile
jax.block_until_ready(loss)


def run(state, steps):
    done = 0
    while done < steps:
        order = rng.permutation(N)
        for start in range(0, N - m + 1, m):
            idx = order[start:start + m]
            state, loss = update(state, x[idx], y[idx], N)
            done += 1
            if done == steps:
                break
    jax.block_until_ready(loss)
    return state


times = []
for _ in range(args.reps):
    t = time.perf_counter()
    state = run(state, args.steps)
    times.append(time.perf_counter() - t)
times.sort()
med = times[len(times) // 2]
print(json.dumps(dict(side="numpyro", model="logreg_minibatch", rows=N, batch=m, steps=args.steps,
                      threads=args.threads, ms_per_step=1e3 * med / args.steps, runs_s=times,
                      versions=dict(jax=jax.__version__, numpyro=numpyro.__version__))))
