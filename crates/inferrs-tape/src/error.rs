//! Why a captured graph cannot become a tape.

/// Why a captured graph cannot be replayed by the tape. The caller then computes the density
/// with burn's autodiff, as it would without the tape.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TapeError {
    /// An operation the tape does not implement (random draws, integer indexing, a backend
    /// extension, convolutions, ...).
    #[error("the tape does not replay `{0}`")]
    Unsupported(String),
    /// The graph is not of the shape the tape expects (an operand never written, a tensor
    /// written twice, an output that is not one scalar, a constant without its value).
    #[error("the captured graph is malformed: {0}")]
    Malformed(String),
    /// The graph's rows cannot be replayed one block at a time ([`crate::RowTape`]): some
    /// instruction's row reads other rows.
    #[error("the graph does not run by rows: {0}")]
    NotByRows(String),
}
