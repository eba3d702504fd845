// A statement without its `;`: the error is at the statement's last token.
use inferrs::prelude::*;

fn main() {
    let _model = datamodel! {
        x ~ Normal(0.0, 1.0)
        y ~ Normal(x, 1.0);
    };
}
