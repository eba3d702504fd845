//! Probabilities given as logits or as probabilities: the success probability of one trial
//! (Bernoulli, Binomial, Geometric, NegativeBinomial) or the class probabilities of a
//! Categorical.

use burn::tensor::Device;
use burn::tensor::Tensor;
use burn::tensor::activation::log_sigmoid;

use super::{ln_sigmoid, safe_log, safe_log1m, sigmoid};
use crate::param::{HostParam, check_finite, check_param};
use crate::shared::{expand_to, map_param};
use crate::{DistError, Param};

/// A success probability `p`: logits (`p = sigmoid(logits)`) or probabilities. A Categorical
/// keeps its class logits (`softmax`) or probabilities here too.
#[derive(Clone, Debug)]
pub(crate) enum Odds {
    /// Log-odds `log(p / (1 - p))` (for a Categorical: unnormalised log probabilities).
    Logits(Param),
    /// Probabilities `p`.
    Probs(Param),
}

impl Odds {
    /// Logits: checks that the parameter has columns and that constants are finite.
    pub(crate) fn logits(dist: &'static str, logits: Param) -> Result<Self, DistError> {
        check_finite(dist, "logits", &logits)?;
        Ok(Odds::Logits(logits))
    }

    /// Probabilities: checks that the parameter has columns and that constants satisfy `ok`.
    pub(crate) fn probs(
        dist: &'static str,
        probs: Param,
        ok: impl Fn(f64) -> bool,
        reason: &'static str,
    ) -> Result<Self, DistError> {
        check_param(dist, "probs", &probs, ok, reason)?;
        Ok(Odds::Probs(probs))
    }

    /// The parameter as given.
    pub(crate) fn param(&self) -> &Param {
        match self {
            Odds::Logits(p) | Odds::Probs(p) => p,
        }
    }

    /// `"logits"` or `"probs"`.
    pub(crate) fn param_name(&self) -> &'static str {
        match self {
            Odds::Logits(_) => "logits",
            Odds::Probs(_) => "probs",
        }
    }

    /// The logits parameter, if given as logits.
    pub(crate) fn as_logits(&self) -> Option<&Param> {
        match self {
            Odds::Logits(p) => Some(p),
            Odds::Probs(_) => None,
        }
    }

    /// The probabilities parameter, if given as probabilities.
    pub(crate) fn as_probs(&self) -> Option<&Param> {
        match self {
            Odds::Probs(p) => Some(p),
            Odds::Logits(_) => None,
        }
    }

    /// `log(p)`, in the parameter's own shape. Constants are computed in f64 on the host.
    pub(crate) fn log_p(&self, device: &Device) -> Tensor<2> {
        match self {
            Odds::Logits(p) => map_param(p, device, ln_sigmoid, log_sigmoid),
            Odds::Probs(p) => map_param(p, device, f64::ln, safe_log),
        }
    }

    /// `log(1 - p)`, in the parameter's own shape. Constants are computed in f64 on the host.
    pub(crate) fn log_q(&self, device: &Device) -> Tensor<2> {
        match self {
            Odds::Logits(p) => map_param(p, device, |l| ln_sigmoid(-l), |t| log_sigmoid(t.neg())),
            Odds::Probs(p) => map_param(p, device, |p| (-p).ln_1p(), safe_log1m),
        }
    }

    /// `log(p)` and `log(1 - p)` broadcast to `shape`.
    pub(crate) fn log_pq(&self, device: &Device, shape: [usize; 2]) -> (Tensor<2>, Tensor<2>) {
        (
            expand_to(self.log_p(device), shape),
            expand_to(self.log_q(device), shape),
        )
    }

    /// `p` on the host (reads a tensor back from its device).
    pub(crate) fn host_p(&self) -> HostParam {
        match self {
            Odds::Logits(p) => HostParam::new(p).map(sigmoid),
            Odds::Probs(p) => HostParam::new(p),
        }
    }

    /// The odds `p / (1 - p)` on the host (`exp(logits)` for logits).
    pub(crate) fn host_odds(&self) -> HostParam {
        match self {
            Odds::Logits(p) => HostParam::new(p).map(f64::exp),
            Odds::Probs(p) => HostParam::new(p).map(|x| x / (1.0 - x)),
        }
    }
}
