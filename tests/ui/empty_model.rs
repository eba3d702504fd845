// A model without a statement.
use inferrs::prelude::*;

fn main() {
    let _model = datamodel! {};
}
