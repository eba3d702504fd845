//! The error type of the runtime: every variant names the variable, column or epoch at fault.

use inferrs_distributions::DistError;

/// Everything that can go wrong when building data, fitting or querying a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A distribution could not be built from its arguments.
    #[error("variable `{variable}`: {source}")]
    Distribution {
        /// The random variable whose distribution is invalid.
        variable: String,
        /// What was wrong with it.
        #[source]
        source: DistError,
    },
    /// A data column is invalid (NaN, infinite, wrong row count, empty).
    #[error("data column `{column}`: {reason}")]
    Data {
        /// The column at fault.
        column: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A data column names no random variable of the model.
    #[error(
        "data column `{column}` is not a random variable of the model (its random variables: {known})"
    )]
    UnknownColumn {
        /// The column at fault.
        column: String,
        /// The model's random variables, comma separated.
        known: String,
    },
    /// A query names no random variable of the model.
    #[error("`{name}` is not a random variable of the model (its random variables: {known})")]
    UnknownVariable {
        /// The name asked for.
        name: String,
        /// The model's random variables, comma separated.
        known: String,
    },
    /// A variable is not in the data and nothing says how to infer it.
    #[error(
        "variable `{variable}` is not in the data, so it is latent, and this model has no q-model \
         for it: give it a column in the data, or fit with a q-model \
         (`VI::new(n).qmodel(qmodel! {{ .. }})`) or an automatic guide \
         (`VI::new(n).guide(AutoNormal::default())`)"
    )]
    LatentWithoutGuide {
        /// The latent variable.
        variable: String,
    },
    /// A latent variable of the model that the q-model does not draw.
    #[error(
        "variable `{variable}` is latent (not in the data) but the q-model has no variable \
         `{variable}`: add `{variable} ~ ..` to the q-model, or give it a column in the data"
    )]
    NotInQModel {
        /// The latent variable.
        variable: String,
    },
    /// A declared input (`input name;`) that the data does not give.
    #[error(
        "input `{variable}` is not in the data: the model reads it as a column (it declares \
         `input {variable};`), so every fit and query needs a column `{variable}`"
    )]
    MissingInput {
        /// The input.
        variable: String,
    },
    /// A variable of the q-model that is not a latent variable of the model.
    #[error(
        "the q-model draws `{variable}`, which is not a latent variable of the model (its latent \
         variables: {latents}); q variables are matched to the model's latent variables by name"
    )]
    NotLatent {
        /// The q-model's variable.
        variable: String,
        /// The model's latent variables, comma separated.
        latents: String,
    },
    /// An automatic guide cannot fit a latent variable.
    #[error("{guide} cannot fit variable `{variable}`: {reason}")]
    Guide {
        /// The guide, e.g. `"AutoNormal"`.
        guide: &'static str,
        /// The latent variable.
        variable: String,
        /// Why.
        reason: String,
    },
    /// A query that the model cannot answer as asked.
    #[error("query of `{variable}`: {reason}")]
    Query {
        /// The variable asked for.
        variable: String,
        /// Why it cannot be answered.
        reason: String,
    },
    /// `log_prob` needs a variable that the data does not give.
    #[error("log_prob needs variable `{variable}` in the data: {reason}")]
    MissingForLogProb {
        /// The variable that is missing.
        variable: String,
        /// Why it is needed.
        reason: String,
    },
    /// A value or distribution has a shape that does not fit the model.
    #[error("variable `{variable}`: {detail}")]
    Shape {
        /// The variable at fault.
        variable: String,
        /// What did not fit.
        detail: String,
    },
    /// The loss became NaN or infinite during fit.
    #[error(
        "the loss is not finite ({loss}) at epoch {epoch}; fit stopped and the model keeps the \
         parameters of the last epoch with a finite loss ({kept_epoch})"
    )]
    NonFiniteLoss {
        /// The 1-based epoch whose loss was not finite.
        epoch: usize,
        /// The loss value.
        loss: f64,
        /// The epoch whose parameters the model keeps (0: the parameters fit started from).
        kept_epoch: usize,
    },
    /// The parameters after the last step of a fit are NaN or infinite (the step was never
    /// scored: its loss would have been computed at the next step).
    #[error(
        "the parameters are not finite after the last step (epoch {epoch}); the model keeps \
         the parameters of the last step with a finite loss: lower the learning rate"
    )]
    NonFiniteParameters {
        /// The 1-based epoch of the last step.
        epoch: usize,
    },
    /// An inference option is invalid.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// Saving or loading a model file failed.
    #[error("model file `{path}`: {detail}")]
    Record {
        /// The file.
        path: String,
        /// What failed.
        detail: String,
    },
    /// A device (backend) error while reading a tensor back.
    #[error("device error: {0}")]
    Device(String),
    /// An ArviZ InferenceData that does not hold together (feature `arviz`:
    /// [`Model::inference_data`](crate::Model::inference_data)).
    #[cfg(feature = "arviz")]
    #[error("InferenceData: {0}")]
    InferenceData(String),
    /// A module cannot be lifted into latent variables ([`Model::lift`](crate::Model::lift)).
    #[error("cannot lift `{module}`: {reason}")]
    Lift {
        /// The module's path in the model's parameters.
        module: String,
        /// Why.
        reason: String,
    },
    /// A Bayesian layer ([`BayesianDense`](crate::BayesianDense)) in a computation that
    /// cannot take it.
    #[error("{layer}: {reason}")]
    BayesianLayer {
        /// The layer (`BayesianDense 2x32`).
        layer: String,
        /// Why.
        reason: String,
    },
    /// An MCMC chain could not run ([`Model::sample`](crate::Model::sample)).
    #[error("chain {chain}: {reason}")]
    Sampling {
        /// The chain (from 0).
        chain: usize,
        /// Why.
        reason: String,
    },
    /// An exchange between the ranks of a data-parallel fit failed, or a rank did not answer
    /// ([`VI::distributed`](crate::VI::distributed)).
    #[error("rank {rank}: exchange between ranks failed: {reason}")]
    Collective {
        /// The rank that saw it.
        rank: usize,
        /// What failed.
        reason: String,
    },
    /// Another rank of a data-parallel fit failed: every rank stops, and the model keeps
    /// what it had, as after its own failure.
    #[error("rank {rank} failed at epoch {epoch}: {reason}")]
    RankFailed {
        /// The rank that failed (the first one, when several did).
        rank: usize,
        /// The 1-based epoch (0: before the first step).
        epoch: usize,
        /// Its error.
        reason: String,
    },
    /// The parameters of the ranks of a data-parallel fit are no longer the same bits: a
    /// rank computed something else (another model, build or library).
    #[error(
        "the parameters of rank {rank} differ from rank 0's at epoch {epoch} (a data-parallel \
         fit needs the same program, build and model on every rank)"
    )]
    RanksDiverged {
        /// The first rank whose parameters differ.
        rank: usize,
        /// The 1-based epoch of the check.
        epoch: usize,
    },
}
