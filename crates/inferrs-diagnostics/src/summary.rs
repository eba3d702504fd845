//! A summary row per variable (ArviZ's `az.summary`, `stat_focus="mean"`), a text table of
//! several, and convergence warnings.

use std::fmt;

use crate::hdi::{DEFAULT_HDI_PROB, hdi};
use crate::moments::{mean, var};
use crate::{Chains, DiagnosticsError, ess_bulk, ess_tail, mcse_mean, mcse_sd, rhat};

/// R-hat above this warns (Vehtari et al. 2021 recommend 1.01; ArviZ and Stan use it).
pub const RHAT_MAX: f64 = 1.01;

/// Bulk or tail ESS below this warns: 400 is Vehtari et al.'s (and ArviZ's and Stan's) 100 per
/// chain for 4 chains. The threshold is fixed, whatever the number of chains.
pub const ESS_MIN: f64 = 400.0;

/// One row of `az.summary`: posterior statistics and convergence diagnostics of one scalar
/// variable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Mean of all draws.
    pub mean: f64,
    /// Standard deviation of all draws, ddof 1 (as `az.summary`).
    pub sd: f64,
    /// Lower end of the HDI ([`hdi`](crate::hdi()); `hdi_3%` for the default 94%).
    pub hdi_low: f64,
    /// Upper end of the HDI (`hdi_97%` for the default 94%).
    pub hdi_high: f64,
    /// The probability of the HDI.
    pub hdi_prob: f64,
    /// Monte Carlo standard error of the mean ([`mcse_mean`]).
    pub mcse_mean: f64,
    /// Monte Carlo standard error of the sd ([`mcse_sd`]).
    pub mcse_sd: f64,
    /// Bulk effective sample size ([`ess_bulk`]).
    pub ess_bulk: f64,
    /// Tail effective sample size ([`ess_tail`]).
    pub ess_tail: f64,
    /// Rank-normalised split R-hat ([`rhat`]); NaN for a single chain.
    pub r_hat: f64,
}

impl Summary {
    /// The summary with ArviZ's default 94% HDI.
    pub fn new(chains: &Chains) -> Self {
        // At least 4 draws, so floor(0.94 S) < S: the HDI exists.
        Self::with_hdi_prob(chains, DEFAULT_HDI_PROB).expect("a 94% HDI exists for >= 4 draws")
    }

    /// The summary with an HDI of probability `hdi_prob` (errors as [`hdi`](crate::hdi())).
    pub fn with_hdi_prob(chains: &Chains, hdi_prob: f64) -> Result<Self, DiagnosticsError> {
        let (hdi_low, hdi_high) = hdi(chains, hdi_prob)?;
        Ok(Self {
            mean: mean(chains.as_flat()),
            sd: var(chains.as_flat(), 1).sqrt(),
            hdi_low,
            hdi_high,
            hdi_prob,
            mcse_mean: mcse_mean(chains),
            mcse_sd: mcse_sd(chains),
            ess_bulk: ess_bulk(chains),
            ess_tail: ess_tail(chains),
            r_hat: rhat(chains),
        })
    }

    /// The convergence warnings of this row: R-hat above [`RHAT_MAX`], bulk or tail ESS below
    /// [`ESS_MIN`]. A NaN R-hat (one chain) gives no warning.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut w = Vec::new();
        if self.r_hat > RHAT_MAX {
            w.push(Warning::HighRhat(self.r_hat));
        }
        if self.ess_bulk < ESS_MIN {
            w.push(Warning::LowEssBulk(self.ess_bulk));
        }
        if self.ess_tail < ESS_MIN {
            w.push(Warning::LowEssTail(self.ess_tail));
        }
        w
    }

    /// The column labels of the HDI, as ArviZ names them (`hdi_3%`, `hdi_97%` for 94%).
    pub fn hdi_labels(&self) -> (String, String) {
        let alpha = 1.0 - self.hdi_prob;
        (
            format!("hdi_{}%", pct(50.0 * alpha)),
            format!("hdi_{}%", pct(100.0 - 50.0 * alpha)),
        )
    }
}

/// A percentage with at most 6 significant figures and no trailing zeros (Python's `:g`).
fn pct(x: f64) -> String {
    let s = format!("{:.6}", x);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// A convergence problem flagged by [`Summary::warnings`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Warning {
    /// R-hat above [`RHAT_MAX`]: the chains have not mixed.
    HighRhat(f64),
    /// Bulk ESS below [`ESS_MIN`].
    LowEssBulk(f64),
    /// Tail ESS below [`ESS_MIN`].
    LowEssTail(f64),
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Warning::HighRhat(v) => write!(f, "r_hat {v:.3} > {RHAT_MAX}: chains have not mixed"),
            Warning::LowEssBulk(v) => write!(f, "ess_bulk {v:.0} < {ESS_MIN}"),
            Warning::LowEssTail(v) => write!(f, "ess_tail {v:.0} < {ESS_MIN}"),
        }
    }
}

/// Formats rows for named variables as a text table like `az.summary`'s (statistics rounded to
/// 3 decimals, ESS to whole numbers, R-hat to 2), followed by one line per warning
/// ([`Summary::warnings`]), e.g. `warning: mu: r_hat 1.106 > 1.01: chains have not mixed`.
/// The HDI column labels are those of the first row.
///
/// ```
/// use inferrs_diagnostics::{Chains, Summary, format_table};
/// let a: Vec<f64> = (0..100).map(|i| (i as f64 * 0.7).sin()).collect();
/// let b: Vec<f64> = (0..100).map(|i| (i as f64 * 1.3).cos()).collect();
/// let s = Summary::new(&Chains::new(&[a, b])?);
/// let table = format_table(&[("theta", s)]);
/// assert!(table.lines().next().unwrap().trim_start().starts_with("mean  "));
/// assert!(table.contains("hdi_3%") && table.contains("theta"));
/// # Ok::<(), inferrs_diagnostics::DiagnosticsError>(())
/// ```
pub fn format_table(rows: &[(&str, Summary)]) -> String {
    let (lo, hi) = rows
        .first()
        .map(|(_, s)| s.hdi_labels())
        .unwrap_or_default();
    let header = [
        "mean",
        "sd",
        &lo,
        &hi,
        "mcse_mean",
        "mcse_sd",
        "ess_bulk",
        "ess_tail",
        "r_hat",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(_, s)| {
            let d3 = |v: f64| format!("{v:.3}");
            vec![
                d3(s.mean),
                d3(s.sd),
                d3(s.hdi_low),
                d3(s.hdi_high),
                d3(s.mcse_mean),
                d3(s.mcse_sd),
                format!("{:.0}", s.ess_bulk),
                format!("{:.0}", s.ess_tail),
                format!("{:.2}", s.r_hat),
            ]
        })
        .collect();
    let name_w = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    let widths: Vec<usize> = header
        .iter()
        .enumerate()
        .map(|(j, h)| {
            cells
                .iter()
                .map(|r| r[j].len())
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    out.push_str(&" ".repeat(name_w));
    for (h, w) in header.iter().zip(&widths) {
        out.push_str(&format!("  {h:>w$}"));
    }
    out.push('\n');
    for ((name, _), r) in rows.iter().zip(&cells) {
        out.push_str(&format!("{name:<name_w$}"));
        for (c, w) in r.iter().zip(&widths) {
            out.push_str(&format!("  {c:>w$}"));
        }
        out.push('\n');
    }
    for (name, s) in rows {
        for w in s.warnings() {
            out.push_str(&format!("warning: {name}: {w}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(r_hat: f64, ess_bulk: f64, ess_tail: f64) -> Summary {
        Summary {
            mean: 0.0,
            sd: 1.0,
            hdi_low: -1.88,
            hdi_high: 1.88,
            hdi_prob: 0.94,
            mcse_mean: 0.01,
            mcse_sd: 0.01,
            ess_bulk,
            ess_tail,
            r_hat,
        }
    }

    #[test]
    fn warnings_follow_the_thresholds() {
        assert!(row(1.0, 2000.0, 2000.0).warnings().is_empty());
        assert!(row(f64::NAN, 2000.0, 2000.0).warnings().is_empty());
        assert_eq!(
            row(1.02, 2000.0, 2000.0).warnings(),
            vec![Warning::HighRhat(1.02)]
        );
        assert_eq!(
            row(1.0, 399.0, 100.0).warnings(),
            vec![Warning::LowEssBulk(399.0), Warning::LowEssTail(100.0)]
        );
    }

    #[test]
    fn table_layout() {
        let t = format_table(&[
            ("mu", row(1.0, 2000.0, 1900.0)),
            ("tau", row(1.2, 50.0, 60.0)),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 6, "{t}");
        assert_eq!(
            lines[0],
            "      mean     sd  hdi_3%  hdi_97%  mcse_mean  mcse_sd  ess_bulk  ess_tail  r_hat"
        );
        assert_eq!(
            lines[1],
            "mu   0.000  1.000  -1.880    1.880      0.010    0.010      2000      1900   1.00"
        );
        assert_eq!(
            lines[3],
            "warning: tau: r_hat 1.200 > 1.01: chains have not mixed"
        );
        assert_eq!(lines[4], "warning: tau: ess_bulk 50 < 400");
        assert_eq!(lines[5], "warning: tau: ess_tail 60 < 400");
    }

    #[test]
    fn hdi_labels_like_arviz() {
        assert_eq!(
            row(1.0, 1.0, 1.0).hdi_labels(),
            ("hdi_3%".into(), "hdi_97%".into())
        );
        let mut r = row(1.0, 1.0, 1.0);
        r.hdi_prob = 0.89;
        assert_eq!(r.hdi_labels(), ("hdi_5.5%".into(), "hdi_94.5%".into()));
    }
}
