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
//! The user's names, paths and expressions keep their spans, so rustc's own errors (an unknown
//! name, a distribution without a `FromArgs` impl for these arguments) land on the user's tokens;
//! the macro's own locals are `__inferrs_` names at mixed-site hygiene, invisible to user code.

use inferrs_graph::{Graph, NodeKind};
use proc_macro2::{Group, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::{Ident, LitStr};

use crate::ast::{Body, Model, combine};
use crate::rewrite;
use crate::{fallback, valid};

/// Expands `datamodel! { .. }`: the model, or its errors with the fallback.
pub(crate) fn datamodel(input: TokenStream) -> TokenStream {
    let (model, parse_error) = Model::parse_partial(input);
    let (graph, errors) = valid::validate(&model, parse_error.is_none());
    match combine(parse_error.into_iter().chain(errors)) {
        Some(error) => fallback::expand(&error),
        None => expand(&model, &graph),
    }
}

/// The expansion of a valid model whose graph is `graph`.
fn expand(model: &Model, graph: &Graph) -> TokenStream {
    let kinds = valid::kinds(model);
    let graph_ident = Ident::new("__inferrs_graph", Span::mixed_site());
    let params_ident = Ident::new("__inferrs_params", Span::mixed_site());
    let ctx_ident = Ident::new("__inferrs_ctx", Span::mixed_site());

    let parameters: Vec<&Ident> = model
        .statements
        .iter()
        .filter(|s| matches!(s.body, Body::Parameter { .. }))
        .map(|s| &s.name)
        .collect();
    let generics: Vec<Ident> = (0..parameters.len())
        .map(|i| format_ident!("__T{i}"))
        .collect();
    let (declared_generics, inferred_generics) = if parameters.is_empty() {
        (quote!(), quote!())
    } else {
        let holes = parameters.iter().map(|_| quote!(_));
        (quote!(<#(#generics),*>), quote!(<#(#holes),*>))
    };

    let build_graph = graph_builder(graph);
    let mut outside = Vec::new();
    let mut inside = Vec::new();
    for statement in &model.statements {
        let name = &statement.name;
        match &statement.body {
            Body::Parameter { expr } => {
                let mut expr = expr.clone();
                rewrite::rewrite(&mut expr, &kinds);
                outside.push(quote! { let #name = #expr; });
                inside.push(quote_spanned! {name.span()=> let #name = &#params_ident.#name; });
            }
            Body::Random {
                distribution,
                paren,
                args,
            } => {
                let site = LitStr::new(&name.unraw().to_string(), name.span());
                let args = args.iter().map(|arg| {
                    let mut arg = arg.clone();
                    rewrite::rewrite(&mut arg, &kinds);
                    arg
                });
                let mut tuple = Group::new(proc_macro2::Delimiter::Parenthesis, quote!(#(#args,)*));
                tuple.set_span(paren.span.join());
                let span = distribution
                    .segments
                    .first()
                    .map_or_else(Span::call_site, |s| s.ident.span());
                let from_args = quote_spanned! {span=>
                    <#distribution as ::inferrs::__private::FromArgs<_>>::from_args
                };
                inside.push(quote! {
                    let #name = #ctx_ident.sample(#site, #from_args(#tuple))?;
                });
            }
        }
    }
    let names = model.statements.iter().map(|s| &s.name);

    quote! {
        {
            use ::inferrs::__private::burn;
            #[derive(burn::module::Module, Debug)]
            struct __InferrsParams #declared_generics { #(#parameters: #generics,)* }
            let #graph_ident = #build_graph;
            #(#outside)*
            ::inferrs::__private::Model::new(
                #graph_ident,
                __InferrsParams { #(#parameters),* },
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
fn graph_builder(graph: &Graph) -> TokenStream {
    let g = Ident::new("__inferrs_g", Span::mixed_site());
    let adds = graph.nodes().map(|node| {
        let name = &node.name;
        let parents = &node.parents;
        match &node.kind {
            NodeKind::Parameter => quote! {
                #g.add_parameter(#name, &[#(#parents),*]).expect("validated by datamodel!");
            },
            NodeKind::Random { distribution } => {
                let local = node.local;
                quote! {
                    #g.add_random(#name, #distribution, &[#(#parents),*], #local)
                        .expect("validated by datamodel!");
                }
            }
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
        let expanded = datamodel(quote! {
            nn = MixtureNet::new(&device, 15, 20);
            x ~ Normal(1.0, 1.0);
            y ~ MixtureGaussian(nn(x));
        });
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
        let expanded = datamodel(quote! {
            x ~ inferrs::Normal(0.0, sigma);
            y ~ Normal(x * 2.0, 1.0,);
        })
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
        let expanded = datamodel(quote! {
            a = Net::new();
            b = Net::new();
            y ~ Normal(a(sigma), b(sigma));
        })
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
        let expanded = datamodel(quote! {
            x ~ Normal(0.0, 1.0);
            x ~ Normal(0.0, 1.0);
            y Normal(1.0);
        })
        .to_string();
        assert_eq!(expanded.matches("compile_error").count(), 2, "{expanded}");
        assert!(expanded.contains("Graph :: new ()"), "{expanded}");
        assert!(!expanded.contains("sample"), "{expanded}");
    }
}
