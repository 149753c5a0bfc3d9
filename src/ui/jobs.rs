//! Engine jobs consumed through relm4 commands: the job's events become the component's command output, off the
//! main thread, until the job finishes or the component goes away.

use relm4::{Component, ComponentSender};

use crate::engine::job::{Job, JobEvent};

/// Forwards every event of `job` to `sender`'s component as `wrap(event)`.
pub fn forward<C, P, T>(
    sender: &ComponentSender<C>,
    mut job: Job<P, T>,
    wrap: fn(JobEvent<P, T>) -> C::CommandOutput,
) where
    C: Component,
    C::CommandOutput: Send,
    P: Send + 'static,
    T: Send + 'static,
{
    sender.command(move |out, shutdown| {
        shutdown
            .register(async move {
                while let Some(event) = job.next().await {
                    if out.send(wrap(event)).is_err() {
                        break;
                    }
                }
            })
            .drop_on_shutdown()
    });
}
