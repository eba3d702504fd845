// `Parameter` with two arguments: the error is at `Parameter`.
use inferrs::prelude::*;

fn main() {
    let _q = qmodel! {
        w ~ Normal(Parameter(0.0, 1.0), 1.0);
    };
}
