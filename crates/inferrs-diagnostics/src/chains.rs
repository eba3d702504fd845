//! Validated draws of one scalar variable, `chains x draws`, and the split into half-chains.

use crate::{DiagnosticsError, MIN_DRAWS};

/// Draws of one scalar variable from one or more chains, checked once on construction: at least
/// one chain, at least [`MIN_DRAWS`] draws per chain, all chains of equal length, every draw
/// finite. The diagnostics then take `&Chains` and cannot fail on the draws.
#[derive(Debug, Clone, PartialEq)]
pub struct Chains {
    /// Row-major `n_chains x n_draws`.
    data: Vec<f64>,
    n_chains: usize,
    n_draws: usize,
}

impl Chains {
    /// Checks and copies draws given as one slice (or `Vec`) per chain.
    ///
    /// ```
    /// use inferrs_diagnostics::Chains;
    /// let c = Chains::new(&[vec![0.1, 0.2, 0.3, 0.4], vec![0.5, 0.6, 0.7, 0.8]])?;
    /// assert_eq!((c.n_chains(), c.n_draws()), (2, 4));
    /// # Ok::<(), inferrs_diagnostics::DiagnosticsError>(())
    /// ```
    pub fn new<C: AsRef<[f64]>>(chains: &[C]) -> Result<Self, DiagnosticsError> {
        let first = chains.first().ok_or(DiagnosticsError::NoChains)?;
        let n_draws = first.as_ref().len();
        let mut data = Vec::with_capacity(chains.len() * n_draws);
        for (chain, c) in chains.iter().enumerate() {
            let c = c.as_ref();
            if c.len() != n_draws {
                return Err(DiagnosticsError::UnequalLengths {
                    chain,
                    draws: c.len(),
                    expected: n_draws,
                });
            }
            data.extend_from_slice(c);
        }
        Self::checked(data, chains.len(), n_draws)
    }

    /// Checks and copies draws given flat, chain after chain (row-major `n_chains x n_draws`).
    pub fn from_flat(data: &[f64], n_chains: usize) -> Result<Self, DiagnosticsError> {
        if n_chains == 0 {
            return Err(DiagnosticsError::NoChains);
        }
        if !data.len().is_multiple_of(n_chains) {
            return Err(DiagnosticsError::BadShape {
                len: data.len(),
                chains: n_chains,
            });
        }
        Self::checked(data.to_vec(), n_chains, data.len() / n_chains)
    }

    fn checked(data: Vec<f64>, n_chains: usize, n_draws: usize) -> Result<Self, DiagnosticsError> {
        if n_draws < MIN_DRAWS {
            return Err(DiagnosticsError::TooFewDraws {
                chain: 0,
                draws: n_draws,
            });
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(DiagnosticsError::NonFinite {
                chain: i / n_draws,
                draw: i % n_draws,
                value: data[i],
            });
        }
        Ok(Self {
            data,
            n_chains,
            n_draws,
        })
    }

    /// Number of chains.
    pub fn n_chains(&self) -> usize {
        self.n_chains
    }

    /// Number of draws per chain.
    pub fn n_draws(&self) -> usize {
        self.n_draws
    }

    /// All draws, chain after chain.
    pub fn as_flat(&self) -> &[f64] {
        &self.data
    }

    /// The draws of chain `i`.
    ///
    /// # Panics
    /// If `i >= self.n_chains()`.
    pub fn chain(&self, i: usize) -> &[f64] {
        &self.data[i * self.n_draws..(i + 1) * self.n_draws]
    }

    /// Iterator over the chains.
    pub fn iter(&self) -> impl Iterator<Item = &[f64]> {
        self.data.chunks_exact(self.n_draws)
    }

    /// The same draws with `f` applied to each (same shape).
    pub(crate) fn map(&self, f: impl Fn(f64) -> f64) -> Matrix {
        Matrix {
            data: self.data.iter().map(|&v| f(v)).collect(),
            n_rows: self.n_chains,
            n_cols: self.n_draws,
        }
    }

    /// The draws as a [`Matrix`] (a copy).
    pub(crate) fn matrix(&self) -> Matrix {
        self.map(|v| v)
    }
}

/// A plain row-major matrix of chains (rows) by draws (columns), used internally for split,
/// rank-normalised, folded or indicator draws.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Matrix {
    pub(crate) data: Vec<f64>,
    pub(crate) n_rows: usize,
    pub(crate) n_cols: usize,
}

impl Matrix {
    /// Iterator over the rows.
    pub(crate) fn rows(&self) -> impl Iterator<Item = &[f64]> {
        self.data.chunks_exact(self.n_cols)
    }

    /// Splits every chain into its first and last `n / 2` draws and stacks the first halves of
    /// all chains, then the second halves (ArviZ's `_split_chains`): with an odd draw count the
    /// middle draw is dropped.
    pub(crate) fn split(&self) -> Matrix {
        let half = self.n_cols / 2;
        let mut data = Vec::with_capacity(2 * half * self.n_rows);
        for r in self.rows() {
            data.extend_from_slice(&r[..half]);
        }
        for r in self.rows() {
            data.extend_from_slice(&r[self.n_cols - half..]);
        }
        Matrix {
            data,
            n_rows: 2 * self.n_rows,
            n_cols: half,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_problem() {
        let empty: [Vec<f64>; 0] = [];
        assert_eq!(Chains::new(&empty), Err(DiagnosticsError::NoChains));
        assert_eq!(
            Chains::new(&[vec![1.0, 2.0, 3.0]]),
            Err(DiagnosticsError::TooFewDraws { chain: 0, draws: 3 })
        );
        assert_eq!(
            Chains::new(&[vec![1.0; 5], vec![1.0; 4]]),
            Err(DiagnosticsError::UnequalLengths {
                chain: 1,
                draws: 4,
                expected: 5
            })
        );
        let err = Chains::new(&[vec![1.0; 5], vec![1.0, 2.0, f64::NAN, 1.0, 1.0]]).unwrap_err();
        assert!(matches!(
            err,
            DiagnosticsError::NonFinite {
                chain: 1,
                draw: 2,
                ..
            }
        ));
        assert!(err.to_string().contains("draw 2 of chain 1"));
        assert_eq!(
            Chains::from_flat(&[1.0; 10], 3),
            Err(DiagnosticsError::BadShape { len: 10, chains: 3 })
        );
        assert_eq!(
            Chains::from_flat(&[1.0; 10], 0),
            Err(DiagnosticsError::NoChains)
        );
        let c = Chains::from_flat(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], 2).unwrap();
        assert_eq!(c.chain(1), &[5.0, 6.0, 7.0, 8.0]);
    }

    #[test]
    fn split_drops_the_middle_draw() {
        let c = Chains::new(&[
            vec![1.0, 2.0, 3.0, 4.0, 5.0],
            vec![6.0, 7.0, 8.0, 9.0, 10.0],
        ])
        .unwrap();
        let s = c.matrix().split();
        assert_eq!((s.n_rows, s.n_cols), (4, 2));
        assert_eq!(s.data, vec![1.0, 2.0, 6.0, 7.0, 4.0, 5.0, 9.0, 10.0]);
    }
}
