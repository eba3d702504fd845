//! The handlers a context passes each sample site through, in order, and what happens to a
//! site that none of them gives a value.
//!
//! Inference algorithms are compositions of these (NumPyro's handlers, without a global
//! stack: the list lives in the [`Ctx`](crate::runtime::Ctx)):
//!
//! | run | handlers | unfilled |
//! |---|---|---|
//! | a fit's model run (SVI) | `Condition(batch)`, `Substitute(guide draw)`, `ScaleLocal(N / M)` | [`Unfilled::RequireGuide`] |
//! | a q-model's run | `Condition(batch)` | [`Unfilled::Draw`] |
//! | `posterior_predictive`, `prior` | `Condition(data)`, `Substitute(guide draw)` | [`Unfilled::Draw`] |
//! | `log_prob` | `Condition(data)`, `Substitute(guide draw)` | [`Unfilled::RequireValue`] |
//! | discovering the latent variables | `Condition(data)` | [`Unfilled::Draw`] |
//!
//! A model lifted with [`Model::lift`](crate::Model::lift) (Bayesian modules) adds the lift
//! to every one of these runs: its model function reads the parameters through
//! [`Ctx::lift`](crate::runtime::Ctx::lift) before the model's own code runs, so the lifted
//! weights are global sample sites of the run like any other, and [`Handler::Lift`] does the
//! same for a composition built by hand (with [`Ctx::parameters`](crate::runtime::Ctx::parameters)).
//!
//! Scoring is not a handler: the trace keeps each site's distribution and value, and the
//! reader (an ELBO, a log-density query) scores what it needs.

use burn::tensor::Tensor;
use indexmap::IndexMap;

use super::lift::Lift;

/// Values by variable name, each `[rows, event]`.
pub type Values = IndexMap<String, Tensor<2>>;

/// One handler of a context.
#[derive(Clone, Debug)]
pub enum Handler<'a> {
    /// Values from the data: a site named here takes the value and is observed. Also where
    /// [`Ctx::input`](crate::runtime::Ctx::input) reads declared inputs.
    Condition(&'a Values),
    /// Values for latent sites (a guide's draw, an MCMC position): a site named here that no
    /// earlier handler gave a value takes this one, and stays latent.
    Substitute(&'a Values),
    /// Multiplies the log-density of every local site by the factor (`N / M` when a minibatch
    /// of `M` rows stands for `N`). Global sites are not scaled.
    ScaleLocal(f64),
    /// Multiplies the log-density of every local site row by row by a `[rows]` mask of 0 and
    /// 1 (rows that do not count).
    Mask(&'a Tensor<1>),
    /// The named sites still run but are left out of the trace.
    Block(&'a [&'a str]),
    /// Trainable parameters of the model that are latent variables instead (Bayesian
    /// modules): when the model reads its parameters through
    /// [`Ctx::parameters`](crate::runtime::Ctx::parameters), every float tensor under a lifted
    /// module is replaced by the value of a global sample site named by its path
    /// (`nn.fc1.weight`), with the lift's prior. Those sites pass through the other handlers as
    /// any site does. It does nothing to a sample site.
    Lift(&'a Lift),
}

/// What a site that no handler gave a value does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unfilled {
    /// It is drawn from its distribution with the context's random stream (queries,
    /// q-models).
    Draw,
    /// It is an error, [`Error::LatentWithoutGuide`](crate::Error::LatentWithoutGuide): in a
    /// fit every latent variable must come from the guide.
    RequireGuide,
    /// It is an error, [`Error::MissingForLogProb`](crate::Error::MissingForLogProb): a
    /// log-density needs every variable's value.
    RequireValue,
}

/// Where a site's value came from, after the handlers.
pub(crate) enum Given<'v> {
    Data(&'v Tensor<2>),
    Latent(&'v Tensor<2>),
    None,
}

/// What the handlers say of a site: its value's origin, its factor, its mask and whether it
/// is recorded.
pub(crate) struct Verdict<'v> {
    pub(crate) given: Given<'v>,
    pub(crate) scale: f64,
    pub(crate) mask: Option<Tensor<1>>,
    pub(crate) recorded: bool,
}

/// Runs the site `name` through `handlers` in order.
pub(crate) fn process<'v>(handlers: &'v [Handler<'_>], name: &str, local: bool) -> Verdict<'v> {
    let mut verdict = Verdict {
        given: Given::None,
        scale: 1.0,
        mask: None,
        recorded: true,
    };
    for handler in handlers {
        match handler {
            Handler::Condition(values) => {
                if let (Given::None, Some(v)) = (&verdict.given, values.get(name)) {
                    verdict.given = Given::Data(v);
                }
            }
            Handler::Substitute(values) => {
                if let (Given::None, Some(v)) = (&verdict.given, values.get(name)) {
                    verdict.given = Given::Latent(v);
                }
            }
            Handler::ScaleLocal(factor) => {
                if local {
                    verdict.scale *= factor;
                }
            }
            Handler::Mask(mask) => {
                if local {
                    let mask = Tensor::clone(mask);
                    verdict.mask = Some(match verdict.mask.take() {
                        Some(m) => m * mask,
                        None => mask,
                    });
                }
            }
            Handler::Block(names) => {
                if names.contains(&name) {
                    verdict.recorded = false;
                }
            }
            // Acts on the parameters, before the sites it makes reach the handlers.
            Handler::Lift(_) => {}
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor, TensorData};
    use inferrs_distributions::{Normal, Rng};
    use rand::SeedableRng;

    use super::*;
    use crate::runtime::Ctx;

    fn column(values: Vec<f32>, device: &Device) -> Tensor<2> {
        let n = values.len();
        Tensor::from_data(TensorData::new(values, [n, 1]), device)
    }

    fn host(t: Tensor<1>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    /// Condition, substitute, scale, mask and block composed on one run: the data's value is
    /// observed, the substituted one latent, only local sites are scaled and masked, a blocked
    /// site runs but is not recorded. Log-densities against the closed form to 1e-6.
    #[test]
    fn handlers_compose_in_order() {
        let device = Device::default();
        let mut rng = Rng::seed_from_u64(0);
        let data: Values = [("y".to_string(), column(vec![1.0, 2.0, 3.0], &device))].into();
        let draw: Values = [
            ("mu".to_string(), column(vec![0.5], &device)),
            ("y".to_string(), column(vec![9.0, 9.0, 9.0], &device)),
        ]
        .into();
        let mask = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 0.0, 1.0], [3]), &device);
        let blocked = ["hidden"];
        let mut ctx = Ctx::new(3, device.clone(), &mut rng, Unfilled::Draw)
            .with(Handler::Condition(&data))
            .with(Handler::Substitute(&draw))
            .with(Handler::ScaleLocal(4.0))
            .with(Handler::Mask(&mask))
            .with(Handler::Block(&blocked));
        let mu = ctx.sample_global("mu", Normal::new(0.0, 1.0)).unwrap();
        let y = ctx.sample("y", Normal::new(mu.clone(), 1.0)).unwrap();
        ctx.sample("hidden", Normal::new(0.0, 1.0)).unwrap();
        let trace = ctx.into_trace();
        assert_eq!(trace.len(), 2, "the blocked site is not recorded");
        let (mu_site, y_site) = (trace.get("mu").unwrap(), trace.get("y").unwrap());
        assert!(!mu_site.observed && y_site.observed);
        assert_eq!((mu_site.scale, y_site.scale), (1.0, 4.0));
        assert!(mu_site.mask.is_none());
        // The data wins over the substitute for y.
        assert_eq!(
            y.into_data().try_to_vec::<f32>().unwrap(),
            vec![1.0, 2.0, 3.0]
        );
        let ln = |x: f64, m: f64| -0.5 * (x - m).powi(2) - 0.5 * (2.0 * std::f64::consts::PI).ln();
        let want = [4.0 * ln(1.0, 0.5), 0.0, 4.0 * ln(3.0, 0.5)];
        for (got, want) in host(y_site.log_prob()).iter().zip(want) {
            assert!((f64::from(*got) - want).abs() < 1e-6, "{got} vs {want}");
        }
        let got = f64::from(host(mu_site.log_prob())[0]);
        assert!((got - ln(0.5, 0.0)).abs() < 1e-6);
    }

    /// A site that no handler fills is drawn, or refused with the error naming it.
    #[test]
    fn unfilled_sites_are_drawn_or_refused() {
        let device = Device::default();
        let mut rng = Rng::seed_from_u64(0);
        let mut ctx = Ctx::new(2, device.clone(), &mut rng, Unfilled::RequireGuide);
        let err = ctx.sample("z", Normal::new(0.0, 1.0)).unwrap_err();
        assert!(
            matches!(err, crate::Error::LatentWithoutGuide { ref variable } if variable == "z")
        );
        let mut rng = Rng::seed_from_u64(0);
        let mut ctx = Ctx::new(2, device, &mut rng, Unfilled::Draw);
        assert_eq!(
            ctx.sample("z", Normal::new(0.0, 1.0)).unwrap().dims(),
            [2, 1]
        );
        assert!(matches!(
            ctx.input("s").unwrap_err(),
            crate::Error::MissingInput { ref variable } if variable == "s"
        ));
    }
}
