// `Parameter(..)` inside a closure of a random variable's arguments: the error is at `Parameter`.
use inferrs::prelude::*;

fn main() {
    let scale = Some(1.0);
    let _q = qmodel! {
        w ~ Normal(0.0, scale.map_or(1.0, |s| Parameter(s)));
    };
}
