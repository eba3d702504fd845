//! The steps of a data-parallel epoch and the scale of each rank's terms, from the sizes of
//! the ranks' shards: every rank computes the same plan, so they all take the same number of
//! steps, and the ranks' losses at a step add up to one estimate of the whole data's.

/// The shards' sizes and the batch size of a data-parallel fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    shards: Vec<usize>,
    /// `None`: every rank's whole shard at each step.
    batch: Option<usize>,
}

/// How a rank scales its terms at one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Scale {
    /// Rows of the step over all ranks, `M`.
    pub(crate) rows: usize,
    /// Ranks with rows at this step, `R`.
    pub(crate) active: usize,
    /// The factor of local terms, before `weight`: `N R / M`.
    pub(crate) local: f64,
    /// The factor of the whole estimate, `1 / R`.
    pub(crate) weight: f64,
}

impl Plan {
    /// The plan of shards of `shards` rows, in batches of `batch` rows (or whole).
    pub(crate) fn new(shards: Vec<usize>, batch: Option<usize>) -> Self {
        Self {
            shards,
            batch: batch.map(|m| m.max(1)),
        }
    }

    /// Rows of the whole data, `N`.
    pub(crate) fn total(&self) -> usize {
        self.shards.iter().sum()
    }

    /// Steps per epoch: the most batches of any shard.
    pub(crate) fn steps(&self) -> usize {
        match self.batch {
            None => 1,
            Some(m) => self
                .shards
                .iter()
                .map(|&n| n.div_ceil(m))
                .max()
                .unwrap_or(0),
        }
    }

    /// Rows of `rank`'s batch at step `s` of an epoch (0 once its shard is done).
    pub(crate) fn rows_of(&self, rank: usize, s: usize) -> usize {
        let n = self.shards.get(rank).copied().unwrap_or(0);
        match self.batch {
            None if s == 0 => n,
            None => 0,
            Some(m) => n.saturating_sub(s * m).min(m),
        }
    }

    /// The scale at step `s`. With `R` ranks holding `M` rows in all, rank `r`'s estimate is
    /// `(1 / R) (G + (N R / M) L_r)`, for `G` its global terms and `L_r` its rows' local
    /// terms: the sum over ranks is `G + (N / M) sum_r L_r`, the estimate of one process on
    /// the `M` rows, and a global term's gradient is counted once.
    pub(crate) fn scale(&self, s: usize) -> Scale {
        let counts = (0..self.shards.len()).map(|r| self.rows_of(r, s));
        let (rows, active) = counts.fold((0, 0), |(m, a), c| (m + c, a + usize::from(c > 0)));
        let active_f = active.max(1) as f64;
        Scale {
            rows,
            active,
            local: self.total() as f64 * active_f / rows.max(1) as f64,
            weight: 1.0 / active_f,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uneven_shards_take_the_longest_shards_steps() {
        // N = 9 over 2 ranks in batches of 2: shards 5 and 4, so 3 steps; at the last, only
        // rank 0 has a row.
        let plan = Plan::new(vec![5, 4], Some(2));
        assert_eq!(plan.steps(), 3);
        assert_eq!((plan.rows_of(0, 2), plan.rows_of(1, 2)), (1, 0));
        let last = plan.scale(2);
        assert_eq!((last.rows, last.active), (1, 1));
        // One row stands for all 9, and the one active rank counts the global terms once.
        assert_eq!((last.local * last.weight, last.weight), (9.0, 1.0));
        let first = plan.scale(0);
        assert_eq!((first.rows, first.active), (4, 2));
        assert_eq!((first.local * first.weight, first.weight), (9.0 / 4.0, 0.5));
    }

    #[test]
    fn whole_shards_are_one_step_with_local_terms_unscaled() {
        let plan = Plan::new(vec![3, 3, 2], None);
        assert_eq!((plan.steps(), plan.total()), (1, 8));
        let s = plan.scale(0);
        assert_eq!((s.rows, s.active), (8, 3));
        assert!((s.local * s.weight - 1.0).abs() < 1e-15);
        assert!((s.weight - 1.0 / 3.0).abs() < 1e-15);
    }
}
