//! The model macros of inferrs, `datamodel!`, `probmodel!` and `qmodel!`: parse a model,
//! validate it through `inferrs-graph`, expand it into a call of the runtime.
//!
//! Use them through the facade crate, `inferrs::prelude::*`; the expansion names
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

use crate::ast::Macro;

/// Declares a model whose random variables are all local: one value per row of the data.
///
/// ```ignore
/// let model = datamodel! {
///     nn = MixtureNet::new(&device, 15, 20);   // trainable parameters: a burn Module
///     x ~ Normal(1.0, 1.0);                     // a random variable
///     y ~ MixtureGaussian(nn(x));               // `nn(x)` calls `nn.forward(x)`
/// };
///
/// let regression = datamodel! {
///     input x;                                  // a data column, not a random variable
///     y ~ Normal(x * 2.0, 1.0);
/// };
/// ```
///
/// - `name = expression;` declares parameters, evaluated once before the model runs; the
///   expression may use earlier parameters and any variable in scope.
/// - `name = Parameter(init);` declares a trainable tensor (`init`: a number, a row, a
///   `Tensor<2>`); each use of `name` reads it as a `Tensor<2>`, `name.val()`.
/// - `name ~ Distribution(args);` declares a random variable. The arguments may use earlier
///   names: a random variable is a `Tensor<2>` (cloned at each use), a parameter is a reference to
///   its module, and calling a parameter, `nn(a, b)`, calls `nn.forward(a, b)`. An inline
///   `Parameter(init)` in the arguments is a trainable tensor of its own.
/// - `input name;` declares an input: a data column that the model reads but does not model (a
///   covariate). Later arguments use it as a random variable, a `Tensor<2>` cloned at each use;
///   every run reads it from the data (`Error::MissingInput` when the data lacks it). `input` is a
///   contextual keyword: `input ~ ..` and `input = ..` declare a variable called `input`.
///
/// Whether a random variable is observed or latent is decided at run time by the data given.
/// A duplicate name, a use before the declaration, a declaration using itself, calling a random
/// variable or an input, a parameter using a random variable or an input, a malformed statement
/// and an empty model are compile errors at the offending token.
/// A `datamodel { .. }` block is an error here: use [`probmodel!`] for global variables.
///
/// It expands to a `::inferrs::__private::Model`.
#[proc_macro]
pub fn datamodel(input: TokenStream) -> TokenStream {
    expand::model(input.into(), Macro::Datamodel).into()
}

/// Declares a model with global and local random variables.
///
/// ```ignore
/// let model = probmodel! {
///     w ~ Normal(0.0, 1.0);              // global: one value shared by every row
///     datamodel {
///         x ~ Normal(0.0, 10.0);         // local: one value per row of the data
///         y ~ Normal(w * x, 1.0);
///     }
/// };
///
/// let eight_schools = probmodel! {
///     mu ~ Normal(0.0, 5.0);
///     tau ~ HalfNormal(5.0);
///     datamodel {
///         input sigma;                   // a data column, not a random variable
///         theta ~ Normal(mu, tau);
///         y ~ Normal(theta, sigma);
///     }
/// };
/// ```
///
/// The statements are those of [`datamodel!`]. The random variables outside the one
/// `datamodel { .. }` block are global (`ctx.sample_global`), those inside are local
/// (`ctx.sample`); a global one cannot use a local one nor an input. An input (`input name;`)
/// is a data column, one value per row: it is declared inside the `datamodel { .. }` block (outside
/// it, a compile error at `input`). Names inside and outside the block share one namespace.
///
/// It expands to a `::inferrs::__private::Model`.
#[proc_macro]
pub fn probmodel(input: TokenStream) -> TokenStream {
    expand::model(input.into(), Macro::Probmodel).into()
}

/// Declares a q-model (a variational family), matched to a model's latent variables by name.
///
/// ```ignore
/// let q = qmodel! {
///     w_loc = Parameter(0.0);
///     w_scale = Parameter(1.0);
///     w ~ Normal(w_loc, softplus(w_scale));
///     b ~ Normal(Parameter(0.0), softplus(Parameter(1.0)));
/// };
/// ```
///
/// The grammar and the global/local rule are those of [`probmodel!`]; an amortised q-model reads
/// inputs too, declared as `input name;` in its `datamodel { .. }` block.
///
/// It expands to a `::inferrs::__private::QModel`.
#[proc_macro]
pub fn qmodel(input: TokenStream) -> TokenStream {
    expand::model(input.into(), Macro::Qmodel).into()
}
