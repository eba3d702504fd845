//! [`LocalGroup`]: ranks that are threads of one process, for tests and as the reference of a
//! multi-process run (the same shards, the same ordered sums, in one process).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::Collective;
use crate::Error;

/// A group of ranks in one process: [`LocalGroup::ranks`] gives one [`LocalRank`] per rank, to
/// move into its thread. An all-gather waits for every rank; a rank that is dropped (its
/// thread ended, or panicked) makes every exchange after it fail on the others with an
/// error naming it, and one that does not answer within the timeout is named too.
///
/// ```
/// use inferrs_vi::distributed::{Collective, LocalGroup};
/// let ranks = LocalGroup::ranks(2);
/// let gathered: Vec<Vec<u8>> = std::thread::scope(|s| {
///     let handles: Vec<_> = ranks
///         .into_iter()
///         .map(|rank| s.spawn(move || {
///             let mut recv = vec![0u8; 2];
///             rank.all_gather(&[rank.rank() as u8], &mut recv).map(|()| recv)
///         }))
///         .collect();
///     handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect()
/// });
/// assert_eq!(gathered, vec![vec![0, 1], vec![0, 1]]);
/// ```
#[derive(Debug)]
pub struct LocalGroup;

impl LocalGroup {
    /// How long an exchange waits for the other ranks unless told otherwise (60 s).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    /// `size` ranks (at least 1), in rank order.
    pub fn ranks(size: usize) -> Vec<LocalRank> {
        Self::ranks_with_timeout(size, Self::DEFAULT_TIMEOUT)
    }

    /// `size` ranks whose exchanges wait at most `timeout` for the others.
    pub fn ranks_with_timeout(size: usize, timeout: Duration) -> Vec<LocalRank> {
        let size = size.max(1);
        let shared = Arc::new(Shared {
            size,
            round: Mutex::new(Round {
                generation: 0,
                parts: vec![None; size],
                result: Arc::new(Vec::new()),
                gone: None,
            }),
            turned: Condvar::new(),
        });
        (0..size)
            .map(|rank| LocalRank {
                rank,
                shared: Arc::clone(&shared),
                timeout,
            })
            .collect()
    }
}

/// One rank of a [`LocalGroup`].
#[derive(Debug)]
pub struct LocalRank {
    rank: usize,
    shared: Arc<Shared>,
    timeout: Duration,
}

#[derive(Debug)]
struct Shared {
    size: usize,
    round: Mutex<Round>,
    turned: Condvar,
}

/// The exchange in progress: what each rank gave, and the last completed exchange's result
/// (kept until the next one completes, which needs every rank, so no rank misses it).
#[derive(Debug)]
struct Round {
    generation: u64,
    parts: Vec<Option<Vec<u8>>>,
    result: Arc<Vec<u8>>,
    /// The first rank that left the group.
    gone: Option<usize>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Round> {
        // A rank that panicked while holding the lock left the round as it was.
        self.round
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Collective for LocalRank {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.shared.size
    }

    fn all_gather(&self, send: &[u8], recv: &mut [u8]) -> Result<(), Error> {
        let fail = |reason: String| Error::Collective {
            rank: self.rank,
            reason,
        };
        super::collective::check_gather(self.rank, self.shared.size, send, recv)?;
        let deadline = Instant::now() + self.timeout;
        let mut round = self.shared.lock();
        if let Some(gone) = round.gone {
            return Err(fail(format!("rank {gone} left the group")));
        }
        let generation = round.generation;
        round.parts[self.rank] = Some(send.to_vec());
        if round.parts.iter().all(Option::is_some) {
            let mut all = Vec::with_capacity(recv.len());
            for part in &mut round.parts {
                all.extend(part.take().unwrap_or_default());
            }
            round.result = Arc::new(all);
            round.generation += 1;
            self.shared.turned.notify_all();
        }
        while round.generation == generation {
            if let Some(gone) = round.gone {
                return Err(fail(format!("rank {gone} left the group")));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let missing: Vec<usize> = (0..self.shared.size)
                    .filter(|&r| round.parts[r].is_none())
                    .collect();
                return Err(fail(format!(
                    "ranks {missing:?} did not answer within {:?}",
                    self.timeout
                )));
            }
            round = self
                .shared
                .turned
                .wait_timeout(round, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        if round.result.len() != recv.len() {
            return Err(fail(format!(
                "the ranks sent different lengths ({} bytes in all, {} expected)",
                round.result.len(),
                recv.len()
            )));
        }
        recv.copy_from_slice(&round.result);
        Ok(())
    }
}

impl Drop for LocalRank {
    fn drop(&mut self) {
        let mut round = self.shared.lock();
        round.gone.get_or_insert(self.rank);
        self.shared.turned.notify_all();
    }
}
