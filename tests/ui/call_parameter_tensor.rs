// A parameter tensor called as if it were a network: the error is at its name.
use inferrs::prelude::*;

fn main() {
    let _q = qmodel! {
        w_loc = Parameter(0.0);
        w ~ Normal(w_loc(1.0), 1.0);
    };
}
