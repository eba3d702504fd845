// A `datamodel { .. }` block in `datamodel!`, whose variables are all local already.
use inferrs::prelude::*;

fn main() {
    let _model = datamodel! {
        w ~ Normal(0.0, 1.0);
        datamodel {
            x ~ Normal(w, 1.0);
        }
    };
}
