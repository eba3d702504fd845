//! [`Mpi`]: the ranks of an MPI job as a [`Collective`], through the `mpi` crate (rsmpi) over
//! the system's MPI (Open MPI, Debian's `libopenmpi-dev`). Cargo feature `mpi`.

use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use mpi::Threading;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives};

use super::Collective;
use crate::Error;

/// MPI calls go one at a time (the library is initialised for `MPI_THREAD_SERIALIZED`).
static CALLS: Mutex<()> = Mutex::new(());

/// The MPI environment of this process: [`Mpi::init`] initialises MPI, and dropping it
/// finalises MPI (do it at the end of `main`, after the last fit: MPI cannot start again).
///
/// ```no_run
/// use inferrs_vi::distributed::Mpi;
/// let mpi = Mpi::init()?;
/// let world = mpi.world();
/// println!("rank {} of {}", inferrs_vi::distributed::Collective::rank(&world),
///     inferrs_vi::distributed::Collective::size(&world));
/// # Ok::<(), inferrs_vi::Error>(())
/// ```
pub struct Mpi {
    universe: mpi::environment::Universe,
    threading: Threading,
    thread: ThreadId,
}

impl std::fmt::Debug for Mpi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mpi")
            .field("threading", &self.threading)
            .finish_non_exhaustive()
    }
}

impl Mpi {
    /// Initialises MPI (once per process), asking for calls from any thread one at a time.
    ///
    /// # Errors
    /// [`Error::Collective`] when MPI is already initialised.
    pub fn init() -> Result<Self, Error> {
        let (universe, threading) = mpi::initialize_with_threading(Threading::Serialized)
            .ok_or_else(|| Error::Collective {
                rank: 0,
                reason: "MPI is already initialised in this process".to_string(),
            })?;
        Ok(Self {
            universe,
            threading,
            thread: std::thread::current().id(),
        })
    }

    /// Every rank of the job (`MPI_COMM_WORLD`), whose exchanges wait at most
    /// [`MpiWorld::DEFAULT_TIMEOUT`] for the other ranks.
    pub fn world(&self) -> MpiWorld {
        let world = self.universe.world();
        MpiWorld {
            rank: usize::try_from(world.rank()).unwrap_or(0),
            size: usize::try_from(world.size()).unwrap_or(1),
            timeout: MpiWorld::DEFAULT_TIMEOUT,
            thread: (self.threading < Threading::Serialized).then_some(self.thread),
        }
    }

    /// The name of this rank's host (`MPI_Get_processor_name`).
    pub fn host(&self) -> String {
        mpi::environment::processor_name().unwrap_or_default()
    }
}

/// The ranks of `MPI_COMM_WORLD` as a [`Collective`] (from [`Mpi::world`]). A cheap handle:
/// clone it for each fit.
///
/// An exchange that waits longer than its timeout for the other ranks prints which rank
/// and step waited, and aborts the whole job (`MPI_Abort`): a rank that stopped answering
/// cannot be left behind in an MPI collective. A rank whose process dies is the launcher's:
/// Open MPI's `mpirun` then ends every other rank and names the one that died.
#[derive(Clone, Debug)]
pub struct MpiWorld {
    rank: usize,
    size: usize,
    timeout: Duration,
    /// The one thread MPI may be called from, when the library gave less than serialized
    /// calls from any thread.
    thread: Option<ThreadId>,
}

impl MpiWorld {
    /// How long an exchange waits for the other ranks unless told otherwise (10 minutes: a
    /// rank may first read its shard).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

    /// The same ranks, with exchanges that wait at most `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl Collective for MpiWorld {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_gather(&self, send: &[u8], recv: &mut [u8]) -> Result<(), Error> {
        let fail = |reason: String| Error::Collective {
            rank: self.rank,
            reason,
        };
        super::collective::check_gather(self.rank, self.size, send, recv)?;
        if let Some(thread) = self.thread
            && thread != std::thread::current().id()
        {
            return Err(fail(
                "this MPI library allows calls from the thread that initialised it only"
                    .to_string(),
            ));
        }
        let _serial = CALLS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if mpi::environment::is_finalized() || !mpi::environment::is_initialized() {
            return Err(fail(
                "MPI is not initialised (or already finalised)".to_string(),
            ));
        }
        let world = SimpleCommunicator::world();
        let deadline = Instant::now() + self.timeout;
        mpi::request::scope(|scope| {
            let mut request = world.immediate_all_gather_into(scope, send, recv);
            loop {
                match request.test() {
                    Ok(_) => return Ok(()),
                    Err(pending) => request = pending,
                }
                if Instant::now() > deadline {
                    eprintln!(
                        "inferrs: rank {}: the other ranks did not answer an exchange within \
                         {:?}; aborting the job",
                        self.rank, self.timeout
                    );
                    world.abort(1);
                }
                std::thread::yield_now();
            }
        })
    }
}
