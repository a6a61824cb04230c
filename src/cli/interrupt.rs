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

/// Watches for the stop signals while a real run (or resume) is in
/// progress: on the second, every agent process group is killed and the
/// progress display cleared before coordops exits.
pub fn watch_real_run(
    cancel: CancellationToken,
    process: &Arc<crate::runtime::process::ProcessBackend>,
    progress: &Arc<super::progress::Progress>,
) -> tokio::task::JoinHandle<()> {
    let (killer, display) = (Arc::clone(process), Arc::clone(progress));
    on_stop_signals(
        cancel,
        Some(Arc::new(move || {
            killer.kill_all_now();
            display.clear_now();
        })),
    )
}

/// Watches for the stop signals while a run is in progress.
pub fn on_stop_signals(
    cancel: CancellationToken,
    on_second: Option<OnSecond>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // Listen once, for both signals: one arriving in between is kept.
        let Some(mut signals) = StopSignals::new() else {
            return; // no signal handling on this platform: nothing to watch
        };
        let Some(first) = signals.next().await else {
            return;
        };
        super::progress::message_line(&format!(
            "{first}: stopping the run and writing its report (send it again to quit at once)"
        ));
        cancel.cancel();
        if signals.next().await.is_some() {
            if let Some(kill) = on_second {
                kill();
            }
            std::process::exit(super::Exit::Interrupted as i32);
        }
    })
}

/// The stop signals, listened to from creation on.
struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> Option<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Some(StopSignals {
                term: signal(SignalKind::terminate()).ok()?,
                hup: signal(SignalKind::hangup()).ok()?,
                int: signal(SignalKind::interrupt()).ok()?,
            })
        }
        #[cfg(not(unix))]
        {
            Some(StopSignals {})
        }
    }

    /// The next stop signal's name; `None` when signals cannot be watched.
    async fn next(&mut self) -> Option<&'static str> {
        #[cfg(unix)]
        {
            tokio::select! {
                r = self.int.recv() => r.map(|()| "interrupted"),
                r = self.term.recv() => r.map(|()| "terminated (SIGTERM)"),
                r = self.hup.recv() => r.map(|()| "hung up (SIGHUP)"),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.ok().map(|()| "interrupted")
        }
    }
}
