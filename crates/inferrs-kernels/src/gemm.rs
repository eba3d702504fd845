//! Small dense matrix products for the fused network kernels: `A B + init` where the inner
//! dimension and the columns are tens and the rows thousands (the MDN's `[5000, 15] x [15,
//! 60]`). There a general matrix product spends much of its time packing, and burn allocates,
//! zeroes and copies each output in separate passes; here each block of rows is multiplied
//! while it is in cache, inside the caller's own pass. The loops are `dense.rs`'s; this file
//! packs burn's tensors for them.

use super::kernel::View;
pub(super) use crate::dense::{LANES, Strided, padded, product};

/// Rows per parallel task (and per pass over the weights).
pub(super) const ROWS_PER_BLOCK: usize = 256;

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
