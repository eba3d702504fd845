//! [`Collective`]: a group of ranks that exchange bytes, what data-parallel SVI needs of MPI.

use crate::Error;

/// A group of `size` processes (ranks `0..size`) that all take part in every exchange, in
/// the same order: an MPI communicator ([`Mpi`](crate::distributed::Mpi), feature `mpi`) or
/// threads of one process ([`LocalGroup`](crate::distributed::LocalGroup)).
///
/// Data-parallel SVI needs one operation, an all-gather: every rank gives the same number of
/// bytes and receives every rank's, in rank order. The loop sums the gathered gradients
/// itself, in rank order, so that every rank computes the same bits whatever the transport
/// and its timing (an MPI `Allreduce` may sum in any order). A transport that fails, or a
/// rank that does not answer, is an [`Error::Collective`].
pub trait Collective: Send + Sync + std::fmt::Debug {
    /// This process's rank, from 0.
    fn rank(&self) -> usize;

    /// Number of ranks.
    fn size(&self) -> usize;

    /// Every rank's `send` (the same length on every rank), concatenated in rank order into
    /// `recv` (`size() * send.len()` bytes).
    ///
    /// # Errors
    /// [`Error::Collective`] when the exchange fails or a rank does not take part in it.
    fn all_gather(&self, send: &[u8], recv: &mut [u8]) -> Result<(), Error>;

    /// Waits until every rank has called it (one all-gather of a byte): rank 0 writes a
    /// file, say, and the others read it after the barrier.
    ///
    /// # Errors
    /// As [`Collective::all_gather`].
    fn barrier(&self) -> Result<(), Error> {
        let mut recv = vec![0u8; self.size()];
        self.all_gather(&[1], &mut recv)
    }
}

impl<C: Collective + ?Sized> Collective for std::sync::Arc<C> {
    fn rank(&self) -> usize {
        (**self).rank()
    }

    fn size(&self) -> usize {
        (**self).size()
    }

    fn all_gather(&self, send: &[u8], recv: &mut [u8]) -> Result<(), Error> {
        (**self).all_gather(send, recv)
    }
}

/// Checks that `recv` holds `size` times `send` (what every implementation's `all_gather`
/// asks first).
///
/// # Errors
/// [`Error::Collective`] naming `rank` when it does not.
pub(crate) fn check_gather(
    rank: usize,
    size: usize,
    send: &[u8],
    recv: &[u8],
) -> Result<(), Error> {
    if recv.len() == send.len() * size {
        return Ok(());
    }
    Err(Error::Collective {
        rank,
        reason: format!(
            "an all-gather of {} bytes from each of {size} ranks needs {} bytes, not {}",
            send.len(),
            send.len() * size,
            recv.len()
        ),
    })
}

/// Every rank's `send`, in rank order.
pub(crate) fn gather(comm: &dyn Collective, send: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let mut recv = vec![0u8; send.len() * comm.size()];
    comm.all_gather(send, &mut recv)?;
    if send.is_empty() {
        return Ok(vec![Vec::new(); comm.size()]);
    }
    Ok(recv.chunks(send.len()).map(<[u8]>::to_vec).collect())
}

/// Every rank's `u64`, in rank order.
pub(crate) fn gather_u64(comm: &dyn Collective, value: u64) -> Result<Vec<u64>, Error> {
    let parts = gather(comm, &value.to_le_bytes())?;
    Ok(parts
        .iter()
        .map(|p| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&p[..8]);
            u64::from_le_bytes(b)
        })
        .collect())
}
