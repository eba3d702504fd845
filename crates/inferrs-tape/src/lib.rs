//! A model's log-density (or a fit's bound) captured once as burn's operation IR and replayed
//! with its reverse-mode gradient: in `f64` over whole tensors ([`Tape`]), or in `f32` a block
//! of data rows at a time on rayon's threads ([`RowTape`], for steps of millions of elements).
//!
//! burn's autodiff builds its graph again at every evaluation: a few microseconds of
//! bookkeeping per operation whatever its size, which is all of the cost of a small model's
//! gradient (eight schools: about 45 operations). A sampler evaluates the same function at
//! tens of thousands of points. So the function is run once on burn's capture device
//! ([`burn::tensor::Device::capture`]), which records the operations without executing them,
//! and [`Tape::compile`] turns the record into a list of instructions over preallocated `f64`
//! buffers:
//!
//! * what depends only on constants (the data, the parameters) is computed at compile time;
//! * the replay runs the rest forward, then backward, with no allocation and no lookups.
//!
//! A function of `n` data rows (a network's layers on each row, each row's likelihood, summed)
//! touches millions of elements: [`RowTape`] runs its per-row part block by block, each block's
//! tensors in the cache of the thread that runs it, with vectorised `f32` kernels, and adds the
//! sums over the rows up in the order of the rows (the bits do not depend on the threads).
//!
//! burn's autodiff of the same function is the tape's reference: the tests compare both, and
//! a graph with an operation the tape does not implement is refused
//! ([`TapeError::Unsupported`]), so that its caller keeps burn's autodiff.
//!
//! ```
//! use burn::backend::Capture;
//! use burn::tensor::{Device, Tensor, TensorData};
//! use inferrs_tape::Tape;
//!
//! let device = Device::capture();
//! let captured = device
//!     .capture_scope(|scope| {
//!         let x = Tensor::<1>::from_data(TensorData::new(vec![0.0f32; 3], [3]), &device);
//!         let id = x.clone().try_into_primitive::<Capture>().unwrap().id();
//!         // sum(x^2) / 2 + sum(exp(x))
//!         let y = (x.clone() * x.clone()).sum().div_scalar(2.0) + x.exp().sum();
//!         let out = y.try_into_primitive::<Capture>().unwrap().id();
//!         scope.complete([id], [out])
//!     })
//!     .unwrap();
//! let mut tape = Tape::compile(&captured).unwrap();
//! let mut grad = [0.0; 3];
//! let value = tape.value_and_grad(&[1.0, 0.0, -1.0], &mut grad);
//! let e = std::f64::consts::E;
//! assert!((value - (1.0 + e + 1.0 + 1.0 / e)).abs() < 1e-12);
//! assert!((grad[0] - (1.0 + e)).abs() < 1e-12 && (grad[1] - 1.0).abs() < 1e-12);
//! ```

mod compile;
mod error;
mod instr;
mod kernels;
mod real;
mod rows;
mod shape;
mod tape;

pub use error::TapeError;
pub use rows::RowTape;
pub use tape::Tape;
