//! The tape's instructions: what each does forward, and what it hands back to its operands in
//! the reverse pass.
//!
//! Every instruction reads slots written before it and writes one slot of its own (the graph is
//! in single-assignment form), so the forward pass is one walk and the reverse pass the same
//! walk backwards, each instruction adding `d out / d operand` times the output's adjoint into
//! the operands that depend on the inputs.

use crate::kernels::{self, adjoint1, adjoint2, map1, map2};
use crate::shape::Index;

/// A slot of the tape: one tensor's values, row-major.
pub(crate) type Slot = usize;

/// Elementwise functions of one operand.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Unary {
    Exp,
    Log,
    Log1p,
    Sqrt,
    Tanh,
    Neg,
    Abs,
    Recip,
    Sin,
    Cos,
    Sigmoid,
    LogSigmoid,
    Relu,
    /// A step function (floor, ceil, round, trunc, sign): zero gradient.
    Step(fn(f64) -> f64),
}

impl Unary {
    /// `out[i] = f(x[i])`.
    fn apply(self, out: &mut [f64], x: &[f64]) {
        match self {
            Self::Exp => map1(out, x, f64::exp),
            Self::Log => map1(out, x, f64::ln),
            Self::Log1p => map1(out, x, f64::ln_1p),
            Self::Sqrt => map1(out, x, f64::sqrt),
            Self::Tanh => map1(out, x, f64::tanh),
            Self::Neg => map1(out, x, |x| -x),
            Self::Abs => map1(out, x, f64::abs),
            Self::Recip => map1(out, x, |x| 1.0 / x),
            Self::Sin => map1(out, x, f64::sin),
            Self::Cos => map1(out, x, f64::cos),
            Self::Sigmoid => map1(out, x, sigmoid),
            // -softplus(-x), stable on both sides.
            Self::LogSigmoid => map1(out, x, |x| -((-x.abs()).exp().ln_1p() + (-x).max(0.0))),
            Self::Relu => map1(out, x, |x| x.max(0.0)),
            Self::Step(f) => map1(out, x, f),
        }
    }

    /// `gx[i] += g[i] f'(x[i])`, `y` the output.
    fn adjoint(self, gx: &mut [f64], g: &[f64], x: &[f64], y: &[f64]) {
        match self {
            Self::Exp => adjoint1(gx, g, x, y, |_, y| y),
            Self::Log => adjoint1(gx, g, x, y, |x, _| 1.0 / x),
            Self::Log1p => adjoint1(gx, g, x, y, |x, _| 1.0 / (1.0 + x)),
            Self::Sqrt => adjoint1(gx, g, x, y, |_, y| 0.5 / y),
            Self::Tanh => adjoint1(gx, g, x, y, |_, y| 1.0 - y * y),
            Self::Neg => adjoint1(gx, g, x, y, |_, _| -1.0),
            Self::Abs => adjoint1(gx, g, x, y, |x, _| sign(x)),
            Self::Recip => adjoint1(gx, g, x, y, |_, y| -y * y),
            Self::Sin => adjoint1(gx, g, x, y, |x, _| x.cos()),
            Self::Cos => adjoint1(gx, g, x, y, |x, _| -x.sin()),
            Self::Sigmoid => adjoint1(gx, g, x, y, |_, y| y * (1.0 - y)),
            // d/dx log sigmoid(x) = sigmoid(-x) = 1 - exp(y).
            Self::LogSigmoid => adjoint1(gx, g, x, y, |_, y| -y.exp_m1()),
            Self::Relu => adjoint1(gx, g, x, y, |x, _| f64::from(u8::from(x > 0.0))),
            Self::Step(_) => {}
        }
    }
}

/// `-1`, `0` or `1` (`f64::signum` gives `1` at `0`).
pub(crate) fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// A tensor and a constant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum WithScalar {
    Add(f64),
    /// `x - c`.
    Sub(f64),
    Mul(f64),
    /// `x / c`.
    Div(f64),
    /// `x ^ c`.
    Pow(f64),
    /// `clamp(x, lo, hi)`; the gradient passes where `lo <= x <= hi`, as burn's.
    Clamp(f64, f64),
}

impl WithScalar {
    /// `out[i] = x[i] op c`.
    fn apply(self, out: &mut [f64], x: &[f64]) {
        match self {
            Self::Add(c) => map1(out, x, |x| x + c),
            Self::Sub(c) => map1(out, x, |x| x - c),
            Self::Mul(c) => map1(out, x, |x| x * c),
            Self::Div(c) => map1(out, x, |x| x / c),
            Self::Pow(2.0) => map1(out, x, |x| x * x),
            Self::Pow(c) => map1(out, x, |x| pow(x, c)),
            Self::Clamp(lo, hi) => map1(out, x, |x| x.max(lo).min(hi)),
        }
    }

    /// `gx[i] += g[i] d(x[i] op c)/dx`.
    fn adjoint(self, gx: &mut [f64], g: &[f64], x: &[f64], y: &[f64]) {
        match self {
            Self::Add(_) | Self::Sub(_) => adjoint1(gx, g, x, y, |_, _| 1.0),
            Self::Mul(c) => adjoint1(gx, g, x, y, |_, _| c),
            Self::Div(c) => adjoint1(gx, g, x, y, |_, _| 1.0 / c),
            Self::Pow(2.0) => adjoint1(gx, g, x, y, |x, _| 2.0 * x),
            Self::Pow(c) => adjoint1(gx, g, x, y, |x, _| c * pow(x, c - 1.0)),
            Self::Clamp(lo, hi) => {
                adjoint1(gx, g, x, y, |x, _| f64::from(u8::from(x >= lo && x <= hi)))
            }
        }
    }
}

/// `x ^ c`, with the integer powers exact (`x^2` is `x * x`).
fn pow(x: f64, c: f64) -> f64 {
    if c == 2.0 {
        x * x
    } else if c == 1.0 {
        x
    } else if c == 0.0 {
        1.0
    } else if c.fract() == 0.0 && c.abs() < 64.0 {
        x.powi(c as i32)
    } else {
        x.powf(c)
    }
}

/// An operand's values and how the output reads them.
type Operand<'a> = (&'a [f64], &'a Index);

/// Elementwise functions of two operands (broadcast).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

impl Binary {
    /// `out[i] = a[ia(i)] op b[ib(i)]`.
    fn apply(self, out: &mut [f64], a: Operand<'_>, b: Operand<'_>) {
        match self {
            Self::Add => map2(out, a, b, |x, y| x + y),
            Self::Sub => map2(out, a, b, |x, y| x - y),
            Self::Mul => map2(out, a, b, |x, y| x * y),
            Self::Div => map2(out, a, b, |x, y| x / y),
            Self::Pow => map2(out, a, b, pow),
        }
    }

    /// Adds the adjoint of operand `a` (when `target_is_a`) or `b` into `gt`.
    fn adjoint(
        self,
        gt: &mut [f64],
        target_is_a: bool,
        g: &[f64],
        (a, b): (Operand<'_>, Operand<'_>),
        y: &[f64],
    ) {
        let t = target_is_a;
        match (self, t) {
            (Self::Add, _) => adjoint2(gt, t, g, a, b, y, |_, _, _| 1.0),
            (Self::Sub, true) => adjoint2(gt, t, g, a, b, y, |_, _, _| 1.0),
            (Self::Sub, false) => adjoint2(gt, t, g, a, b, y, |_, _, _| -1.0),
            (Self::Mul, true) => adjoint2(gt, t, g, a, b, y, |_, z, _| z),
            (Self::Mul, false) => adjoint2(gt, t, g, a, b, y, |x, _, _| x),
            (Self::Div, true) => adjoint2(gt, t, g, a, b, y, |_, z, _| 1.0 / z),
            (Self::Div, false) => adjoint2(gt, t, g, a, b, y, |_, z, y| -y / z),
            (Self::Pow, true) => adjoint2(gt, t, g, a, b, y, |x, z, _| z * pow(x, z - 1.0)),
            (Self::Pow, false) => {
                adjoint2(
                    gt,
                    t,
                    g,
                    a,
                    b,
                    y,
                    |x, _, y| {
                        if x > 0.0 { y * x.ln() } else { 0.0 }
                    },
                )
            }
        }
    }
}

/// Comparisons; their outputs are masks (1 or 0) and carry no gradient.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Compare {
    Greater,
    GreaterEqual,
    Lower,
    LowerEqual,
    Equal,
    NotEqual,
    /// Boolean and (masks).
    And,
    /// Boolean or (masks).
    Or,
}

impl Compare {
    fn value(self, a: f64, b: f64) -> f64 {
        let t = match self {
            Self::Greater => a > b,
            Self::GreaterEqual => a >= b,
            Self::Lower => a < b,
            Self::LowerEqual => a <= b,
            Self::Equal => a == b,
            Self::NotEqual => a != b,
            Self::And => a != 0.0 && b != 0.0,
            Self::Or => a != 0.0 || b != 0.0,
        };
        f64::from(u8::from(t))
    }
}

/// Reductions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Reduce {
    Sum,
    Mean,
    Max,
    Min,
}

/// The shape of a (batched) matrix product: `batch` products `[m, k] x [k, n]` one after the
/// other, an operand with batch 1 shared by all.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Product {
    pub(crate) m: usize,
    pub(crate) k: usize,
    pub(crate) n: usize,
    pub(crate) batch: usize,
    pub(crate) a_batched: bool,
    pub(crate) b_batched: bool,
}

impl Product {
    /// Where product `t`'s operands and output start in their buffers.
    fn offsets(&self, t: usize) -> (usize, usize, usize) {
        let (m, k, n) = (self.m, self.k, self.n);
        (
            if self.a_batched { t * m * k } else { 0 },
            if self.b_batched { t * k * n } else { 0 },
            t * m * n,
        )
    }
}

/// One instruction. `out` is always a slot of its own.
#[derive(Clone, Debug)]
pub(crate) enum Instr {
    Unary {
        f: Unary,
        x: Slot,
        out: Slot,
    },
    WithScalar {
        f: WithScalar,
        x: Slot,
        out: Slot,
    },
    Binary {
        f: Binary,
        a: (Slot, Index),
        b: (Slot, Index),
        out: Slot,
    },
    Compare {
        f: Compare,
        a: (Slot, Index),
        b: (Slot, Index),
        out: Slot,
    },
    /// `c` compared with a tensor's elements (`x > c`, ...).
    CompareScalar {
        f: Compare,
        x: Slot,
        c: f64,
        out: Slot,
    },
    /// `1 - mask`.
    Not {
        x: Slot,
        out: Slot,
    },
    /// `mask ? value : x`.
    MaskFill {
        x: (Slot, Index),
        mask: (Slot, Index),
        value: f64,
        out: Slot,
    },
    /// `mask ? value : x`, `value` a tensor.
    MaskWhere {
        x: (Slot, Index),
        mask: (Slot, Index),
        value: (Slot, Index),
        out: Slot,
    },
    /// `out[i] = x[map[i]]`: a copy, broadcast, permutation, slice or tiling.
    Gather {
        x: (Slot, Index),
        out: Slot,
    },
    /// Each part's element `j` goes to `out[map[j]]`.
    Cat {
        parts: Vec<(Slot, Vec<u32>)>,
        out: Slot,
    },
    /// A reduction of `x` into `out`: element `i` of `x` into `out[map[i]]` (`Index::One` for
    /// every element into one). `count` is the number of elements each output reduces (for
    /// the mean); `arg` keeps, for max and min, which input element each output took.
    Reduce {
        f: Reduce,
        x: Slot,
        map: Index,
        count: usize,
        arg: Vec<u32>,
        out: Slot,
    },
    /// A running sum along an axis: `lines` is `[outer, len, inner]` of the shape around it.
    CumSum {
        x: Slot,
        lines: [usize; 3],
        out: Slot,
    },
    /// `softmax` (or `log_softmax` when `log`) along an axis, `lines` as for [`Instr::CumSum`].
    Softmax {
        log: bool,
        x: Slot,
        lines: [usize; 3],
        out: Slot,
    },
    /// `out[.., m, n] = a[.., m, k] b[.., k, n]`.
    Matmul {
        a: Slot,
        b: Slot,
        out: Slot,
        dims: Product,
    },
}

impl Instr {
    /// The slot it writes.
    pub(crate) fn out(&self) -> Slot {
        match self {
            Self::Unary { out, .. }
            | Self::WithScalar { out, .. }
            | Self::Binary { out, .. }
            | Self::Compare { out, .. }
            | Self::CompareScalar { out, .. }
            | Self::Not { out, .. }
            | Self::MaskFill { out, .. }
            | Self::MaskWhere { out, .. }
            | Self::Gather { out, .. }
            | Self::Cat { out, .. }
            | Self::Reduce { out, .. }
            | Self::CumSum { out, .. }
            | Self::Softmax { out, .. }
            | Self::Matmul { out, .. } => *out,
        }
    }

    /// The slots it reads.
    pub(crate) fn operands(&self) -> Vec<Slot> {
        match self {
            Self::Unary { x, .. }
            | Self::WithScalar { x, .. }
            | Self::CompareScalar { x, .. }
            | Self::Not { x, .. }
            | Self::Reduce { x, .. }
            | Self::CumSum { x, .. }
            | Self::Softmax { x, .. } => vec![*x],
            Self::Gather { x, .. } => vec![x.0],
            Self::Binary { a, b, .. } | Self::Compare { a, b, .. } => vec![a.0, b.0],
            Self::MaskFill { x, mask, .. } => vec![x.0, mask.0],
            Self::MaskWhere { x, mask, value, .. } => vec![x.0, mask.0, value.0],
            Self::Cat { parts, .. } => parts.iter().map(|p| p.0).collect(),
            Self::Matmul { a, b, .. } => vec![*a, *b],
        }
    }

    /// Whether its output carries a gradient (masks do not).
    pub(crate) fn differentiable(&self) -> bool {
        !matches!(
            self,
            Self::Compare { .. } | Self::CompareScalar { .. } | Self::Not { .. }
        )
    }

    /// Computes `values[out]` from its operands.
    pub(crate) fn forward(&mut self, values: &mut [Vec<f64>]) {
        let out_slot = self.out();
        let mut out = std::mem::take(&mut values[out_slot]);
        let v = &*values;
        match self {
            Self::Unary { f, x, .. } => f.apply(&mut out, &v[*x]),
            Self::WithScalar { f, x, .. } => f.apply(&mut out, &v[*x]),
            Self::Binary { f, a, b, .. } => f.apply(&mut out, (&v[a.0], &a.1), (&v[b.0], &b.1)),
            Self::Compare { f, a, b, .. } => {
                let (va, vb) = (&v[a.0], &v[b.0]);
                for (i, o) in out.iter_mut().enumerate() {
                    *o = f.value(va[a.1.at(i)], vb[b.1.at(i)]);
                }
            }
            Self::CompareScalar { f, x, c, .. } => {
                for (o, &x) in out.iter_mut().zip(&v[*x]) {
                    *o = f.value(x, *c);
                }
            }
            Self::Not { x, .. } => {
                for (o, &x) in out.iter_mut().zip(&v[*x]) {
                    *o = f64::from(u8::from(x == 0.0));
                }
            }
            Self::MaskFill { x, mask, value, .. } => {
                let (vx, vm) = (&v[x.0], &v[mask.0]);
                for (i, o) in out.iter_mut().enumerate() {
                    *o = if vm[mask.1.at(i)] != 0.0 {
                        *value
                    } else {
                        vx[x.1.at(i)]
                    };
                }
            }
            Self::MaskWhere { x, mask, value, .. } => {
                let (vx, vm, vv) = (&v[x.0], &v[mask.0], &v[value.0]);
                for (i, o) in out.iter_mut().enumerate() {
                    *o = if vm[mask.1.at(i)] != 0.0 {
                        vv[value.1.at(i)]
                    } else {
                        vx[x.1.at(i)]
                    };
                }
            }
            Self::Gather { x, .. } => {
                let vx = &v[x.0];
                match &x.1 {
                    Index::Same => out.copy_from_slice(vx),
                    idx => {
                        for (i, o) in out.iter_mut().enumerate() {
                            *o = vx[idx.at(i)];
                        }
                    }
                }
            }
            Self::Cat { parts, .. } => {
                for (slot, map) in parts.iter() {
                    for (&x, &j) in v[*slot].iter().zip(map) {
                        out[j as usize] = x;
                    }
                }
            }
            Self::Reduce {
                f,
                x,
                map,
                count,
                arg,
                ..
            } => {
                let vx = &v[*x];
                match f {
                    Reduce::Sum | Reduce::Mean => {
                        out.fill(0.0);
                        match map {
                            Index::One => out[0] = kernels::sum(vx),
                            Index::Same => out.copy_from_slice(vx),
                            m => {
                                for (i, &x) in vx.iter().enumerate() {
                                    out[m.at(i)] += x;
                                }
                            }
                        }
                        if *f == Reduce::Mean {
                            let inv = 1.0 / *count as f64;
                            out.iter_mut().for_each(|o| *o *= inv);
                        }
                    }
                    Reduce::Max | Reduce::Min => {
                        let max = *f == Reduce::Max;
                        out.fill(if max {
                            f64::NEG_INFINITY
                        } else {
                            f64::INFINITY
                        });
                        arg.fill(u32::MAX);
                        for (i, &x) in vx.iter().enumerate() {
                            let j = map.at(i);
                            let better = if max { x > out[j] } else { x < out[j] };
                            if better || arg[j] == u32::MAX {
                                out[j] = x;
                                arg[j] = i as u32;
                            }
                        }
                    }
                }
            }
            Self::Softmax { log, x, lines, .. } => {
                let vx = &v[*x];
                let [outer, len, inner] = *lines;
                for o in 0..outer {
                    for j in 0..inner {
                        let at = |i: usize| (o * len + i) * inner + j;
                        let max = (0..len).fold(f64::NEG_INFINITY, |m, i| m.max(vx[at(i)]));
                        let sum: f64 = (0..len).map(|i| (vx[at(i)] - max).exp()).sum();
                        let lse = max + sum.ln();
                        for i in 0..len {
                            let ls = vx[at(i)] - lse;
                            out[at(i)] = if *log { ls } else { ls.exp() };
                        }
                    }
                }
            }
            Self::CumSum { x, lines, .. } => {
                let vx = &v[*x];
                let [outer, len, inner] = *lines;
                for o in 0..outer {
                    for j in 0..inner {
                        let mut acc = 0.0;
                        for i in 0..len {
                            let at = (o * len + i) * inner + j;
                            acc += vx[at];
                            out[at] = acc;
                        }
                    }
                }
            }
            Self::Matmul { a, b, dims, .. } => {
                let Product { m, k, n, .. } = *dims;
                for t in 0..dims.batch {
                    let (sa, sb, so) = dims.offsets(t);
                    let o = &mut out[so..][..m * n];
                    kernels::matmul(&v[*a][sa..][..m * k], &v[*b][sb..][..k * n], o, m, k, n);
                }
            }
        }
        values[out_slot] = out;
    }

    /// Adds this instruction's share of the gradient into `grads` of its operands that
    /// `varies` marks, from the adjoint of its output, `g`.
    pub(crate) fn backward(
        &self,
        g: &[f64],
        values: &[Vec<f64>],
        grads: &mut [Vec<f64>],
        varies: &[bool],
    ) {
        let y = &values[self.out()];
        match self {
            Self::Unary { f, x, .. } => {
                if varies[*x] {
                    f.adjoint(&mut grads[*x], g, &values[*x], y);
                }
            }
            Self::WithScalar { f, x, .. } => {
                if varies[*x] {
                    f.adjoint(&mut grads[*x], g, &values[*x], y);
                }
            }
            Self::Binary { f, a, b, .. } => {
                let operands = ((&values[a.0][..], &a.1), (&values[b.0][..], &b.1));
                if varies[a.0] {
                    f.adjoint(&mut grads[a.0], true, g, operands, y);
                }
                if varies[b.0] {
                    f.adjoint(&mut grads[b.0], false, g, operands, y);
                }
            }
            Self::Compare { .. } | Self::CompareScalar { .. } | Self::Not { .. } => {}
            Self::MaskFill { x, mask, .. } => {
                if varies[x.0] {
                    let vm = &values[mask.0];
                    let gx = &mut grads[x.0];
                    for (i, &g) in g.iter().enumerate() {
                        if vm[mask.1.at(i)] == 0.0 {
                            gx[x.1.at(i)] += g;
                        }
                    }
                }
            }
            Self::MaskWhere { x, mask, value, .. } => {
                let vm = &values[mask.0];
                for (target, taken) in [(x, false), (value, true)] {
                    if varies[target.0] {
                        let gt = &mut grads[target.0];
                        for (i, &g) in g.iter().enumerate() {
                            if (vm[mask.1.at(i)] != 0.0) == taken {
                                gt[target.1.at(i)] += g;
                            }
                        }
                    }
                }
            }
            Self::Gather { x, .. } => {
                if varies[x.0] {
                    let gx = &mut grads[x.0];
                    for (i, &g) in g.iter().enumerate() {
                        gx[x.1.at(i)] += g;
                    }
                }
            }
            Self::Cat { parts, .. } => {
                for (slot, map) in parts {
                    if varies[*slot] {
                        for (gx, &j) in grads[*slot].iter_mut().zip(map) {
                            *gx += g[j as usize];
                        }
                    }
                }
            }
            Self::Reduce {
                f,
                x,
                map,
                count,
                arg,
                ..
            } => {
                if varies[*x] {
                    let gx = &mut grads[*x];
                    match f {
                        Reduce::Sum | Reduce::Mean => {
                            let scale = if *f == Reduce::Mean {
                                1.0 / *count as f64
                            } else {
                                1.0
                            };
                            for (i, gx) in gx.iter_mut().enumerate() {
                                *gx += g[map.at(i)] * scale;
                            }
                        }
                        Reduce::Max | Reduce::Min => {
                            for (j, &i) in arg.iter().enumerate() {
                                gx[i as usize] += g[j];
                            }
                        }
                    }
                }
            }
            Self::Softmax { log, x, lines, .. } => {
                // log_softmax: gx = g - softmax * sum(g); softmax: gx = y (g - sum(g y)).
                if varies[*x] {
                    let gx = &mut grads[*x];
                    let [outer, len, inner] = *lines;
                    for o in 0..outer {
                        for j in 0..inner {
                            let at = |i: usize| (o * len + i) * inner + j;
                            if *log {
                                let total: f64 = (0..len).map(|i| g[at(i)]).sum();
                                for i in 0..len {
                                    gx[at(i)] += g[at(i)] - y[at(i)].exp() * total;
                                }
                            } else {
                                let dot: f64 = (0..len).map(|i| g[at(i)] * y[at(i)]).sum();
                                for i in 0..len {
                                    gx[at(i)] += y[at(i)] * (g[at(i)] - dot);
                                }
                            }
                        }
                    }
                }
            }
            Self::CumSum { x, lines, .. } => {
                // The adjoint of a running sum is the running sum from the end.
                if varies[*x] {
                    let gx = &mut grads[*x];
                    let [outer, len, inner] = *lines;
                    for o in 0..outer {
                        for j in 0..inner {
                            let mut acc = 0.0;
                            for i in (0..len).rev() {
                                let at = (o * len + i) * inner + j;
                                acc += g[at];
                                gx[at] += acc;
                            }
                        }
                    }
                }
            }
            Self::Matmul { a, b, dims, .. } => {
                let Product { m, k, n, .. } = *dims;
                for t in 0..dims.batch {
                    let (sa, sb, so) = dims.offsets(t);
                    let go = &g[so..][..m * n];
                    if varies[*a] {
                        let vb = &values[*b][sb..][..k * n];
                        kernels::matmul_adjoint_a(&mut grads[*a][sa..][..m * k], go, vb, m, k, n);
                    }
                    if varies[*b] {
                        let va = &values[*a][sa..][..m * k];
                        kernels::matmul_adjoint_b(&mut grads[*b][sb..][..k * n], go, va, m, k, n);
                    }
                }
            }
        }
    }
}
