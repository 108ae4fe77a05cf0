//! Single-flight for fetches shared by all workers.
//!
//! The first caller spawns the fetch on its own worker (awc futures are
//! `!Send`); every other caller waits on a `watch` channel for the run to end.
//! No lock is held while the fetch runs, and the spawned task outlives a
//! cancelled request, so waiters are never left hanging by a client that
//! disconnected.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::sync::watch;

#[derive(Clone)]
pub(crate) struct Flight(Arc<Inner>);

struct Inner {
    /// Upper bound on one run: whatever the work does, the flag resets.
    limit: Duration,
    running: AtomicBool,
    finished: watch::Sender<u64>,
}

/// Marks the run finished even if the task panics or is dropped.
struct RunGuard(Flight);

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.0.0.running.store(false, Ordering::Release);
        self.0.0.finished.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl Flight {
    pub(crate) fn new(limit: Duration) -> Self {
        Self(Arc::new(Inner {
            limit,
            running: AtomicBool::new(false),
            finished: watch::channel(0).0,
        }))
    }

    pub(crate) fn is_running(&self) -> bool {
        self.0.running.load(Ordering::Acquire)
    }

    /// Starts `work` unless a run is in progress; never waits.
    /// Returns `true` if this call started a run.
    pub(crate) fn start<F>(&self, work: impl FnOnce() -> F) -> bool
    where
        F: Future<Output = ()> + 'static,
    {
        if self
            .0
            .running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        let guard = RunGuard(self.clone());
        let fut = actix_rt::time::timeout(self.0.limit, work());
        actix_rt::spawn(async move {
            if fut.await.is_err() {
                tracing::warn!("a shared fetch overran its deadline and was abandoned");
            }
            drop(guard);
        });
        true
    }

    /// Starts `work` (or joins the run in progress) and waits up to `wait`
    /// for it to finish. Returns `false` on timeout.
    pub(crate) async fn run<F>(&self, work: impl FnOnce() -> F, wait: Duration) -> bool
    where
        F: Future<Output = ()> + 'static,
    {
        // Subscribe before starting so the completion cannot be missed.
        let mut finished = self.0.finished.subscribe();
        self.start(work);
        matches!(
            tokio::time::timeout(wait, finished.changed()).await,
            Ok(Ok(()))
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[actix_rt::test]
    async fn concurrent_callers_share_one_run() {
        let flight = Flight::new(Duration::from_secs(10));
        let runs = Arc::new(AtomicUsize::new(0));
        let calls = (0..50).map(|_| {
            let runs = runs.clone();
            let flight = flight.clone();
            async move {
                flight
                    .run(
                        move || async move {
                            actix_rt::time::sleep(Duration::from_millis(20)).await;
                            runs.fetch_add(1, Ordering::SeqCst);
                        },
                        Duration::from_secs(2),
                    )
                    .await
            }
        });
        let results = futures_util::future::join_all(calls).await;
        assert!(results.iter().all(|ok| *ok));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // A later call starts a new run.
        let runs2 = runs.clone();
        assert!(
            flight
                .run(
                    move || async move {
                        runs2.fetch_add(1, Ordering::SeqCst);
                    },
                    Duration::from_secs(2)
                )
                .await
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[actix_rt::test]
    async fn a_stalled_run_is_abandoned_and_the_next_need_runs_again() {
        let flight = Flight::new(Duration::from_millis(50));
        let stalled = flight
            .run(std::future::pending::<()>, Duration::from_secs(2))
            .await;
        assert!(stalled, "waiters are released when the run is abandoned");
        assert!(!flight.is_running());
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let ok = flight
            .run(
                move || async move {
                    r.fetch_add(1, Ordering::SeqCst);
                },
                Duration::from_secs(2),
            )
            .await;
        assert!(ok && ran.load(Ordering::SeqCst) == 1);
    }

    #[actix_rt::test]
    async fn waiting_is_bounded() {
        let flight = Flight::new(Duration::from_secs(10));
        let ok = flight
            .run(
                || actix_rt::time::sleep(Duration::from_secs(5)),
                Duration::from_millis(50),
            )
            .await;
        assert!(!ok);
    }
}
