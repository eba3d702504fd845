"""Open an InferenceData Zarr store (e.g. one written by `inferrs-arviz`) with ArviZ.

Prints the groups, each group's dataset, the sample stats `diverging` and `tree_depth`, and
`az.summary(idata)` of the posterior.

`arviz.from_zarr(path)` needs zarr < 3 (ArviZ refuses zarr 3) and an xarray that still
supports zarr 2 (xarray < 2025.7):

    python3 -m venv /work/venv-arviz
    /work/venv-arviz/bin/pip install arviz "zarr<3" "xarray<2025.7"

With zarr >= 3 the script opens the store as ArviZ advises there instead:
`xarray.open_datatree(path, engine="zarr")` then `az.InferenceData.from_datatree`.

Run:

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


if __name__ == "__main__":
    main()
