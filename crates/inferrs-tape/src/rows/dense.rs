//! A block's matrix products (`[m, k] x [k, n]`, `m` the block's rows, `k` and `n` tens) and
//! their adjoints on `inferrs_kernels::dense`'s register-blocked loops, under AVX2 and FMA
//! where the CPU has them. The loops read their left operand in panels of up to 8 rows and
//! their right one with its rows padded to whole vectors, so each product first copies its
//! operands into the block's scratch buffers laid out so (a few thousand values, against the
//! tens of thousands of multiply-adds of the product).

use inferrs_kernels::dense::{LANES, Strided, padded, product};

use crate::kernels::{Vectorized, vectorized};

/// Reusable buffers of a block's products.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scratch {
    left: Vec<f32>,
    right: Vec<f32>,
    /// Where each output row's sums start ([`start`]): zero, or a bias.
    init: Vec<f32>,
}

/// `src` (`rows` x `cols`, row-major) into `dst` with its rows padded to `padded(cols)` and
/// zero rows up to `rows_out`; `transpose` copies `src`'s transpose (`cols` x `rows`) instead.
fn pack(
    dst: &mut Vec<f32>,
    src: &[f32],
    (rows, cols): (usize, usize),
    rows_out: usize,
    transpose: bool,
) {
    dst.clear();
    if transpose {
        let rp = padded(rows);
        dst.resize(rows_out.max(cols) * rp, 0.0);
        for (r, row) in src.chunks_exact(cols).enumerate().take(rows) {
            for (c, &v) in row.iter().enumerate() {
                dst[c * rp + r] = v;
            }
        }
    } else {
        let cp = padded(cols);
        dst.resize(rows_out.max(rows) * cp, 0.0);
        for (r, row) in src.chunks_exact(cols).enumerate().take(rows) {
            dst[r * cp..r * cp + cols].copy_from_slice(row);
        }
    }
}

/// `left` (`m` x `inner`, row stride `stride`, readable to `m` rounded up to 8 rows) times
/// `right` (`inner` x `padded(n)`), added into `out` (`m` x `n`) or written when `!add`.
fn run(scratch: &mut Scratch, (m, inner, n): (usize, usize, usize), out: &mut [f32], add: bool) {
    let left = Strided {
        data: &scratch.left,
        row_stride: padded(inner),
        col_stride: 1,
    };
    vectorized(Product {
        left,
        right: &scratch.right,
        init: &scratch.init,
        shape: (m, inner, n),
        out,
        add,
    });
}

/// [`run`]'s product, inlined into the function compiled for AVX2 and FMA.
struct Product<'a> {
    left: Strided<'a>,
    right: &'a [f32],
    init: &'a [f32],
    shape: (usize, usize, usize),
    out: &'a mut [f32],
    add: bool,
}

impl Vectorized for Product<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Self {
            left,
            right,
            init,
            shape: (m, inner, n),
            out,
            add,
        } = self;
        product(&left, m, inner, right, padded(n), init, |r, c0, values| {
            let end = (c0 + values.len()).min(n);
            let o = &mut out[r * n + c0..r * n + end];
            if add {
                for (o, &v) in o.iter_mut().zip(values) {
                    *o += v;
                }
            } else {
                o.copy_from_slice(&values[..end - c0]);
            }
        });
    }
}

/// Sets where the next product's rows of `n` columns start: `bias`, or zero.
fn start(s: &mut Scratch, n: usize, bias: Option<&[f32]>) {
    s.init.clear();
    s.init.resize(padded(n), 0.0);
    if let Some(bias) = bias {
        s.init[..n].copy_from_slice(bias);
    }
}

/// Rows of a panel: the products read whole panels of 8 rows.
fn panel_rows(m: usize) -> usize {
    m.div_ceil(LANES) * LANES
}

/// `out = a b + bias`, `a` `[m, k]`, `b` `[k, n]`, `bias` `[n]` (none: zero).
pub(crate) fn matmul(
    s: &mut Scratch,
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    (m, k, n): (usize, usize, usize),
) {
    pack(&mut s.left, a, (m, k), panel_rows(m), false);
    pack(&mut s.right, b, (k, n), k, false);
    start(s, n, bias);
    run(s, (m, k, n), out, false);
}

/// `ga += g b^T`, the adjoint of `a` in `a b`.
pub(crate) fn adjoint_a(
    s: &mut Scratch,
    ga: &mut [f32],
    g: &[f32],
    b: &[f32],
    (m, k, n): (usize, usize, usize),
) {
    pack(&mut s.left, g, (m, n), panel_rows(m), false);
    // b^T: `[n, k]` with its rows padded.
    pack(&mut s.right, b, (k, n), n, true);
    start(s, k, None);
    run(s, (m, n, k), ga, true);
}

/// `gb += a^T g`, the adjoint of `b` in `a b`.
pub(crate) fn adjoint_b(
    s: &mut Scratch,
    gb: &mut [f32],
    g: &[f32],
    a: &[f32],
    (m, k, n): (usize, usize, usize),
) {
    // a^T: `[k, m]` with its rows padded, readable to k rounded up to 8 rows.
    pack(&mut s.left, a, (m, k), panel_rows(k), true);
    pack(&mut s.right, g, (m, n), m, false);
    start(s, n, None);
    run(s, (k, m, n), gb, true);
}
