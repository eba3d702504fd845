//! What a model with errors expands to: the errors, and a valid empty model of the same shape.
//!
//! The empty model keeps the code after the macro type-checking (`model.fit(..)` still finds a
//! `Model`), so the user sees the model's errors and not a cascade of unrelated ones.

use proc_macro2::TokenStream;
use quote::quote;

/// `compile_error!` for each of `error`'s messages, at their spans, then an empty model.
pub(crate) fn expand(error: &syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    quote! {
        {
            #errors
            use ::inferrs::__private::burn;
            #[derive(burn::module::Module, Debug)]
            struct __InferrsParams {}
            ::inferrs::__private::Model::new(
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
