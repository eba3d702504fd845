//! [`Tape`]: a compiled scalar function of some input tensors, with its gradient.

use std::collections::BTreeMap;

use burn::backend::capture::{CapturedGraph, TensorId};
use burn::backend::ir::GraphIr;
use burn::tensor::TensorData;

use crate::TapeError;
use crate::compile::Builder;
use crate::instr::{Instr, Slot};

/// A scalar function of some input tensors, captured once from burn ops and replayed in `f64`
/// with its reverse-mode gradient.
///
/// Built from a graph that [`burn::tensor::Device::capture`] recorded. The replay allocates
/// nothing: every tensor has its buffer from the compile, and what does not depend on the
/// inputs was computed there, once.
#[derive(Clone, Debug)]
pub struct Tape {
    values: Vec<Vec<f64>>,
    grads: Vec<Vec<f64>>,
    varies: Vec<bool>,
    instrs: Vec<Instr>,
    inputs: Vec<Slot>,
    input_lens: Vec<usize>,
    output: Slot,
}

impl Tape {
    /// The tape of a captured graph: its declared inputs, in order, are the function's
    /// arguments, and its one output (a single value) the function's value.
    ///
    /// # Errors
    /// [`TapeError::Unsupported`] naming an operation the tape does not replay;
    /// [`TapeError::Malformed`] when the graph does not have one scalar output, or reads a
    /// tensor it never wrote.
    pub fn compile(captured: &CapturedGraph) -> Result<Self, TapeError> {
        Self::from_graph(&captured.graph, &captured.values)
    }

    /// [`Tape::compile`] from the graph and the constants' values.
    ///
    /// # Errors
    /// As [`Tape::compile`].
    pub fn from_graph(
        graph: &GraphIr,
        values: &BTreeMap<TensorId, TensorData>,
    ) -> Result<Self, TapeError> {
        let (b, output) = Builder::build(graph, values)?;
        let grads = b
            .values
            .iter()
            .zip(&b.varies)
            .map(|(v, &varies)| {
                if varies {
                    vec![0.0; v.len()]
                } else {
                    Vec::new()
                }
            })
            .collect();
        let input_lens = b.inputs.iter().map(|&s| b.values[s].len()).collect();
        Ok(Self {
            values: b.values,
            grads,
            varies: b.varies,
            instrs: b.instrs,
            inputs: b.inputs,
            input_lens,
            output,
        })
    }

    /// Elements of each input, in order.
    pub fn input_lens(&self) -> &[usize] {
        &self.input_lens
    }

    /// Instructions replayed per evaluation (what does not depend on the inputs is not).
    pub fn len(&self) -> usize {
        self.instrs.len()
    }

    /// Elements an evaluation reads and writes, over all the instructions it replays (each
    /// instruction's operands and output): the measure of its work that the caller weighs
    /// against burn's fixed cost per operation.
    pub fn elements_touched(&self) -> usize {
        self.instrs
            .iter()
            .map(|i| {
                self.values[i.out()].len()
                    + i.operands()
                        .iter()
                        .map(|&s| self.values[s].len())
                        .sum::<usize>()
            })
            .sum()
    }

    /// Whether nothing is replayed (the value does not depend on the inputs).
    pub fn is_empty(&self) -> bool {
        self.instrs.is_empty()
    }

    /// The function's value at `inputs` (all inputs' elements one after the other, row-major),
    /// with its gradient written into `grad` (the same layout).
    ///
    /// # Panics
    /// When `inputs` or `grad` is not as long as the inputs together.
    pub fn value_and_grad(&mut self, inputs: &[f64], grad: &mut [f64]) -> f64 {
        check_lens(&self.input_lens, inputs, grad);
        let mut at = 0;
        for (&slot, &n) in self.inputs.iter().zip(&self.input_lens) {
            self.values[slot].copy_from_slice(&inputs[at..at + n]);
            at += n;
        }
        for instr in &mut self.instrs {
            instr.forward(&mut self.values);
        }
        let value = self.values[self.output][0];
        for g in &mut self.grads {
            g.fill(0.0);
        }
        if self.varies[self.output] {
            self.grads[self.output][0] = 1.0;
        }
        for instr in self.instrs.iter().rev() {
            if !instr.differentiable() {
                continue;
            }
            let out = instr.out();
            let g = std::mem::take(&mut self.grads[out]);
            instr.backward(&g, &self.values, &mut self.grads, &self.varies);
            self.grads[out] = g;
        }
        let mut at = 0;
        for (&slot, &n) in self.inputs.iter().zip(&self.input_lens) {
            grad[at..at + n].copy_from_slice(&self.grads[slot]);
            at += n;
        }
        value
    }
}

/// Panics unless `inputs` and `grad` are as long as the inputs (`lens`) together.
pub(crate) fn check_lens(lens: &[usize], inputs: &[f64], grad: &[f64]) {
    let total: usize = lens.iter().sum();
    assert_eq!(
        inputs.len(),
        total,
        "the tape's inputs have {total} elements"
    );
    assert_eq!(
        grad.len(),
        total,
        "the tape's gradient has {total} elements"
    );
}
