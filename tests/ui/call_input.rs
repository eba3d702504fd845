// An input called as if it were a network: an input is a data column, only parameters
// (`nn = ...;`) are called.
use inferrs::prelude::*;

fn main() {
    let _model = datamodel! {
        input sigma;
        y ~ Normal(0.0, sigma(1.0));
    };
}
