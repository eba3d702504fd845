//! The syntax of a model, as typed [`Parse`] impls.
//!
//! ```text
//! model      = { item } ;                            (* at least one statement *)
//! item       = statement | block ;
//! block      = "datamodel" "{" { statement } "}" ;   (* at most one; its statements are local *)
//! statement  = input | tensor | parameter | random ;
//! input      = "input" name ";" ;                    (* a data column the model reads, not a random variable *)
//! tensor     = name "=" parameter_path "(" expression [ "," ] ")" ";" ;   (* a trainable tensor *)
//! parameter  = name "=" expression ";" ;             (* trainable parameters: a burn Module *)
//! random     = name "~" path "(" [ arguments ] ")" ";" ;   (* a random variable *)
//! arguments  = expression { "," expression } [ "," ] ;
//! name       = IDENT ;                               (* a Rust identifier, not a keyword *)
//! path       = [ "::" ] IDENT { "::" IDENT } ;       (* a distribution type: `Normal`, `inferrs::Normal` *)
//! parameter_path = path ;                            (* whose last segment is `Parameter` *)
//! expression = (* any Rust expression *) ;
//! ```
//!
//! `input` is a contextual keyword: a statement is an input when it starts with the identifier
//! `input` (not `r#input`) followed by another identifier, so a variable may still be called
//! `input` (`input ~ Normal(0.0, 1.0);`, `input = Net::new();`).
//!
//! A model is split into statements at its top-level `;` before each is parsed, so one malformed
//! statement does not hide the errors of the others, and a statement that runs into the next one
//! (a missing `;`) is reported at its last token while the next one is still read. A `datamodel`
//! block is an item of its own (no `;` after its `}`); its contents are split the same way.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use syn::buffer::Cursor;
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprCall, Ident, Path, Token, token};

/// The form of a statement, quoted in the messages about malformed ones.
pub(crate) const FORMS: &str = "`name ~ Distribution(args);` or `name = expression;`";

/// The keyword of the block of local variables.
pub(crate) const BLOCK: &str = "datamodel";

/// The contextual keyword of an input statement, `input name;`.
pub(crate) const INPUT: &str = "input";

/// The message about a `Parameter(..)` call without exactly one argument.
pub(crate) const PARAMETER_ARITY: &str =
    "`Parameter` takes one argument, its initial value, as in `Parameter(0.0)`";

/// Which macro is expanding: they share the grammar and differ in locality and result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Macro {
    /// `datamodel!`: every random variable is local; no `datamodel` block.
    Datamodel,
    /// `probmodel!`: global outside the `datamodel` block, local inside; a `Model`.
    Probmodel,
    /// `qmodel!`: as `probmodel!`, but a `QModel`.
    Qmodel,
}

impl Macro {
    /// The macro's name as the user writes it, `datamodel!`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Macro::Datamodel => "datamodel!",
            Macro::Probmodel => "probmodel!",
            Macro::Qmodel => "qmodel!",
        }
    }

    /// Whether every random variable is local, whatever the block.
    pub(crate) fn all_local(self) -> bool {
        self == Macro::Datamodel
    }
}

/// The contents of `datamodel! { ... }`: statements in declaration order.
pub(crate) struct Model {
    pub statements: Vec<Statement>,
    /// The keyword of the model's `datamodel { .. }` block, when it has one.
    pub block: Option<Ident>,
}

/// One declaration, `name ~ Dist(args)`, `name = expr` or `input name`, without its `;`.
pub(crate) struct Statement {
    /// The declared name.
    pub name: Ident,
    /// What is declared.
    pub body: Body,
    /// Whether the statement is inside the `datamodel { .. }` block.
    pub in_block: bool,
}

/// The right-hand side of a [`Statement`].
pub(crate) enum Body {
    /// `name = expr`: trainable parameters, evaluated once before the model runs.
    Parameter {
        /// The expression building the parameters.
        expr: Expr,
    },
    /// `name = Parameter(init)`: a trainable tensor, created once before the model runs.
    Tensor {
        /// The `Parameter` path as written (`Parameter`, `inferrs::Parameter`).
        parameter: Path,
        /// The initial value.
        init: Expr,
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
    /// `input name`: a data column the model reads, one value per row, but does not model.
    Input {
        /// The `input` keyword as written (its span is the user's token).
        keyword: Ident,
    },
}

impl Model {
    /// Parses every statement it can, and returns the errors of the others combined.
    ///
    /// The statements that parsed are kept so that validation can report its own errors next to
    /// the syntax errors.
    pub(crate) fn parse_partial(tokens: TokenStream) -> (Model, Option<syn::Error>) {
        let mut model = Model {
            statements: Vec::new(),
            block: None,
        };
        let mut errors: Vec<syn::Error> = Vec::new();
        parse_items(tokens, None, &mut model, &mut errors);
        (model, combine(errors))
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
    /// Parses `name ~ Path(args)`, `name = expr` or `input name`, without the `;`.
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if peek_input(input) {
            let keyword: Ident = input.parse()?;
            let name: Ident = input.parse()?;
            return Ok(Statement {
                name,
                body: Body::Input { keyword },
                in_block: false,
            });
        }
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
            parameter_body(input.parse()?)?
        } else {
            let message = format!("expected `~` or `=` after `{name}`: a statement is {FORMS}");
            return Err(error_at_next(input, name.span(), message));
        };
        Ok(Statement {
            name,
            body,
            in_block: false,
        })
    }
}

/// Whether `input` starts an input statement: the identifier `input` (not `r#input`) followed by
/// another identifier. `input ~ ..` and `input = ..` declare a variable called `input`.
fn peek_input(input: ParseStream) -> bool {
    input.peek(Ident)
        && input.peek2(Ident)
        && input
            .cursor()
            .ident()
            .is_some_and(|(ident, _)| ident == INPUT)
}

/// `Parameter(init)` as a [`Body::Tensor`], any other expression as a [`Body::Parameter`].
fn parameter_body(expr: Expr) -> syn::Result<Body> {
    let Expr::Call(call) = &expr else {
        return Ok(Body::Parameter { expr });
    };
    let Some(parameter) = parameter_call(call) else {
        return Ok(Body::Parameter { expr });
    };
    if call.args.len() != 1 {
        return Err(parameter_arity(parameter));
    }
    Ok(Body::Tensor {
        parameter: parameter.clone(),
        init: call.args[0].clone(),
    })
}

/// The path of a call `Parameter(..)` (its last segment `Parameter`, without generics), if it is
/// one.
pub(crate) fn parameter_call(call: &ExprCall) -> Option<&Path> {
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    if func.qself.is_some() || !func.attrs.is_empty() || !call.attrs.is_empty() {
        return None;
    }
    let last = func.path.segments.last()?;
    let plain = matches!(last.arguments, syn::PathArguments::None);
    (plain && last.ident.unraw() == "Parameter").then_some(&func.path)
}

/// The error for `Parameter()` or `Parameter(a, b)`, at `Parameter`.
pub(crate) fn parameter_arity(parameter: &Path) -> syn::Error {
    let at = parameter
        .segments
        .last()
        .map_or_else(Span::call_site, |s| s.ident.span());
    syn::Error::new(at, PARAMETER_ARITY)
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

/// Parses the items of `tokens` into `model`: the top level when `block` is `None`, else the
/// contents of the block whose keyword is `block`.
fn parse_items(
    tokens: TokenStream,
    block: Option<&Ident>,
    model: &mut Model,
    errors: &mut Vec<syn::Error>,
) {
    for item in split_items(tokens) {
        match item {
            Item::Chunk(chunk) => {
                let first = model.statements.len();
                let parser = |input: ParseStream| {
                    parse_chunk(input, chunk.terminated, &mut model.statements, errors)
                };
                if let Err(error) = parser.parse2(chunk.tokens) {
                    errors.push(error);
                }
                for statement in &mut model.statements[first..] {
                    statement.in_block = block.is_some();
                }
            }
            Item::Block { keyword, body } => {
                if keyword.unraw() != BLOCK {
                    let message = format!(
                        "unknown block `{keyword}`: the block of local variables is \
                         `{BLOCK} {{ .. }}`"
                    );
                    errors.push(syn::Error::new(keyword.span(), message));
                } else if block.is_some() {
                    let message = format!(
                        "a `{BLOCK}` block cannot be nested: the statements of a `{BLOCK}` block \
                         are already local"
                    );
                    errors.push(syn::Error::new(keyword.span(), message));
                } else if model.block.is_some() {
                    let message = format!(
                        "a second `{BLOCK}` block: a model has at most one, which holds all its \
                         local variables"
                    );
                    errors.push(syn::Error::new(keyword.span(), message));
                } else {
                    model.block = Some(keyword.clone());
                }
                // Read the contents all the same, so their own errors are reported and their
                // names are known to the rest of the model.
                let inner = block.unwrap_or(&keyword).clone();
                parse_items(body.stream(), Some(&inner), model, errors);
            }
        }
    }
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
        let next_is_statement = peek_input(input)
            || (input.peek(Ident) && (input.peek2(Token![~]) || input.peek2(Token![=])));
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

/// A piece of a model: the tokens of one statement, or a block.
enum Item {
    /// The tokens of one statement (or several, when `;` are missing).
    Chunk(Chunk),
    /// `keyword { body }`: the `datamodel` block, or a misspelling of it.
    Block { keyword: Ident, body: Group },
}

/// The tokens of one statement, and whether a `;` ended them.
struct Chunk {
    tokens: TokenStream,
    terminated: bool,
}

/// Splits at the top-level `;` (those inside brackets belong to the expressions) and around
/// blocks; empty statements (`;;`) are dropped.
///
/// `IDENT { .. }` is a block where a statement starts (no statement has that form); `datamodel
/// { .. }` is one also after a token that can end a statement (not after a punctuation, as in
/// `a = datamodel { .. }`), so that a `;` missing before the block is reported as such.
fn split_items(tokens: TokenStream) -> Vec<Item> {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut items = Vec::new();
    let mut current: Vec<TokenTree> = Vec::new();
    let flush = |current: &mut Vec<TokenTree>, items: &mut Vec<Item>, terminated: bool| {
        if !current.is_empty() {
            items.push(Item::Chunk(Chunk {
                tokens: current.drain(..).collect(),
                terminated,
            }));
        }
    };
    let mut i = 0;
    while i < trees.len() {
        match (&trees[i], trees.get(i + 1)) {
            (TokenTree::Punct(punct), _) if punct.as_char() == ';' => {
                flush(&mut current, &mut items, true);
            }
            (TokenTree::Ident(keyword), Some(TokenTree::Group(body)))
                if body.delimiter() == Delimiter::Brace
                    && (current.is_empty()
                        || (keyword.unraw() == BLOCK
                            && !matches!(current.last(), Some(TokenTree::Punct(_))))) =>
            {
                flush(&mut current, &mut items, false);
                items.push(Item::Block {
                    keyword: keyword.clone(),
                    body: body.clone(),
                });
                i += 1;
            }
            (other, _) => current.push(other.clone()),
        }
        i += 1;
    }
    flush(&mut current, &mut items, false);
    items
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

    fn names_and_blocks(model: &Model) -> Vec<(String, bool)> {
        model
            .statements
            .iter()
            .map(|s| (s.name.to_string(), s.in_block))
            .collect()
    }

    #[test]
    fn parses_a_datamodel_block_anywhere() {
        let model: Model = syn::parse2(quote! {
            w ~ Normal(0.0, 1.0);
            datamodel {
                x ~ Normal(0.0, 10.0);
                y ~ Normal(w * x, 1.0);
            };
            b ~ Normal(0.0, 1.0);
        })
        .unwrap();
        let expected = [("w", false), ("x", true), ("y", true), ("b", false)];
        assert_eq!(
            names_and_blocks(&model),
            expected.map(|(n, b)| (n.to_owned(), b))
        );
        assert_eq!(model.block.unwrap().to_string(), "datamodel");

        // No `;` after the block's `}`.
        let model: Model = syn::parse2(quote! {
            datamodel { x ~ Normal(0.0, 1.0); }
            w ~ Normal(0.0, 1.0);
        })
        .unwrap();
        assert_eq!(
            names_and_blocks(&model),
            [("x".to_owned(), true), ("w".to_owned(), false)]
        );
    }

    #[test]
    fn a_statement_ending_a_block_needs_its_semicolon() {
        let missing = "expected `;`: each statement of a model ends with `;`";
        assert_eq!(
            messages(quote! { datamodel { x ~ Normal(0.0, 1.0) } }),
            [missing]
        );
    }

    #[test]
    fn a_semicolon_missing_before_a_block_is_reported() {
        let (model, error) = Model::parse_partial(quote! {
            w ~ Normal(0.0, 1.0)
            datamodel { x ~ Normal(w, 1.0); }
        });
        let expected = [("w", false), ("x", true)];
        assert_eq!(
            names_and_blocks(&model),
            expected.map(|(n, b)| (n.to_owned(), b))
        );
        let found: Vec<String> = error.unwrap().into_iter().map(|e| e.to_string()).collect();
        assert_eq!(
            found,
            ["expected `;`: each statement of a model ends with `;`"]
        );
    }

    #[test]
    fn datamodel_in_an_expression_is_not_a_block() {
        let model: Model = syn::parse2(quote! {
            nn = datamodel { width: 3 };
            datamodel ~ Normal(0.0, 1.0);
        })
        .unwrap();
        assert!(model.block.is_none());
        assert_eq!(
            names_and_blocks(&model),
            [("nn".to_owned(), false), ("datamodel".to_owned(), false)]
        );
    }

    #[test]
    fn parses_inputs() {
        let model: Model = syn::parse2(quote! {
            input sigma;
            datamodel {
                input r#x;
                y ~ Normal(0.0, sigma);
            }
        })
        .unwrap();
        let expected = [("sigma", false), ("r#x", true), ("y", true)];
        assert_eq!(
            names_and_blocks(&model),
            expected.map(|(n, b)| (n.to_owned(), b))
        );
        let Body::Input { keyword } = &model.statements[0].body else {
            panic!("sigma is an input");
        };
        assert_eq!(keyword.to_string(), "input");
        assert!(matches!(model.statements[1].body, Body::Input { .. }));
    }

    #[test]
    fn input_is_a_contextual_keyword() {
        let model: Model = syn::parse2(quote! {
            input ~ Normal(0.0, 1.0);
            input = Net::new(input);
            r#input = 1.0;
        })
        .unwrap();
        assert_eq!(model.statements.len(), 3);
        assert!(matches!(model.statements[0].body, Body::Random { .. }));
        assert!(matches!(model.statements[1].body, Body::Parameter { .. }));
        assert!(matches!(model.statements[2].body, Body::Parameter { .. }));
        assert_eq!(model.statements[0].name.to_string(), "input");
        // `r#input` is the identifier, not the keyword.
        let form = format!("a statement is {FORMS}");
        assert_eq!(
            messages(quote! { r#input sigma; }),
            [format!("expected `~` or `=` after `r#input`: {form}")]
        );
        assert_eq!(
            messages(quote! { input; }),
            [format!("expected `~` or `=` after `input`: {form}")]
        );
    }

    #[test]
    fn inputs_and_missing_semicolons() {
        let missing = "expected `;`: each statement of a model ends with `;`";
        let (model, error) = Model::parse_partial(quote! {
            x ~ Normal(0.0, 1.0)
            input sigma
            y ~ Normal(x, sigma);
        });
        let names: Vec<String> = model
            .statements
            .iter()
            .map(|s| s.name.to_string())
            .collect();
        assert_eq!(names, ["x", "sigma", "y"]);
        let found: Vec<String> = error.unwrap().into_iter().map(|e| e.to_string()).collect();
        assert_eq!(found, [missing, missing]);
        assert_eq!(messages(quote! { input sigma + 1.0; }), [missing]);
        assert_eq!(messages(quote! { input sigma }), [missing]);
    }

    #[test]
    fn whole_parameter_statements_are_tensors() {
        let model: Model = syn::parse2(quote! {
            a = Parameter(0.0);
            b = inferrs::Parameter([1.0, 2.0],);
            c = Parameter::new(0.0);
            d = Parameter(0.0) * 2.0;
        })
        .unwrap();
        let Body::Tensor { parameter, init } = &model.statements[1].body else {
            panic!("b is a tensor");
        };
        assert_eq!(quote!(#parameter).to_string(), "inferrs :: Parameter");
        assert_eq!(quote!(#init).to_string(), quote!([1.0, 2.0]).to_string());
        assert!(matches!(model.statements[0].body, Body::Tensor { .. }));
        assert!(matches!(model.statements[2].body, Body::Parameter { .. }));
        assert!(matches!(model.statements[3].body, Body::Parameter { .. }));
        assert_eq!(messages(quote! { a = Parameter(); }), [PARAMETER_ARITY]);
        assert_eq!(
            messages(quote! { a = Parameter(0.0, 1.0); }),
            [PARAMETER_ARITY]
        );
    }
}
