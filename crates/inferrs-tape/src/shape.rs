//! Index maps between row-major tensors: broadcasting, permutations, slices, reductions.
//!
//! Every movement of data a captured graph does (expand, permute, slice, repeat, a reduction
//! over one axis) is written once, at compile time, as a map from the elements of one tensor to
//! the elements of another. The replay then only follows the maps.

/// Elements of a tensor of `shape`.
pub(crate) fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// Calls `f(flat, index)` for every element of `shape` in row-major order, `index` its
/// multi-index.
fn for_each_index(shape: &[usize], mut f: impl FnMut(usize, &[usize])) {
    let n = numel(shape);
    let mut index = vec![0usize; shape.len()];
    for flat in 0..n {
        f(flat, &index);
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
}

/// How an operand's elements are read for each element of an output.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Index {
    /// The operand has the output's shape: element `i` for element `i`.
    Same,
    /// The operand has one element, read for every output element.
    One,
    /// Element `map[i]` for output element `i`.
    Map(Vec<u32>),
}

impl Index {
    /// How a tensor of shape `input` broadcasts to `out` (numpy's rules, ranks right-aligned),
    /// or `None` when it does not.
    pub(crate) fn broadcast(input: &[usize], out: &[usize]) -> Option<Self> {
        if input == out {
            return Some(Self::Same);
        }
        if numel(input) == 1 {
            return Some(Self::One);
        }
        broadcast_map(input, out).map(Self::Map)
    }

    /// `Map(map)` into an operand of `len` elements, or `Same` when `map` is the identity
    /// (and so reads all of it).
    pub(crate) fn from_map(map: Vec<u32>, len: usize) -> Self {
        if map.len() == len && map.iter().enumerate().all(|(i, &j)| i == j as usize) {
            Self::Same
        } else {
            Self::Map(map)
        }
    }

    /// The operand's element for output element `i`.
    #[inline]
    pub(crate) fn at(&self, i: usize) -> usize {
        match self {
            Self::Same => i,
            Self::One => 0,
            Self::Map(m) => m[i] as usize,
        }
    }
}

/// For each element of `out`, the element of a tensor of shape `input` that broadcasts to it.
pub(crate) fn broadcast_map(input: &[usize], out: &[usize]) -> Option<Vec<u32>> {
    if input.len() > out.len() {
        return None;
    }
    let pad = out.len() - input.len();
    let in_strides = strides(input);
    let mut eff = vec![0usize; out.len()];
    for d in 0..input.len() {
        match (input[d], out[pad + d]) {
            (a, b) if a == b => eff[pad + d] = in_strides[d],
            (1, _) => eff[pad + d] = 0,
            _ => return None,
        }
    }
    let mut map = Vec::with_capacity(numel(out));
    for_each_index(out, |_, idx| {
        map.push(idx.iter().zip(&eff).map(|(i, s)| i * s).sum::<usize>() as u32);
    });
    Some(map)
}

/// For each element of the permuted tensor (`out[k]` is `input[axes[k]]`), its element in
/// the input.
pub(crate) fn permute_map(input: &[usize], axes: &[usize]) -> Vec<u32> {
    let in_strides = strides(input);
    let out: Vec<usize> = axes.iter().map(|&a| input[a]).collect();
    let mut map = Vec::with_capacity(numel(&out));
    for_each_index(&out, |_, idx| {
        map.push(
            idx.iter()
                .zip(axes)
                .map(|(i, &a)| i * in_strides[a])
                .sum::<usize>() as u32,
        );
    });
    map
}

/// For each element of `out`, a slice of `input` starting at `starts`, its element in the
/// input.
pub(crate) fn slice_map(input: &[usize], starts: &[usize], out: &[usize]) -> Vec<u32> {
    let in_strides = strides(input);
    let mut map = Vec::with_capacity(numel(out));
    for_each_index(out, |_, idx| {
        map.push(
            idx.iter()
                .zip(starts)
                .zip(&in_strides)
                .map(|((i, s), st)| (i + s) * st)
                .sum::<usize>() as u32,
        );
    });
    map
}

/// For each element of `out` (`input` tiled along its axes), its element in the input.
pub(crate) fn tile_map(input: &[usize], out: &[usize]) -> Vec<u32> {
    let in_strides = strides(input);
    let mut map = Vec::with_capacity(numel(out));
    for_each_index(out, |_, idx| {
        map.push(
            idx.iter()
                .zip(input)
                .zip(&in_strides)
                .map(|((i, n), st)| (i % n) * st)
                .sum::<usize>() as u32,
        );
    });
    map
}

/// For each element of `input`, the element of its reduction over `axis` (kept as size 1).
pub(crate) fn reduce_map(input: &[usize], axis: usize) -> Vec<u32> {
    let mut out = input.to_vec();
    out[axis] = 1;
    let out_strides = strides(&out);
    let mut map = Vec::with_capacity(numel(input));
    for_each_index(input, |_, idx| {
        map.push(
            idx.iter()
                .enumerate()
                .map(|(d, &i)| if d == axis { 0 } else { i * out_strides[d] })
                .sum::<usize>() as u32,
        );
    });
    map
}

/// For each element of the `part`-th operand of a concatenation along `dim` (`offset` its
/// first index there), its element in the output of shape `out`.
pub(crate) fn cat_map(part: &[usize], dim: usize, offset: usize, out: &[usize]) -> Vec<u32> {
    let out_strides = strides(out);
    let mut map = Vec::with_capacity(numel(part));
    for_each_index(part, |_, idx| {
        map.push(
            idx.iter()
                .enumerate()
                .map(|(d, &i)| (if d == dim { i + offset } else { i }) * out_strides[d])
                .sum::<usize>() as u32,
        );
    });
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_right_aligns_and_repeats_size_one_axes() {
        assert_eq!(Index::broadcast(&[2, 3], &[2, 3]), Some(Index::Same));
        assert_eq!(Index::broadcast(&[1, 1], &[4, 2]), Some(Index::One));
        assert_eq!(broadcast_map(&[1, 3], &[2, 3]).unwrap(), [0, 1, 2, 0, 1, 2]);
        assert_eq!(broadcast_map(&[2, 1], &[2, 3]).unwrap(), [0, 0, 0, 1, 1, 1]);
        assert_eq!(broadcast_map(&[3], &[2, 3]).unwrap(), [0, 1, 2, 0, 1, 2]);
        assert_eq!(broadcast_map(&[2, 2], &[2, 3]), None);
    }

    #[test]
    fn moves_follow_row_major_order() {
        // [[0, 1, 2], [3, 4, 5]] transposed is [[0, 3], [1, 4], [2, 5]].
        assert_eq!(permute_map(&[2, 3], &[1, 0]), [0, 3, 1, 4, 2, 5]);
        assert_eq!(slice_map(&[2, 3], &[0, 1], &[2, 2]), [1, 2, 4, 5]);
        assert_eq!(tile_map(&[1, 2], &[2, 4]), [0, 1, 0, 1, 0, 1, 0, 1]);
        assert_eq!(reduce_map(&[2, 3], 1), [0, 0, 0, 1, 1, 1]);
        assert_eq!(reduce_map(&[2, 3], 0), [0, 1, 2, 0, 1, 2]);
        assert_eq!(cat_map(&[2, 1], 1, 2, &[2, 3]), [2, 5]);
    }
}
