//! The error type of this crate.

use thiserror::Error;

/// What was wrong with the draws (or a parameter) handed to a diagnostic.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DiagnosticsError {
    /// No chain was given; at least one is needed.
    #[error("no chains given: at least 1 chain is needed")]
    NoChains,
    /// A chain has fewer than [`MIN_DRAWS`](crate::MIN_DRAWS) draws.
    #[error("chain {chain} has {draws} draws: at least {min} are needed", min = crate::MIN_DRAWS)]
    TooFewDraws {
        /// Index of the chain.
        chain: usize,
        /// Its number of draws.
        draws: usize,
    },
    /// The chains do not all have the same number of draws.
    #[error(
        "chain {chain} has {draws} draws but chain 0 has {expected}: chains must be of equal length"
    )]
    UnequalLengths {
        /// Index of the first chain whose length differs from chain 0's.
        chain: usize,
        /// Its number of draws.
        draws: usize,
        /// The number of draws of chain 0.
        expected: usize,
    },
    /// A draw is NaN or infinite.
    #[error("draw {draw} of chain {chain} is not finite ({value})")]
    NonFinite {
        /// Index of the chain.
        chain: usize,
        /// Index of the draw within the chain.
        draw: usize,
        /// The value found.
        value: f64,
    },
    /// A flat slice of draws cannot be cut into the given number of chains of equal length.
    #[error("{len} values cannot be cut into {chains} chains of equal length")]
    BadShape {
        /// Length of the flat slice.
        len: usize,
        /// The number of chains asked for.
        chains: usize,
    },
    /// An interval probability outside `(0, 1]`, or too large for the number of draws.
    #[error(
        "interval probability {prob} is not usable with {draws} draws: it must be in (0, 1] and leave at least one interval"
    )]
    BadProb {
        /// The probability asked for.
        prob: f64,
        /// The total number of draws.
        draws: usize,
    },
    /// Too few log-weights for PSIS: ArviZ's `psislw` needs at least
    /// [`PSIS_MIN_DRAWS`](crate::PSIS_MIN_DRAWS) (it fails with an index error below).
    #[error("{len} log-weights given: PSIS needs at least {min}", min = crate::PSIS_MIN_DRAWS)]
    TooFewWeights {
        /// The number of log-weights given.
        len: usize,
    },
    /// A log-weight is NaN or `+inf` (`-inf`, a zero weight, is accepted).
    #[error("log-weight {index} is {value}: log-weights must be finite or -inf")]
    BadLogWeight {
        /// Index of the log-weight.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// Every log-weight is `-inf`: all weights are zero and cannot be normalised.
    #[error("all {len} log-weights are -inf: at least one weight must be positive")]
    AllWeightsZero {
        /// The number of log-weights given.
        len: usize,
    },
    /// A relative efficiency `reff` that is not finite and positive.
    #[error("relative efficiency reff = {reff} must be finite and positive")]
    BadReff {
        /// The value given.
        reff: f64,
    },
}
