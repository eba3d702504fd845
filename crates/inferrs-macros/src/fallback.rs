//! What a model with errors expands to: the errors, and a valid empty model of the same shape.
//!
//! The empty model keeps the code after the macro type-checking (`model.fit(..)` still finds a
//! `Model`, `VI::qmodel(q)` a `QModel`), so the user sees the model's errors and not a cascade of
//! unrelated ones.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::Macro;
use crate::expand;

/// `compile_error!` for each of `error`'s messages, at their spans, then an empty model of what
/// `mac` builds.
pub(crate) fn expand(error: &syn::Error, mac: Macro) -> TokenStream {
    let errors = error.to_compile_error();
    let constructor = expand::constructor(mac);
    quote! {
        {
            #errors
            use ::inferrs::__private::burn;
            #[derive(burn::module::Module, Debug)]
            struct __InferrsParams {}
            #constructor(
                ::inferrs::__private::Graph::new(),
                __InferrsParams {},
                move |_: &__InferrsParams, _: &mut ::inferrs::__private::Ctx<'_>|
                      -> ::core::result::Result<(), ::inferrs::Error> {
                    ::core::result::Result::Ok(())
                },
            )
        }
    }
}
