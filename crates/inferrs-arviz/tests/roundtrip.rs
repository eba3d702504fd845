//! Round trips through `write_zarr` / `read_zarr`, shape checks, and the atomic replace.

use std::path::{Path, PathBuf};

use inferrs_arviz::{
    ArvizError, InferenceData, OBSERVED_DATA, POSTERIOR, SAMPLE_STATS, Values, Variable,
};

/// A fresh, empty scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("inferrs-arviz-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Posterior (chain=2, draw=5; scalar `mu`, vector `theta`), sample stats (Bool `diverging`,
/// I64 `tree_depth`), observed data with its own dim.
fn example() -> InferenceData {
    let (chains, draws) = (2, 5);
    let n = chains * draws;
    // Values that are awkward in decimal, a negative zero, extremes and a NaN: bit-identity.
    let mu: Vec<f64> = (0..n)
        .map(|i| (i as f64 * 0.1).sin() / 3.0 + f64::EPSILON)
        .collect();
    let mut theta: Vec<f64> = (0..n * 3).map(|i| (i as f64).sqrt() * -1.7e-300).collect();
    theta[0] = -0.0;
    theta[1] = f64::MAX;
    theta[2] = f64::NAN;
    let mut idata = InferenceData::default();
    idata
        .group_mut(POSTERIOR)
        .add("mu", ["chain", "draw"], vec![chains, draws], mu)
        .unwrap()
        .add(
            "theta",
            ["chain", "draw", "theta_dim_0"],
            vec![chains, draws, 3],
            theta,
        )
        .unwrap()
        .set_attr("inference_library_version", "0.1.0-test");
    idata
        .group_mut(SAMPLE_STATS)
        .add(
            "diverging",
            ["chain", "draw"],
            vec![chains, draws],
            (0..n).map(|i| i % 3 == 1).collect::<Vec<bool>>(),
        )
        .unwrap()
        .add(
            "tree_depth",
            ["chain", "draw"],
            vec![chains, draws],
            (0..n as i64).map(|i| i - 3).collect::<Vec<i64>>(),
        )
        .unwrap()
        .add(
            "step_size",
            ["chain", "draw"],
            vec![chains, draws],
            vec![0.125_f32; n],
        )
        .unwrap();
    idata
        .group_mut(OBSERVED_DATA)
        .add("y", ["obs"], vec![4], vec![1.5_f64, -2.25, 1e-310, 7.0])
        .unwrap();
    idata
}

/// Bit patterns of the values, so NaN and -0.0 compare exactly.
fn bits(values: &Values) -> Vec<u64> {
    match values {
        Values::F64(v) => v.iter().map(|x| x.to_bits()).collect(),
        Values::F32(v) => v.iter().map(|x| u64::from(x.to_bits())).collect(),
        Values::I64(v) => v.iter().map(|&x| x as u64).collect(),
        Values::Bool(v) => v.iter().map(|&x| u64::from(x)).collect(),
    }
}

fn assert_same_data(written: &InferenceData, read: &InferenceData) {
    let mut names: Vec<_> = read.groups.keys().collect();
    names.sort();
    let mut expected: Vec<_> = written.groups.keys().collect();
    expected.sort();
    assert_eq!(names, expected);
    for (gname, group) in &written.groups {
        let back = read.group(gname).unwrap();
        let mut vars: Vec<_> = back.variables.keys().collect();
        vars.sort();
        let mut expected: Vec<_> = group.variables.keys().collect();
        expected.sort();
        assert_eq!(vars, expected, "variables of {gname}");
        for (vname, v) in &group.variables {
            let b = &back.variables[vname];
            assert_eq!(b.dims, v.dims, "{gname}/{vname} dims");
            assert_eq!(b.shape, v.shape, "{gname}/{vname} shape");
            assert_eq!(
                std::mem::discriminant(&b.values),
                std::mem::discriminant(&v.values),
                "{gname}/{vname} type"
            );
            assert_eq!(bits(&b.values), bits(&v.values), "{gname}/{vname} values");
        }
        for (key, value) in &group.attrs {
            assert_eq!(back.attrs.get(key), Some(value), "{gname} attr {key}");
        }
        assert_eq!(back.attrs["inference_library"], "inferrs");
        let created = back.attrs["created_at"].as_str().unwrap();
        assert!(
            created.len() == 20 && created.ends_with('Z') && created.as_bytes()[10] == b'T',
            "created_at = {created}"
        );
    }
}

#[test]
fn round_trip_is_bit_identical() {
    let dir = scratch("roundtrip");
    let store = dir.join("fit.zarr");
    let idata = example();
    idata.write_zarr(&store).unwrap();
    let back = InferenceData::read_zarr(&store).unwrap();
    assert_same_data(&idata, &back);
    // Groups in ArviZ's order; the default coordinates are not read back as variables.
    assert_eq!(
        back.groups.keys().collect::<Vec<_>>(),
        [POSTERIOR, SAMPLE_STATS, OBSERVED_DATA]
    );
    // ArviZ's layout: one sub-group per group, default coordinates beside the variables.
    assert_eq!(
        entries(&store),
        [
            ".zgroup",
            ".zmetadata",
            OBSERVED_DATA,
            POSTERIOR,
            SAMPLE_STATS
        ]
    );
    assert_eq!(
        entries(&store.join(POSTERIOR)),
        [
            ".zattrs",
            ".zgroup",
            "chain",
            "draw",
            "mu",
            "theta",
            "theta_dim_0"
        ]
    );
    assert_eq!(
        entries(&store.join(OBSERVED_DATA)),
        [".zattrs", ".zgroup", "obs", "y"]
    );
    let zattrs: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(store.join("posterior/theta/.zattrs")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        zattrs["_ARRAY_DIMENSIONS"],
        serde_json::json!(["chain", "draw", "theta_dim_0"])
    );
    // Nothing temporary left beside the store.
    assert_eq!(entries(&dir), ["fit.zarr"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_user_coordinate_is_kept_as_a_variable() {
    let dir = scratch("coord");
    let store = dir.join("c.zarr");
    let mut idata = InferenceData::default();
    idata
        .group_mut(OBSERVED_DATA)
        .add("y", ["t"], vec![3], vec![1.0_f64, 2.0, 3.0])
        .unwrap()
        .add("t", ["t"], vec![3], vec![10_i64, 20, 30])
        .unwrap();
    idata.write_zarr(&store).unwrap();
    let back = InferenceData::read_zarr(&store).unwrap();
    assert_eq!(
        back.group(OBSERVED_DATA).unwrap().variables["t"].values,
        Values::I64(vec![10, 20, 30])
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shape_mismatch_names_the_variable() {
    let err = Variable::new("mu", ["chain", "draw"], vec![2, 5], vec![0.0_f64; 9]).unwrap_err();
    assert!(matches!(&err, ArvizError::Shape { variable, .. } if variable == "mu"));
    assert!(err.to_string().contains("`mu`"), "{err}");

    let err = Variable::new("theta", ["chain"], vec![2, 5], vec![0.0_f64; 10]).unwrap_err();
    assert!(matches!(&err, ArvizError::Shape { variable, .. } if variable == "theta"));

    // Public fields edited after construction are checked again by write_zarr, before any
    // file is written.
    let dir = scratch("mismatch");
    let mut idata = example();
    idata.groups[POSTERIOR].variables["mu"].shape = vec![2, 4];
    let err = idata.write_zarr(dir.join("bad.zarr")).unwrap_err();
    assert!(
        matches!(&err, ArvizError::Shape { variable, .. } if variable == "mu"),
        "{err}"
    );
    assert!(entries(&dir).is_empty());

    // Inconsistent dim lengths within a group.
    let mut idata = InferenceData::default();
    idata
        .group_mut(POSTERIOR)
        .add("a", ["chain", "draw"], vec![2, 5], vec![0.0_f64; 10])
        .unwrap()
        .add("b", ["chain", "draw"], vec![2, 4], vec![0.0_f64; 8])
        .unwrap();
    let err = idata.write_zarr(dir.join("bad.zarr")).unwrap_err();
    assert!(
        matches!(&err, ArvizError::DimLength { variable, dim, .. } if variable == "b" && dim == "draw"),
        "{err}"
    );
    assert!(entries(&dir).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn writing_over_an_existing_store_replaces_it() {
    let dir = scratch("replace");
    let store = dir.join("fit.zarr");
    example().write_zarr(&store).unwrap();

    let mut second = InferenceData::default();
    second
        .group_mut(POSTERIOR)
        .add(
            "sigma",
            ["chain", "draw"],
            vec![1, 3],
            vec![1.0_f64, 2.0, 3.0],
        )
        .unwrap();
    second.write_zarr(&store).unwrap();
    let back = InferenceData::read_zarr(&store).unwrap();
    assert_same_data(&second, &back);
    assert_eq!(back.groups.len(), 1);
    assert!(!store.join(SAMPLE_STATS).exists());
    assert!(!store.join("posterior/mu").exists());
    assert_eq!(entries(&dir), ["fit.zarr"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_write_leaves_nothing_behind() {
    let dir = scratch("failed");
    // The parent does not exist: an error, and nothing is created.
    let missing = dir.join("no-such-dir").join("fit.zarr");
    let err = example().write_zarr(&missing).unwrap_err();
    assert!(matches!(err, ArvizError::Io { .. }), "{err}");
    assert!(entries(&dir).is_empty());

    // A failure leaves a previous store as it was: here an invalid variable name (found
    // before anything is written).
    let store = dir.join("fit.zarr");
    example().write_zarr(&store).unwrap();
    let mut bad = example();
    bad.group_mut(POSTERIOR)
        .add("a/b", ["chain", "draw"], vec![2, 5], vec![0.0_f64; 10])
        .unwrap();
    let err = bad.write_zarr(&store).unwrap_err();
    assert!(
        matches!(&err, ArvizError::InvalidName { name, .. } if name == "a/b"),
        "{err}"
    );
    assert_same_data(&example(), &InferenceData::read_zarr(&store).unwrap());
    assert_eq!(entries(&dir), ["fit.zarr"]);

    // A directory that is not a Zarr store is never replaced.
    let other = dir.join("notes");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("keep.txt"), "x").unwrap();
    let err = example().write_zarr(&other).unwrap_err();
    assert!(matches!(err, ArvizError::NotAStore { .. }), "{err}");
    assert_eq!(entries(&other), ["keep.txt"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn scalars_and_empty_dims_round_trip() {
    let dir = scratch("edge");
    let store = dir.join("e.zarr");
    let mut idata = InferenceData::default();
    idata
        .group_mut("constant_data")
        .add("n", Vec::<String>::new(), vec![], vec![42_i64])
        .unwrap()
        .add("empty", ["k"], vec![0], Vec::<f64>::new())
        .unwrap();
    idata.write_zarr(&store).unwrap();
    let back = InferenceData::read_zarr(&store).unwrap();
    assert_same_data(&idata, &back);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Regression: an array whose values all equal its fill value (`diverging` without a
/// divergence, all-zero `n_steps`) had no chunk file; with its null fill value (xarray's, for
/// integers and booleans) NumPy's zarr read it as uninitialised memory (ArviZ showed 2205
/// "divergences" of 4000). Every array now has its chunk on disk with the values' raw bytes.
#[test]
fn arrays_equal_to_their_fill_value_are_stored() {
    let dir = scratch("fill");
    let path = dir.join("fill.zarr");
    let mut idata = InferenceData::new();
    idata
        .group_mut("sample_stats")
        .add("diverging", ["chain", "draw"], vec![2, 3], vec![false; 6])
        .unwrap()
        .add("n_steps", ["chain", "draw"], vec![2, 3], vec![0i64; 6])
        .unwrap()
        .add("lp", ["chain", "draw"], vec![2, 3], vec![f64::NAN; 6])
        .unwrap();
    idata.write_zarr(&path).unwrap();
    let stats = path.join("sample_stats");
    let chunk = |name: &str| std::fs::read(stats.join(name).join("0.0")).unwrap();
    assert_eq!(chunk("diverging"), vec![0u8; 6]);
    assert_eq!(chunk("n_steps"), vec![0u8; 48]);
    assert_eq!(chunk("lp").len(), 48);
    let meta = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(stats.join(name).join(".zarray")).unwrap()).unwrap()
    };
    // No fill value to mask: xarray would read `false` and `0` as missing.
    assert_eq!(meta("diverging")["fill_value"], serde_json::Value::Null);
    assert_eq!(meta("n_steps")["fill_value"], serde_json::Value::Null);
    std::fs::remove_dir_all(&dir).unwrap();
}
