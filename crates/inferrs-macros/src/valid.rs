//! Checks a parsed model by building its [`Graph`], one statement at a time.
//!
//! Each error is a [`syn::Error`] at the offending token:
//! - a duplicate name, at the second declaration's name;
//! - a name used before its declaration, at the use;
//! - a declaration using itself, at the use;
//! - a random variable called as if it were a network, at the random variable;
//! - a parameter expression using a random variable (parameters are built once, before the model
//!   runs, when no random variable has a value), at the use;
//! - an empty model, at the macro call.
//!
//! Names that the model does not declare are left to rustc, which reports an unknown one at the
//! token ("cannot find value `xx` in this scope") since the expansion keeps the user's spans.

use std::collections::HashMap;

use inferrs_graph::{Graph, GraphError};
use proc_macro2::Span;
use syn::ext::IdentExt as _;

use crate::ast::{Body, FORMS, Model, Statement};
use crate::rewrite::{self, Kind, Use};

/// The kind of every name the model declares (the first declaration of a duplicate).
pub(crate) fn kinds(model: &Model) -> HashMap<String, Kind> {
    let mut kinds = HashMap::new();
    for statement in &model.statements {
        let kind = match statement.body {
            Body::Parameter { .. } => Kind::Parameter,
            Body::Random { .. } => Kind::Random,
        };
        kinds
            .entry(statement.name.unraw().to_string())
            .or_insert(kind);
    }
    kinds
}

/// The uses of model names in a statement's expressions, in source order.
pub(crate) fn uses(statement: &Statement, kinds: &HashMap<String, Kind>) -> Vec<Use> {
    // Rewriting a copy is how the uses are found: one walker decides both, so they agree.
    match &statement.body {
        Body::Parameter { expr } => rewrite::rewrite(&mut expr.clone(), kinds),
        Body::Random { args, .. } => args
            .iter()
            .flat_map(|arg| rewrite::rewrite(&mut arg.clone(), kinds))
            .collect(),
    }
}

/// The distribution's name for the graph: the last segment of its path.
pub(crate) fn distribution_name(distribution: &syn::Path) -> String {
    distribution
        .segments
        .last()
        .map_or_else(String::new, |s| s.ident.unraw().to_string())
}

/// Builds the graph of `model` and returns it with every error found.
///
/// `parsed_cleanly` says whether the whole input parsed; an empty model is an error only then (a
/// model whose every statement is malformed already has its errors).
pub(crate) fn validate(model: &Model, parsed_cleanly: bool) -> (Graph, Vec<syn::Error>) {
    let mut graph = Graph::new();
    let mut errors = Vec::new();
    if model.statements.is_empty() && parsed_cleanly {
        let message = format!("empty model: declare at least one statement, {FORMS}");
        errors.push(syn::Error::new(Span::call_site(), message));
    }
    let kinds = kinds(model);
    for statement in &model.statements {
        let name = statement.name.unraw().to_string();
        let is_parameter = matches!(statement.body, Body::Parameter { .. });
        let mut parents: Vec<String> = Vec::new();
        for used in uses(statement, &kinds) {
            if graph.contains(&used.name) {
                if used.called && graph.is_random(&used.name) {
                    errors.push(called_random(&used));
                } else if is_parameter && graph.is_random(&used.name) {
                    errors.push(parameter_uses_random(&name, &used));
                }
                if !parents.contains(&used.name) {
                    parents.push(used.name);
                }
            } else if used.name == name {
                errors.push(self_reference(&name, &used));
            } else {
                // Declared, not yet in the graph, not this statement: declared later.
                errors.push(use_before_declaration(&name, &used));
            }
        }
        let parents: Vec<&str> = parents.iter().map(String::as_str).collect();
        let added = match &statement.body {
            Body::Parameter { .. } => graph.add_parameter(&name, &parents),
            Body::Random { distribution, .. } => {
                graph.add_random(&name, &distribution_name(distribution), &parents, true)
            }
        };
        if let Err(error) = added {
            errors.push(graph_error(statement, error));
        }
    }
    (graph, errors)
}

fn called_random(used: &Use) -> syn::Error {
    let message = format!(
        "`{0}` is a random variable and cannot be called: only parameters (`nn = expression;`) \
         are called, as `nn({0})` for `nn.forward({0})`",
        used.name
    );
    syn::Error::new(used.ident.span(), message)
}

fn parameter_uses_random(name: &str, used: &Use) -> syn::Error {
    let message = format!(
        "parameter `{name}` cannot use the random variable `{}`: parameters are built once, \
         before the model runs",
        used.name
    );
    syn::Error::new(used.ident.span(), message)
}

fn self_reference(name: &str, used: &Use) -> syn::Error {
    let message =
        format!("`{name}` uses itself: a declaration can only use names declared before it");
    syn::Error::new(used.ident.span(), message)
}

fn use_before_declaration(name: &str, used: &Use) -> syn::Error {
    let message = format!(
        "`{0}` is used before its declaration: declare `{0}` before `{name}`",
        used.name
    );
    syn::Error::new(used.ident.span(), message)
}

fn graph_error(statement: &Statement, error: GraphError) -> syn::Error {
    let message = match error {
        GraphError::Duplicate { name } => {
            format!("duplicate name `{name}`: `{name}` is already declared in this model")
        }
        // Unreachable, as only names already in the graph are passed as parents; reported
        // rather than panicking all the same.
        other => other.to_string(),
    };
    syn::Error::new(statement.name.span(), message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::TokenStream;
    use quote::quote;

    fn check(tokens: TokenStream) -> (Graph, Vec<String>) {
        let model: Model = syn::parse2(tokens).unwrap();
        let (graph, errors) = validate(&model, true);
        (graph, errors.into_iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn graph_of_the_mdn() {
        let (graph, errors) = check(quote! {
            nn = MixtureNet::new(&device, 15, 20);
            x ~ Normal(1.0, 1.0);
            y ~ inferrs::MixtureGaussian(nn(x), x, nn);
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(graph.order(), ["nn", "x", "y"]);
        assert_eq!(graph.parents("y").unwrap(), ["nn", "x"]);
        assert_eq!(
            graph.node("y").unwrap().distribution(),
            Some("MixtureGaussian")
        );
        assert!(graph.node("x").unwrap().local);
        assert!(graph.is_parameter("nn"));
    }

    #[test]
    fn parameters_may_use_earlier_parameters_and_outer_names() {
        let (graph, errors) = check(quote! {
            a = Net::new(&device);
            b = Head::new(&device, a.width());
            y ~ Normal(b(sigma), 1.0);
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(graph.parents("b").unwrap(), ["a"]);
        assert_eq!(graph.parents("y").unwrap(), ["b"]);
    }

    #[test]
    fn duplicate_name() {
        let (graph, errors) = check(quote! {
            x ~ Normal(0.0, 1.0);
            x ~ Normal(x, 1.0);
        });
        assert_eq!(
            errors,
            ["duplicate name `x`: `x` is already declared in this model"]
        );
        assert_eq!(graph.len(), 1);
    }

    #[test]
    fn use_before_declaration() {
        let (_, errors) = check(quote! {
            x ~ Normal(y, 1.0);
            y ~ Normal(0.0, 1.0);
        });
        assert_eq!(
            errors,
            ["`y` is used before its declaration: declare `y` before `x`"]
        );
    }

    #[test]
    fn self_reference() {
        let (_, errors) = check(quote! {
            x ~ Normal(x, 1.0);
            nn = Net::new(nn);
        });
        assert_eq!(
            errors,
            [
                "`x` uses itself: a declaration can only use names declared before it",
                "`nn` uses itself: a declaration can only use names declared before it",
            ]
        );
    }

    #[test]
    fn called_random_variable_and_random_in_parameter() {
        let (_, errors) = check(quote! {
            x ~ Normal(0.0, 1.0);
            y ~ Normal(x(1.0), 1.0);
            nn = Net::new(x);
        });
        assert_eq!(
            errors,
            [
                "`x` is a random variable and cannot be called: only parameters \
                 (`nn = expression;`) are called, as `nn(x)` for `nn.forward(x)`",
                "parameter `nn` cannot use the random variable `x`: parameters are built once, \
                 before the model runs",
            ]
        );
    }

    #[test]
    fn all_errors_are_reported() {
        let (_, errors) = check(quote! {
            x ~ Normal(z, 1.0);
            x ~ Normal(0.0, 1.0);
            z ~ Normal(z, 1.0);
        });
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn empty_model() {
        let (_, errors) = check(quote! {});
        assert_eq!(
            errors,
            [format!(
                "empty model: declare at least one statement, {FORMS}"
            )]
        );
        let model: Model = syn::parse2(quote! {}).unwrap();
        assert!(
            validate(&model, false).1.is_empty(),
            "a malformed model is not also empty"
        );
    }
}
