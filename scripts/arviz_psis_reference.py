"""Reference numbers for PSIS in `crates/inferrs-diagnostics`, computed by ArviZ itself.

Run from the repository root:

    pip install arviz==0.23.4
    python scripts/arviz_psis_reference.py

It writes `crates/inferrs-diagnostics/tests/data/arviz_psis.json`: for each fixed-seed vector of
log importance weights, the log-weights, `reff`, and what `az.psislw(log_weights, reff)` returns:
the Pareto shape estimate k-hat and (for S = 1000) the smoothed, normalised log-weights; for
S = 4000, to keep the file small, only k-hat, the log-sum-exp of the smoothed weights and the
first and largest few smoothed values. Log-weights are rounded to 8 decimals before ArviZ sees
them (no ties among the 400 largest), so the JSON holds exactly ArviZ's input in few characters; -inf (a zero weight) is written
as null. The test `crates/inferrs-diagnostics/tests/psis.rs` checks the Rust crate against them.
"""

import json
import os
import warnings

import numpy as np
from scipy import stats

warnings.simplefilter("ignore", FutureWarning)
import arviz as az  # noqa: E402

SEED = 20240
FULL_S = 1000


def t_target_normal_proposal(rng, s):
    """Normal(0, 1) proposal for a Student-t(3) target: the weights have a heavy tail."""
    x = rng.normal(size=s)
    return stats.t.logpdf(x, df=3) - stats.norm.logpdf(x)


def wide_normal_proposal(rng, s):
    """Normal(0, 2) proposal for a Normal(0, 1) target: bounded weights, k-hat low."""
    x = rng.normal(scale=2.0, size=s)
    return stats.norm.logpdf(x) - stats.norm.logpdf(x, scale=2.0)


def with_outliers(rng, s):
    """The wide-Normal log-weights with five large outliers."""
    lw = wide_normal_proposal(rng, s)
    idx = rng.choice(s, size=5, replace=False)
    lw[idx] += np.array([6.0, 8.0, 10.0, 12.0, 15.0])
    return lw


def cases():
    rng = np.random.default_rng(SEED)
    out = []
    for s in (FULL_S, 4000):
        out.append((f"t_target_normal_proposal_{s}", t_target_normal_proposal(rng, s), 1.0))
        out.append((f"wide_normal_proposal_{s}", wide_normal_proposal(rng, s), 1.0))
        out.append((f"outliers_{s}", with_outliers(rng, s), 1.0))
    # reff below 1 lengthens the tail (M = ceil(min(0.2 S, 3 sqrt(S / reff)))).
    out.append(("t_target_reff_0.6_1000", t_target_normal_proposal(rng, FULL_S), 0.6))
    # Zero weights (-inf log-weights) mixed in.
    lw = t_target_normal_proposal(rng, FULL_S)
    lw[rng.choice(FULL_S, size=10, replace=False)] = -np.inf
    out.append(("with_neg_inf_1000", lw, 1.0))
    return out


def enc(v):
    return None if np.isneginf(v) else float(v)


def main():
    out = {"arviz_version": az.__version__, "numpy_version": np.__version__, "seed": SEED, "cases": []}
    for name, lw, reff in cases():
        lw = np.round(lw, 8)
        # No ties among the largest values, where the tail order decides which weight gets which
        # smoothed value (ties in the body change nothing).
        top = np.sort(lw)[-400:]
        assert len(np.unique(top)) == len(top), f"{name}: ties in the tail"
        smoothed, k = az.psislw(lw.copy(), reff=reff)
        smoothed = np.asarray(smoothed)
        order = np.argsort(-smoothed, kind="stable")
        case = {
            "name": name,
            "reff": reff,
            "log_weights": [enc(v) for v in lw],
            "k_hat": float(k),
            "logsumexp": float(az.stats.stats_utils.logsumexp(smoothed)),
            "head": [enc(v) for v in smoothed[:10]],
            "largest_indices": [int(i) for i in order[:10]],
        }
        if len(lw) == FULL_S:
            case["smoothed"] = [enc(v) for v in smoothed]
        out["cases"].append(case)
        print(f"{name}: S={len(lw)} reff={reff} k_hat={float(k):.4f}")
    path = os.path.join(
        os.path.dirname(__file__), "..", "crates", "inferrs-diagnostics", "tests", "data",
        "arviz_psis.json",
    )
    with open(path, "w") as fh:
        json.dump(out, fh, indent=0)
        fh.write("\n")


if __name__ == "__main__":
    main()
