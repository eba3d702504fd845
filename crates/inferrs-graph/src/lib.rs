//! The dependency graph of an inferrs model.
//!
//! A model is a list of declarations in order: trainable parameters (`nn = MixtureNet::new(..)`),
//! random variables (`y ~ MixtureGaussian(nn(x))`) and inputs (`input sigma;`, a data column the
//! model reads but does not model). Each declaration names the earlier declarations it uses: its
//! parents. [`Graph`] keeps the nodes in declaration order, refuses a
//! duplicate name or a parent that is not yet declared, and so is acyclic by construction: the
//! declaration order is a topological order.
//!
//! The `datamodel!` macro validates a model through this crate at compile time and rebuilds the
//! same graph at run time, where the inference engine reads it (names, parents, which variables are
//! local to a row of the data) and [`Graph::to_dot`] draws it.
//!
//! Whether a random variable is observed or latent is not part of the graph: it is decided at run
//! time by the names present in the data.
//!
//! ```
//! use inferrs_graph::Graph;
//!
//! let mut g = Graph::new();
//! g.add_parameter("nn", &[])?;
//! g.add_input("sigma")?;
//! g.add_random("x", "Normal", &[], true)?;
//! g.add_random("y", "MixtureGaussian", &["nn", "x", "sigma"], true)?;
//! assert_eq!(g.children("x").unwrap(), ["y"]);
//! assert_eq!(g.order(), ["nn", "sigma", "x", "y"]);
//! assert!(g.is_input("sigma") && !g.is_random("sigma"));
//! # Ok::<(), inferrs_graph::GraphError>(())
//! ```

use std::fmt::Write as _;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// What a node of the graph declares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeKind {
    /// Trainable parameters (`name = expression;`): a burn module or a parameter tensor.
    Parameter,
    /// A random variable (`name ~ Distribution(args);`).
    Random {
        /// The distribution's name as written, last path segment only (`"Normal"`).
        distribution: String,
    },
    /// An input (`input name;`): a data column the model reads, one value per row, but does not
    /// model. It is not a random variable: it has no distribution and no parents, and it is
    /// always local.
    Input,
}

/// One declaration of a model, with its edges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// The declared name.
    pub name: String,
    /// Parameter, random variable or input.
    pub kind: NodeKind,
    /// The earlier declarations this one uses, without repetition, in order of first use.
    pub parents: Vec<String>,
    /// The later declarations that use this one, in declaration order.
    pub children: Vec<String>,
    /// `true` for a random variable with one value per row of the data (declared in a
    /// `datamodel` block) and for an input (a data column); `false` for a global random variable
    /// and for parameters.
    pub local: bool,
}

impl Node {
    /// Whether this node is a random variable.
    pub fn is_random(&self) -> bool {
        matches!(self.kind, NodeKind::Random { .. })
    }

    /// Whether this node is a parameter.
    pub fn is_parameter(&self) -> bool {
        matches!(self.kind, NodeKind::Parameter)
    }

    /// Whether this node is an input (a data column the model reads but does not model).
    pub fn is_input(&self) -> bool {
        matches!(self.kind, NodeKind::Input)
    }

    /// The distribution's name for a random variable, `None` for a parameter or an input.
    pub fn distribution(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Random { distribution } => Some(distribution),
            NodeKind::Parameter | NodeKind::Input => None,
        }
    }
}

/// An error in adding a node to a [`Graph`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// The name is already declared.
    #[error("duplicate name `{name}`: it is already declared")]
    Duplicate {
        /// The name declared twice.
        name: String,
    },
    /// A parent is not declared before the node that uses it.
    #[error("`{name}` uses `{parent}`, which is not declared before it")]
    UnknownParent {
        /// The node being added.
        name: String,
        /// The parent that is not (yet) in the graph.
        parent: String,
    },
    /// An input given parents or not local (only in a deserialised graph: [`Graph::add_input`]
    /// takes neither).
    #[error("input `{name}` must be local and have no parents: it is a data column")]
    InvalidInput {
        /// The input at fault.
        name: String,
    },
}

/// The nodes of a model in declaration order, with parents and children.
///
/// Every parent is declared before its child, so the graph is acyclic and the declaration order
/// is a topological order. Deserialisation rebuilds the graph node by node and so enforces the
/// same rules (children are recomputed from the parents; an input with parents or not local is
/// refused, [`GraphError::InvalidInput`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawGraph")]
pub struct Graph {
    nodes: IndexMap<String, Node>,
}

/// The serialised form, checked by [`Graph::try_from`] on the way in.
#[derive(Deserialize)]
struct RawGraph {
    nodes: IndexMap<String, Node>,
}

impl TryFrom<RawGraph> for Graph {
    type Error = GraphError;

    fn try_from(raw: RawGraph) -> Result<Self, GraphError> {
        let mut graph = Graph::new();
        for node in raw.nodes.into_values() {
            if node.is_input() && (!node.parents.is_empty() || !node.local) {
                return Err(GraphError::InvalidInput { name: node.name });
            }
            let parents: Vec<&str> = node.parents.iter().map(String::as_str).collect();
            graph.insert(&node.name, node.kind.clone(), &parents, node.local)?;
        }
        Ok(graph)
    }
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares trainable parameters `name` that use `parents`.
    ///
    /// # Arguments
    /// - `name`: a name not yet declared.
    /// - `parents`: names already declared (repetitions are dropped).
    ///
    /// # Returns
    /// [`GraphError::Duplicate`] if `name` is declared, [`GraphError::UnknownParent`] if a parent is
    /// not; the graph is then unchanged.
    pub fn add_parameter(&mut self, name: &str, parents: &[&str]) -> Result<(), GraphError> {
        self.insert(name, NodeKind::Parameter, parents, false)
    }

    /// Declares a random variable `name ~ distribution(..)` whose arguments use `parents`.
    ///
    /// # Arguments
    /// - `name`: a name not yet declared.
    /// - `distribution`: the distribution's name (`"Normal"`), for display.
    /// - `parents`: names already declared (repetitions are dropped).
    /// - `local`: one value per row of the data (`true`) or one value shared by all rows.
    ///
    /// # Returns
    /// [`GraphError::Duplicate`] if `name` is declared, [`GraphError::UnknownParent`] if a parent is
    /// not; the graph is then unchanged.
    pub fn add_random(
        &mut self,
        name: &str,
        distribution: &str,
        parents: &[&str],
        local: bool,
    ) -> Result<(), GraphError> {
        let kind = NodeKind::Random {
            distribution: distribution.to_owned(),
        };
        self.insert(name, kind, parents, local)
    }

    /// Declares an input `name` (`input name;`): a data column the model reads, one value per
    /// row, without modelling it (a covariate, the known `sigma` of eight schools).
    ///
    /// An input is local and has no parents; it is not a random variable ([`Graph::is_random`] is
    /// `false` for it).
    ///
    /// # Arguments
    /// - `name`: a name not yet declared.
    ///
    /// # Returns
    /// [`GraphError::Duplicate`] if `name` is declared; the graph is then unchanged.
    pub fn add_input(&mut self, name: &str) -> Result<(), GraphError> {
        self.insert(name, NodeKind::Input, &[], true)
    }

    fn insert(
        &mut self,
        name: &str,
        kind: NodeKind,
        parents: &[&str],
        local: bool,
    ) -> Result<(), GraphError> {
        if self.nodes.contains_key(name) {
            return Err(GraphError::Duplicate {
                name: name.to_owned(),
            });
        }
        let mut unique: Vec<String> = Vec::with_capacity(parents.len());
        for &parent in parents {
            if !self.nodes.contains_key(parent) {
                return Err(GraphError::UnknownParent {
                    name: name.to_owned(),
                    parent: parent.to_owned(),
                });
            }
            if !unique.iter().any(|p| p == parent) {
                unique.push(parent.to_owned());
            }
        }
        for parent in &unique {
            if let Some(node) = self.nodes.get_mut(parent.as_str()) {
                node.children.push(name.to_owned());
            }
        }
        let node = Node {
            name: name.to_owned(),
            kind,
            parents: unique,
            children: Vec::new(),
            local,
        };
        self.nodes.insert(name.to_owned(), node);
        Ok(())
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether `name` is declared.
    pub fn contains(&self, name: &str) -> bool {
        self.nodes.contains_key(name)
    }

    /// The node declared as `name`.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(name)
    }

    /// All nodes in declaration order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values()
    }

    /// All names in declaration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }

    /// The parents of `name` in order of first use; `None` if `name` is not declared.
    pub fn parents(&self, name: &str) -> Option<&[String]> {
        self.nodes.get(name).map(|n| n.parents.as_slice())
    }

    /// The children of `name` in declaration order; `None` if `name` is not declared.
    pub fn children(&self, name: &str) -> Option<&[String]> {
        self.nodes.get(name).map(|n| n.children.as_slice())
    }

    /// A topological order of the names: every parent comes before its children.
    ///
    /// This is the declaration order, which the construction rules make topological; ties are
    /// therefore broken by declaration order, and the result is the order in which a model runs.
    pub fn order(&self) -> Vec<&str> {
        let order: Vec<&str> = self.names().collect();
        debug_assert!(
            self.is_topological(&order),
            "declaration order is topological"
        );
        order
    }

    /// Whether `order` lists every node once, each after all its parents.
    fn is_topological(&self, order: &[&str]) -> bool {
        let position: IndexMap<&str, usize> =
            order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        position.len() == self.nodes.len()
            && self.nodes.values().all(|node| {
                let Some(&own) = position.get(node.name.as_str()) else {
                    return false;
                };
                node.parents
                    .iter()
                    .all(|p| position.get(p.as_str()).is_some_and(|&at| at < own))
            })
    }

    /// The random variables in declaration order.
    pub fn random_variables(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values().filter(|n| n.is_random())
    }

    /// The parameters in declaration order.
    pub fn parameters(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values().filter(|n| n.is_parameter())
    }

    /// The inputs in declaration order.
    pub fn inputs(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values().filter(|n| n.is_input())
    }

    /// Whether `name` is a declared random variable.
    pub fn is_random(&self, name: &str) -> bool {
        self.nodes.get(name).is_some_and(Node::is_random)
    }

    /// Whether `name` is a declared parameter.
    pub fn is_parameter(&self, name: &str) -> bool {
        self.nodes.get(name).is_some_and(Node::is_parameter)
    }

    /// Whether `name` is a declared input.
    pub fn is_input(&self, name: &str) -> bool {
        self.nodes.get(name).is_some_and(Node::is_input)
    }

    /// The graph in Graphviz DOT.
    ///
    /// Parameters are boxes labelled with their name, random variables ellipses labelled
    /// `y ~ MixtureGaussian`, inputs shaded (grey-filled) ellipses labelled with their name (a
    /// data column, always given, as an observed node is shaded in plate notation); local random
    /// variables and inputs sit in a cluster labelled `rows` (the plate over the rows of the data).
    /// Edges go from parent to child. Observed and latent random variables are not known here (the
    /// data decides at run time), so they are not drawn differently.
    pub fn to_dot(&self) -> String {
        let mut dot = String::from("digraph model {\n");
        let declare = |dot: &mut String, indent: &str, node: &Node| {
            let id = quoted(&node.name);
            let _ = match &node.kind {
                NodeKind::Random { distribution } => writeln!(
                    dot,
                    "{indent}{id} [shape=ellipse, label={}];",
                    quoted(&format!("{} ~ {distribution}", node.name))
                ),
                NodeKind::Input => writeln!(
                    dot,
                    "{indent}{id} [shape=ellipse, style=filled, fillcolor=lightgrey, label={id}];"
                ),
                NodeKind::Parameter => writeln!(dot, "{indent}{id} [shape=box, label={id}];"),
            };
        };
        for node in self.nodes.values().filter(|n| !n.local) {
            declare(&mut dot, "  ", node);
        }
        if self.nodes.values().any(|n| n.local) {
            dot.push_str("  subgraph cluster_rows {\n    label=\"rows\";\n");
            for node in self.nodes.values().filter(|n| n.local) {
                declare(&mut dot, "    ", node);
            }
            dot.push_str("  }\n");
        }
        for node in self.nodes.values() {
            for parent in &node.parents {
                let _ = writeln!(dot, "  {} -> {};", quoted(parent), quoted(&node.name));
            }
        }
        dot.push_str("}\n");
        dot
    }
}

/// A DOT double-quoted string.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mixture density network of the InferPy tutorial, plus a second head.
    fn mdn() -> Graph {
        let mut g = Graph::new();
        g.add_parameter("nn", &[]).unwrap();
        g.add_random("x", "Normal", &[], true).unwrap();
        g.add_random("y", "MixtureGaussian", &["nn", "x", "nn"], true)
            .unwrap();
        g.add_random("z", "Normal", &["x"], true).unwrap();
        g
    }

    #[test]
    fn parents_children_and_order() {
        let g = mdn();
        assert_eq!(g.len(), 4);
        assert_eq!(g.parents("y").unwrap(), ["nn", "x"], "repetition dropped");
        assert_eq!(g.parents("x").unwrap(), [] as [&str; 0]);
        assert_eq!(g.children("x").unwrap(), ["y", "z"]);
        assert_eq!(g.children("nn").unwrap(), ["y"]);
        assert_eq!(g.children("z").unwrap(), [] as [&str; 0]);
        assert_eq!(g.parents("missing"), None);
        assert_eq!(g.children("missing"), None);
        let order = g.order();
        assert_eq!(order, ["nn", "x", "y", "z"]);
        assert!(g.is_topological(&order));
        assert!(
            !g.is_topological(&["x", "y", "nn", "z"]),
            "y before its parent nn"
        );
        assert!(!g.is_topological(&["nn", "x", "y"]), "z missing");
    }

    #[test]
    fn kinds() {
        let g = mdn();
        assert!(g.is_parameter("nn") && !g.is_random("nn"));
        assert!(g.is_random("y") && !g.is_parameter("y"));
        assert!(!g.is_random("missing") && !g.is_parameter("missing"));
        assert!(g.contains("z") && !g.contains("w"));
        let random: Vec<&str> = g.random_variables().map(|n| n.name.as_str()).collect();
        assert_eq!(random, ["x", "y", "z"]);
        let params: Vec<&str> = g.parameters().map(|n| n.name.as_str()).collect();
        assert_eq!(params, ["nn"]);
        assert_eq!(g.node("y").unwrap().distribution(), Some("MixtureGaussian"));
        assert_eq!(g.node("nn").unwrap().distribution(), None);
        assert!(!g.node("nn").unwrap().local);
        assert!(g.node("x").unwrap().local);
        assert_eq!(g.names().collect::<Vec<_>>(), ["nn", "x", "y", "z"]);
    }

    #[test]
    fn duplicate_is_refused_and_graph_unchanged() {
        let mut g = mdn();
        let before = g.clone();
        let err = g.add_random("x", "Normal", &[], true).unwrap_err();
        assert_eq!(err, GraphError::Duplicate { name: "x".into() });
        assert_eq!(
            err.to_string(),
            "duplicate name `x`: it is already declared"
        );
        assert_eq!(
            g.add_parameter("nn", &[]).unwrap_err(),
            GraphError::Duplicate { name: "nn".into() }
        );
        assert_eq!(g, before);
    }

    #[test]
    fn unknown_parent_is_refused_and_graph_unchanged() {
        let mut g = mdn();
        let before = g.clone();
        let err = g.add_random("w", "Normal", &["x", "v"], true).unwrap_err();
        assert_eq!(
            err,
            GraphError::UnknownParent {
                name: "w".into(),
                parent: "v".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "`w` uses `v`, which is not declared before it"
        );
        assert_eq!(g, before, "x gained no child");
        let err = g.add_parameter("p", &["p"]).unwrap_err();
        assert!(
            matches!(err, GraphError::UnknownParent { .. }),
            "a node cannot use itself"
        );
    }

    #[test]
    fn dot_has_shapes_labels_and_edges() {
        let dot = mdn().to_dot();
        assert!(
            dot.starts_with("digraph model {\n") && dot.ends_with("}\n"),
            "{dot}"
        );
        assert!(dot.contains("\"nn\" [shape=box, label=\"nn\"];"), "{dot}");
        assert!(
            dot.contains("\"y\" [shape=ellipse, label=\"y ~ MixtureGaussian\"];"),
            "{dot}"
        );
        assert!(dot.contains("subgraph cluster_rows {"), "{dot}");
        for edge in ["\"nn\" -> \"y\";", "\"x\" -> \"y\";", "\"x\" -> \"z\";"] {
            assert!(dot.contains(edge), "missing {edge} in {dot}");
        }
        assert_eq!(dot.matches("->").count(), 3, "{dot}");
    }

    #[test]
    fn dot_global_variables_outside_the_plate_and_quotes_escaped() {
        let mut g = Graph::new();
        g.add_random("w", "Normal", &[], false).unwrap();
        g.add_random("a\"b", "Normal", &["w"], false).unwrap();
        let dot = g.to_dot();
        assert!(!dot.contains("cluster"), "{dot}");
        assert!(dot.contains("\"w\" -> \"a\\\"b\";"), "{dot}");
        assert_eq!(Graph::new().to_dot(), "digraph model {\n}\n");
    }

    /// Eight schools: `sigma` is an input, a data column the model reads.
    fn eight_schools() -> Graph {
        let mut g = Graph::new();
        g.add_random("mu", "Normal", &[], false).unwrap();
        g.add_random("tau", "HalfNormal", &[], false).unwrap();
        g.add_input("sigma").unwrap();
        g.add_random("theta", "Normal", &["mu", "tau"], true)
            .unwrap();
        g.add_random("y", "Normal", &["theta", "sigma"], true)
            .unwrap();
        g
    }

    #[test]
    fn inputs() {
        let g = eight_schools();
        assert!(g.is_input("sigma") && g.contains("sigma"));
        assert!(!g.is_random("sigma") && !g.is_parameter("sigma"));
        assert!(!g.is_input("y") && !g.is_input("missing"));
        let sigma = g.node("sigma").unwrap();
        assert!(sigma.is_input() && !sigma.is_random() && !sigma.is_parameter());
        assert_eq!(sigma.kind, NodeKind::Input);
        assert!(sigma.local, "an input is local");
        assert_eq!(sigma.distribution(), None);
        assert_eq!(g.parents("sigma").unwrap(), [] as [&str; 0]);
        assert_eq!(g.children("sigma").unwrap(), ["y"]);
        assert_eq!(g.parents("y").unwrap(), ["theta", "sigma"]);
        let inputs: Vec<&str> = g.inputs().map(|n| n.name.as_str()).collect();
        assert_eq!(inputs, ["sigma"]);
        let random: Vec<&str> = g.random_variables().map(|n| n.name.as_str()).collect();
        assert_eq!(random, ["mu", "tau", "theta", "y"]);
        assert_eq!(g.parameters().count(), 0);
        assert_eq!(g.order(), ["mu", "tau", "sigma", "theta", "y"]);
        assert_eq!(mdn().inputs().count(), 0);
    }

    #[test]
    fn duplicate_input_is_refused_and_graph_unchanged() {
        let mut g = eight_schools();
        let before = g.clone();
        for name in ["sigma", "mu", "y"] {
            assert_eq!(
                g.add_input(name).unwrap_err(),
                GraphError::Duplicate { name: name.into() }
            );
        }
        assert_eq!(
            g.add_random("sigma", "Normal", &[], true).unwrap_err(),
            GraphError::Duplicate {
                name: "sigma".into()
            }
        );
        assert_eq!(g, before);
    }

    #[test]
    fn dot_draws_inputs_shaded_inside_the_plate() {
        let dot = eight_schools().to_dot();
        let input =
            "    \"sigma\" [shape=ellipse, style=filled, fillcolor=lightgrey, label=\"sigma\"];";
        assert!(dot.contains(input), "{dot}");
        let plate = dot.find("subgraph cluster_rows {").unwrap();
        assert!(dot.find(input).unwrap() > plate, "{dot}");
        assert!(
            dot.contains("\"mu\" [shape=ellipse, label=\"mu ~ Normal\"];"),
            "{dot}"
        );
        assert!(dot.contains("\"sigma\" -> \"y\";"), "{dot}");
        assert_eq!(
            dot.matches("filled").count(),
            1,
            "only the input is shaded: {dot}"
        );
    }

    #[test]
    fn serde_round_trip_with_an_input() {
        let g = eight_schools();
        let value = serde_json::to_value(&g).unwrap();
        assert_eq!(value["nodes"]["sigma"]["kind"], "Input");
        let back: Graph = serde_json::from_value(value).unwrap();
        assert_eq!(back, g);
        assert!(back.is_input("sigma"));
    }

    #[test]
    fn deserialising_an_invalid_input_fails() {
        let g = eight_schools();
        for (field, bad) in [
            ("parents", serde_json::json!(["mu"])),
            ("local", serde_json::json!(false)),
        ] {
            let mut value = serde_json::to_value(&g).unwrap();
            value["nodes"]["sigma"][field] = bad;
            let err = serde_json::from_value::<Graph>(value).unwrap_err();
            assert!(
                err.to_string()
                    .contains("input `sigma` must be local and have no parents"),
                "{field}: {err}"
            );
        }
    }

    #[test]
    fn serde_round_trip() {
        let g = mdn();
        let json = serde_json::to_string(&g).unwrap();
        let back: Graph = serde_json::from_str(&json).unwrap();
        assert_eq!(back, g);
        assert_eq!(back.order(), g.order());
    }

    #[test]
    fn deserialising_an_invalid_graph_fails() {
        let g = mdn();
        let mut value = serde_json::to_value(&g).unwrap();
        // Make x use z, which is declared after it.
        value["nodes"]["x"]["parents"] = serde_json::json!(["z"]);
        let err = serde_json::from_value::<Graph>(value).unwrap_err();
        assert!(err.to_string().contains("`x` uses `z`"), "{err}");
    }
}
