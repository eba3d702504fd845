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
}
