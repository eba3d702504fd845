// An input outside the `datamodel { .. }` block of a probmodel: an input is a data column, one
// value per row, so it is declared inside the block.
use inferrs::prelude::*;

fn main() {
    let _model = probmodel! {
        mu ~ Normal(0.0, 5.0);
        input sigma;
        datamodel {
            y ~ Normal(mu, sigma);
        }
    };
}
