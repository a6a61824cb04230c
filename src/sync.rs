//! Locking shared records.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`, also when a thread panicked while holding it: what coordops
/// guards are plain records (logs, buffers, process lists), still valid, and
/// a run must go on writing its record rather than panic in turn.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
