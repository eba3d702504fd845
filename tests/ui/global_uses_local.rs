// A global random variable using a local one: the error is at the use.
use inferrs::prelude::*;

fn main() {
    let _model = probmodel! {
        datamodel {
            x ~ Normal(0.0, 10.0);
        }
        w ~ Normal(x, 1.0);
    };
}
