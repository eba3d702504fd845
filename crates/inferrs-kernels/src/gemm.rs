//! Small dense matrix products for the fused network kernels: `A B + init` where the inner
//! dimension and the columns are tens and the rows thousands (the MDN's `[5000, 15] x [15,
//! 60]`). There a general matrix product spends much of its time packing, and burn allocates,
//! zeroes and copies each output in separate passes; here each block of rows is multiplied
//! while it is in cache, inside the caller's own pass.
//!
//! Layout: `B` is packed row-major with its columns padded to a multiple of 8 (one AVX2
//! vector). The product runs over panels of up to 4 vectors of columns and 2 to 8 rows at a
//! time, so that 8 accumulators stay in registers and each loaded vector of `B` serves several
//! rows (const generics: every loop has a constant trip count). The callers run it under
//! [`pulp::Arch::dispatch`] (AVX2 and FMA where the CPU has them); it uses fused multiply-adds
//! (`f32::mul_add`, correctly rounded on every instruction set), so every instruction set gives
//! the same bits.

use super::kernel::View;
/// One AVX2 vector of `f32`.
pub(super) const LANES: usize = 8;
/// Rows per parallel task (and per pass over the weights).
pub(super) const ROWS_PER_BLOCK: usize = 256;

type Vector = [f32; LANES];

/// `n` rounded up to a multiple of [`LANES`].
pub(super) fn padded(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// Copies `[rows, cols]` of `v` into a row-major `[rows, padded(cols)]` buffer, zero padded.
pub(super) fn pack(v: &View<'_>, rows: usize, cols: usize) -> Vec<f32> {
    gather(v, 0, rows, rows, cols)
}

/// Rows `first..first + n` of `v` (`cols` columns) into a row-major buffer of `rows_out`
/// rows (at least `n`) and `padded(cols)` columns, zero padded.
pub(super) fn gather(
    v: &View<'_>,
    first: usize,
    n: usize,
    rows_out: usize,
    cols: usize,
) -> Vec<f32> {
    let cp = padded(cols);
    // Built by appending rather than zeroed and overwritten: the allocator's zeroing of a
    // reused buffer would be one more pass over it.
    let mut out = Vec::with_capacity(rows_out * cp);
    let mut row = vec![0.0f32; cols];
    for r in first..first + n {
        if v.col_stride == 1 {
            let start = (v.offset as isize + r as isize * v.row_stride) as usize;
            out.extend_from_slice(&v.data[start..start + cols]);
        } else {
            v.read_row(r, &mut row);
            out.extend_from_slice(&row);
        }
        out.resize(out.len() + cp - cols, 0.0);
    }
    out.resize(rows_out * cp, 0.0);
    out
}

/// A matrix `A` read from a buffer: `A[r, t] = data[r * row_stride + t * col_stride]`.
#[derive(Clone, Copy)]
pub(super) struct Strided<'a> {
    pub data: &'a [f32],
    pub row_stride: usize,
    pub col_stride: usize,
}

/// `A B + init` for rows `0..rows` of `A` (inner dimension `k`) and `B` row-major `[k, bw]`
/// (`bw` a multiple of [`LANES`]), handed to `write(row, first column, values)` one panel of
/// up to 4 vectors of columns at a time.
///
/// `A` must be readable (zero padded) up to `rows` rounded up to a multiple of 8 rows.
#[inline(always)]
pub(super) fn product(
    a: &Strided<'_>,
    rows: usize,
    k: usize,
    b: &[f32],
    bw: usize,
    init: &[f32],
    mut write: impl FnMut(usize, usize, &[f32]),
) {
    let vectors = bw / LANES;
    let mut v0 = 0;
    while v0 < vectors {
        let c0 = v0 * LANES;
        v0 += match vectors - v0 {
            1 => panel::<8, 1>(a, rows, k, b, bw, c0, init, &mut write),
            2 => panel::<4, 2>(a, rows, k, b, bw, c0, init, &mut write),
            3 => panel::<2, 3>(a, rows, k, b, bw, c0, init, &mut write),
            _ => panel::<2, 4>(a, rows, k, b, bw, c0, init, &mut write),
        };
    }
}

/// Columns `c0..c0 + 8 V` of [`product`], `R` rows at a time; returns `V`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn panel<const R: usize, const V: usize>(
    a: &Strided<'_>,
    rows: usize,
    k: usize,
    b: &[f32],
    bw: usize,
    c0: usize,
    init: &[f32],
    write: &mut impl FnMut(usize, usize, &[f32]),
) -> usize {
    let mut start: [Vector; V] = [[0.0; LANES]; V];
    for (v, s) in start.iter_mut().enumerate() {
        s.copy_from_slice(&init[c0 + v * LANES..c0 + (v + 1) * LANES]);
    }
    for r0 in (0..rows).step_by(R) {
        let mut acc: [[Vector; V]; R] = [start; R];
        for t in 0..k {
            let b_row = &b[t * bw + c0..t * bw + c0 + V * LANES];
            let mut xs = [0.0f32; R];
            for (r, x) in xs.iter_mut().enumerate() {
                *x = a.data[(r0 + r) * a.row_stride + t * a.col_stride];
            }
            for (acc_r, &x) in acc.iter_mut().zip(&xs) {
                for (v, acc_rv) in acc_r.iter_mut().enumerate() {
                    for (l, s) in acc_rv.iter_mut().enumerate() {
                        *s = x.mul_add(b_row[v * LANES + l], *s);
                    }
                }
            }
        }
        for (r, acc_r) in acc.iter().enumerate().take(rows - r0) {
            write(r0 + r, c0, acc_r.as_flattened());
        }
    }
    V
}
