//! The tokio runtime a Pravega store runs its async work on, behind the blocking storage API.

use std::future::Future;
use std::time::Duration;

use crate::error::{Result, StoreError};

use super::errors::join_err;

/// The tokio runtime the blocking API runs its work on.
pub(crate) struct Rt {
    rt: Option<tokio::runtime::Runtime>,
}

impl Rt {
    /// A small multi-threaded runtime: two workers carry every tail wait and append of the store.
    pub(crate) fn new() -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hindsight-pravega")
            .enable_all()
            .build()
            .map_err(|e| StoreError::io("cannot start the Pravega client runtime", e))?;
        Ok(Rt { rt: Some(rt) })
    }

    pub(crate) fn handle(&self) -> Result<&tokio::runtime::Handle> {
        self.rt
            .as_ref()
            .map(|r| r.handle())
            .ok_or_else(|| StoreError::Remote("Pravega runtime is shut down".into()))
    }

    /// Runs `fut` on the runtime and blocks the calling thread until it ends or `limit` passes. Works from any
    /// thread, including one that runs another async executor.
    pub(crate) fn run<T, F>(&self, what: &str, limit: Option<Duration>, fut: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let task = self.handle()?.spawn(async move {
            match limit {
                Some(limit) => tokio::time::timeout(limit, fut).await.map_err(|_| limit),
                None => Ok(fut.await),
            }
        });
        match futures::executor::block_on(task) {
            Ok(Ok(r)) => r,
            Ok(Err(limit)) => Err(StoreError::Timeout(format!(
                "{what}: no answer from Pravega within {:.1} s",
                limit.as_secs_f64()
            ))),
            Err(e) => Err(join_err(what, e)),
        }
    }
}

impl Drop for Rt {
    fn drop(&mut self) {
        // Never block (or panic) here, even when the last handle goes away on an async thread.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
