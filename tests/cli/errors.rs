//! Usage errors name the flag, the value and what is allowed, with exit code 2.

use std::fmt::Write as _;

use super::{mqscope, run};

fn usage_error(args: &[&str]) -> String {
    let mut cmd = mqscope();
    cmd.args(args);
    let out = run(cmd, b"", 10);
    assert_eq!(out.status.code(), Some(2), "{args:?} must be a usage error");
    assert!(out.stdout.is_empty());
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn invalid_values_name_the_flag_and_the_allowed_values() {
    let cases: &[&[&str]] = &[
        &["sub", "-b", "http://broker"],
        &["sub", "-b", "mqtt://broker:99999"],
        &["sub", "-b", "mqtt://alice:secret@broker"],
        &["sub", "-k", "2"],
        &["sub", "-V", "6"],
        &["sub", "-q", "3"],
        &["sub", "-t", "a/#/b"],
        &["sub", "--connect-timeout", "0"],
        &["pub", "-t", "a/+", "-m", "x"],
        &["pub", "-t", "a"],
        &["pub", "-t", "a", "-m", "x", "-n"],
        &["pub", "-t", "a", "-m", "x", "--user-property", "novalue"],
        &["sub", "--cert", "c.pem"],
        &["sub", "--frobnicate"],
    ];
    let mut report = String::new();
    for args in cases {
        let _ = writeln!(
            report,
            "$ mqscope {}\n{}",
            args.join(" "),
            usage_error(args)
        );
    }
    insta::assert_snapshot!(report);
}

#[test]
fn config_errors_found_after_parsing_are_usage_errors_too() {
    let err = usage_error(&[
        "sub",
        "-b",
        "mqtt://127.0.0.1:1",
        "--ca-file",
        "/nonexistent.pem",
    ]);
    assert!(
        err.contains("--ca-file") && err.contains("mqtts://"),
        "{err}"
    );
    let err = usage_error(&[
        "sub",
        "-b",
        "mqtt://127.0.0.1:1",
        "--password-file",
        "/nonexistent",
    ]);
    assert!(err.contains("--password-file /nonexistent"), "{err}");
    let err = usage_error(&[
        "pub",
        "-t",
        "a",
        "-m",
        "x",
        "-V",
        "3.1.1",
        "--content-type",
        "t",
    ]);
    assert!(err.contains("need MQTT 5"), "{err}");
}

#[test]
fn help_lists_modes_options_and_examples() {
    for args in [&["--help"][..], &["sub", "--help"], &["pub", "--help"]] {
        let mut cmd = mqscope();
        cmd.args(args);
        let out = run(cmd, b"", 10);
        assert!(out.status.success());
        let name = format!("help_{}", args.join("_").replace('-', ""));
        insta::assert_snapshot!(name, String::from_utf8(out.stdout).unwrap());
    }
}

#[test]
fn bare_command_explains_what_to_run() {
    let err = usage_error(&[]);
    assert!(err.contains("mqscope sub"), "{err}");
}

#[test]
fn numbers_past_what_a_clock_can_hold_are_usage_errors() {
    for value in ["18446744073709551615", "31536001", "0"] {
        let err = usage_error(&["sub", "-W", value]);
        assert!(
            err.contains("--timeout <SECS>") && err.contains("1..=31536000"),
            "{value}: {err}"
        );
    }
    let err = usage_error(&["sub", "--max-packet-size", "1G"]);
    assert!(
        err.contains("--max-packet-size") && err.contains("256M"),
        "{err}"
    );
}

#[test]
fn a_closed_stderr_ends_quietly() {
    // stderr closed (2>&-): the lines a mode writes there are lost, never a panic.
    let line = format!(
        "{} sub -b mqtt://127.0.0.1:1 --max-attempts 1 --connect-timeout 1 -t x 2>&-",
        mqscope().get_program().to_string_lossy()
    );
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", &line]);
    for (k, v) in mqscope().get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    let out = run(cmd, b"", 20);
    assert_eq!(out.status.code(), Some(1), "gave up, as with stderr open");
}

#[tokio::test(flavor = "multi_thread")]
async fn mqtt5_sends_a_password_alone_and_311_refuses_to() {
    use super::support::fakes::{Behaviour, Fake};
    let fake = Fake::start(Behaviour::TlsClose { mqtt: true }).await;
    let url = format!("mqtt://127.0.0.1:{}", fake.port);
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = mqscope();
        cmd.env("MQSCOPE_PASSWORD", "token-42")
            .args(["pub", "-b", &url, "-V", "5", "-t", "x", "-m", "y"]);
        run(cmd, b"", 20)
    })
    .await
    .unwrap();
    let connect = fake.received_bytes();
    // CONNECT: 10 LEN, 00 04 MQTT, level 5, then the flags byte.
    assert_eq!(connect.get(8), Some(&5), "{connect:02x?}");
    let flags = connect[9];
    assert_eq!(flags & 0xC0, 0x40, "password flag alone: {flags:#04x}");
    assert!(connect.windows(8).any(|w| w == b"token-42"));
    assert!(out.status.code().is_some());
    for version in ["3.1.1", "auto"] {
        let mut cmd = mqscope();
        cmd.env("MQSCOPE_PASSWORD", "token-42").args([
            "pub",
            "-b",
            "mqtt://127.0.0.1:1",
            "-V",
            version,
            "-t",
            "x",
            "-m",
            "y",
        ]);
        let out = run(cmd, b"", 10);
        assert_eq!(out.status.code(), Some(2), "{version}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--username") && err.contains("-V 5"), "{err}");
    }
}
