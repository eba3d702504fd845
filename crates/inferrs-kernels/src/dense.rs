//! Small dense matrix products, `A B + init`, where the inner dimension and the columns are
//! tens and the rows thousands (a network's layers on a block of data rows): the loops of
//! the fused network kernels (`gemm.rs`, with `flex`) and of `inferrs-tape`'s row-blocked
//! replay. Plain Rust, no backend.
//!
//! Layout: `B` is packed row-major with its columns padded to a multiple of 8 (one AVX2
//! vector). The product runs over panels of up to 4 vectors of columns and 2 to 8 rows at a
//! time, so that 8 accumulators stay in registers and each loaded vector of `B` serves several
//! rows (const generics: every loop has a constant trip count). The callers run it under
//! `pulp::Arch::dispatch` (AVX2 and FMA where the CPU has them); it uses fused multiply-adds
//! (`f32::mul_add`, correctly rounded on every instruction set), so every instruction set gives
//! the same bits.

/// One AVX2 vector of `f32`.
pub const LANES: usize = 8;
type Vector = [f32; LANES];

/// `n` rounded up to a multiple of [`LANES`].
pub fn padded(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// A matrix `A` read from a buffer: `A[r, t] = data[r * row_stride + t * col_stride]`.
#[derive(Clone, Copy)]
pub struct Strided<'a> {
    /// The values.
    pub data: &'a [f32],
    /// Elements from one row to the next.
    pub row_stride: usize,
    /// Elements from one column to the next.
    pub col_stride: usize,
}

/// `A B + init` for rows `0..rows` of `A` (inner dimension `k`) and `B` row-major `[k, bw]`
/// (`bw` a multiple of [`LANES`]), handed to `write(row, first column, values)` one panel of
/// up to 4 vectors of columns at a time.
///
/// `A` must be readable (zero padded) up to `rows` rounded up to a multiple of 8 rows.
#[inline(always)]
pub fn product(
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
