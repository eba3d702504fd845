//! What a layer deep inside a user's module reaches of the run it is part of, without the
//! context being passed to it: the run's random stream and the closed-form KL terms the run
//! collects ([`BayesianDense`](crate::BayesianDense) is the layer that uses it).
//!
//! A module's `forward(x)` has no context argument, and the module may be nested anywhere in
//! a user's own burn module, so a stochastic layer cannot be handed the [`Ctx`] the way a
//! sample site is. Each [`Ctx`] therefore opens a frame on a per-thread stack when it is
//! built (Pyro's handlers are a global stack for the same reason) and closes it when its
//! trace is taken or it is dropped; a layer reads the frame on top. A model runs on the
//! thread that built its context (the context is not `Send`), so the top frame is the run's.
//!
//! **The stream.** The frame keeps a copy of the context's random stream as it was when the
//! context was built. A layer's first draw seeds the frame's own stream from that copy (one
//! `u64`, mixed with a constant), and the context then advances its stream by one `u64` when
//! its trace is taken, so the next run draws other noise. A run whose layers draw nothing
//! leaves the context's stream exactly as before: every model without such a layer gives the
//! same bits as before the frames existed.
//!
//! [`Ctx`]: crate::runtime::Ctx

use std::cell::RefCell;
use std::marker::PhantomData;

use burn::module::ParamId;
use burn::tensor::Tensor;
use inferrs_distributions::Rng;
use rand::{RngCore, SeedableRng};

use super::site::LayerKl;

/// Mixed into the seed of a frame's stream, so that it is not the context's next draw.
const STREAM_SALT: u64 = 0xB1A5_DE75_0F1A_7E5D;

/// One open frame: the run's stream (seeded at the first draw), its KL terms, and the weights
/// drawn once for the run, each by the id of the layer's parameter.
struct State {
    base: Rng,
    stream: Option<Rng>,
    kls: Vec<(ParamId, LayerKl)>,
    weights: Vec<(ParamId, [Tensor<2>; 2])>,
}

thread_local! {
    static FRAMES: RefCell<Vec<State>> = const { RefCell::new(Vec::new()) };
}

/// The frame a context holds open while it lives. Not `Send`: the frame is on the stack of
/// the thread that opened it.
#[derive(Debug)]
pub(crate) struct Frame {
    depth: usize,
    open: bool,
    _thread: PhantomData<*const ()>,
}

/// What a closed frame collected.
pub(crate) struct Closed {
    /// Whether a layer drew from the frame's stream.
    pub(crate) drew: bool,
    /// The KL terms, in the order the layers were first called.
    pub(crate) kls: Vec<LayerKl>,
}

impl Frame {
    /// Opens a frame on this thread, its stream to be seeded from `rng` as it is now.
    pub(crate) fn open(rng: &Rng) -> Self {
        let depth = FRAMES.with(|f| {
            let mut frames = f.borrow_mut();
            frames.push(State {
                base: rng.clone(),
                stream: None,
                kls: Vec::new(),
                weights: Vec::new(),
            });
            frames.len()
        });
        Self {
            depth,
            open: true,
            _thread: PhantomData,
        }
    }

    /// Closes the frame (and any frame opened above it and not closed) and returns what it
    /// collected.
    pub(crate) fn close(mut self) -> Closed {
        self.open = false;
        let state = pop_to(self.depth);
        match state {
            Some(s) => Closed {
                drew: s.stream.is_some(),
                kls: s.kls.into_iter().map(|(_, kl)| kl).collect(),
            },
            None => Closed {
                drew: false,
                kls: Vec::new(),
            },
        }
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        if self.open {
            pop_to(self.depth);
        }
    }
}

/// Pops the frames down to (and including) the one at `depth` (1-based), returning it.
fn pop_to(depth: usize) -> Option<State> {
    FRAMES.with(|f| {
        let mut frames = f.borrow_mut();
        if frames.len() < depth {
            return None;
        }
        frames.truncate(depth);
        frames.pop()
    })
}

/// `draw` with the top frame's stream, or `None` outside a run.
pub(crate) fn with_stream<R>(draw: impl FnOnce(&mut Rng) -> R) -> Option<R> {
    FRAMES.with(|f| {
        let mut frames = f.borrow_mut();
        let state = frames.last_mut()?;
        let stream = state.stream.get_or_insert_with(|| {
            let seed = state.base.next_u64() ^ STREAM_SALT;
            Rng::seed_from_u64(seed)
        });
        Some(draw(stream))
    })
}

/// Records the KL term of the layer whose parameter is `id`, once per run: a layer called
/// twice in a run counts its KL once. Does nothing outside a run.
pub(crate) fn add_kl(id: ParamId, kl: impl FnOnce() -> LayerKl) {
    let recorded = FRAMES.with(|f| {
        f.borrow()
            .last()
            .is_none_or(|s| s.kls.iter().any(|(seen, _)| *seen == id))
    });
    if recorded {
        return;
    }
    // Computed outside the borrow, so that the frame is free while burn's ops run.
    let kl = kl();
    FRAMES.with(|f| {
        if let Some(s) = f.borrow_mut().last_mut() {
            s.kls.push((id, kl));
        }
    });
}

/// The weights the layer whose parameter is `id` drew for this run, drawing them with
/// `draw` at its first call in the run (so that every call of the layer in one run uses the
/// same draw), or `None` outside a run.
pub(crate) fn weights_once(
    id: ParamId,
    draw: impl FnOnce(&mut Rng) -> [Tensor<2>; 2],
) -> Option<[Tensor<2>; 2]> {
    let known = FRAMES.with(|f| {
        f.borrow().last().map(|s| {
            s.weights
                .iter()
                .find(|(seen, _)| *seen == id)
                .map(|(_, w)| w.clone())
        })
    });
    match known {
        None => None,
        Some(Some(weights)) => Some(weights),
        Some(None) => {
            let weights = with_stream(draw)?;
            FRAMES.with(|f| {
                if let Some(s) = f.borrow_mut().last_mut() {
                    s.weights.push((id, weights.clone()));
                }
            });
            Some(weights)
        }
    }
}
