//! Where a profile's password comes from, resolved only when no other source won (the command
//! line, `MQSCOPE_PASSWORD`, a prompt): a `password_command` never runs for nothing.
//!
//! A `password_command` runs through `sh -c` with no input, for at most 10 seconds (then it is
//! killed), and only from a config file that neither group nor others can write: anyone who
//! can edit the file could otherwise make mqscope run anything.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::secret::Secret;

/// How long a password command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// A profile's password source, not yet read.
#[derive(Clone)]
pub struct ProfilePassword {
    /// The profile's name, for messages.
    pub profile: String,
    pub source: Source,
}

#[derive(Clone)]
pub enum Source {
    Env(String),
    File(PathBuf),
    /// The command and the config file it came from.
    Command(String, Option<PathBuf>),
    Inline(Secret),
}

impl std::fmt::Debug for ProfilePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            Source::Env(var) => format!("env {var}"),
            Source::File(path) => format!("file {}", path.display()),
            Source::Command(..) => "command".into(),
            Source::Inline(_) => "inline ***".into(),
        };
        write!(f, "ProfilePassword({}: {source})", self.profile)
    }
}

impl ProfilePassword {
    /// Reads the password now. Errors name the profile and the source.
    pub fn resolve(&self) -> Result<Secret, String> {
        let name = &self.profile;
        match &self.source {
            Source::Env(var) => std::env::var(var)
                .map(Secret::new)
                .map_err(|_| format!("profile {name}: password_env names {var}, which is not set")),
            Source::File(path) => std::fs::read_to_string(path)
                .map(|text| Secret::new(text.lines().next().unwrap_or_default()))
                .map_err(|e| format!("profile {name}: password_file {}: {e}", path.display())),
            Source::Command(cmd, file) => {
                if let Some(file) = file {
                    refuse_if_writable_by_others(file).map_err(|why| {
                        format!("profile {name}: password_command refused: {why}")
                    })?;
                }
                run_command(cmd, COMMAND_TIMEOUT)
                    .map_err(|why| format!("profile {name}: password_command {why}"))
            }
            Source::Inline(secret) => {
                tracing::warn!(
                    profile = name.as_str(),
                    "the profile keeps its password in the config file; prefer password_env, \
                     password_file or password_command"
                );
                Ok(secret.clone())
            }
        }
    }
}

fn refuse_if_writable_by_others(file: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(file)
        .map_err(|e| format!("{}: {e}", file.display()))?
        .permissions()
        .mode();
    if mode & 0o022 != 0 {
        return Err(format!(
            "{} is writable by group or others (mode {:o}), so anyone could change the command \
             it runs: chmod go-w {}",
            file.display(),
            mode & 0o777,
            file.display()
        ));
    }
    Ok(())
}

/// Runs `cmd` and takes the first line of its output; kills it after `timeout`; a failure
/// says how it ended and what it wrote on stderr.
pub fn run_command(cmd: &str, timeout: Duration) -> Result<Secret, String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    // Read both pipes meanwhile, so a chatty command cannot block on a full pipe.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.by_ref().take(64 * 1024).read_to_end(&mut out);
            }
            out
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<_>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<_>));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "did not finish within {} s and was stopped",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("cannot wait for it: {e}")),
        }
    };
    let out = stdout.join().unwrap_or_default();
    let err = stderr.join().unwrap_or_default();
    if !status.success() {
        let said = String::from_utf8_lossy(&err);
        let said = crate::sanitize::line(said.trim().as_bytes()).into_owned();
        return Err(if said.is_empty() {
            format!("failed ({status})")
        } else {
            format!("failed ({status}): {said}")
        });
    }
    let text = String::from_utf8_lossy(&out);
    Ok(Secret::new(text.lines().next().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_gives_its_first_line_fails_with_its_stderr_and_is_stopped_in_time() {
        let ok = run_command("printf 's3cret\\nignored'", COMMAND_TIMEOUT).expect("runs");
        assert_eq!(ok.expose(), "s3cret");
        let err =
            run_command("echo 'vault is sealed' >&2; exit 3", COMMAND_TIMEOUT).expect_err("fails");
        assert!(
            err.contains("exit status: 3") && err.contains("vault is sealed"),
            "{err}"
        );
        let started = Instant::now();
        let err = run_command("sleep 30", Duration::from_millis(300)).expect_err("too slow");
        assert!(err.contains("stopped"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_config_file_others_can_write_cannot_run_commands() {
        use std::os::unix::fs::PermissionsExt as _;
        let path = std::env::temp_dir().join(format!("mqscope-pw-{}.toml", std::process::id()));
        std::fs::write(&path, "").expect("written");
        let p = ProfilePassword {
            profile: "a".into(),
            source: Source::Command("echo pw".into(), Some(path.clone())),
        };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        let err = p.resolve().expect_err("refused");
        assert!(
            err.contains("writable by group or others") && err.contains("chmod go-w"),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(p.resolve().expect("runs").expose(), "pw");
        let _ = std::fs::remove_file(&path);
    }
}
