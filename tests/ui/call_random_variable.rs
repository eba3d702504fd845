// A random variable called as if it were a network: only parameters (`nn = ...;`) are called.
use inferrs::prelude::*;

fn main() {
    let _model = datamodel! {
        x ~ Normal(0.0, 1.0);
        y ~ Normal(x(1.0), 1.0);
    };
}
