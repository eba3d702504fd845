//! Finds the model's names in an expression and rewrites their uses for the generated code.
//!
//! A use is a path expression of one plain identifier (`x`, not `a::x` nor `x::<T>`) that is not
//! bound by an enclosing closure's parameters. Rewrites, each keeping the user's spans:
//! - a random variable or an input `x` becomes `x.clone()` (a tensor, usable several times);
//! - a call `nn(a, b)` of a parameter becomes `nn.forward(a, b)`, its arguments rewritten;
//! - a bare parameter `nn` stays as it is (a reference to the module);
//! - a parameter tensor `w = Parameter(init)` becomes `w.val()` (a `Tensor<2>`);
//! - `a.matmul(m)` whose receiver `a` is a random variable, an input or a parameter tensor
//!   (so a `Tensor<2>`) becomes `matmul(a, m)`, and `a.matmul(m) + b` (or `b + a.matmul(m)`)
//!   with `b` such a name too becomes `affine(a, m, b)`: the linear predictor as one fused op
//!   (`inferrs::nn::affine`), with the same types and the same value up to rounding;
//! - in a random variable's arguments, each `Parameter(init)` is hoisted: it becomes an anonymous
//!   parameter tensor `__inferrs_pN` (mixed-site, created once before the model runs from `init`)
//!   and the call becomes `__inferrs_pN.val()`.
//!
//! Tokens inside macro calls (`vec![x]`) are opaque and neither found nor rewritten.

use std::collections::HashMap;

use proc_macro2::Span;
use quote::format_ident;
use syn::ext::IdentExt as _;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ExprCall, ExprPath, FieldValue, Ident, Pat, Path, Token};

use crate::ast;

/// What a model name declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `name = expr`: a module.
    Parameter,
    /// `name = Parameter(init)`: a parameter tensor.
    Tensor,
    /// `name ~ Dist(args)`.
    Random,
    /// `input name`: a data column, a `Tensor<2>` as a random variable is.
    Input,
}

/// One use of a model name in an expression.
pub(crate) struct Use {
    /// The identifier as written (its span is the user's token).
    pub ident: Ident,
    /// The name, without `r#`.
    pub name: String,
    /// Whether it is called, `name(args)`.
    pub called: bool,
    /// Whether it is in the initial value of a hoisted `Parameter(init)`.
    pub in_init: bool,
}

/// An inline `Parameter(init)` of a random variable's arguments, hoisted out of the model function.
pub(crate) struct Hoisted {
    /// The anonymous name, `__inferrs_pN` at mixed-site hygiene.
    pub ident: Ident,
    /// The `Parameter` path as written (its span is the user's token).
    pub parameter: Path,
    /// The initial value, rewritten.
    pub init: Expr,
}

/// What rewriting found.
pub(crate) struct Rewritten {
    /// The uses of model names, in source order.
    pub uses: Vec<Use>,
    /// The hoisted `Parameter(init)` calls, in source order.
    pub hoisted: Vec<Hoisted>,
    /// The misplaced `Parameter(..)` calls.
    pub errors: Vec<syn::Error>,
}

/// Where the expressions are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Context {
    /// A parameter expression or a `Parameter(init)`'s init: `Parameter(..)` is an error there.
    Parameter,
    /// A random variable's arguments: `Parameter(..)` is hoisted, numbered from `first`.
    Random {
        /// The number of the first hoisted parameter.
        first: usize,
    },
}

/// Rewrites `exprs` in place for the names in `kinds`, and returns what it found.
pub(crate) fn rewrite<'e>(
    exprs: impl IntoIterator<Item = &'e mut Expr>,
    kinds: &HashMap<String, Kind>,
    context: Context,
) -> Rewritten {
    let (hoist, next) = match context {
        Context::Parameter => (false, 0),
        Context::Random { first } => (true, first),
    };
    let mut rewriter = Rewriter {
        kinds,
        bound: Vec::new(),
        closures: 0,
        hoist,
        in_init: false,
        next,
        found: Rewritten {
            uses: Vec::new(),
            hoisted: Vec::new(),
            errors: Vec::new(),
        },
    };
    for expr in exprs {
        rewriter.visit_expr_mut(expr);
    }
    rewriter.found
}

struct Rewriter<'a> {
    kinds: &'a HashMap<String, Kind>,
    /// Names bound by the enclosing closures' parameters, which shadow the model's names.
    bound: Vec<String>,
    /// How many closures enclose the expression being visited.
    closures: usize,
    /// Whether a `Parameter(..)` here is hoisted (else it is an error).
    hoist: bool,
    /// Whether the expression being visited is a hoisted parameter's init.
    in_init: bool,
    /// The number of the next hoisted parameter.
    next: usize,
    found: Rewritten,
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
        self.found.uses.push(Use {
            ident: ident.clone(),
            name,
            called,
            in_init: self.in_init,
        });
    }

    /// Whether `path` is a bare model name whose value is a `Tensor<2>`: a random variable,
    /// an input or a parameter tensor.
    fn is_tensor_name(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Path(path) => self
                .model_name(path)
                .is_some_and(|(_, _, kind)| kind != Kind::Parameter),
            _ => false,
        }
    }

    /// `(a, m)` of `a.matmul(m)` where `a` is a tensor name of the model.
    fn tensor_matmul<'c>(&self, call: &'c syn::ExprMethodCall) -> Option<(&'c Expr, &'c Expr)> {
        (call.method == "matmul"
            && call.turbofish.is_none()
            && call.attrs.is_empty()
            && call.args.len() == 1
            && self.is_tensor_name(&call.receiver))
        .then(|| (&*call.receiver, &call.args[0]))
    }

    /// `(a.matmul(m), b)` of `a.matmul(m) + b` or `b + a.matmul(m)`, with `a` and `b` tensor
    /// names of the model.
    fn affine_parts<'c>(
        &self,
        binary: &'c syn::ExprBinary,
    ) -> Option<(&'c syn::ExprMethodCall, &'c Expr)> {
        if !binary.attrs.is_empty() {
            return None;
        }
        let call = |e: &'c Expr| match e {
            Expr::MethodCall(call) if self.tensor_matmul(call).is_some() => Some(call),
            _ => None,
        };
        let (left, right) = (&*binary.left, &*binary.right);
        if let Some(c) = call(left)
            && self.is_tensor_name(right)
        {
            return Some((c, right));
        }
        if let Some(c) = call(right)
            && self.is_tensor_name(left)
        {
            return Some((c, left));
        }
        None
    }

    /// Rewrites the arguments of a call in place.
    fn visit_args(&mut self, call: &mut ExprCall) {
        for arg in call.args.iter_mut() {
            self.visit_expr_mut(arg);
        }
    }

    /// A call `Parameter(..)` at `parameter`: its replacement when it is hoisted, else `None`
    /// with an error recorded (the arguments are still visited for their uses).
    fn parameter_call(&mut self, parameter: &Path, call: &mut ExprCall) -> Option<Expr> {
        let at = parameter
            .segments
            .last()
            .map_or_else(Span::call_site, |s| s.ident.span());
        let message = if !self.hoist {
            Some(
                "`Parameter(..)` cannot be inside a parameter's expression: declare it as a \
                 statement of its own, `name = Parameter(init);`",
            )
        } else if self.closures > 0 {
            Some(
                "`Parameter(..)` cannot be inside a closure: it is created once, before the \
                 model runs",
            )
        } else if call.args.len() != 1 {
            Some(ast::PARAMETER_ARITY)
        } else {
            None
        };
        if let Some(message) = message {
            self.found.errors.push(syn::Error::new(at, message));
            self.visit_args(call);
            return None;
        }
        let mut init = call.args[0].clone();
        let outer = (self.hoist, self.in_init);
        (self.hoist, self.in_init) = (false, true);
        self.visit_expr_mut(&mut init);
        (self.hoist, self.in_init) = outer;
        let ident = format_ident!("__inferrs_p{}", self.next, span = Span::mixed_site());
        self.next += 1;
        let value = syn::parse_quote_spanned!(at=> #ident.val());
        self.found.hoisted.push(Hoisted {
            ident,
            parameter: parameter.clone(),
            init,
        });
        Some(value)
    }
}

impl VisitMut for Rewriter<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Path(path) => {
                if let Some((ident, name, kind)) = self.model_name(path) {
                    self.record(&ident, name, false);
                    match kind {
                        Kind::Random | Kind::Input => *expr = method_of(&ident, "clone"),
                        Kind::Tensor => *expr = method_of(&ident, "val"),
                        Kind::Parameter => {}
                    }
                }
            }
            Expr::Call(call) => {
                let callee = match &*call.func {
                    Expr::Path(path) if call.attrs.is_empty() => self.model_name(path),
                    _ => None,
                };
                let Some((ident, name, kind)) = callee else {
                    if let Some(parameter) = ast::parameter_call(call).cloned() {
                        if let Some(value) = self.parameter_call(&parameter, call) {
                            *expr = value;
                        }
                        return;
                    }
                    return visit_mut::visit_expr_call_mut(self, call);
                };
                self.record(&ident, name, true);
                self.visit_args(call);
                if kind == Kind::Parameter {
                    *expr = forward_of(&ident, call);
                }
            }
            Expr::MethodCall(call) if self.tensor_matmul(call).is_some() => {
                let (receiver, arg) = self.tensor_matmul(call).expect("checked");
                let (mut receiver, mut arg) = (receiver.clone(), arg.clone());
                self.visit_expr_mut(&mut receiver);
                self.visit_expr_mut(&mut arg);
                let at = call.method.span();
                *expr = syn::parse_quote_spanned!(at=>
                    ::inferrs::__private::matmul(#receiver, #arg));
            }
            Expr::Binary(binary)
                if matches!(binary.op, syn::BinOp::Add(_))
                    && self.affine_parts(binary).is_some() =>
            {
                let (call, bias) = self.affine_parts(binary).expect("checked");
                let (receiver, arg) = self.tensor_matmul(call).expect("checked");
                let bias_first = std::ptr::eq(bias, &*binary.left);
                let (mut receiver, mut arg, mut bias) =
                    (receiver.clone(), arg.clone(), bias.clone());
                // In source order, so that the uses are reported in it.
                if bias_first {
                    self.visit_expr_mut(&mut bias);
                }
                self.visit_expr_mut(&mut receiver);
                self.visit_expr_mut(&mut arg);
                if !bias_first {
                    self.visit_expr_mut(&mut bias);
                }
                let at = call.method.span();
                *expr = syn::parse_quote_spanned!(at=>
                    ::inferrs::__private::affine(#receiver, #arg, #bias));
            }
            Expr::Closure(closure) => {
                let depth = self.bound.len();
                for input in &closure.inputs {
                    bind(input, &mut self.bound);
                }
                self.closures += 1;
                self.visit_expr_mut(&mut closure.body);
                self.closures -= 1;
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

/// `ident.method()` at the span of `ident`.
fn method_of(ident: &Ident, method: &str) -> Expr {
    let method = Ident::new(method, ident.span());
    syn::parse_quote_spanned!(ident.span()=> #ident.#method())
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
            ("w_loc", Kind::Tensor),
            ("x", Kind::Random),
            ("y", Kind::Random),
            ("scale", Kind::Input),
        ]
        .into_iter()
        .map(|(n, k)| (n.to_owned(), k))
        .collect()
    }

    fn rewritten_in(mut expr: Expr, context: Context) -> (String, Vec<(String, bool)>, Rewritten) {
        let found = rewrite([&mut expr], &kinds(), context);
        let uses = found
            .uses
            .iter()
            .map(|u| (u.name.clone(), u.called))
            .collect();
        (quote!(#expr).to_string(), uses, found)
    }

    fn rewritten(expr: Expr) -> (String, Vec<(String, bool)>) {
        let (code, uses, found) = rewritten_in(expr, Context::Random { first: 0 });
        assert!(found.errors.is_empty());
        (code, uses)
    }

    fn errors(found: &Rewritten) -> Vec<String> {
        found.errors.iter().map(ToString::to_string).collect()
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
    fn a_matmul_of_a_tensor_name_is_the_fused_op() {
        let (code, uses) = rewritten(syn::parse_quote!(x.matmul(y.transpose()) + w_loc));
        assert_eq!(
            code,
            quote!(::inferrs::__private::affine(
                x.clone(),
                y.clone().transpose(),
                w_loc.val()
            ))
            .to_string()
        );
        let expected = [("x", false), ("y", false), ("w_loc", false)];
        assert_eq!(uses, expected.map(|(n, c)| (n.to_owned(), c)));
        // The bias on the left, uses in source order.
        let (code, uses) = rewritten(syn::parse_quote!(scale + x.matmul(y)));
        assert_eq!(
            code,
            quote!(::inferrs::__private::affine(
                x.clone(),
                y.clone(),
                scale.clone()
            ))
            .to_string()
        );
        let expected = [("scale", false), ("x", false), ("y", false)];
        assert_eq!(uses, expected.map(|(n, c)| (n.to_owned(), c)));
        // No bias name: the product alone.
        let (code, _) = rewritten(syn::parse_quote!(x.matmul(y) + 1.0));
        assert_eq!(
            code,
            quote!(::inferrs::__private::matmul(x.clone(), y.clone()) + 1.0).to_string()
        );
    }

    #[test]
    fn other_matmuls_are_kept() {
        // The receiver is not a tensor name (a module's output, an outer value, a bound
        // closure parameter), or the call is not a one-argument `matmul`.
        for (expr, want) in [
            (
                syn::parse_quote!(nn(x).matmul(y)),
                quote!(nn.forward(x.clone()).matmul(y.clone())),
            ),
            (syn::parse_quote!(a.matmul(y)), quote!(a.matmul(y.clone()))),
            (
                syn::parse_quote!(|x| x.matmul(y)),
                quote!(|x| x.matmul(y.clone())),
            ),
            (
                syn::parse_quote!(x.matmul::<f32>(y)),
                quote!(x.clone().matmul::<f32>(y.clone())),
            ),
            (
                syn::parse_quote!(nn.matmul(y)),
                quote!(nn.matmul(y.clone())),
            ),
        ] {
            let (code, _) = rewritten(expr);
            assert_eq!(code, want.to_string());
        }
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
    fn inputs_are_cloned_like_random_variables() {
        let (code, uses) = rewritten(syn::parse_quote!(nn(scale) * scale + S { scale }.f()));
        assert_eq!(
            code,
            quote!(
                nn.forward(scale.clone()) * scale.clone()
                    + S {
                        scale: scale.clone()
                    }
                    .f()
            )
            .to_string()
        );
        let expected = [
            ("nn", true),
            ("scale", false),
            ("scale", false),
            ("scale", false),
        ];
        assert_eq!(uses, expected.map(|(n, c)| (n.to_owned(), c)));
        // A called input is reported (by validation), not rewritten.
        let (code, uses) = rewritten(syn::parse_quote!(scale(x)));
        assert_eq!(code, quote!(scale(x.clone())).to_string());
        assert_eq!(uses, [("scale".to_owned(), true), ("x".to_owned(), false)]);
    }

    #[test]
    fn closure_parameters_shadow_names() {
        let (code, uses) = rewritten(syn::parse_quote!(v.map(|(x, _z)| x + y)));
        assert_eq!(code, quote!(v.map(|(x, _z)| x + y.clone())).to_string());
        assert_eq!(uses, [("y".to_owned(), false)]);
    }

    #[test]
    fn struct_shorthand_is_expanded() {
        let (code, _) = rewritten(syn::parse_quote!(S { x, nn, w_loc }));
        assert_eq!(
            code,
            quote!(S {
                x: x.clone(),
                nn,
                w_loc: w_loc.val()
            })
            .to_string()
        );
    }

    #[test]
    fn parameter_tensors_are_read_with_val() {
        let (code, uses) = rewritten(syn::parse_quote!(w_loc * x + softplus(w_loc)));
        assert_eq!(
            code,
            quote!(w_loc.val() * x.clone() + softplus(w_loc.val())).to_string()
        );
        let expected = [("w_loc", false), ("x", false), ("w_loc", false)];
        assert_eq!(uses, expected.map(|(n, c)| (n.to_owned(), c)));
        // Outside the model function too: a parameter expression reads the tensor the same way.
        let (code, _, found) = rewritten_in(syn::parse_quote!(w_loc * 2.0), Context::Parameter);
        assert_eq!(code, quote!(w_loc.val() * 2.0).to_string());
        assert!(found.errors.is_empty());
    }

    #[test]
    fn called_parameter_tensor_is_reported_not_rewritten() {
        let (code, uses) = rewritten(syn::parse_quote!(w_loc(x)));
        assert_eq!(code, quote!(w_loc(x.clone())).to_string());
        assert_eq!(uses, [("w_loc".to_owned(), true), ("x".to_owned(), false)]);
    }

    #[test]
    fn inline_parameters_are_hoisted_in_order() {
        let mut args: [Expr; 2] = [
            syn::parse_quote!(Parameter(0.0) + x),
            syn::parse_quote!(softplus(inferrs::Parameter(vec![1.0, 2.0],))),
        ];
        let found = rewrite(&mut args, &kinds(), Context::Random { first: 3 });
        assert!(found.errors.is_empty(), "{:?}", errors(&found));
        let [a, b] = &args;
        assert_eq!(
            quote!(#a).to_string(),
            quote!(__inferrs_p3.val() + x.clone()).to_string()
        );
        assert_eq!(
            quote!(#b).to_string(),
            quote!(softplus(__inferrs_p4.val())).to_string()
        );
        let hoisted: Vec<(String, String, String)> = found
            .hoisted
            .iter()
            .map(|h| {
                let (parameter, init) = (&h.parameter, &h.init);
                (
                    h.ident.to_string(),
                    quote!(#parameter).to_string(),
                    quote!(#init).to_string(),
                )
            })
            .collect();
        assert_eq!(
            hoisted,
            [
                ("__inferrs_p3".into(), "Parameter".into(), "0.0".into()),
                (
                    "__inferrs_p4".into(),
                    "inferrs :: Parameter".into(),
                    quote!(vec![1.0, 2.0]).to_string()
                ),
            ]
        );
        // Not the user's `Parameter` with generics, nor a method.
        let (code, _) = rewritten(syn::parse_quote!(Parameter::<f32>(0.0) + p.Parameter(1.0)));
        assert_eq!(
            code,
            quote!(Parameter::<f32>(0.0) + p.Parameter(1.0)).to_string()
        );
    }

    #[test]
    fn hoisted_inits_are_rewritten_and_their_uses_marked() {
        let (code, _, found) = rewritten_in(
            syn::parse_quote!(Parameter(w_loc * nn(sigma)) * y),
            Context::Random { first: 0 },
        );
        assert_eq!(code, quote!(__inferrs_p0.val() * y.clone()).to_string());
        let init = &found.hoisted[0].init;
        assert_eq!(
            quote!(#init).to_string(),
            quote!(w_loc.val() * nn.forward(sigma)).to_string()
        );
        let uses: Vec<(String, bool)> = found
            .uses
            .iter()
            .map(|u| (u.name.clone(), u.in_init))
            .collect();
        let expected = [("w_loc", true), ("nn", true), ("y", false)];
        assert_eq!(uses, expected.map(|(n, i)| (n.to_owned(), i)));
    }

    #[test]
    fn misplaced_parameters_are_errors() {
        let nested = "`Parameter(..)` cannot be inside a parameter's expression: declare it as a \
                      statement of its own, `name = Parameter(init);`";
        let (code, uses, found) = rewritten_in(
            syn::parse_quote!(Net::new(Parameter(x))),
            Context::Parameter,
        );
        assert_eq!(errors(&found), [nested]);
        assert_eq!(code, quote!(Net::new(Parameter(x.clone()))).to_string());
        assert_eq!(uses, [("x".to_owned(), false)]);

        let (_, _, found) = rewritten_in(
            syn::parse_quote!(Parameter(Parameter(0.0))),
            Context::Random { first: 0 },
        );
        assert_eq!(errors(&found), [nested]);

        let (_, _, found) = rewritten_in(
            syn::parse_quote!(v.map(|| Parameter(0.0))),
            Context::Random { first: 0 },
        );
        assert_eq!(
            errors(&found),
            [
                "`Parameter(..)` cannot be inside a closure: it is created once, before the model runs"
            ]
        );
        assert!(found.hoisted.is_empty());

        let (_, _, found) = rewritten_in(
            syn::parse_quote!(Parameter() + Parameter(0.0, 1.0)),
            Context::Random { first: 0 },
        );
        assert_eq!(errors(&found), [ast::PARAMETER_ARITY, ast::PARAMETER_ARITY]);
    }
}
