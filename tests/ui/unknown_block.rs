// A misspelt `datamodel` block: the error is at the keyword, and the block is still read.
use inferrs::prelude::*;

fn main() {
    let _model = probmodel! {
        w ~ Normal(0.0, 1.0);
        datamodle {
            x ~ Normal(0.0, 1.0);
            y ~ Normal(w * x, 1.0);
        }
    };
}
