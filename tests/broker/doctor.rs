//! The doctor's verdicts and hints over the whole failure matrix, against real mosquitto
//! configurations, certificates made at test time and the fake servers.

use std::time::Duration;

use mqscope::broker::{BrokerOptions, MqttVersion};
use mqscope::diagnose::{Plan, Report, Status, run};
use mqscope::secret::Secret;

use super::support::fakes::{Behaviour, Blackhole, Fake};
use super::support::pki::Pki;
use super::support::{Mosquitto, TempDir, free_port, password_file};

fn opts(url: &str, version: MqttVersion) -> BrokerOptions {
    let mut o = super::options(url, version);
    o.connect_timeout = Duration::from_secs(1);
    o
}

async fn doctor(opts: BrokerOptions) -> Report {
    run(Plan {
        opts,
        filters: vec!["#".into()],
        round_trip: true,
        acl: Vec::new(),
        capabilities: false,
    })
    .await
}

fn assert_verdict(report: &Report, verdict: &str, hint: &str) {
    let text = report.lines().join("\n");
    assert_eq!(report.verdict(), verdict, "{text}");
    assert!(
        report.hints.iter().any(|h| h.contains(hint)),
        "a hint should mention '{hint}':\n{text}"
    );
    // The JSON carries the same verdict and every stage.
    let json = report.to_json();
    assert_eq!(json["verdict"], verdict);
    assert!(json["stages"].as_array().is_some_and(|s| !s.is_empty()));
}

#[tokio::test]
async fn happy_path_plain_checks_every_stage() {
    let broker = Mosquitto::plain();
    let report = doctor(opts(&broker.url(), MqttVersion::Auto)).await;
    assert_eq!(report.verdict(), "ok", "{}", report.lines().join("\n"));
    let statuses: Vec<(&str, Status)> = report
        .checks
        .iter()
        .map(|c| (c.check.as_str(), c.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("dns", Status::Ok),
            ("tcp", Status::Ok),
            ("tls", Status::Skip),
            ("websocket", Status::Skip),
            ("mqtt", Status::Ok),
            ("subscribe", Status::Ok),
            ("roundtrip", Status::Ok),
        ]
    );
    let mqtt = &report.to_json()["stages"][4]["detail"];
    assert_eq!(mqtt["reason_code"], 0);
    assert!(
        mqtt["properties"]
            .as_object()
            .is_some_and(|p| !p.is_empty()),
        "{mqtt}"
    );
}

#[tokio::test]
async fn network_failures() {
    let refused = doctor(opts(
        &format!("mqtt://127.0.0.1:{}", free_port()),
        MqttVersion::V5,
    ))
    .await;
    assert_verdict(&refused, "tcp_refused", "the port in --broker");

    let unresolvable = doctor(opts("mqtt://nonexistent.invalid:1883", MqttVersion::V5)).await;
    assert_verdict(&unresolvable, "dns_failed", "nonexistent.invalid");

    let hole = Blackhole::start().await;
    assert_verdict(
        &doctor(opts(&hole.url(), MqttVersion::V5)).await,
        "tcp_timeout",
        "firewall",
    );

    let silent = Fake::start(Behaviour::Silent).await;
    assert_verdict(
        &doctor(opts(&silent.url(), MqttVersion::V5)).await,
        "no_connack",
        "--connect-timeout",
    );

    let http = Fake::start(Behaviour::Http).await;
    assert_verdict(
        &doctor(opts(&http.url(), MqttVersion::V5)).await,
        "not_mqtt",
        "ws://",
    );

    let closing = Fake::start(Behaviour::CloseOnConnect).await;
    assert_verdict(
        &doctor(opts(&closing.url(), MqttVersion::V311)).await,
        "peer_closed",
        "client id",
    );
}

#[tokio::test]
async fn a_v311_only_broker_is_recognised() {
    let fake = Fake::start(Behaviour::V311Only).await;
    let report = doctor(opts(&fake.url(), MqttVersion::V5)).await;
    assert_verdict(&report, "protocol_version_unsupported", "-V 3.1.1");
    assert_eq!(
        report.to_json()["stages"][4]["detail"]["speaks"][0],
        "3.1.1"
    );
    // With -V auto the doctor says so, and goes on (this fake does not route messages).
    let auto = run(Plan {
        opts: opts(&fake.url(), MqttVersion::Auto),
        filters: vec!["#".into()],
        round_trip: false,
        acl: Vec::new(),
        capabilities: false,
    })
    .await;
    assert_eq!(auto.verdict(), "ok", "{}", auto.lines().join("\n"));
    assert!(
        auto.hints
            .iter()
            .any(|h| h.contains("speaks only MQTT 3.1.1")),
        "{}",
        auto.lines().join("\n")
    );
}

#[tokio::test]
async fn credentials() {
    let dir = TempDir::new("doctor-auth");
    let passwd = password_file(&dir, &[("alice", "right-pw")]);
    let broker = Mosquitto::in_dir(
        dir,
        "",
        &format!(
            "allow_anonymous false\npassword_file {}\n",
            passwd.display()
        ),
    );
    let with = |user: Option<&str>, pass: Option<&str>| {
        let mut o = opts(&broker.url(), MqttVersion::V5);
        o.username = user.map(Into::into);
        o.password = pass.map(Secret::new);
        o
    };
    let wrong = doctor(with(Some("alice"), Some("wrong-pw"))).await;
    assert_verdict(&wrong, "not_authorized", "--username");
    assert!(
        !format!("{:?}{}", wrong, wrong.to_json()).contains("wrong-pw"),
        "no password in the report"
    );
    assert_verdict(
        &doctor(with(Some("mallory"), Some("x"))).await,
        "not_authorized",
        "--username",
    );
    assert_verdict(
        &doctor(with(None, None)).await,
        "not_authorized",
        "anonymous",
    );
    assert_eq!(
        doctor(with(Some("alice"), Some("right-pw")))
            .await
            .verdict(),
        "ok"
    );
}

fn tls_broker(which: &str, mtls: bool) -> (Mosquitto, Pki) {
    let dir = TempDir::new("doctor-tls");
    let pki = Pki::write(&dir);
    let (cert, key) = match which {
        "wrong" => (pki.wrong_name_cert.clone(), pki.wrong_name_key.clone()),
        "expired" => (pki.expired_cert.clone(), pki.expired_key.clone()),
        _ => (pki.server_cert.clone(), pki.server_key.clone()),
    };
    let listener = pki.listener(&cert, &key, mtls);
    (
        Mosquitto::in_dir(dir, &listener, "allow_anonymous true\n"),
        pki,
    )
}

fn tls_opts(broker: &Mosquitto, pki: &Pki) -> BrokerOptions {
    let mut o = opts(
        &format!("mqtts://127.0.0.1:{}", broker.port),
        MqttVersion::V5,
    );
    o.tls.ca_file = Some(pki.ca.clone());
    o
}

#[tokio::test]
async fn tls_matrix() {
    let (good, pki) = tls_broker("good", false);
    let ok = doctor(tls_opts(&good, &pki)).await;
    assert_eq!(ok.verdict(), "ok", "{}", ok.lines().join("\n"));
    let chain = &ok.to_json()["stages"][2]["detail"]["chain"];
    assert!(
        chain[0]["names"].to_string().contains("IP:127.0.0.1"),
        "{chain}"
    );

    let mut stranger = tls_opts(&good, &pki);
    stranger.tls.ca_file = Some(pki.stranger_ca.clone());
    assert_verdict(
        &doctor(stranger).await,
        "tls_unknown_issuer",
        "mqscope test CA",
    );

    let (wrong, pki_w) = tls_broker("wrong", false);
    assert_verdict(
        &doctor(tls_opts(&wrong, &pki_w)).await,
        "tls_hostname_mismatch",
        "DNS:elsewhere.example",
    );

    let (expired, pki_e) = tls_broker("expired", false);
    assert_verdict(
        &doctor(tls_opts(&expired, &pki_e)).await,
        "tls_expired",
        "days ago",
    );

    // TLS to a plain port: the doctor finds that plain MQTT answers there.
    let plain = Mosquitto::plain();
    let mut to_plain = opts(
        &format!("mqtts://127.0.0.1:{}", plain.port),
        MqttVersion::V5,
    );
    to_plain.tls.ca_file = Some(pki.ca.clone());
    assert_verdict(&doctor(to_plain).await, "not_tls", "use mqtt://127.0.0.1");

    // Plain MQTT to the TLS port: the doctor finds the TLS handshake works there.
    let to_tls = opts(
        &format!("mqtt://127.0.0.1:{}", good.port),
        MqttVersion::V311,
    );
    assert_verdict(
        &doctor(to_tls).await,
        "tls_expected",
        "use mqtts://127.0.0.1",
    );
}

#[tokio::test]
async fn mutual_tls_matrix() {
    let (broker, pki) = tls_broker("good", true);
    assert_verdict(
        &doctor(tls_opts(&broker, &pki)).await,
        "tls_client_cert_required",
        "--cert",
    );

    let mut stranger = tls_opts(&broker, &pki);
    stranger.tls.cert = Some(pki.stranger_client_cert.clone());
    stranger.tls.key = Some(pki.stranger_client_key.clone());
    assert_verdict(
        &doctor(stranger).await,
        "tls_client_cert_rejected",
        "--cert",
    );

    let mut ok = tls_opts(&broker, &pki);
    ok.tls.cert = Some(pki.client_cert.clone());
    ok.tls.key = Some(pki.client_key.clone());
    let report = doctor(ok).await;
    assert_eq!(report.verdict(), "ok", "{}", report.lines().join("\n"));
}

#[tokio::test]
async fn a_refused_subscription_is_named() {
    let dir = TempDir::new("doctor-acl");
    let passwd = password_file(&dir, &[("bob", "pw")]);
    let acl = dir.write("acl", "user bob\ntopic read plant/#\n");
    let broker = Mosquitto::in_dir(
        dir,
        "",
        &format!(
            "allow_anonymous false\npassword_file {}\nacl_file {}\n",
            passwd.display(),
            acl.display()
        ),
    );
    let mut o = opts(&broker.url(), MqttVersion::V5);
    o.username = Some("bob".into());
    o.password = Some(Secret::new("pw"));
    let report = doctor(o).await;
    // mosquitto grants '#' but delivers nothing, or refuses: either way the doctor says why.
    assert_ne!(report.verdict(), "ok", "{}", report.lines().join("\n"));
    assert!(
        report
            .hints
            .iter()
            .any(|h| h.contains("ACL") || h.contains("narrower")),
        "{}",
        report.lines().join("\n")
    );
}

/// Whether the test's user name or password appears anywhere in the bytes.
fn carries_credentials(bytes: &[u8]) -> bool {
    bytes.windows(6).any(|w| w == b"hunter") || bytes.windows(5).any(|w| w == b"carol")
}

#[tokio::test]
async fn a_port_that_closes_the_tls_handshake_gets_no_credentials_and_no_not_tls() {
    for mqtt in [false, true] {
        let fake = Fake::start(Behaviour::TlsClose { mqtt }).await;
        let mut o = opts(&format!("mqtts://127.0.0.1:{}", fake.port), MqttVersion::V5);
        o.username = Some("carol".into());
        o.password = Some(Secret::new("hunter2"));
        let report = doctor(o).await;
        let received = fake.received_bytes();
        assert!(
            received.windows(2).any(|w| w == [0x16, 0x03]),
            "the TLS handshake was tried"
        );
        assert!(
            !carries_credentials(&received),
            "a probe sent the user name or password: {received:02x?}"
        );
        if mqtt {
            // The plain probe got a CONNACK: the port speaks plain MQTT, and says how to use it.
            assert_verdict(
                &report,
                "not_tls",
                "answers plain MQTT 5: use mqtt://127.0.0.1",
            );
        } else {
            // Nothing there ever answered MQTT: the verdict says what was seen.
            assert_verdict(&report, "tls_closed", "TLS port");
            assert!(
                report.summary.contains("plain MQTT CONNECT got no CONNACK"),
                "{}",
                report.summary
            );
        }
    }
}

/// A 3.1.1-only broker that never answers an MQTT 5 CONNECT: the doctor tries 3.1.1 after a
/// short wait and says so, instead of `no_connack` after the whole timeout.
#[tokio::test]
async fn a_v311_broker_silent_to_v5_is_recognised_quickly() {
    let fake = Fake::start(Behaviour::V311SilentToV5).await;
    let mut o = opts(&fake.url(), MqttVersion::V5);
    o.connect_timeout = std::time::Duration::from_secs(20);
    let started = std::time::Instant::now();
    let report = doctor(o.clone()).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_verdict(&report, "protocol_version_unsupported", "-V 3.1.1");
    let text = report.lines().join("\n");
    assert!(
        text.contains(
            "this broker speaks MQTT 3.1.1 only; an MQTT 5 CONNECT went unanswered for 3 s"
        ),
        "{text}"
    );
    o.version = MqttVersion::Auto;
    let auto = run(Plan {
        opts: o,
        filters: vec!["#".into()],
        round_trip: false,
        acl: Vec::new(),
        capabilities: false,
    })
    .await;
    assert_eq!(auto.verdict(), "ok", "{}", auto.lines().join("\n"));
    assert!(
        auto.hints
            .iter()
            .any(|h| h.contains("went unanswered for 3 s")),
        "{}",
        auto.lines().join("\n")
    );
}

/// The permission map against a mosquitto with an ACL file, in both versions, compared with
/// that configuration: read-write, read-only, write-only and no access, a filter, a
/// non-ASCII topic; no retained message is left behind.
#[tokio::test]
async fn the_permission_map_matches_the_broker_acl() {
    let dir = TempDir::new("acl");
    let passwd = password_file(&dir, &[("alice", "pw-alice")]);
    let acl = dir.write(
        "acl",
        "user alice\ntopic readwrite plant/#\ntopic readwrite 温度/#\ntopic read secret/#\ntopic write drop/#\n",
    );
    let broker = Mosquitto::in_dir(
        dir,
        "",
        &format!(
            "allow_anonymous false\npassword_file {}\nacl_file {}\n",
            passwd.display(),
            acl.display()
        ),
    );
    for version in [MqttVersion::V5, MqttVersion::V311] {
        let mut o = opts(&broker.url(), version);
        o.username = Some("alice".into());
        o.password = Some(Secret::new("pw-alice"));
        let report = run(Plan {
            opts: o.clone(),
            filters: vec!["plant/#".into()],
            round_trip: true,
            acl: vec![
                "plant/line1/temp".into(),
                "温度/室1".into(),
                "secret/x".into(),
                "drop/x".into(),
                "other/x".into(),
                "plant/+/temp".into(),
            ],
            capabilities: false,
        })
        .await;
        let text = report.lines().join("\n");
        assert_eq!(report.verdict(), "ok", "{version:?}: {text}");
        let json = report.to_json();
        let stage = json["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stage"] == "permissions")
            .cloned()
            .unwrap_or_else(|| panic!("{json}"));
        let rows = stage["detail"]["entries"].as_array().unwrap().clone();
        let row = |t: &str| rows.iter().find(|r| r["topic"] == t).unwrap().clone();
        let v5 = version == MqttVersion::V5;
        // Read-write: everything works, the message comes back.
        for t in ["plant/line1/temp", "温度/室1"] {
            assert_eq!(
                row(t)["subscribe"]["result"],
                "ok",
                "{version:?} {t}: {text}"
            );
            assert_eq!(row(t)["publish"]["result"], "ok", "{version:?} {t}: {text}");
            assert_eq!(row(t)["delivered"], true, "{version:?} {t}: {text}");
        }
        // Read-only: subscribed, the publish goes nowhere (refused on MQTT 5).
        assert_eq!(row("secret/x")["subscribe"]["result"], "ok", "{text}");
        assert_eq!(row("secret/x")["delivered"], false, "{text}");
        if v5 {
            assert_eq!(row("secret/x")["publish"]["result"], "refused", "{text}");
        }
        // Write-only and no access: nothing comes back.
        for t in ["drop/x", "other/x"] {
            assert_eq!(row(t)["delivered"], false, "{version:?} {t}: {text}");
        }
        // A filter is only subscribed to.
        assert_eq!(
            row("plant/+/temp")["publish"],
            serde_json::Value::Null,
            "{text}"
        );
        assert!(text.contains("permissions"), "{text}");
        assert!(text.contains("— (a filter)"), "{text}");
        // Nothing retained was left: a fresh subscriber to # sees no retained message.
        let mut check = o.clone();
        check.subscriptions = vec![mqscope::broker::Subscription::new("#", 0)];
        let mut handle = super::connected(check).await;
        let late = tokio::time::timeout(Duration::from_millis(500), async {
            loop {
                if let Some(mqscope::broker::BrokerEvent::Message(m)) = handle.events.recv().await {
                    return m;
                }
            }
        })
        .await;
        assert!(late.is_err(), "a message was left behind: {late:?}");
        handle.shutdown().await;
    }
}

/// `--capabilities` against two mosquitto configurations, compared with what each says: the
/// stock one, and one limiting QoS, retain, packet size, keep-alive and topic aliases.
#[tokio::test]
async fn capabilities_follow_the_broker_configuration() {
    let plan = |url: String| Plan {
        opts: opts(&url, MqttVersion::V5),
        filters: vec!["#".into()],
        round_trip: false,
        acl: Vec::new(),
        capabilities: true,
    };
    let stock = Mosquitto::plain();
    let report = run(plan(stock.url())).await;
    let text = report.lines().join("\n");
    assert_eq!(report.verdict(), "ok", "{text}");
    let rows = |report: &Report| {
        let json = report.to_json();
        json["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stage"] == "capabilities")
            .map_or_else(
                || panic!("{json}"),
                |s| s["detail"]["rows"].as_array().unwrap().clone(),
            )
    };
    let get = |rows: &[serde_json::Value], name: &str| {
        rows.iter().find(|r| r["capability"] == name).map_or_else(
            || panic!("no {name}: {rows:?}"),
            |r| r["value"].as_str().unwrap().to_string(),
        )
    };
    let r = rows(&report);
    assert_eq!(get(&r, "MQTT 5"), "supported", "{text}");
    assert_eq!(get(&r, "MQTT 3.1.1"), "supported", "{text}");
    assert_eq!(get(&r, "maximum QoS"), "2", "{text}");
    assert_eq!(get(&r, "retain"), "yes", "{text}");
    assert!(
        get(&r, "wildcard subscriptions").starts_with("supported"),
        "{text}"
    );
    assert!(
        get(&r, "shared subscriptions").starts_with("supported"),
        "{text}"
    );
    assert_eq!(get(&r, "no-local"), "honoured", "{text}");
    assert_eq!(
        get(&r, "retained messages"),
        "delivered on subscribe",
        "{text}"
    );
    assert!(
        get(&r, "assigned client identifier").starts_with("yes: "),
        "{text}"
    );
    assert!(
        get(&r, "session resumption").starts_with("resumed"),
        "{text}"
    );
    assert!(
        get(&r, "maximum packet size (probed)").contains("came back"),
        "{text}"
    );

    // max_qos and max_topic_alias are per listener in mosquitto 2.0.
    let limited = Mosquitto::with_listener(
        "max_qos 1\nmax_topic_alias 5\n",
        "allow_anonymous true\nretain_available false\nmax_packet_size 4096\nmax_keepalive 20\n",
    );
    let mut p = plan(limited.url());
    p.opts.keep_alive = Duration::from_secs(60);
    let report = run(p).await;
    let text = report.lines().join("\n");
    let r = rows(&report);
    assert_eq!(get(&r, "maximum QoS"), "1", "{text}");
    assert_eq!(get(&r, "retain"), "no", "{text}");
    assert_eq!(get(&r, "maximum packet size"), "4 KiB", "{text}");
    assert_eq!(
        get(&r, "server keep-alive"),
        "overrides ours: 20 s",
        "{text}"
    );
    assert_eq!(get(&r, "topic alias maximum"), "5", "{text}");
    assert!(
        get(&r, "maximum packet size (probed)").contains("came back"),
        "{text}"
    );
}
