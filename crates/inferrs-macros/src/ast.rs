//! The syntax of a model, as typed [`Parse`] impls.
//!
//! ```text
//! model      = { statement } ;                       (* at least one statement *)
//! statement  = parameter | random ;
//! parameter  = name "=" expression ";" ;             (* trainable parameters: a burn Module *)
//! random     = name "~" path "(" [ arguments ] ")" ";" ;   (* a random variable *)
//! arguments  = expression { "," expression } [ "," ] ;
//! name       = IDENT ;                               (* a Rust identifier, not a keyword *)
//! path       = [ "::" ] IDENT { "::" IDENT } ;       (* a distribution type: `Normal`, `inferrs::Normal` *)
//! expression = (* any Rust expression *) ;
//! ```
//!
//! A model is split into statements at its top-level `;` before each is parsed, so one malformed
//! statement does not hide the errors of the others, and a statement that runs into the next one
//! (a missing `;`) is reported at its last token while the next one is still read.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::buffer::Cursor;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Path, Token, token};

/// The form of a statement, quoted in the messages about malformed ones.
pub(crate) const FORMS: &str = "`name ~ Distribution(args);` or `name = expression;`";

/// The contents of `datamodel! { ... }`: statements in declaration order.
pub(crate) struct Model {
    pub statements: Vec<Statement>,
}

/// One declaration, `name ~ Dist(args)` or `name = expr`, without its `;`.
pub(crate) struct Statement {
    /// The declared name.
    pub name: Ident,
    /// What is declared.
    pub body: Body,
}

/// The right-hand side of a [`Statement`].
pub(crate) enum Body {
    /// `name = expr`: trainable parameters, evaluated once before the model runs.
    Parameter {
        /// The expression building the parameters.
        expr: Expr,
    },
    /// `name ~ Dist(args)`: a random variable.
    Random {
        /// The distribution's type.
        distribution: Path,
        /// The parentheses around the arguments.
        paren: token::Paren,
        /// The distribution's arguments.
        args: Punctuated<Expr, Token![,]>,
    },
}

impl Model {
    /// Parses every statement it can, and returns the errors of the others combined.
    ///
    /// The statements that parsed are kept so that validation can report its own errors next to
    /// the syntax errors.
    pub(crate) fn parse_partial(tokens: TokenStream) -> (Model, Option<syn::Error>) {
        let mut statements = Vec::new();
        let mut errors: Vec<syn::Error> = Vec::new();
        for chunk in split_statements(tokens) {
            let parser = |input: ParseStream| {
                parse_chunk(input, chunk.terminated, &mut statements, &mut errors)
            };
            if let Err(error) = parser.parse2(chunk.tokens) {
                errors.push(error);
            }
        }
        (Model { statements }, combine(errors))
    }
}

impl Parse for Model {
    /// Parses a whole model; any syntax error fails the parse (the errors combined).
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let tokens: TokenStream = input.parse()?;
        match Model::parse_partial(tokens) {
            (model, None) => Ok(model),
            (_, Some(error)) => Err(error),
        }
    }
}

impl Parse for Statement {
    /// Parses `name ~ Path(args)` or `name = expr`, without the `;`.
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if !input.peek(Ident) {
            return Err(input.error(format!("expected a name: a statement is {FORMS}")));
        }
        let name: Ident = input.parse()?;
        let body = if input.peek(Token![~]) {
            let tilde: Token![~] = input.parse()?;
            parse_random(input, &name, tilde.span)?
        } else if input.peek(Token![=]) && !input.peek(Token![==]) && !input.peek(Token![=>]) {
            let eq: Token![=] = input.parse()?;
            if input.is_empty() {
                return Err(syn::Error::new(
                    eq.span,
                    format!("expected an expression after `=`: `{name} = expression;`"),
                ));
            }
            Body::Parameter {
                expr: input.parse()?,
            }
        } else {
            let message = format!("expected `~` or `=` after `{name}`: a statement is {FORMS}");
            return Err(error_at_next(input, name.span(), message));
        };
        Ok(Statement { name, body })
    }
}

/// The part of `name ~ Path(args)` after the `~`.
fn parse_random(input: ParseStream, name: &Ident, tilde: Span) -> syn::Result<Body> {
    if !(input.peek(Ident) || input.peek(Token![::])) {
        let message = format!(
            "expected a distribution after `~`: `{name} ~ Distribution(args);`, \
             as in `{name} ~ Normal(0.0, 1.0);`"
        );
        return Err(error_at_next(input, tilde, message));
    }
    let distribution: Path = input.parse()?;
    if !input.peek(token::Paren) {
        let last = distribution.segments.last().map(|s| &s.ident);
        let shown = last.map_or_else(|| "Distribution".to_owned(), Ident::to_string);
        let at = last.map_or(tilde, Ident::span);
        let message = format!(
            "expected `(` and the arguments of the distribution: `{name} ~ {shown}(args);`"
        );
        return Err(error_at_next(input, at, message));
    }
    let content;
    let paren = syn::parenthesized!(content in input);
    let args = content.parse_terminated(Expr::parse, Token![,])?;
    Ok(Body::Random {
        distribution,
        paren,
        args,
    })
}

/// The statements of one chunk (the tokens before a `;`): one, or several when `;` are missing.
fn parse_chunk(
    input: ParseStream,
    terminated: bool,
    statements: &mut Vec<Statement>,
    errors: &mut Vec<syn::Error>,
) -> syn::Result<()> {
    loop {
        let start = input.cursor();
        let statement: Statement = input.parse()?;
        let end = last_token_span(start, input.cursor());
        statements.push(statement);
        let missing =
            || syn::Error::new(end, "expected `;`: each statement of a model ends with `;`");
        if input.is_empty() {
            if !terminated {
                errors.push(missing());
            }
            return Ok(());
        }
        let next_is_statement =
            input.peek(Ident) && (input.peek2(Token![~]) || input.peek2(Token![=]));
        if !next_is_statement {
            let error = input.error("expected `;`: each statement of a model ends with `;`");
            // The rest of the chunk is not a statement: drop it, the error above covers it.
            let _: TokenStream = input.parse()?;
            return Err(error);
        }
        errors.push(missing());
    }
}

/// An error at the next token of `input`, or at `fallback` when the input is exhausted.
fn error_at_next(input: ParseStream, fallback: Span, message: String) -> syn::Error {
    match input.cursor().token_tree() {
        Some((tree, _)) => syn::Error::new(tree.span(), message),
        None => syn::Error::new(fallback, message),
    }
}

/// The span of the last token between two cursors; a group gives its closing delimiter.
fn last_token_span(start: Cursor, end: Cursor) -> Span {
    let mut cursor = start;
    let mut last = Span::call_site();
    while cursor != end {
        let Some((tree, next)) = cursor.token_tree() else {
            break;
        };
        last = match &tree {
            TokenTree::Group(group) if group.delimiter() != Delimiter::None => group.span_close(),
            other => other.span(),
        };
        cursor = next;
    }
    last
}

/// The tokens of one statement, and whether a `;` ended them.
struct Chunk {
    tokens: TokenStream,
    terminated: bool,
}

/// Splits at the top-level `;` (those inside brackets belong to the expressions); empty
/// statements (`;;`) are dropped.
fn split_statements(tokens: TokenStream) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut current = Vec::new();
    for tree in tokens {
        match tree {
            TokenTree::Punct(punct) if punct.as_char() == ';' => {
                if !current.is_empty() {
                    let tokens = current.drain(..).collect();
                    chunks.push(Chunk {
                        tokens,
                        terminated: true,
                    });
                }
            }
            other => current.push(other),
        }
    }
    if !current.is_empty() {
        chunks.push(Chunk {
            tokens: current.into_iter().collect(),
            terminated: false,
        });
    }
    chunks
}

/// All errors as one, in order; `None` when there are none.
pub(crate) fn combine(errors: impl IntoIterator<Item = syn::Error>) -> Option<syn::Error> {
    errors.into_iter().reduce(|mut all, error| {
        all.combine(error);
        all
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn messages(tokens: TokenStream) -> Vec<String> {
        match Model::parse_partial(tokens).1 {
            Some(error) => error.into_iter().map(|e| e.to_string()).collect(),
            None => Vec::new(),
        }
    }

    #[test]
    fn parses_parameters_and_random_variables() {
        let model: Model = syn::parse2(quote! {
            nn = MixtureNet::new(&device, 15, 20);
            x ~ Normal(1.0, 1.0);
            y ~ inferrs::MixtureGaussian(nn(x),);
            z ~ Flat();
        })
        .unwrap();
        let names: Vec<String> = model
            .statements
            .iter()
            .map(|s| s.name.to_string())
            .collect();
        assert_eq!(names, ["nn", "x", "y", "z"]);
        assert!(matches!(model.statements[0].body, Body::Parameter { .. }));
        let Body::Random {
            distribution, args, ..
        } = &model.statements[2].body
        else {
            panic!("y is random");
        };
        assert_eq!(
            quote!(#distribution).to_string(),
            "inferrs :: MixtureGaussian"
        );
        assert_eq!(args.len(), 1);
        let Body::Random { args, .. } = &model.statements[3].body else {
            panic!("z is random");
        };
        assert!(args.is_empty());
    }

    #[test]
    fn semicolons_inside_expressions_do_not_split() {
        let model: Model = syn::parse2(quote! {
            nn = { let a = 1; Net::new(a) };;
            x ~ Normal([1.0; 3][0], 1.0);
        })
        .unwrap();
        assert_eq!(model.statements.len(), 2);
    }

    #[test]
    fn malformed_statements() {
        let form = format!("a statement is {FORMS}");
        assert_eq!(
            messages(quote! { x Normal(1.0, 1.0); }),
            [format!("expected `~` or `=` after `x`: {form}")]
        );
        assert_eq!(
            messages(quote! { let x = 1.0; }),
            [format!("expected a name: {form}")]
        );
        assert_eq!(
            messages(quote! { 1.0 ~ Normal(1.0, 1.0); }),
            [format!("expected a name: {form}")]
        );
        assert_eq!(
            messages(quote! { x; }),
            [format!("expected `~` or `=` after `x`: {form}")]
        );
        assert_eq!(
            messages(quote! { x ~ 3.0; }),
            [
                "expected a distribution after `~`: `x ~ Distribution(args);`, as in `x ~ Normal(0.0, 1.0);`"
            ]
        );
        assert_eq!(
            messages(quote! { x ~ Normal; }),
            ["expected `(` and the arguments of the distribution: `x ~ Normal(args);`"]
        );
        assert_eq!(
            messages(quote! { x ~ Normal { loc: 1.0 }; }),
            ["expected `(` and the arguments of the distribution: `x ~ Normal(args);`"]
        );
        assert_eq!(
            messages(quote! { nn = ; }),
            ["expected an expression after `=`: `nn = expression;`"]
        );
    }

    #[test]
    fn missing_semicolons() {
        let missing = "expected `;`: each statement of a model ends with `;`";
        let (model, error) = Model::parse_partial(quote! {
            x ~ Normal(1.0, 1.0)
            y ~ Normal(x, 1.0);
            nn = Net::new()
            z = nn
        });
        let names: Vec<String> = model
            .statements
            .iter()
            .map(|s| s.name.to_string())
            .collect();
        assert_eq!(
            names,
            ["x", "y", "nn", "z"],
            "the statement after a missing `;` is read"
        );
        let found: Vec<String> = error.unwrap().into_iter().map(|e| e.to_string()).collect();
        assert_eq!(found, [missing, missing, missing]);
        assert_eq!(messages(quote! { x ~ Normal(1.0, 1.0) + 2.0; }), [missing]);
    }

    #[test]
    fn every_malformed_statement_is_reported() {
        let (model, error) = Model::parse_partial(quote! {
            x Normal(1.0, 1.0);
            y ~ Normal(0.0, 1.0);
            z ~ ;
        });
        assert_eq!(model.statements.len(), 1);
        assert_eq!(error.unwrap().into_iter().count(), 2);
    }

    #[test]
    fn empty_input_parses_to_no_statement() {
        let model: Model = syn::parse2(quote! {}).unwrap();
        assert!(model.statements.is_empty());
    }
}
