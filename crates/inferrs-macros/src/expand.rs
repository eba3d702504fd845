//! The code a valid model expands to.
//!
//! ```text
//! {
//!     use ::inferrs::__private::burn;               // the derive emits `burn::` paths
//!     #[derive(burn::module::Module, Debug)]
//!     struct __InferrsParams<__T0> { nn: __T0 }     // one field per parameter
//!     let __inferrs_graph = { /* Graph::new(), then add_parameter / add_random in order */ };
//!     let nn = MixtureNet::new(&device, 15, 20);    // each parameter expression, once
//!     ::inferrs::__private::Model::new(__inferrs_graph, __InferrsParams { nn },
//!         move |__inferrs_params: &__InferrsParams<_>, __inferrs_ctx: &mut Ctx<'_>| -> Result<(), Error> {
//!             let nn = &__inferrs_params.nn;
//!             let x = __inferrs_ctx.sample("x", <Normal as FromArgs<_>>::from_args((1.0, 1.0,)))?;
//!             let y = __inferrs_ctx.sample("y", <MixtureGaussian as FromArgs<_>>::from_args((nn.forward(x.clone()),)))?;
//!             let _ = (&nn, &x, &y);
//!             Ok(())
//!         })
//! }
//! ```
//!
//! `probmodel!` expands the same way, a global random variable to `__inferrs_ctx.sample_global`;
//! `qmodel!` calls `QModel::new` instead of `Model::new`. A parameter tensor `w = Parameter(init)`
//! is a field built by `Parameter::new(init)`, and each inline `Parameter(init)` of a random
//! variable's arguments a field `__inferrs_pN` of its own. An input `input sigma;` reads its data
//! column, `let sigma = __inferrs_ctx.input("sigma")?;`, and is a node `add_input("sigma")`.
//!
//! The user's names, paths and expressions keep their spans, so rustc's own errors (an unknown
//! name, a distribution without a `FromArgs` impl for these arguments) land on the user's tokens;
//! the macro's own locals are `__inferrs_` names at mixed-site hygiene, invisible to user code.

use inferrs_graph::{Graph, NodeKind};
use proc_macro2::{Group, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::{Ident, LitStr, Path};

use crate::ast::{Body, Macro, Model, combine};
use crate::rewrite::{self, Context};
use crate::{fallback, valid};

/// Expands `datamodel! { .. }`, `probmodel! { .. }` or `qmodel! { .. }` (as `mac` says): the
/// model, or its errors with the fallback.
pub(crate) fn model(input: TokenStream, mac: Macro) -> TokenStream {
    let (model, parse_error) = Model::parse_partial(input);
    let (graph, errors) = valid::validate(&model, parse_error.is_none(), mac);
    match combine(parse_error.into_iter().chain(errors)) {
        Some(error) => fallback::expand(&error, mac),
        None => expand(&model, &graph, mac),
    }
}

/// The runtime's constructor that `mac` calls: `Model::new` or `QModel::new`.
pub(crate) fn constructor(mac: Macro) -> TokenStream {
    match mac {
        Macro::Datamodel | Macro::Probmodel => quote!(::inferrs::__private::Model::new),
        Macro::Qmodel => quote!(::inferrs::__private::QModel::new),
    }
}

/// `::inferrs::__private::Parameter::new`, at the span of the user's `Parameter`.
fn parameter_new(parameter: &Path) -> TokenStream {
    let span = parameter
        .segments
        .last()
        .map_or_else(Span::call_site, |s| s.ident.span());
    quote_spanned! {span=> ::inferrs::__private::Parameter::new }
}

/// The expansion of a valid model whose graph is `graph`.
fn expand(model: &Model, graph: &Graph, mac: Macro) -> TokenStream {
    let kinds = valid::kinds(model);
    let graph_ident = Ident::new("__inferrs_graph", Span::mixed_site());
    let params_ident = Ident::new("__inferrs_params", Span::mixed_site());
    let ctx_ident = Ident::new("__inferrs_ctx", Span::mixed_site());

    let build_graph = graph_builder(graph, mac);
    // The fields of the parameters struct, in order: named parameters and hoisted ones.
    let mut fields: Vec<Ident> = Vec::new();
    let mut outside = Vec::new();
    let mut inside = Vec::new();
    let mut hoisted_count = 0;
    for statement in &model.statements {
        let name = &statement.name;
        match &statement.body {
            Body::Parameter { expr } => {
                let mut expr = expr.clone();
                rewrite::rewrite([&mut expr], &kinds, Context::Parameter);
                outside.push(quote! { let #name = #expr; });
                inside.push(quote_spanned! {name.span()=> let #name = &#params_ident.#name; });
                fields.push(name.clone());
            }
            Body::Tensor { parameter, init } => {
                let mut init = init.clone();
                rewrite::rewrite([&mut init], &kinds, Context::Parameter);
                let new = parameter_new(parameter);
                outside.push(quote! { let #name = #new(#init); });
                inside.push(quote_spanned! {name.span()=> let #name = &#params_ident.#name; });
                fields.push(name.clone());
            }
            Body::Random {
                distribution,
                paren,
                args,
            } => {
                let site = LitStr::new(&name.unraw().to_string(), name.span());
                let mut args: Vec<syn::Expr> = args.iter().cloned().collect();
                let first = hoisted_count;
                let found = rewrite::rewrite(&mut args, &kinds, Context::Random { first });
                hoisted_count += found.hoisted.len();
                for hoisted in found.hoisted {
                    let (ident, init) = (&hoisted.ident, &hoisted.init);
                    let new = parameter_new(&hoisted.parameter);
                    outside.push(quote! { let #ident = #new(#init); });
                    inside.push(quote! { let #ident = &#params_ident.#ident; });
                    fields.push(hoisted.ident);
                }
                let mut tuple = Group::new(proc_macro2::Delimiter::Parenthesis, quote!(#(#args,)*));
                tuple.set_span(paren.span.join());
                let span = distribution
                    .segments
                    .first()
                    .map_or_else(Span::call_site, |s| s.ident.span());
                let from_args = quote_spanned! {span=>
                    <#distribution as ::inferrs::__private::FromArgs<_>>::from_args
                };
                let sample = if valid::is_local(statement, mac) {
                    Ident::new("sample", Span::call_site())
                } else {
                    Ident::new("sample_global", Span::call_site())
                };
                inside.push(quote! {
                    let #name = #ctx_ident.#sample(#site, #from_args(#tuple))?;
                });
            }
            Body::Input { .. } => {
                let site = LitStr::new(&name.unraw().to_string(), name.span());
                let input = Ident::new("input", Span::call_site());
                inside.push(quote! { let #name = #ctx_ident.#input(#site)?; });
            }
        }
    }
    let names = model.statements.iter().map(|s| &s.name);
    let generics: Vec<Ident> = (0..fields.len()).map(|i| format_ident!("__T{i}")).collect();
    let (declared_generics, inferred_generics) = if fields.is_empty() {
        (quote!(), quote!())
    } else {
        let holes = fields.iter().map(|_| quote!(_));
        (quote!(<#(#generics),*>), quote!(<#(#holes),*>))
    };
    let constructor = constructor(mac);

    quote! {
        {
            use ::inferrs::__private::burn;
            #[derive(burn::module::Module, Debug)]
            struct __InferrsParams #declared_generics { #(#fields: #generics,)* }
            let #graph_ident = #build_graph;
            #(#outside)*
            #constructor(
                #graph_ident,
                __InferrsParams { #(#fields),* },
                move |#params_ident: &__InferrsParams #inferred_generics,
                      #ctx_ident: &mut ::inferrs::__private::Ctx<'_>|
                      -> ::core::result::Result<(), ::inferrs::Error> {
                    #(#inside)*
                    let _ = (#(&#names,)*);
                    ::core::result::Result::Ok(())
                },
            )
        }
    }
}

/// A block that rebuilds `graph` at run time, node by node.
fn graph_builder(graph: &Graph, mac: Macro) -> TokenStream {
    let g = Ident::new("__inferrs_g", Span::mixed_site());
    let validated = format!("validated by {}", mac.name());
    let adds = graph.nodes().map(|node| {
        let name = &node.name;
        let parents = &node.parents;
        match &node.kind {
            NodeKind::Parameter => quote! {
                #g.add_parameter(#name, &[#(#parents),*]).expect(#validated);
            },
            NodeKind::Random { distribution } => {
                let local = node.local;
                quote! {
                    #g.add_random(#name, #distribution, &[#(#parents),*], #local)
                        .expect(#validated);
                }
            }
            NodeKind::Input => quote! {
                #g.add_input(#name).expect(#validated);
            },
        }
    });
    quote! {
        {
            let mut #g = ::inferrs::__private::Graph::new();
            #(#adds)*
            #g
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalise(tokens: TokenStream) -> String {
        tokens.to_string()
    }

    #[test]
    fn expands_the_mdn() {
        let expanded = model(
            quote! {
                nn = MixtureNet::new(&device, 15, 20);
                x ~ Normal(1.0, 1.0);
                y ~ MixtureGaussian(nn(x));
            },
            Macro::Datamodel,
        );
        let expected = quote! {
            {
                use ::inferrs::__private::burn;
                #[derive(burn::module::Module, Debug)]
                struct __InferrsParams<__T0> { nn: __T0, }
                let __inferrs_graph = {
                    let mut __inferrs_g = ::inferrs::__private::Graph::new();
                    __inferrs_g.add_parameter("nn", &[]).expect("validated by datamodel!");
                    __inferrs_g.add_random("x", "Normal", &[], true).expect("validated by datamodel!");
                    __inferrs_g.add_random("y", "MixtureGaussian", &["nn", "x"], true)
                        .expect("validated by datamodel!");
                    __inferrs_g
                };
                let nn = MixtureNet::new(&device, 15, 20);
                ::inferrs::__private::Model::new(
                    __inferrs_graph,
                    __InferrsParams { nn },
                    move |__inferrs_params: &__InferrsParams<_>,
                          __inferrs_ctx: &mut ::inferrs::__private::Ctx<'_>|
                          -> ::core::result::Result<(), ::inferrs::Error> {
                        let nn = &__inferrs_params.nn;
                        let x = __inferrs_ctx.sample(
                            "x",
                            <Normal as ::inferrs::__private::FromArgs<_>>::from_args((1.0, 1.0,))
                        )?;
                        let y = __inferrs_ctx.sample(
                            "y",
                            <MixtureGaussian as ::inferrs::__private::FromArgs<_>>::from_args(
                                (nn.forward(x.clone()),)
                            )
                        )?;
                        let _ = (&nn, &x, &y,);
                        ::core::result::Result::Ok(())
                    },
                )
            }
        };
        assert_eq!(normalise(expanded), normalise(expected));
    }

    #[test]
    fn expands_a_model_without_parameters() {
        let expanded = model(
            quote! {
                x ~ inferrs::Normal(0.0, sigma);
                y ~ Normal(x * 2.0, 1.0,);
            },
            Macro::Datamodel,
        )
        .to_string();
        assert!(
            expanded.contains(
                &quote!(
                    struct __InferrsParams {}
                )
                .to_string()
            ),
            "{expanded}"
        );
        assert!(
            expanded.contains(&quote!(&__InferrsParams,).to_string()),
            "{expanded}"
        );
        assert!(
            expanded.contains(&quote!(__InferrsParams {},).to_string()),
            "{expanded}"
        );
        let sample_y = quote! {
            <Normal as ::inferrs::__private::FromArgs<_>>::from_args((x.clone() * 2.0, 1.0,))
        };
        assert!(expanded.contains(&sample_y.to_string()), "{expanded}");
        let sample_x = quote! {
            <inferrs::Normal as ::inferrs::__private::FromArgs<_>>::from_args((0.0, sigma,))
        };
        assert!(expanded.contains(&sample_x.to_string()), "{expanded}");
        assert!(expanded.contains(&quote!(add_random("x", "Normal", &[], true)).to_string()));
    }

    #[test]
    fn two_parameters_get_two_generics() {
        let expanded = model(
            quote! {
                a = Net::new();
                b = Net::new();
                y ~ Normal(a(sigma), b(sigma));
            },
            Macro::Datamodel,
        )
        .to_string();
        let declared = quote!(
            struct __InferrsParams<__T0, __T1> {
                a: __T0,
                b: __T1,
            }
        );
        assert!(expanded.contains(&declared.to_string()), "{expanded}");
        assert!(
            expanded.contains(&quote!(&__InferrsParams<_, _>).to_string()),
            "{expanded}"
        );
        assert!(
            expanded.contains(&quote!(__InferrsParams { a, b }).to_string()),
            "{expanded}"
        );
        assert!(expanded.contains(&quote!((a.forward(sigma), b.forward(sigma),)).to_string()));
    }

    #[test]
    fn errors_expand_to_the_fallback() {
        let expanded = model(
            quote! {
                x ~ Normal(0.0, 1.0);
                x ~ Normal(0.0, 1.0);
                y Normal(1.0);
            },
            Macro::Datamodel,
        )
        .to_string();
        assert_eq!(expanded.matches("compile_error").count(), 2, "{expanded}");
        assert!(expanded.contains("Graph :: new ()"), "{expanded}");
        assert!(!expanded.contains("sample"), "{expanded}");
    }

    fn has(expanded: &str, code: TokenStream) {
        assert!(
            expanded.contains(&code.to_string()),
            "{code}\nnot in\n{expanded}"
        );
    }

    #[test]
    fn expands_the_probmodel_of_the_issue() {
        let expanded = model(
            quote! {
                w ~ Normal(0.0, 1.0);
                b ~ Normal(0.0, 1.0);
                datamodel {
                    x ~ Normal(0.0, 10.0);
                    y ~ Normal(w * x + b, 1.0);
                }
            },
            Macro::Probmodel,
        );
        let expected = quote! {
            {
                use ::inferrs::__private::burn;
                #[derive(burn::module::Module, Debug)]
                struct __InferrsParams {}
                let __inferrs_graph = {
                    let mut __inferrs_g = ::inferrs::__private::Graph::new();
                    __inferrs_g.add_random("w", "Normal", &[], false).expect("validated by probmodel!");
                    __inferrs_g.add_random("b", "Normal", &[], false).expect("validated by probmodel!");
                    __inferrs_g.add_random("x", "Normal", &[], true).expect("validated by probmodel!");
                    __inferrs_g.add_random("y", "Normal", &["w", "x", "b"], true)
                        .expect("validated by probmodel!");
                    __inferrs_g
                };
                ::inferrs::__private::Model::new(
                    __inferrs_graph,
                    __InferrsParams {},
                    move |__inferrs_params: &__InferrsParams,
                          __inferrs_ctx: &mut ::inferrs::__private::Ctx<'_>|
                          -> ::core::result::Result<(), ::inferrs::Error> {
                        let w = __inferrs_ctx.sample_global(
                            "w",
                            <Normal as ::inferrs::__private::FromArgs<_>>::from_args((0.0, 1.0,))
                        )?;
                        let b = __inferrs_ctx.sample_global(
                            "b",
                            <Normal as ::inferrs::__private::FromArgs<_>>::from_args((0.0, 1.0,))
                        )?;
                        let x = __inferrs_ctx.sample(
                            "x",
                            <Normal as ::inferrs::__private::FromArgs<_>>::from_args((0.0, 10.0,))
                        )?;
                        let y = __inferrs_ctx.sample(
                            "y",
                            <Normal as ::inferrs::__private::FromArgs<_>>::from_args(
                                (w.clone() * x.clone() + b.clone(), 1.0,)
                            )
                        )?;
                        let _ = (&w, &b, &x, &y,);
                        ::core::result::Result::Ok(())
                    },
                )
            }
        };
        assert_eq!(normalise(expanded), normalise(expected));
    }

    #[test]
    fn expands_the_qmodel_of_the_issue() {
        let expanded = model(
            quote! {
                w_loc = Parameter(0.0);
                w_scale = Parameter(1.0);
                w ~ Normal(w_loc, softplus(w_scale));
                b ~ Normal(Parameter(0.0), softplus(inferrs::Parameter(1.0)));
            },
            Macro::Qmodel,
        );
        let expected = quote! {
            {
                use ::inferrs::__private::burn;
                #[derive(burn::module::Module, Debug)]
                struct __InferrsParams<__T0, __T1, __T2, __T3> {
                    w_loc: __T0,
                    w_scale: __T1,
                    __inferrs_p0: __T2,
                    __inferrs_p1: __T3,
                }
                let __inferrs_graph = {
                    let mut __inferrs_g = ::inferrs::__private::Graph::new();
                    __inferrs_g.add_parameter("w_loc", &[]).expect("validated by qmodel!");
                    __inferrs_g.add_parameter("w_scale", &[]).expect("validated by qmodel!");
                    __inferrs_g.add_random("w", "Normal", &["w_loc", "w_scale"], false)
                        .expect("validated by qmodel!");
                    __inferrs_g.add_random("b", "Normal", &[], false).expect("validated by qmodel!");
                    __inferrs_g
                };
                let w_loc = ::inferrs::__private::Parameter::new(0.0);
                let w_scale = ::inferrs::__private::Parameter::new(1.0);
                let __inferrs_p0 = ::inferrs::__private::Parameter::new(0.0);
                let __inferrs_p1 = ::inferrs::__private::Parameter::new(1.0);
                ::inferrs::__private::QModel::new(
                    __inferrs_graph,
                    __InferrsParams { w_loc, w_scale, __inferrs_p0, __inferrs_p1 },
                    move |__inferrs_params: &__InferrsParams<_, _, _, _>,
                          __inferrs_ctx: &mut ::inferrs::__private::Ctx<'_>|
                          -> ::core::result::Result<(), ::inferrs::Error> {
                        let w_loc = &__inferrs_params.w_loc;
                        let w_scale = &__inferrs_params.w_scale;
                        let w = __inferrs_ctx.sample_global(
                            "w",
                            <Normal as ::inferrs::__private::FromArgs<_>>::from_args(
                                (w_loc.val(), softplus(w_scale.val()),)
                            )
                        )?;
                        let __inferrs_p0 = &__inferrs_params.__inferrs_p0;
                        let __inferrs_p1 = &__inferrs_params.__inferrs_p1;
                        let b = __inferrs_ctx.sample_global(
                            "b",
                            <Normal as ::inferrs::__private::FromArgs<_>>::from_args(
                                (__inferrs_p0.val(), softplus(__inferrs_p1.val()),)
                            )
                        )?;
                        let _ = (&w_loc, &w_scale, &w, &b,);
                        ::core::result::Result::Ok(())
                    },
                )
            }
        };
        assert_eq!(normalise(expanded), normalise(expected));
    }

    #[test]
    fn the_vae_qmodel_samples_locals_with_the_encoder() {
        let expanded = model(
            quote! {
                encoder = Encoder::new(&device, 784, 2);
                datamodel {
                    x ~ Normal(0.0, 1.0);
                    z ~ Normal(encoder(x));
                }
            },
            Macro::Qmodel,
        )
        .to_string();
        has(&expanded, quote!(::inferrs::__private::QModel::new));
        has(
            &expanded,
            quote!(add_random("z", "Normal", &["encoder", "x"], true)),
        );
        has(
            &expanded,
            quote! {
                let z = __inferrs_ctx.sample(
                    "z",
                    <Normal as ::inferrs::__private::FromArgs<_>>::from_args(
                        (encoder.forward(x.clone()),)
                    )
                )?;
            },
        );
        assert!(!expanded.contains("sample_global"), "{expanded}");
    }

    #[test]
    fn expands_the_inputs_of_eight_schools() {
        let expanded = model(
            quote! {
                mu ~ Normal(0.0, 5.0);
                tau ~ HalfNormal(5.0);
                datamodel {
                    input sigma;
                    theta ~ Normal(mu, tau);
                    y ~ Normal(theta, sigma);
                }
            },
            Macro::Probmodel,
        );
        let expected = quote! {
            {
                use ::inferrs::__private::burn;
                #[derive(burn::module::Module, Debug)]
                struct __InferrsParams {}
                let __inferrs_graph = {
                    let mut __inferrs_g = ::inferrs::__private::Graph::new();
                    __inferrs_g.add_random("mu", "Normal", &[], false).expect("validated by probmodel!");
                    __inferrs_g.add_random("tau", "HalfNormal", &[], false)
                        .expect("validated by probmodel!");
                    __inferrs_g.add_input("sigma").expect("validated by probmodel!");
                    __inferrs_g.add_random("theta", "Normal", &["mu", "tau"], true)
                        .expect("validated by probmodel!");
                    __inferrs_g.add_random("y", "Normal", &["theta", "sigma"], true)
                        .expect("validated by probmodel!");
                    __inferrs_g
                };
                ::inferrs::__private::Model::new(
                    __inferrs_graph,
                    __InferrsParams {},
                    move |__inferrs_params: &__InferrsParams,
                          __inferrs_ctx: &mut ::inferrs::__private::Ctx<'_>|
                          -> ::core::result::Result<(), ::inferrs::Error> {
                        let mu = __inferrs_ctx.sample_global(
                            "mu",
                            <Normal as ::inferrs::__private::FromArgs<_>>::from_args((0.0, 5.0,))
                        )?;
                        let tau = __inferrs_ctx.sample_global(
                            "tau",
                            <HalfNormal as ::inferrs::__private::FromArgs<_>>::from_args((5.0,))
                        )?;
                        let sigma = __inferrs_ctx.input("sigma")?;
                        let theta = __inferrs_ctx.sample(
                            "theta",
                            <Normal as ::inferrs::__private::FromArgs<_>>::from_args(
                                (mu.clone(), tau.clone(),)
                            )
                        )?;
                        let y = __inferrs_ctx.sample(
                            "y",
                            <Normal as ::inferrs::__private::FromArgs<_>>::from_args(
                                (theta.clone(), sigma.clone(),)
                            )
                        )?;
                        let _ = (&mu, &tau, &sigma, &theta, &y,);
                        ::core::result::Result::Ok(())
                    },
                )
            }
        };
        assert_eq!(normalise(expanded), normalise(expected));
    }

    #[test]
    fn inputs_in_datamodel_and_qmodel() {
        for (mac, tokens) in [
            (
                Macro::Datamodel,
                quote! { input r#x; y ~ Normal(nn(x), 1.0); },
            ),
            (
                Macro::Qmodel,
                quote! { datamodel { input r#x; y ~ Normal(nn(x), 1.0); } },
            ),
        ] {
            let validated = format!("validated by {}", mac.name());
            let expanded = model(tokens, mac).to_string();
            has(&expanded, quote!(let r#x = __inferrs_ctx.input("x")?;));
            has(
                &expanded,
                quote!(__inferrs_g.add_input("x").expect(#validated);),
            );
            has(&expanded, quote!(from_args((nn(x.clone()), 1.0,))));
            has(&expanded, constructor(mac));
        }
        // An input outside the block of a probmodel expands to the fallback.
        let expanded = model(
            quote! { input s; datamodel { y ~ Normal(0.0, s); } },
            Macro::Probmodel,
        )
        .to_string();
        assert_eq!(expanded.matches("compile_error").count(), 1, "{expanded}");
        assert!(!expanded.contains("add_input"), "{expanded}");
    }

    #[test]
    fn datamodel_parameters_are_tensors_too() {
        let expanded = model(
            quote! {
                s = Parameter([1.0, 2.0]);
                x ~ Normal(s, softplus(Parameter(s * 2.0)));
            },
            Macro::Datamodel,
        )
        .to_string();
        has(
            &expanded,
            quote!(let s = ::inferrs::__private::Parameter::new([1.0, 2.0]);),
        );
        has(
            &expanded,
            quote!(let __inferrs_p0 = ::inferrs::__private::Parameter::new(s.val() * 2.0);),
        );
        has(&expanded, quote!((s.val(), softplus(__inferrs_p0.val()),)));
        assert!(
            expanded.contains(r#"__inferrs_ctx . sample ("x" ,"#),
            "{expanded}"
        );
        has(&expanded, quote!(::inferrs::__private::Model::new));
    }

    #[test]
    fn errors_expand_to_the_fallback_of_each_macro() {
        for (mac, constructor) in [
            (Macro::Datamodel, quote!(::inferrs::__private::Model::new)),
            (Macro::Probmodel, quote!(::inferrs::__private::Model::new)),
            (Macro::Qmodel, quote!(::inferrs::__private::QModel::new)),
        ] {
            let expanded = model(
                quote! {
                    datamodel { x ~ Normal(0.0, 1.0); }
                    datamodel { y ~ Normal(0.0, 1.0); }
                },
                mac,
            )
            .to_string();
            has(&expanded, constructor);
            assert!(!expanded.contains("sample"), "{expanded}");
            let expected = if mac == Macro::Datamodel { 2 } else { 1 };
            assert_eq!(
                expanded.matches("compile_error").count(),
                expected,
                "{mac:?}: {expanded}"
            );
        }
    }
}
