//! Whether a computation asks for one of the fused *network* kernels, a whole network in one
//! op: an `Mlp` or a `MixtureNet` (not the fused activations, the affine map or the densities,
//! which replace one to a few ops each). A fit records its step on burn's capture device, where no fused kernel runs and the
//! composed ops are recorded instead; a step whose network is one of the library's fused
//! kernels is faster on them (burn's autodiff with the kernels) than on a replay of its
//! composed ops, and `inferrs-vi` asks this to keep it there. The answer depends on the model
//! alone.

use std::cell::Cell;

thread_local! {
    /// While [`watch_network_kernels`] runs on this thread: whether a network kernel was asked.
    static ASKED: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Runs `f` and says whether it asked for a fused network kernel (on any device).
pub fn watch_network_kernels<R>(f: impl FnOnce() -> R) -> (R, bool) {
    let before = ASKED.with(|a| a.replace(Some(false)));
    // Restored on unwind too, so that a panicking record does not leave the watch on.
    struct Restore(Option<bool>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0;
            ASKED.with(|a| {
                let inner = a.get().unwrap_or(false);
                a.set(outer.map(|o| o || inner));
            });
        }
    }
    let restore = Restore(before);
    let out = f();
    let asked = ASKED.with(|a| a.get().unwrap_or(false));
    drop(restore);
    (out, asked)
}

/// Notes that a fused network kernel is asked for (see [`watch_network_kernels`]): the
/// networks' `forward` (`inferrs-nn`'s `Mlp` and `MixtureNet`) call it on every device, before
/// they know whether the kernel runs there.
pub fn note_network_kernel() {
    ASKED.with(|a| {
        if a.get().is_some() {
            a.set(Some(true));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_sees_what_runs_inside_it_and_nests() {
        note_network_kernel(); // outside any watch: nothing to see
        let ((), asked) = watch_network_kernels(|| ());
        assert!(!asked);
        let (inner, outer) = watch_network_kernels(|| {
            let ((), inner) = watch_network_kernels(note_network_kernel);
            inner
        });
        assert!(inner && outer);
    }
}
