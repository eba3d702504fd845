// A name that the model does not declare and that is not in scope: rustc reports it at the token.
use inferrs::prelude::*;

fn main() {
    let _model = datamodel! {
        x ~ Normal(0.0, 1.0);
        y ~ Normal(xx, 1.0);
    };
}
