//! `--proxy`: SOCKS5 and HTTP CONNECT proxies (test servers of our own) in front of a real
//! mosquitto, for mqtt, mqtts (a certificate made at test time, verified through the tunnel)
//! and ws; the broker's name reaches the proxy unresolved; authentication, refusals by
//! policy and unreachable brokers each have their cause; the doctor shows the proxy stage.

use mqscope::broker::tunnel::ProxySettings;
use mqscope::broker::{BrokerEvent, CauseKind, LifecycleKind, MqttVersion, PublishRequest, Stage};
use mqscope::secret::Secret;

use super::support::tunnels::{Rules, TestProxy};
use super::support::{Mosquitto, TempDir, free_port};
use super::{connected, first_failure, options, subscribing, until};

fn via(
    mut opts: mqscope::broker::BrokerOptions,
    proxy: &str,
    password: Option<&str>,
) -> mqscope::broker::BrokerOptions {
    let mut p: ProxySettings = proxy.parse().unwrap();
    p.password = password.map(Secret::new);
    opts.proxy = Some(p);
    opts
}

fn login() -> Rules {
    Rules {
        login: Some(("field".into(), "s3cret pässword".into())),
        deny: false,
    }
}

/// A message published directly arrives at a subscriber that connected through the proxy;
/// its attempt reports the proxy stage.
async fn round_trip_through(broker_url: &str, proxy_url: &str, password: Option<&str>) {
    let opts = via(
        subscribing(options(broker_url, MqttVersion::V5), "温度/#", 1),
        proxy_url,
        password,
    );
    let mut handle = mqscope::broker::BrokerHandle::spawn(opts).unwrap();
    let events = until(&mut handle, 10, super::is_subscribed).await;
    let proxy_stage = events.iter().find_map(|e| match e {
        BrokerEvent::Lifecycle(l) => match &l.kind {
            LifecycleKind::Stage {
                stage: Stage::Proxy,
                result,
                ..
            } => Some(result.clone()),
            _ => None,
        },
        _ => None,
    });
    let detail = proxy_stage.expect("a proxy stage").unwrap();
    assert!(detail.contains("tunnel to"), "{detail}");
    let direct = connected(options(
        &broker_url.replace("localhost", "127.0.0.1"),
        MqttVersion::V5,
    ))
    .await;
    direct
        .publish(PublishRequest {
            topic: "温度/室1".into(),
            payload: "21.5".into(),
            qos: 1,
            retain: false,
            properties: None,
        })
        .await;
    let got = until(
        &mut handle,
        10,
        |e| matches!(e, BrokerEvent::Message(m) if m.topic == "温度/室1"),
    )
    .await;
    assert!(matches!(got.last(), Some(BrokerEvent::Message(m)) if &m.payload[..] == b"21.5"));
    handle.shutdown().await;
    direct.shutdown().await;
}

#[tokio::test]
async fn socks5_and_http_connect_carry_mqtt_and_the_name_goes_unresolved() {
    let broker = Mosquitto::plain();
    let url = format!("mqtt://localhost:{}", broker.port);
    let socks = TestProxy::socks5(Rules::default()).await;
    round_trip_through(&url, &socks.url("socks5", None), None).await;
    assert_eq!(
        socks.seen().targets[0],
        format!("localhost:{}", broker.port)
    );
    let http = TestProxy::http(login()).await;
    round_trip_through(
        &url,
        &http.url("http", Some("field")),
        Some("s3cret pässword"),
    )
    .await;
    assert_eq!(http.seen().targets[0], format!("localhost:{}", broker.port));
    assert_eq!(http.seen().logins[0], "field:s3cret pässword");
    let socks_auth = TestProxy::socks5(login()).await;
    round_trip_through(
        &url,
        &socks_auth.url("socks5", Some("field")),
        Some("s3cret pässword"),
    )
    .await;
}

#[tokio::test]
async fn tls_and_websocket_run_through_the_tunnel() {
    use super::support::pki::Pki;
    use super::support::wsbridge::WsBridge;
    let dir = TempDir::new("tunnel-tls");
    let pki = Pki::write(&dir);
    let listener = pki.listener(&pki.server_cert, &pki.server_key, false);
    let tls_broker = Mosquitto::in_dir(dir, &listener, "allow_anonymous true\n");
    let socks = TestProxy::socks5(Rules::default()).await;
    let mut opts = via(
        options(
            &format!("mqtts://localhost:{}", tls_broker.port),
            MqttVersion::V5,
        ),
        &socks.url("socks5", None),
        None,
    );
    opts.tls.ca_file = Some(pki.ca.clone());
    connected(opts).await.shutdown().await;

    let plain = Mosquitto::plain();
    let bridge = WsBridge::start(plain.port).await;
    let http = TestProxy::http(Rules::default()).await;
    let opts = via(
        options(
            &format!("ws://127.0.0.1:{}/mqtt", bridge.port),
            MqttVersion::V5,
        ),
        &http.url("http", None),
        None,
    );
    connected(opts).await.shutdown().await;
}

#[tokio::test]
async fn each_proxy_failure_has_its_cause() {
    let broker = Mosquitto::plain();
    let url = broker.url();
    // Authentication: a wrong password, and no user at all.
    let socks = TestProxy::socks5(login()).await;
    let http = TestProxy::http(login()).await;
    for (name, proxy_url) in [
        ("socks5", socks.url("socks5", Some("field"))),
        ("http", http.url("http", Some("field"))),
    ] {
        let cause = first_failure(via(
            options(&url, MqttVersion::V5),
            &proxy_url,
            Some("wrong"),
        ))
        .await;
        assert_eq!(cause.kind, CauseKind::ProxyAuthFailed, "{name}: {cause}");
        assert!(
            !cause.detail.contains("wrong"),
            "{name}: the password never shows: {cause}"
        );
    }
    let cause = first_failure(via(
        options(&url, MqttVersion::V5),
        &http.url("http", None),
        None,
    ))
    .await;
    assert_eq!(cause.kind, CauseKind::ProxyAuthFailed, "{cause}");
    assert!(
        cause.detail.contains("407") && cause.detail.contains("realm=\"test\""),
        "{cause}"
    );
    assert!(cause.detail.contains("no user name was sent"), "{cause}");
    let cause = first_failure(via(
        options(&url, MqttVersion::V5),
        &socks.url("socks5", None),
        None,
    ))
    .await;
    assert_eq!(cause.kind, CauseKind::ProxyAuthFailed, "{cause}");

    // Refused by policy.
    let deny = Rules {
        login: None,
        deny: true,
    };
    let socks_deny = TestProxy::socks5(deny.clone()).await;
    let http_deny = TestProxy::http(deny).await;
    let cause = first_failure(via(
        options(&url, MqttVersion::V5),
        &socks_deny.url("socks5", None),
        None,
    ))
    .await;
    assert_eq!(cause.kind, CauseKind::ProxyDenied, "{cause}");
    let cause = first_failure(via(
        options(&url, MqttVersion::V5),
        &http_deny.url("http", None),
        None,
    ))
    .await;
    assert_eq!(cause.kind, CauseKind::ProxyDenied, "{cause}");
    assert!(cause.detail.contains("403"), "{cause}");

    // The broker behind the proxy is not there.
    let gone = format!("mqtt://127.0.0.1:{}", free_port());
    let socks_open = TestProxy::socks5(Rules::default()).await;
    let http_open = TestProxy::http(Rules::default()).await;
    let cause = first_failure(via(
        options(&gone, MqttVersion::V5),
        &socks_open.url("socks5", None),
        None,
    ))
    .await;
    assert_eq!(cause.kind, CauseKind::ProxyRefused, "{cause}");
    let cause = first_failure(via(
        options(&gone, MqttVersion::V5),
        &http_open.url("http", None),
        None,
    ))
    .await;
    assert_eq!(cause.kind, CauseKind::ProxyRefused, "{cause}");
    assert!(cause.detail.contains("502"), "{cause}");

    // The proxy itself is not there.
    let cause = first_failure(via(
        options(&url, MqttVersion::V5),
        &format!("socks5://127.0.0.1:{}", free_port()),
        None,
    ))
    .await;
    assert_eq!(cause.kind, CauseKind::TcpRefused, "{cause}");
    assert!(
        cause.detail.contains("proxy socks5://127.0.0.1:"),
        "{cause}"
    );
}

#[tokio::test]
async fn the_doctor_reports_the_proxy_as_its_own_stage() {
    use mqscope::diagnose::{Plan, run};
    let broker = Mosquitto::plain();
    let socks = TestProxy::socks5(login()).await;
    let plan = |password: &str| Plan {
        opts: via(
            options(&broker.url(), MqttVersion::V5),
            &socks.url("socks5", Some("field")),
            Some(password),
        ),
        filters: vec!["#".into()],
        round_trip: true,
        acl: Vec::new(),
        capabilities: false,
    };
    let report = run(plan("s3cret pässword")).await;
    assert_eq!(report.verdict(), "ok", "{}", report.lines().join("\n"));
    let text = report.lines().join("\n");
    assert!(text.contains("proxy 127.0.0.1 → 127.0.0.1"), "{text}");
    assert!(text.contains("SOCKS5 tunnel to 127.0.0.1:"), "{text}");
    let json = report.to_json().to_string();
    assert!(json.contains("\"proxy\""), "{json}");
    let bad = run(plan("nope")).await;
    assert_eq!(
        bad.verdict(),
        "proxy_auth_failed",
        "{}",
        bad.lines().join("\n")
    );
    let all = format!("{}{}", bad.lines().join("\n"), bad.to_json());
    assert!(!all.contains("nope") && !all.contains("s3cret"), "{all}");
}

/// `--ws-header`: an endpoint that wants a token upgrades only with it; without, the cause
/// carries the status, the header that explains it and the body.
#[tokio::test]
async fn websocket_headers_reach_the_upgrade_and_a_refusal_says_why() {
    use super::support::wsbridge::WsBridge;
    let broker = Mosquitto::plain();
    let bridge = WsBridge::requiring(broker.port, Some(("authorization", "Bearer t0ken-42"))).await;
    let url = format!("ws://127.0.0.1:{}/mqtt", bridge.port);
    let cause = first_failure(options(&url, MqttVersion::V5)).await;
    assert_eq!(cause.kind, CauseKind::WsUpgradeFailed, "{cause}");
    assert!(cause.detail.contains("HTTP 401"), "{cause}");
    assert!(
        cause
            .detail
            .contains("www-authenticate: Bearer error=\"invalid_token\""),
        "{cause}"
    );
    assert!(cause.detail.contains("token missing or wrong"), "{cause}");
    let mut opts = options(&url, MqttVersion::V5);
    opts.ws_headers = vec![("Authorization".into(), Secret::new("Bearer t0ken-42"))];
    assert!(
        !format!("{opts:?}").contains("t0ken"),
        "Debug hides header values"
    );
    connected(opts).await.shutdown().await;
}
