//! [`RowTape`]: the tape of a function of `n` data rows, replayed in `f32` a block of rows at a
//! time, the blocks on rayon's threads.
//!
//! The whole-tensor [`Tape`](crate::Tape) runs each instruction over all its elements in
//! `f64`: exact, and fast while a step touches a few tens of thousands of elements. A fit of
//! a network on thousands of rows touches millions; there every instruction's pass over its
//! tensors leaves the cache, and one core does all of it. Most of such a function is the same
//! computation on every row (a network's layers, the likelihood of each row's value), summed
//! over the rows at the end. [`RowTape`] runs that part block by block
//! (`plan.rs` says which part it is): each block's tensors stay in the cache from one
//! instruction to the next, the blocks run on the threads of rayon's pool, and the sums over
//! the rows (the log-likelihood, the gradients of the weights) are added up block by block in
//! the order of the rows, so the bits do not depend on the number of threads. What is global
//! (the parameters' transforms before the rows, the bound's arithmetic after the sums) runs
//! once.
//!
//! It computes in `f32`, as burn's CPU backends do, with vectorised `exp`, `ln`, `log1p`,
//! `tanh` and `sigmoid` (`inferrs_kernels::vmath`); constants folded at compile time were
//! computed in `f64`.

mod block;
mod dense;
mod plan;

use burn::backend::capture::CapturedGraph;
use rayon::prelude::*;

use crate::TapeError;
use crate::compile::Builder;
use crate::instr::{Instr, Slot};
use std::sync::Mutex;

use crate::rows::block::{Share, Shared, Workspace};
use crate::rows::plan::{Op, Plan, Step};

/// Floats of a block's row tensors (values and gradients) that a block aims at: 1 MiB, about
/// a core's L2 cache. Measured on the user MDN of `bench_models` (5000 rows, 1 -> 24 -> 24
/// tanh -> 30, about 1,000 floats a row; the `timing` test of `tests/rows.rs`, 2 threads):
/// 32 rows a block 3.4 ms, 64 2.9, 128 2.7, 256 2.4 (1.0 after the later changes), 512 1.1.
const BLOCK_FLOATS: usize = 1 << 18;

/// Blocks a tape of enough rows is cut into at least, so that every thread of the pool has
/// some (the cut depends on the model and the data, never on the threads).
const MIN_BLOCKS: usize = 8;

/// Rows a block: [`BLOCK_FLOATS`] over the floats a row takes, at most an eighth of the rows
/// ([`MIN_BLOCKS`]), at least 64 (the cost of a block's passes over its instructions),
/// a multiple of 8 (the products' panels).
fn auto_block_rows(per_row: usize, rows: usize) -> usize {
    let by_cache = BLOCK_FLOATS / per_row.max(1);
    let by_threads = rows.div_ceil(MIN_BLOCKS);
    (by_cache.min(by_threads).max(64) / 8 * 8).max(8)
}

/// A scalar function of some input tensors whose work is mostly per data row, captured once
/// from burn ops and replayed in `f32` by blocks of rows, with its reverse-mode gradient.
///
/// Each evaluation runs the rows twice: forward for the sums over the rows (the global
/// arithmetic after them needs their values before any row's gradient is known), then forward
/// again and backward, block by block, so that a block's tensors are written and read while
/// they are in the cache of the thread that runs it. A thread keeps one block's buffers
/// (its workspace) and reuses them from block to block.
#[derive(Debug)]
pub struct RowTape {
    widths: Vec<Option<usize>>,
    varies: Vec<bool>,
    globals: Vec<Vec<f32>>,
    global_grads: Vec<Vec<f32>>,
    /// The data rows and row inputs the body reads, whole; empty for other slots.
    data: Vec<Vec<f32>>,
    pre: Vec<Instr>,
    body: Vec<Step>,
    post: Vec<Instr>,
    /// Whether the rows run once (see `Plan::linear`).
    linear: bool,
    shares: Vec<Share>,
    /// A workspace per thread of the pool (by rayon's thread index), and its empty form.
    workspaces: Vec<Mutex<Workspace>>,
    template: Workspace,
    /// Global slots the blocks add gradients into.
    shared: Vec<Slot>,
    inputs: Vec<Slot>,
    input_lens: Vec<usize>,
    output: Slot,
    rows: usize,
    block_rows: usize,
}

impl RowTape {
    /// The tape of a captured graph over `rows` data rows: the tensors whose first axis has
    /// `rows` elements are per row. Its declared inputs, in order, are the function's
    /// arguments, and its one output (a single value) the function's value.
    ///
    /// # Errors
    /// As [`Tape::compile`](crate::Tape::compile), and [`TapeError::NotByRows`] when a row of
    /// some instruction reads other rows (a transpose of the data, a mean over the rows that
    /// each row uses, ...).
    pub fn compile(captured: &CapturedGraph, rows: usize) -> Result<Self, TapeError> {
        Self::build(captured, rows, None)
    }

    /// [`RowTape::compile`] with `block_rows` rows a block (at least one; all rows at most)
    /// in place of the size it picks for the cache. The bits depend on it (the sums over the
    /// rows add up the blocks' sums), never on the threads.
    ///
    /// # Errors
    /// As [`RowTape::compile`].
    pub fn with_block_rows(
        captured: &CapturedGraph,
        rows: usize,
        block_rows: usize,
    ) -> Result<Self, TapeError> {
        Self::build(captured, rows, Some(block_rows.max(1)))
    }

    fn build(
        captured: &CapturedGraph,
        rows: usize,
        block_rows: Option<usize>,
    ) -> Result<Self, TapeError> {
        let (b, output) = Builder::build(&captured.graph, &captured.values)?;
        let plan =
            Plan::new(&b.instrs, &b.shapes, &b.varies, rows).map_err(TapeError::NotByRows)?;
        if plan.widths[output].is_some() {
            return Err(TapeError::NotByRows("the output is a row".into()));
        }
        Ok(Self::from_plan(b, plan, output, rows, block_rows))
    }

    fn from_plan(
        b: Builder,
        plan: Plan,
        output: Slot,
        rows: usize,
        block_rows: Option<usize>,
    ) -> Self {
        let n_slots = b.values.len();
        let widths = plan.widths;
        let is_input = {
            let mut f = vec![false; n_slots];
            for &s in &b.inputs {
                f[s] = true;
            }
            f
        };
        // Row slots the body reads or writes; of them, the data and the inputs are kept whole,
        // the rest computed in the workspaces.
        let mut used = vec![false; n_slots];
        let mut shared_flag = vec![false; n_slots];
        let mut sums = vec![false; n_slots];
        for step in &plan.body {
            used[step.out] = widths[step.out].is_some();
            sums[step.out] = matches!(step.op, Op::Reduce { cross: true, .. });
            for a in &step.args {
                if a.row {
                    used[a.slot] = true;
                } else if b.varies[a.slot] {
                    shared_flag[a.slot] = true;
                }
            }
        }
        let whole = |s: usize| widths[s].is_some() && (is_input[s] || (used[s] && !b.varies[s]));
        let computed = |s: usize| widths[s].is_some() && used[s] && !whole(s);
        let per_row: usize = (0..n_slots)
            .filter_map(|s| {
                let w = widths[s]?;
                Some(w * (usize::from(computed(s)) + usize::from(used[s] && b.varies[s])))
            })
            .sum();
        let block_rows = block_rows
            .unwrap_or_else(|| auto_block_rows(per_row, rows))
            .min(rows);
        let sized = |keep: bool, len: usize| if keep { vec![0.0f32; len] } else { Vec::new() };
        let data = (0..n_slots)
            .map(|s| {
                if whole(s) {
                    b.values[s].iter().map(|&x| x as f32).collect()
                } else {
                    Vec::new()
                }
            })
            .collect();
        let globals: Vec<Vec<f32>> = (0..n_slots)
            .map(|s| {
                if widths[s].is_none() {
                    b.values[s].iter().map(|&x| x as f32).collect()
                } else {
                    Vec::new()
                }
            })
            .collect();
        let global_grads = (0..n_slots)
            .map(|s| sized(widths[s].is_none() && b.varies[s], b.values[s].len()))
            .collect();
        let template = Workspace {
            values: (0..n_slots)
                .map(|s| sized(computed(s), block_rows * widths[s].unwrap_or(0)))
                .collect(),
            grads: (0..n_slots)
                .map(|s| {
                    let keep = widths[s].is_some() && used[s] && b.varies[s] || is_input[s];
                    sized(keep, block_rows * widths[s].unwrap_or(0))
                })
                .collect(),
            args: plan
                .body
                .iter()
                .map(|step| match step.op {
                    Op::Reduce {
                        f: crate::instr::Reduce::Max | crate::instr::Reduce::Min,
                        cross: false,
                        ..
                    } => vec![0; block_rows * step.width],
                    _ => Vec::new(),
                })
                .collect(),
            scratch: Default::default(),
            bufs: Default::default(),
        };
        let shares = (0..rows.div_ceil(block_rows))
            .map(|i| {
                let start = i * block_rows;
                let n = block_rows.min(rows - start);
                Share {
                    start,
                    rows: n,
                    sums: (0..n_slots)
                        .map(|s| sized(sums[s], b.values[s].len()))
                        .collect(),
                    global_grads: (0..n_slots)
                        .map(|s| sized(shared_flag[s], b.values[s].len()))
                        .collect(),
                    input_grads: (0..n_slots)
                        .map(|s| sized(is_input[s], n * widths[s].unwrap_or(0)))
                        .collect(),
                }
            })
            .collect();
        let input_lens = b.inputs.iter().map(|&s| b.values[s].len()).collect();
        Self {
            widths,
            varies: b.varies,
            globals,
            global_grads,
            data,
            pre: plan.pre,
            body: plan.body,
            post: plan.post,
            linear: plan.linear,
            shares,
            workspaces: Vec::new(),
            template,
            shared: (0..n_slots).filter(|&s| shared_flag[s]).collect(),
            inputs: b.inputs,
            input_lens,
            output,
            rows,
            block_rows,
        }
    }

    /// Elements of each input, in order.
    pub fn input_lens(&self) -> &[usize] {
        &self.input_lens
    }

    /// Instructions replayed per evaluation (what does not depend on the inputs is not).
    pub fn len(&self) -> usize {
        self.pre.len() + self.body.len() + self.post.len()
    }

    /// Whether nothing is replayed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The data rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Rows per block.
    pub fn block_rows(&self) -> usize {
        self.block_rows
    }

    /// The most outputs of a matrix product on the rows (a network's layer has tens, a linear
    /// predictor one); 0 without one.
    pub fn widest_row_product(&self) -> usize {
        self.body
            .iter()
            .filter_map(|s| match s.op {
                Op::Matmul { n, .. } => Some(n),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// The function's value at `inputs` (all inputs' elements one after the other, row-major),
    /// with its gradient written into `grad` (the same layout), both rounded from and to the
    /// `f32` the replay computes in.
    ///
    /// # Panics
    /// When `inputs` or `grad` is not as long as the inputs together.
    pub fn value_and_grad(&mut self, inputs: &[f64], grad: &mut [f64]) -> f64 {
        crate::tape::check_lens(&self.input_lens, inputs, grad);
        let threads = rayon::current_num_threads().max(1);
        while self.workspaces.len() < threads {
            self.workspaces.push(Mutex::new(self.template.clone()));
        }
        self.set_inputs(inputs);
        for instr in &mut self.pre {
            instr.forward(&mut self.globals);
        }
        if self.linear {
            // The sums' adjoints first (from any values of the sums: they do not depend on
            // them), then the rows once, forward and backward, then the true value.
            self.combine_sums(true);
            self.post_forward_backward();
            self.rows_backward();
            self.combine_sums(false);
            for instr in &mut self.post {
                instr.forward(&mut self.globals);
            }
        } else {
            self.sums_over_rows();
            self.combine_sums(false);
            self.post_forward_backward();
            self.rows_backward();
        }
        backward_global(
            &self.pre,
            &self.globals,
            &mut self.global_grads,
            &self.varies,
        );
        self.read_grads(grad);
        f64::from(self.globals[self.output][0])
    }

    fn set_inputs(&mut self, inputs: &[f64]) {
        let mut at = 0;
        for (&slot, &n) in self.inputs.iter().zip(&self.input_lens) {
            let target = if self.widths[slot].is_some() {
                &mut self.data[slot]
            } else {
                &mut self.globals[slot]
            };
            for (v, &x) in target.iter_mut().zip(&inputs[at..at + n]) {
                *v = x as f32;
            }
            at += n;
        }
    }

    /// What the blocks see of the tape.
    fn view(&self) -> Shared<'_> {
        Shared {
            globals: &self.globals,
            data: &self.data,
            widths: &self.widths,
            varies: &self.varies,
        }
    }

    /// Runs `f` on every block, each on the workspace of the thread that runs it.
    fn each_block(
        shares: &mut [Share],
        workspaces: &[Mutex<Workspace>],
        f: impl Fn(&mut Workspace, &mut Share) + Sync,
    ) {
        shares.par_iter_mut().for_each(|share| {
            let i = rayon::current_thread_index().unwrap_or(0) % workspaces.len();
            let mut ws = workspaces[i]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut ws, share);
        });
    }

    /// The rows forward, block by block, leaving their sums over the rows in the shares.
    fn sums_over_rows(&mut self) {
        let mut shares = std::mem::take(&mut self.shares);
        {
            let (body, view) = (&self.body, self.view());
            Self::each_block(&mut shares, &self.workspaces, |ws, share| {
                ws.forward(body, &view, share);
            });
        }
        self.shares = shares;
    }

    /// The sums over the rows from the blocks' shares, added in the order of the blocks (or
    /// zero, when `zero`).
    fn combine_sums(&mut self, zero: bool) {
        for step in &self.body {
            if let Op::Reduce {
                f,
                count,
                cross: true,
            } = step.op
            {
                let out = &mut self.globals[step.out];
                out.fill(0.0);
                if zero {
                    continue;
                }
                for share in &self.shares {
                    for (o, &p) in out.iter_mut().zip(&share.sums[step.out]) {
                        *o += p;
                    }
                }
                if f == crate::instr::Reduce::Mean {
                    let inv = 1.0 / count as f32;
                    out.iter_mut().for_each(|o| *o *= inv);
                }
            }
        }
    }

    /// The global instructions after the sums forward, then the seed of the output's adjoint
    /// and their reverse pass.
    fn post_forward_backward(&mut self) {
        for instr in &mut self.post {
            instr.forward(&mut self.globals);
        }
        for g in &mut self.global_grads {
            g.fill(0.0);
        }
        if self.varies[self.output] {
            self.global_grads[self.output][0] = 1.0;
        }
        backward_global(
            &self.post,
            &self.globals,
            &mut self.global_grads,
            &self.varies,
        );
    }

    /// The rows forward (again) and backward, block by block, and their gradients of the global
    /// tensors added up in the order of the blocks.
    fn rows_backward(&mut self) {
        let mut shares = std::mem::take(&mut self.shares);
        {
            let (body, view, adjoints) = (&self.body, self.view(), &self.global_grads);
            Self::each_block(&mut shares, &self.workspaces, |ws, share| {
                ws.forward_backward(body, &view, adjoints, share);
            });
        }
        self.shares = shares;
        for &s in &self.shared {
            let g = &mut self.global_grads[s];
            for share in &self.shares {
                for (g, &p) in g.iter_mut().zip(&share.global_grads[s]) {
                    *g += p;
                }
            }
        }
    }

    fn read_grads(&self, grad: &mut [f64]) {
        let mut at = 0;
        for (&slot, &n) in self.inputs.iter().zip(&self.input_lens) {
            let out = &mut grad[at..at + n];
            match self.widths[slot] {
                Some(w) => {
                    for share in &self.shares {
                        let part = &mut out[share.start * w..(share.start + share.rows) * w];
                        for (o, &g) in part.iter_mut().zip(&share.input_grads[slot]) {
                            *o = f64::from(g);
                        }
                    }
                }
                None => {
                    for (o, &g) in out.iter_mut().zip(&self.global_grads[slot]) {
                        *o = f64::from(g);
                    }
                }
            }
            at += n;
        }
    }
}

/// The reverse pass of global instructions, in reverse order.
fn backward_global(instrs: &[Instr], values: &[Vec<f32>], grads: &mut [Vec<f32>], varies: &[bool]) {
    for instr in instrs.iter().rev() {
        if !instr.differentiable() {
            continue;
        }
        let out = instr.out();
        let g = std::mem::take(&mut grads[out]);
        instr.backward(&g, values, grads, varies);
        grads[out] = g;
    }
}
