//! Writing and reading an [`InferenceData`] as a Zarr (format 2) store, ArviZ's layout.
//!
//! The store's root group holds one sub-group per InferenceData group; each sub-group holds
//! one array per variable, with xarray's `_ARRAY_DIMENSIONS` attribute naming its dims, and
//! one integer coordinate array `0..len` per dim that has no variable of its own. Arrays are
//! uncompressed, in one chunk each. A consolidated `.zmetadata` is written at the root, as
//! xarray does, so `xarray.open_zarr` and `arviz.from_zarr` open it without warnings.

use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use std::{fs, process};

use serde_json::{Map, Value, json};
use zarrs::array::{Array, ArrayMetadata, ArrayMetadataOptions, ArrayMetadataV2, CodecOptions};
use zarrs::filesystem::FilesystemStore;
use zarrs::group::{Group as ZarrGroup, GroupMetadata};
use zarrs::metadata::v2::{DataTypeMetadataV2, FillValueMetadataV2, GroupMetadataV2};

use crate::data::GROUP_ORDER;
use crate::{ArvizError, Group, InferenceData, Values, Variable};

/// xarray's attribute naming an array's dims in Zarr format 2.
const DIMS_ATTR: &str = "_ARRAY_DIMENSIONS";
/// Marks a coordinate this crate added (`0..len`), so reading drops it again.
const DEFAULT_COORD_ATTR: &str = "inferrs_default_coord";

impl InferenceData {
    /// Writes the InferenceData as a Zarr store at `path`, atomically.
    ///
    /// The store is written into a temporary sibling directory `.{name}.tmp-{pid}` and then
    /// renamed onto `path`. A previous store at `path` is renamed aside first and removed
    /// after the rename; on any failure the previous store stays as it was and the temporary
    /// directory is removed. A `path` that exists but is not a Zarr store is not replaced.
    /// The temporary name holds the process id only: two threads of one process must not
    /// write the same `path` at the same time.
    ///
    /// Each group gets the attributes `created_at` (RFC 3339, UTC) and
    /// `inference_library = "inferrs"` unless it already has them; the caller passes
    /// `inference_library_version` in [`Group::attrs`].
    ///
    /// # Errors
    /// [`ArvizError::Shape`] or [`ArvizError::DimLength`] for inconsistent variables (checked
    /// before anything is written), [`ArvizError::InvalidName`], [`ArvizError::NotAStore`],
    /// and [`ArvizError::Io`] or [`ArvizError::Zarr`] when writing fails.
    pub fn write_zarr(&self, path: impl AsRef<Path>) -> Result<(), ArvizError> {
        let path = path.as_ref();
        let plan = self.plan()?;
        let name = path.file_name().ok_or_else(|| ArvizError::Io {
            action: "write a store at",
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name"),
        })?;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = name.to_string_lossy();
        let pid = process::id();
        let tmp = parent.join(format!(".{name}.tmp-{pid}"));
        let old = parent.join(format!(".{name}.old-{pid}"));

        let exists = fs::symlink_metadata(path).is_ok();
        if exists && !path.join(".zgroup").is_file() {
            return Err(ArvizError::NotAStore {
                path: path.to_path_buf(),
            });
        }
        if tmp.exists() {
            remove_all(&tmp)?;
        }
        fs::create_dir(&tmp).map_err(|source| ArvizError::Io {
            action: "create directory",
            path: tmp.clone(),
            source,
        })?;
        if let Err(e) = write_store(&tmp, &plan) {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        if exists {
            if old.exists() {
                let _ = fs::remove_dir_all(&old);
            }
            if let Err(source) = fs::rename(path, &old) {
                let _ = fs::remove_dir_all(&tmp);
                return Err(ArvizError::Io {
                    action: "move the previous store aside from",
                    path: path.to_path_buf(),
                    source,
                });
            }
            if let Err(source) = fs::rename(&tmp, path) {
                let _ = fs::rename(&old, path);
                let _ = fs::remove_dir_all(&tmp);
                return Err(ArvizError::Io {
                    action: "rename the new store onto",
                    path: path.to_path_buf(),
                    source,
                });
            }
            // The new store is in place; removing the previous one is best effort (a
            // leftover `.{name}.old-{pid}` is harmless and replaced by the next write).
            let _ = fs::remove_dir_all(&old);
            Ok(())
        } else {
            fs::rename(&tmp, path).map_err(|source| {
                let _ = fs::remove_dir_all(&tmp);
                ArvizError::Io {
                    action: "rename the new store onto",
                    path: path.to_path_buf(),
                    source,
                }
            })
        }
    }

    /// Reads a store written by [`write_zarr`](InferenceData::write_zarr) (or by ArviZ's
    /// `to_zarr` for uncompressed `float64`, `float32`, `int64` and `bool` arrays).
    ///
    /// Groups come in ArviZ's order ([`GROUP_ORDER`]), then any others by name; variables by
    /// name. The default coordinates `write_zarr` adds are dropped; group attributes include
    /// the `created_at` and `inference_library` that `write_zarr` added.
    ///
    /// # Errors
    /// [`ArvizError::Zarr`] when the store or a node cannot be opened or read, and
    /// [`ArvizError::Format`] for an array without `_ARRAY_DIMENSIONS` or of another data type.
    pub fn read_zarr(path: impl AsRef<Path>) -> Result<InferenceData, ArvizError> {
        let path = path.as_ref();
        let zerr = |node: &str, e: Box<dyn std::error::Error + Send + Sync>| ArvizError::Zarr {
            path: path.to_path_buf(),
            node: node.to_string(),
            source: e,
        };
        let store = Arc::new(FilesystemStore::new(path).map_err(|e| zerr("/", e.into()))?);
        let root = ZarrGroup::open(store.clone(), "/").map_err(|e| zerr("/", e.into()))?;
        let mut groups: Vec<(String, Group)> = Vec::new();
        for zgroup in root.child_groups().map_err(|e| zerr("/", e.into()))? {
            let node = zgroup.path().as_str().to_string();
            let name = node.trim_start_matches('/').to_string();
            let mut group = Group {
                attrs: zgroup.attributes().clone(),
                ..Group::default()
            };
            let mut arrays = zgroup.child_arrays().map_err(|e| zerr(&node, e.into()))?;
            arrays.sort_by(|a, b| a.path().as_str().cmp(b.path().as_str()));
            for array in arrays {
                let anode = array.path().as_str().to_string();
                let vname = anode.rsplit('/').next().unwrap_or_default().to_string();
                let ArrayMetadata::V2(meta) = array.metadata() else {
                    return Err(format_err(path, &anode, "not Zarr format 2"));
                };
                if meta.attributes.get(DEFAULT_COORD_ATTR) == Some(&Value::Bool(true)) {
                    continue;
                }
                let dims: Vec<String> = match meta.attributes.get(DIMS_ATTR) {
                    Some(Value::Array(dims)) => dims
                        .iter()
                        .map(|d| d.as_str().map(str::to_string))
                        .collect::<Option<_>>()
                        .ok_or_else(|| format_err(path, &anode, "non-string dim name"))?,
                    _ => return Err(format_err(path, &anode, "no `_ARRAY_DIMENSIONS`")),
                };
                let shape: Vec<usize> = meta
                    .shape
                    .iter()
                    .map(|&n| usize::try_from(n))
                    .collect::<Result<_, _>>()
                    .map_err(|e| zerr(&anode, e.into()))?;
                let all = array.subset_all();
                let values = match &meta.dtype {
                    DataTypeMetadataV2::Simple(t) => match t.as_str() {
                        "<f8" => Values::F64(
                            array
                                .retrieve_array_subset::<Vec<f64>>(&all)
                                .map_err(|e| zerr(&anode, e.into()))?,
                        ),
                        "<f4" => Values::F32(
                            array
                                .retrieve_array_subset::<Vec<f32>>(&all)
                                .map_err(|e| zerr(&anode, e.into()))?,
                        ),
                        "<i8" => Values::I64(
                            array
                                .retrieve_array_subset::<Vec<i64>>(&all)
                                .map_err(|e| zerr(&anode, e.into()))?,
                        ),
                        "|b1" => Values::Bool(
                            array
                                .retrieve_array_subset::<Vec<bool>>(&all)
                                .map_err(|e| zerr(&anode, e.into()))?,
                        ),
                        other => {
                            return Err(format_err(
                                path,
                                &anode,
                                &format!("unsupported data type `{other}`"),
                            ));
                        }
                    },
                    DataTypeMetadataV2::Structured(_) => {
                        return Err(format_err(path, &anode, "structured data type"));
                    }
                };
                let variable = Variable {
                    dims,
                    shape,
                    values,
                };
                variable.check(&vname)?;
                group.variables.insert(vname, variable);
            }
            groups.push((name, group));
        }
        let rank = |name: &str| {
            GROUP_ORDER
                .iter()
                .position(|g| *g == name)
                .unwrap_or(usize::MAX)
        };
        groups.sort_by(|(a, _), (b, _)| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
        Ok(InferenceData {
            groups: groups.into_iter().collect(),
        })
    }

    /// Checks everything and lays out what to write: per group, its attributes and the
    /// arrays (variables, then default coordinates).
    fn plan(&self) -> Result<Vec<PlannedGroup>, ArvizError> {
        let created_at = rfc3339_utc(SystemTime::now());
        let mut plan = Vec::with_capacity(self.groups.len());
        for (gname, group) in &self.groups {
            check_name("group", gname)?;
            let lengths = group.dim_lengths(gname)?;
            let mut attrs = group.attrs.clone();
            attrs
                .entry("created_at")
                .or_insert_with(|| Value::String(created_at.clone()));
            attrs
                .entry("inference_library")
                .or_insert_with(|| Value::String("inferrs".to_string()));
            let mut arrays = Vec::new();
            for (vname, variable) in &group.variables {
                check_name("variable", vname)?;
                arrays.push(PlannedArray {
                    name: vname.clone(),
                    variable: variable.clone(),
                    default_coord: false,
                });
            }
            for (dim, &len) in &lengths {
                if group.variables.contains_key(dim) {
                    continue;
                }
                check_name("variable", dim)?;
                let coord: Vec<i64> = (0..len as i64).collect();
                arrays.push(PlannedArray {
                    name: dim.clone(),
                    variable: Variable {
                        dims: vec![dim.clone()],
                        shape: vec![len],
                        values: Values::I64(coord),
                    },
                    default_coord: true,
                });
            }
            plan.push(PlannedGroup {
                name: gname.clone(),
                attrs,
                arrays,
            });
        }
        Ok(plan)
    }
}

/// One group to write: its name, attributes and arrays.
struct PlannedGroup {
    name: String,
    attrs: Map<String, Value>,
    arrays: Vec<PlannedArray>,
}

/// One array to write.
struct PlannedArray {
    name: String,
    variable: Variable,
    default_coord: bool,
}

/// Writes the planned groups into the (existing, empty) directory `dir`.
fn write_store(dir: &Path, plan: &[PlannedGroup]) -> Result<(), ArvizError> {
    let zerr = |node: &str, e: Box<dyn std::error::Error + Send + Sync>| ArvizError::Zarr {
        path: dir.to_path_buf(),
        node: node.to_string(),
        source: e,
    };
    let store = Arc::new(FilesystemStore::new(dir).map_err(|e| zerr("/", e.into()))?);
    let root = ZarrGroup::new_with_metadata(
        store.clone(),
        "/",
        GroupMetadata::V2(GroupMetadataV2::new()),
    )
    .map_err(|e| zerr("/", e.into()))?;
    root.store_metadata().map_err(|e| zerr("/", e.into()))?;
    let options = ArrayMetadataOptions::default().with_include_zarrs_metadata(false);
    for PlannedGroup {
        name: gname,
        attrs,
        arrays,
    } in plan
    {
        let gnode = format!("/{gname}");
        let mut gmeta = GroupMetadataV2::new();
        gmeta.attributes = attrs.clone();
        let group = ZarrGroup::new_with_metadata(store.clone(), &gnode, GroupMetadata::V2(gmeta))
            .map_err(|e| zerr(&gnode, e.into()))?;
        group.store_metadata().map_err(|e| zerr(&gnode, e.into()))?;
        for planned in arrays {
            let anode = format!("{gnode}/{}", planned.name);
            let v = &planned.variable;
            let shape: Vec<u64> = v.shape.iter().map(|&n| n as u64).collect();
            let chunks: Vec<NonZeroU64> = v
                .shape
                .iter()
                .map(|&n| NonZeroU64::new(n as u64).unwrap_or(NonZeroU64::MIN))
                .collect();
            // xarray's choice: NaN for floats, none for integers and booleans (xarray reads a
            // fill value as `_FillValue` and masks it, so `0` or `false` would turn into NaN).
            // Without a fill value a missing chunk is undefined: every chunk is stored
            // (`store_empty_chunks` below).
            let fill = match v.values {
                Values::F64(_) | Values::F32(_) => FillValueMetadataV2::from("NaN"),
                Values::I64(_) | Values::Bool(_) => FillValueMetadataV2::Null,
            };
            let mut meta = ArrayMetadataV2::new(
                shape,
                chunks,
                DataTypeMetadataV2::from(v.values.zarr_dtype()),
                fill,
                None,
                None,
            );
            meta.attributes.insert(DIMS_ATTR.to_string(), json!(v.dims));
            if planned.default_coord {
                meta.attributes
                    .insert(DEFAULT_COORD_ATTR.to_string(), Value::Bool(true));
            }
            let array = Array::new_with_metadata(store.clone(), &anode, ArrayMetadata::V2(meta))
                .map_err(|e| zerr(&anode, e.into()))?;
            array
                .store_metadata_opt(&options)
                .map_err(|e| zerr(&anode, e.into()))?;
            if v.values.is_empty() {
                continue;
            }
            let all = array.subset_all();
            // zarrs skips a chunk that is all fill value by default: an all-false
            // `diverging` would then have no chunk file, which some readers do not fill.
            let chunk = CodecOptions::default().with_store_empty_chunks(true);
            match &v.values {
                Values::F64(x) => array.store_array_subset_opt(&all, x.as_slice(), &chunk),
                Values::F32(x) => array.store_array_subset_opt(&all, x.as_slice(), &chunk),
                Values::I64(x) => array.store_array_subset_opt(&all, x.as_slice(), &chunk),
                Values::Bool(x) => array.store_array_subset_opt(&all, x.as_slice(), &chunk),
            }
            .map_err(|e| zerr(&anode, e.into()))?;
        }
    }
    write_consolidated(dir)
}

/// Writes xarray's consolidated metadata `.zmetadata`: every `.zgroup`, `.zattrs` and
/// `.zarray` of the store in one JSON object.
fn write_consolidated(dir: &Path) -> Result<(), ArvizError> {
    let mut metadata = Map::new();
    collect_metadata(dir, "", &mut metadata)?;
    let text = serde_json::to_string_pretty(&json!({
        "metadata": metadata,
        "zarr_consolidated_format": 1,
    }))
    .map_err(|e| ArvizError::Io {
        action: "serialise consolidated metadata for",
        path: dir.to_path_buf(),
        source: e.into(),
    })?;
    let file = dir.join(".zmetadata");
    fs::write(&file, text).map_err(|source| ArvizError::Io {
        action: "write",
        path: file,
        source,
    })
}

/// Adds the metadata files under `dir` (store-relative prefix `prefix`) to `out`.
fn collect_metadata(
    dir: &Path,
    prefix: &str,
    out: &mut Map<String, Value>,
) -> Result<(), ArvizError> {
    let io = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| ArvizError::Io {
            action,
            path,
            source,
        }
    };
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(io("read directory", dir))?
        .collect::<Result<_, _>>()
        .map_err(io("read directory", dir))?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let entry_path = entry.path();
        let key = format!("{prefix}{name}");
        if entry_path.is_dir() {
            collect_metadata(&entry_path, &format!("{key}/"), out)?;
        } else if matches!(name.as_str(), ".zgroup" | ".zattrs" | ".zarray") {
            let text = fs::read_to_string(&entry_path).map_err(io("read", &entry_path))?;
            let value: Value =
                serde_json::from_str(&text).map_err(|e| io("parse", &entry_path)(e.into()))?;
            out.insert(key, value);
        }
    }
    Ok(())
}

/// Removes a directory tree, as an [`ArvizError::Io`] on failure.
fn remove_all(path: &Path) -> Result<(), ArvizError> {
    fs::remove_dir_all(path).map_err(|source| ArvizError::Io {
        action: "remove",
        path: path.to_path_buf(),
        source,
    })
}

/// A group or variable name must be a single Zarr node name.
fn check_name(kind: &'static str, name: &str) -> Result<(), ArvizError> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(ArvizError::InvalidName {
            kind,
            name: name.to_string(),
        });
    }
    Ok(())
}

/// An [`ArvizError::Format`].
fn format_err(path: &Path, node: &str, message: &str) -> ArvizError {
    ArvizError::Format {
        path: path.to_path_buf(),
        node: node.to_string(),
        message: message.to_string(),
    }
}

/// `time` as RFC 3339 in UTC with whole seconds, e.g. `2026-12-03T10:39:51Z`.
pub(crate) fn rfc3339_utc(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723); // 2000-02-29 01:02:03
        assert_eq!(rfc3339_utc(t), "2000-02-29T01:02:03Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_798_761_599); // 2026-12-31 23:59:59
        assert_eq!(rfc3339_utc(t), "2026-12-31T23:59:59Z");
    }
}
