//! The `datamodel!` macro of inferrs: parse a model, validate it through `inferrs-graph`, expand
//! it into a call of the runtime.
//!
//! Use it through the facade crate, `inferrs::prelude::*`; the expansion names
//! `::inferrs::__private`. The grammar, the expansion and every diagnostic are described in
//! `docs/dsl.md`.
//!
//! The work is split as in thiserror-impl: `ast` (the grammar, as `Parse` impls), `valid` (the
//! checks, through the graph), `expand` (the generated code), `fallback` (what a model with
//! errors expands to), and `rewrite` (the uses of the model's names in expressions).

mod ast;
mod expand;
mod fallback;
mod rewrite;
mod valid;

use proc_macro::TokenStream;

/// Declares a model: trainable parameters and random variables, in order.
///
/// ```ignore
/// let model = datamodel! {
///     nn = MixtureNet::new(&device, 15, 20);   // trainable parameters: a burn Module
///     x ~ Normal(1.0, 1.0);                     // a random variable
///     y ~ MixtureGaussian(nn(x));               // `nn(x)` calls `nn.forward(x)`
/// };
/// ```
///
/// - `name = expression;` declares parameters, evaluated once before the model runs; the
///   expression may use earlier parameters and any variable in scope.
/// - `name ~ Distribution(args);` declares a random variable. The arguments may use earlier
///   names: a random variable is a `Tensor<2>` (cloned at each use), a parameter is a reference to
///   its module, and calling a parameter, `nn(a, b)`, calls `nn.forward(a, b)`.
///
/// Whether a random variable is observed or latent is decided at run time by the data given.
/// A duplicate name, a use before the declaration, a declaration using itself, calling a random
/// variable, a malformed statement and an empty model are compile errors at the offending token.
///
/// It expands to a `::inferrs::__private::Model`.
#[proc_macro]
pub fn datamodel(input: TokenStream) -> TokenStream {
    expand::datamodel(input.into()).into()
}
