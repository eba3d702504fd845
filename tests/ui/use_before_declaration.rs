// A name used by a statement before the statement that declares it: the error is at the use.
use inferrs::prelude::*;

fn main() {
    let _model = datamodel! {
        y ~ Normal(x, 1.0);
        x ~ Normal(0.0, 1.0);
    };
}
