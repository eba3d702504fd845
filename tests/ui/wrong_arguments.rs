use inferrs::prelude::*;

fn main() {
    let device = Device::default();
    let _model = datamodel! {
        nn = MixtureNet::new(&device, 15, 20);
        x ~ Normal(1.0);
        y ~ MixtureGaussian(nn(1.0));
    };
}
