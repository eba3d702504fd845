//! Bayesian modules: [`Model::lift`] turns trainable parameters of a model (its burn modules)
//! into global latent variables with a prior, by running the model function behind the lift
//! (the lift handler's work is in [`runtime::Ctx::lift`](crate::runtime::Ctx::lift)).

use burn::module::Module;
use inferrs_graph::{Graph, NodeKind};

use crate::runtime::{Ctx, Lift, ParamInfo, Prior, build_prior, intern};
use crate::{Error, Model};

impl<P, F> Model<P, F>
where
    P: Module,
    F: Fn(&P, &mut Ctx<'_>) -> Result<(), Error>,
{
    /// The model with every float parameter tensor of the module `module` a global latent
    /// variable with the prior `prior`: a Bayesian module (Pyro's `random_module`, InferPy's
    /// Bayesian layers).
    ///
    /// `module` is a parameter of the model (`nn` of `nn = Mlp::new(..);`) or a path into it
    /// (`nn.fc2`, only that layer). Each tensor becomes the variable named by its path,
    /// `nn.fc1.weight`, `nn.fc1.bias`, .., with values `[1, elements]` (reshaped to the
    /// tensor's shape where the module uses it): an automatic guide covers them as it covers
    /// any global variable (`AutoNormal` one Normal per weight, `AutoDelta` a MAP estimate),
    /// and `posterior`, `prior` and `posterior_predictive` know them by name. The module's
    /// own values are no longer used (nor trained): they give the shapes.
    ///
    /// The graph gets a node per tensor (global, with the prior's family), declared just
    /// before the module, which then uses them.
    ///
    /// In a program (`docs/inference.md` has it run as a test):
    ///
    /// ```text
    /// let model = datamodel! {
    ///     nn = LinearConfig::new(2, 1).init(&device);
    ///     input x;
    ///     y ~ Normal(nn(x), 0.1);
    /// }
    /// .lift("nn", Normal::new(0.0, 1.0))?;      // nn.weight, nn.bias ~ N(0, 1)
    /// ```
    ///
    /// # Errors
    /// [`Error::Lift`] when `module` is not under a parameter of the model, has no float
    /// tensor, or is already lifted; [`Error::Distribution`] / [`Error::Shape`] when `prior`
    /// cannot give a tensor a prior over its elements, naming the tensor.
    // The model function's type is the closure's, unnameable on stable Rust (no type alias
    // can hold an `impl Fn`).
    #[allow(clippy::type_complexity)]
    pub fn lift(
        self,
        module: &str,
        prior: impl Prior + 'static,
    ) -> Result<Model<P, impl Fn(&P, &mut Ctx<'_>) -> Result<(), Error>>, Error> {
        self.lift_with(Lift::new().module(module, prior))
    }

    /// As [`Model::lift`] for every module of `lift`, each with its prior.
    ///
    /// # Errors
    /// As [`Model::lift`].
    #[allow(clippy::type_complexity)]
    pub fn lift_with(
        self,
        lift: Lift,
    ) -> Result<Model<P, impl Fn(&P, &mut Ctx<'_>) -> Result<(), Error>>, Error> {
        let graph = lifted_graph(self.graph(), &lift, &self.params)?;
        let seed = self.seed();
        let f = self.f;
        let run = move |params: &P, ctx: &mut Ctx<'_>| -> Result<(), Error> {
            let lifted = ctx.lift(&lift, params)?;
            f(&lifted, ctx)
        };
        let mut model = Model::new(graph, self.params, run);
        model.set_seed(seed);
        Ok(model)
    }
}

/// `graph` with a global random node for every tensor that `lift` lifts in `params`,
/// declared just before the parameter it belongs to, which then has them as parents.
fn lifted_graph<P: Module>(graph: &Graph, lift: &Lift, params: &P) -> Result<Graph, Error> {
    let parameters = || {
        graph
            .parameters()
            .map(|n| n.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for module in lift.modules() {
        let head = module.split('.').next().unwrap_or(module);
        if !graph.is_parameter(head) {
            return Err(Error::Lift {
                module: module.to_string(),
                reason: format!(
                    "`{head}` is not a parameter of the model (its parameters: {})",
                    if graph.parameters().next().is_none() {
                        "none".to_string()
                    } else {
                        parameters()
                    }
                ),
            });
        }
    }
    let sites = lift.sites(params)?;
    let device = params
        .devices()
        .into_iter()
        .next()
        .map(burn::tensor::Device::inner)
        .unwrap_or_default();
    // (name, prior's family) of each lifted tensor, with the prior checked on it now.
    let mut lifted: Vec<(String, &'static str)> = Vec::with_capacity(sites.len());
    for (path, shape) in &sites {
        if graph.contains(path) {
            return Err(Error::Lift {
                module: path.clone(),
                reason: "it is already a variable of the model (lifted twice?)".to_string(),
            });
        }
        let info = ParamInfo {
            name: intern(path),
            shape: shape.clone(),
            device: device.clone(),
        };
        let prior = lift.prior_of(path).ok_or_else(|| unreachable_lift(path))?;
        let dist = build_prior(prior, &info)?;
        lifted.push((path.clone(), dist.name()));
    }
    let mut out = Graph::new();
    let rebuilt = |e: inferrs_graph::GraphError| Error::Lift {
        module: lift.modules().collect::<Vec<_>>().join(", "),
        reason: e.to_string(),
    };
    for node in graph.nodes() {
        let mut parents: Vec<&str> = node.parents.iter().map(String::as_str).collect();
        if node.is_parameter() {
            for (name, dist) in lifted
                .iter()
                .filter(|(name, _)| name.split('.').next() == Some(node.name.as_str()))
            {
                out.add_random(name, dist, &[], false).map_err(rebuilt)?;
                parents.push(name);
            }
        }
        match &node.kind {
            NodeKind::Parameter => out.add_parameter(&node.name, &parents),
            NodeKind::Random { distribution } => {
                out.add_random(&node.name, distribution, &parents, node.local)
            }
            NodeKind::Input => out.add_input(&node.name),
        }
        .map_err(rebuilt)?;
    }
    Ok(out)
}

fn unreachable_lift(path: &str) -> Error {
    Error::Lift {
        module: path.to_string(),
        reason: "no prior covers it".to_string(),
    }
}
