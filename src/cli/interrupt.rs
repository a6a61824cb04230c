//! Stopping a run from outside: Ctrl-C (SIGINT), SIGTERM (what `timeout`,
//! CI cancellation, `docker stop` and systemd send) and SIGHUP (a closed
//! terminal) all take the same path. The first cancels the run, which stops
//! its agents and still writes its report and journal (status ABORTED,
//! exit 4); a second one kills what is left and exits at once with 130.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

/// Called on the second signal, just before exiting (e.g. to SIGKILL every
/// agent process group).
pub type OnSecond = Arc<dyn Fn() + Send + Sync>;

/// Watches for the stop signals while a run is in progress.
pub fn on_stop_signals(
    cancel: CancellationToken,
    on_second: Option<OnSecond>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(first) = next_signal().await else {
            return; // no signal handling on this platform: nothing to watch
        };
        super::progress::message_line(&format!(
            "{first}: stopping the run and writing its report (send it again to quit at once)"
        ));
        cancel.cancel();
        if next_signal().await.is_some() {
            if let Some(kill) = on_second {
                kill();
            }
            std::process::exit(super::Exit::Interrupted as i32);
        }
    })
}

/// Waits for the next stop signal; its name, or `None` when signals cannot
/// be watched.
async fn next_signal() -> Option<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).ok()?;
        let mut hup = signal(SignalKind::hangup()).ok()?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.ok().map(|()| "interrupted"),
            _ = term.recv() => Some("terminated (SIGTERM)"),
            _ = hup.recv() => Some("hung up (SIGHUP)"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.ok().map(|()| "interrupted")
    }
}
