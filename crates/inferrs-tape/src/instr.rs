//! The tape's instructions: what each does forward, and what it hands back to its operands in
//! the reverse pass.
//!
//! Every instruction reads slots written before it and writes one slot of its own (the graph is
//! in single-assignment form), so the forward pass is one walk and the reverse pass the same
//! walk backwards, each instruction adding `d out / d operand` times the output's adjoint into
//! the operands that depend on the inputs.

use crate::kernels::{self, adjoint1, adjoint2, map1, map2};
use crate::real::Real;
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
    #[inline(always)]
    pub(crate) fn apply<T: Real>(self, out: &mut [T], x: &[T]) {
        match self {
            Self::Exp => map1(out, x, T::exp),
            Self::Log => map1(out, x, T::ln),
            Self::Log1p => map1(out, x, T::ln_1p),
            Self::Sqrt => map1(out, x, T::sqrt),
            Self::Tanh => map1(out, x, T::tanh),
            Self::Neg => map1(out, x, |x| -x),
            Self::Abs => map1(out, x, T::abs),
            Self::Recip => map1(out, x, |x| T::ONE / x),
            Self::Sin => map1(out, x, T::sin),
            Self::Cos => map1(out, x, T::cos),
            Self::Sigmoid => map1(out, x, T::sigmoid),
            // -softplus(-x), stable on both sides.
            Self::LogSigmoid => map1(out, x, |x| -((-x.abs()).exp().ln_1p() + (-x).max(T::ZERO))),
            Self::Relu => map1(out, x, |x| x.max(T::ZERO)),
            Self::Step(f) => map1(out, x, |x| T::of(f(x.wide()))),
        }
    }

    /// `gx[i] += g[i] f'(x[i])`, `y` the output.
    #[inline(always)]
    pub(crate) fn adjoint<T: Real>(self, gx: &mut [T], g: &[T], x: &[T], y: &[T]) {
        let half = T::of(0.5);
        match self {
            Self::Exp => adjoint1(gx, g, x, y, |_, y| y),
            Self::Log => adjoint1(gx, g, x, y, |x, _| T::ONE / x),
            Self::Log1p => adjoint1(gx, g, x, y, |x, _| T::ONE / (T::ONE + x)),
            Self::Sqrt => adjoint1(gx, g, x, y, |_, y| half / y),
            Self::Tanh => adjoint1(gx, g, x, y, |_, y| T::ONE - y * y),
            Self::Neg => adjoint1(gx, g, x, y, |_, _| -T::ONE),
            Self::Abs => adjoint1(gx, g, x, y, |x, _| sign(x)),
            Self::Recip => adjoint1(gx, g, x, y, |_, y| -y * y),
            Self::Sin => adjoint1(gx, g, x, y, |x, _| x.cos()),
            Self::Cos => adjoint1(gx, g, x, y, |x, _| -x.sin()),
            Self::Sigmoid => adjoint1(gx, g, x, y, |_, y| y * (T::ONE - y)),
            // d/dx log sigmoid(x) = sigmoid(-x).
            Self::LogSigmoid => adjoint1(gx, g, x, y, |x, _| (-x).sigmoid()),
            Self::Relu => adjoint1(gx, g, x, y, |x, _| indicator(x > T::ZERO)),
            Self::Step(_) => {}
        }
    }
}

/// `-1`, `0` or `1` (`f64::signum` gives `1` at `0`).
#[inline(always)]
pub(crate) fn sign<T: Real>(x: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else if x < T::ZERO {
        -T::ONE
    } else {
        T::ZERO
    }
}

/// `1` where `t`, `0` elsewhere.
#[inline(always)]
pub(crate) fn indicator<T: Real>(t: bool) -> T {
    if t { T::ONE } else { T::ZERO }
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
    #[inline(always)]
    pub(crate) fn apply<T: Real>(self, out: &mut [T], x: &[T]) {
        match self {
            Self::Add(c) => map1(out, x, |x| x + T::of(c)),
            Self::Sub(c) => map1(out, x, |x| x - T::of(c)),
            Self::Mul(c) => map1(out, x, |x| x * T::of(c)),
            Self::Div(c) => map1(out, x, |x| x / T::of(c)),
            Self::Pow(2.0) => map1(out, x, |x| x * x),
            Self::Pow(c) => map1(out, x, |x| pow(x, T::of(c))),
            Self::Clamp(lo, hi) => map1(out, x, |x| x.max(T::of(lo)).min(T::of(hi))),
        }
    }

    /// `gx[i] += g[i] d(x[i] op c)/dx`.
    #[inline(always)]
    pub(crate) fn adjoint<T: Real>(self, gx: &mut [T], g: &[T], x: &[T], y: &[T]) {
        match self {
            Self::Add(_) | Self::Sub(_) => adjoint1(gx, g, x, y, |_, _| T::ONE),
            Self::Mul(c) => adjoint1(gx, g, x, y, |_, _| T::of(c)),
            Self::Div(c) => adjoint1(gx, g, x, y, |_, _| T::ONE / T::of(c)),
            Self::Pow(2.0) => adjoint1(gx, g, x, y, |x, _| x + x),
            Self::Pow(c) => adjoint1(gx, g, x, y, |x, _| T::of(c) * pow(x, T::of(c - 1.0))),
            Self::Clamp(lo, hi) => adjoint1(gx, g, x, y, |x, _| {
                indicator(x >= T::of(lo) && x <= T::of(hi))
            }),
        }
    }
}

/// `x ^ c`, with the integer powers exact (`x^2` is `x * x`).
#[inline(always)]
fn pow<T: Real>(x: T, c: T) -> T {
    let w = c.wide();
    if w == 2.0 {
        x * x
    } else if w == 1.0 {
        x
    } else if w == 0.0 {
        T::ONE
    } else if w.fract() == 0.0 && w.abs() < 64.0 {
        x.powi(w as i32)
    } else {
        x.powf(c)
    }
}

/// An operand's values and how the output reads them.
pub(crate) type Operand<'a, T> = (&'a [T], &'a Index);

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
    #[inline(always)]
    pub(crate) fn apply<T: Real>(self, out: &mut [T], a: Operand<'_, T>, b: Operand<'_, T>) {
        match self {
            Self::Add => map2(out, a, b, |x, y| x + y),
            Self::Sub => map2(out, a, b, |x, y| x - y),
            Self::Mul => map2(out, a, b, |x, y| x * y),
            Self::Div => map2(out, a, b, |x, y| x / y),
            Self::Pow => map2(out, a, b, pow),
        }
    }

    /// Adds the adjoint of operand `a` (when `target_is_a`) or `b` into `gt`.
    #[inline(always)]
    pub(crate) fn adjoint<T: Real>(
        self,
        gt: &mut [T],
        target_is_a: bool,
        g: &[T],
        (a, b): (Operand<'_, T>, Operand<'_, T>),
        y: &[T],
    ) {
        let t = target_is_a;
        match (self, t) {
            (Self::Add, _) => adjoint2(gt, t, g, a, b, y, |_, _, _| T::ONE),
            (Self::Sub, true) => adjoint2(gt, t, g, a, b, y, |_, _, _| T::ONE),
            (Self::Sub, false) => adjoint2(gt, t, g, a, b, y, |_, _, _| -T::ONE),
            (Self::Mul, true) => adjoint2(gt, t, g, a, b, y, |_, z, _| z),
            (Self::Mul, false) => adjoint2(gt, t, g, a, b, y, |x, _, _| x),
            (Self::Div, true) => adjoint2(gt, t, g, a, b, y, |_, z, _| T::ONE / z),
            (Self::Div, false) => adjoint2(gt, t, g, a, b, y, |_, z, y| -y / z),
            (Self::Pow, true) => adjoint2(gt, t, g, a, b, y, |x, z, _| z * pow(x, z - T::ONE)),
            (Self::Pow, false) => adjoint2(gt, t, g, a, b, y, |x, _, y| {
                if x > T::ZERO { y * x.ln() } else { T::ZERO }
            }),
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
    #[inline(always)]
    pub(crate) fn value<T: Real>(self, a: T, b: T) -> T {
        let t = match self {
            Self::Greater => a > b,
            Self::GreaterEqual => a >= b,
            Self::Lower => a < b,
            Self::LowerEqual => a <= b,
            Self::Equal => a == b,
            Self::NotEqual => a != b,
            Self::And => a != T::ZERO && b != T::ZERO,
            Self::Or => a != T::ZERO || b != T::ZERO,
        };
        indicator(t)
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

/// An operand's values in `values` and how the output reads them.
fn operand<'a, T>(values: &'a [Vec<T>], (slot, index): &'a (Slot, Index)) -> Operand<'a, T> {
    (&values[*slot][..], index)
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

    /// Computes `values[out]` from its operands, compiled for the CPU's vector unit.
    pub(crate) fn forward<T: Real>(&mut self, values: &mut [Vec<T>]) {
        kernels::vectorized(Forward {
            instr: self,
            values,
        });
    }

    #[inline(always)]
    fn forward_body<T: Real>(&mut self, values: &mut [Vec<T>]) {
        let out_slot = self.out();
        let mut out = std::mem::take(&mut values[out_slot]);
        let v = &*values;
        match self {
            Self::Unary { f, x, .. } => f.apply(&mut out, &v[*x]),
            Self::WithScalar { f, x, .. } => f.apply(&mut out, &v[*x]),
            Self::Binary { f, a, b, .. } => f.apply(&mut out, operand(v, a), operand(v, b)),
            Self::Compare { f, a, b, .. } => {
                kernels::compare(*f, &mut out, operand(v, a), operand(v, b))
            }
            Self::CompareScalar { f, x, c, .. } => {
                kernels::compare(
                    *f,
                    &mut out,
                    (&v[*x], &Index::Same),
                    (&[T::of(*c)], &Index::One),
                );
            }
            Self::Not { x, .. } => kernels::not(&mut out, &v[*x]),
            Self::MaskFill { x, mask, value, .. } => {
                kernels::mask_where(
                    &mut out,
                    operand(v, x),
                    operand(v, mask),
                    (&[T::of(*value)], &Index::One),
                );
            }
            Self::MaskWhere { x, mask, value, .. } => {
                kernels::mask_where(&mut out, operand(v, x), operand(v, mask), operand(v, value));
            }
            Self::Gather { x, .. } => kernels::gather(&mut out, operand(v, x)),
            Self::Cat { parts, .. } => {
                for (slot, map) in parts.iter() {
                    kernels::scatter(&mut out, &v[*slot], map);
                }
            }
            Self::Reduce {
                f,
                x,
                map,
                count,
                arg,
                ..
            } => kernels::reduce(*f, &mut out, (&v[*x], map), *count, arg),
            Self::Softmax { log, x, lines, .. } => {
                kernels::softmax(*log, &mut out, &v[*x], *lines);
            }
            Self::CumSum { x, lines, .. } => kernels::cumsum(&mut out, &v[*x], *lines),
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
    pub(crate) fn backward<T: Real>(
        &self,
        g: &[T],
        values: &[Vec<T>],
        grads: &mut [Vec<T>],
        varies: &[bool],
    ) {
        kernels::vectorized(Backward {
            instr: self,
            g,
            values,
            grads,
            varies,
        });
    }

    #[inline(always)]
    fn backward_body<T: Real>(
        &self,
        g: &[T],
        values: &[Vec<T>],
        grads: &mut [Vec<T>],
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
                if varies[a.0] {
                    f.adjoint(
                        &mut grads[a.0],
                        true,
                        g,
                        (operand(values, a), operand(values, b)),
                        y,
                    );
                }
                if varies[b.0] {
                    f.adjoint(
                        &mut grads[b.0],
                        false,
                        g,
                        (operand(values, a), operand(values, b)),
                        y,
                    );
                }
            }
            Self::Compare { .. } | Self::CompareScalar { .. } | Self::Not { .. } => {}
            Self::MaskFill { x, mask, .. } => {
                if varies[x.0] {
                    kernels::mask_adjoint(&mut grads[x.0], &x.1, g, operand(values, mask), false);
                }
            }
            Self::MaskWhere { x, mask, value, .. } => {
                for (target, taken) in [(x, false), (value, true)] {
                    if varies[target.0] {
                        kernels::mask_adjoint(
                            &mut grads[target.0],
                            &target.1,
                            g,
                            operand(values, mask),
                            taken,
                        );
                    }
                }
            }
            Self::Gather { x, .. } => {
                if varies[x.0] {
                    kernels::gather_adjoint(&mut grads[x.0], &x.1, g);
                }
            }
            Self::Cat { parts, .. } => {
                for (slot, map) in parts {
                    if varies[*slot] {
                        kernels::scatter_adjoint(&mut grads[*slot], g, map);
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
                    kernels::reduce_adjoint(*f, &mut grads[*x], map, *count, arg, g);
                }
            }
            Self::Softmax { log, x, lines, .. } => {
                if varies[*x] {
                    kernels::softmax_adjoint(*log, &mut grads[*x], g, y, *lines);
                }
            }
            Self::CumSum { x, lines, .. } => {
                if varies[*x] {
                    kernels::cumsum_adjoint(&mut grads[*x], g, *lines);
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

/// [`Instr::forward`]'s task.
struct Forward<'a, T> {
    instr: &'a mut Instr,
    values: &'a mut [Vec<T>],
}

impl<T: Real> kernels::Vectorized for Forward<'_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        self.instr.forward_body(self.values);
    }
}

/// [`Instr::backward`]'s task.
struct Backward<'a, T> {
    instr: &'a Instr,
    g: &'a [T],
    values: &'a [Vec<T>],
    grads: &'a mut [Vec<T>],
    varies: &'a [bool],
}

impl<T: Real> kernels::Vectorized for Backward<'_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        self.instr
            .backward_body(self.g, self.values, self.grads, self.varies);
    }
}
