//! [`Model::save`] and [`Model::load`]: a fitted model in one file — its parameters, its
//! posterior (the guide's kind, latent variables and parameters), the data of the fit that
//! its posterior queries read, and its query seed.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use inferrs_distributions::Support;
use serde::{Deserialize, Serialize};

use super::atomic::write_atomic;
use super::container::{Container, decode, encode};
use crate::guide::{AutoDelta, AutoMultivariateNormal, AutoNormal, Guide, LatentSite};
use crate::model::FitData;
use crate::runtime::{Ctx, DynModule, Values, intern, module_from_bytes, module_to_bytes};
use crate::{Error, Model};

/// What a model file says besides its binary sections.
#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    /// The library that wrote it, for messages.
    library: String,
    /// The model's random variables, in declaration order: a file is loaded only into a
    /// model that declares the same ones.
    variables: Vec<String>,
    /// The seed of the model's queries.
    seed: u64,
    fit: Option<FitMeta>,
    guide: Option<GuideMeta>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FitMeta {
    rows: usize,
    columns: Vec<String>,
    latents: Vec<LatentMeta>,
    /// The columns kept for posterior queries (none after a streamed fit), each a section
    /// `data.<name>` of little-endian `f32`.
    observed: Vec<ColumnMeta>,
}

#[derive(Debug, Serialize, Deserialize)]
struct LatentMeta {
    name: String,
    shape: [usize; 2],
    local: bool,
    support: Support,
}

#[derive(Debug, Serialize, Deserialize)]
struct ColumnMeta {
    name: String,
    shape: [usize; 2],
}

#[derive(Debug, Serialize, Deserialize)]
struct GuideMeta {
    /// [`Guide::kind`].
    kind: String,
}

const PARAMS: &str = "params";
const GUIDE_SHARED: &str = "guide.shared";
const GUIDE_ROWS: &str = "guide.rows";

fn data_section(name: &str) -> String {
    format!("data.{name}")
}

impl<P, F> Model<P, F>
where
    P: Module,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    /// Saves the model to `path`, whole: its trainable parameters, its posterior (the guide
    /// of the last fit: its kind, the latent variables and the guide's parameters), the data
    /// of the fit that posterior queries read (none after a streamed fit), and the query seed.
    /// [`Model::load`] in a new process then gives the same queries, draw for draw.
    ///
    /// The file appears whole or not at all: it is written to a temporary file beside
    /// `path`, synced, and renamed over it, so a failed save leaves an earlier file at
    /// `path` as it was. A checksum covers every byte.
    ///
    /// # Errors
    /// [`Error::Record`] naming the file when a tensor cannot be read back or writing fails,
    /// or when the posterior is MCMC draws ([`Model::sample`]), which a file does not hold yet.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let fail = |detail: String| record_error(path, detail);
        // A file without the posterior would load as a model that has none: refuse instead.
        if self
            .guide
            .as_deref()
            .is_some_and(|g| g.kind() == "Empirical")
        {
            return Err(fail(
                "the posterior is a set of MCMC draws (Empirical), which a model file does \
                 not hold yet: keep the draws (`Samples::values`), or save a model fitted with \
                 a guide"
                    .to_string(),
            ));
        }
        let mut sections = vec![(
            PARAMS.to_string(),
            module_to_bytes(&self.params).map_err(fail)?,
        )];
        let fit = match &self.fit_data {
            None => None,
            Some(fit) => {
                let mut observed = Vec::new();
                for (name, value) in &fit.observed {
                    let [rows, cols] = value.dims();
                    let values = crate::draws::host_values(value.clone())
                        .map_err(|e| fail(e.to_string()))?;
                    let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                    sections.push((data_section(name), bytes));
                    observed.push(ColumnMeta {
                        name: name.clone(),
                        shape: [rows, cols],
                    });
                }
                Some(FitMeta {
                    rows: fit.rows,
                    columns: fit.columns.clone(),
                    latents: fit
                        .latents
                        .iter()
                        .map(|l| LatentMeta {
                            name: l.name.to_string(),
                            shape: l.shape,
                            local: l.local,
                            support: l.support.clone(),
                        })
                        .collect(),
                    observed,
                })
            }
        };
        let guide = match &self.guide {
            None => None,
            Some(guide) => {
                for (name, module) in [
                    (GUIDE_SHARED, guide.parameters()),
                    (GUIDE_ROWS, guide.row_parameters()),
                ] {
                    if let Some(module) = module {
                        sections.push((name.to_string(), module.to_bytes().map_err(fail)?));
                    }
                }
                Some(GuideMeta {
                    kind: guide.kind().to_string(),
                })
            }
        };
        let meta = Meta {
            library: format!("inferrs {}", env!("CARGO_PKG_VERSION")),
            variables: self.variable_names(),
            seed: self.seed,
            fit,
            guide,
        };
        let bytes = encode(&meta, &sections).map_err(fail)?;
        write_atomic(path, &bytes).map_err(|e| fail(e.to_string()))
    }

    /// Loads a model saved by [`Model::save`] into this one, which must declare the same
    /// random variables and parameters: the parameters, the posterior (an automatic guide is
    /// rebuilt from the file), the data its posterior queries read and the query seed.
    ///
    /// A file whose posterior is a q-model (or a guide of your own) needs that guide given:
    /// [`Model::load_with`]. The file is read whole, so it may be removed afterwards. On any
    /// error the model is unchanged.
    ///
    /// # Errors
    /// [`Error::Record`] naming the file when it cannot be read, is not a model file, is
    /// damaged (its checksum does not match), is of another model, or holds a posterior
    /// that needs its guide given.
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<(), Error> {
        self.load_guided(path.as_ref(), None)
    }

    /// As [`Model::load`], with the guide of the saved fit given: the same `qmodel!` (its
    /// parameters are read from the file), or an automatic guide of the file's kind.
    ///
    /// # Errors
    /// As [`Model::load`]; [`Error::Record`] when the file has no posterior, when `guide` is
    /// of another kind than the file's, or when its parameters do not fit those saved.
    pub fn load_with(
        &mut self,
        path: impl AsRef<Path>,
        guide: impl Guide + 'static,
    ) -> Result<(), Error> {
        self.load_guided(path.as_ref(), Some(Box::new(guide)))
    }

    fn load_guided(&mut self, path: &Path, given: Option<Box<dyn Guide>>) -> Result<(), Error> {
        let fail = |detail: String| record_error(path, detail);
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        let file: Container<Meta> = decode(&bytes).map_err(&fail)?;
        let meta = &file.meta;
        let variables = self.variable_names();
        if meta.variables != variables {
            return Err(fail(format!(
                "it is of a model with the random variables [{}], not [{}] ({})",
                meta.variables.join(", "),
                variables.join(", "),
                meta.library
            )));
        }
        let section = |name: &str| {
            file.section(name)
                .ok_or_else(|| fail(format!("it lacks its section `{name}`")))
        };
        let params = module_from_bytes(&self.params, section(PARAMS)?)
            .map_err(|e| fail(format!("its parameters do not fit the model: {e}")))?;
        let device = self.device();
        let fit = match &meta.fit {
            None => None,
            Some(fit) => Some(read_fit(fit, &section, &device).map_err(&fail)?),
        };
        let guide = match (&meta.guide, given, &fit) {
            (None, None, _) => None,
            (None, Some(g), _) => {
                return Err(fail(format!(
                    "it holds no posterior (it was saved before a fit with latent variables), \
                     so the {} given has nothing to load",
                    g.kind()
                )));
            }
            (Some(_), _, None) => {
                return Err(fail("it holds a guide but no fit".to_string()));
            }
            (Some(saved), given, Some(fit)) => {
                let mut guide = match given {
                    Some(g) if g.kind() == saved.kind => g,
                    Some(g) => {
                        return Err(fail(format!(
                            "its posterior is a {}, and the guide given is a {}",
                            saved.kind,
                            g.kind()
                        )));
                    }
                    None => automatic(&saved.kind).ok_or_else(|| {
                        fail(format!(
                            "its posterior is a {}, which cannot be rebuilt from the file: \
                             give the same guide with `load_with(path, guide)` (for a \
                             q-model, the same `qmodel!`)",
                            saved.kind
                        ))
                    })?,
                };
                restore_guide(&mut *guide, fit, &file, &device).map_err(&fail)?;
                Some(guide)
            }
        };
        self.params = params;
        self.guide = guide;
        self.fit_data = fit;
        self.set_seed(meta.seed);
        Ok(())
    }

    /// The model's random variables, in declaration order.
    pub(crate) fn variable_names(&self) -> Vec<String> {
        self.graph()
            .random_variables()
            .map(|n| n.name.clone())
            .collect()
    }
}

/// The fit of the file: its latent variables and the columns kept, on `device`.
fn read_fit<'f>(
    fit: &FitMeta,
    section: &dyn Fn(&str) -> Result<&'f [u8], Error>,
    device: &Device,
) -> Result<FitData, String> {
    let mut observed = Values::new();
    for column in &fit.observed {
        let bytes = section(&data_section(&column.name)).map_err(|e| e.to_string())?;
        let [rows, cols] = column.shape;
        if bytes.len() != rows * cols * 4 {
            return Err(format!(
                "its column `{}` has {} bytes, not the {} of {rows} x {cols} values",
                column.name,
                bytes.len(),
                rows * cols * 4
            ));
        }
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        observed.insert(
            column.name.clone(),
            Tensor::<2>::from_data(TensorData::new(values, [rows, cols]), device),
        );
    }
    Ok(FitData {
        observed,
        rows: fit.rows,
        columns: fit.columns.clone(),
        latents: fit
            .latents
            .iter()
            .map(|l| LatentSite {
                name: intern(&l.name),
                shape: l.shape,
                local: l.local,
                support: l.support.clone(),
                prior: Vec::new(),
                seed: 0,
            })
            .collect(),
    })
}

/// `guide` prepared for the fit's latent variables with the file's parameters loaded.
fn restore_guide(
    guide: &mut dyn Guide,
    fit: &FitData,
    file: &Container<Meta>,
    device: &Device,
) -> Result<(), String> {
    guide
        .prepare_loaded(&fit.latents, &fit.observed, fit.rows, device)
        .map_err(|e| format!("the guide does not fit the saved posterior: {e}"))?;
    let load = |name: &str, module: Option<Box<dyn DynModule>>| match (module, file.section(name)) {
        (None, None) => Ok(None),
        (Some(m), Some(bytes)) => m.load_bytes(bytes).map(Some).map_err(|e| {
            format!(
                "the {} parameters do not fit those saved: {e}",
                guide.kind()
            )
        }),
        (Some(_), None) => Err(format!(
            "the {} has parameters that the file lacks (`{name}`)",
            guide.kind()
        )),
        (None, Some(_)) => Err(format!(
            "the file has guide parameters (`{name}`) that the {} lacks",
            guide.kind()
        )),
    };
    let shared = load(GUIDE_SHARED, guide.parameters())?;
    let rows = load(GUIDE_ROWS, guide.row_parameters())?;
    guide.set_parameters(shared, rows);
    Ok(())
}

/// An automatic guide of `kind`, empty (its parameters are read from the file).
fn automatic(kind: &str) -> Option<Box<dyn Guide>> {
    let guides: [Box<dyn Guide>; 3] = [
        Box::new(AutoNormal::default()),
        Box::new(AutoDelta::default()),
        Box::new(AutoMultivariateNormal::default()),
    ];
    guides.into_iter().find(|g| g.kind() == kind)
}

fn record_error(path: &Path, detail: String) -> Error {
    Error::Record {
        path: path.display().to_string(),
        detail,
    }
}
