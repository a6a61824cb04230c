//! Ctrl-C: the first one cancels the run (which still writes its report of
//! what finished); a second one exits at once with status 130.

use tokio_util::sync::CancellationToken;

/// Watches for Ctrl-C while a run is in progress.
pub fn on_ctrl_c(cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return; // no signal handling on this platform: nothing to watch
        }
        eprintln!(
            "interrupted: stopping the run and writing the report (Ctrl-C again to quit at once)"
        );
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(super::Exit::Interrupted as i32);
        }
    })
}
