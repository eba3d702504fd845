// `Parameter(..)` inside a parameter's expression: the error is at `Parameter`.
use inferrs::prelude::*;

fn main() {
    let _q = qmodel! {
        w_scale = softplus(Parameter(1.0));
        w ~ Normal(0.0, w_scale);
    };
}
