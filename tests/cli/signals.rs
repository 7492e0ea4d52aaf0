//! SIGTERM, SIGHUP and SIGINT end every mode cleanly: the explorer, in a real terminal (tmux),
//! leaves the alternate screen, mouse reporting and a visible cursor behind, says goodbye to
//! the broker with DISCONNECT, removes its private socket directory and exits 128 + the
//! signal; `sub` flushes what it printed first.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::mqscope;
use super::support::{Mosquitto, TempDir};

const SIGNALS: [(&str, i32); 3] = [("TERM", 15), ("HUP", 1), ("INT", 2)];

/// A tmux server of the test's own, gone when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(tag: &str) -> Self {
        Self {
            socket: format!("mqscope-test-{tag}-{}", std::process::id()),
        }
    }

    fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux must be installed (apt-get install tmux)");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn pane(&self, format: &str) -> String {
        self.cmd(&["display-message", "-p", "-t", "t", format])
    }

    fn wait_for(&self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{}",
                self.cmd(&["capture-pane", "-p", "-t", "t"])
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .stderr(Stdio::null())
            .status();
    }
}

fn private_dirs(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("mqscope-"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn each_signal_restores_the_terminal_disconnects_and_exits_128_plus_it() {
    let broker = Mosquitto::plain();
    for (name, number) in SIGNALS {
        let runtime = TempDir::new("runtime");
        let tmux = Tmux::new(name);
        let client_id = format!("signal-{name}");
        let cmd = mqscope();
        // A shell runs the explorer in the foreground of the pane, then reports its exit
        // status and stays, so the terminal's state after the explorer can be read.
        let mut line = format!("env XDG_RUNTIME_DIR={}", runtime.path().display());
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                let _ = write!(line, " {}={}", k.to_string_lossy(), v.to_string_lossy());
            }
        }
        let _ = write!(
            line,
            " {} -b {} -i {client_id} -t '#'; echo exit=$?; sleep 60",
            cmd.get_program().to_string_lossy(),
            broker.url()
        );
        tmux.cmd(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "120",
            "-y",
            "36",
            &line,
        ]);
        tmux.wait_for("the explorer's screen", |t| {
            t.cmd(&["capture-pane", "-p", "-t", "t"]).contains("topics")
                && t.pane("#{alternate_on}") == "1"
        });
        assert_eq!(
            tmux.pane("#{mouse_any_flag}"),
            "1",
            "mouse reporting is on while up"
        );
        assert_eq!(
            private_dirs(runtime.path()).len(),
            1,
            "the private socket directory"
        );
        let shell = tmux.pane("#{pane_pid}");
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .unwrap_or_default();
        let pid = children
            .split_whitespace()
            .next()
            .expect("the explorer's pid")
            .to_string();
        let killed = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status();
        assert!(killed.is_ok_and(|s| s.success()));
        tmux.wait_for("the explorer to end", |t| {
            t.cmd(&["capture-pane", "-p", "-t", "t"]).contains("exit=")
        });
        let screen = tmux.cmd(&["capture-pane", "-p", "-t", "t"]);
        assert!(
            screen.contains(&format!("exit={}", 128 + number)),
            "SIG{name}: exit status:\n{screen}"
        );
        assert_eq!(
            tmux.pane("#{alternate_on}"),
            "0",
            "SIG{name}: alternate screen left"
        );
        assert_eq!(
            tmux.pane("#{mouse_any_flag}"),
            "0",
            "SIG{name}: mouse reporting off"
        );
        assert_eq!(
            tmux.pane("#{cursor_flag}"),
            "1",
            "SIG{name}: cursor visible"
        );
        let screen = tmux.cmd(&["capture-pane", "-p", "-t", "t"]);
        assert!(screen.contains(&format!("ended by SIG{name}")), "{screen}");
        assert!(
            private_dirs(runtime.path()).is_empty(),
            "SIG{name}: the private socket directory is removed"
        );
        let log = broker.log();
        assert!(
            log.contains(&format!("Client {client_id} disconnected")),
            "SIG{name}: DISCONNECT sent:\n{log}"
        );
    }
}

#[test]
fn sub_flushes_what_it_printed_and_exits_128_plus_the_signal() {
    let broker = Mosquitto::plain();
    for (name, number) in SIGNALS {
        let url = broker.url();
        let mut sub = super::Subscriber::start(&["-b", &url, "-t", "sig/#"]);
        super::publish(&url, &["-t", "sig/温度", "-m", name]);
        sub.wait_for(name);
        let (stdout, code) = sub.signal(name);
        assert_eq!(code, Some(128 + number), "SIG{name}");
        assert!(
            stdout.contains(&format!("sig/温度 {name}\n")),
            "flushed before the exit: {stdout}"
        );
    }
}

#[test]
fn pub_reading_stdin_ends_on_a_signal_and_leaves_no_private_directory() {
    let broker = Mosquitto::plain();
    for (name, number) in SIGNALS {
        let runtime = TempDir::new("runtime");
        let mut cmd = mqscope();
        cmd.env("XDG_RUNTIME_DIR", runtime.path())
            .args(["pub", "-b", &broker.url(), "-t", "sig/lines", "-l"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while private_dirs(runtime.path()).is_empty() {
            assert!(Instant::now() < deadline, "pub never connected");
            std::thread::sleep(Duration::from_millis(20));
        }
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &child.id().to_string()])
            .status();
        assert!(sent.is_ok_and(|s| s.success()));
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(128 + number), "SIG{name}");
        assert!(
            private_dirs(runtime.path()).is_empty(),
            "SIG{name}: directory removed"
        );
    }
}
