//! The tape against its reference, burn's autodiff on flex: the same function, the same inputs,
//! value and gradient. burn computes in `f32`, the tape in `f64`, so they agree to `f32`
//! rounding: `2e-5 (1 + |x|)` here, for functions whose terms are of order 1 to 100.

use burn::backend::Capture;
use burn::tensor::{Device, Tensor, TensorData, activation};
use inferrs_tape::{Tape, TapeError};

type Function = fn(&[Tensor<2>]) -> Tensor<1>;

/// Deterministic inputs of moderate size, away from the kinks of abs, clamp and max.
fn inputs(shapes: &[[usize; 2]]) -> Vec<Vec<f32>> {
    let mut k = 0u32;
    shapes
        .iter()
        .map(|s| {
            (0..s[0] * s[1])
                .map(|_| {
                    k += 1;
                    ((k as f32 * 0.618_034).fract() - 0.5) * 3.0 + 0.05
                })
                .collect()
        })
        .collect()
}

fn tape_of(shapes: &[[usize; 2]], f: Function) -> Result<Tape, TapeError> {
    let device = Device::capture();
    let xs = inputs(shapes);
    let captured = device
        .capture_scope(|scope| {
            let ts: Vec<Tensor<2>> = shapes
                .iter()
                .zip(&xs)
                .map(|(s, x)| Tensor::from_data(TensorData::new(x.clone(), *s), &device))
                .collect();
            let ids: Vec<_> = ts
                .iter()
                .map(|t| t.clone().try_into_primitive::<Capture>().unwrap().id())
                .collect();
            let out = f(&ts).try_into_primitive::<Capture>().unwrap().id();
            scope.complete(ids, [out])
        })
        .unwrap();
    Tape::compile(&captured)
}

fn check(name: &str, shapes: &[[usize; 2]], f: Function) {
    let mut tape = tape_of(shapes, f).unwrap_or_else(|e| panic!("{name}: {e}"));
    let xs = inputs(shapes);
    let flat: Vec<f64> = xs.iter().flatten().map(|&x| f64::from(x)).collect();
    let mut grad = vec![0.0; flat.len()];
    let value = tape.value_and_grad(&flat, &mut grad);

    let device = Device::flex().autodiff();
    let ts: Vec<Tensor<2>> = shapes
        .iter()
        .zip(&xs)
        .map(|(s, x)| Tensor::from_data(TensorData::new(x.clone(), *s), &device).require_grad())
        .collect();
    let y = f(&ts);
    let want = f64::from(y.clone().into_scalar::<f32>());
    let grads = y.backward();
    let close = |a: f64, b: f64| (a - b).abs() <= 2e-5 * (1.0 + b.abs());
    assert!(close(value, want), "{name}: value {value} against {want}");
    let mut at = 0;
    for (i, t) in ts.iter().enumerate() {
        let n = shapes[i][0] * shapes[i][1];
        let want: Vec<f32> = match t.grad(&grads) {
            Some(g) => g.into_data().convert::<f32>().try_to_vec().unwrap(),
            None => vec![0.0; n],
        };
        for (j, &w) in want.iter().enumerate() {
            let got = grad[at + j];
            assert!(
                close(got, f64::from(w)),
                "{name}: d/dx{i}[{j}] {got} against {w}"
            );
        }
        at += n;
    }
    // A second evaluation at other inputs gives the same as a fresh tape there: nothing is
    // left over from the first.
    let other: Vec<f64> = flat.iter().map(|x| 0.9 * x + 0.01).collect();
    let mut g1 = vec![0.0; flat.len()];
    let v1 = tape.value_and_grad(&other, &mut g1);
    let mut fresh = tape_of(shapes, f).unwrap();
    let mut g2 = vec![0.0; flat.len()];
    let v2 = fresh.value_and_grad(&other, &mut g2);
    assert_eq!(
        (v1, &g1),
        (v2, &g2),
        "{name}: a replay depends on the one before"
    );
}

#[test]
fn elementwise_functions() {
    check("exp log1p tanh", &[[3, 4]], |x| {
        (x[0].clone().exp() + x[0].clone().tanh() + x[0].clone().exp().log1p()).sum()
    });
    check("log sqrt abs", &[[2, 5]], |x| {
        let a = x[0].clone().abs();
        (a.clone().log() + a.sqrt()).sum()
    });
    check("sigmoid softplus relu", &[[4, 3]], |x| {
        (activation::sigmoid(x[0].clone())
            + activation::softplus(x[0].clone(), 1.0)
            + activation::relu(x[0].clone()))
        .sum()
    });
    check("powers and reciprocal", &[[3, 3]], |x| {
        let a = x[0].clone().abs() + 0.5;
        (a.clone().powf_scalar(2.5) + a.clone().recip() + x[0].clone().powi_scalar(3)).sum()
    });
    check("sin cos neg clamp", &[[2, 6]], |x| {
        (x[0].clone().sin() - x[0].clone().cos() + x[0].clone().clamp(-0.7, 0.9).neg()).sum()
    });
}

#[test]
fn broadcasting_arithmetic() {
    check(
        "row, column and scalar operands",
        &[[4, 3], [1, 3], [4, 1], [1, 1]],
        |x| {
            let y = (x[0].clone() - x[1].clone()) * x[2].clone() / (x[3].clone().exp() + 1.0);
            (y.clone() * y).sum()
        },
    );
    check("the same operand twice", &[[3, 2]], |x| {
        (x[0].clone() * x[0].clone() + x[0].clone() / (x[0].clone().abs() + 1.0)).sum()
    });
    check("scalars on both sides", &[[2, 3]], |x| {
        ((x[0].clone() + 2.0) * 3.0 - 1.5).div_scalar(0.7).sum()
            + (x[0].clone().mul_scalar(-2.0).exp() + 1.0).log().sum()
    });
    check("powf of two tensors", &[[2, 2], [2, 2]], |x| {
        (x[0].clone().abs() + 0.5).powf(x[1].clone()).sum()
    });
}

#[test]
fn reductions_and_moves() {
    check("sum and mean over each axis", &[[3, 4]], |x| {
        let a: Tensor<2> = x[0].clone().exp().sum_dim(1);
        let b: Tensor<2> = x[0].clone().mean_dim(0);
        (a.powf_scalar(2.0).sum() + b.tanh().mean()).reshape([1])
    });
    check("max and min over an axis", &[[3, 4]], |x| {
        (x[0].clone().max_dim(1).sum() * 2.0 + x[0].clone().min_dim(0).sum()).reshape([1])
    });
    check("logsumexp as written by hand", &[[5, 3]], |x| {
        let m = x[0].clone().max_dim(1).detach();
        ((x[0].clone() - m.clone()).exp().sum_dim(1).log() + m).sum()
    });
    check(
        "transpose, slice, cat, expand, repeat",
        &[[2, 3], [2, 1]],
        |x| {
            let t = x[0].clone().swap_dims(0, 1); // [3, 2]
            let s = x[0].clone().slice([0..2, 1..3]); // [2, 2]
            let c = Tensor::cat(vec![s, x[1].clone()], 1); // [2, 3]
            let e = x[1].clone().expand([2, 4]);
            let r = x[1].clone().repeat_dim(1, 3);
            (t.exp().sum() + (c * x[0].clone()).sum() + e.tanh().sum() + (r * x[0].clone()).sum())
                .reshape([1])
        },
    );
    check("reshape and permute", &[[2, 6]], |x| {
        let r: Tensor<3> = x[0].clone().reshape([2, 3, 2]);
        let p = r.permute([2, 0, 1]);
        let w = Tensor::<3>::from_data(
            TensorData::new(
                (0..12).map(|i| i as f32 * 0.1).collect::<Vec<_>>(),
                [2, 2, 3],
            ),
            &p.device(),
        );
        (p * w).sum()
    });
}

#[test]
fn masks() {
    check("mask_fill and mask_where", &[[3, 3], [3, 3]], |x| {
        let positive = x[0].clone().greater_elem(0.0);
        let filled = x[1].clone().mask_fill(positive.clone(), 0.25);
        let chosen = x[0]
            .clone()
            .mask_where(positive.bool_not(), x[1].clone().exp());
        (filled * chosen).sum()
    });
    check(
        "a mask from two tensors, as a float",
        &[[2, 4], [2, 4]],
        |x| {
            let m = x[0].clone().lower(x[1].clone()).float();
            (m * x[0].clone() * x[1].clone()).sum()
        },
    );
}

#[test]
fn matrix_products() {
    check("matrix by vector", &[[6, 4], [4, 1], [1, 1]], |x| {
        let logits = x[0].clone().matmul(x[1].clone()) + x[2].clone();
        // a Bernoulli log-likelihood on logits, composed
        let y = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 0.0, 1.0, 1.0, 0.0, 0.0], [6, 1]),
            &logits.device(),
        );
        (y * logits.clone() - activation::softplus(logits, 1.0)).sum()
    });
    check("matrix by matrix, both sides", &[[3, 4], [4, 5]], |x| {
        x[0].clone().matmul(x[1].clone()).tanh().sum()
    });
    check("batched products", &[[2, 6], [2, 6]], |x| {
        let a: Tensor<3> = x[0].clone().reshape([2, 2, 3]);
        let b: Tensor<3> = x[1].clone().reshape([2, 3, 2]);
        a.matmul(b).exp().sum()
    });
}

#[test]
fn constants_are_folded_and_refusals_name_the_operation() {
    // Everything but the final product depends on constants only.
    let tape = tape_of(&[[1, 1]], |x| {
        let data = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0], [1, 3]),
            &x[0].device(),
        );
        (data.exp().log1p().sum_dim(1) * x[0].clone()).sum()
    })
    .unwrap();
    assert!(tape.len() <= 3, "{} instructions replayed", tape.len());
    assert_eq!(tape.input_lens(), [1]);

    let err = tape_of(&[[2, 2]], |x| {
        let noise =
            Tensor::<2>::random([2, 2], burn::tensor::Distribution::Default, &x[0].device());
        (x[0].clone() * noise).sum()
    })
    .unwrap_err();
    assert!(
        matches!(&err, TapeError::Unsupported(op) if op.contains("Random")),
        "{err}"
    );
}

#[test]
fn running_sums_and_softmax() {
    check("cumsum along each axis", &[[3, 4]], |x| {
        (x[0].clone().cumsum(1).tanh() + x[0].clone().cumsum(0).exp()).sum()
    });
    check("log_softmax and softmax", &[[3, 4]], |x| {
        let w = Tensor::<2>::from_data(
            TensorData::new(
                (0..12).map(|i| (i % 5) as f32 - 2.0).collect::<Vec<_>>(),
                [3, 4],
            ),
            &x[0].device(),
        );
        (activation::log_softmax(x[0].clone(), 1) * w.clone()).sum()
            + (activation::softmax(x[0].clone(), 0) * w).sum()
    });
    check("a one-hot of integer labels, any and all", &[[4, 3]], |x| {
        let labels = Tensor::<1, burn::tensor::Int>::from_data(
            TensorData::new(vec![2i64, 0, 1, 2], [4]),
            &x[0].device(),
        );
        // burn's `one_hot` reads the labels' maximum, which a record cannot; as a comparison
        // with `0..3` (what a composed categorical density does) it records.
        let classes = Tensor::<1, burn::tensor::Int>::arange(0..3, &x[0].device());
        let onehot: Tensor<2> = labels
            .reshape([4, 1])
            .equal(classes.reshape([1, 3]))
            .float();
        let positive = x[0].clone().greater_elem(0.0);
        let rows_any = positive.clone().any_dim(1).float();
        let all = positive.all().float();
        (activation::log_softmax(x[0].clone(), 1) * onehot).sum()
            + (rows_any * x[0].clone()).sum()
            + all.sum()
    });
}
