//! SIGINT, SIGTERM and SIGHUP as one stream, so every mode ends the same way on each: the
//! explorer restores the terminal and disconnects, `sub` flushes what it printed, every mode
//! sends DISCONNECT and removes its private socket directory, and the exit code is 128 plus
//! the signal's number, as a shell reports a process killed by it. (An SSH session that drops
//! sends SIGHUP; `kill` and systemd send SIGTERM.)

use std::io;
use std::process::ExitCode;

use tokio::signal::unix::{Signal, SignalKind, signal};

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGTERM: i32 = 15;

/// The three signals that end a mode. Listening replaces their default action (termination),
/// so a mode that creates this must also wait on it.
pub struct Signals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl Signals {
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// The next of them to arrive, by number.
    pub async fn recv(&mut self) -> i32 {
        tokio::select! {
            _ = self.int.recv() => SIGINT,
            _ = self.term.recv() => SIGTERM,
            _ = self.hup.recv() => SIGHUP,
        }
    }
}

/// The exit code for a mode ended by `signal`: 128 + its number.
pub fn exit_code(signal: i32) -> ExitCode {
    ExitCode::from(u8::try_from(128 + signal).unwrap_or(u8::MAX))
}

/// The signal's name, for a last line.
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGHUP => "SIGHUP",
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
