//! Entering and leaving the terminal UI. A guard restores the terminal on drop, and a chained
//! panic hook restores it before the original hook prints, so a panic never leaves the
//! terminal raw; the hook also tells the event loop, which ends the explorer instead of going
//! on drawing on a terminal that is no longer in raw mode. Restoring twice is harmless.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

static ACTIVE: AtomicBool = AtomicBool::new(false);

/// A panic happened somewhere (any thread, any task) since the hook was installed.
static PANICKED: AtomicBool = AtomicBool::new(false);
static PANIC: std::sync::LazyLock<tokio::sync::Notify> =
    std::sync::LazyLock::new(tokio::sync::Notify::new);

/// Whether anything has panicked.
pub fn panicked() -> bool {
    PANICKED.load(Ordering::SeqCst)
}

/// Resolves once anything has panicked.
pub async fn panic_notified() {
    let notified = PANIC.notified();
    if panicked() {
        return;
    }
    notified.await;
}

/// Restores the terminal when dropped.
pub struct TerminalGuard(());

impl TerminalGuard {
    /// Raw mode, alternate screen, mouse capture; installs the panic hook once.
    pub fn enter() -> io::Result<Self> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = io::stdout();
        if let Err(e) = execute!(out, EnterAlternateScreen, EnableMouseCapture) {
            restore();
            return Err(e);
        }
        Ok(Self(()))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves the UI if it is up; does nothing otherwise.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = execute!(
            out,
            DisableMouseCapture,
            LeaveAlternateScreen,
            crossterm::cursor::Show
        );
        let _ = disable_raw_mode();
        let _ = out.flush();
    }
}

/// Restores the terminal on a panic, records it for the event loop, then lets the original
/// hook print it. Installed once.
pub fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let original = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        PANICKED.store(true, Ordering::SeqCst);
        PANIC.notify_one();
        original(info);
    }));
}

/// Asks the terminal to put `text` on the clipboard (OSC 52): works over SSH and in tmux
/// with `set-clipboard on`.
pub fn copy_osc52(text: &str) -> io::Result<()> {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let mut out = io::stdout();
    write!(out, "\x1b]52;c;{encoded}\x07")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    #[test]
    fn restore_without_entering_is_harmless() {
        super::restore();
        super::restore();
    }
}
