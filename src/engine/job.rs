//! `Job`: blocking background work (a recording, an export, and the jobs still to come) on its own thread,
//! with cancel, a stream of progress events and one result.
//!
//! ```text
//!  UI (main thread)                         worker thread
//!  Job::spawn(name, work) ───────────────▶  work(&ctx) -> anyhow::Result<T>
//!  job.canceller().cancel() ─── flag ────▶  ctx.is_cancelled()
//!  job.next().await  ◀── JobEvent::Progress ── ctx.progress(p)
//!                    ◀── JobEvent::Finished ── return value (or a panic, as an error)
//! ```
//!
//! The app consumes the events in a relm4 command (`next` is async and never blocks the main thread); the
//! command line simply calls the work function on its own thread. A job always ends with exactly one
//! `Finished`, also when the work panicked.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context;
use tokio::sync::mpsc;

/// What a job reports.
#[derive(Debug)]
pub enum JobEvent<P, T> {
    /// Work in progress.
    Progress(P),
    /// The job ended: its result, or the error as one line (with its causes) for people.
    Finished(Result<T, String>),
}

/// The work's side of a job: is it cancelled, and report progress.
pub struct JobContext<P> {
    cancel: Arc<AtomicBool>,
    events: mpsc::UnboundedSender<P>,
}

impl<P> JobContext<P> {
    /// True once someone asked the job to stop. Work checks this often and ends cleanly.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// The cancel flag itself, for engine functions that take `&AtomicBool`.
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancel
    }

    /// Reports progress. Never blocks; a receiver that went away is ignored (the job still runs to its end).
    pub fn progress(&self, p: P) {
        // Nobody listening is not an error: a window may close while its export finishes.
        let _ = self.events.send(p);
    }
}

/// Stops a job: cheap to clone, usable from any thread.
#[derive(Debug, Clone)]
pub struct Canceller(Arc<AtomicBool>);

impl Canceller {
    /// Asks the job to stop; it ends with its `Finished` event as soon as its work notices.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A running job.
pub struct Job<P, T> {
    cancel: Canceller,
    progress: mpsc::UnboundedReceiver<P>,
    result: Option<tokio::sync::oneshot::Receiver<Result<T, String>>>,
    thread: Option<JoinHandle<()>>,
}

impl<P: Send + 'static, T: Send + 'static> Job<P, T> {
    /// Starts `work` on a new thread named `name`.
    pub fn spawn(
        name: &str,
        work: impl FnOnce(&JobContext<P>) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<Self> {
        let cancel = Arc::new(AtomicBool::new(false));
        let (events, progress) = mpsc::unbounded_channel();
        let (done, result) = tokio::sync::oneshot::channel();
        let ctx = JobContext {
            cancel: cancel.clone(),
            events,
        };
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| work(&ctx)));
                let result = match outcome {
                    Ok(Ok(value)) => Ok(value),
                    Ok(Err(e)) => Err(format!("{e:#}")),
                    // The panic hook printed the details; the user learns that the job died.
                    Err(_) => Err("the job stopped unexpectedly (internal error)".to_owned()),
                };
                // The progress sender goes first, so that the receiver sees every progress event and then the end.
                drop(ctx);
                let _ = done.send(result);
            })
            .with_context(|| format!("cannot start the {name} thread"))?;
        Ok(Job {
            cancel: Canceller(cancel),
            progress,
            result: Some(result),
            thread: Some(thread),
        })
    }

    /// A handle that cancels this job.
    pub fn canceller(&self) -> Canceller {
        self.cancel.clone()
    }

    /// The next event: progress while the job runs, then `Finished` once, then `None`.
    pub async fn next(&mut self) -> Option<JobEvent<P, T>> {
        if let Some(p) = self.progress.recv().await {
            return Some(JobEvent::Progress(p));
        }
        let result = self.result.take()?;
        Some(JobEvent::Finished(result.await.unwrap_or_else(|_| {
            Err("the job stopped unexpectedly (internal error)".to_owned())
        })))
    }

    /// Blocks until the job's thread has ended (e.g. a recording writing its end record as the app quits).
    pub fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::warn!("a job thread panicked");
            }
        }
    }

    /// Splits off the thread handle, for owners that wait for the end elsewhere than where they read events.
    pub fn take_thread(&mut self) -> Option<JoinHandle<()>> {
        self.thread.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn run<P: Send + 'static, T: Send + 'static>(mut job: Job<P, T>) -> (Vec<P>, Result<T, String>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let mut progress = Vec::new();
            loop {
                match job.next().await {
                    Some(JobEvent::Progress(p)) => progress.push(p),
                    Some(JobEvent::Finished(r)) => {
                        assert!(job.next().await.is_none(), "nothing after Finished");
                        return (progress, r);
                    }
                    None => panic!("no Finished event"),
                }
            }
        })
    }

    #[test]
    fn progress_then_one_result() {
        let job = Job::spawn("test", |ctx: &JobContext<u32>| {
            for i in 0..5 {
                ctx.progress(i);
            }
            Ok("done")
        })
        .expect("spawn");
        let (progress, result) = run(job);
        assert_eq!(progress, vec![0, 1, 2, 3, 4]);
        assert_eq!(result, Ok("done"));
    }

    #[test]
    fn cancel_reaches_the_work_and_errors_keep_their_causes() {
        let job = Job::spawn("test", |ctx: &JobContext<()>| -> anyhow::Result<()> {
            while !ctx.is_cancelled() {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(anyhow::anyhow!("disk gone")).context("export cancelled")
        })
        .expect("spawn");
        job.canceller().cancel();
        let (_, result) = run(job);
        assert_eq!(result, Err("export cancelled: disk gone".to_owned()));
    }

    #[test]
    fn a_panicking_job_still_finishes() {
        let job = Job::spawn("test", |_: &JobContext<()>| -> anyhow::Result<()> {
            panic!("boom");
        })
        .expect("spawn");
        let (_, result) = run(job);
        assert!(result.expect_err("an error").contains("unexpectedly"));
    }
}
