// A name declared twice: the error is at the second declaration.
use inferrs::prelude::*;

fn main() {
    let _model = datamodel! {
        x ~ Normal(0.0, 1.0);
        x ~ Normal(1.0, 1.0);
    };
}
