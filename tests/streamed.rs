//! Data larger than memory: streamed sources (CSV, and Parquet with the `parquet` feature)
//! give fits bit-identical to the same rows in memory, their shuffles are seeded and visit
//! every row once, bad files are errors naming the file, the column and the row; queries run
//! in chunks of rows with the global variables drawn once per draw.

use std::path::{Path, PathBuf};

use inferrs::prelude::*;
use inferrs::{Batch, Error};
use rand::SeedableRng;
use rand_distr::{Distribution as _, Normal as RNormal};

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("inferrs-streamed-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `n` rows of `x ~ N(0, 1)`, `y = 2 x - 1 + N(0, 1)` (seed `seed`).
fn regression_rows(n: usize, seed: u64) -> Data {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let d = RNormal::new(0.0, 1.0).unwrap();
    let x: Vec<f32> = (0..n).map(|_| d.sample(&mut rng) as f32).collect();
    let y: Vec<f32> = x
        .iter()
        .map(|&x| (2.0 * f64::from(x) - 1.0 + d.sample(&mut rng)) as f32)
        .collect();
    Data::new().with("x", x).unwrap().with("y", y).unwrap()
}

/// Writes `data` as CSV with every value in Rust's shortest round-trip form, so that the
/// file parses back to the same `f32` bits.
fn write_csv(data: &Data, path: &Path) {
    let names: Vec<&str> = data.names().collect();
    let mut text = names.join(",");
    text.push('\n');
    for r in 0..data.rows().unwrap() {
        let row: Vec<String> = names
            .iter()
            .map(|n| data.get(n).unwrap().values()[r].to_string())
            .collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

macro_rules! regression {
    () => {
        probmodel! {
            w ~ Normal(0.0, 1.0);
            b ~ Normal(0.0, 1.0);
            datamodel {
                x ~ Normal(0.0, 10.0);
                y ~ Normal(w * x + b, 1.0);
            }
        }
    };
}

/// A minibatch fit of the conjugate regression on `source`: its losses and 50 posterior
/// draws of `w` and `b`, as bits.
fn fit_bits(source: &mut dyn DataSource) -> (Vec<u64>, Vec<u32>) {
    let mut model = regression!();
    let vi = VI::new(30)
        .lr(0.05)
        .batch_size(16)
        .guide(AutoNormal::default())
        .seed(8)
        .quiet(true);
    let report = model.fit_source(source, vi).unwrap();
    let draws = model.posterior(["w", "b"]).unwrap().sample_n(50).unwrap();
    let bits = ["w", "b"]
        .iter()
        .flat_map(|n| draws[*n].to_vec())
        .map(f32::to_bits)
        .collect();
    (report.losses.iter().map(|l| l.to_bits()).collect(), bits)
}

/// 100 rows through a CSV file whose shuffle buffer holds every row: the same losses and
/// posterior draws, bit for bit, as the rows in memory with the same seed and batch size.
#[test]
fn streamed_csv_fits_bit_identical_to_memory() {
    let dir = scratch("csv-identical");
    let data = regression_rows(100, 1);
    let path = dir.join("rows.csv");
    write_csv(&data, &path);
    let mut csv = CsvSource::open(&path).unwrap();
    assert_eq!(csv.rows(), 100);
    assert_eq!(csv.names(), ["x", "y"]);
    let memory = fit_bits(&mut data.clone());
    assert_eq!(fit_bits(&mut csv), memory);
}

/// A local latent per row (`z_i ~ N(mu, 1)`, `y_i ~ N(z_i, 0.5)`) fitted from a CSV file:
/// the per-row q is read and updated at the rows of each batch, bit-identical to memory.
#[test]
fn streamed_local_latents_match_memory() {
    let dir = scratch("csv-local");
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let d = RNormal::new(1.0, 1.2).unwrap();
    let y: Vec<f32> = (0..37).map(|_| d.sample(&mut rng) as f32).collect();
    let data = Data::new().with("y", y).unwrap();
    let path = dir.join("rows.csv");
    write_csv(&data, &path);
    let run = |source: &mut dyn DataSource| {
        let mut model = probmodel! {
            mu ~ Normal(0.0, 10.0);
            datamodel {
                z ~ Normal(mu, 1.0);
                y ~ Normal(z, 0.5);
            }
        };
        let vi = VI::new(20)
            .lr(0.05)
            .batch_size(8)
            .guide(AutoNormal::default())
            .seed(3)
            .quiet(true);
        model.fit_source(source, vi).unwrap();
        let auto = model
            .guide()
            .unwrap()
            .as_any()
            .downcast_ref::<AutoNormal>()
            .unwrap();
        let (loc, scale) = auto.loc_scale("z").unwrap();
        assert_eq!(loc.len(), 37, "one q per row of the file");
        (loc, scale)
    };
    let memory = run(&mut data.clone());
    let streamed = run(&mut CsvSource::open(&path).unwrap());
    assert_eq!(streamed, memory);
}

/// Every shuffled epoch of a CSV source with a buffer smaller than the file visits each row
/// once, its values at its index; two epochs differ and the same seed repeats them.
#[test]
fn a_small_shuffle_buffer_visits_every_row_once() {
    let dir = scratch("csv-buffer");
    let data = regression_rows(103, 4);
    let path = dir.join("rows.csv");
    write_csv(&data, &path);
    let mut source = CsvSource::open(&path).unwrap().shuffle_buffer(10);
    let epoch = |source: &mut CsvSource, rng: &mut inferrs::distributions::Rng| {
        let batches: Vec<Batch> = source
            .epoch(16, Some(rng))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(batches.len(), 7, "ceil(103 / 16) batches");
        let mut order = Vec::new();
        for batch in &batches {
            let x = batch.data.get("x").unwrap().values();
            for (k, &i) in batch.indices.iter().enumerate() {
                assert_eq!(x[k], data.get("x").unwrap().values()[i], "row {i}'s value");
                order.push(i);
            }
        }
        order
    };
    let mut rng = inferrs::distributions::Rng::seed_from_u64(5);
    let first = epoch(&mut source, &mut rng);
    let second = epoch(&mut source, &mut rng);
    let mut sorted = first.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..103).collect::<Vec<_>>(), "each row once");
    assert_ne!(first, second, "epochs are shuffled anew");
    assert_ne!(first, (0..103).collect::<Vec<_>>(), "the rows are shuffled");
    let mut again = inferrs::distributions::Rng::seed_from_u64(5);
    assert_eq!(epoch(&mut source, &mut again), first, "seeded");
}

/// Bad CSV files are errors naming the file, and for a bad value the column and the row:
/// at open for the header, when its row is read for a value.
#[test]
fn bad_csv_files_name_the_file_the_column_and_the_row() {
    let dir = scratch("csv-bad");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let empty = write("empty.csv", "");
    let err = CsvSource::open(&empty).unwrap_err().to_string();
    assert!(
        err.contains("empty.csv") && err.contains("no header"),
        "{err}"
    );
    let header_only = write("header.csv", "x,y\n");
    let err = CsvSource::open(&header_only).unwrap_err().to_string();
    assert!(
        err.contains("header.csv") && err.contains("no rows"),
        "{err}"
    );
    let unnamed = write("unnamed.csv", "x,y,\n1,2,3\n");
    let err = CsvSource::open(&unnamed).unwrap_err().to_string();
    assert!(
        err.contains("unnamed.csv") && err.contains("column 3"),
        "{err}"
    );
    let twice = write("twice.csv", "x,x\n1,2\n");
    let err = CsvSource::open(&twice).unwrap_err().to_string();
    assert!(err.contains("`x` twice"), "{err}");
    let ragged = write("ragged.csv", "x,y\n1,2\n3\n");
    let err = CsvSource::open(&ragged).unwrap_err().to_string();
    assert!(err.contains("ragged.csv") && err.contains("row 1"), "{err}");

    let bad = write("bad.csv", "x,y\n1,2\n3,4\n5,oops\n7,8\n");
    let mut source = CsvSource::open(&bad).unwrap();
    let mut model = regression!();
    let vi = VI::new(3)
        .batch_size(2)
        .guide(AutoNormal::default())
        .quiet(true);
    match model.fit_source(&mut source, vi) {
        Err(Error::Data { column, reason }) => {
            assert_eq!(column, "y");
            assert!(
                reason.contains("\"oops\"") && reason.contains("row 2"),
                "{reason}"
            );
            assert!(reason.contains("bad.csv"), "{reason}");
        }
        other => panic!("expected a data error, got {other:?}"),
    }
    assert!(model.guide().is_none(), "a failed fit keeps no guide");
}

/// After a streamed fit the rows are not kept: an automatic guide's posterior needs none,
/// but an amortised q-model's posterior needs the rows it reads, and is an error saying so
/// (never a draw of its input from anything else). Its posterior on rows given works.
#[test]
fn amortised_posterior_after_a_streamed_fit_is_an_error() {
    use burn::module::Module;
    use burn::nn::{Linear, LinearConfig};

    #[derive(Module, Debug)]
    struct Encoder {
        loc: Linear,
        scale: Linear,
    }
    impl Encoder {
        fn new(device: &Device) -> Self {
            Self {
                loc: LinearConfig::new(1, 1).init(device),
                scale: LinearConfig::new(1, 1).init(device),
            }
        }
        fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
            (self.loc.forward(x.clone()), softplus(self.scale.forward(x)))
        }
    }

    let dir = scratch("csv-amortised");
    let x: Vec<f32> = (0..40).map(|i| (i as f32 - 20.0) / 10.0).collect();
    let data = Data::new().with("x", x).unwrap();
    let path = dir.join("x.csv");
    write_csv(&data, &path);
    let device = Device::default();
    let mut model = probmodel! {
        datamodel {
            z ~ Normal(0.0, 1.0);
            x ~ Normal(z, 0.5);
        }
    };
    let q = qmodel! {
        encoder = Encoder::new(&device);
        datamodel {
            x ~ Normal(0.0, 1.0);
            z ~ Normal(encoder(x));
        }
    };
    let vi = VI::new(5).batch_size(8).qmodel(q).seed(1).quiet(true);
    model
        .fit_source(&mut CsvSource::open(&path).unwrap(), vi)
        .unwrap();
    match model.posterior(["z"]) {
        Err(Error::Query { variable, reason }) => {
            assert_eq!(variable, "z");
            assert!(
                reason.contains("`x`") && reason.contains("streamed"),
                "{reason}"
            );
        }
        Err(other) => panic!("expected a query error, got {other:?}"),
        Ok(_) => panic!("a posterior of an amortised q-model without its rows"),
    }
    let z = model
        .posterior_predictive(["z"], &data)
        .unwrap()
        .sample()
        .unwrap();
    assert_eq!(z["z"].shape, [40, 1]);

    let mut auto = regression!();
    let rows = regression_rows(30, 6);
    let path = dir.join("rows.csv");
    write_csv(&rows, &path);
    let vi = VI::new(5)
        .batch_size(8)
        .guide(AutoNormal::default())
        .quiet(true);
    auto.fit_source(&mut CsvSource::open(&path).unwrap(), vi)
        .unwrap();
    let w = auto.posterior(["w"]).unwrap().sample().unwrap();
    assert_eq!(w["w"].shape, [1, 1]);
}

/// A posterior-predictive query in chunks of 7 rows: within one draw every row sees the same
/// global `mu` (the rows' spread is the likelihood's, 1e-3, not the posterior's, 0.2), and
/// each chunk draws its own local noise. `log_prob` in chunks equals the one-run answer.
#[test]
fn queries_in_chunks_hold_the_global_draws() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let d = RNormal::new(0.5, 1.0).unwrap();
    let y: Vec<f32> = (0..25).map(|_| d.sample(&mut rng) as f32).collect();
    let mut model = probmodel! {
        mu ~ Normal(0.0, 10.0);
        datamodel {
            y ~ Normal(mu, 1.0);
        }
    };
    let data = Data::new().with("y", &y).unwrap();
    model
        .fit(
            &data,
            VI::new(300)
                .lr(0.05)
                .guide(AutoNormal::default())
                .quiet(true),
        )
        .unwrap();
    let whole = model.log_prob(["y"], &data).unwrap();
    let mut tight = probmodel! {
        mu ~ Normal(0.0, 10.0);
        datamodel {
            y ~ Normal(mu, 0.001);
        }
    };
    tight
        .fit(
            &Data::new().with("y", vec![0.5f32]).unwrap(),
            VI::new(1)
                .guide(AutoNormal::default().init_scale(0.2))
                .quiet(true),
        )
        .unwrap();
    tight.set_chunk_rows(7);
    let rows = Data::new().with("y", vec![0.0f32; 50]).unwrap();
    let mut spreads = Vec::new();
    let mut means = Vec::new();
    let mut query = tight.posterior_predictive(["y"], &rows).unwrap();
    for _ in 0..20 {
        let draw = query.sample().unwrap();
        let v = draw["y"].to_vec();
        assert_eq!(v.len(), 50, "every row");
        let (lo, hi) = v
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        spreads.push(hi - lo);
        means.push(v.iter().sum::<f32>() / 50.0);
    }
    let max_spread = spreads.iter().copied().fold(0.0f32, f32::max);
    assert!(max_spread < 0.02, "rows of one draw spread by {max_spread}");
    let (lo, hi) = means
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    assert!(hi - lo > 0.1, "draws differ by mu's posterior: {lo}..{hi}");

    model.set_chunk_rows(4);
    let chunked = model.log_prob(["y"], &data).unwrap();
    assert_eq!(chunked.get("y").unwrap().len(), 25);
    assert_eq!(chunked, whole, "a chunked log_prob is the one-run answer");
}

#[cfg(feature = "parquet")]
mod parquet {
    use super::*;
    use inferrs::{ParquetSource, ParquetWriter, write_parquet};

    /// The same rows through Parquet (row groups of 16 rows) fit bit-identically to memory
    /// and to the CSV file.
    #[test]
    fn parquet_fits_bit_identical_to_memory_and_csv() {
        let dir = scratch("parquet-identical");
        let data = regression_rows(100, 1);
        let path = dir.join("rows.parquet");
        write_parquet(&data, &path, 16).unwrap();
        let mut source = ParquetSource::open(&path).unwrap();
        assert_eq!(source.rows(), 100, "from the metadata");
        assert_eq!(source.row_groups(), 7);
        assert_eq!(source.names(), ["x", "y"]);
        let memory = fit_bits(&mut data.clone());
        assert_eq!(fit_bits(&mut source), memory);
        let csv = dir.join("rows.csv");
        write_csv(&data, &csv);
        assert_eq!(fit_bits(&mut CsvSource::open(&csv).unwrap()), memory);
    }

    /// With a buffer smaller than the file, the row groups are read in a seeded random
    /// order: every row once per epoch, groups no longer in file order.
    #[test]
    fn parquet_shuffles_row_groups_when_the_buffer_is_small() {
        let dir = scratch("parquet-groups");
        let data = regression_rows(200, 3);
        let path = dir.join("rows.parquet");
        // Written in two calls: a file may be larger than memory.
        let mut writer = ParquetWriter::create(&path, 20).unwrap();
        let (head, tail): (Vec<usize>, Vec<usize>) = ((0..120).collect(), (120..200).collect());
        for part in [head, tail] {
            let x: Vec<f32> = part
                .iter()
                .map(|&i| data.get("x").unwrap().values()[i])
                .collect();
            let y: Vec<f32> = part
                .iter()
                .map(|&i| data.get("y").unwrap().values()[i])
                .collect();
            writer
                .write(&Data::new().with("x", x).unwrap().with("y", y).unwrap())
                .unwrap();
        }
        writer.finish().unwrap();
        let mut source = ParquetSource::open(&path).unwrap().shuffle_buffer(5);
        assert_eq!(source.rows(), 200);
        let mut rng = inferrs::distributions::Rng::seed_from_u64(1);
        let mut order = Vec::new();
        for batch in source.epoch(32, Some(&mut rng)).unwrap() {
            let batch = batch.unwrap();
            let x = batch.data.get("x").unwrap().values();
            for (k, &i) in batch.indices.iter().enumerate() {
                assert_eq!(x[k], data.get("x").unwrap().values()[i], "row {i}'s value");
                order.push(i);
            }
        }
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..200).collect::<Vec<_>>(), "each row once");
        // A buffer of 5 rows moves a row at most a few places from where its group is read:
        // the first rows out come from a group other than the first when the groups moved.
        let first_groups: Vec<usize> = order[..20].iter().map(|i| i / 20).collect();
        assert!(
            first_groups.iter().any(|&g| g != 0),
            "groups in file order: {first_groups:?}"
        );
    }

    /// A rank's shard of a Parquet file is its row groups `rank, rank + ranks, ...`, whole,
    /// in file order when unshuffled, numbered from 0 in the shard; a rank with no row group
    /// is an error naming the file.
    #[test]
    fn a_parquet_shard_is_every_ranks_th_row_group() {
        let dir = scratch("parquet-shards");
        let data = regression_rows(100, 5);
        let path = dir.join("rows.parquet");
        // Groups of 16 rows: 7 groups, the last of 4 rows.
        write_parquet(&data, &path, 16).unwrap();
        let source = ParquetSource::open(&path).unwrap();
        let x = data.get("x").unwrap().values();
        let mut seen = Vec::new();
        for rank in 0..3 {
            let mut shard = source.shard(rank, 3).unwrap();
            let groups: Vec<usize> = (rank..7).step_by(3).collect();
            let rows: Vec<usize> = groups
                .iter()
                .flat_map(|g| (g * 16)..((g + 1) * 16).min(100))
                .collect();
            assert_eq!(shard.rows(), rows.len(), "rank {rank}");
            let batches: Vec<Batch> = shard
                .epoch(1000, None)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(batches[0].indices, (0..rows.len()).collect::<Vec<_>>());
            let want: Vec<f32> = rows.iter().map(|&i| x[i]).collect();
            assert_eq!(batches[0].data.get("x").unwrap().values(), &want[..]);
            seen.extend(rows);
        }
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..100).collect::<Vec<_>>(),
            "the shards cover every row once"
        );
        match source.shard(7, 8) {
            Err(err) => assert!(err.to_string().contains("rows.parquet"), "{err}"),
            Ok(_) => panic!("rank 7 of 8 has no row group of 7"),
        }
    }

    /// A column of vectors (a fixed-size list) reads back as one column `[rows, k]`; a file
    /// that is not Parquet is an error naming it; a failed write leaves no file.
    #[test]
    fn vector_columns_and_bad_files() {
        let dir = scratch("parquet-vectors");
        let v: Vec<[f32; 3]> = (0..10).map(|i| [i as f32, 2.0 * i as f32, -1.0]).collect();
        let data = Data::new().with("v", v).unwrap();
        let path = dir.join("v.parquet");
        write_parquet(&data, &path, 4).unwrap();
        let mut source = ParquetSource::open(&path).unwrap();
        let batches: Vec<Batch> = source
            .epoch(10, None)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].data, data, "the same column back");

        let not = dir.join("not.parquet");
        std::fs::write(&not, "x,y\n1,2\n").unwrap();
        let err = ParquetSource::open(&not).unwrap_err().to_string();
        assert!(err.contains("not.parquet"), "{err}");

        let mut writer = ParquetWriter::create(dir.join("partial.parquet"), 4).unwrap();
        writer.write(&data).unwrap();
        let other = Data::new().with("w", vec![1.0f32]).unwrap();
        assert!(writer.write(&other).is_err(), "other columns are refused");
        drop(writer);
        assert!(
            !dir.join("partial.parquet").exists(),
            "no file without finish"
        );
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(
            leftovers, 2,
            "no temporary file left: v.parquet, not.parquet and nothing else"
        );
    }
}
