// The initial value of an inline `Parameter(..)` using a random variable: the error is at the use.
use inferrs::prelude::*;

fn main() {
    let _q = qmodel! {
        x ~ Normal(0.0, 1.0);
        w ~ Normal(Parameter(x), 1.0);
    };
}
