"""Reference numbers for `crates/inferrs-diagnostics`, computed by ArviZ itself.

Run from the repository root:

    pip install arviz==0.23.4
    python scripts/arviz_reference.py

It writes `crates/inferrs-diagnostics/tests/data/arviz_reference.json`: for each draw set, the
draws (chains x draws) and ArviZ's R-hat (rank), bulk and tail ESS, MCSE of the mean and of the
sd, the 94% HDI, mean and sd (ddof=1, as `az.summary`), and `az.summary`'s own row. The test
`crates/inferrs-diagnostics/tests/arviz.rs` checks the Rust crate against every number.
"""

import json
import os
import warnings

import numpy as np

warnings.simplefilter("ignore", FutureWarning)
import arviz as az  # noqa: E402

SEED = 20211
CHAINS, DRAWS = 4, 500


def ar1(rng, chains, draws, rho):
    """AR(1) chains x_t = rho x_{t-1} + sqrt(1 - rho^2) e_t, started from the stationary law."""
    x = np.empty((chains, draws))
    x[:, 0] = rng.normal(size=chains)
    e = rng.normal(size=(chains, draws)) * np.sqrt(1.0 - rho**2)
    for t in range(1, draws):
        x[:, t] = rho * x[:, t - 1] + e[:, t]
    return x


def draw_sets():
    rng = np.random.default_rng(SEED)
    sets = {}
    sets["iid_normal"] = rng.normal(loc=1.5, scale=2.0, size=(CHAINS, DRAWS))
    sets["ar1_rho_0.9"] = ar1(rng, CHAINS, DRAWS, 0.9)
    sets["shifted_means"] = rng.normal(size=(CHAINS, DRAWS)) + np.array([[0.0], [0.0], [0.5], [1.0]])
    sets["student_t_df3"] = rng.standard_t(3, size=(CHAINS, DRAWS))
    # Extra sets: ties (average ranks), and an odd draw count (the split drops the middle draw).
    sets["ties_rounded"] = np.round(rng.normal(size=(CHAINS, DRAWS)) * 2.0) / 2.0
    sets["odd_3x101_ar1"] = ar1(rng, 3, 101, 0.5)
    return sets


def reference(x):
    ds = az.convert_to_dataset({"x": x})
    f = lambda d: float(d["x"].values)  # noqa: E731
    hdi = az.hdi(ds, hdi_prob=0.94)["x"].values
    summary = az.summary(ds, round_to="none")
    row = summary.loc["x"]
    return {
        "mean": float(np.mean(x)),
        "sd": float(np.std(x, ddof=1)),
        "r_hat": f(az.rhat(ds)),  # method="rank" (the default)
        "ess_bulk": f(az.ess(ds, method="bulk")),
        "ess_tail": f(az.ess(ds, method="tail")),
        "ess_mean": f(az.ess(ds, method="mean")),
        "mcse_mean": f(az.mcse(ds, method="mean")),
        "mcse_sd": f(az.mcse(ds, method="sd")),
        "hdi_3%": float(hdi[0]),
        "hdi_97%": float(hdi[1]),
        "summary": {k: float(row[k]) for k in summary.columns},
    }


def main():
    out = {
        "arviz_version": az.__version__,
        "numpy_version": np.__version__,
        "seed": SEED,
        "hdi_prob": 0.94,
        "sets": [],
    }
    for name, x in draw_sets().items():
        out["sets"].append({"name": name, "draws": x.tolist(), "expected": reference(x)})
    path = os.path.join(
        os.path.dirname(__file__), "..", "crates", "inferrs-diagnostics", "tests", "data",
        "arviz_reference.json",
    )
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    for s in out["sets"]:
        print(s["name"], {k: round(v, 4) for k, v in s["expected"].items() if k != "summary"})


if __name__ == "__main__":
    main()
