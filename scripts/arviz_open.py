"""Open an InferenceData Zarr store (e.g. one written by `inferrs-arviz`) with ArviZ.

Prints the groups, each group's dataset, the sample stats `diverging` and `tree_depth`,
`az.summary(idata)` of the posterior, `az.loo(idata)` when there is a log-likelihood, and the
posterior predictive's mean and sd beside the observed data.

`arviz.from_zarr(path)` needs zarr < 3 (ArviZ refuses zarr 3) and an xarray that still
supports zarr 2 (xarray < 2025.7):

    python3 -m venv /work/venv-arviz
    /work/venv-arviz/bin/pip install arviz "zarr<3" "xarray<2025.7"

With zarr >= 3 the script opens the store as ArviZ advises there instead:
`xarray.open_datatree(path, engine="zarr")` then `az.InferenceData.from_datatree`.

Run, on eight schools' NUTS and VI posteriors:

    cargo run --release --features arviz --example eight_schools -- --zarr /tmp/eight_schools
    /work/venv-arviz/bin/python scripts/arviz_open.py /tmp/eight_schools_nuts.zarr
    /work/venv-arviz/bin/python scripts/arviz_open.py /tmp/eight_schools_vi.zarr

or on the crate's small demo store:

    cargo run -p inferrs-arviz --example write_demo -- /tmp/demo.zarr
    /work/venv-arviz/bin/python scripts/arviz_open.py /tmp/demo.zarr
"""

import sys

import arviz as az
import pandas as pd
import xarray as xr
import zarr


def open_store(path: str) -> az.InferenceData:
    if int(zarr.__version__.split(".")[0]) < 3:
        return az.from_zarr(path)
    return az.InferenceData.from_datatree(xr.open_datatree(path, engine="zarr"))


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} STORE.zarr")
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print(f"arviz {az.__version__}, xarray {xr.__version__}, zarr {zarr.__version__}")
    idata = open_store(sys.argv[1])
    print(idata)
    for group in idata.groups():
        print(f"--- {group}")
        print(idata[group])
    if "sample_stats" in idata.groups():
        stats = idata["sample_stats"]
        for name in ("diverging", "tree_depth"):
            if name in stats:
                print(f"{name}: dtype {stats[name].dtype}, sum {int(stats[name].sum())}")
    print("--- az.summary(idata)")
    print(az.summary(idata))
    if "log_likelihood" in idata.groups():
        print("--- az.loo(idata)")
        print(az.loo(idata))
    if "posterior_predictive" in idata.groups() and "observed_data" in idata.groups():
        print("--- posterior predictive mean and sd against the observed data")
        for name in idata["observed_data"].data_vars:
            pp = idata["posterior_predictive"][name]
            frame = pd.DataFrame(
                {
                    "observed": idata["observed_data"][name].values.ravel(),
                    "pp_mean": pp.mean(("chain", "draw")).values.ravel(),
                    "pp_sd": pp.std(("chain", "draw")).values.ravel(),
                }
            )
            print(f"{name}:")
            print(frame)


if __name__ == "__main__":
    main()
