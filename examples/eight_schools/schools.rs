//! Eight schools (Rubin 1981): the data and the non-centred model, shared by the example, the
//! NUTS benchmark and the tests.

use inferrs::{Data, Error};

/// The effects of the eight schools.
pub const Y: [f32; 8] = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0];
/// Their standard errors.
pub const SIGMA: [f32; 8] = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0];

/// `y` and the input `sigma`, one row a school.
pub fn data() -> Result<Data, Error> {
    Data::new().with("y", &Y)?.with("sigma", &SIGMA)
}

/// The non-centred model: `mu ~ N(0, 5)`, `tau ~ HalfCauchy(5)`, `theta_t ~ N(0, 1)` per
/// school, `y ~ N(mu + tau theta_t, sigma)`.
macro_rules! noncentred {
    () => {
        inferrs::probmodel! {
            mu ~ Normal(0.0, 5.0);
            tau ~ HalfCauchy(5.0);
            datamodel {
                input sigma;
                theta_t ~ Normal(0.0, 1.0);
                y ~ Normal(mu + tau * theta_t, sigma);
            }
        }
    };
}
