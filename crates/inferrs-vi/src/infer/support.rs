//! [`ObservedSupports`]: a fit's check that every observed value lies in the support of its
//! variable's distribution, before any step, so that a Poisson count of 1.5 is an error
//! naming the variable, the row and the value, not a loss that turns infinite.

use inferrs_distributions::Support;

use crate::{Data, Error};

/// The support of every observed variable of a model, as a run on the data found them.
#[derive(Clone, Debug, Default)]
pub(crate) struct ObservedSupports {
    sites: Vec<(String, Support)>,
}

impl ObservedSupports {
    /// The supports of `sites` (name and support of each observed variable).
    pub(crate) fn new(sites: Vec<(String, Support)>) -> Self {
        Self {
            sites: sites
                .into_iter()
                .filter(|(_, s)| !matches!(s, Support::Real | Support::Dependent))
                .collect(),
        }
    }

    /// Checks the rows of `data`, whose row `i` is row `rows[i]` of the fit's data (or row
    /// `i` when `rows` is `None`).
    ///
    /// # Errors
    /// [`Error::Data`] naming the variable, the first row out of the support, its value and
    /// the support.
    pub(crate) fn check(&self, data: &Data, rows: Option<&[usize]>) -> Result<(), Error> {
        for (name, support) in &self.sites {
            let Some(column) = data.get(name) else {
                continue;
            };
            let cols = column.cols().max(1);
            if let Some(i) = column
                .values()
                .chunks(cols)
                .position(|row| !support.contains_row(row))
            {
                let row = rows.and_then(|r| r.get(i).copied()).unwrap_or(i);
                let value = &column.values()[i * cols..(i + 1) * cols];
                let value = match value {
                    [x] => format!("{x}"),
                    _ => format!("{value:?}"),
                };
                return Err(Error::Data {
                    column: name.clone(),
                    reason: format!(
                        "row {row} has the value {value}, which is outside the support of \
                         its distribution, {}",
                        describe(support)
                    ),
                });
            }
        }
        Ok(())
    }
}

/// A support in words.
fn describe(support: &Support) -> String {
    match support {
        Support::Real | Support::Dependent => "the real numbers".to_string(),
        Support::Positive => "the positive numbers (0, inf)".to_string(),
        Support::GreaterThan(low) => format!("the numbers above {low}, ({low}, inf)"),
        Support::UnitInterval => "the open unit interval (0, 1)".to_string(),
        Support::Interval { low, high } => format!("the interval [{low}, {high}]"),
        Support::Boolean => "{0, 1}".to_string(),
        Support::NonNegativeInteger => "the counts {0, 1, 2, ...}".to_string(),
        Support::IntegerInterval { low, high } => format!("the integers {{{low}, ..., {high}}}"),
        Support::Simplex => "the simplex (entries in [0, 1] summing to 1)".to_string(),
    }
}
