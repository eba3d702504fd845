// A random variable whose distribution uses the variable itself: the error is at the use.
use inferrs::prelude::*;

fn main() {
    let _model = datamodel! {
        x ~ Normal(x, 1.0);
    };
}
