//! From burn's captured operation IR to the tape's instructions.
//!
//! Each operation of the graph becomes one [`Instr`]. An operation whose operands are all
//! constants (the observed data, the model's parameters, anything computed from them alone) is
//! computed here once, in `f64`, and leaves no instruction: the replay runs only what depends on
//! the inputs.

use std::collections::{BTreeMap, HashMap};

use burn::backend::capture::TensorId;
use burn::backend::ir::ActivationOperationIr;
use burn::backend::ir::{
    BaseOperationIr, BinaryOpIr, BoolOperationIr, FloatOperationIr, GraphIr, IntOperationIr,
    NumericOperationIr, OperationIr, ScalarIr, TensorIr,
};
use burn::tensor::{DType, TensorData};

use crate::TapeError;
use crate::instr::{Binary, Compare, Instr, Product, Reduce, Slot, Unary, WithScalar, sign};
use crate::shape::{self, Index, numel};

/// The tape as it is built.
pub(crate) struct Builder {
    pub(crate) shapes: Vec<Vec<usize>>,
    pub(crate) values: Vec<Vec<f64>>,
    pub(crate) varies: Vec<bool>,
    pub(crate) instrs: Vec<Instr>,
    pub(crate) inputs: Vec<Slot>,
    ids: HashMap<TensorId, Slot>,
}

fn unsupported(what: impl Into<String>) -> TapeError {
    TapeError::Unsupported(what.into())
}

fn float(s: &ScalarIr) -> Result<f64, TapeError> {
    Ok(match *s {
        ScalarIr::Float(x) => x,
        ScalarIr::Int(x) => x as f64,
        ScalarIr::UInt(x) => x as f64,
        ScalarIr::Bool(b) => f64::from(u8::from(b)),
    })
}

impl Builder {
    /// Builds the tape of `graph`, whose constants' values are in `values`.
    pub(crate) fn build(
        graph: &GraphIr,
        values: &BTreeMap<TensorId, TensorData>,
    ) -> Result<(Self, Slot), TapeError> {
        let mut b = Self {
            shapes: Vec::new(),
            values: Vec::new(),
            varies: Vec::new(),
            instrs: Vec::new(),
            inputs: Vec::new(),
            ids: HashMap::new(),
        };
        for &id in &graph.inputs {
            let shape = graph
                .operations
                .iter()
                .flat_map(OperationIr::nodes)
                .find(|t| t.id == id)
                .map(|t| t.shape.to_vec())
                .or_else(|| values.get(&id).map(|d| d.shape().to_vec()))
                .ok_or_else(|| TapeError::Malformed(format!("input {id} has no shape")))?;
            let slot = b.slot(id, shape, true)?;
            b.inputs.push(slot);
        }
        for op in &graph.operations {
            b.operation(op, values)?;
        }
        let [out] = graph.outputs[..] else {
            return Err(TapeError::Malformed(format!(
                "{} outputs, not one",
                graph.outputs.len()
            )));
        };
        let out = b.lookup(out)?;
        if b.values[out].len() != 1 {
            return Err(TapeError::Malformed(format!(
                "the output has shape {:?}, not one value",
                b.shapes[out]
            )));
        }
        Ok((b, out))
    }

    fn slot(&mut self, id: TensorId, shape: Vec<usize>, varies: bool) -> Result<Slot, TapeError> {
        if self.ids.contains_key(&id) {
            return Err(TapeError::Malformed(format!(
                "tensor {id} is written twice"
            )));
        }
        let slot = self.shapes.len();
        self.values.push(vec![0.0; numel(&shape)]);
        self.shapes.push(shape);
        self.varies.push(varies);
        self.ids.insert(id, slot);
        Ok(slot)
    }

    fn lookup(&self, id: TensorId) -> Result<Slot, TapeError> {
        self.ids.get(&id).copied().ok_or_else(|| {
            TapeError::Malformed(format!("tensor {id} is read before it is written"))
        })
    }

    fn operand(&self, t: &TensorIr) -> Result<Slot, TapeError> {
        self.lookup(t.id)
    }

    /// The operand `t` as read for each element of the output `out`.
    fn broadcast(&self, t: &TensorIr, out: &TensorIr) -> Result<(Slot, Index), TapeError> {
        let slot = self.operand(t)?;
        let index =
            Index::broadcast(&self.shapes[slot], out.shape.as_slice()).ok_or_else(|| {
                TapeError::Malformed(format!(
                    "{:?} does not broadcast to {:?}",
                    self.shapes[slot],
                    out.shape.as_slice()
                ))
            })?;
        Ok((slot, index))
    }

    /// Adds `make(out_slot)`: run once here when no operand varies, kept on the tape otherwise.
    fn push(&mut self, out: &TensorIr, make: impl FnOnce(Slot) -> Instr) -> Result<(), TapeError> {
        let slot = self.slot(out.id, out.shape.to_vec(), false)?;
        let mut instr = make(slot);
        let varies = instr.operands().iter().any(|&s| self.varies[s]);
        instr.forward(&mut self.values);
        if varies {
            self.varies[slot] = true;
            self.instrs.push(instr);
        }
        Ok(())
    }

    fn unary(&mut self, f: Unary, input: &TensorIr, out: &TensorIr) -> Result<(), TapeError> {
        let x = self.operand(input)?;
        self.push(out, |out| Instr::Unary { f, x, out })
    }

    fn with_scalar(
        &mut self,
        f: WithScalar,
        lhs: &TensorIr,
        out: &TensorIr,
    ) -> Result<(), TapeError> {
        let x = self.operand(lhs)?;
        self.push(out, |out| Instr::WithScalar { f, x, out })
    }

    fn binary(&mut self, f: Binary, op: &BinaryOpIr) -> Result<(), TapeError> {
        let (a, b) = (
            self.broadcast(&op.lhs, &op.out)?,
            self.broadcast(&op.rhs, &op.out)?,
        );
        self.push(&op.out, |out| Instr::Binary { f, a, b, out })
    }

    fn compare(&mut self, f: Compare, op: &BinaryOpIr) -> Result<(), TapeError> {
        let (a, b) = (
            self.broadcast(&op.lhs, &op.out)?,
            self.broadcast(&op.rhs, &op.out)?,
        );
        self.push(&op.out, |out| Instr::Compare { f, a, b, out })
    }

    fn compare_scalar(
        &mut self,
        f: Compare,
        lhs: &TensorIr,
        c: &ScalarIr,
        out: &TensorIr,
    ) -> Result<(), TapeError> {
        let (x, c) = (self.operand(lhs)?, float(c)?);
        self.push(out, |out| Instr::CompareScalar { f, x, c, out })
    }

    /// A move of data: `out[i] = input[map[i]]`.
    fn gather(&mut self, input: &TensorIr, out: &TensorIr, map: Index) -> Result<(), TapeError> {
        let x = self.operand(input)?;
        if matches!(&map, Index::Map(m) if m.len() != numel(out.shape.as_slice())) {
            return Err(TapeError::Malformed("a move of the wrong size".into()));
        }
        let len = self.values[x].len();
        let map = match map {
            Index::Map(m) => Index::from_map(m, len),
            Index::Same if len != numel(out.shape.as_slice()) => {
                return Err(TapeError::Malformed("a copy that changes the size".into()));
            }
            other => other,
        };
        self.push(out, |out| Instr::Gather { x: (x, map), out })
    }

    /// A reduction of `input` over `axis` (all axes for `None`).
    fn reduce(
        &mut self,
        f: Reduce,
        input: &TensorIr,
        axis: Option<usize>,
        out: &TensorIr,
    ) -> Result<(), TapeError> {
        let x = self.operand(input)?;
        let shape = self.shapes[x].clone();
        let (map, count) = match axis {
            None => (Index::One, numel(&shape)),
            // A map from the input's elements: the identity reads all of the input.
            Some(a) if a < shape.len() => (
                Index::from_map(shape::reduce_map(&shape, a), numel(&shape)),
                shape[a],
            ),
            Some(a) => return Err(TapeError::Malformed(format!("axis {a} of {shape:?}"))),
        };
        let arg = vec![0u32; numel(out.shape.as_slice())];
        self.push(out, |out| Instr::Reduce {
            f,
            x,
            map,
            count,
            arg,
            out,
        })
    }

    /// The operand and `[outer, len, inner]` of its shape around `axis`.
    fn lines(&self, input: &TensorIr, axis: usize) -> Result<(Slot, [usize; 3]), TapeError> {
        let x = self.operand(input)?;
        let shape = &self.shapes[x];
        if axis >= shape.len() {
            return Err(TapeError::Malformed(format!("axis {axis} of {shape:?}")));
        }
        Ok((
            x,
            [
                numel(&shape[..axis]),
                shape[axis],
                numel(&shape[axis + 1..]),
            ],
        ))
    }

    fn softmax(
        &mut self,
        log: bool,
        input: &TensorIr,
        axis: usize,
        out: &TensorIr,
    ) -> Result<(), TapeError> {
        let (x, lines) = self.lines(input, axis)?;
        self.push(out, |out| Instr::Softmax { log, x, lines, out })
    }

    fn matmul(&mut self, lhs: &TensorIr, rhs: &TensorIr, out: &TensorIr) -> Result<(), TapeError> {
        let (a, b) = (self.operand(lhs)?, self.operand(rhs)?);
        let (sa, sb) = (self.shapes[a].clone(), self.shapes[b].clone());
        let r = sa.len();
        if r < 2 || sb.len() != r || sa[r - 1] != sb[r - 2] {
            return Err(unsupported(format!("matmul of {sa:?} and {sb:?}")));
        }
        let (m, k, n) = (sa[r - 2], sa[r - 1], sb[r - 1]);
        let (ba, bb) = (numel(&sa[..r - 2]), numel(&sb[..r - 2]));
        let batch = ba.max(bb);
        if (ba != batch && ba != 1)
            || (bb != batch && bb != 1)
            || numel(out.shape.as_slice()) != batch * m * n
        {
            return Err(unsupported(format!("batched matmul of {sa:?} and {sb:?}")));
        }
        let dims = Product {
            m,
            k,
            n,
            batch,
            a_batched: ba == batch && batch > 1,
            b_batched: bb == batch && batch > 1,
        };
        self.push(out, |out| Instr::Matmul { a, b, out, dims })
    }

    fn operation(
        &mut self,
        op: &OperationIr,
        values: &BTreeMap<TensorId, TensorData>,
    ) -> Result<(), TapeError> {
        match op {
            OperationIr::Init(init) => {
                if self.ids.contains_key(&init.out.id) {
                    return Ok(()); // an input, created first
                }
                let data = values.get(&init.out.id).ok_or_else(|| {
                    TapeError::Malformed(format!("constant {} has no value", init.out.id))
                })?;
                let slot = self.slot(init.out.id, init.out.shape.to_vec(), false)?;
                self.values[slot] = data.iter::<f64>().collect();
                if self.values[slot].len() != numel(&self.shapes[slot]) {
                    return Err(TapeError::Malformed(format!(
                        "constant {} has the wrong number of values",
                        init.out.id
                    )));
                }
                Ok(())
            }
            OperationIr::Drop(_) => Ok(()),
            OperationIr::Float(dtype, f) => {
                float_dtype(*dtype)?;
                self.float_op(f)
            }
            OperationIr::NumericFloat(dtype, n) => {
                float_dtype(*dtype)?;
                self.numeric_op(n)
            }
            OperationIr::BaseFloat(b) | OperationIr::BaseBool(b) | OperationIr::BaseInt(b) => {
                self.base_op(b)
            }
            // Integers as `f64` (exact below 2^53): what a model does with them is indexing
            // into constants (a one-hot of observed labels), folded at compile time. Their
            // division and remainder round, which the float instructions do not.
            OperationIr::NumericInt(_, n) => match n {
                NumericOperationIr::Div(_)
                | NumericOperationIr::DivScalar(_)
                | NumericOperationIr::Rem(_)
                | NumericOperationIr::RemScalar(_) => Err(unsupported(name(n))),
                n => self.numeric_op(n),
            },
            OperationIr::Int(IntOperationIr::IntoFloat(c)) => {
                self.gather(&c.input, &c.out, Index::Same)
            }
            OperationIr::Bool(b) => match b {
                BoolOperationIr::Not(u) => {
                    let x = self.operand(&u.input)?;
                    self.push(&u.out, |out| Instr::Not { x, out })
                }
                BoolOperationIr::And(op) => self.compare(Compare::And, op),
                BoolOperationIr::Or(op) => self.compare(Compare::Or, op),
                BoolOperationIr::IntoFloat(c) => {
                    let x = self.operand(&c.input)?;
                    // A mask as 0 / 1: no gradient flows into a mask.
                    self.push(&c.out, |out| Instr::CompareScalar {
                        f: Compare::NotEqual,
                        x,
                        c: 0.0,
                        out,
                    })
                }
                other => Err(unsupported(name(other))),
            },
            OperationIr::Activation(a) => match a {
                ActivationOperationIr::Relu(u) => self.unary(Unary::Relu, &u.input, &u.out),
                ActivationOperationIr::Sigmoid(u) => self.unary(Unary::Sigmoid, &u.input, &u.out),
                ActivationOperationIr::LogSigmoid(u) => {
                    self.unary(Unary::LogSigmoid, &u.input, &u.out)
                }
                ActivationOperationIr::Softmax(d) => self.softmax(false, &d.input, d.axis, &d.out),
                ActivationOperationIr::LogSoftmax(d) => {
                    self.softmax(true, &d.input, d.axis, &d.out)
                }
                other => Err(unsupported(name(other))),
            },
            other => Err(unsupported(name(other))),
        }
    }

    fn float_op(&mut self, f: &FloatOperationIr) -> Result<(), TapeError> {
        use FloatOperationIr as F;
        let step = |g: fn(f64) -> f64| Unary::Step(g);
        match f {
            F::Exp(u) => self.unary(Unary::Exp, &u.input, &u.out),
            F::Log(u) => self.unary(Unary::Log, &u.input, &u.out),
            F::Log1p(u) => self.unary(Unary::Log1p, &u.input, &u.out),
            F::Sqrt(u) => self.unary(Unary::Sqrt, &u.input, &u.out),
            F::Tanh(u) => self.unary(Unary::Tanh, &u.input, &u.out),
            F::Sin(u) => self.unary(Unary::Sin, &u.input, &u.out),
            F::Cos(u) => self.unary(Unary::Cos, &u.input, &u.out),
            F::Recip(u) => self.unary(Unary::Recip, &u.input, &u.out),
            F::Floor(u) => self.unary(step(f64::floor), &u.input, &u.out),
            F::Ceil(u) => self.unary(step(f64::ceil), &u.input, &u.out),
            F::Round(u) => self.unary(step(round_half_even), &u.input, &u.out),
            F::Trunc(u) => self.unary(step(f64::trunc), &u.input, &u.out),
            F::PowfScalar(s) => self.with_scalar(WithScalar::Pow(float(&s.rhs)?), &s.lhs, &s.out),
            F::Powf(op) => self.binary(Binary::Pow, op),
            F::Matmul(m) => self.matmul(&m.lhs, &m.rhs, &m.out),
            other => Err(unsupported(name(other))),
        }
    }

    fn numeric_op(&mut self, n: &NumericOperationIr) -> Result<(), TapeError> {
        use NumericOperationIr as N;
        match n {
            N::Add(op) => self.binary(Binary::Add, op),
            N::Sub(op) => self.binary(Binary::Sub, op),
            N::Mul(op) => self.binary(Binary::Mul, op),
            N::Div(op) => self.binary(Binary::Div, op),
            N::AddScalar(s) => self.with_scalar(WithScalar::Add(float(&s.rhs)?), &s.lhs, &s.out),
            N::SubScalar(s) => self.with_scalar(WithScalar::Sub(float(&s.rhs)?), &s.lhs, &s.out),
            N::MulScalar(s) => self.with_scalar(WithScalar::Mul(float(&s.rhs)?), &s.lhs, &s.out),
            N::DivScalar(s) => self.with_scalar(WithScalar::Div(float(&s.rhs)?), &s.lhs, &s.out),
            N::PowiScalar(s) => self.with_scalar(WithScalar::Pow(float(&s.rhs)?), &s.lhs, &s.out),
            N::Powi(op) => self.binary(Binary::Pow, op),
            N::ClampMin(s) => self.with_scalar(
                WithScalar::Clamp(float(&s.rhs)?, f64::INFINITY),
                &s.lhs,
                &s.out,
            ),
            N::ClampMax(s) => self.with_scalar(
                WithScalar::Clamp(f64::NEG_INFINITY, float(&s.rhs)?),
                &s.lhs,
                &s.out,
            ),
            N::Clamp(c) => self.with_scalar(
                WithScalar::Clamp(float(&c.min)?, float(&c.max)?),
                &c.tensor,
                &c.out,
            ),
            N::Neg(u) => self.unary(Unary::Neg, &u.input, &u.out),
            N::Abs(u) => self.unary(Unary::Abs, &u.input, &u.out),
            N::Sign(u) => self.unary(Unary::Step(sign), &u.input, &u.out),
            N::Sum(r) => self.reduce(Reduce::Sum, &r.input, None, &r.out),
            N::Mean(r) => self.reduce(Reduce::Mean, &r.input, None, &r.out),
            N::Max(r) => self.reduce(Reduce::Max, &r.input, None, &r.out),
            N::Min(r) => self.reduce(Reduce::Min, &r.input, None, &r.out),
            N::SumDim(r) => self.reduce(Reduce::Sum, &r.input, Some(r.axis), &r.out),
            N::MeanDim(r) => self.reduce(Reduce::Mean, &r.input, Some(r.axis), &r.out),
            N::MaxDim(r) => self.reduce(Reduce::Max, &r.input, Some(r.axis), &r.out),
            N::MinDim(r) => self.reduce(Reduce::Min, &r.input, Some(r.axis), &r.out),
            N::Greater(op) => self.compare(Compare::Greater, op),
            N::GreaterEqual(op) => self.compare(Compare::GreaterEqual, op),
            N::Lower(op) => self.compare(Compare::Lower, op),
            N::LowerEqual(op) => self.compare(Compare::LowerEqual, op),
            N::GreaterElem(s) => self.compare_scalar(Compare::Greater, &s.lhs, &s.rhs, &s.out),
            N::GreaterEqualElem(s) => {
                self.compare_scalar(Compare::GreaterEqual, &s.lhs, &s.rhs, &s.out)
            }
            N::LowerElem(s) => self.compare_scalar(Compare::Lower, &s.lhs, &s.rhs, &s.out),
            N::LowerEqualElem(s) => {
                self.compare_scalar(Compare::LowerEqual, &s.lhs, &s.rhs, &s.out)
            }
            N::CumSum(c) => {
                let (x, lines) = self.lines(&c.input, c.axis)?;
                self.push(&c.out, |out| Instr::CumSum { x, lines, out })
            }
            N::Full(full) => {
                let slot = self.slot(full.out.id, full.out.shape.to_vec(), false)?;
                self.values[slot].fill(float(&full.value)?);
                Ok(())
            }
            other => Err(unsupported(name(other))),
        }
    }

    fn base_op(&mut self, b: &BaseOperationIr) -> Result<(), TapeError> {
        use BaseOperationIr as B;
        match b {
            B::Reshape(s) => {
                let x = self.operand(&s.input)?;
                if numel(&self.shapes[x]) != numel(s.out.shape.as_slice()) {
                    return Err(TapeError::Malformed("a reshape changes the size".into()));
                }
                self.gather(&s.input, &s.out, Index::Same)
            }
            B::Expand(s) => {
                let (_, index) = self.broadcast(&s.input, &s.out)?;
                self.gather(&s.input, &s.out, index)
            }
            B::SwapDims(s) => {
                let x = self.operand(&s.input)?;
                let mut axes: Vec<usize> = (0..self.shapes[x].len()).collect();
                axes.swap(s.dim1, s.dim2);
                let map = shape::permute_map(&self.shapes[x], &axes);
                self.gather(&s.input, &s.out, Index::Map(map))
            }
            B::Permute(p) => {
                let x = self.operand(&p.input)?;
                let map = shape::permute_map(&self.shapes[x], &p.axes);
                self.gather(&p.input, &p.out, Index::Map(map))
            }
            B::Slice(s) => {
                let x = self.operand(&s.tensor)?;
                let shape = self.shapes[x].clone();
                let mut starts = vec![0usize; shape.len()];
                for (d, r) in s.ranges.iter().enumerate().take(shape.len()) {
                    if r.step != 1 {
                        return Err(unsupported("a slice with a step"));
                    }
                    let n = shape[d] as isize;
                    starts[d] = if r.start < 0 { r.start + n } else { r.start } as usize;
                }
                let map = shape::slice_map(&shape, &starts, s.out.shape.as_slice());
                self.gather(&s.tensor, &s.out, Index::Map(map))
            }
            B::RepeatDim(r) => {
                let x = self.operand(&r.tensor)?;
                let map = shape::tile_map(&self.shapes[x], r.out.shape.as_slice());
                self.gather(&r.tensor, &r.out, Index::Map(map))
            }
            B::Cat(c) => {
                let mut parts = Vec::with_capacity(c.tensors.len());
                let mut offset = 0;
                for t in &c.tensors {
                    let x = self.operand(t)?;
                    let part = self.shapes[x].clone();
                    parts.push((
                        x,
                        shape::cat_map(&part, c.dim, offset, c.out.shape.as_slice()),
                    ));
                    offset += part[c.dim];
                }
                self.push(&c.out, |out| Instr::Cat { parts, out })
            }
            B::Cast(c) => {
                // Between float types (or to a mask): the values as they are.
                if !matches!(
                    c.out.dtype,
                    DType::F32 | DType::F64 | DType::F16 | DType::BF16
                ) {
                    return Err(unsupported(format!("a cast to {:?}", c.out.dtype)));
                }
                self.gather(&c.input, &c.out, Index::Same)
            }
            B::MaskFill(m) => {
                let x = self.broadcast(&m.tensor, &m.out)?;
                let mask = self.broadcast(&m.mask, &m.out)?;
                let value = float(&m.value)?;
                self.push(&m.out, |out| Instr::MaskFill {
                    x,
                    mask,
                    value,
                    out,
                })
            }
            B::MaskWhere(m) => {
                let x = self.broadcast(&m.tensor, &m.out)?;
                let mask = self.broadcast(&m.mask, &m.out)?;
                let value = self.broadcast(&m.value, &m.out)?;
                self.push(&m.out, |out| Instr::MaskWhere {
                    x,
                    mask,
                    value,
                    out,
                })
            }
            B::Equal(op) => self.compare(Compare::Equal, op),
            B::NotEqual(op) => self.compare(Compare::NotEqual, op),
            B::EqualElem(s) => self.compare_scalar(Compare::Equal, &s.lhs, &s.rhs, &s.out),
            B::NotEqualElem(s) => self.compare_scalar(Compare::NotEqual, &s.lhs, &s.rhs, &s.out),
            // Over masks (0 or 1 here): any is the max, all the min.
            B::Any(r) if matches!(r.input.dtype, DType::Bool(_)) => {
                self.reduce(Reduce::Max, &r.input, None, &r.out)
            }
            B::All(r) if matches!(r.input.dtype, DType::Bool(_)) => {
                self.reduce(Reduce::Min, &r.input, None, &r.out)
            }
            B::AnyDim(r) if matches!(r.input.dtype, DType::Bool(_)) => {
                self.reduce(Reduce::Max, &r.input, Some(r.axis), &r.out)
            }
            B::AllDim(r) if matches!(r.input.dtype, DType::Bool(_)) => {
                self.reduce(Reduce::Min, &r.input, Some(r.axis), &r.out)
            }
            B::Zeros(c) => self.slot(c.out.id, c.out.shape.to_vec(), false).map(|_| ()),
            B::Ones(c) => {
                let slot = self.slot(c.out.id, c.out.shape.to_vec(), false)?;
                self.values[slot].fill(1.0);
                Ok(())
            }
            other => Err(unsupported(name(other))),
        }
    }
}

/// The float types the tape reads (it computes in `f64` whatever the graph's type).
fn float_dtype(dtype: DType) -> Result<(), TapeError> {
    match dtype {
        DType::F32 | DType::F64 | DType::F16 | DType::BF16 => Ok(()),
        other => Err(unsupported(format!("an operation on {other:?}"))),
    }
}

/// Rounding half to even, as burn's `round`.
fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

/// An operation's kind, for the error (`Int(IntoFloat)`, `CumProd`): its debug form without
/// the tensors, whose ids would only confuse.
fn name(op: &impl std::fmt::Debug) -> String {
    let debug = format!("{op:?}");
    let head = debug.split(['{', ' ']).next().unwrap_or(&debug);
    let mut parts: Vec<&str> = head.split('(').filter(|p| !p.is_empty()).collect();
    // The last part is the operands' struct (`CastOpIr`), not a kind.
    if parts.len() > 1 && parts.last().is_some_and(|p| p.ends_with("Ir")) {
        parts.pop();
    }
    let mut out = parts.join("(");
    out.push_str(&")".repeat(parts.len().saturating_sub(1)));
    out
}
