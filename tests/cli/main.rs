//! The `mqscope` binary as a script would use it: help, usage errors, `sub` and `pub` against
//! a real mosquitto, exit codes.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

#[path = "../support/mod.rs"]
mod support;

mod alerts;
mod clean;
mod config;
mod decode;
mod demo;
mod doctor;
mod errors;
mod filter;
mod hostile;
mod proxy;
mod publish;
mod record;
mod secrets;
mod signals;
mod subscribe;
mod tunnel;
mod unicode;
mod watch;
mod will;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The binary, with logs kept out of the home directory and no stray environment.
pub fn mqscope() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mqscope"));
    cmd.env(
        "MQSCOPE_LOG_DIR",
        std::env::temp_dir().join("mqscope-test-logs"),
    );
    // Never the user's own config file: a path where nothing is.
    cmd.env(
        "MQSCOPE_CONFIG",
        std::env::temp_dir().join("mqscope-test-no-config/config.toml"),
    );
    for var in [
        "MQSCOPE_PROFILE",
        "MQSCOPE_BROKER",
        "MQSCOPE_PASSWORD",
        "MQSCOPE_USERNAME",
        "MQSCOPE_LOG",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs to completion (killed after `secs`), feeding `stdin`.
pub fn run(mut cmd: Command, stdin: &[u8], secs: u64) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    wait(child, secs)
}

/// Waits for a child with a deadline, collecting its output.
pub fn wait(mut child: Child, secs: u64) -> Output {
    let (tx, rx) = mpsc::channel();
    let mut stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        let _ = tx.send(out);
    });
    let (etx, erx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut err = Vec::new();
        if let Some(mut e) = stderr {
            let _ = e.read_to_end(&mut err);
        }
        let _ = etx.send(err);
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let err = erx.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
            let out = rx.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
            panic!(
                "mqscope did not finish within {secs} s\nstderr: {}\nstdout (last 500 B): {}",
                String::from_utf8_lossy(&err),
                String::from_utf8_lossy(&out[out.len().saturating_sub(500)..])
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default(),
        stderr: erx.recv_timeout(Duration::from_secs(5)).unwrap_or_default(),
    }
}

/// A running `mqscope sub --events`, returned once it reports its subscription (on stderr
/// in text mode, as a JSON line on stdout with `--json`).
pub struct Subscriber {
    child: Child,
    lines: mpsc::Receiver<(bool, String)>,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

fn forward_lines(
    stream: impl Read + Send + 'static,
    is_stdout: bool,
    tx: mpsc::Sender<(bool, String)>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if tx.send((is_stdout, line)).is_err() {
                return;
            }
        }
    });
}

impl Subscriber {
    pub fn start(args: &[&str]) -> Self {
        let mut all = vec!["sub", "--events"];
        all.extend_from_slice(args);
        Self::spawn(&all, "subscribed")
    }

    /// Any mode, returned once a line containing `ready` showed on stdout or stderr.
    pub fn spawn(args: &[&str], ready: &str) -> Self {
        let mut cmd = mqscope();
        cmd.args(args);
        Self::spawn_cmd(cmd, ready)
    }

    /// A prepared command (environment, arguments), returned once `ready` showed.
    pub fn spawn_cmd(mut cmd: Command, ready: &str) -> Self {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let (tx, rx) = mpsc::channel();
        forward_lines(child.stdout.take().unwrap(), true, tx.clone());
        forward_lines(child.stderr.take().unwrap(), false, tx);
        let mut sub = Self {
            child,
            lines: rx,
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        sub.wait_for(ready);
        sub
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn take(&mut self, (is_stdout, line): (bool, String)) -> bool {
        let found = line.contains("subscribed");
        if is_stdout {
            self.stdout.push(line);
        } else {
            self.stderr.push(line);
        }
        found
    }

    pub fn wait_for(&mut self, needle: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(item) = self.lines.recv_timeout(Duration::from_millis(100)) {
                let found = item.1.contains(needle);
                self.take(item);
                if found {
                    return;
                }
            }
        }
        panic!(
            "no '{needle}' in the output: {:#?} {:#?}",
            self.stdout, self.stderr
        );
    }

    /// Sends `SIGNAL` (TERM, HUP, INT) with `kill`; returns the exit code once the process
    /// ended and its output is read.
    pub fn signal(self, signal: &str) -> (String, Option<i32>) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -{signal}");
        self.finish(10)
    }

    /// Waits for the process to end; returns all of its stdout and its exit code.
    pub fn finish(mut self, secs: u64) -> (String, Option<i32>) {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("sub did not finish; stderr: {:#?}", self.stderr);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(item) = self.lines.recv_timeout(Duration::from_millis(300)) {
            self.take(item);
        }
        let mut out = self.stdout.join("\n");
        if !out.is_empty() {
            out.push('\n');
        }
        (out, status.code())
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of some output, sorted (the order of retained messages is the broker's).
pub fn sorted_lines(bytes: &[u8]) -> Vec<String> {
    let mut lines: Vec<String> = String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// `mqscope pub -b URL ARGS...`, expected to succeed.
pub fn publish(url: &str, args: &[&str]) {
    let mut cmd = mqscope();
    cmd.arg("pub").arg("-b").arg(url).args(args);
    let out = run(cmd, b"", 20);
    assert!(
        out.status.success(),
        "pub {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
