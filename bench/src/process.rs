//! Reaping a child process with its resource usage: its own peak resident
//! memory, which `getrusage(RUSAGE_CHILDREN)` would mix with earlier children.

use std::process::Child;

use anyhow::{Result, ensure};

/// Waits for `child` and returns its wait status and resource usage.
///
/// # Errors
/// `wait4` fails (the child was already reaped).
pub fn wait_with_usage(child: &Child) -> Result<(i32, libc::rusage)> {
    let pid = libc::pid_t::try_from(child.id())?;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for; both pointers
    // point to live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    ensure!(waited == pid, "wait4 failed");
    Ok((status, usage))
}
