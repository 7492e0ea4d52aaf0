//! The config file through the binary: errors that say where (snapshots), `config` actions,
//! profiles against a real mosquitto with a password that never touches the file, precedence,
//! completions and the man page.

use std::process::Command;

use super::support::{Mosquitto, TempDir, password_file};
use super::{mqscope, run};

fn with_config(dir: &TempDir, text: &str) -> Command {
    let path = dir.write("config.toml", text);
    let mut cmd = mqscope();
    cmd.env("MQSCOPE_CONFIG", path);
    cmd
}

/// `config check` on a file: exit code and stderr with the temp path replaced.
fn check(text: &str) -> (Option<i32>, String) {
    let dir = TempDir::new("config");
    let mut cmd = with_config(&dir, text);
    cmd.args(["config", "check"]);
    let out = run(cmd, b"", 10);
    let err =
        String::from_utf8_lossy(&out.stderr).replace(&dir.path().display().to_string(), "DIR");
    (out.status.code(), err)
}

#[test]
fn every_kind_of_mistake_names_file_line_column_key_and_what_was_expected() {
    let cases = [
        (
            "unknown_top_level",
            "[defaults]\nhistory = 10\n\n[colours]\nx = 1\n",
        ),
        (
            "unknown_profile_key",
            "[profiles.a]\nurl = \"mqtt://h\"\npasswrd_env = \"X\"\n",
        ),
        ("bad_type", "[defaults]\nkeep_alive = \"soon\"\n"),
        ("bad_version", "[defaults]\nmqtt_version = \"4\"\n"),
        ("bad_url", "[profiles.a]\nurl = \"http://h\"\n"),
        (
            "bad_filter",
            "[profiles.a]\nurl = \"mqtt://h\"\nfilters = [\"a/#/b\"]\n",
        ),
        (
            "two_password_sources",
            "[profiles.a]\nurl = \"mqtt://h\"\npassword_env = \"A\"\npassword_file = \"/p\"\n",
        ),
        ("unknown_action", "[keys.global]\nexplode = \"x\"\n"),
        ("bad_key", "[keys.topics]\ndown = [\"j\", \"Hyper-j\"]\n"),
        ("bad_colour", "[theme.colors]\nselected = \"blurple\"\n"),
        ("shadowed_key", "[keys.global]\nquit = \"x\"\n"),
        (
            "key_taken_in_the_pane",
            "[keys.topics]\nexpand_subtree = \"j\"\n",
        ),
        ("bad_size", "[defaults]\nmax_memory = \"lots\"\n"),
        (
            "bad_pin_field",
            "[profiles.a]\nurl = \"mqtt://h\"\n\n[[profiles.a.pins]]\ntopic = \"温度/x\"\nfield = \"a..b\"\n",
        ),
        ("syntax", "[defaults\nhistory = 1\n"),
    ];
    for (name, text) in cases {
        let (code, err) = check(text);
        assert_eq!(code, Some(2), "{name}: {err}");
        insta::assert_snapshot!(format!("config_error_{name}"), err);
    }
}

#[test]
fn a_broken_file_stops_every_mode_with_exit_2_but_not_config_path_or_init() {
    let dir = TempDir::new("config");
    let mut cmd = with_config(&dir, "[defaults]\nhistory = \"many\"\n");
    cmd.args(["sub", "-t", "x", "-W", "1"]);
    let out = run(cmd, b"", 10);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.toml:2:11: defaults.history"));
    let mut cmd = with_config(&dir, "[defaults]\nhistory = \"many\"\n");
    cmd.args(["config", "path"]);
    let out = run(cmd, b"", 10);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("config.toml\n"));
}

#[test]
fn init_writes_the_documented_starter_once_and_show_redacts() {
    let dir = TempDir::new("config");
    let path = dir.path().join("sub/config.toml");
    let cmd = |args: &[&str]| {
        let mut c = mqscope();
        c.env("MQSCOPE_CONFIG", &path).args(args);
        run(c, b"", 10)
    };
    let out = cmd(&["config", "path"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("not created yet"));
    assert!(cmd(&["config", "init"]).status.success());
    let written = std::fs::read_to_string(&path).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the file is the owner's alone");
    }
    let printed = cmd(&["config", "--print-default"]).stdout;
    assert_eq!(written.as_bytes(), &printed[..]);
    let again = cmd(&["config", "init"]);
    assert_eq!(again.status.code(), Some(2), "never over an existing file");
    assert!(cmd(&["config", "check"]).status.success());
    // A profile that insists on a password in the file: never shown.
    std::fs::write(
        &path,
        format!(
            "{written}\n[profiles.lab]\nurl = \"mqtt://lab:1883\"\nusername = \"u\"\npassword = \"hunter2\"\n"
        ),
    )
    .unwrap();
    let out = cmd(&["config", "show"]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("password = \"<redacted>\""), "{shown}");
    assert!(shown.contains("url = \"mqtt://lab:1883\""), "{shown}");
    let out = cmd(&["config", "check"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid (1 profile: lab)"));
}

#[test]
fn a_profile_connects_with_a_password_from_env_file_or_command_and_never_logs_it() {
    let dir = TempDir::new("auth");
    let passwd = password_file(&dir, &[("field", "s3cret-horse")]);
    let broker = Mosquitto::in_dir(
        dir,
        "",
        &format!(
            "allow_anonymous false\npassword_file {}\n",
            passwd.display()
        ),
    );
    let conf_dir = TempDir::new("config");
    let pw_file = conf_dir.write("pw", "s3cret-horse\n");
    let text = format!(
        "[profiles.by-env]\nurl = \"{url}\"\nusername = \"field\"\npassword_env = \"PLANT_PW\"\n\n\
         [profiles.by-file]\nurl = \"{url}\"\nusername = \"field\"\npassword_file = \"{}\"\n\n\
         [profiles.by-command]\nurl = \"{url}\"\nusername = \"field\"\npassword_command = \"printf s3cret-horse\"\n\n\
         [profiles.wrong]\nurl = \"{url}\"\nusername = \"field\"\npassword_command = \"echo nope\"\n",
        pw_file.display(),
        url = broker.url()
    );
    for name in ["by-env", "by-file", "by-command"] {
        let mut cmd = with_config(&conf_dir, &text);
        cmd.env("PLANT_PW", "s3cret-horse");
        cmd.env("MQSCOPE_LOG", "debug");
        cmd.args(["sub", "-P", name, "-t", "x", "-W", "1", "--events"]);
        let out = run(cmd, b"", 15);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(27), "{name} connects: {err}");
        assert!(err.contains("connected"), "{name}: {err}");
        assert!(!err.contains("s3cret-horse"), "{name} leaks: {err}");
    }
    let mut cmd = with_config(&conf_dir, &text);
    cmd.args(["sub", "-P", "wrong", "-t", "x", "-W", "1"]);
    let out = run(cmd, b"", 15);
    assert_eq!(out.status.code(), Some(1), "refused");
    let mut cmd = with_config(&conf_dir, &text);
    cmd.args(["sub", "-P", "by-env", "-t", "x", "-W", "1"]);
    let out = run(cmd, b"", 15);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("profile by-env: password_env names PLANT_PW, which is not set")
    );
    let mut cmd = with_config(&conf_dir, &text);
    cmd.args(["sub", "-P", "nope", "-t", "x"]);
    let out = run(cmd, b"", 15);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "--profile nope: no such profile; saved profiles: by-command, by-env, by-file, wrong"
    ));
}

#[test]
fn the_command_line_beats_the_environment_beats_the_profile_beats_the_defaults() {
    let a = Mosquitto::plain();
    let b = Mosquitto::plain();
    let c = Mosquitto::plain();
    let dir = TempDir::new("config");
    let text = format!(
        "[defaults]\nkeep_alive = 40\n\n[profiles.p]\nurl = \"{}\"\nkeep_alive = 50\n",
        a.url()
    );
    // Which broker did CONNECT go to, with which keep-alive: the JSON connection events say.
    let connected = |extra_env: Option<&str>, args: &[&str]| -> (String, String) {
        let mut cmd = with_config(&dir, &text);
        if let Some(url) = extra_env {
            cmd.env("MQSCOPE_BROKER", url);
        }
        cmd.args(["sub", "-t", "x", "-W", "1", "--json", "--events", "-P", "p"])
            .args(args);
        let out = run(cmd, b"", 15);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let broker = stdout
            .lines()
            .find(|l| l.contains("\"connecting\""))
            .unwrap_or_default()
            .to_string();
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        (broker, log)
    };
    let (line, _) = connected(None, &[]);
    assert!(line.contains(&a.url()), "the profile's url: {line}");
    let (line, _) = connected(Some(&b.url()), &[]);
    assert!(
        line.contains(&b.url()),
        "the environment over the profile: {line}"
    );
    let (line, _) = connected(Some(&b.url()), &["-b", &c.url()]);
    assert!(
        line.contains(&c.url()),
        "the command line over both: {line}"
    );
    // keep-alive: profile 50 over defaults 40; the broker's log shows the CONNECT's value.
    let _ = connected(None, &[]);
    assert!(a.log().contains("k50"), "{}", a.log());
    let _ = connected(None, &["-k", "45"]);
    assert!(a.log().contains("k45"), "{}", a.log());
}

#[test]
fn completions_and_the_man_page_come_from_the_command_definitions() {
    for shell in ["bash", "zsh", "fish"] {
        let mut cmd = mqscope();
        cmd.args(["completions", shell]);
        let out = run(cmd, b"", 10);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success());
        assert!(text.contains("clean-retained"), "{shell}");
        assert!(text.contains("profile"), "{shell}");
    }
    let mut cmd = mqscope();
    cmd.arg("man");
    let out = run(cmd, b"", 10);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(".ie") || text.contains(".TH mqscope"),
        "{text}"
    );
    assert!(text.contains("clean\\-retained") || text.contains("clean-retained"));
    let mut cmd = mqscope();
    cmd.args(["completions", "tcsh"]);
    let out = run(cmd, b"", 10);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values"));
}

/// `config init --template`: each cloud profile lands in the file (created when missing),
/// checks clean, is never written twice under one name, and an unknown template lists the
/// known ones.
#[test]
fn cloud_templates_add_checked_profiles() {
    let dir = TempDir::new("templates");
    let path = dir.path().join("config.toml");
    let config = |args: &[&str]| {
        let mut cmd = mqscope();
        cmd.env("MQSCOPE_CONFIG", &path);
        cmd.arg("config").args(args);
        run(cmd, b"", 10)
    };
    for name in ["aws-iot", "azure-iot-hub", "hivemq-cloud", "emqx-cloud"] {
        let out = config(&["init", "--template", name]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: {out:?}");
        assert!(text.contains(&format!("added profile {name}")), "{text}");
    }
    let again = config(&["init", "--template", "aws-iot"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    let other = config(&["init", "--template", "aws-iot", "--name", "plant-2"]);
    assert!(other.status.success(), "{other:?}");
    let check = config(&["check"]);
    assert!(check.status.success(), "{check:?}");
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(
        file.starts_with("# mqscope configuration"),
        "the starter first"
    );
    assert!(file.contains("[profiles.plant-2]") && file.contains("x-amzn-mqtt-ca"));
    assert!(file.contains("SharedAccessSignature") && file.contains("api-version"));
    let unknown = config(&["init", "--template", "gcp"]);
    assert_eq!(unknown.status.code(), Some(2));
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        err.contains("aws-iot") && err.contains("emqx-cloud"),
        "{err}"
    );
}
