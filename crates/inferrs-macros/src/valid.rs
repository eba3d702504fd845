//! Checks a parsed model by building its [`Graph`], one statement at a time.
//!
//! Each error is a [`syn::Error`] at the offending token:
//! - a duplicate name, at the second declaration's name;
//! - a name used before its declaration, at the use;
//! - a declaration using itself, at the use;
//! - a random variable, an input or a parameter tensor called as if it were a network, at the
//!   name;
//! - a parameter expression, or the initial value of an inline `Parameter(init)`, using a random
//!   variable or an input (parameters are built once, before the model runs, when neither has a
//!   value), at the use;
//! - a global random variable using a local one or an input, at the use;
//! - an input outside the `datamodel { .. }` block of `probmodel!` or `qmodel!` (an input is a
//!   data column, one value per row), at `input`;
//! - a `Parameter(..)` nested in a parameter's expression, inside a closure, or without exactly
//!   one argument, at `Parameter`;
//! - a `datamodel { .. }` block in `datamodel!`, at the block's keyword (the other block errors
//!   are the parser's);
//! - an empty model, at the macro call.
//!
//! Names that the model does not declare are left to rustc, which reports an unknown one at the
//! token ("cannot find value `xx` in this scope") since the expansion keeps the user's spans.

use std::collections::HashMap;

use inferrs_graph::{Graph, GraphError};
use proc_macro2::Span;
use syn::ext::IdentExt as _;

use crate::ast::{BLOCK, Body, FORMS, INPUT, Macro, Model, Statement};
use crate::rewrite::{self, Context, Kind, Rewritten, Use};

/// The kind of every name the model declares (the first declaration of a duplicate).
pub(crate) fn kinds(model: &Model) -> HashMap<String, Kind> {
    let mut kinds = HashMap::new();
    for statement in &model.statements {
        let kind = match statement.body {
            Body::Parameter { .. } => Kind::Parameter,
            Body::Tensor { .. } => Kind::Tensor,
            Body::Random { .. } => Kind::Random,
            Body::Input { .. } => Kind::Input,
        };
        kinds
            .entry(statement.name.unraw().to_string())
            .or_insert(kind);
    }
    kinds
}

/// The uses of model names in a statement's expressions, in source order, and the misplaced
/// `Parameter(..)` calls.
pub(crate) fn uses(statement: &Statement, kinds: &HashMap<String, Kind>) -> Rewritten {
    // Rewriting a copy is how the uses are found: one walker decides both, so they agree.
    match &statement.body {
        Body::Parameter { expr } => {
            rewrite::rewrite([&mut expr.clone()], kinds, Context::Parameter)
        }
        Body::Tensor { init, .. } => {
            rewrite::rewrite([&mut init.clone()], kinds, Context::Parameter)
        }
        Body::Random { args, .. } => {
            let mut args: Vec<syn::Expr> = args.iter().cloned().collect();
            rewrite::rewrite(&mut args, kinds, Context::Random { first: 0 })
        }
        // No expression: no use.
        Body::Input { .. } => Rewritten {
            uses: Vec::new(),
            hoisted: Vec::new(),
            errors: Vec::new(),
        },
    }
}

/// The distribution's name for the graph: the last segment of its path.
pub(crate) fn distribution_name(distribution: &syn::Path) -> String {
    distribution
        .segments
        .last()
        .map_or_else(String::new, |s| s.ident.unraw().to_string())
}

/// Whether the random variable `statement` of a model of `mac` is local (one value per row).
pub(crate) fn is_local(statement: &Statement, mac: Macro) -> bool {
    mac.all_local() || statement.in_block
}

/// Builds the graph of `model`, expanded by `mac`, and returns it with every error found.
///
/// `parsed_cleanly` says whether the whole input parsed; an empty model is an error only then (a
/// model whose every statement is malformed already has its errors).
pub(crate) fn validate(
    model: &Model,
    parsed_cleanly: bool,
    mac: Macro,
) -> (Graph, Vec<syn::Error>) {
    let mut graph = Graph::new();
    let mut errors = Vec::new();
    if model.statements.is_empty() && parsed_cleanly {
        let message = format!("empty model: declare at least one statement, {FORMS}");
        errors.push(syn::Error::new(Span::call_site(), message));
    }
    if let (Some(keyword), true) = (&model.block, mac.all_local()) {
        let message = format!(
            "`datamodel!` is already all local: use `probmodel!` for global variables \
             (its `{BLOCK} {{ .. }}` block holds the local ones)"
        );
        errors.push(syn::Error::new(keyword.span(), message));
    }
    let kinds = kinds(model);
    for statement in &model.statements {
        let name = statement.name.unraw().to_string();
        if let Body::Input { keyword } = &statement.body
            && !mac.all_local()
            && !statement.in_block
        {
            errors.push(input_outside_block(&name, keyword, mac));
        }
        let is_parameter = matches!(statement.body, Body::Parameter { .. } | Body::Tensor { .. });
        let global_random =
            matches!(statement.body, Body::Random { .. }) && !is_local(statement, mac);
        let found = uses(statement, &kinds);
        errors.extend(found.errors);
        let mut parents: Vec<String> = Vec::new();
        for used in found.uses {
            if graph.contains(&used.name) {
                // A random variable or an input: a value only while the model runs.
                let what = if graph.is_random(&used.name) {
                    Some("random variable")
                } else if graph.is_input(&used.name) {
                    Some("input")
                } else {
                    None
                };
                let local = graph.node(&used.name).is_some_and(|node| node.local);
                if let (true, Some(what)) = (used.called, what) {
                    errors.push(called_value(&used, what));
                } else if used.called && kinds.get(&used.name) == Some(&Kind::Tensor) {
                    errors.push(called_tensor(&used));
                } else if let (true, Some(what)) = (is_parameter, what) {
                    errors.push(parameter_uses_random(&name, &used, what));
                } else if let (true, Some(what)) = (used.in_init, what) {
                    errors.push(init_uses_random(&used, what));
                } else if let (true, Some(what), true) = (global_random, what, local) {
                    errors.push(global_uses_local(&name, &used, what));
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
            Body::Parameter { .. } | Body::Tensor { .. } => graph.add_parameter(&name, &parents),
            Body::Input { .. } => graph.add_input(&name),
            Body::Random { distribution, .. } => graph.add_random(
                &name,
                &distribution_name(distribution),
                &parents,
                is_local(statement, mac),
            ),
        };
        if let Err(error) = added {
            errors.push(graph_error(statement, error));
        }
    }
    (graph, errors)
}

/// `what`: "random variable" or "input".
fn called_value(used: &Use, what: &str) -> syn::Error {
    let message = format!(
        "`{0}` is {1} {what} and cannot be called: only parameters (`nn = expression;`) \
         are called, as `nn({0})` for `nn.forward({0})`",
        used.name,
        article(what),
    );
    syn::Error::new(used.ident.span(), message)
}

/// "a" or "an" before `word`.
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn input_outside_block(name: &str, keyword: &syn::Ident, mac: Macro) -> syn::Error {
    let message = format!(
        "an input must be declared inside the `{BLOCK} {{ .. }}` block of `{}`: `{name}` is a \
         data column, one value per row (move `{INPUT} {name};` into the block)",
        mac.name()
    );
    syn::Error::new(keyword.span(), message)
}

fn called_tensor(used: &Use) -> syn::Error {
    let message = format!(
        "`{0}` is a parameter tensor (`{0} = Parameter(init);`) and cannot be called: use it as \
         a value, as in `Normal({0}, 1.0)`; only modules (`nn = Net::new(..);`) are called",
        used.name
    );
    syn::Error::new(used.ident.span(), message)
}

fn parameter_uses_random(name: &str, used: &Use, what: &str) -> syn::Error {
    let message = format!(
        "parameter `{name}` cannot use the {what} `{}`: parameters are built once, \
         before the model runs",
        used.name
    );
    syn::Error::new(used.ident.span(), message)
}

fn init_uses_random(used: &Use, what: &str) -> syn::Error {
    let message = format!(
        "`Parameter(..)` cannot use the {what} `{}`: parameters are built once, \
         before the model runs",
        used.name
    );
    syn::Error::new(used.ident.span(), message)
}

/// `what`: "random variable" (a local one) or "input".
fn global_uses_local(name: &str, used: &Use, what: &str) -> syn::Error {
    let what = if what == "input" {
        what
    } else {
        "local variable"
    };
    let message = format!(
        "global `{name}` cannot use the {what} `{0}`: `{name}` has one value for all \
         rows, `{0}` one value per row (move `{name}` into the `{BLOCK} {{ .. }}` block to make it local)",
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
        check_as(Macro::Datamodel, tokens)
    }

    fn check_as(mac: Macro, tokens: TokenStream) -> (Graph, Vec<String>) {
        let (model, parse_error) = Model::parse_partial(tokens);
        let (graph, errors) = validate(&model, parse_error.is_none(), mac);
        let errors = parse_error.into_iter().flatten().chain(errors);
        (graph, errors.map(|e| e.to_string()).collect())
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
            validate(&model, false, Macro::Datamodel).1.is_empty(),
            "a malformed model is not also empty"
        );
    }

    const GLOBAL_W_LOCAL_X: &str = "global `w` cannot use the local variable `x`: `w` has one \
        value for all rows, `x` one value per row (move `w` into the `datamodel { .. }` block to \
        make it local)";

    #[test]
    fn probmodel_globals_and_locals() {
        for mac in [Macro::Probmodel, Macro::Qmodel] {
            let (graph, errors) = check_as(
                mac,
                quote! {
                    w ~ Normal(0.0, 1.0);
                    datamodel {
                        x ~ Normal(0.0, 10.0);
                        y ~ Normal(w * x + b, 1.0);
                    }
                    b ~ Normal(0.0, 1.0 + w);
                },
            );
            // `b` is declared after the block, and so after `y`: a use before declaration.
            assert_eq!(
                errors,
                ["`b` is used before its declaration: declare `b` before `y`"]
            );
            assert_eq!(graph.order(), ["w", "x", "y", "b"]);
            let local: Vec<bool> = graph.nodes().map(|n| n.local).collect();
            assert_eq!(local, [false, true, true, false]);
            assert_eq!(graph.parents("b").unwrap(), ["w"]);
        }
    }

    #[test]
    fn a_global_cannot_use_a_local() {
        let (_, errors) = check_as(
            Macro::Probmodel,
            quote! {
                datamodel { x ~ Normal(0.0, 1.0); }
                w ~ Normal(x, 1.0);
                v ~ Normal(w, 1.0);
            },
        );
        assert_eq!(errors, [GLOBAL_W_LOCAL_X]);
        // A local may use a global, and in `datamodel!` every variable is local.
        let (_, errors) = check_as(
            Macro::Datamodel,
            quote! {
                x ~ Normal(0.0, 1.0);
                w ~ Normal(x, 1.0);
            },
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn block_errors() {
        let (graph, errors) = check_as(
            Macro::Datamodel,
            quote! {
                datamodel { x ~ Normal(0.0, 1.0); }
            },
        );
        assert_eq!(
            errors,
            [
                "`datamodel!` is already all local: use `probmodel!` for global variables (its \
              `datamodel { .. }` block holds the local ones)"
            ]
        );
        assert!(graph.node("x").unwrap().local);

        let (_, errors) = check_as(
            Macro::Probmodel,
            quote! {
                datamodel { x ~ Normal(0.0, 1.0); }
                datamodel { y ~ Normal(x, 1.0); }
            },
        );
        assert_eq!(
            errors,
            [
                "a second `datamodel` block: a model has at most one, which holds all its local \
              variables"
            ]
        );

        let (graph, errors) = check_as(
            Macro::Qmodel,
            quote! {
                datamodel {
                    x ~ Normal(0.0, 1.0);
                    datamodel { y ~ Normal(x, 1.0); }
                }
                w ~ Normal(y, 1.0);
            },
        );
        assert_eq!(
            errors,
            [
                "a `datamodel` block cannot be nested: the statements of a `datamodel` block are \
                 already local",
                "global `w` cannot use the local variable `y`: `w` has one value for all rows, \
                 `y` one value per row (move `w` into the `datamodel { .. }` block to make it \
                 local)",
            ]
        );
        assert!(
            graph.node("y").unwrap().local,
            "a nested block's statements are local"
        );

        let (graph, errors) = check_as(
            Macro::Probmodel,
            quote! {
                w ~ Normal(0.0, 1.0);
                datamodle { x ~ Normal(w, 1.0); }
            },
        );
        assert_eq!(
            errors,
            ["unknown block `datamodle`: the block of local variables is `datamodel { .. }`"]
        );
        assert_eq!(graph.order(), ["w", "x"], "a misspelt block is still read");
    }

    #[test]
    fn names_in_the_block_share_the_namespace() {
        let (_, errors) = check_as(
            Macro::Probmodel,
            quote! {
                x ~ Normal(0.0, 1.0);
                datamodel { x ~ Normal(0.0, 1.0); }
            },
        );
        assert_eq!(
            errors,
            ["duplicate name `x`: `x` is already declared in this model"]
        );
    }

    #[test]
    fn inputs_are_local_values_in_every_macro() {
        for (mac, block) in [
            (Macro::Datamodel, false),
            (Macro::Probmodel, true),
            (Macro::Qmodel, true),
        ] {
            let statements = quote! {
                input sigma;
                theta ~ Normal(0.0, 1.0);
                y ~ Normal(theta, sigma * 2.0 + sigma);
                nn = Net::new(input);
            };
            let tokens = if block {
                quote! { mu ~ Normal(0.0, 5.0); datamodel { #statements } }
            } else {
                quote! { mu ~ Normal(0.0, 5.0); #statements }
            };
            let (graph, errors) = check_as(mac, tokens);
            assert!(errors.is_empty(), "{mac:?}: {errors:?}");
            assert_eq!(graph.order(), ["mu", "sigma", "theta", "y", "nn"]);
            assert!(graph.is_input("sigma") && !graph.is_random("sigma"));
            assert!(graph.node("sigma").unwrap().local);
            assert_eq!(graph.parents("y").unwrap(), ["theta", "sigma"]);
            assert_eq!(graph.parents("sigma").unwrap(), [] as [&str; 0]);
            assert_eq!(
                graph.parents("nn").unwrap(),
                [] as [&str; 0],
                "`input` here is an outer variable"
            );
        }
    }

    #[test]
    fn a_variable_may_be_called_input() {
        let (graph, errors) = check(quote! {
            input ~ Normal(0.0, 1.0);
            y ~ Normal(input, 1.0);
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert!(graph.is_random("input"));
        assert_eq!(graph.parents("y").unwrap(), ["input"]);
    }

    #[test]
    fn an_input_outside_the_block_is_an_error() {
        for mac in [Macro::Probmodel, Macro::Qmodel] {
            let (graph, errors) = check_as(
                mac,
                quote! {
                    mu ~ Normal(0.0, 5.0);
                    input sigma;
                    datamodel { y ~ Normal(mu, sigma); }
                },
            );
            assert_eq!(
                errors,
                [format!(
                    "an input must be declared inside the `datamodel {{ .. }}` block of `{}`: \
                     `sigma` is a data column, one value per row (move `input sigma;` into the \
                     block)",
                    mac.name()
                )]
            );
            assert!(
                graph.is_input("sigma"),
                "still declared: its uses are not errors"
            );
        }
    }

    #[test]
    fn input_errors() {
        let (_, errors) = check_as(
            Macro::Probmodel,
            quote! {
                datamodel {
                    y ~ Normal(0.0, s);
                    input s;
                    input s;
                    a ~ Normal(s(1.0), 1.0);
                    nn = Net::new(s);
                    b ~ Normal(Parameter(s), 1.0);
                    c = Parameter(s);
                }
                w ~ Normal(s, 1.0);
            },
        );
        assert_eq!(
            errors,
            [
                "`s` is used before its declaration: declare `s` before `y`",
                "duplicate name `s`: `s` is already declared in this model",
                "`s` is an input and cannot be called: only parameters (`nn = expression;`) are \
                 called, as `nn(s)` for `nn.forward(s)`",
                "parameter `nn` cannot use the input `s`: parameters are built once, before the \
                 model runs",
                "`Parameter(..)` cannot use the input `s`: parameters are built once, before the \
                 model runs",
                "parameter `c` cannot use the input `s`: parameters are built once, before the \
                 model runs",
                "global `w` cannot use the input `s`: `w` has one value for all rows, `s` one \
                 value per row (move `w` into the `datamodel { .. }` block to make it local)",
            ]
        );
        let (_, errors) = check(quote! {
            x ~ Normal(0.0, 1.0);
            input x;
        });
        assert_eq!(
            errors,
            ["duplicate name `x`: `x` is already declared in this model"]
        );
    }

    #[test]
    fn parameter_tensors() {
        let (graph, errors) = check_as(
            Macro::Qmodel,
            quote! {
                w_loc = Parameter(0.0);
                w_scale = inferrs::Parameter(w_loc * 2.0);
                w ~ Normal(w_loc, softplus(w_scale));
                b ~ Normal(Parameter(0.0), softplus(Parameter(1.0)));
            },
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert!(graph.is_parameter("w_loc") && graph.is_parameter("w_scale"));
        assert_eq!(graph.parents("w_scale").unwrap(), ["w_loc"]);
        assert_eq!(graph.parents("w").unwrap(), ["w_loc", "w_scale"]);
        assert!(
            graph.parents("b").unwrap().is_empty(),
            "hoisted parameters are not nodes"
        );
        assert_eq!(graph.len(), 4);
    }

    #[test]
    fn parameter_errors() {
        let (_, errors) = check_as(
            Macro::Qmodel,
            quote! {
                w_loc = Parameter(0.0);
                x ~ Normal(0.0, 1.0);
                a ~ Normal(w_loc(1.0), 1.0);
                b ~ Normal(Parameter(x), 1.0);
                c = Parameter(x);
                nn = Net::new(Parameter(0.0));
                d ~ Normal(v.map(|t| Parameter(t)), 1.0);
                e ~ Normal(Parameter(), Parameter(Parameter(0.0)));
            },
        );
        assert_eq!(
            errors,
            [
                "`w_loc` is a parameter tensor (`w_loc = Parameter(init);`) and cannot be \
                 called: use it as a value, as in `Normal(w_loc, 1.0)`; only modules \
                 (`nn = Net::new(..);`) are called",
                "`Parameter(..)` cannot use the random variable `x`: parameters are built once, \
                 before the model runs",
                "parameter `c` cannot use the random variable `x`: parameters are built once, \
                 before the model runs",
                "`Parameter(..)` cannot be inside a parameter's expression: declare it as a \
                 statement of its own, `name = Parameter(init);`",
                "`Parameter(..)` cannot be inside a closure: it is created once, before the model \
                 runs",
                crate::ast::PARAMETER_ARITY,
                "`Parameter(..)` cannot be inside a parameter's expression: declare it as a \
                 statement of its own, `name = Parameter(init);`",
            ]
        );
        let (_, errors) = check_as(Macro::Qmodel, quote! { w = Parameter(1.0, 2.0); });
        assert_eq!(errors, [crate::ast::PARAMETER_ARITY]);
    }
}
