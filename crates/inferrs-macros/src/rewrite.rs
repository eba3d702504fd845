//! Finds the model's names in an expression and rewrites their uses for the generated code.
//!
//! A use is a path expression of one plain identifier (`x`, not `a::x` nor `x::<T>`) that is not
//! bound by an enclosing closure's parameters. Rewrites, each keeping the user's spans:
//! - a random variable `x` becomes `x.clone()` (a tensor, usable several times);
//! - a call `nn(a, b)` of a parameter becomes `nn.forward(a, b)`, its arguments rewritten;
//! - a bare parameter `nn` stays as it is (a reference to the module).
//!
//! Tokens inside macro calls (`vec![x]`) are opaque and neither found nor rewritten.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::ext::IdentExt as _;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ExprCall, ExprPath, FieldValue, Ident, Pat, Token};

/// What a model name declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `name = expr`.
    Parameter,
    /// `name ~ Dist(args)`.
    Random,
}

/// One use of a model name in an expression.
pub(crate) struct Use {
    /// The identifier as written (its span is the user's token).
    pub ident: Ident,
    /// The name, without `r#`.
    pub name: String,
    /// Whether it is called, `name(args)`.
    pub called: bool,
}

/// Rewrites `expr` in place for the names in `kinds`, and returns their uses in source order.
pub(crate) fn rewrite(expr: &mut Expr, kinds: &HashMap<String, Kind>) -> Vec<Use> {
    let mut rewriter = Rewriter {
        kinds,
        bound: Vec::new(),
        uses: Vec::new(),
    };
    rewriter.visit_expr_mut(expr);
    rewriter.uses
}

struct Rewriter<'a> {
    kinds: &'a HashMap<String, Kind>,
    /// Names bound by the enclosing closures' parameters, which shadow the model's names.
    bound: Vec<String>,
    uses: Vec<Use>,
}

impl Rewriter<'_> {
    /// The model name a path expression refers to, if any.
    fn model_name(&self, path: &ExprPath) -> Option<(Ident, String, Kind)> {
        if path.qself.is_some() || !path.attrs.is_empty() {
            return None;
        }
        let ident = path.path.get_ident()?;
        let name = ident.unraw().to_string();
        if self.bound.contains(&name) {
            return None;
        }
        let kind = *self.kinds.get(&name)?;
        Some((ident.clone(), name, kind))
    }

    fn record(&mut self, ident: &Ident, name: String, called: bool) {
        self.uses.push(Use {
            ident: ident.clone(),
            name,
            called,
        });
    }
}

impl VisitMut for Rewriter<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Path(path) => {
                if let Some((ident, name, kind)) = self.model_name(path) {
                    self.record(&ident, name, false);
                    if kind == Kind::Random {
                        *expr = clone_of(&ident);
                    }
                }
            }
            Expr::Call(call) => {
                let callee = match &*call.func {
                    Expr::Path(path) if call.attrs.is_empty() => self.model_name(path),
                    _ => None,
                };
                let Some((ident, name, kind)) = callee else {
                    return visit_mut::visit_expr_call_mut(self, call);
                };
                self.record(&ident, name, true);
                for arg in call.args.iter_mut() {
                    self.visit_expr_mut(arg);
                }
                if kind == Kind::Parameter {
                    *expr = forward_of(&ident, call);
                }
            }
            Expr::Closure(closure) => {
                let depth = self.bound.len();
                for input in &closure.inputs {
                    bind(input, &mut self.bound);
                }
                self.visit_expr_mut(&mut closure.body);
                self.bound.truncate(depth);
            }
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_field_value_mut(&mut self, field: &mut FieldValue) {
        visit_mut::visit_field_value_mut(self, field);
        // `S { x }` whose `x` became `x.clone()` must be written out as `S { x: x.clone() }`.
        if field.colon_token.is_none() && !matches!(field.expr, Expr::Path(_)) {
            field.colon_token = Some(Token![:](Span::call_site()));
        }
    }
}

/// `ident.clone()` at the span of `ident`.
fn clone_of(ident: &Ident) -> Expr {
    syn::parse_quote_spanned!(ident.span()=> #ident.clone())
}

/// `ident.forward(args)` from `ident(args)`, at the user's spans.
fn forward_of(ident: &Ident, call: &ExprCall) -> Expr {
    let forward = Ident::new("forward", ident.span());
    Expr::MethodCall(syn::ExprMethodCall {
        attrs: Vec::new(),
        receiver: Box::new(Expr::Path(ExprPath {
            attrs: Vec::new(),
            qself: None,
            path: ident.clone().into(),
        })),
        dot_token: Token![.](ident.span()),
        method: forward,
        turbofish: None,
        paren_token: call.paren_token,
        args: call.args.clone(),
    })
}

/// Collects the names bound by a pattern.
fn bind(pat: &Pat, bound: &mut Vec<String>) {
    struct Binder<'a>(&'a mut Vec<String>);
    impl syn::visit::Visit<'_> for Binder<'_> {
        fn visit_pat_ident(&mut self, pat: &syn::PatIdent) {
            self.0.push(pat.ident.unraw().to_string());
            syn::visit::visit_pat_ident(self, pat);
        }
    }
    syn::visit::Visit::visit_pat(&mut Binder(bound), pat);
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn kinds() -> HashMap<String, Kind> {
        [
            ("nn", Kind::Parameter),
            ("x", Kind::Random),
            ("y", Kind::Random),
        ]
        .into_iter()
        .map(|(n, k)| (n.to_owned(), k))
        .collect()
    }

    fn rewritten(mut expr: Expr) -> (String, Vec<(String, bool)>) {
        let uses = rewrite(&mut expr, &kinds());
        let uses = uses.into_iter().map(|u| (u.name, u.called)).collect();
        (quote!(#expr).to_string(), uses)
    }

    #[test]
    fn random_variables_are_cloned_and_parameters_called_forward() {
        let (code, uses) = rewritten(syn::parse_quote!(nn(x, y * 2.0 + x.exp())));
        assert_eq!(
            code,
            quote!(nn.forward(x.clone(), y.clone() * 2.0 + x.clone().exp())).to_string()
        );
        let expected = [("nn", true), ("x", false), ("y", false), ("x", false)];
        assert_eq!(uses, expected.map(|(n, c)| (n.to_owned(), c)));
    }

    #[test]
    fn bare_parameters_outer_names_and_paths_are_kept() {
        let (code, uses) = rewritten(syn::parse_quote!(f(nn, sigma, a::x, x::<f32>, s.x, r#x)));
        assert_eq!(
            code,
            quote!(f(nn, sigma, a::x, x::<f32>, s.x, r#x.clone())).to_string()
        );
        assert_eq!(uses, [("nn".to_owned(), false), ("x".to_owned(), false)]);
    }

    #[test]
    fn called_random_variable_is_reported_not_rewritten() {
        let (code, uses) = rewritten(syn::parse_quote!(x(y)));
        assert_eq!(code, quote!(x(y.clone())).to_string());
        assert_eq!(uses, [("x".to_owned(), true), ("y".to_owned(), false)]);
    }

    #[test]
    fn closure_parameters_shadow_names() {
        let (code, uses) = rewritten(syn::parse_quote!(v.map(|(x, _z)| x + y)));
        assert_eq!(code, quote!(v.map(|(x, _z)| x + y.clone())).to_string());
        assert_eq!(uses, [("y".to_owned(), false)]);
    }

    #[test]
    fn struct_shorthand_is_expanded() {
        let (code, _) = rewritten(syn::parse_quote!(S { x, nn }));
        assert_eq!(code, quote!(S { x: x.clone(), nn }).to_string());
    }
}
