// Two `datamodel` blocks: the error is at the second one's keyword.
use inferrs::prelude::*;

fn main() {
    let _model = probmodel! {
        w ~ Normal(0.0, 1.0);
        datamodel {
            x ~ Normal(0.0, 1.0);
        }
        datamodel {
            y ~ Normal(w * x, 1.0);
        }
    };
}
