// A statement that is neither `name ~ Distribution(args);` nor `name = expression;`.
use inferrs::prelude::*;

fn main() {
    let _model = datamodel! {
        x Normal(0.0, 1.0);
        y ~ Normal(0.0, 1.0);
    };
}
