//! The bound on HelmRelease reconciliations doing work at once (`--concurrency`):
//! fetching, rendering, applying, writing records. A reconciliation takes a
//! [`Slot`] before it starts and gives it back when it only waits for its
//! objects to become ready, so releases whose workloads take minutes to
//! start do not stop the rest of the queue; waiting reconciliations are
//! bounded apart ([`in_flight`]). Slots are handed out in the order asked
//! for (the semaphore is fair), so the first releases created finish first.

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many reconciliations may be in flight (working or waiting for
/// readiness) for `concurrency` working at once.
pub fn in_flight(concurrency: u16) -> u16 {
    concurrency.saturating_mul(WAITING_PER_SLOT)
}

/// Reconciliations that may wait for readiness per working slot.
const WAITING_PER_SLOT: u16 = 16;

/// The slots (`--concurrency` of them).
#[derive(Clone)]
pub struct Work(Arc<Semaphore>);

impl Work {
    /// `concurrency` slots (at least one).
    pub fn new(concurrency: u16) -> Self {
        Work(Arc::new(Semaphore::new(usize::from(concurrency.max(1)))))
    }

    /// Waits for a free slot.
    pub async fn slot(&self) -> Slot {
        // The semaphore is never closed, so acquiring cannot fail; a
        // closed one would only mean no bound.
        Slot(Mutex::new(self.0.clone().acquire_owned().await.ok()))
    }
}

/// One reconciliation's hold on a slot; dropping it gives the slot back.
pub struct Slot(Mutex<Option<OwnedSemaphorePermit>>);

impl Slot {
    /// Gives the slot back before waiting: what follows is watching objects
    /// become ready and two writes.
    pub fn free(&self) {
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        held.take();
    }

    /// Whether the slot is still held.
    pub fn held(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_freed_slot_lets_the_next_reconciliation_start() {
        let work = Work::new(1);
        let first = work.slot().await;
        assert!(first.held());
        let second = tokio::spawn({
            let work = work.clone();
            async move { work.slot().await.held() }
        });
        tokio::task::yield_now().await;
        assert!(!second.is_finished());
        first.free();
        assert!(!first.held());
        assert!(second.await.unwrap());
    }

    #[test]
    fn waiting_reconciliations_are_bounded_per_slot() {
        assert_eq!(in_flight(8), 128);
        assert_eq!(in_flight(u16::MAX), u16::MAX);
    }
}
