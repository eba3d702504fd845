//! Which of a tape's tensors are per row, and how each instruction reads its operands row by
//! row: the analysis that lets the row-blocked replay run a block of rows at a time.
//!
//! A tensor whose first axis has the data's `n` rows is a *row* tensor, of `width` elements
//! per row; every other tensor is *global* (the parameters, what is computed from them, the
//! sums over the rows). An instruction is run block by block when its output is a row tensor
//! and row `r` of it reads only row `r` of its row operands (and any part of its global ones),
//! which is checked on the index maps of the whole tensors; the sums over the rows (a
//! reduction of a row tensor into a global one) are added up block by block. Global
//! instructions run once, before the blocks (`pre`) or after the sums (`post`). Anything else
//! (a row operand read across rows, a row instruction reading a sum over the rows) refuses
//! the plan, and its caller keeps the whole-tensor `f64` tape or burn's autodiff.

use crate::instr::{Instr, Product, Reduce, Slot};
use crate::rows::block::Rows;
use crate::shape::Index;

/// How a row instruction reads one operand for row `r` of its output.
#[derive(Clone, Debug)]
pub(crate) struct Access {
    /// The operand's slot.
    pub(crate) slot: Slot,
    /// Whether the operand is a row tensor (read at its row `r`) or global (read whole).
    pub(crate) row: bool,
    /// The operand's elements per row (row operands).
    pub(crate) width: usize,
    /// Where the part read starts in the operand's row (or in the global operand).
    pub(crate) offset: usize,
    /// How many elements from `offset` are read.
    pub(crate) len: usize,
    /// How the output row reads the part: the same element, one element for all, or a map.
    pub(crate) index: Index,
}

impl Access {
    /// The operand's own rows, whole, element for element.
    pub(crate) fn same(slot: Slot, width: usize) -> Self {
        Self {
            slot,
            row: true,
            width,
            offset: 0,
            len: width,
            index: Index::Same,
        }
    }

    /// Whether a whole block can be read as one slice (the operand's rows element for element,
    /// or one global value).
    pub(crate) fn flat(&self, out_width: usize) -> bool {
        match self.index {
            Index::Same => self.row && self.width == out_width && self.offset == 0,
            Index::One => !self.row && self.len == 1,
            Index::Map(_) => false,
        }
    }

    /// The part of row `r` (a row operand) or of the global operand that row `r` reads.
    #[inline]
    pub(crate) fn part<'a>(&self, rows: &Rows<'a>, globals: &'a [Vec<f32>], r: usize) -> &'a [f32] {
        self.row_part(self.base(rows, globals), r)
    }

    /// The block's rows of a row operand, or the whole of a global one: what
    /// [`Access::row_part`] cuts row `r`'s part from.
    #[inline(always)]
    pub(crate) fn base<'a>(&self, rows: &Rows<'a>, globals: &'a [Vec<f32>]) -> &'a [f32] {
        if self.row {
            rows.of(self.slot)
        } else {
            &globals[self.slot]
        }
    }

    /// Row `r`'s part of `base` ([`Access::base`]).
    #[inline(always)]
    pub(crate) fn row_part<'a>(&self, base: &'a [f32], r: usize) -> &'a [f32] {
        if self.row {
            &base[r * self.width + self.offset..][..self.len]
        } else {
            &base[self.offset..][..self.len]
        }
    }

    /// What a flat read of a block reads: the block's rows, or the one global value.
    #[inline]
    pub(crate) fn whole<'a>(&self, rows: &Rows<'a>, globals: &'a [Vec<f32>]) -> &'a [f32] {
        if self.row {
            rows.of(self.slot)
        } else {
            &globals[self.slot][self.offset..][..self.len]
        }
    }
}

/// What a row instruction does (its operands are the step's accesses, in this order).
#[derive(Clone, Debug)]
pub(crate) enum Op {
    Unary(crate::instr::Unary),
    WithScalar(crate::instr::WithScalar),
    Binary(crate::instr::Binary),
    Compare(crate::instr::Compare),
    /// `x op c`.
    CompareScalar(crate::instr::Compare, f64),
    Not,
    /// `mask ? value : x` (accesses `x`, `mask`, `value`).
    MaskWhere,
    /// `mask ? value : x` (accesses `x`, `mask`).
    MaskFill(f64),
    Gather,
    /// Each part's row element `j` goes to the output row's element `map[j]`.
    Cat(Vec<Vec<u32>>),
    /// A reduction of each row (`cross` false: into the output's row) or over all rows into a
    /// global output (`cross`: sums and means only); the access's index maps a row's elements
    /// to the output's.
    Reduce {
        f: Reduce,
        count: usize,
        cross: bool,
    },
    /// Along the middle axis of `[outer, len, inner]` per row.
    Softmax {
        log: bool,
        lines: [usize; 3],
    },
    CumSum {
        lines: [usize; 3],
    },
    /// A row operand `[.., k]` times a global `[k, n]`, plus a global bias `[n]` (a third
    /// access) when `bias`: a product and the addition of a bias that only it reads, fused
    /// (every linear layer).
    Matmul {
        k: usize,
        n: usize,
        bias: bool,
    },
}

/// A row instruction.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub(crate) op: Op,
    pub(crate) args: Vec<Access>,
    pub(crate) out: Slot,
    /// The output's elements per row (its length, for a sum over the rows).
    pub(crate) width: usize,
}

/// The plan: the instructions in their three phases, the slots' widths.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Elements per row of each row slot; `None` for a global slot.
    pub(crate) widths: Vec<Option<usize>>,
    /// Global instructions before the blocks.
    pub(crate) pre: Vec<Instr>,
    /// The row instructions and the sums over the rows.
    pub(crate) body: Vec<Step>,
    /// Global instructions after the sums.
    pub(crate) post: Vec<Instr>,
    /// Whether the adjoints of the sums over the rows do not depend on their values (the
    /// arithmetic after them is linear in them, as a bound's is): then they are known before
    /// the rows run, and the rows run once, forward and backward.
    pub(crate) linear: bool,
}

/// Why a tape cannot run by rows.
fn refuse(why: impl Into<String>) -> Result<Plan, String> {
    Err(why.into())
}

/// The access of an operand read through `index` by a row output of `width`, or `None` when
/// row `r` of the output reads more than row `r` of the operand.
fn access(
    slot: Slot,
    index: &Index,
    widths: &[Option<usize>],
    lens: &[usize],
    rows: usize,
    width: usize,
) -> Option<Access> {
    let operand_width = widths[slot];
    let map = match index {
        Index::Same => {
            return operand_width.map(|w| Access::same(slot, w));
        }
        Index::One => {
            return Some(match operand_width {
                Some(w) => Access {
                    slot,
                    row: true,
                    width: w,
                    offset: 0,
                    len: 1,
                    index: Index::One,
                },
                None => Access {
                    slot,
                    row: false,
                    width: 0,
                    offset: 0,
                    len: 1,
                    index: Index::One,
                },
            });
        }
        Index::Map(m) => m,
    };
    if map.len() != rows * width {
        return None;
    }
    let local = &map[..width];
    let stride = operand_width.unwrap_or(0);
    let per_row = (0..rows).all(|r| {
        let at = r * stride;
        map[r * width..][..width]
            .iter()
            .zip(local)
            .all(|(&m, &l)| m as usize == at + l as usize)
    });
    if !per_row
        || local
            .iter()
            .any(|&l| l as usize >= operand_width.unwrap_or(lens[slot]))
    {
        return None;
    }
    Some(narrowed(slot, operand_width, local, lens[slot]))
}

/// The access of a local map `local` into an operand (of `width` per row, or global of `len`):
/// a contiguous window, one element, or the map itself.
fn narrowed(slot: Slot, width: Option<usize>, local: &[u32], len: usize) -> Access {
    let first = local.first().copied().unwrap_or(0) as usize;
    let contiguous = local
        .iter()
        .enumerate()
        .all(|(c, &l)| l as usize == first + c);
    let constant = local.iter().all(|&l| l as usize == first);
    let (row, w) = (width.is_some(), width.unwrap_or(0));
    let whole = width.unwrap_or(len);
    if contiguous {
        Access {
            slot,
            row,
            width: w,
            offset: first,
            len: local.len(),
            index: Index::Same,
        }
    } else if constant {
        Access {
            slot,
            row,
            width: w,
            offset: first,
            len: 1,
            index: Index::One,
        }
    } else {
        Access {
            slot,
            row,
            width: w,
            offset: 0,
            len: whole,
            index: Index::Map(local.to_vec()),
        }
    }
}

/// A reduction's map of row `r` of `x` (of `xw` per row) into its output (`out_width` per row,
/// or global when `None`), as one map for every row; `None` when rows mix.
fn reduce_local(map: &Index, rows: usize, xw: usize, out_width: Option<usize>) -> Option<Index> {
    match map {
        Index::One => Some(Index::One),
        Index::Same => out_width.filter(|&w| w == xw).map(|_| Index::Same),
        Index::Map(m) => {
            if m.len() != rows * xw {
                return None;
            }
            let local = &m[..xw];
            let stride = out_width.unwrap_or(0);
            let per_row = (0..rows).all(|r| {
                m[r * xw..][..xw]
                    .iter()
                    .zip(local)
                    .all(|(&v, &l)| v as usize == r * stride + l as usize)
            });
            if !per_row {
                return None;
            }
            if local.iter().all(|&l| l == 0) {
                // Every element of a row into the output's first.
                return Some(Index::One);
            }
            Some(Index::Map(local.to_vec()))
        }
    }
}

impl Plan {
    /// The plan of a tape's instructions for `rows` rows: `shapes` and `varies` per slot.
    ///
    /// # Errors
    /// Why it cannot run by rows, in words.
    pub(crate) fn new(
        instrs: &[Instr],
        shapes: &[Vec<usize>],
        varies: &[bool],
        rows: usize,
    ) -> Result<Self, String> {
        if rows < 2 {
            return refuse("fewer than two rows");
        }
        let lens: Vec<usize> = shapes.iter().map(|s| s.iter().product()).collect();
        let widths: Vec<Option<usize>> = shapes
            .iter()
            .zip(&lens)
            .map(|(s, &len)| (s.first() == Some(&rows)).then_some(len / rows))
            .collect();
        // Slots written by a sum over the rows or by a global instruction after one.
        let mut after_sums = vec![false; shapes.len()];
        let (mut pre, mut body, mut post) = (Vec::new(), Vec::new(), Vec::new());
        for (i, instr) in instrs.iter().enumerate() {
            let out = instr.out();
            let operands = instr.operands();
            let reads_row = operands.iter().any(|&s| widths[s].is_some());
            let reads_sums = operands.iter().any(|&s| after_sums[s]);
            match widths[out] {
                None if !reads_row => {
                    if reads_sums {
                        after_sums[out] = true;
                        post.push(instr.clone());
                    } else {
                        pre.push(instr.clone());
                    }
                }
                None => {
                    let step = cross_sum(instr, &widths, &lens, rows)
                        .ok_or_else(|| format!("instruction {i} reads across rows"))?;
                    if reads_sums {
                        return refuse(format!("instruction {i} reads a sum over the rows"));
                    }
                    after_sums[out] = true;
                    body.push(step);
                }
                Some(width) => {
                    if reads_sums {
                        return refuse(format!("instruction {i} reads a sum over the rows"));
                    }
                    let step = row_step(instr, width, &widths, &lens, rows)
                        .ok_or_else(|| format!("instruction {i} reads across rows"))?;
                    body.push(step);
                }
            }
        }
        let body = fuse_biases(body, &post);
        let linear = post.iter().all(|i| linear_in_sums(i, &after_sums, varies));
        Ok(Self {
            widths,
            pre,
            body,
            post,
            linear,
        })
    }
}

/// A sum (or mean) of a row tensor into a global one, as a step; `None` for anything else.
fn cross_sum(instr: &Instr, widths: &[Option<usize>], lens: &[usize], rows: usize) -> Option<Step> {
    let Instr::Reduce {
        f,
        x,
        map,
        count,
        out,
        ..
    } = instr
    else {
        return None;
    };
    if !matches!(f, Reduce::Sum | Reduce::Mean) {
        return None;
    }
    let xw = widths[*x]?;
    let local = reduce_local(map, rows, xw, None)?;
    Some(Step {
        op: Op::Reduce {
            f: *f,
            count: *count,
            cross: true,
        },
        args: vec![Access {
            index: local,
            ..Access::same(*x, xw)
        }],
        out: *out,
        width: lens[*out],
    })
}

/// A row instruction's step; `None` when a row of its output reads more than that row.
fn row_step(
    instr: &Instr,
    width: usize,
    widths: &[Option<usize>],
    lens: &[usize],
    rows: usize,
) -> Option<Step> {
    let acc = |slot: Slot, index: &Index| access(slot, index, widths, lens, rows, width);
    let same = |slot: Slot| {
        widths[slot]
            .filter(|&w| w == width)
            .map(|w| Access::same(slot, w))
    };
    let (op, args, out) = match instr {
        Instr::Unary { f, x, out } => (Op::Unary(*f), vec![same(*x)?], *out),
        Instr::WithScalar { f, x, out } => (Op::WithScalar(*f), vec![same(*x)?], *out),
        Instr::Binary { f, a, b, out } => {
            (Op::Binary(*f), vec![acc(a.0, &a.1)?, acc(b.0, &b.1)?], *out)
        }
        Instr::Compare { f, a, b, out } => (
            Op::Compare(*f),
            vec![acc(a.0, &a.1)?, acc(b.0, &b.1)?],
            *out,
        ),
        Instr::CompareScalar { f, x, c, out } => (Op::CompareScalar(*f, *c), vec![same(*x)?], *out),
        Instr::Not { x, out } => (Op::Not, vec![same(*x)?], *out),
        Instr::MaskFill {
            x,
            mask,
            value,
            out,
        } => (
            Op::MaskFill(*value),
            vec![acc(x.0, &x.1)?, acc(mask.0, &mask.1)?],
            *out,
        ),
        Instr::MaskWhere {
            x,
            mask,
            value,
            out,
        } => (
            Op::MaskWhere,
            vec![
                acc(x.0, &x.1)?,
                acc(mask.0, &mask.1)?,
                acc(value.0, &value.1)?,
            ],
            *out,
        ),
        Instr::Gather { x, out } => (Op::Gather, vec![acc(x.0, &x.1)?], *out),
        Instr::Cat { parts, out } => {
            let mut args = Vec::new();
            let mut maps = Vec::new();
            for (slot, map) in parts {
                let pw = widths[*slot]?;
                let local = &map[..pw];
                let per_row = (0..rows).all(|r| {
                    map[r * pw..][..pw]
                        .iter()
                        .zip(local)
                        .all(|(&m, &l)| m as usize == r * width + l as usize)
                });
                if !per_row {
                    return None;
                }
                args.push(Access::same(*slot, pw));
                maps.push(local.to_vec());
            }
            (Op::Cat(maps), args, *out)
        }
        Instr::Reduce {
            f,
            x,
            map,
            count,
            out,
            ..
        } => {
            let xw = widths[*x]?;
            let local = reduce_local(map, rows, xw, Some(width))?;
            (
                Op::Reduce {
                    f: *f,
                    count: *count,
                    cross: false,
                },
                vec![Access {
                    index: local,
                    ..Access::same(*x, xw)
                }],
                *out,
            )
        }
        Instr::Softmax { log, x, lines, out } => {
            let lines = per_row_lines(*lines, rows)?;
            (Op::Softmax { log: *log, lines }, vec![same(*x)?], *out)
        }
        Instr::CumSum { x, lines, out } => {
            let lines = per_row_lines(*lines, rows)?;
            (Op::CumSum { lines }, vec![same(*x)?], *out)
        }
        Instr::Matmul { a, b, dims, out } => {
            let Product {
                m,
                k,
                n,
                batch,
                b_batched,
                ..
            } = *dims;
            let aw = widths[*a]?;
            // b global and shared; each output row is the product of the same row of a.
            if widths[*b].is_some() || b_batched || lens[*b] != k * n {
                return None;
            }
            let per_row_products = aw / k;
            if aw % k != 0 || per_row_products * n != width || m * batch != rows * per_row_products
            {
                return None;
            }
            (
                Op::Matmul { k, n, bias: false },
                vec![
                    Access::same(*a, aw),
                    Access {
                        slot: *b,
                        row: false,
                        width: 0,
                        offset: 0,
                        len: k * n,
                        index: Index::Same,
                    },
                ],
                *out,
            )
        }
    };
    Some(Step {
        op,
        args,
        out,
        width,
    })
}

/// `[outer, len, inner]` of one row, when the axis lies within rows.
fn per_row_lines([outer, len, inner]: [usize; 3], rows: usize) -> Option<[usize; 3]> {
    (outer % rows == 0).then_some([outer / rows, len, inner])
}

/// Each product followed by the addition of a bias that is the only reader of the product,
/// as one step ([`Op::Matmul`] with `bias`).
fn fuse_biases(body: Vec<Step>, post: &[Instr]) -> Vec<Step> {
    let mut reads = std::collections::HashMap::<Slot, usize>::new();
    for step in &body {
        for a in &step.args {
            *reads.entry(a.slot).or_default() += 1;
        }
    }
    for instr in post {
        for s in instr.operands() {
            *reads.entry(s).or_default() += 1;
        }
    }
    let mut out: Vec<Step> = Vec::with_capacity(body.len());
    for step in body {
        if let (Some(prev), Op::Binary(crate::instr::Binary::Add)) = (out.last_mut(), &step.op)
            && let Op::Matmul { k, n, bias: false } = prev.op
            && reads.get(&prev.out) == Some(&1)
        {
            let product = |a: &Access| a.row && a.slot == prev.out && a.flat(n);
            let bias = |a: &Access| {
                !a.row && a.offset == 0 && a.len == n && matches!(a.index, Index::Same)
            };
            let b = match (&step.args[0], &step.args[1]) {
                (x, b) if product(x) && bias(b) => Some(b.clone()),
                (b, x) if product(x) && bias(b) => Some(b.clone()),
                _ => None,
            };
            if let Some(b) = b {
                prev.op = Op::Matmul { k, n, bias: true };
                prev.args.push(b);
                prev.out = step.out;
                continue;
            }
        }
        out.push(step);
    }
    out
}

/// Whether `instr`'s reverse pass reads no value that depends on a sum over the rows (`dep`):
/// its adjoints of its operands are then the same whatever the sums are.
fn linear_in_sums(instr: &Instr, dep: &[bool], varies: &[bool]) -> bool {
    use crate::instr::{Binary, Unary, WithScalar};
    let product = |a: Slot, b: Slot| !(dep[a] && (varies[b] || dep[b]) || dep[b] && varies[a]);
    match instr {
        Instr::Unary { f, x, .. } => matches!(f, Unary::Neg | Unary::Step(_)) || !dep[*x],
        Instr::WithScalar { f, x, .. } => {
            !matches!(f, WithScalar::Pow(_) | WithScalar::Clamp(..)) || !dep[*x]
        }
        Instr::Binary { f, a, b, .. } => match f {
            Binary::Add | Binary::Sub => true,
            Binary::Mul => product(a.0, b.0),
            Binary::Div => !(dep[b.0] || dep[a.0] && varies[b.0]),
            Binary::Pow => !dep[a.0] && !dep[b.0],
        },
        Instr::Compare { .. } | Instr::CompareScalar { .. } | Instr::Not { .. } => true,
        Instr::MaskFill { mask, .. } | Instr::MaskWhere { mask, .. } => !dep[mask.0],
        Instr::Gather { .. } | Instr::Cat { .. } | Instr::CumSum { .. } => true,
        Instr::Reduce { f, x, .. } => matches!(f, Reduce::Sum | Reduce::Mean) || !dep[*x],
        Instr::Softmax { x, .. } => !dep[*x],
        Instr::Matmul { a, b, .. } => product(*a, *b),
    }
}
