//! One block of rows: its share of every row tensor, and the row instructions run forward and
//! backward on it, with the same loops as the whole-tensor tape (`kernels.rs`), over the block
//! at once where the operands allow it and row by row where they are read through a map.

use crate::instr::Reduce;
use crate::kernels;
use crate::real::Real;
use crate::rows::dense::{self, Scratch};
use crate::rows::plan::{Access, Op, Step};
use crate::shape::Index;

/// A thread's buffers for the block it runs: the block's rows of each computed row tensor
/// (`values`) and of the gradients of those that carry one (`grads`), which element each
/// row's maximum or minimum took (`args`, per step), and the products' scratch. Sized for the
/// largest block; a block uses its first rows.
#[derive(Clone, Debug, Default)]
pub(crate) struct Workspace {
    pub(crate) values: Vec<Vec<f32>>,
    pub(crate) grads: Vec<Vec<f32>>,
    pub(crate) args: Vec<Vec<u32>>,
    pub(crate) scratch: Scratch,
    /// Operands expanded to a block of the output's shape, and an adjoint before it is folded
    /// back.
    pub(crate) bufs: [Vec<f32>; 4],
}

/// What a block leaves for the sums over the blocks: its rows' partial sums (`sums`, by the
/// global slot they go to), its share of the gradients of the global tensors its rows read
/// (`global_grads`), and the gradients of its rows of the row inputs (`input_grads`).
#[derive(Clone, Debug)]
pub(crate) struct Share {
    /// Its first row.
    pub(crate) start: usize,
    /// How many rows.
    pub(crate) rows: usize,
    pub(crate) sums: Vec<Vec<f32>>,
    pub(crate) global_grads: Vec<Vec<f32>>,
    pub(crate) input_grads: Vec<Vec<f32>>,
}

/// A block's rows of the row tensors: the data and the row inputs from their whole tensors
/// (`data`), the rest from the thread's workspace (`computed`).
#[derive(Clone, Copy)]
pub(crate) struct Rows<'a> {
    pub(crate) computed: &'a [Vec<f32>],
    pub(crate) data: &'a [Vec<f32>],
    pub(crate) widths: &'a [Option<usize>],
    pub(crate) start: usize,
    pub(crate) rows: usize,
}

impl<'a> Rows<'a> {
    /// Block `share`'s rows, the computed ones in `computed` (a workspace's values).
    pub(crate) fn new(computed: &'a [Vec<f32>], shared: &Shared<'a>, share: &Share) -> Self {
        Self {
            computed,
            data: shared.data,
            widths: shared.widths,
            start: share.start,
            rows: share.rows,
        }
    }

    /// The block's rows of row slot `slot`.
    #[inline]
    pub(crate) fn of(&self, slot: usize) -> &'a [f32] {
        let w = self.widths[slot].unwrap_or(0);
        if self.data[slot].is_empty() {
            &self.computed[slot][..self.rows * w]
        } else {
            &self.data[slot][self.start * w..(self.start + self.rows) * w]
        }
    }
}

type Operand<'a> = (&'a [f32], &'a Index);

/// Whether an access reads each row's part as a whole row (a window of the output's width,
/// or one value), so that it can be expanded into a block of the output's shape.
fn expandable(a: &Access, width: usize) -> bool {
    match a.index {
        Index::Same => a.len == width,
        Index::One => a.len == 1,
        Index::Map(_) => false,
    }
}

/// `a`'s parts, row by row, in `buf` as a block of `rows` rows of `width` (a broadcast value
/// repeated along its row).
fn expand(a: &Access, base: &[f32], (rows, width): (usize, usize), buf: &mut Vec<f32>) {
    buf.clear();
    buf.reserve(rows * width);
    for r in 0..rows {
        let part = a.row_part(base, r);
        if part.len() == width {
            buf.extend_from_slice(part);
        } else {
            buf.resize(buf.len() + width, part[0]);
        }
    }
}

/// The index every element reads as its own.
const SAME: &Index = &Index::Same;

/// `a` read flat, or its expansion in `buf`.
fn flat_or<'a>(
    a: &'a Access,
    buf: &'a [f32],
    (rows, globals): (&Rows<'a>, &'a [Vec<f32>]),
    width: usize,
) -> Operand<'a> {
    if a.flat(width) {
        (a.whole(rows, globals), &a.index)
    } else {
        (buf, SAME)
    }
}

/// Runs `f` on the whole block: each operand read flat, or expanded to the output's shape
/// first (a bias, a value per row), or, for an operand read through a map, row by row.
fn by_rows<const N: usize>(
    args: [&Access; N],
    width: usize,
    out: &mut [f32],
    (rows, globals): (&Rows<'_>, &[Vec<f32>]),
    bufs: &mut [Vec<f32>; 4],
    f: impl Fn(&mut [f32], [Operand<'_>; N]),
) {
    if args.iter().all(|a| a.flat(width)) {
        f(out, args.map(|a| (a.whole(rows, globals), &a.index)));
        return;
    }
    let bases = args.map(|a| a.base(rows, globals));
    if args.iter().all(|a| a.flat(width) || expandable(a, width)) {
        let n = out.len() / width.max(1);
        for (j, a) in args.iter().enumerate() {
            if !a.flat(width) {
                expand(a, bases[j], (n, width), &mut bufs[j]);
            }
        }
        let ops = std::array::from_fn(|j| flat_or(args[j], &bufs[j], (rows, globals), width));
        f(out, ops);
        return;
    }
    // Each operand's block (or global) slice once; row by row only the offsets.
    for (r, o) in out.chunks_exact_mut(width).enumerate() {
        f(
            o,
            std::array::from_fn(|j| (args[j].row_part(bases[j], r), &args[j].index)),
        );
    }
}

/// The gradient buffer of an operand (its block rows, or the block's share of a global's),
/// cut to the block's rows.
fn target<'a>(
    a: &Access,
    grads: &'a mut [Vec<f32>],
    global_grads: &'a mut [Vec<f32>],
    rows: usize,
) -> &'a mut [f32] {
    if a.row {
        &mut grads[a.slot][..rows * a.width]
    } else {
        &mut global_grads[a.slot]
    }
}

/// The part of a gradient buffer that row `r` (or a flat block) of the output adds into.
fn target_part<'a>(a: &Access, buf: &'a mut [f32], r: Option<usize>) -> &'a mut [f32] {
    match (a.row, r) {
        (true, None) => buf,
        (true, Some(r)) => &mut buf[r * a.width + a.offset..][..a.len],
        (false, _) => &mut buf[a.offset..][..a.len],
    }
}

/// The tape's whole tensors that a block reads: the global values, the data rows and row
/// inputs, each slot's width, and which slots carry a gradient.
#[derive(Clone, Copy)]
pub(crate) struct Shared<'a> {
    pub(crate) globals: &'a [Vec<f32>],
    pub(crate) data: &'a [Vec<f32>],
    pub(crate) widths: &'a [Option<usize>],
    pub(crate) varies: &'a [bool],
}

impl Workspace {
    /// Runs the body forward on the block `share`; the sums over its rows go to `share`.
    pub(crate) fn forward(&mut self, body: &[Step], shared: &Shared<'_>, share: &mut Share) {
        for (i, step) in body.iter().enumerate() {
            self.forward_step(i, step, shared, share);
        }
    }

    /// Runs the body forward, then backward, on the block `share`, the outputs' adjoints of
    /// the sums over the rows in `adjoints`.
    pub(crate) fn forward_backward(
        &mut self,
        body: &[Step],
        shared: &Shared<'_>,
        adjoints: &[Vec<f32>],
        share: &mut Share,
    ) {
        self.forward(body, shared, share);
        for (slot, g) in self.grads.iter_mut().enumerate() {
            if let (Some(w), false) = (shared.widths[slot], g.is_empty()) {
                g[..share.rows * w].fill(0.0);
            }
        }
        for g in &mut share.global_grads {
            g.fill(0.0);
        }
        for (i, step) in body.iter().enumerate().rev() {
            self.backward_step(i, step, shared, adjoints, share);
        }
        for (slot, out) in share.input_grads.iter_mut().enumerate() {
            if !out.is_empty() {
                let n = out.len();
                out.copy_from_slice(&self.grads[slot][..n]);
            }
        }
    }

    /// Step `i` forward, compiled for the CPU's vector unit (the kernels are inlined into it).
    fn forward_step(&mut self, i: usize, step: &Step, shared: &Shared<'_>, share: &mut Share) {
        kernels::vectorized(Forward {
            ws: self,
            i,
            step,
            shared,
            share,
        });
    }

    /// Step `i` backward, as [`Workspace::forward_step`].
    fn backward_step(
        &mut self,
        i: usize,
        step: &Step,
        shared: &Shared<'_>,
        adjoints: &[Vec<f32>],
        share: &mut Share,
    ) {
        kernels::vectorized(Backward {
            ws: self,
            i,
            step,
            shared,
            adjoints,
            share,
        });
    }

    #[inline(always)]
    fn forward_body(&mut self, i: usize, step: &Step, shared: &Shared<'_>, share: &mut Share) {
        let (n, w, globals) = (share.rows, step.width, shared.globals);
        if let Op::Reduce { cross: true, .. } = step.op {
            let x = &step.args[0];
            let xs = Rows::new(&self.values, shared, share).of(x.slot);
            let part = &mut share.sums[step.out];
            match &x.index {
                Index::One => part[0] = kernels::sum(xs),
                map => {
                    part.fill(0.0);
                    for row in xs.chunks_exact(x.width) {
                        for (c, &v) in row.iter().enumerate() {
                            part[map.at(c)] += v;
                        }
                    }
                }
            }
            return;
        }
        let mut out_buf = std::mem::take(&mut self.values[step.out]);
        let mut arg = std::mem::take(&mut self.args[i]);
        let out = &mut out_buf[..n * w];
        let rows = Rows::new(&self.values, shared, share);
        let v = |slot: usize| rows.of(slot);
        let ctx = (&rows, globals);
        let a = &step.args;
        match &step.op {
            Op::Unary(f) => f.apply(out, v(a[0].slot)),
            Op::WithScalar(f) => f.apply(out, v(a[0].slot)),
            Op::Not => kernels::not(out, v(a[0].slot)),
            Op::CompareScalar(f, c) => kernels::compare(
                *f,
                out,
                (v(a[0].slot), &Index::Same),
                (&[f32::of(*c)], &Index::One),
            ),
            Op::Binary(f) => by_rows([&a[0], &a[1]], w, out, ctx, &mut self.bufs, |o, [x, y]| {
                f.apply(o, x, y);
            }),
            Op::Compare(f) => by_rows([&a[0], &a[1]], w, out, ctx, &mut self.bufs, |o, [x, y]| {
                kernels::compare(*f, o, x, y);
            }),
            Op::MaskFill(value) => {
                let value = [f32::of(*value)];
                by_rows([&a[0], &a[1]], w, out, ctx, &mut self.bufs, |o, [x, m]| {
                    kernels::mask_where(o, x, m, (&value, &Index::One));
                });
            }
            Op::MaskWhere => by_rows(
                [&a[0], &a[1], &a[2]],
                w,
                out,
                ctx,
                &mut self.bufs,
                |o, [x, m, val]| {
                    kernels::mask_where(o, x, m, val);
                },
            ),
            Op::Gather => by_rows([&a[0]], w, out, ctx, &mut self.bufs, |o, [x]| {
                kernels::gather(o, x)
            }),
            Op::Cat(maps) => {
                for (r, o) in out.chunks_exact_mut(w).enumerate() {
                    for (part, map) in a.iter().zip(maps) {
                        kernels::scatter(o, part.part(&rows, globals, r), map);
                    }
                }
            }
            Op::Reduce { f, count, .. } => {
                let x = &a[0];
                let xs = v(x.slot);
                for (r, o) in out.chunks_exact_mut(w).enumerate() {
                    let arg = if matches!(f, Reduce::Max | Reduce::Min) {
                        &mut arg[r * w..][..w]
                    } else {
                        &mut []
                    };
                    let row = &xs[r * x.width..][..x.width];
                    kernels::reduce(*f, o, (row, &x.index), *count, arg);
                }
            }
            Op::Softmax { log, lines } => {
                kernels::softmax(*log, out, v(a[0].slot), block_lines(*lines, n));
            }
            Op::CumSum { lines } => {
                kernels::cumsum(out, v(a[0].slot), block_lines(*lines, n));
            }
            Op::Matmul { k, n: cols, bias } => {
                let m = n * a[0].width / k;
                let (x, wt) = (v(a[0].slot), &globals[a[1].slot]);
                let b = bias.then(|| &globals[a[2].slot][..]);
                dense::matmul(&mut self.scratch, x, wt, b, out, (m, *k, *cols));
            }
        }
        self.values[step.out] = out_buf;
        self.args[i] = arg;
    }

    /// Adds step `i`'s share of the gradient into its operands that carry one: row operands
    /// into the workspace's `grads`, global ones into the block's `global_grads`. The output's
    /// adjoint is the workspace's (a row output) or the global one in `adjoints` (a sum over
    /// the rows).
    #[inline(always)]
    fn backward_body(
        &mut self,
        i: usize,
        step: &Step,
        shared: &Shared<'_>,
        adjoints: &[Vec<f32>],
        share: &mut Share,
    ) {
        let (n, w, globals, varies) = (share.rows, step.width, shared.globals, shared.varies);
        let a = &step.args;
        if let Op::Reduce {
            f,
            count,
            cross: true,
        } = step.op
        {
            let x = &a[0];
            if !varies[x.slot] {
                return;
            }
            let scale = if f == Reduce::Mean {
                1.0 / count as f32
            } else {
                1.0
            };
            let g = &adjoints[step.out];
            let gx = &mut self.grads[x.slot][..n * x.width];
            match &x.index {
                Index::One => {
                    let s = g[0] * scale;
                    gx.iter_mut().for_each(|v| *v += s);
                }
                map => {
                    for row in gx.chunks_exact_mut(x.width) {
                        for (c, v) in row.iter_mut().enumerate() {
                            *v += g[map.at(c)] * scale;
                        }
                    }
                }
            }
            return;
        }
        let g_buf = std::mem::take(&mut self.grads[step.out]);
        let g = &g_buf[..n * w];
        let rows = Rows::new(&self.values, shared, share);
        let v = |slot: usize| rows.of(slot);
        let y = v(step.out);
        let (grads, global_grads) = (&mut self.grads, &mut share.global_grads);
        let scratch = &mut self.scratch;
        let arg = &self.args[i];
        match &step.op {
            Op::Unary(f) => {
                if varies[a[0].slot] {
                    f.adjoint(&mut grads[a[0].slot][..n * w], g, v(a[0].slot), y);
                }
            }
            Op::WithScalar(f) => {
                if varies[a[0].slot] {
                    f.adjoint(&mut grads[a[0].slot][..n * w], g, v(a[0].slot), y);
                }
            }
            Op::Not | Op::CompareScalar(..) | Op::Compare(_) => {}
            Op::Binary(f) => {
                let flat = a[0].flat(w) && a[1].flat(w);
                let expanded = a.iter().all(|x| x.flat(w) || expandable(x, w));
                if !flat && expanded {
                    // Both operands as blocks of the output's shape; the adjoint of an
                    // expanded one is folded back into its row parts.
                    let [b0, b1, tmp, _] = &mut self.bufs;
                    for (x, buf) in [(&a[0], &mut *b0), (&a[1], &mut *b1)] {
                        if !x.flat(w) {
                            expand(x, x.base(&rows, globals), (n, w), buf);
                        }
                    }
                    let ops = (
                        flat_or(&a[0], b0, (&rows, globals), w),
                        flat_or(&a[1], b1, (&rows, globals), w),
                    );
                    for (t, is_a) in [(&a[0], true), (&a[1], false)] {
                        if !varies[t.slot] {
                            continue;
                        }
                        let buf = target(t, grads, global_grads, n);
                        if t.flat(w) {
                            f.adjoint(buf, is_a, g, ops, y);
                            continue;
                        }
                        tmp.clear();
                        tmp.resize(n * w, 0.0);
                        f.adjoint(tmp, is_a, g, ops, y);
                        for (r, row) in tmp.chunks_exact(w).enumerate() {
                            let part = target_part(t, buf, Some(r));
                            if part.len() == w {
                                for (p, &v) in part.iter_mut().zip(row) {
                                    *p += v;
                                }
                            } else {
                                part[0] += kernels::sum(row);
                            }
                        }
                    }
                    self.grads[step.out] = g_buf;
                    return;
                }
                for (t, is_a) in [(&a[0], true), (&a[1], false)] {
                    if !varies[t.slot] {
                        continue;
                    }
                    let buf = target(t, grads, global_grads, n);
                    if flat {
                        let ops = (
                            (a[0].whole(&rows, globals), &a[0].index),
                            (a[1].whole(&rows, globals), &a[1].index),
                        );
                        f.adjoint(target_part(t, buf, None), is_a, g, ops, y);
                        continue;
                    }
                    let bases = [a[0].base(&rows, globals), a[1].base(&rows, globals)];
                    for r in 0..n {
                        let ops = (
                            (a[0].row_part(bases[0], r), &a[0].index),
                            (a[1].row_part(bases[1], r), &a[1].index),
                        );
                        let (gr, yr) = (&g[r * w..][..w], &y[r * w..][..w]);
                        f.adjoint(target_part(t, buf, Some(r)), is_a, gr, ops, yr);
                    }
                }
            }
            Op::MaskFill(_) | Op::MaskWhere => {
                let mask = &a[1];
                let targets: &[(&Access, bool)] = if let Op::MaskWhere = step.op {
                    &[(&a[0], false), (&a[2], true)]
                } else {
                    &[(&a[0], false)]
                };
                let flat = a.iter().all(|x| x.flat(w));
                for &(t, taken) in targets {
                    if !varies[t.slot] {
                        continue;
                    }
                    let buf = target(t, grads, global_grads, n);
                    if flat {
                        let m = (mask.whole(&rows, globals), &mask.index);
                        kernels::mask_adjoint(target_part(t, buf, None), &t.index, g, m, taken);
                        continue;
                    }
                    for r in 0..n {
                        let m = (mask.part(&rows, globals, r), &mask.index);
                        let gt = target_part(t, buf, Some(r));
                        kernels::mask_adjoint(gt, &t.index, &g[r * w..][..w], m, taken);
                    }
                }
            }
            Op::Gather => {
                let t = &a[0];
                if varies[t.slot] {
                    let buf = target(t, grads, global_grads, n);
                    if t.flat(w) {
                        kernels::gather_adjoint(target_part(t, buf, None), &t.index, g);
                    } else {
                        for r in 0..n {
                            let gt = target_part(t, buf, Some(r));
                            kernels::gather_adjoint(gt, &t.index, &g[r * w..][..w]);
                        }
                    }
                }
            }
            Op::Cat(maps) => {
                for (t, map) in a.iter().zip(maps) {
                    if varies[t.slot] {
                        let buf = target(t, grads, global_grads, n);
                        for r in 0..n {
                            let gt = target_part(t, buf, Some(r));
                            kernels::scatter_adjoint(gt, &g[r * w..][..w], map);
                        }
                    }
                }
            }
            Op::Reduce { f, count, .. } => {
                let x = &a[0];
                if varies[x.slot] {
                    let gx = &mut grads[x.slot];
                    for r in 0..n {
                        let arg = if matches!(f, Reduce::Max | Reduce::Min) {
                            &arg[r * w..][..w]
                        } else {
                            &[]
                        };
                        let gxr = &mut gx[r * x.width..][..x.width];
                        kernels::reduce_adjoint(*f, gxr, &x.index, *count, arg, &g[r * w..][..w]);
                    }
                }
            }
            Op::Softmax { log, lines } => {
                if varies[a[0].slot] {
                    let gx = &mut grads[a[0].slot][..n * w];
                    kernels::softmax_adjoint(*log, gx, g, y, block_lines(*lines, n));
                }
            }
            Op::CumSum { lines } => {
                if varies[a[0].slot] {
                    let gx = &mut grads[a[0].slot][..n * w];
                    kernels::cumsum_adjoint(gx, g, block_lines(*lines, n));
                }
            }
            Op::Matmul { k, n: cols, bias } => {
                let (k, cols) = (*k, *cols);
                if *bias && varies[a[2].slot] {
                    let gb = &mut global_grads[a[2].slot];
                    for row in g.chunks_exact(cols) {
                        for (gb, &g) in gb.iter_mut().zip(row) {
                            *gb += g;
                        }
                    }
                }
                let m = n * a[0].width / k;
                let (va, vb) = (v(a[0].slot), &globals[a[1].slot]);
                if varies[a[0].slot] {
                    let ga = &mut grads[a[0].slot][..m * k];
                    dense::adjoint_a(scratch, ga, g, vb, (m, k, cols));
                }
                if varies[a[1].slot] {
                    let gb = &mut global_grads[a[1].slot];
                    dense::adjoint_b(scratch, gb, g, va, (m, k, cols));
                }
            }
        }
        self.grads[step.out] = g_buf;
    }
}

/// [`Workspace::forward_step`]'s task.
struct Forward<'a, 'b> {
    ws: &'a mut Workspace,
    i: usize,
    step: &'a Step,
    shared: &'a Shared<'b>,
    share: &'a mut Share,
}

impl kernels::Vectorized for Forward<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        self.ws
            .forward_body(self.i, self.step, self.shared, self.share);
    }
}

/// [`Workspace::backward_step`]'s task.
struct Backward<'a, 'b> {
    ws: &'a mut Workspace,
    i: usize,
    step: &'a Step,
    shared: &'a Shared<'b>,
    adjoints: &'a [Vec<f32>],
    share: &'a mut Share,
}

impl kernels::Vectorized for Backward<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Self {
            ws,
            i,
            step,
            shared,
            adjoints,
            share,
        } = self;
        ws.backward_body(i, step, shared, adjoints, share);
    }
}

/// `[outer, len, inner]` of a block of `rows` rows from one row's.
fn block_lines([outer, len, inner]: [usize; 3], rows: usize) -> [usize; 3] {
    [outer * rows, len, inner]
}
