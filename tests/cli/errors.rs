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
